// One health checker of one real server (TCP_CHECK, HTTP_GET, SSL_GET, SMTP_CHECK, DNS_CHECK,
// UDP_CHECK, PING_CHECK, MISC_CHECK): its schedule, retries and up/down verdict. Pure: the check
// itself runs in the `probe` actor that the wiring provides (adapters/checkers/), invoked once per
// attempt and stopped (so its I/O is cancelled) when the attempt times out, or on `stop`.
//
// keepalived (keepalived/check/check_tcp.c tcp_epilog, check_misc.c, check_http.c; check_data.c
// for the initial state; ipwrapper.c update_svr_checker_state), which this follows exactly with
// rise = fall = 1:
// - The first check starts after a random part of `warmup` (the actor draws it, see
//   `warmupOffsetMs`), later ones `delay_loop` after the previous result.
// - The first result decides alone: "for non alpha mode, one failure is enough initially" (no
//   retries), and one success brings an `alpha` checker (which starts down) up.
// - UP: a failed attempt is retried `retry` times, `delay_before_retry` apart; when the last retry
//   fails too the checker goes DOWN ("TCP_CHECK on service X failed after N retries"). A success
//   at any point resets the retry count. DOWN: no retries, one check every delay_loop; one success
//   brings it UP.
// - An `alpha` checker whose first check fails stays DOWN but runs the real server's notify_down
//   (update_svr_checker_state on a checker that has not run yet): emitted as a `checker.state`
//   DOWN → DOWN with `first: true`.
// - ha_suspend (`pause`): keepalived keeps the checker's timer running and skips the checks while
//   the checker is disabled, so the checks keep their spread; a check in flight completes. Same here.
// vigil extensions (off by default): `rise` consecutive successes to come UP from DOWN, `fall`
// consecutive failed checks (each after its retries) to go DOWN from UP, as HAProxy counts them.
// Watching (a vigil optimisation, `watch` in the input): once a result leaves the checker steady
// (UP with no retry or fall count running, or DOWN with no rise count), the scheduled checks run
// in the `watch` actor (the native probe engine, adapters/checkers/native.ts), which reports only a
// result that differs from the steady one. Every check that would change nothing is then made
// without a step of this machine; the first that would change something arrives as the same
// `check.result` and is decided exactly as a probe's. The watch is started delay_loop before its
// first check, as `waiting` would, and stops on pause, stop or any result.
// Differences: keepalived measures MISC_CHECK's delay_loop start to start, here every checker waits
// delay_loop after its result as keepalived does for the others; HTTP_GET/SSL_GET while DOWN wait
// max(delay_before_retry, delay_loop) in keepalived, delay_loop here; `fast_recovery` is not
// modelled. Checking every url of an HTTP check is one attempt, the probe's business.
import { and, assign, emit, enqueueActions, fromCallback, not, or, raise, setup, stateIn } from 'xstate';

export interface CheckerInput {
  /** identity of this checker in events (lvs-input.ts checkerId) */
  readonly id: string;
  /** CheckerCommon.resolved: keepalived's defaults and inheritance from the real and virtual server */
  readonly connectTimeoutMs: number;
  readonly retry: number;
  readonly delayBeforeRetryMs: number;
  readonly delayLoopMs: number;
  readonly warmupMs: number;
  /**
   * Where in [0, warmupMs] the first check falls. Machines have no randomness: the actor draws it
   * (keepalived: warmup × random() / RAND_MAX) so that checkers do not all start together.
   * Absent: the first check starts at once.
   */
  readonly warmupOffsetMs?: number;
  /**
   * How long one attempt may take before it counts as failed and the probe is stopped. Absent:
   * connectTimeoutMs. The probe enforces its own timeouts; this guards against one that never
   * answers. MISC_CHECK passes misc_timeout; HTTP, whose connect_timeout bounds each phase in
   * keepalived, may pass a multiple.
   */
  readonly probeTimeoutMs?: number;
  /** start DOWN until the first success (checker, else real server, else virtual server `alpha`) */
  readonly alpha: boolean;
  /** vigil extension: consecutive successes needed to come up (default 1, keepalived) */
  readonly rise?: number;
  /** vigil extension: consecutive failed checks, after their retries, needed to go down (default 1) */
  readonly fall?: number;
  /** start suspended (the virtual server has ha_suspend and this node is not its VRRP master) */
  readonly paused?: boolean;
  /** the wiring's `watch` actor can run this checker's steady checks (see Watching above) */
  readonly watch?: boolean;
  /** log_all_failures (or global checker_log_all_failures): each failed attempt while UP is emitted */
  readonly logAllFailures?: boolean;
}

