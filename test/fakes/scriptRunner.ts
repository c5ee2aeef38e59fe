// A scripted stand-in for the runScript actor of machines/track-script.machine.ts: each invocation
// is a `FakeRun` the test ends by hand (`exit`), and which records `terminate` and being stopped.
import { fromCallback } from 'xstate';
import type { RunScriptCommand, RunScriptInput, ScriptExit, TrackScriptEvent } from '../../machines/track-script.machine.js';

export interface FakeRun {
  readonly input: RunScriptInput;
  terminated: boolean;
  stopped: boolean;
  exit(result: Partial<ScriptExit>): void;
}

export function fakeScriptRunner() {
  const runs: FakeRun[] = [];
  const logic = fromCallback<RunScriptCommand, RunScriptInput>(({ input, sendBack, receive }) => {
    const run: FakeRun = {
      input, terminated: false, stopped: false,
      exit: (r) => sendBack({
        type: 'script.exited', result: { exitCode: null, signal: null, ...r },
      } satisfies TrackScriptEvent),
    };
    runs.push(run);
    receive((e) => { if (e.type === 'terminate') run.terminated = true; });
    return () => { run.stopped = true; };
  });
  return {
    logic,
    runs,
    /** the run started last */
    get current(): FakeRun {
      const r = runs.at(-1);
      if (!r) throw new Error('no run started');
      return r;
    },
  };
}
