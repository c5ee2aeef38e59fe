// A vrrp_script tracker: runs the script every interval and turns its exits into OK/FAILED with
// keepalived's rise/fall counter. Pure: the script itself runs in the `runScript` actor that the
// wiring provides (adapters/exec/scriptActor.ts); the timers are named delays.
//
// keepalived (keepalived/vrrp/vrrp_scheduler.c vrrp_script_thread, vrrp_script_child_thread;
// vrrp_track.c update_script_priorities), which this follows exactly:
// - The first run starts at once (vrrp_init_script: thread_add_event), later runs every `interval`
//   measured from the previous *start*: the next tick is armed before the script is forked. A tick
//   that finds the script still running, or still being killed, is skipped ("Track script X is
//   already running, expect idle - skipping run").
// - `timeout` (default: interval) after the start the process group gets SIGTERM, then SIGKILL
//   (the adapter escalates). The result is taken when the process is reaped: death by our
//   SIGTERM/SIGKILL is "timed_out", a failure; a script that traps SIGTERM and exits 0 counts as
//   a success, as in keepalived.
// - Counter r in [0, rise+fall-1], OK ⇔ r ≥ rise (keepalived.md §3.7). Before the first result
//   r = rise-1, so the first result alone decides the state ("one success is enough", and the
//   first failure reports FAILED). `init_fail` starts at r = 0, already FAILED.
import { assign, emit, fromCallback, raise, sendTo, setup } from 'xstate';

export interface TrackScriptInput {
  readonly name: string;
  readonly intervalMs: number;
  /** keepalived: `timeout` 0 or absent means the interval */
  readonly timeoutMs?: number;
  readonly rise: number;
  readonly fall: number;
  readonly initFail: boolean;
  /**
   * vigil: the state this tracker last reported before a restart (from the journal). It starts
   * there with its counter saturated (`ok`: `fall` failures to go down) or reset (`failed`: `rise`
   * successes to come up), instead of keepalived's blind re-initialisation. Overrides init_fail.
   */
  readonly resume?: 'ok' | 'failed';
  /**
   * vigil: delay of the first run, so that many trackers do not all start (and fork) at the same
   * moment; their runs then stay spread over the interval. 0 or absent: at once, as keepalived.
   */
  readonly startDelayMs?: number;
  /** passed through in emitted events; the priority arithmetic is machines/priority.ts */
  readonly weight: number;
  readonly reverse: boolean;
}

/** How a run ended, as the runScript actor reports it (adapters/exec ScriptResult fits). */
export interface ScriptExit {
  readonly exitCode: number | null;
  readonly signal: string | null;
  readonly durationMs?: number;
  /** the script could not be started (spawn error, unknown user); exitCode is then 126/127 */
  readonly error?: string;
  readonly stdout?: string;
  readonly stderr?: string;
}

export type TrackStatus = 'init' | 'ok' | 'failed';

export type TrackScriptEvent =
  /** from the runScript actor: the script's process was reaped */
  | { type: 'script.exited'; result: ScriptExit }
  /** internal (raised): one classified result, fed to the counter */
  | { type: 'script.result'; ok: boolean; cause: string; result: ScriptExit | null }
  /** internal (raised): the interval elapsed */
  | { type: 'tick' };

/** What the machine sends to its runScript child. */
export type RunScriptCommand = { type: 'terminate' };
export interface RunScriptInput { readonly name: string }

export type TrackScriptEmitted =
  | {
      type: 'track.state'; tracker: string; kind: 'script'; state: 'ok' | 'failed'; previous: TrackStatus;
      cause: string; consecutive: number; weight: number; reverse: boolean;
    }
  | {
      type: 'track.result'; tracker: string; kind: 'script'; ok: boolean; cause: string; status: TrackStatus;
      /** keepalived's `result` counter after this run */
      counter: number; consecutive: number; exitCode: number | null; signal: string | null;
      durationMs: number | null; stdout: string; stderr: string; weight: number; reverse: boolean;
    }
  | { type: 'track.skipped'; tracker: string; kind: 'script'; reason: 'running' | 'terminating' };

interface Result { readonly ok: boolean; readonly cause: string; readonly result: ScriptExit | null }