/**
 * A dynamic weight, keepalived's per-checker cur_weight (the same shape as adapters/checkers'
 * DynamicWeight): 'set' makes the real server's weight `value` (MISC_CHECK misc_dynamic, exit
 * status − 2), 'add' adds `value` to its configured weight (FILE_CHECK: file value × weight).
 * The virtual server machine, which knows the configured weight, turns it into an effective weight.
 */
export interface DynamicWeight {
  readonly mode: 'set' | 'add';
  readonly value: number;
}

/** No contribution: what a checker without dynamic weight has, and what going DOWN leaves. */
export const NO_WEIGHT: DynamicWeight = { mode: 'add', value: 0 };

const sameWeight = (a: DynamicWeight, b: DynamicWeight) => a.mode === b.mode && a.value === b.value;

/** One attempt's outcome, sent back by the probe actor as a `check.result` event (adapters/checkers' ProbeResult fits). */
export interface CheckResult {
  readonly ok: boolean;
  /** why it failed ('connect ECONNREFUSED', 'status 503', 'exit 1', ...) or what it saw */
  readonly detail?: string;
  readonly latencyMs?: number;
  /** a success without it means NO_WEIGHT (misc_dynamic exit 0 undoes an earlier weight) */
  readonly weight?: DynamicWeight;
}

export type CheckerHealth = 'up' | 'down';

/** What the `watch` actor is started with: check every `intervalMs`, report a result whose ok is not `expectOk`. */
export interface WatchInput {
  readonly checker: string;
  readonly expectOk: boolean;
  readonly intervalMs: number;
}

/** What the checker's probe is started with. */
export interface ProbeInput {
  readonly checker: string;
  /** 1 for the scheduled check, 2.. for its retries */
  readonly attempt: number;
}

export type CheckerEvent =
  /** from the probe actor (internal: results sent from elsewhere while no attempt runs are ignored) */
  | ({ type: 'check.result' } & CheckResult)
  /** from the watch actor: it cannot run this checker after all; the machine schedules its checks again */
  | { type: 'watch.unavailable'; reason: string }
  /** ha_suspend: no new checks while paused; the state is kept */
  | { type: 'pause' }
  | { type: 'resume' }
  /** for good: the running attempt is cancelled, nothing more is emitted */
  | { type: 'stop' };

export type CheckerEmitted =
  | {
      type: 'checker.state'; checker: string; from: CheckerHealth; to: CheckerHealth;
      /** keepalived's log wording: 'failed after 2 retries (connection refused)', 'succeeded' */
      cause: string;
      /** the first result of this checker (alpha's first failure gives DOWN → DOWN) */
      first: boolean;
      /** attempts of the check that decided: 1 + the retries made */
      attempts: number;
      /** checks in a row with this outcome (rise/fall count) */
      consecutive: number;
      detail: string | null;
      latencyMs: number | null;
    }
  | { type: 'checker.weight'; checker: string; from: DynamicWeight; to: DynamicWeight }
  | { type: 'checker.activity'; checker: string; active: boolean }
  /** log_all_failures: an attempt failed while UP without deciding anything yet (a retry or a fall count follows) */
  | { type: 'checker.attempt-failed'; checker: string; attempt: number; detail: string | null };

