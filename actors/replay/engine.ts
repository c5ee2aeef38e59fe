// The replay engine: recorded events in, in record order; the pure machines (machine-run.ts) fed
// with the inputs the record holds or implies; every decision a replayed machine emits compared
// with the recorded one. What a machine kind publishes, where its emitted events go and how a
// recorded decision is explained are the kind's rules (vrrp-rules.ts, lvs-rules.ts); this file
// knows only the bookkeeping, which follows the daemon's run time:
//
// - Events cross between machines as in the daemon: an event sent to a machine that is busy
//   waits in its mailbox until the machine has finished (XState's actor semantics), so a sync
//   group's command to the member whose change it answers lands after that change, as it did.
// - Each machine's replayed outputs are matched, in order, with its recorded ones (per machine,
//   so the order between machines, which depends on who published first, never matters).
// - A recorded decision that no replayed output explains yet is handed to the rules: they feed
//   the input that explains it (recorded or inferred), or defer it (another replayed machine will
//   produce it: a member's move ordered by its group), or say it cannot be replayed.
// - The daemon publishes a cascade synchronously, so its events are contiguous in the record:
//   replayed outputs still unmatched when their machine is next fed, and recorded ones still
//   unexplained once a later event has been replayed, are mismatches.
// - After a mismatch the machine has diverged: its later events are reported as not replayed
//   until the record shows it starting again.
import type { AnyStateMachine, EventObject } from 'xstate';
import type { BusEvent } from '../bus.js';
import { MachineRun } from './machine-run.js';
import type { ReplayModel } from './model.js';
import type { Provenance, ReplayReport, Step } from './types.js';

export type Explanation =
  /** inputs were fed; whether they reproduced the event is checked afterwards */
  | { readonly fed: true }
  /** another replayed machine will produce it (or has not yet): wait */
  | { readonly defer: true }
  /** the record does not hold what it takes; the machine's state is unknown from here */
  | { readonly unreplayable: string }
  /** nothing explains it: a mismatch */
  | { readonly none: string };

export interface KindRules {
  /** the bus kind of the events this machine publishes */
  readonly kind: string;
  /** emitted event types that go on the bus, and so are compared */
  readonly published: ReadonlySet<string>;
  /** per type, fields that come from unrecorded input: reported, never compared */
  readonly unknowable?: Readonly<Record<string, readonly string[]>>;
  /** a recorded event that starts the machine (it can be replayed from there on) */
  isStart(e: BusEvent): boolean;
  /** `a` is no longer replayed: machines that depend on it follow (a sync group on its member) */
  onLost?(r: Replay, a: ActorState): void;
  /** deliver an emitted event where the daemon delivers it (a member's state to its group …) */
  route?(r: Replay, from: ActorState, e: EventObject): void;
  /** a recorded decision that no replayed output explains yet */
  explain(r: Replay, a: ActorState, e: BusEvent): Explanation;
}

/** A recorded event that is an input somewhere (a checker's result for its virtual server …). */
export type Listener = (r: Replay, e: BusEvent) => void;

export interface FeedOptions {
  readonly provenance: Provenance;
  readonly why?: string;
  /** the move's description, when the event's own is not telling */
  readonly label?: string;
}

interface Pending {
  readonly event: EventObject;
  readonly opts: FeedOptions;
  readonly timer: boolean;
}

/** One recorded actor (kind/name) and the machine that replays it. */
export class ActorState {
  run: MachineRun | undefined;
  /** why it is not replayed now (never started in the record, diverged …) */
  lost: string | undefined;
  /** replayed outputs not yet seen in the record */
  expected: { data: Record<string, unknown>; step: Step }[] = [];
  /** recorded outputs not yet produced by the replay */
  unexplained: { event: BusEvent; index: number }[] = [];
  busy = false;
  mailbox: Pending[] = [];
  /** the daemon's stop ended it (a restart after this is a new process: nothing carried over) */
  stoppedByDaemon = false;
  /** a decision of its differed: it is lost once the event being replayed has been fully replayed */
  diverged: string | undefined;

