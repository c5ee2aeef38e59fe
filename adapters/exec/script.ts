// Running track/notify scripts the way keepalived does (keepalived/core/notify.c
// system_call_script, keepalived/vrrp/vrrp_scheduler.c vrrp_script_child_thread):
// - no shell: argv is exec'd directly (PATH search for a bare name). The one exception is
//   keepalived's SC_SYSTEM case, a first word `</path...` (a redirection that tests a file), run
//   as `/bin/sh -c` with the other words single-quoted. A script without `#!` is run by /bin/sh
//   too: libuv's exec falls back to the shell on ENOEXEC, as keepalived does when libmagic says it
//   is not an executable.
// - its own process group (`detached`: setsid, keepalived: setpgid(0, 0)), so a kill reaches
//   everything the script started. Terminating sends SIGTERM to the group, SIGKILL after 2 s, and
//   SIGKILL again every 10 s while it survives; once the leader is reaped after a terminate, the
//   group gets a final SIGKILL so nothing it left behind lives on.
// - the result is the leader's exit, not the closing of its pipes (a backgrounded grandchild may
//   hold them open for ever); output is captured up to a cap and the rest is drained and dropped
//   (keepalived sends it to /dev/null, so a script never sees EPIPE).
// - environment: ours plus `env`, minus IFS, LD_PRELOAD and LD_LIBRARY_PATH (keepalived unsets
//   them before exec).
// Differences: keepalived also sets PR_SET_PDEATHSIG (the script gets SIGTERM if keepalived dies)
// and the user's supplementary groups on request; Node's spawn can do neither, so the daemon calls
// `killAll()` on its way out. A script that cannot be exec'd is an exit 127 (ENOENT) or 126
// (other errors) with `error` set; keepalived's child would exit 0, but keepalived never gets there
// because it disables missing or non-executable scripts when it loads the config.
import { spawn, type ChildProcess } from 'node:child_process';
import { UserResolver } from './users.js';

export interface ScriptSpec {
  readonly argv: readonly string[];
  readonly user?: string;
  /** a group name; `:NAME` as in keepalived's `user USER :GROUP` */
  readonly group?: string;
  /** `run` only: terminate this long after the start; 0 or absent: no limit */
  readonly timeoutMs?: number;
  readonly env?: Readonly<Record<string, string>>;
  readonly cwd?: string;
}

export interface ScriptResult {
  /** the leader's exit code, or 127/126 when it could not be started; null when killed by a signal */
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
  /** `run` killed it because `timeoutMs` passed */
  readonly timedOut: boolean;
  readonly stdout: string;
  readonly stderr: string;
  /** stdout or stderr was longer than the cap */
  readonly truncated: boolean;
  readonly durationMs: number;
  readonly pid: number | null;
  /** why it did not start */
  readonly error?: string;
  /** something the caller asked for that was not done (supplementary groups) */
  readonly note?: string;
}

export interface ScriptRun {
  readonly result: Promise<ScriptResult>;
  /** the leader's pid (= its process group) once spawned; null when it could not be spawned */
  readonly spawned?: Promise<number | null>;
  /** SIGTERM the process group, then SIGKILL; idempotent, a no-op once the leader has exited */
  terminate(): void;
}

export interface ScriptRunnerOptions {
  /** bytes kept per stream (default 4096) */
  readonly outputCap?: number;
  /** SIGTERM → SIGKILL (default 2000, keepalived's 2 s) */
  readonly killGraceMs?: number;
  /** SIGKILL repeated while the group survives (default 10000) */
  readonly reKillMs?: number;
  /** after the leader exits, how long to wait for its pipes to deliver the rest (default 50) */
  readonly closeGraceMs?: number;
  readonly users?: UserResolver;
  readonly shell?: string;
}

export interface ScriptRunner {
  start(spec: ScriptSpec): ScriptRun;
  run(spec: ScriptSpec, signal?: AbortSignal): Promise<ScriptResult>;
  /** terminate every script still running (daemon shutdown) */
  killAll(): void;
}

const DROPPED_ENV = ['IFS', 'LD_PRELOAD', 'LD_LIBRARY_PATH'];

/** keepalived's SC_SYSTEM test: the first word is `<`, optional blanks, then `/`. */
export function needsShell(argv: readonly string[]): boolean {
  return /^<[ \t]*\//.test(argv[0] ?? '');
}

/** keepalived's cmd_str: words single-quoted (`'` as `'\''`), a leading `<`/`>` word left bare. */
export function shellCommand(argv: readonly string[]): string {
  return argv.map((a, i) => (i === 0 && /^[<>]/.test(a) ? a : `'${a.replaceAll("'", "'\\''")}'`)).join(' ');
}

