// Where an actor stands on its chart (adapters/chart): the chart's state ids are XState state value
// paths ('master', 'master.adverts.advertising'), so a running actor's snapshot value maps onto
// them exactly (activeStateIds). For a past moment only the events are left: chartStateOf maps a
// state-change event to its machine and the state it entered (the top of it: events do not say
// which child), and arrowsBetween finds the arrows that can have taken it there.
import type { StateValue } from 'xstate';
import type { ChartModel, ChartTransition } from '../../adapters/chart/model.js';
import type { BusEvent } from '../bus.js';

/** Every state id active in a snapshot value, parents before children. */
export function activeStateIds(value: StateValue, prefix = ''): string[] {
  if (typeof value === 'string') return [prefix + value];
  return Object.entries(value).flatMap(([key, sub]) => [prefix + key, ...(sub === undefined ? [] : activeStateIds(sub, `${prefix}${key}.`))]);
}

/** An actor's key in every view: `<node>/<kind>/<name>`, the event envelope's fields. */
export const actorKey = (node: string, kind: string, name: string) => `${node}/${kind}/${name}`;

/** A state change as an event tells it, placed on the actor's chart. */
export interface EventState {
  /** the chart (adapters/chart/registry.ts); absent for actors without one (track_process, track_file) */
  readonly machine?: string;
  /** the state as the event names it: MASTER, up, ok, draining */
  readonly state: string;
  readonly from?: string;
  /** chart state ids of `state` and `from` */
  readonly ids: readonly string[];
  readonly fromIds: readonly string[];
  readonly cause?: string;
}

const VRRP: Record<string, string> = { INIT: 'init', BACKUP: 'backup', MASTER: 'master', FAULT: 'fault', STOP: 'stopped' };
const SYNC: Record<string, string> = { BACKUP: 'backup', MASTER: 'master', FAULT: 'fault', STOP: 'stopped' };
const TRACK: Record<string, string> = { init: 'status.init', ok: 'status.ok', failed: 'status.failed' };
const HEALTH: Record<string, string> = { init: 'running.health.init', up: 'running.health.up', down: 'running.health.down' };
const QUORUM: Record<string, string> = { init: 'running.quorum.init', up: 'running.quorum.up', down: 'running.quorum.down' };
const NATS: Record<string, string> = {
  disconnected: 'disconnected',
  connecting: 'connecting',
  'stream-mismatch': 'streamMismatch',
  draining: 'connected.draining',
  idle: 'connected.idle',
  stalled: 'connected.stalled',
  closing: 'closing',
  closed: 'closed',
};

/** 'master.adverts' → ['master', 'master.adverts'] */
const withParents = (id: string | undefined): string[] => (id ? id.split('.').map((_, i, a) => a.slice(0, i + 1).join('.')) : []);

const str = (x: unknown) => (typeof x === 'string' ? x : undefined);

/** The state an event says its actor entered, or undefined for events that are not state changes. */
export function eventState(e: BusEvent): EventState | undefined {
  const d = e.data;
  const place = (machine: string | undefined, map: Record<string, string> | undefined, state: string | undefined, from: string | undefined, cause: string | undefined): EventState | undefined =>
    state === undefined
      ? undefined
      : {
          ...(machine ? { machine } : {}),
          state,
          ...(from !== undefined ? { from } : {}),
          ids: withParents(map?.[state]),
          fromIds: withParents(from === undefined ? undefined : map?.[from]),
          ...(cause !== undefined ? { cause } : {}),
        };
  switch (e.type) {
    case 'vrrp.state':
      return place('vrrp', VRRP, str(d['to']), str(d['from']), str(d['cause']));
    case 'sync.state':
      return place('sync-group', SYNC, str(d['to']), str(d['from']), str(d['cause']));
    case 'track.state':
      // track_process has no machine of its own
      return d['kind'] === 'script' ? place('track-script', TRACK, str(d['state']), str(d['previous']), str(d['cause'])) : place(undefined, undefined, str(d['state']), undefined, undefined);
    case 'checker.state':
      // a checker's first result leaves its initial state (alpha's DOWN → DOWN included)
      return place('checker', HEALTH, str(d['to']), d['first'] === true ? 'init' : str(d['from']), str(d['cause']));
    case 'vs.quorum': {
      const to = str(d['state']);
      return place('virtual-server', QUORUM, to, d['initial'] === true ? 'init' : to === 'up' ? 'down' : 'up', str(d['cause']));
    }
    case 'nats.state':
      return place('nats-link', NATS, str(d['to']), str(d['from']), str(d['cause']));
    default:
      return undefined;
  }
}

