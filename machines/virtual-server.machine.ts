// One virtual_server: which real servers are alive, their effective weights, the quorum and the
// sorry server, and from them the destinations the load balancer should have (`vs.table`). Pure:
// it hears its checkers' `checker.state` / `checker.weight` events, operator drain/restore and the
// VRRP state (ha_suspend), and emits what changed; the LB actor applies the table.
//
// keepalived (keepalived/check/ipwrapper.c; keepalived.md §4.4), which this follows:
// - A real server is alive when none of its checkers is DOWN (num_failed_checkers == 0); one with
//   no checker is always alive. It starts alive unless one of its checkers is `alpha`.
// - Effective weight = configured weight + each checker's dynamic contribution, clamped to
//   0..INT32_MAX (real_weight). The quorum weight is the sum over alive servers.
// - Quorum (update_quorum_state): at start up iff weight ≥ quorum + hysteresis (set_quorum_states);
//   gained when down and weight ≥ quorum + hysteresis; lost when up and (weight = 0 or weight <
//   quorum − hysteresis). At start, a quorum that is down is announced only when there is a sorry
//   server ("Starting with quorum down"); one that is up is not announced.
// - Destinations: an alive server at its effective weight; a dead one removed, or kept at weight 0
//   with inhibit_on_failure. Quorum down with a sorry server: the real servers leave the pool
//   (those with inhibit_on_failure stay at weight 0) and the sorry server (weight 1) serves;
//   changes meanwhile are only recorded. sorry_server_inhibit keeps the sorry server at weight 0
//   while the quorum is up. Quorum down without a sorry server changes no destination.
// - Notifications: `vs.rs` on every alive change (notify_up/notify_down), also while the sorry
//   server serves; an alpha checker's first failure repeats the server's DOWN (initial: true);
//   global rs_init_notifies announces the servers alive at start. With `omega`, `stop` announces
//   every alive server in the pool DOWN and the quorum DOWN (clear_service_vs, stopping).
// - ha_suspend: the checks run only while this node is VRRP master for the address
//   (`vs.suspend` / `vs.resume` tell the checkers; they start paused).
// vigil additions: operator drain (weight 0, entry kept; counts 0 towards the quorum) and restore;
// slow start (vigil extension `slow_start`): a server that comes back up after being seen dead
// starts at weight 1 and grows linearly, in RAMP_STEPS equal steps, to its full weight at
// slow_start (as HAProxy's slowstart; never at startup). The ramp shapes the destinations only,
// not the quorum.
import { emit, enqueueActions, sendParent, setup } from 'xstate';
import { NO_WEIGHT, type CheckerEmitted, type DynamicWeight } from './checker.machine.js';

/** keepalived's IPVS_WEIGHT_LIMIT */
export const MAX_WEIGHT = 2_147_483_647;
/** keepalived's sorry server weight (check_data.c alloc_ssvr) */
export const SORRY_WEIGHT = 1;
/** slow start: the weight grows by a RAMP_STEPS-th of the full weight each slow_start / RAMP_STEPS */
export const RAMP_STEPS = 10;

export interface VsRealServerInput {
  /** identity within the virtual server (lvs-input.ts realServerKey) */
  readonly key: string;
  readonly address: string;
  /** absent: a fwmark service's server without port */
  readonly port?: number;
  /** configured weight */
  readonly weight: number;
  /** real server's inhibit_on_failure, else the virtual server's */
  readonly inhibitOnFailure: boolean;
  /** its checkers, by the id their events carry; an alpha checker starts DOWN */
  readonly checkers: readonly { readonly id: string; readonly alpha: boolean }[];
  /** vigil extension: the real server's slow_start, else the virtual server's; 0/absent: off */
  readonly slowStartMs?: number;
}