export function createScriptRunner(opts: ScriptRunnerOptions = {}): ScriptRunner {
  const cap = opts.outputCap ?? 4096;
  const killGraceMs = opts.killGraceMs ?? 2000;
  const reKillMs = opts.reKillMs ?? 10_000;
  const closeGraceMs = opts.closeGraceMs ?? 50;
  const users = opts.users ?? new UserResolver();
  const shell = opts.shell ?? '/bin/sh';
  const live = new Set<ScriptRun>();

  function start(spec: ScriptSpec): ScriptRun {
    let child: ChildProcess | undefined;
    let setSpawned: (pid: number | null) => void = () => {};
    const spawned = new Promise<number | null>((resolve) => (setSpawned = resolve));
    let exited = false;
    let terminateRequested = false;
    const timers: NodeJS.Timeout[] = [];
    const killGroup = (sig: NodeJS.Signals) => {
      if (child?.pid === undefined) return;
      try { process.kill(-child.pid, sig); } catch { /* ESRCH: the group is gone */ }
    };
    const terminate = () => {
      if (terminateRequested || exited) return;
      terminateRequested = true;
      if (!child) return; // still resolving the user: it will not be spawned
      killGroup('SIGTERM');
      timers.push(setTimeout(() => {
        killGroup('SIGKILL');
        timers.push(setInterval(() => killGroup('SIGKILL'), reKillMs));
      }, killGraceMs));
    };

    const result = (async (): Promise<ScriptResult> => {
      const failed = (exitCode: number | null, error: string): ScriptResult => ({
        exitCode, signal: null, timedOut: false, stdout: '', stderr: '', truncated: false, durationMs: 0, pid: null, error,
      });
      if (spec.argv.length === 0 || !spec.argv[0]) return failed(127, 'empty command');
      let ids: { uid: number; gid: number } | undefined;
      let note: string | undefined;
      if (spec.user !== undefined) {
        const r = await users.resolve(spec.user, spec.group);
        if (!r.ok) return failed(null, r.error);
        ids = { uid: r.uid, gid: r.gid };
        note = r.note;
      }
      if (terminateRequested) return failed(null, 'terminated before it started');

      const env: Record<string, string | undefined> = { ...process.env, ...spec.env };
      for (const k of DROPPED_ENV) delete env[k];
      const [file, ...args] = needsShell(spec.argv) ? [shell, '-c', shellCommand(spec.argv)] : spec.argv;
      const t0 = performance.now();
      return new Promise<ScriptResult>((resolve) => {
        const out = capture(cap);
        const err = capture(cap);
        let done = false;
        const finish = (r: Omit<ScriptResult, 'stdout' | 'stderr' | 'truncated' | 'timedOut'>) => {
          if (done) return;
          done = true;
          for (const t of timers) clearTimeout(t);
          // keep draining (and dropping) what a lingering grandchild writes, without holding the loop
          for (const s of [child?.stdout, child?.stderr]) {
            const sock = s as (NodeJS.ReadableStream & { unref?: () => void }) | null | undefined;
            sock?.unref?.();
          }
          resolve({
            ...r, timedOut: false, stdout: out.text(), stderr: err.text(), truncated: out.truncated || err.truncated,
            ...(note ? { note } : {}),
          });
        };
        try {
          child = spawn(file as string, args, {
            detached: true, stdio: ['ignore', 'pipe', 'pipe'], env, ...(spec.cwd ? { cwd: spec.cwd } : {}), ...ids,
          });
        } catch (e) {
          finish({ ...spawnFailure(e), signal: null, durationMs: 0, pid: null });
          return;
        }
        setSpawned(child.pid ?? null);
        child.stdout?.on('data', out.push);
        child.stderr?.on('data', err.push);
        child.stdout?.on('error', () => {});
        child.stderr?.on('error', () => {});
        child.on('error', (e) => {
          // only spawn failures reach here: we signal through process.kill, not child.kill
          if (child?.pid === undefined) finish({ ...spawnFailure(e), signal: null, durationMs: performance.now() - t0, pid: null });
        });
        child.on('exit', (code, signal) => {
          exited = true;
          const r = { exitCode: code, signal, durationMs: performance.now() - t0, pid: child?.pid ?? null };
          // vrrp_script_child_thread: after our SIGTERM, make sure its children die too
          if (terminateRequested) killGroup('SIGKILL');
          for (const t of timers) clearTimeout(t);
          child?.on('close', () => finish(r));
          timers.push(setTimeout(() => finish(r), closeGraceMs));
        });
      });
    })();

    void result.then(() => setSpawned(null)); // never spawned: settle it too (a no-op once set)
    const run: ScriptRun = { result, terminate, spawned };
    live.add(run);
    void result.then(() => live.delete(run));
    return run;
  }

  const run = (spec: ScriptSpec, signal?: AbortSignal) => superviseRun(start(spec), spec, signal);
  return { start, run, killAll: () => { for (const r of live) r.terminate(); } };
}

/** `run` for any `start`: terminate on `spec.timeoutMs` (then `timedOut` is set) or on abort. */
export async function superviseRun(r: ScriptRun, spec: ScriptSpec, signal?: AbortSignal): Promise<ScriptResult> {
  let timedOut = false;
  const timer = spec.timeoutMs ? setTimeout(() => { timedOut = true; r.terminate(); }, spec.timeoutMs) : undefined;
  const onAbort = () => r.terminate();
  if (signal?.aborted) r.terminate();
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const res = await r.result;
    return timedOut ? { ...res, timedOut } : res;
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener('abort', onAbort);
  }
}

function spawnFailure(e: unknown): { exitCode: number; error: string } {
  const err = e as NodeJS.ErrnoException;
  // the shell's convention: 127 not found, 126 found but not executable (or not allowed)
  return { exitCode: err.code === 'ENOENT' ? 127 : 126, error: err.message ?? String(e) };
}

/** Keeps the first `cap` bytes; counts, but drops, the rest. */
function capture(cap: number) {
  const chunks: Buffer[] = [];
  let kept = 0;
  let truncated = false;
  return {
    push: (b: Buffer) => {
      if (kept >= cap) { truncated = true; return; }
      const part = b.length > cap - kept ? b.subarray(0, cap - kept) : b;
      if (part.length < b.length) truncated = true;
      chunks.push(Buffer.from(part));
      kept += part.length;
    },
    text: () => Buffer.concat(chunks).toString('utf8'),
    get truncated() { return truncated; },
  };
}

const defaultRunner = createScriptRunner();

/** Run one script with the process-wide default runner (its own group, killed on timeout/abort). */
export function runScript(spec: ScriptSpec, signal?: AbortSignal): Promise<ScriptResult> {
  return defaultRunner.run(spec, signal);
}
