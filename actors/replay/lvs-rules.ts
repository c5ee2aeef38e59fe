// Replaying virtual servers and their health checkers.
//
// A virtual server's inputs are its checkers' checker.state / checker.weight events, and those are
// recorded whole: the virtual server machine is fed exactly what it heard, so its decisions (real
// server up or down, weights, quorum, the destination table) are reproduced, not inferred. Its
// other inputs: an operator's drain or restore (its vs.drain shows which), slow-start steps (timer
// ticks, inferred from the table they change), ha_suspend (the recorded VRRP states), its stop.
//
// A checker's inputs are its probes' results, which are not recorded: only its changes are. The
// replay feeds the shortest run of results that the recorded change implies (the recorded result
// repeated: with retry 2, three failures; with fall 2, two checks of three), letting the machine's
// own retry and delay_loop timers run out between them. So it checks that the configuration's
// retry, rise, fall and alpha explain the recorded change (its attempts, consecutive count, cause
// and first flag), not that the probes happened.
import type { EventObject } from 'xstate';
import { checkerMachine, NO_WEIGHT, type CheckerInput, type DynamicWeight } from '../../machines/checker.machine.js';
import { RAMP_STEPS, virtualServerMachine, type VirtualServerInput } from '../../machines/virtual-server.machine.js';
import type { BusEvent } from '../bus.js';
import { diffFields, type ActorState, type Explanation, type KindRules, type Listener, type Replay } from './engine.js';
import type { VirtualServerModel } from './model.js';

type Data = Record<string, unknown>;

const FED = { fed: true } as const;

interface CheckerContext {
  retry: number;
  rise?: number;
  fall?: number;
  health: { up: boolean; hasRun: boolean; weight: DynamicWeight };
}

const checkerContext = (a: ActorState) => a.run!.context as unknown as CheckerContext;

/** what a virtual server emits when it starts (actors/lvs.ts publishes it with no cause yet) */
function isVsStart(e: BusEvent): boolean {
  const d = e.data as Data;
  return (e.type === 'vs.table' && e.cause === undefined) || (e.type === 'vs.quorum' && d['initial'] === true) || (e.type === 'vs.rs' && d['initial'] === true && d['cause'] === 'startup');
}

export const vsRules: KindRules = {
  kind: 'vs',
  published: new Set(['vs.rs', 'vs.weight', 'vs.quorum', 'vs.table', 'vs.drain']),
  isStart: isVsStart,
  // as actors/lvs.ts: ha_suspend pauses and resumes the virtual server's checkers
  route(r, from, e) {
    if (e.type !== 'vs.suspend' && e.type !== 'vs.resume') return;
    for (const id of r.model.virtualServers.get(from.name)?.checkers.keys() ?? []) {
      const c = r.actor('checker', id);
      if (c.run?.active) r.feed(c, { type: e.type === 'vs.suspend' ? 'pause' : 'resume' }, { provenance: 'derived', why: `its virtual server ${e.type === 'vs.suspend' ? 'suspends' : 'resumes'} the checks` });
    }
  },
  explain(r, a, e) {
    const vs = r.model.virtualServers.get(a.name);
    if (!vs) return { unreplayable: `no virtual_server ${a.name} in the configuration` };
    const d = e.data as Data;
    if (a.run?.active) {
      if (e.type === 'vs.drain') {
        r.feed(a, { type: d['drained'] ? 'rs.drain' : 'rs.restore', rs: d['rs'] }, { provenance: 'inferred', why: `an operator ${d['drained'] ? 'drained' : 'restored'} it (the operator.command that follows records who)` });
        return FED;
      }
      if ((e.type === 'vs.rs' || e.type === 'vs.quorum') && d['cause'] === 'shutdown') {
        stopVs(r, a, { provenance: 'inferred', why: 'it was stopped (omega announces it)' });
        return FED;
      }
      // what a start publishes carries no cause yet: the virtual server was started again
      if (isVsStart(e)) return startVs(r, a, vs);
      if (a.run.children().some((c) => c.startsWith('ramp:')) && (e.type === 'vs.table' || e.type === 'vs.weight')) return rampStep(r, a, e);
    }
    if (isVsStart(e)) return startVs(r, a, vs);
    return a.run?.active ? { none: 'no recorded input of its explains it' } : { none: 'the virtual server had stopped' };
  },
};

/**
 * Start the virtual server and its checkers (actors/lvs.ts startVs). Started again without the
 * daemon having stopped (a reload that changed it, a restarted health-check thread), it starts
 * from its checkers' last health: a checker known down starts down.
 */