/** a is b or inside b ('' is the machine itself, around everything) */
const within = (a: string, b: string) => b === '' || a === b || a.startsWith(`${b}.`);

/**
 * Which transitions of the VRRP machine each `vrrp.state` cause comes from (machines/vrrp.machine.ts
 * names the cause on the transition). When the machine changes and nothing matches any more, every
 * candidate arrow is shown: less precise, never wrong.
 */
const VRRP_CAUSES: Record<string, (t: ChartTransition) => boolean> = {
  startup: (t) => within(t.source, 'init'),
  'master-down-timeout': (t) => t.trigger === 'master.down',
  'priority-0-received': (t) => t.trigger === 'after skew',
  'higher-priority-advert': (t) => t.event === 'advert.received',
  'equal-priority-higher-address': (t) => t.event === 'advert.received',
  fault: (t) => t.event === 'fault.set' || t.guard === 'hasFaults',
  'fault-cleared': (t) => t.event === 'fault.cleared',
  'vips-lost': (t) => t.event === 'vips.lost',
  'sync-group': (t) => t.event?.startsWith('sync.') === true,
  shutdown: (t) => t.event === 'shutdown' || t.source === 'stopping',
};

/**
 * The arrows that lead from the `fromIds` states into the `toIds` ones (each list: a state and its
 * parents, as events give them; the inner states are unknown). A transition qualifies when its
 * source encloses the state left or lies inside it, its target encloses the state entered or lies
 * inside it, and it leaves its source (an arrow inside the new state is not how it got there).
 * A known `cause` narrows them. When there is none, the path through a transient state counts
 * (its arrow in, then its `always` arrow out).
 */
export function arrowsBetween(model: ChartModel, fromIds: readonly string[], toIds: readonly string[], cause?: string, depth = 0): string[] {
  const to = toIds.at(-1);
  if (to === undefined) return [];
  const from = fromIds.at(-1);
  const related = (a: string, b: string) => within(a, b) || within(b, a);
  const candidates = model.transitions.filter(
    (t) =>
      (from === undefined || related(from, t.source)) &&
      t.targets.some((target) => related(target, to) && !within(target, t.source)) &&
      !toIds.includes(t.source),
  );
  const pick = model.machine === 'vrrp' && cause ? VRRP_CAUSES[cause] : undefined;
  const narrowed = pick ? candidates.filter(pick) : [];
  if (candidates.length || depth > 0) return (narrowed.length ? narrowed : candidates).map((t) => t.id);
  // none: through a transient state, one left at once by `always` (master → stopping → stopped)
  return model.transitions
    .filter((a) => a.kind === 'always' && a.targets.some((target) => related(target, to)))
    .flatMap((a) => {
      const via = arrowsBetween(model, fromIds, withParents(a.source), cause, depth + 1);
      return via.length ? [...via, a.id] : [];
    });
}

/** What XState's inspection gives for a transition taken (AnyTransitionDefinition, the fields used). */
export interface TakenTransition {
  readonly source: { readonly path: readonly string[]; readonly transitions: ReadonlyMap<string, readonly unknown[]>; readonly always?: readonly unknown[] };
  readonly eventType: string;
  readonly target?: readonly unknown[] | undefined;
}

/**
 * The chart's id of a transition a running actor took. The chart model lists a state's
 * transitions in the order XState keeps them (per event, then `always`), so a transition is its
 * source, its event and its position among that source's transitions for the event. Works across
 * `machine.provide()`, which rebuilds the state nodes but not their order.
 */
export function chartTransitionId(model: ChartModel, t: TakenTransition): string | undefined {
  const source = t.source.path.join('.');
  // `always` transitions have the empty event type
  const list = t.eventType === '' ? t.source.always : t.source.transitions.get(t.eventType);
  const index = list?.indexOf(t) ?? -1;
  if (index < 0) return undefined;
  const same = model.transitions.filter((x) => x.source === source && (t.eventType === '' ? x.kind === 'always' : x.event === t.eventType));
  return same[index]?.id;
}
