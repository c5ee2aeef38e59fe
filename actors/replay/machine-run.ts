// One machine replayed offline through XState's pure `initialTransition()` / `transition()`:
// nothing executes, the actions come back as data. Delayed events (`after` timers) are kept as
// pending, cancelled ones dropped, so "the Master_Down timer ran out" is fed as exactly the event
// the machine armed, never a made-up one; emitted events are handed back to the caller.
import { initialTransition, transition, type AnyMachineSnapshot, type AnyStateMachine, type EventObject, type StateValue } from 'xstate';
import { invokedTimers } from '../../machines/vrrp.machine.js';

export class MachineRun {
  private snap: AnyMachineSnapshot;
  /** armed `after` timers: id → the event they will deliver */
  private readonly timers = new Map<string, EventObject>();

  /** start the machine; returns what its start emitted */
  static start(logic: AnyStateMachine, input: unknown): { run: MachineRun; emitted: EventObject[] } {
    const [snap, actions] = initialTransition(logic, input);
    const run = new MachineRun(logic, snap);
    return { run, emitted: run.apply(actions) };
  }

  private constructor(
    private readonly logic: AnyStateMachine,
    snap: AnyMachineSnapshot,
  ) {
    this.snap = snap;
  }

  get snapshot(): AnyMachineSnapshot {
    return this.snap;
  }

  get context(): Record<string, unknown> {
    return this.snap.context as Record<string, unknown>;
  }

  get active(): boolean {
    return this.snap.status === 'active';
  }

  get state(): string {
    return stateText(this.snap.value);
  }

  /** one event through the machine; returns what it emitted */
  send(event: EventObject): EventObject[] {
    const [snap, actions] = transition(this.logic, this.snap, event);
    this.snap = snap;
    return this.apply(actions);
  }

  /** what the machine would do with `event`, without doing it */
  peek(event: EventObject): EventObject[] {
    const [, actions] = transition(this.logic, this.snap, event);
    return (actions as readonly { type: string; params?: unknown }[]).flatMap((a) => (a.type === 'xstate.emit' ? [(a.params as { event: EventObject }).event] : []));
  }

  /**
   * the event of the armed timer named `delay`: an `after` key (delayLoop …) or a timer the
   * machine invokes as a child (the VRRP machine's masterDown, machines/vrrp.machine.ts invokedTimers)
   */
  timer(delay: string): EventObject | undefined {
    for (const e of this.timers.values()) if (e.type.startsWith(`xstate.after.${delay}.`)) return e;
    return this.snap.children[delay] ? invokedTimers[delay] : undefined;
  }

  /** the names of the armed timers */
  timerNames(): string[] {
    return [...[...this.timers.values()].map((e) => e.type.split('.')[2] ?? e.type), ...Object.keys(this.snap.children).filter((id) => invokedTimers[id])];
  }

  /** the spawned children's ids (a virtual server's slow-start ramps) */
  children(): string[] {
    return Object.keys(this.snap.children);
  }

  /** keep the timers, return the emitted events; everything else is I/O the replay does not do */
  private apply(actions: readonly { type: string; params?: unknown }[]): EventObject[] {
    const emitted: EventObject[] = [];
    for (const a of actions) {
      const p = (a.params ?? {}) as { delay?: number; id?: string; event?: EventObject; sendId?: string };
      if (a.type === 'xstate.raise' && p.delay !== undefined && p.id && p.event) this.timers.set(p.id, p.event);
      else if (a.type === 'xstate.cancel' && p.sendId) this.timers.delete(p.sendId);
      else if (a.type === 'xstate.emit' && p.event) emitted.push(p.event);
    }
    return emitted;
  }

  /** deliver an armed timer's event: it is no longer armed (an `after` that re-arms raises it again) */
  fire(event: EventObject): EventObject[] {
    for (const [id, e] of this.timers) if (e === event) this.timers.delete(id);
    return this.send(event);
  }
}

/**
 * A state value as one line: 'backup(timer.waiting, preempt.idle)', 'running(quorum.up,
 * checks.active)', 'fault'.
 */
export function stateText(v: StateValue): string {
  if (typeof v === 'string') return v;
  const keys = Object.keys(v);
  if (keys.length === 1) {
    const k = keys[0]!;
    const sub = v[k];
    if (sub === undefined || (typeof sub === 'object' && Object.keys(sub).length === 0)) return k;
    if (typeof sub === 'string') return `${k}.${sub}`;
    const parts = Object.keys(sub);
    return parts.length === 1 ? `${k}.${stateText(sub)}` : `${k}(${parts.map((p) => stateText({ [p]: sub[p]! } as StateValue)).join(', ')})`;
  }
  return keys.map((k) => stateText({ [k]: v[k]! } as StateValue)).join(', ');
}
