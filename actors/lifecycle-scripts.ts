// global_defs startup_script and shutdown_script (keepalived's main.c): the startup script runs
// before any instance starts and vigil waits for it, up to startup_script_timeout (default 10 s),
// then starts whatever it returned; the shutdown script runs once every instance and checker has
// stopped, and vigil exits when it is done or after shutdown_script_timeout. A script that outlives
// its timeout is terminated (SIGTERM to its process group, SIGKILL if it lingers), as keepalived does.
import type { Logger } from 'pino';
import type { GlobalDefs } from '../adapters/config/model.js';
import type { ScriptRunner } from '../adapters/exec/script.js';

export type LifecycleScript = 'startup' | 'shutdown';

/** Run global_defs' startup_script or shutdown_script, if any; never throws. */
export async function runLifecycleScript(which: LifecycleScript, g: GlobalDefs, runner: ScriptRunner, log: Pick<Logger, 'info' | 'warn'>, signal?: AbortSignal): Promise<void> {
  const spec = which === 'startup' ? g.startupScript : g.shutdownScript;
  if (!spec) return;
  const timeoutS = (which === 'startup' ? g.startupScriptTimeoutS : g.shutdownScriptTimeoutS) ?? 10;
  const user = spec.user !== undefined ? { user: spec.user, group: spec.group } : g.scriptUser;
  log.info(`Running ${which} script ${spec.command}`);
  try {
    const r = await runner.run({
      argv: spec.argv,
      ...(user?.user ? { user: user.user } : {}),
      ...(user?.group ? { group: user.group } : {}),
      timeoutMs: timeoutS * 1000,
    }, signal);
    const how = r.timedOut
      ? `timed out after ${timeoutS} s (${which}_script_timeout) and was terminated`
      : r.error ? `did not run: ${r.error}` : r.exitCode === null ? `was killed by ${r.signal}` : r.exitCode !== 0 ? `failed, status ${r.exitCode}` : undefined;
    const fields = { script: spec.command, exitCode: r.exitCode, signal: r.signal, timedOut: r.timedOut, durationMs: Math.round(r.durationMs), ...(r.stderr ? { stderr: r.stderr.slice(0, 512) } : {}) };
    if (how) log.warn(fields, `${which} script ${how}`);
    else log.info(fields, `${which} script succeeded`);
  } catch (err) {
    log.warn({ err }, `${which} script: ${(err as Error).message}`);
  }
}