function startVs(r: Replay, a: ActorState, vs: VirtualServerModel): Explanation {
  // LvsSet.reload reads its checkers' health before stopping them: stopped ones count too; a new
  // process carries nothing over
  const carry = new Map<string, boolean>();
  if (!a.stoppedByDaemon && !r.processStart()) {
    for (const id of vs.checkers.keys()) {
      const c = r.actor('checker', id);
      if (c.run) carry.set(id, checkerContext(c).health.up);
    }
  }
  const input: VirtualServerInput = carry.size
    ? { ...vs.input, realServers: vs.input.realServers.map((rs) => ({ ...rs, checkers: rs.checkers.map((c) => (carry.has(c.id) ? { ...c, alpha: !carry.get(c.id) } : c)) })) }
    : vs.input;
  const why = carry.size ? "it started again (a reload, or a restarted health-check thread): from its checkers' last health" : 'it started';
  r.start(a, virtualServerMachine, input, { provenance: 'inferred', why });
  for (const [id, ci] of vs.checkers) {
    const c = r.actor('checker', id);
    if (typeof ci === 'string') r.lose(c, `no checker machine: ${ci}`);
    else r.start(c, checkerMachine, carry.has(id) ? { ...ci, alpha: !carry.get(id) } : ci, { provenance: 'inferred', why: 'it started with its virtual server' });
  }
  if (vs.haSuspend) haSuspend(r, a.name, true);
  return FED;
}

function stopVs(r: Replay, a: ActorState, opts: { provenance: 'recorded' | 'inferred'; why: string }): void {
  for (const id of r.model.virtualServers.get(a.name)?.checkers.keys() ?? []) {
    const c = r.actor('checker', id);
    if (c.run?.active) r.feed(c, { type: 'stop' }, opts);
  }
  r.feed(a, { type: 'stop' }, opts);
}

/**
 * Slow-start steps (each ramp child's timer): the table changes only on some of them (weight 2
 * ramps 1, 1, 1, 1, 1, 2 …), so the steps that change nothing come first, as many as it takes. The
 * step fed is the one that gives the recorded table, else a silent one (the ramp ticked least), else
 * the next, whose different table is then the mismatch.
 */
function rampStep(r: Replay, a: ActorState, e: BusEvent): Explanation {
  const ticks = new Map<string, number>();
  const published = (ev: EventObject) => a.run!.peek(ev).find((x) => vsRules.published.has(x.type));
  const fits = (ev: EventObject) => {
    const out = published(ev);
    return out !== undefined && diffFields(e, JSON.parse(JSON.stringify(out)) as Data, []).length === 0;
  };
  for (let n = 0; n < RAMP_STEPS * 8 && a.run?.active && r.unexplained(a, e); n++) {
    const ramps = a.run.children().filter((c) => c.startsWith('ramp:')).map((c) => ({ type: 'rs.ramp', rs: c.slice('ramp:'.length) }));
    if (!ramps.length) return { none: 'no slow-start ramp is running in the replay' };
    const least = (list: typeof ramps) => list.reduce((x, y) => ((ticks.get(y.rs) ?? 0) < (ticks.get(x.rs) ?? 0) ? y : x));
    const silent = ramps.filter((ev) => !published(ev));
    const ev = ramps.find(fits) ?? (silent.length ? least(silent) : least(ramps));
    ticks.set(ev.rs, (ticks.get(ev.rs) ?? 0) + 1);
    r.feed(a, ev, { provenance: 'inferred', why: 'a slow-start step (its timer is not recorded)' });
  }
  return FED;
}

export const checkerRules: KindRules = {
  kind: 'checker',
  published: new Set(['checker.state', 'checker.weight']),
  isStart: (e) => e.type === 'checker.state' && (e.data as Data)['first'] === true,
  explain(r, a, e) {
    const vsName = r.model.checkerVs.get(a.name);
    const ci = vsName ? r.model.virtualServers.get(vsName)?.checkers.get(a.name) : undefined;
    if (ci === undefined) return { unreplayable: `no checker ${a.name} in the configuration` };
    if (typeof ci === 'string') return { unreplayable: `no checker machine: ${ci}` };
    const d = e.data as Data;
    // a first result on a checker that has already run: it was started again unseen
    if (d['first'] === true && (!a.run?.active || checkerContext(a).health.hasRun)) restartChecker(r, a, ci, d);
    if (!a.run?.active) return { none: 'the checker had stopped' };
    return e.type === 'checker.weight' ? weightChanged(r, a, e, d) : stateChanged(r, a, e, d);
  },
};

function restartChecker(r: Replay, a: ActorState, ci: CheckerInput, d: Data): void {
  // its virtual server carried its health over (a reload): the recorded `from` is where it started
  const alpha = d['from'] === 'down';
  r.start(a, checkerMachine, { ...ci, alpha }, { provenance: 'inferred', why: `it started again${alpha !== ci.alpha ? ` (from ${String(d['from'])}, carried over)` : ''}` });
}

/** checker.weight: a success carrying the new dynamic weight (MISC_CHECK misc_dynamic, FILE_CHECK) */
function weightChanged(r: Replay, a: ActorState, e: BusEvent, d: Data): Explanation {
  const to = d['to'] as DynamicWeight;
  const none = to.mode === NO_WEIGHT.mode && to.value === NO_WEIGHT.value;
  if (!toProbing(r, a)) return noCheckDue(a);
  r.feed(a, { type: 'check.result', ok: true, ...(none ? {} : { weight: to }) }, { provenance: 'inferred', why: `a success with the recorded weight (${e.type})` });
  return FED;
}