/** keepalived's checker fields (checker_t): is_up, has_run, retry_it; plus the rise/fall counts. */
interface Health {
  up: boolean;
  hasRun: boolean;
  retryIt: number;
  /** failed checks in a row while UP (fall) */
  fails: number;
  /** successes in a row while DOWN (rise) */
  oks: number;
  /** dynamic weight */
  weight: DynamicWeight;
}

interface Context extends CheckerInput {
  health: Health;
}

/** Nothing a result of the expected kind would change: UP with no retry or fall count, or DOWN with no rise count. */
const steady = (h: Health) => h.hasRun && (h.up ? h.retryIt === 0 && h.fails === 0 : h.oks === 0);

/** 1 for a scheduled check, 2.. for its retries (retry_it starts at `retry` before the first run). */
const attemptOf = (h: Health) => (h.hasRun && h.up ? h.retryIt + 1 : 1);

type Change = 'up' | 'down' | 'confirmed-down' | null;
interface Decision {
  health: Health;
  change: Change;
  /** the next attempt is a retry, delay_before_retry from now */
  retry: boolean;
  consecutive: number;
}

const rise = (c: Context) => c.rise ?? 1;
const fall = (c: Context) => c.fall ?? 1;

/** tcp_epilog / misc_check_child_thread, generalised with rise and fall. */
function decide(c: Context, r: CheckResult): Decision {
  const h = c.health;
  const none = { change: null, retry: false } as const;
  if (r.ok) {
    const weight = r.weight ?? NO_WEIGHT;
    if (!h.hasRun) {
      return { health: { up: true, hasRun: true, retryIt: 0, fails: 0, oks: 0, weight }, change: h.up ? null : 'up', retry: false, consecutive: 1 };
    }
    if (h.up) return { health: { ...h, retryIt: 0, fails: 0, weight }, ...none, consecutive: 1 };
    const oks = h.oks + 1;
    if (oks >= rise(c)) return { health: { ...h, up: true, retryIt: 0, oks: 0, weight }, change: 'up', retry: false, consecutive: oks };
    return { health: { ...h, oks, weight }, ...none, consecutive: oks };
  }
  if (!h.hasRun) {
    return { health: { up: false, hasRun: true, retryIt: 0, fails: 0, oks: 0, weight: NO_WEIGHT }, change: h.up ? 'down' : 'confirmed-down', retry: false, consecutive: 1 };
  }
  // DOWN: failures only wait for the next check
  if (!h.up) return { health: { ...h, oks: 0 }, ...none, consecutive: 0 };
  if (h.retryIt < c.retry) return { health: { ...h, retryIt: h.retryIt + 1 }, change: null, retry: true, consecutive: h.fails };
  const fails = h.fails + 1;
  if (fails >= fall(c)) return { health: { ...h, up: false, retryIt: 0, fails: 0, weight: NO_WEIGHT }, change: 'down', retry: false, consecutive: fails };
  return { health: { ...h, retryIt: 0, fails }, ...none, consecutive: fails };
}

function causeText(c: Context, r: CheckResult, d: Decision): string {
  if (r.ok) return d.consecutive > 1 ? `succeeded ${d.consecutive} times in a row` : 'succeeded';
  const retries = attemptOf(c.health) - 1;
  let text = retries > 0 ? `failed after ${retries} ${retries === 1 ? 'retry' : 'retries'}` : 'failed';
  if (d.consecutive > 1) text += `, ${d.consecutive} checks in a row`;
  return r.detail ? `${text} (${r.detail})` : text;
}

const resultOf = (e: CheckerEvent): CheckResult => (e.type === 'check.result' ? e : { ok: false, detail: 'no result' });

const errorText = (e: unknown) => (e instanceof Error ? e.message : String(e));

const PROBING = '#checker.running.schedule.probing';
const PAUSED = '#checker.running.activity.paused';
const WATCHING = '#checker.running.schedule.watching';