  constructor(
    readonly kind: string,
    readonly name: string,
    readonly rules: KindRules,
  ) {}

  get id(): string {
    return `${this.kind}/${this.name}`;
  }
}

/** why a machine whose decision differed is no longer replayed */
const diverged = (index: number) => `diverged at #${index}: not replayed until the record shows it starting again`;

/** Recorded decisions of machines this replay does not run, with the reason printed in the summary. */
export const NOT_REPLAYED: Readonly<Record<string, string>> = {
  'track.state': 'track scripts: their script exits are not recorded (their states are fed to the instances as recorded)',
  'track.value': 'track files: values are read from files, fed to the instances only through the recorded priority changes',
  'vrrp.rx-lower-priority': 'a MASTER hearing a lower priority: a rate-limited report of unrecorded adverts, no state change',
  'nats.state': 'the NATS link: its connection events are not recorded',
  'notify.mail-sent': 'the mail outbox: SMTP replies are not recorded',
  'notify.mail-failed': 'the mail outbox: SMTP replies are not recorded',
};

export class Replay {
  private readonly actors = new Map<string, ActorState>();
  private readonly steps = new Map<number, Step>();
  private index = 0;
  private current: BusEvent | undefined;
  /** the current record was explained by feeding its input: older unexplained records are now mismatches */
  private rooted = false;
  private readonly notMachine = new Map<string, number>();
  private readonly notReplayed = new Map<string, number>();
  private readonly locals = new Map<string, unknown>();
  /** actors that may have unexplained records, and actors whose decision differed (kept small: checked per event) */
  private readonly waiting = new Set<ActorState>();
  private readonly divergedActors = new Set<ActorState>();

  constructor(
    readonly model: ReplayModel,
    readonly node: string,
    private readonly kinds: readonly KindRules[],
    private readonly listeners: readonly Listener[],
    /** the node's whole record, in order: replayed one by one, and looked around by processStart() */
    private readonly record: readonly BusEvent[],
  ) {}

  /** replay the record (up to `until`, ms since the epoch), then report */
  run(until?: number): ReplayReport {
    for (const e of this.record) {
      if (until !== undefined && Date.parse(e.time) > until) break;
      this.push(e);
    }
    return this.finish();
  }

  /** the next recorded event of the node, in record order */
  private push(e: BusEvent): void {
    this.index++;
    this.current = e;
    this.rooted = false;
    const rules = this.kinds.find((k) => k.kind === e.kind && k.published.has(e.type));
    if (rules) this.output(rules, e);
    else if (e.type in NOT_REPLAYED) this.notReplayed.set(e.type, (this.notReplayed.get(e.type) ?? 0) + 1);
    else this.notMachine.set(e.type, (this.notMachine.get(e.type) ?? 0) + 1);
    for (const l of this.listeners) {
      try {
        l(this, e);
      } catch (err) {
        // a bug of the replay's, not of the record: said on the step, the replay goes on
        this.step(this.index, e).unreplayable = `the replay failed on it: ${(err as Error).message}`;
      }
    }
    // a cascade is contiguous in the record: what came before the input that started this one, and
    // is still unexplained, belonged to an earlier cascade that did not produce it
    if (this.rooted) this.settleUnexplained(this.index);
    // a machine that made a different decision is dropped only now, so the rest of the cascade
    // (its group's commands, the other members' moves) is still replayed and compared
    for (const a of this.divergedActors) if (a.diverged !== undefined) this.lose(a, a.diverged);
    this.divergedActors.clear();
  }

  /** the end of the record: whatever is still unmatched is a mismatch */
  private finish(): ReplayReport {
    for (const a of this.divergedActors) if (a.diverged !== undefined) this.lose(a, a.diverged);
    for (const a of this.actors.values()) this.settleExpected(a, true);
    this.settleUnexplained(Infinity);
    return {
      node: this.node,
      steps: [...this.steps.values()].sort((x, y) => x.index - y.index),
      notMachine: this.notMachine,
      notReplayed: this.notReplayed,
    };
  }

  // ------------------------------------------------------------------ for the rules