/**
 * checker.state: the recorded result, repeated until the machine decides (at most every attempt
 * the configuration allows). A change that is not its first means earlier, unrecorded, checks
 * succeeded: one success comes first.
 */
function stateChanged(r: Replay, a: ActorState, e: BusEvent, d: Data): Explanation {
  const ctx = checkerContext(a);
  const ok = d['to'] === 'up';
  const result = { detail: d['detail'] ?? undefined, latencyMs: d['latencyMs'] ?? undefined };
  const keepWeight = () => {
    const w = checkerContext(a).health.weight;
    return w.mode === NO_WEIGHT.mode && w.value === NO_WEIGHT.value ? {} : { weight: w };
  };
  if (d['first'] !== true && !ctx.health.hasRun) {
    if (!toProbing(r, a)) return noCheckDue(a);
    r.feed(a, { type: 'check.result', ok: ctx.health.up, ...(ctx.health.up ? keepWeight() : { detail: 'unrecorded' }) }, { provenance: 'inferred', why: 'its earlier checks (not recorded: no change)' });
  }
  const most = (ctx.retry + 1) * Math.max(ctx.fall ?? 1, ctx.rise ?? 1) + 1;
  for (let n = 0; n < most && a.run?.active && r.unexplained(a, e); n++) {
    if (!toProbing(r, a)) return noCheckDue(a);
    r.feed(a, { type: 'check.result', ok, ...result, ...(ok ? keepWeight() : {}) }, { provenance: 'inferred', why: `the recorded result (${ok ? 'success' : 'failure'}), until the checker decides` });
  }
  return FED;
}

function noCheckDue(a: ActorState): Explanation {
  const run = a.run;
  if (!run?.active) return { none: 'the checker had stopped' };
  const paused = run.snapshot.matches({ running: { activity: 'paused' } } as never);
  return { none: `no check was due in the replayed state ${run.state}${paused ? ': its checks are suspended (ha_suspend)' : ''}` };
}

/** let the checker's schedule timers (warmup, delay_before_retry, delay_loop) run out until a check is due */
function toProbing(r: Replay, a: ActorState): boolean {
  for (let i = 0; i < 4; i++) {
    const run = a.run;
    if (!run?.active) return false;
    if (run.snapshot.matches({ running: { schedule: 'probing' } } as never)) return true;
    const delay = ['warmup', 'delayBeforeRetry', 'delayLoop'].find((t) => run.timer(t));
    if (!delay) return false;
    r.fire(a, delay, { provenance: 'inferred', why: 'the next check is due' });
  }
  return false;
}

/**
 * Recorded inputs of virtual servers: their checkers' events (exactly what they heard), the VRRP
 * states behind ha_suspend, and the daemon stopping.
 */
export const lvsListener: Listener = (r, e) => {
  if (e.kind === 'checker' && (e.type === 'checker.state' || e.type === 'checker.weight')) {
    const vs = r.model.checkerVs.get(e.name);
    const a = vs === undefined ? undefined : r.actor('vs', vs);
    if (a?.run?.active) r.feed(a, { ...(e.data as Data), type: e.type }, { provenance: 'recorded', why: 'its checker reported' });
  } else if (e.type === 'vrrp.state') {
    const d = e.data as Data;
    if (d['to'] === 'MASTER') masters(r).add(e.name);
    else masters(r).delete(e.name);
    for (const [name, vs] of r.model.virtualServers) if (vs.haSuspend) haSuspend(r, name, false);
  } else if (e.type === 'daemon.stopping') {
    for (const a of r.known('vs')) {
      if (a.run?.active) stopVs(r, a, { provenance: 'recorded', why: 'the daemon stopped' });
      a.stoppedByDaemon = true;
    }
  }
};

/** VRRP instances MASTER now, as the recorded vrrp.state events say */
const masters = (r: Replay) => r.local('vrrp-masters', () => new Set<string>());

/** ha_suspend (actors/lvs.ts applyHaSuspend): the checks run while an instance holding the address is MASTER */
function haSuspend(r: Replay, name: string, atStart: boolean): void {
  const vs = r.model.virtualServers.get(name);
  const a = r.actor('vs', name);
  if (!vs?.address || !a.run?.active) return;
  const master = [...masters(r)].some((i) => r.model.instances.get(i)?.vips.includes(vs.address!));
  // what each ha_suspend virtual server was last told
  const told = r.local('ha-suspend-told', () => new Map<string, boolean>());
  if (!atStart && told.get(name) === master) return;
  told.set(name, master);
  r.feed(a, { type: master ? 'vrrp.master' : 'vrrp.not-master' }, { provenance: 'recorded', why: `VRRP: ${master ? 'an instance holding its address is MASTER' : 'no instance holding its address is MASTER'}` });
}