export interface VirtualServerInput {
  /** identity in events (lvs-input.ts virtualServerName) */
  readonly name: string;
  readonly quorum: number;
  readonly hysteresis: number;
  readonly omega: boolean;
  readonly haSuspend: boolean;
  readonly sorryServer?: { readonly key: string; readonly address: string; readonly port?: number };
  readonly sorryServerInhibit: boolean;
  readonly realServers: readonly VsRealServerInput[];
  /** global_defs rs_init_notifies: announce the servers alive at start */
  readonly initNotifies?: boolean;
}

type CheckerState = Extract<CheckerEmitted, { type: 'checker.state' }>;
type CheckerWeight = Extract<CheckerEmitted, { type: 'checker.weight' }>;

export type VirtualServerEvent =
  /** from the real servers' checker actors, as they emit them */
  | CheckerState
  | CheckerWeight
  /** operator: weight 0, the destination stays (existing connections go on, no new ones) */
  | { type: 'rs.drain'; rs: string }
  | { type: 'rs.restore'; rs: string }
  /** VRRP: this node became / stopped being master for the virtual address (ha_suspend) */
  | { type: 'vrrp.master' }
  | { type: 'vrrp.not-master' }
  | { type: 'stop' }
  /** internal, from the slow-start ramp of one server: next step */
  | { type: 'rs.ramp'; rs: string };

export interface TableEntry {
  /** the real server's key, or the sorry server's */
  readonly key: string;
  readonly address: string;
  readonly port: number | null;
  readonly weight: number;
  readonly sorry: boolean;
}

export type QuorumState = 'up' | 'down';

export type VirtualServerEmitted =
  | {
      type: 'vs.rs'; vs: string; rs: string; address: string; port: number | null; state: 'up' | 'down';
      /** the checker and its cause, or 'startup' / 'shutdown' */
      cause: string;
      /** a start-up notification (rs_init_notifies, alpha's first failure), not a change */
      initial: boolean;
      weight: number;
    }
  | { type: 'vs.weight'; vs: string; rs: string; from: number; to: number; alive: boolean }
  | {
      type: 'vs.quorum'; vs: string; state: QuorumState;
      /** sum of the alive servers' weights */
      weight: number; quorum: number; hysteresis: number;
      /** what the weight was compared with: quorum + hysteresis to gain, quorum − hysteresis to lose */
      threshold: number;
      initial: boolean; cause: string;
    }
  /** the whole desired destination list, after every change of it (and once at start) */
  | { type: 'vs.table'; vs: string; entries: TableEntry[]; sorry: boolean }
  /** ha_suspend: pause / resume this virtual server's checkers */
  | { type: 'vs.suspend'; vs: string }
  | { type: 'vs.resume'; vs: string }
  | { type: 'vs.drain'; vs: string; rs: string; drained: boolean }
  /** an event naming a checker or real server this virtual server does not have */
  | { type: 'vs.ignored'; vs: string; event: string; reason: string };

/** One real server as the virtual server sees it (its context; `vigil status` can show it). */
export interface RealServerState {
  readonly key: string;
  readonly address: string;
  readonly port: number | null;
  readonly weight: number;
  readonly inhibit: boolean;
  readonly slowStartMs: number;
  /** its checkers that are DOWN */
  readonly failed: readonly string[];
  /** dynamic weights by checker (only those not NO_WEIGHT) */
  readonly dynamic: Readonly<Record<string, DynamicWeight>>;
  readonly drained: boolean;
  /** slow-start steps done, 0..RAMP_STEPS−1; null: not ramping */
  readonly ramp: number | null;
}

export interface VirtualServerContext {
  readonly name: string;
  readonly quorum: number;
  readonly hysteresis: number;
  readonly omega: boolean;
  readonly haSuspend: boolean;
  readonly sorry: { readonly key: string; readonly address: string; readonly port: number | null } | null;
  readonly sorryInhibit: boolean;
  readonly initNotifies: boolean;
  /** by key, in configuration order */
  readonly rs: Readonly<Record<string, RealServerState>>;
  /** checker id → real server key */
  readonly owner: Readonly<Record<string, string>>;
  readonly quorumUp: boolean;
  /** the last table emitted (null before the first) */
  readonly table: readonly TableEntry[] | null;
  /** events dropped because they named nothing of ours */
  readonly ignored: number;
}

