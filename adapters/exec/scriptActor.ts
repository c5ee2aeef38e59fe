// The runScript actor of machines/track-script.machine.ts, backed by a ScriptRunner:
//   trackScript.provide({ actors: { runScript: runScriptActor(runner, { argv, user, group }) } })
// It starts the script when invoked, sends back `script.exited` when the leader is reaped, kills the
// process group on `terminate` (the machine owns the timeout) and when the tracker is stopped.
import { fromCallback } from 'xstate';
import type { RunScriptCommand, RunScriptInput, TrackScriptEvent } from '../../machines/track-script.machine.js';
import type { ScriptRunner, ScriptSpec } from './script.js';

export function runScriptActor(runner: Pick<ScriptRunner, 'start'>, spec: Omit<ScriptSpec, 'timeoutMs'>) {
  return fromCallback<RunScriptCommand, RunScriptInput>(({ sendBack, receive }) => {
    const run = runner.start(spec);
    let settled = false;
    void run.result.then((result) => {
      if (settled) return;
      settled = true;
      sendBack({ type: 'script.exited', result } satisfies TrackScriptEvent);
    });
    receive((e) => { if (e.type === 'terminate') run.terminate(); });
    return () => {
      if (settled) return;
      settled = true;
      run.terminate();
    };
  });
}
