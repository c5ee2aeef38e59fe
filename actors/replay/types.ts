// What a replay reports: one step per recorded event that made a machine move (or that a machine
// should have produced), with the events fed, the states before and after, and each recorded
// decision compared with the replayed one.
import type { BusEvent } from '../bus.js';

/**
 * Where an event fed to a machine comes from:
 * - recorded: it is in the record itself (a checker's result for its virtual server, a priority
 *   change, a tracker's state, the daemon stopping);
 * - inferred: deduced from a recorded decision, because its input is not recorded (a timer that
 *   ran out, an advert from the recorded master, a fault whose flag the state change names);
 * - derived: sent by another replayed machine, as the daemon routes it (a sync group's command).
 */
export type Provenance = 'recorded' | 'inferred' | 'derived';

/** One transition of one machine. */
export interface Move {
  /** `kind/name`, as the bus names actors: vrrp/VI_1, sync-group/G1, vs/…, checker/… */
  readonly actor: string;
  /** the event fed, in short ('advert from 10.0.0.2 priority 101', 'timer masterDown') */
  readonly event: string;
  readonly provenance: Provenance;
  /** why it was fed (inferred and derived events) */
  readonly why?: string;
  /** state values as text: 'backup(timer.waiting, preempt.idle)'; '-' before a start */
  readonly before: string;
  readonly after: string;
}

/** One recorded decision against the replayed one. */
export interface Check {
  readonly actor: string;
  readonly type: string;
  /** absent: the replay produced an event the record does not have */
  readonly recorded?: BusEvent;
  /** absent: the record has an event the replay did not produce */
  readonly replayed?: Record<string, unknown>;
  readonly ok: boolean;
  /** the fields that differ, 'to: recorded MASTER, replayed FAULT' */
  readonly diff: readonly string[];
  /** fields not compared: they come from input the record does not hold (a BACKUP's master) */
  readonly unverified?: readonly string[];
  readonly note?: string;
}

export type Verdict = 'match' | 'mismatch' | 'unreplayable' | 'fed' | 'note';

export interface Step {
  /** position of the triggering event in the record (1-based, the events of the node replayed) */
  readonly index: number;
  readonly event: BusEvent;
  readonly moves: Move[];
  readonly checks: Check[];
  /** why this event could not be replayed */
  unreplayable?: string;
  notes: string[];
}

export function verdictOf(s: Step): Verdict {
  if (s.checks.some((c) => !c.ok)) return 'mismatch';
  if (s.unreplayable !== undefined) return 'unreplayable';
  if (s.checks.length) return 'match';
  return s.moves.length ? 'fed' : 'note';
}

/** The whole replay: its steps in record order, and what it did not replay. */
export interface ReplayReport {
  readonly node: string;
  readonly steps: readonly Step[];
  /** recorded events no replayed machine decides (lb.change, notify.*, …), by type */
  readonly notMachine: ReadonlyMap<string, number>;
  /** recorded machine decisions this replay does not reproduce (track scripts, …), by type */
  readonly notReplayed: ReadonlyMap<string, number>;
}