// ---------------------------------------------------------------- pure derivations

export const isAlive = (rs: RealServerState) => rs.failed.length === 0;

const clampWeight = (w: number) => Math.min(Math.max(w, 0), MAX_WEIGHT);

/** keepalived: effective_weight = weight + Σ cur_weight; 'set' contributes value − weight. */
export function effectiveWeight(rs: RealServerState): number {
  let w = rs.weight;
  for (const d of Object.values(rs.dynamic)) w += d.mode === 'set' ? d.value - rs.weight : d.value;
  return clampWeight(w);
}

/** weigh_live_realservers, with drained servers counting 0 */
export function aliveWeight(c: VirtualServerContext): number {
  let sum = 0;
  for (const rs of Object.values(c.rs)) if (isAlive(rs) && !rs.drained) sum += effectiveWeight(rs);
  return sum;
}

const gains = (c: VirtualServerContext, w: number) => !c.quorumUp && w >= c.quorum + c.hysteresis;
const loses = (c: VirtualServerContext, w: number) => c.quorumUp && (w === 0 || w < c.quorum - c.hysteresis);

function rampedWeight(rs: RealServerState): number {
  const full = effectiveWeight(rs);
  if (rs.ramp === null || full === 0) return full;
  return Math.max(1, Math.ceil((full * rs.ramp) / RAMP_STEPS));
}

/** The destinations keepalived would have in IPVS for this state. */
export function tableOf(c: VirtualServerContext): TableEntry[] {
  const sorryActive = c.sorry !== null && !c.quorumUp;
  const out: TableEntry[] = [];
  for (const rs of Object.values(c.rs)) {
    const base = { key: rs.key, address: rs.address, port: rs.port, sorry: false };
    if (!isAlive(rs) || sorryActive) {
      if (rs.inhibit) out.push({ ...base, weight: 0 });
      continue;
    }
    out.push({ ...base, weight: rs.drained ? 0 : rampedWeight(rs) });
  }
  if (c.sorry && (sorryActive || c.sorryInhibit)) {
    out.push({ key: c.sorry.key, address: c.sorry.address, port: c.sorry.port, weight: sorryActive ? SORRY_WEIGHT : 0, sorry: true });
  }
  return out;
}

const sameTable = (a: readonly TableEntry[], b: readonly TableEntry[]) =>
  a.length === b.length && a.every((x, i) => {
    const y = b[i] as TableEntry;
    return x.key === y.key && x.weight === y.weight && x.sorry === y.sorry;
  });

type Note =
  | Exclude<VirtualServerEmitted, { type: 'vs.quorum' | 'vs.table' | 'vs.suspend' | 'vs.resume' }>
  | { type: 'ramp.start'; rs: string; stepMs: number }
  | { type: 'ramp.stop'; rs: string };

interface Step { rs: Record<string, RealServerState>; notes: Note[]; ignored: number }