interface Context extends TrackScriptInput {
  /** keepalived's vscript->result */
  counter: number;
  /** results in a row with the same outcome as the last one */
  consecutive: number;
  /** the last verdict (output stays out of the context, so snapshots stay small) */
  last: { ok: boolean; cause: string } | null;
}

/** Death by the signals we send on timeout is a timeout; anything else is the script's verdict. */
function classify(result: ScriptExit, terminating: boolean): Result {
  return { ...verdict(result, terminating), result };
}
function verdict(result: ScriptExit, terminating: boolean): { ok: boolean; cause: string } {
  if (result.exitCode !== null) return { ok: result.exitCode === 0, cause: `exit ${result.exitCode}` };
  if (terminating && (result.signal === 'SIGTERM' || result.signal === 'SIGKILL')) return { ok: false, cause: 'timeout' };
  if (result.signal !== null) return { ok: false, cause: `signal ${result.signal}` };
  return { ok: false, cause: result.error ? `error ${result.error}` : 'unknown' };
}

const max = (c: Context) => c.rise + c.fall - 1;

const errorText = (e: unknown) => (e instanceof Error ? e.message : String(e));

export const trackScript = setup({
  types: {
    input: {} as TrackScriptInput,
    context: {} as Context,
    events: {} as TrackScriptEvent,
    emitted: {} as TrackScriptEmitted,
  },
  actors: {
    // Provided by the wiring (adapters/exec/scriptActor.ts). It starts the script when invoked,
    // sends back `script.exited` once the process is reaped, kills the process group on
    // `terminate`, and kills it when stopped. The default never answers.
    runScript: fromCallback<RunScriptCommand, RunScriptInput>(() => {}),
  },
  actions: {
    record: assign(({ context, event }) => {
      if (event.type !== 'script.result') return {};
      const { ok, cause } = event;
      return { consecutive: context.last?.ok === ok ? context.consecutive + 1 : 1, last: { ok, cause } };
    }),
    countUp: assign({ counter: ({ context }) => context.counter + 1 }),
    countDown: assign({ counter: ({ context }) => context.counter - 1 }),
    saturate: assign({ counter: ({ context }) => max(context) }),
    reset: assign({ counter: 0 }),
    result: raise((_, params: Result) => ({ type: 'script.result' as const, ...params })),
    terminate: sendTo('script', { type: 'terminate' } satisfies RunScriptCommand),
    announce: emit(({ context }, params: { state: 'ok' | 'failed'; previous: TrackStatus }) => ({
      type: 'track.state' as const, tracker: context.name, kind: 'script' as const, ...params,
      cause: context.last?.cause ?? 'init_fail', consecutive: context.consecutive,
      weight: context.weight, reverse: context.reverse,
    })),
    report: emit(({ context, event }, params: { status: TrackStatus }) => {
      const r = event.type === 'script.result' ? event.result : null;
      return {
        type: 'track.result' as const, tracker: context.name, kind: 'script' as const,
        ok: context.last?.ok ?? false, cause: context.last?.cause ?? '', status: params.status,
        counter: context.counter, consecutive: context.consecutive,
        exitCode: r?.exitCode ?? null, signal: r?.signal ?? null, durationMs: r?.durationMs ?? null,
        stdout: r?.stdout ?? '', stderr: r?.stderr ?? '', weight: context.weight, reverse: context.reverse,
      };
    }),
    skipped: emit(({ context }, params: { reason: 'running' | 'terminating' }) => ({
      type: 'track.skipped' as const, tracker: context.name, kind: 'script' as const, reason: params.reason,
    })),
  },
  guards: {
    initFail: ({ context }) => context.initFail,
    resumeOk: ({ context }) => context.resume === 'ok',
    noStartDelay: ({ context }) => !context.startDelayMs,
    resumeFailed: ({ context }) => context.resume === 'failed',
    succeeded: ({ event }) => event.type === 'script.result' && event.ok,
    // success while r < rise-1: still climbing (keepalived: result++)
    climbing: ({ context, event }) => event.type === 'script.result' && event.ok && context.counter < context.rise - 1,
    // failure while r > rise: still OK, one failure closer (keepalived: result--)
    decaying: ({ context, event }) => event.type === 'script.result' && !event.ok && context.counter > context.rise,
  },
  delays: {
    interval: ({ context }) => context.intervalMs,
    startDelay: ({ context }) => context.startDelayMs ?? 0,
    timeout: ({ context }) => context.timeoutMs || context.intervalMs,
  },
}).createMachine({
  id: 'trackScript',
  context: ({ input }) => ({
    ...input,
    // vrrp_init_script: rise-1 "one success is enough"; init_fail: 0 "assume failed by config"
    counter: input.resume === 'ok' ? input.rise + input.fall - 1 : input.resume === 'failed' || input.initFail ? 0 : input.rise - 1,
    consecutive: 0,
    last: input.resume ? { ok: input.resume === 'ok', cause: 'resumed' } : null,
  }),
  type: 'parallel',
  states: {
    status: {
      initial: 'init',
      states: {
        init: {
          always: [
            { guard: 'resumeOk', target: 'ok', actions: { type: 'announce', params: { state: 'ok', previous: 'init' } } },
            { guard: 'resumeFailed', target: 'failed', actions: { type: 'announce', params: { state: 'failed', previous: 'init' } } },
            { guard: 'initFail', target: 'failed', actions: { type: 'announce', params: { state: 'failed', previous: 'init' } } },
          ],
          on: {
            'script.result': [
              { guard: 'succeeded', target: 'ok', actions: ['record', 'saturate',
                { type: 'announce', params: { state: 'ok', previous: 'init' } }, { type: 'report', params: { status: 'ok' } }] },
              { target: 'failed', actions: ['record', 'reset',
                { type: 'announce', params: { state: 'failed', previous: 'init' } }, { type: 'report', params: { status: 'failed' } }] },
            ],
          },
        },
        ok: {
          on: {
            'script.result': [
              { guard: 'succeeded', actions: ['record', 'saturate', { type: 'report', params: { status: 'ok' } }] },
              { guard: 'decaying', actions: ['record', 'countDown', { type: 'report', params: { status: 'ok' } }] },
              { target: 'failed', actions: ['record', 'reset',
                { type: 'announce', params: { state: 'failed', previous: 'ok' } }, { type: 'report', params: { status: 'failed' } }] },
            ],
          },
        },
        failed: {
          on: {
            'script.result': [
              { guard: 'climbing', actions: ['record', 'countUp', { type: 'report', params: { status: 'failed' } }] },
              { guard: 'succeeded', target: 'ok', actions: ['record', 'saturate',
                { type: 'announce', params: { state: 'ok', previous: 'failed' } }, { type: 'report', params: { status: 'ok' } }] },
              // a failure while FAILED (also right after init_fail) changes nothing but the count
              { actions: ['record', 'reset', { type: 'report', params: { status: 'failed' } }] },
            ],
          },
        },
      },
    },
    runner: {
      initial: 'idle',
      states: {
        idle: { on: { tick: 'busy' } },
        busy: {
          invoke: {
            id: 'script',
            src: 'runScript',
            input: ({ context }): RunScriptInput => ({ name: context.name }),
            // the actor itself broke (a bug in the wiring): count it as a failed run
            onError: {
              target: 'idle',
              actions: { type: 'result', params: ({ event }) => ({ ok: false, cause: `error ${errorText(event.error)}`, result: null }) },
            },
          },
          initial: 'running',
          states: {
            running: {
              after: { timeout: 'terminating' },
              on: {
                'script.exited': {
                  target: '#trackScript.runner.idle',
                  actions: { type: 'result', params: ({ event }) => classify(event.result, false) },
                },
                tick: { actions: { type: 'skipped', params: { reason: 'running' } } },
              },
            },
            terminating: {
              entry: 'terminate',
              on: {
                'script.exited': {
                  target: '#trackScript.runner.idle',
                  actions: { type: 'result', params: ({ event }) => classify(event.result, true) },
                },
                tick: { actions: { type: 'skipped', params: { reason: 'terminating' } } },
              },
            },
          },
        },
      },
    },
    timer: {
      initial: 'starting',
      states: {
        starting: {
          always: { guard: 'noStartDelay', target: 'armed' },
          after: { startDelay: 'armed' },
        },
        // entered after the start delay (none by default: the first run is immediate) and again every interval
        armed: { entry: raise({ type: 'tick' }), after: { interval: { target: 'armed', reenter: true } } },
      },
    },
  },
});
