// A ScriptRunner (adapters/exec) whose runs the test ends by hand, or at once with `autoExit`.
// `run` goes through the real superviseRun, so timeouts terminate the fake run as they would a
// process (its result then says SIGTERM).
import { superviseRun, type ScriptResult, type ScriptRun, type ScriptRunner, type ScriptSpec } from '../../adapters/exec/script.js';

export interface FakeScript {
  readonly spec: ScriptSpec;
  terminated: boolean;
  exited: boolean;
  exit(r?: Partial<ScriptResult>): void;
}

export function fakeRunner(opts: { autoExit?: Partial<ScriptResult> } = {}) {
  const runs: FakeScript[] = [];
  let killAlls = 0;
  const result = (r: Partial<ScriptResult>): ScriptResult => ({
    exitCode: 0, signal: null, timedOut: false, stdout: '', stderr: '', truncated: false, durationMs: 1, pid: 4242, ...r,
  });
  const start = (spec: ScriptSpec): ScriptRun => {
    let resolve: (r: ScriptResult) => void = () => {};
    const p = new Promise<ScriptResult>((r) => (resolve = r));
    const run: FakeScript = {
      spec, terminated: false, exited: false,
      exit: (r = {}) => {
        if (run.exited) return;
        run.exited = true;
        resolve(result(r));
      },
    };
    runs.push(run);
    if (opts.autoExit) run.exit(opts.autoExit);
    return {
      result: p,
      terminate: () => {
        run.terminated = true;
        run.exit({ exitCode: null, signal: 'SIGTERM' });
      },
    };
  };
  const runner: ScriptRunner = {
    start,
    run: (spec, signal) => superviseRun(start(spec), spec, signal),
    killAll: () => {
      killAlls++;
      for (const r of runs) if (!r.exited) { r.terminated = true; r.exit({ exitCode: null, signal: 'SIGTERM' }); }
    },
  };
  return { runner, runs, killAlls: () => killAlls };
}