/** One event applied to the real servers: their new records and what to announce. Pure. */
function step(c: VirtualServerContext, e: VirtualServerEvent): Step {
  const notes: Note[] = [];
  const out: Step = { rs: { ...c.rs }, notes, ignored: c.ignored };
  const ignore = (reason: string): Step => {
    notes.push({ type: 'vs.ignored', vs: c.name, event: e.type, reason });
    return { ...out, ignored: c.ignored + 1 };
  };
  const rsNote = (rs: RealServerState, state: 'up' | 'down', cause: string, initial: boolean): Note => ({
    type: 'vs.rs', vs: c.name, rs: rs.key, address: rs.address, port: rs.port, state, cause, initial, weight: effectiveWeight(rs),
  });

  if (e.type === 'checker.state' || e.type === 'checker.weight') {
    const key = c.owner[e.checker];
    const rs = key === undefined ? undefined : c.rs[key];
    if (!rs) return ignore(`no checker '${e.checker}' in this virtual server`);
    if (e.type === 'checker.weight') {
      const dynamic = { ...rs.dynamic };
      if (e.to.mode === NO_WEIGHT.mode && e.to.value === NO_WEIGHT.value) delete dynamic[e.checker];
      else dynamic[e.checker] = e.to;
      const next: RealServerState = { ...rs, dynamic };
      const from = effectiveWeight(rs);
      const to = effectiveWeight(next);
      if (from !== to) notes.push({ type: 'vs.weight', vs: c.name, rs: rs.key, from, to, alive: isAlive(rs) });
      out.rs[rs.key] = next;
      return out;
    }
    const failed = e.to === 'down'
      ? (rs.failed.includes(e.checker) ? rs.failed : [...rs.failed, e.checker])
      : rs.failed.filter((id) => id !== e.checker);
    let next: RealServerState = { ...rs, failed };
    const cause = `${e.checker} ${e.cause}`;
    if (isAlive(rs) !== isAlive(next)) {
      if (isAlive(next) && next.slowStartMs > 0) {
        next = { ...next, ramp: 0 };
        notes.push({ type: 'ramp.start', rs: rs.key, stepMs: Math.max(1, Math.round(next.slowStartMs / RAMP_STEPS)) });
      } else if (!isAlive(next) && rs.ramp !== null) {
        next = { ...next, ramp: null };
        notes.push({ type: 'ramp.stop', rs: rs.key });
      }
      notes.push(rsNote(next, isAlive(next) ? 'up' : 'down', cause, false));
    } else if (e.first && e.from === 'down' && e.to === 'down') {
      // update_svr_checker_state: an alpha checker's first failure runs notify_down
      notes.push(rsNote(next, 'down', cause, true));
    }
    out.rs[rs.key] = next;
    return out;
  }
  if (e.type === 'rs.drain' || e.type === 'rs.restore' || e.type === 'rs.ramp') {
    const rs = c.rs[e.rs];
    if (!rs) return ignore(`no real server '${e.rs}' in this virtual server`);
    if (e.type === 'rs.ramp') {
      // a tick of a ramp already stopped changes nothing
      if (rs.ramp === null) return out;
      const ramp = rs.ramp + 1 >= RAMP_STEPS ? null : rs.ramp + 1;
      if (ramp === null) notes.push({ type: 'ramp.stop', rs: rs.key });
      out.rs[rs.key] = { ...rs, ramp };
      return out;
    }
    const drained = e.type === 'rs.drain';
    if (rs.drained === drained) return out;
    out.rs[rs.key] = { ...rs, drained };
    notes.push({ type: 'vs.drain', vs: c.name, rs: rs.key, drained });
    return out;
  }
  return out;
}

/** What moved the quorum, for its event. */
function causeOf(e: VirtualServerEvent): string {
  switch (e.type) {
    case 'checker.state': return `${e.checker} ${e.to}`;
    case 'checker.weight': return `${e.checker} weight`;
    case 'rs.drain': return `drain ${e.rs}`;
    case 'rs.restore': return `restore ${e.rs}`;
    default: return e.type;
  }
}

const afterStep = (c: VirtualServerContext, e: VirtualServerEvent): VirtualServerContext => ({ ...c, rs: step(c, e).rs });

const rampId = (rs: string) => `ramp:${rs}`;

/** Sends `rs.ramp` to its virtual server every stepMs until stopped. */
export const slowStartRamp = setup({
  types: { input: {} as { rs: string; stepMs: number }, context: {} as { rs: string; stepMs: number } },
  delays: { step: ({ context }) => context.stepMs },
}).createMachine({
  id: 'slowStartRamp',
  context: ({ input }) => input,
  initial: 'ticking',
  states: {
    ticking: {
      after: {
        step: { target: 'ticking', reenter: true, actions: sendParent(({ context }): VirtualServerEvent => ({ type: 'rs.ramp', rs: context.rs })) },
      },
    },
  },
});