export const checkerMachine = setup({
  types: {
    input: {} as CheckerInput,
    context: {} as Context,
    events: {} as CheckerEvent,
    emitted: {} as CheckerEmitted,
  },
  actors: {
    // Provided by the wiring (adapters/checkers/): runs one attempt, sends back one `check.result`
    // and cancels its I/O in its cleanup when stopped. Invoked rather than requested through an
    // emitted event: leaving `probing` (timeout, stop) cancels the attempt, and XState drops what a
    // stopped attempt sends back, so a result never has to be matched to its attempt. The default
    // never answers, so an unwired checker fails every attempt on the timeout.
    probe: fromCallback<{ type: 'none' }, ProbeInput>(() => {}),
    // Provided by the wiring for checkers started with `watch`: runs the steady checks and sends
    // back the first `check.result` whose ok is not `expectOk` (or `watch.unavailable`); stopping it
    // cancels them. The default cannot watch.
    watch: fromCallback<{ type: 'none' }, WatchInput>(({ sendBack }) => {
      sendBack({ type: 'watch.unavailable', reason: 'no watch actor provided' });
    }),
  },
  actions: {
    apply: assign(({ context, event }) => ({ health: decide(context, resultOf(event)).health })),
    announce: emit(({ context, event }) => {
      const r = resultOf(event);
      const d = decide(context, r);
      const from: CheckerHealth = context.health.up ? 'up' : 'down';
      return {
        type: 'checker.state' as const, checker: context.id, from, to: d.health.up ? 'up' as const : 'down' as const,
        cause: causeText(context, r, d), first: !context.health.hasRun, attempts: attemptOf(context.health), consecutive: d.consecutive,
        detail: r.detail ?? null, latencyMs: r.latencyMs ?? null,
      };
    }),
    // reads the context before `apply`; emits only when the contribution changes
    reweigh: enqueueActions(({ context, event, enqueue }) => {
      const to = decide(context, resultOf(event)).health.weight;
      if (!sameWeight(to, context.health.weight)) enqueue.emit({ type: 'checker.weight', checker: context.id, from: context.health.weight, to });
    }),
    // keepalived logs each failure while the checker is up when log_all_failures is set
    failedAttempt: enqueueActions(({ context, event, enqueue }) => {
      const r = resultOf(event);
      if (!context.logAllFailures || r.ok || !context.health.up) return;
      enqueue.emit({ type: 'checker.attempt-failed', checker: context.id, attempt: attemptOf(context.health), detail: r.detail ?? null });
    }),
    timedOut: raise({ type: 'check.result' as const, ok: false, detail: 'timeout' }),
    probeFailed: raise(({ event }) => ({
      type: 'check.result' as const, ok: false,
      detail: `probe error: ${errorText('error' in event ? event.error : event)}`,
    })),
    activity: emit(({ context }, params: { active: boolean }) => ({ type: 'checker.activity' as const, checker: context.id, active: params.active })),
    unwatchable: assign({ watch: false }),
  },
  guards: {
    alpha: ({ context }) => context.alpha,
    startPaused: ({ context }) => context.paused === true,
    noWarmup: ({ context }) => !(context.warmupOffsetMs && context.warmupMs),
    goesUp: ({ context, event }) => decide(context, resultOf(event)).change === 'up',
    goesDown: ({ context, event }) => decide(context, resultOf(event)).change === 'down',
    confirmsDown: ({ context, event }) => decide(context, resultOf(event)).change === 'confirmed-down',
    retries: ({ context, event }) => decide(context, resultOf(event)).retry,
    // the result leaves the checker steady and a watch can run its next checks
    settles: ({ context, event }) => {
      if (!context.watch) return false;
      const d = decide(context, resultOf(event));
      return !d.retry && steady(d.health);
    },
    // a result counts while an attempt runs or a watch reports
    attempting: or([stateIn(PROBING), stateIn(WATCHING)]),
  },
  delays: {
    warmup: ({ context }) => Math.min(Math.max(context.warmupOffsetMs ?? 0, 0), context.warmupMs),
    delayLoop: ({ context }) => context.delayLoopMs,
    delayBeforeRetry: ({ context }) => context.delayBeforeRetryMs,
    probeTimeout: ({ context }) => context.probeTimeoutMs ?? context.connectTimeoutMs,
  },
}).createMachine({
  id: 'checker',
  context: ({ input }) => ({
    ...input,
    // check_data.c: an alpha checker starts failed; retry_it = retry so that the first failure decides
    health: { up: !input.alpha, hasRun: false, retryIt: input.retry, fails: 0, oks: 0, weight: NO_WEIGHT },
  }),
  initial: 'running',
  states: {
    running: {
      type: 'parallel',
      on: { stop: '#checker.stopped' },
      states: {
        health: {
          initial: 'init',
          states: {
            init: { always: [{ guard: 'alpha', target: 'down' }, { target: 'up' }] },
            // Order matters where the weight changes: coming up, the weight is set before the
            // state (check_misc.c: update_svr_wgt, then UP); going down, the state comes first
            // (the contribution is dropped silently, then DOWN), so a virtual server never counts
            // a dying server's weight.
            up: {
              on: {
                'check.result': [
                  { guard: and(['attempting', 'goesDown']), target: 'down', actions: ['announce', 'reweigh', 'apply'] },
                  { guard: 'attempting', actions: ['failedAttempt', 'reweigh', 'apply'] },
                ],
              },
            },
            down: {
              on: {
                'check.result': [
                  { guard: and(['attempting', 'goesUp']), target: 'up', actions: ['reweigh', 'announce', 'apply'] },
                  { guard: and(['attempting', 'confirmsDown']), actions: ['announce', 'reweigh', 'apply'] },
                  { guard: 'attempting', actions: ['reweigh', 'apply'] },
                ],
              },
            },
          },
        },
        schedule: {
          initial: 'warmup',
          states: {
            warmup: {
              always: { guard: 'noWarmup', target: 'tick' },
              after: { warmup: 'tick' },
            },
            // a check is due: keepalived skips it while the checker is disabled (ha_suspend)
            tick: { always: [{ guard: stateIn(PAUSED), target: 'waiting' }, { target: 'probing' }] },
            probing: {
              invoke: {
                src: 'probe',
                input: ({ context }): ProbeInput => ({ checker: context.id, attempt: attemptOf(context.health) }),
                // the probe itself broke (a bug in the wiring): a failed attempt
                onError: { actions: 'probeFailed' },
              },
              after: { probeTimeout: { actions: 'timedOut' } },
              on: {
                'check.result': [
                  { guard: 'retries', target: 'retrying' },
                  { guard: and(['settles', not(stateIn(PAUSED))]), target: 'watching' },
                  { target: 'waiting' },
                ],
              },
            },
            // steady: the watch makes the scheduled checks and reports only one that changes something
            watching: {
              invoke: {
                src: 'watch',
                input: ({ context }): WatchInput => ({ checker: context.id, expectOk: context.health.up, intervalMs: context.delayLoopMs }),
                onError: { target: 'waiting', actions: 'unwatchable' },
              },
              on: {
                'check.result': [
                  { guard: 'retries', target: 'retrying' },
                  // steady the other way (a DOWN server answered): a new watch expecting the new state
                  { guard: 'settles', target: 'watching', reenter: true },
                  { target: 'waiting' },
                ],
                'watch.unavailable': { target: 'waiting', actions: 'unwatchable' },
                // ha_suspend: back to the timer, which skips the checks while paused
                pause: 'waiting',
              },
            },
            retrying: { after: { delayBeforeRetry: 'tick' } },
            waiting: { after: { delayLoop: 'tick' } },
          },
        },
        activity: {
          initial: 'start',
          states: {
            start: { always: [{ guard: 'startPaused', target: 'paused' }, { target: 'active' }] },
            active: { on: { pause: { target: 'paused', actions: { type: 'activity', params: { active: false } } } } },
            paused: { on: { resume: { target: 'active', actions: { type: 'activity', params: { active: true } } } } },
          },
        },
      },
    },
    stopped: { type: 'final' },
  },
});
