// Properties: for any rise/fall/init_fail and any sequence of script outcomes (exit codes, signals,
// timeouts) and run durations, the tracker machine agrees with keepalived's counter after every
// result: same status, same counter, one track.state per update_script_priorities call; and runs
// are scheduled as keepalived's vrrp_script_thread schedules them.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { createActor, fromCallback, SimulatedClock } from 'xstate';
import {
  trackScript, type RunScriptCommand, type RunScriptInput, type ScriptExit, type TrackScriptEmitted,
} from '../../machines/track-script.machine.js';
import { fakeScriptRunner } from '../fakes/scriptRunner.js';
import { KeepalivedScript } from '../fixtures/keepalived-track-script.js';

const INTERVAL = 1000;
const TIMEOUT = 600;

type Outcome = { kind: 'exit'; code: number } | { kind: 'signal'; signal: string } | { kind: 'hang'; signal: 'SIGTERM' | 'SIGKILL' | 'exit0' };

const outcome: fc.Arbitrary<Outcome> = fc.oneof(
  fc.record({ kind: fc.constant('exit' as const), code: fc.oneof(fc.constant(0), fc.constant(0), fc.integer({ min: 1, max: 255 })) }),
  fc.record({ kind: fc.constant('signal' as const), signal: fc.constantFrom('SIGSEGV', 'SIGKILL', 'SIGTERM', 'SIGABRT') }),
  fc.record({ kind: fc.constant('hang' as const), signal: fc.constantFrom('SIGTERM' as const, 'SIGKILL' as const, 'exit0' as const) }),
);

/** Did keepalived see success? (hang = killed by us after the timeout, unless it trapped and exited 0) */
function success(o: Outcome): boolean {
  if (o.kind === 'exit') return o.code === 0;
  if (o.kind === 'hang') return o.signal === 'exit0';
  return false;
}

test('the machine follows keepalived\'s rise/fall counter for any result sequence', () => {
  fc.assert(fc.property(
    fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 6 }), fc.boolean(),
    fc.array(fc.tuple(outcome, fc.integer({ min: 0, max: TIMEOUT - 1 })), { maxLength: 40 }),
    (rise, fall, initFail, runs) => {
      const clock = new SimulatedClock();
      const fake = fakeScriptRunner();
      const emitted: TrackScriptEmitted[] = [];
      const actor = createActor(trackScript.provide({ actors: { runScript: fake.logic } }), {
        clock, input: { name: 'p', intervalMs: INTERVAL, timeoutMs: TIMEOUT, rise, fall, initFail, weight: 0, reverse: false },
      });
      actor.on('*', (e) => emitted.push(e));
      actor.start();
      const ref = new KeepalivedScript(rise, fall, initFail);
      let elapsed = 0; // since the current run started
      for (const [i, [o, duration]] of runs.entries()) {
        assert.equal(fake.runs.length, i + 1, 'one run per interval');
        const run = fake.current;
        let exit: Partial<ScriptExit>;
        if (o.kind === 'hang') {
          clock.increment(TIMEOUT);
          elapsed = TIMEOUT;
          assert.equal(run.terminated, true);
          exit = o.signal === 'exit0' ? { exitCode: 0 } : { signal: o.signal };
        } else {
          clock.increment(duration);
          elapsed = duration;
          assert.equal(run.terminated, false);
          exit = o.kind === 'exit' ? { exitCode: o.code } : { signal: o.signal };
        }
        run.exit(exit);
        ref.exit(success(o));
        const snap = actor.getSnapshot();
        assert.equal((snap.value as { status: string }).status, ref.status);
        assert.equal(snap.context.counter, ref.result);
        // the next run starts exactly one interval after this one started
        clock.increment(INTERVAL - elapsed);
      }
      const changes = emitted.filter((e) => e.type === 'track.state' && e.cause !== 'init_fail');
      assert.deepEqual(changes.map((e) => e.type === 'track.state' && e.state === 'ok'), ref.updates);
      assert.equal(emitted.filter((e) => e.type === 'track.result').length, runs.length);
      assert.equal(emitted.filter((e) => e.type === 'track.skipped').length, 0);
      actor.stop();
    },
  ), { numRuns: 300 });
});

test('runs start on every tick that finds the runner idle, and are terminated at start + timeout', () => {
  const I = 10;
  const TO = 6;
  type Op = { op: 'advance'; ms: number } | { op: 'exit'; ok: boolean };
  const op: fc.Arbitrary<Op> = fc.oneof(
    fc.record({ op: fc.constant('advance' as const), ms: fc.integer({ min: 1, max: 25 }) }),
    fc.record({ op: fc.constant('exit' as const), ok: fc.boolean() }),
  );
  fc.assert(fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
    const clock = new SimulatedClock();
    const starts: number[] = [];
    const terms: number[] = [];
    let exit: ((ok: boolean) => void) | null = null;
    const logic = fromCallback<RunScriptCommand, RunScriptInput>(({ sendBack, receive }) => {
      starts.push(clock.now());
      exit = (ok) => sendBack({ type: 'script.exited', result: { exitCode: ok ? 0 : 1, signal: null } });
      receive(() => terms.push(clock.now()));
    });
    const actor = createActor(trackScript.provide({ actors: { runScript: logic } }), {
      clock, input: { name: 'p', intervalMs: I, timeoutMs: TO, rise: 1, fall: 1, initFail: false, weight: 0, reverse: false },
    });
    actor.start();
    // the reference: keepalived's scheduler, one millisecond at a time
    let t = 0;
    let running: { start: number } | null = { start: 0 };
    const want = { starts: [0], terms: [] as number[] };
    for (const o of ops) {
      if (o.op === 'exit') {
        if (running) { exit!(o.ok); running = null; }
        continue;
      }
      for (let i = 0; i < o.ms; i++) {
        t++;
        clock.increment(1);
        if (running && t === running.start + TO) want.terms.push(t);
        if (t % I === 0 && !running) { running = { start: t }; want.starts.push(t); }
      }
    }
    assert.deepEqual({ starts, terms }, want);
    actor.stop();
  }), { numRuns: 300 });
});