// ---------------------------------------------------------------- the machine

export const virtualServerMachine = setup({
  types: {
    input: {} as VirtualServerInput,
    context: {} as VirtualServerContext,
    events: {} as VirtualServerEvent,
    emitted: {} as VirtualServerEmitted,
  },
  actors: { slowStartRamp },
  actions: {
    apply: enqueueActions(({ context, event, enqueue }) => {
      const s = step(context, event);
      enqueue.assign({ rs: s.rs, ignored: s.ignored });
      for (const n of s.notes) {
        if (n.type === 'ramp.start') enqueue.spawnChild('slowStartRamp', { id: rampId(n.rs), input: { rs: n.rs, stepMs: n.stepMs } });
        else if (n.type === 'ramp.stop') enqueue.stopChild(rampId(n.rs));
        else enqueue.emit(n);
      }
    }),
    quorum: enqueueActions(({ context, event, enqueue }, params: { up: boolean; initial?: boolean }) => {
      enqueue.assign({ quorumUp: params.up });
      enqueue.emit({
        type: 'vs.quorum', vs: context.name, state: params.up ? 'up' : 'down', weight: aliveWeight(context),
        quorum: context.quorum, hysteresis: context.hysteresis,
        // the threshold keepalived compared with: q+h to gain (and at start), q−h to lose
        threshold: context.quorum + (params.up || params.initial ? 1 : -1) * context.hysteresis,
        initial: params.initial ?? false, cause: params.initial ? 'startup' : causeOf(event),
      });
    }),
    publish: enqueueActions(({ context, enqueue }) => {
      const entries = tableOf(context);
      if (context.table && sameTable(entries, context.table)) return;
      enqueue.assign({ table: entries });
      enqueue.emit({ type: 'vs.table', vs: context.name, entries, sorry: context.sorry !== null && !context.quorumUp });
    }),
    initNotifies: enqueueActions(({ context, enqueue }) => {
      if (!context.initNotifies) return;
      for (const rs of Object.values(context.rs)) {
        if (!isAlive(rs)) continue;
        enqueue.emit({
          type: 'vs.rs', vs: context.name, rs: rs.key, address: rs.address, port: rs.port, state: 'up',
          cause: 'startup', initial: true, weight: effectiveWeight(rs),
        });
      }
    }),
    // clear_service_vs(stopping): with omega, the servers in the pool and the quorum go DOWN
    shutdownNotifies: enqueueActions(({ context, enqueue }) => {
      if (!context.omega) return;
      const inPool = new Set((context.table ?? []).map((t) => t.key));
      for (const rs of Object.values(context.rs)) {
        if (!isAlive(rs) || !inPool.has(rs.key)) continue;
        enqueue.emit({
          type: 'vs.rs', vs: context.name, rs: rs.key, address: rs.address, port: rs.port, state: 'down',
          cause: 'shutdown', initial: false, weight: effectiveWeight(rs),
        });
      }
      enqueue.emit({
        type: 'vs.quorum', vs: context.name, state: 'down', weight: aliveWeight(context), quorum: context.quorum,
        hysteresis: context.hysteresis, threshold: context.quorum - context.hysteresis, initial: false, cause: 'shutdown',
      });
    }),
    suspend: emit(({ context }) => ({ type: 'vs.suspend' as const, vs: context.name })),
    resume: emit(({ context }) => ({ type: 'vs.resume' as const, vs: context.name })),
  },
  guards: {
    quorumUp: ({ context }) => context.quorumUp,
    hasSorry: ({ context }) => context.sorry !== null,
    haSuspend: ({ context }) => context.haSuspend,
    gainsQuorum: ({ context, event }) => gains(context, aliveWeight(afterStep(context, event))),
    losesQuorum: ({ context, event }) => loses(context, aliveWeight(afterStep(context, event))),
  },
}).createMachine({
  id: 'virtualServer',
  context: ({ input }) => {
    const rs: Record<string, RealServerState> = {};
    const owner: Record<string, string> = {};
    for (const r of input.realServers) {
      rs[r.key] = {
        key: r.key, address: r.address, port: r.port ?? null, weight: r.weight, inhibit: r.inhibitOnFailure,
        slowStartMs: r.slowStartMs ?? 0, failed: r.checkers.filter((k) => k.alpha).map((k) => k.id), dynamic: {},
        drained: false, ramp: null,
      };
      for (const k of r.checkers) owner[k.id] = r.key;
    }
    const s = input.sorryServer;
    const c: VirtualServerContext = {
      name: input.name, quorum: input.quorum, hysteresis: input.hysteresis, omega: input.omega, haSuspend: input.haSuspend,
      sorry: s ? { key: s.key, address: s.address, port: s.port ?? null } : null, sorryInhibit: input.sorryServerInhibit,
      initNotifies: input.initNotifies ?? false, rs, owner, quorumUp: false, table: null, ignored: 0,
    };
    // set_quorum_states
    return { ...c, quorumUp: aliveWeight(c) >= c.quorum + c.hysteresis };
  },
  initial: 'running',
  states: {
    running: {
      type: 'parallel',
      on: { stop: { target: '#virtualServer.stopped', actions: 'shutdownNotifies' } },
      states: {
        quorum: {
          initial: 'init',
          states: {
            // init_service_vs: the servers' notifies, then update_quorum_state(init), then the pool
            init: {
              always: [
                { guard: 'quorumUp', target: 'up', actions: ['initNotifies', 'publish'] },
                { guard: 'hasSorry', target: 'down', actions: ['initNotifies', { type: 'quorum', params: { up: false, initial: true } }, 'publish'] },
                { target: 'down', actions: ['initNotifies', 'publish'] },
              ],
            },
            up: {
              on: {
                'checker.state': [{ guard: 'losesQuorum', target: 'down', actions: ['apply', { type: 'quorum', params: { up: false } }, 'publish'] }, { actions: ['apply', 'publish'] }],
                'checker.weight': [{ guard: 'losesQuorum', target: 'down', actions: ['apply', { type: 'quorum', params: { up: false } }, 'publish'] }, { actions: ['apply', 'publish'] }],
                'rs.drain': [{ guard: 'losesQuorum', target: 'down', actions: ['apply', { type: 'quorum', params: { up: false } }, 'publish'] }, { actions: ['apply', 'publish'] }],
                'rs.restore': { actions: ['apply', 'publish'] },
                'rs.ramp': { actions: ['apply', 'publish'] },
              },
            },
            down: {
              on: {
                'checker.state': [{ guard: 'gainsQuorum', target: 'up', actions: ['apply', { type: 'quorum', params: { up: true } }, 'publish'] }, { actions: ['apply', 'publish'] }],
                'checker.weight': [{ guard: 'gainsQuorum', target: 'up', actions: ['apply', { type: 'quorum', params: { up: true } }, 'publish'] }, { actions: ['apply', 'publish'] }],
                'rs.restore': [{ guard: 'gainsQuorum', target: 'up', actions: ['apply', { type: 'quorum', params: { up: true } }, 'publish'] }, { actions: ['apply', 'publish'] }],
                'rs.drain': { actions: ['apply', 'publish'] },
                'rs.ramp': { actions: ['apply', 'publish'] },
              },
            },
          },
        },
        checks: {
          initial: 'init',
          states: {
            init: { always: [{ guard: 'haSuspend', target: 'suspended' }, { target: 'active' }] },
            active: { on: { 'vrrp.not-master': { guard: 'haSuspend', target: 'suspended', actions: 'suspend' } } },
            suspended: { on: { 'vrrp.master': { target: 'active', actions: 'resume' } } },
          },
        },
      },
    },
    stopped: { type: 'final' },
  },
});