  /** the actor `kind/name` (created on first use) */
  actor(kind: string, name: string): ActorState {
    const id = `${kind}/${name}`;
    let a = this.actors.get(id);
    if (!a) {
      const rules = this.kinds.find((k) => k.kind === kind);
      if (!rules) throw new Error(`no replay rules for actor kind '${kind}'`);
      a = new ActorState(kind, name, rules);
      a.lost = 'the record starts after it started: its state is unknown';
      this.actors.set(id, a);
    }
    return a;
  }

  /** the actors seen or started so far */
  known(kind?: string): ActorState[] {
    return [...this.actors.values()].filter((a) => !kind || a.kind === kind);
  }

  /**
   * Whether the current record is part of a process start: the daemon publishes daemon.started
   * once every machine has started, so a start there is a new process (nothing carried over from
   * before, unlike a reload's restart). The events around it that are themselves starts are skipped
   * over (the health-check thread's may come just after daemon.started).
   */
  processStart(): boolean {
    const isStart = (e: BusEvent) =>
      this.kinds.some((k) => k.kind === e.kind && k.published.has(e.type) && k.isStart(e)) || (e.type === 'track.state' && (e.data as { previous?: unknown }).previous === 'init');
    const first = (step: 1 | -1) => {
      for (let i = this.index - 1 + step; i >= 0 && i < this.record.length; i += step) if (!isStart(this.record[i]!)) return this.record[i];
      return undefined;
    };
    return first(1)?.type === 'daemon.started' || first(-1)?.type === 'daemon.started';
  }

  /** whether the recorded `e` still waits for `a`'s replay to produce it */
  unexplained(a: ActorState, e: BusEvent): boolean {
    return a.unexplained.some((u) => u.event === e);
  }

  /** state a kind's rules keep for the whole replay (created on first use) */
  local<T>(key: string, make: () => T): T {
    if (!this.locals.has(key)) this.locals.set(key, make());
    return this.locals.get(key) as T;
  }

  /** a note on the current step ('config reloaded …') */
  note(text: string): void {
    this.step(this.index, this.current!).notes.push(text);
  }

  /** start (or start again) `a`'s machine; what it emits at start is matched like any output */
  start(a: ActorState, logic: AnyStateMachine, input: unknown, opts: FeedOptions): void {
    // what the old run left unmatched is reported; the current record is the new run's to explain
    this.settleExpected(a, true);
    for (const u of a.unexplained.filter((u) => u.event !== this.current)) this.report(a, u.event, u.index, 'recorded, but nothing replayed produced it');
    a.unexplained = a.unexplained.filter((u) => u.event === this.current);
    a.expected = [];
    a.mailbox = [];
    const before = a.run?.active ? a.run.state : '-';
    let started: ReturnType<typeof MachineRun.start>;
    try {
      started = MachineRun.start(logic, input);
    } catch (err) {
      this.lose(a, `its machine cannot start from the configuration: ${(err as Error).message}`);
      return;
    }
    a.run = started.run;
    a.lost = undefined;
    a.diverged = undefined;
    a.stoppedByDaemon = false;
    const step = this.step(this.index, this.current!);
    step.moves.push({ actor: a.id, event: opts.label ?? 'start', provenance: opts.provenance, ...(opts.why ? { why: opts.why } : {}), before, after: a.run.state });
    a.busy = true;
    try {
      this.deliver(a, started.emitted, step);
      this.drain(a);
    } finally {
      a.busy = false;
    }
  }

  /** send `event` to `a`'s machine (queued while it is busy, as an actor's mailbox) */
  feed<E extends EventObject>(a: ActorState, event: E, opts: FeedOptions): void {
    this.enqueue(a, { event, opts, timer: false });
  }

  /** let `a`'s armed timer `delay` run out; false when no such timer is armed */
  fire(a: ActorState, delay: string, opts: FeedOptions): boolean {
    const event = a.run?.timer(delay);
    if (!event) return false;
    this.enqueue(a, { event, opts: { label: `timer ${delay}`, ...opts }, timer: true });
    return true;
  }

