// The running actors as their charts show them: for each, its machine's chart name and its exact
// state value (every active state, children included, which events alone do not tell), and the
// transitions that last changed it, as XState's inspection reports them (the arrow that got it
// there, not a guess). The dashboard's live view overlays this on the fold of the events.
import type { AnyActorRef, StateValue, Subscription } from 'xstate';
import type { ChartModel } from '../../adapters/chart/model.js';
import type { Daemon } from '../daemon.js';
import { activeStateIds, actorKey, chartTransitionId, type TakenTransition } from './chart-state.js';

/** A running actor and the chart it runs (adapters/chart/registry.ts). */
export interface LiveActor {
  /** the kind and name its events carry (actors/bus.ts), so views line up */
  readonly kind: string;
  readonly name: string;
  readonly machine: string;
  readonly actor: AnyActorRef;
}

/** Every actor a daemon runs that has a chart: VRRP instances, sync groups, virtual servers, checkers. */
export function daemonActors(d: Pick<Daemon, 'instances' | 'groups' | 'lvs'>): LiveActor[] {
  const out: LiveActor[] = [];
  for (const [name, inst] of d.instances) {
    let actor: AnyActorRef;
    try {
      actor = inst.actor;
    } catch {
      continue; // not started yet
    }
    out.push({ kind: 'vrrp', name, machine: 'vrrp', actor });
  }
  for (const [name, actor] of d.groups) out.push({ kind: 'sync-group', name, machine: 'sync-group', actor });
  for (const a of d.lvs?.actors() ?? []) out.push({ kind: a.kind, name: a.name, machine: a.kind === 'vs' ? 'virtual-server' : 'checker', actor: a.actor });
  return out;
}

/** An actor's place on its chart now. */
export interface LiveState {
  readonly machine: string;
  /** the active chart state ids, parents first */
  readonly ids: string[];
  /** the last transitions that changed the active states, newest last: chart transition ids */
  readonly recent: { readonly arrows: string[]; readonly time: string }[];
}

interface Tracked {
  readonly live: LiveActor;
  sub?: Subscription;
  /** the active state nodes (XState's own objects, one per state, so compared by identity) */
  nodes: readonly unknown[];
  recent: { transitions: TakenTransition[]; time: number }[];
}

const RECENT = 5;

/** a machine snapshot's active state nodes (`_nodes`) */
const activeNodes = (snapshot: unknown): readonly unknown[] => (snapshot as { _nodes?: readonly unknown[] })._nodes ?? [];

/** the same set of state nodes: a state re-entered moves to the end of XState's list, so not in order */
const sameNodes = (a: readonly unknown[], b: readonly unknown[]): boolean => a.length === b.length && a.every((n) => b.includes(n));

export class LiveTracker {
  private readonly tracked = new Map<string, Tracked>();

  constructor(
    private readonly node: string,
    private readonly source: () => readonly LiveActor[],
    /** an actor's active states changed (not every timer: only a different configuration) */
    private readonly onChange: (key: string) => void = () => {},
    private readonly now: () => number = Date.now,
  ) {}

  /** follow the actors running now: new ones (a reload's) are watched, gone ones forgotten */
  sync(): void {
    const seen = new Set<string>();
    for (const live of this.source()) {
      const key = actorKey(this.node, live.kind, live.name);
      seen.add(key);
      const t = this.tracked.get(key);
      if (t?.live.actor === live.actor) continue;
      t?.sub?.unsubscribe();
      this.watch(key, live);
    }
    for (const [key, t] of this.tracked) {
      if (seen.has(key)) continue;
      t.sub?.unsubscribe();
      this.tracked.delete(key);
    }
  }

  private watch(key: string, live: LiveActor): void {
    const t: Tracked = { live, nodes: activeNodes(live.actor.getSnapshot()), recent: [] };
    // each root actor has its own system; its children's steps are filtered out
    t.sub = live.actor.system.inspect((ev) => {
      if (ev.type !== '@xstate.microstep' || ev.actorRef !== live.actor) return;
      // a timer re-armed in place (a MASTER's GARP refresh): not a change worth an arrow. Cheap,
      // as it runs at every step of every actor: no state value built or serialized.
      const nodes = activeNodes(ev.snapshot);
      if (sameNodes(nodes, t.nodes)) return;
      t.nodes = nodes;
      const moved = (ev._transitions as unknown as TakenTransition[]).filter((x) => x.target?.length);
      if (moved.length) {
        t.recent.push({ transitions: moved, time: this.now() });
        if (t.recent.length > RECENT) t.recent.shift();
      }
      this.onChange(key);
    });
    this.tracked.set(key, t);
  }

  /** every tracked actor's place on its chart; `models` by machine name (charts not given: no arrows) */
  states(models: ReadonlyMap<string, ChartModel>): Map<string, LiveState> {
    // actors started since the last sync (a daemon starts its virtual servers over a few turns of the loop)
    this.sync();
    const out = new Map<string, LiveState>();
    for (const [key, t] of this.tracked) {
      const snap = t.live.actor.getSnapshot() as { status?: string; value?: StateValue };
      if (snap.status !== 'active' || snap.value === undefined) continue;
      const model = models.get(t.live.machine);
      out.set(key, {
        machine: t.live.machine,
        ids: activeStateIds(snap.value),
        recent: t.recent.map((r) => ({
          arrows: model ? r.transitions.map((x) => chartTransitionId(model, x)).filter((x): x is string => x !== undefined) : [],
          time: new Date(r.time).toISOString(),
        })),
      });
    }
    return out;
  }

  close(): void {
    for (const t of this.tracked.values()) t.sub?.unsubscribe();
    this.tracked.clear();
  }
}
