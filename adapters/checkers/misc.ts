// MISC_CHECK (keepalived/check/check_misc.c misc_check_child_thread): run `misc_path` with the
// script runner of adapters/exec (no shell, its own process group, killed on timeout: SIGTERM,
// then SIGKILL). The probe's timeoutMs is the script's limit: misc_timeout, else delay_loop
// (probeTimeoutMs). keepalived's rule for the exit status:
// - 0: up; with misc_dynamic its weight contribution is reset (add 0);
// - misc_dynamic and 2..255: up, the real server's weight set to status − 2;
// - anything else (1, or 2..255 without misc_dynamic), a signal, a timeout: down.
import type { ScriptRunner } from '../exec/script.js';
import type { MiscChecker } from '../config/model.js';
import { scoped, toResult, type Verdict } from './scope.js';
import type { ProbeOptions, ProbeResult } from './types.js';

export interface MiscOptions {
  readonly scripts: ScriptRunner;
  /** global_defs script_user, when misc_path has no user */
  readonly scriptUser?: { readonly user: string; readonly group?: string };
}

/** keepalived's verdict on an exit status; undefined weight: none set. */
export function miscVerdict(status: number, dynamic: boolean): { ok: boolean; weight?: { mode: 'set' | 'add'; value: number } } {
  if (status === 0) return dynamic ? { ok: true, weight: { mode: 'add', value: 0 } } : { ok: true };
  if (dynamic && status >= 2 && status <= 255) return { ok: true, weight: { mode: 'set', value: status - 2 } };
  return { ok: false };
}

export async function probeMisc(checker: MiscChecker, opts: ProbeOptions, misc: MiscOptions): Promise<ProbeResult> {
  return toResult(await scoped<Verdict>({ ...(opts.signal ? { signal: opts.signal } : {}), timeoutMs: 0 }, async (s) => {
    if (!checker.script) { s.fail('no misc_path'); return; }
    const user = checker.script.user !== undefined
      ? { user: checker.script.user, ...(checker.script.group ? { group: checker.script.group } : {}) }
      : misc.scriptUser;
    const ac = new AbortController();
    s.defer(() => ac.abort()); // an aborted probe terminates its script
    const r = await misc.scripts.run({
      argv: checker.script.argv,
      ...(user ? { user: user.user, ...(user.group ? { group: user.group } : {}) } : {}),
      ...(opts.timeoutMs > 0 ? { timeoutMs: opts.timeoutMs } : {}),
    }, ac.signal);
    if (r.timedOut) { s.fail(`timed out after ${opts.timeoutMs} ms`); return; }
    if (r.error) { s.fail(`cannot run ${checker.script.argv[0]}: ${r.error}`); return; }
    if (r.exitCode === null) { s.fail(`killed by ${r.signal ?? 'a signal'}`); return; }
    const v = miscVerdict(r.exitCode, checker.dynamic);
    if (!v.ok) { s.fail(`exit ${r.exitCode}`); return; }
    s.succeed({ detail: `exit ${r.exitCode}`, ...(v.weight ? { weight: v.weight } : {}) });
  }));
}