  /** the actor cannot be replayed from here (until the record shows it starting again) */
  lose(a: ActorState, reason: string): void {
    const was = a.run !== undefined;
    a.lost = reason;
    a.diverged = undefined;
    a.run = undefined;
    a.expected = [];
    a.unexplained = [];
    a.mailbox = [];
    if (was) a.rules.onLost?.(this, a);
  }

  // ------------------------------------------------------------------ bookkeeping

  private output(rules: KindRules, e: BusEvent): void {
    const a = this.actor(rules.kind, e.name);
    if (a.lost !== undefined && !rules.isStart(e)) {
      this.step(this.index, e).unreplayable = a.lost;
      return;
    }
    const next = a.expected.shift();
    if (next) {
      this.compare(a, next.step, e, next.data);
      return;
    }
    a.unexplained.push({ event: e, index: this.index });
    this.waiting.add(a);
    let ex: Explanation;
    try {
      ex = rules.explain(this, a, e);
    } catch (err) {
      ex = { unreplayable: `the replay failed on it: ${(err as Error).message}` };
    }
    if ('defer' in ex) return;
    this.rooted = true;
    const i = a.unexplained.findIndex((u) => u.event === e);
    if (i < 0) return; // reproduced (and compared)
    a.unexplained.splice(i, 1);
    if ('unreplayable' in ex) {
      this.lose(a, ex.unreplayable);
      this.step(this.index, e).unreplayable = ex.unreplayable;
      return;
    }
    this.unmatched(a, e, this.index, 'fed' in ex ? 'the input it implies did not reproduce it' : ex.none);
  }

  private enqueue(a: ActorState, p: Pending): void {
    if (!a.run?.active) return; // a stopped machine hears nothing
    if (a.busy) {
      a.mailbox.push(p);
      return;
    }
    const left = this.settleExpected(a, false);
    if (left !== undefined) {
      this.lose(a, diverged(left));
      return;
    }
    a.busy = true;
    try {
      this.process(a, p);
      this.drain(a);
    } finally {
      a.busy = false;
    }
  }

  private drain(a: ActorState): void {
    for (let p = a.mailbox.shift(); p; p = a.mailbox.shift()) this.process(a, p);
  }

  private process(a: ActorState, p: Pending): void {
    const run = a.run;
    if (!run?.active) return;
    const before = run.state;
    let emitted: EventObject[];
    try {
      emitted = p.timer ? run.fire(p.event) : run.send(p.event);
    } catch (err) {
      this.lose(a, `its machine failed on ${describe(p.event)}: ${(err as Error).message}`);
      return;
    }
    const step = this.step(this.index, this.current!);
    const { provenance, why, label } = p.opts;
    step.moves.push({ actor: a.id, event: label ?? describe(p.event), provenance, ...(why ? { why } : {}), before, after: run.state });
    this.deliver(a, emitted, step);
  }

  private deliver(a: ActorState, emitted: readonly EventObject[], step: Step): void {
    for (const e of emitted) {
      if (!a.run) return; // diverged on an earlier one
      if (a.rules.published.has(e.type)) this.produced(a, JSON.parse(JSON.stringify(e)) as Record<string, unknown>, step);
      if (a.run) a.rules.route?.(this, a, e);
    }
  }

  private produced(a: ActorState, data: Record<string, unknown>, step: Step): void {
    const u = a.unexplained.shift();
    if (u) this.compare(a, step, u.event, data);
    else a.expected.push({ data, step });
  }

  private compare(a: ActorState, step: Step, e: BusEvent, replayed: Record<string, unknown>): void {
    const unknowable = a.rules.unknowable?.[e.type] ?? [];
    const diff = diffFields(e, replayed, unknowable);
    const unverified = unknowable.filter((k) => (e.data as Record<string, unknown>)[k] !== undefined || replayed[k] !== undefined);
    step.checks.push({ actor: a.id, type: e.type, recorded: e, replayed, ok: diff.length === 0, diff, ...(unverified.length ? { unverified } : {}) });
    if (diff.length && a.diverged === undefined) {
      a.diverged = diverged(step.index);
      this.divergedActors.add(a);
    }
  }

  /** report the replayed outputs of earlier steps (all: of every step) the record never showed; the first one's step */
  private settleExpected(a: ActorState, all: boolean): number | undefined {
    const current = this.steps.get(this.index);
    const left = a.expected.filter((p) => all || p.step !== current);
    a.expected = a.expected.filter((p) => !left.includes(p));
    for (const p of left) {
      p.step.checks.push({ actor: a.id, type: String(p.data['type']), replayed: p.data, ok: false, diff: [], note: 'replayed, but the record does not have it' });
    }
    return left[0]?.step.index;
  }

  /** recorded outputs before `index` that nothing replayed has produced */
  private settleUnexplained(index: number): void {
    for (const a of this.waiting) {
      const old = a.unexplained.filter((u) => u.index < index);
      if (!a.unexplained.length) this.waiting.delete(a);
      if (!old.length) continue;
      for (const u of old) this.report(a, u.event, u.index, 'recorded, but nothing replayed produced it');
      this.lose(a, diverged(old[0]!.index));
    }
  }

  private unmatched(a: ActorState, e: BusEvent, index: number, note: string): void {
    this.report(a, e, index, note);
    this.lose(a, diverged(index));
  }

  private report(a: ActorState, e: BusEvent, index: number, note: string): void {
    this.step(index, e).checks.push({ actor: a.id, type: e.type, recorded: e, ok: false, diff: [], note });
  }

  private step(index: number, e: BusEvent): Step {
    let s = this.steps.get(index);
    if (!s) {
      s = { index, event: e, moves: [], checks: [], notes: [] };
      this.steps.set(index, s);
    }
    return s;
  }
}

/** The fields where the recorded decision and the replayed one differ ('to: recorded MASTER, replayed FAULT'). */
export function diffFields(e: BusEvent, replayed: Record<string, unknown>, unknowable: readonly string[]): string[] {
  const recorded: Record<string, unknown> = { type: e.type, ...e.data };
  const out: string[] = [];
  for (const k of new Set([...Object.keys(recorded), ...Object.keys(replayed)])) {
    if (unknowable.includes(k)) continue;
    const a = JSON.stringify(recorded[k]);
    const b = JSON.stringify(replayed[k]);
    if (a !== b) out.push(`${k}: recorded ${a ?? '(none)'}, replayed ${b ?? '(none)'}`);
  }
  return out;
}

/** A machine event in a few words, for the step's "fed" line. */
export function describe(e: EventObject): string {
  const x = e as EventObject & Record<string, unknown>;
  if (e.type.startsWith('xstate.after.')) return `timer ${e.type.split('.')[2]}`;
  switch (e.type) {
    case 'advert.received':
      return `advert from ${String(x['src'])} priority ${String(x['priority'])}`;
    case 'priority.set':
      return `priority.set ${String(x['priority'])}`;
    case 'fault.set':
    case 'fault.cleared':
      return `${e.type} ${String(x['flag'])}`;
    case 'vips.lost':
      return `vips.lost ${String(x['address'])}`;
    case 'check.result':
      return `check.result ${x['ok'] ? 'ok' : 'failed'}${x['detail'] ? ` (${String(x['detail'])})` : ''}`;
    case 'checker.state':
      return `checker.state ${String(x['checker'])} ${String(x['from'])} → ${String(x['to'])}`;
    case 'checker.weight':
      return `checker.weight ${String(x['checker'])}`;
    case 'vrrp.state':
      return `vrrp.state ${String(x['instance'])} ${String(x['to'])}`;
    case 'vrrp.want':
      return `vrrp.want ${String(x['instance'])} ${String(x['want'])}`;
    case 'vrrp.faults':
      return `vrrp.faults ${String(x['instance'])} [${(x['flags'] as string[]).join(', ')}]`;
    case 'rs.drain':
    case 'rs.restore':
    case 'rs.ramp':
      return `${e.type} ${String(x['rs'])}`;
    default:
      return e.type;
  }
}
