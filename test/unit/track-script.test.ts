// machines/track-script.machine.ts with SimulatedClock and a hand-driven fake runScript actor.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createActor, fromCallback, SimulatedClock } from 'xstate';
import {
  trackScript, type ScriptExit, type TrackScriptEmitted, type TrackScriptInput,
} from '../../machines/track-script.machine.js';
import { fakeScriptRunner } from '../fakes/scriptRunner.js';
import { KeepalivedScript } from '../fixtures/keepalived-track-script.js';

const BASE: TrackScriptInput = {
  name: 'chk', intervalMs: 1000, timeoutMs: 500, rise: 1, fall: 1, initFail: false, weight: 0, reverse: false,
};

function start(input: Partial<TrackScriptInput> = {}) {
  const clock = new SimulatedClock();
  const fake = fakeScriptRunner();
  const emitted: TrackScriptEmitted[] = [];
  const errors: unknown[] = [];
  const actor = createActor(trackScript.provide({ actors: { runScript: fake.logic } }), {
    clock, input: { ...BASE, ...input },
  });
  actor.on('*', (e) => emitted.push(e));
  actor.subscribe({ error: (e) => errors.push(e) });
  actor.start();
  const status = () => (actor.getSnapshot().value as { status: string }).status;
  const runner = () => JSON.stringify((actor.getSnapshot().value as { runner: unknown }).runner);
  const states = () => emitted.filter((e) => e.type === 'track.state');
  return { clock, fake, emitted, errors, actor, status, runner, states };
}

const OK: Partial<ScriptExit> = { exitCode: 0 };
const FAIL: Partial<ScriptExit> = { exitCode: 1 };

/** Feed a sequence of results, one per interval ('S' success, 'F' exit 1), and give the status after each. */
function drive(t: ReturnType<typeof start>, seq: string): string[] {
  const out: string[] = [];
  [...seq.replace(/\s/g, '')].forEach((c, i) => {
    if (i > 0) t.clock.increment(BASE.intervalMs);
    t.fake.current.exit(c === 'S' ? OK : FAIL);
    out.push(t.status());
  });
  return out;
}

describe('rise/fall counter (keepalived.md §3.7)', () => {
  // expected: status after each result, i = init, o = ok, f = failed
  const table: { rise: number; fall: number; initFail?: boolean; seq: string; expect: string }[] = [
    { rise: 1, fall: 1, seq: 'S F S F', expect: 'ofof' },
    { rise: 1, fall: 1, seq: 'F F S', expect: 'ffo' },
    // the first result decides alone, whatever rise is
    { rise: 3, fall: 1, seq: 'S', expect: 'o' },
    { rise: 3, fall: 1, seq: 'F S S S', expect: 'fffo' },
    // fall 3: two failures keep it OK, the third brings it down
    { rise: 2, fall: 3, seq: 'S F F F', expect: 'ooof' },
    // one success while OK re-arms the whole fall count
    { rise: 2, fall: 3, seq: 'S F F S F F F', expect: 'oooooof' },
    // rise 2 from FAILED: two successes in a row; a failure in between restarts the climb
    { rise: 2, fall: 1, seq: 'F S F S S', expect: 'ffffo' },
    { rise: 4, fall: 2, seq: 'F S S S S F F', expect: 'ffffoof' },
    // init_fail: starts FAILED, failures change nothing, rise successes bring it up
    { rise: 1, fall: 1, initFail: true, seq: 'F S', expect: 'fo' },
    { rise: 3, fall: 1, initFail: true, seq: 'S S S', expect: 'ffo' },
  ];
  for (const row of table) {
    test(`rise ${row.rise} fall ${row.fall}${row.initFail ? ' init_fail' : ''}: ${row.seq}`, () => {
      const t = start({ rise: row.rise, fall: row.fall, initFail: row.initFail ?? false });
      const got = drive(t, row.seq).map((s) => s[0]).join('');
      assert.equal(got, row.expect);
      // the same sequence through the transcription of keepalived's C
      const ref = new KeepalivedScript(row.rise, row.fall, row.initFail ?? false);
      const refStates = [...row.seq.replace(/\s/g, '')].map((c) => { ref.exit(c === 'S'); return ref.status[0]; });
      assert.equal(refStates.join(''), row.expect);
      assert.equal(t.actor.getSnapshot().context.counter, ref.result);
      // one track.state per change, and none otherwise
      const changes = t.states().filter((e) => e.type === 'track.state' && e.cause !== 'init_fail');
      assert.deepEqual(changes.map((e) => e.type === 'track.state' && e.state === 'ok'), ref.updates);
      assert.deepEqual(t.errors, []);
    });
  }
});

test('not yet reported: status init, nothing emitted until the first result', () => {
  const t = start({ rise: 2, fall: 2 });
  assert.equal(t.status(), 'init');
  assert.equal(t.fake.runs.length, 1, 'the first run starts at once');
  assert.deepEqual(t.emitted, []);
  t.fake.current.exit(FAIL);
  assert.deepEqual(t.states(), [{
    type: 'track.state', tracker: 'chk', kind: 'script', state: 'failed', previous: 'init', cause: 'exit 1',
    consecutive: 1, weight: 0, reverse: false,
  }]);
});

test('init_fail announces FAILED at start', () => {
  const t = start({ initFail: true, weight: -10, reverse: true });
  assert.equal(t.status(), 'failed');
  assert.deepEqual(t.states(), [{
    type: 'track.state', tracker: 'chk', kind: 'script', state: 'failed', previous: 'init', cause: 'init_fail',
    consecutive: 0, weight: -10, reverse: true,
  }]);
  t.fake.current.exit(FAIL);
  assert.equal(t.states().length, 1, 'a failure while FAILED is not a change');
});

test('every run emits track.result with the counter, output and weight/reverse', () => {
  const t = start({ rise: 2, fall: 2, weight: 5, reverse: true });
  t.fake.current.exit({ exitCode: 0, stdout: 'fine\n', durationMs: 12 });
  t.clock.increment(1000);
  t.fake.current.exit({ exitCode: 2, stderr: 'bad' });
  const results = t.emitted.filter((e) => e.type === 'track.result');
  assert.deepEqual(results, [
    { type: 'track.result', tracker: 'chk', kind: 'script', ok: true, cause: 'exit 0', status: 'ok', counter: 3,
      consecutive: 1, exitCode: 0, signal: null, durationMs: 12, stdout: 'fine\n', stderr: '', weight: 5, reverse: true },
    { type: 'track.result', tracker: 'chk', kind: 'script', ok: false, cause: 'exit 2', status: 'ok', counter: 2,
      consecutive: 1, exitCode: 2, signal: null, durationMs: null, stdout: '', stderr: 'bad', weight: 5, reverse: true },
  ]);
  const state = t.states()[0];
  assert.ok(state?.type === 'track.state' && state.weight === 5 && state.reverse === true);
});

test('consecutive counts results in a row with the same outcome', () => {
  const t = start({ rise: 1, fall: 3 });
  drive(t, 'S S F F F');
  const last = t.states().at(-1);
  assert.ok(last?.type === 'track.state');
  assert.equal(last.state, 'failed');
  assert.equal(last.consecutive, 3);
});

describe('scheduling (vrrp_script_thread)', () => {
  test('interval is measured start to start, not from the end of the run', () => {
    const t = start({ intervalMs: 1000, timeoutMs: 900 });
    t.clock.increment(400);
    t.fake.current.exit(OK);
    t.clock.increment(599);
    assert.equal(t.fake.runs.length, 1);
    t.clock.increment(1);
    assert.equal(t.fake.runs.length, 2, 'second run at t=1000');
  });

  test('a tick while the script still runs is skipped, not queued', () => {
    const t = start({ intervalMs: 1000, timeoutMs: 5000 });
    t.clock.increment(1000);
    t.clock.increment(1000);
    assert.equal(t.fake.runs.length, 1);
    assert.deepEqual(t.emitted.filter((e) => e.type === 'track.skipped').map((e) => e.type === 'track.skipped' && e.reason),
      ['running', 'running']);
    t.fake.current.exit(OK);
    t.clock.increment(999);
    assert.equal(t.fake.runs.length, 1, 'nothing runs before the next tick');
    t.clock.increment(1);
    assert.equal(t.fake.runs.length, 2);
  });
});

describe('timeout', () => {
  test('terminates at timeoutMs; death by our signal is a failure "timeout"', () => {
    const t = start({ rise: 1, fall: 1, intervalMs: 1000, timeoutMs: 300 });
    t.clock.increment(299);
    assert.equal(t.fake.current.terminated, false);
    t.clock.increment(1);
    assert.equal(t.fake.current.terminated, true);
    assert.equal(t.runner(), JSON.stringify({ busy: 'terminating' }));
    t.fake.current.exit({ signal: 'SIGTERM' });
    assert.equal(t.status(), 'failed');
    const s = t.states().at(-1);
    assert.ok(s?.type === 'track.state' && s.cause === 'timeout');
  });

  test('SIGKILL after a refused SIGTERM is also "timeout"; ticks meanwhile are skipped', () => {
    const t = start({ intervalMs: 1000, timeoutMs: 300 });
    t.clock.increment(300);
    t.clock.increment(700);
    assert.equal(t.fake.runs.length, 1);
    const skipped = t.emitted.find((e) => e.type === 'track.skipped');
    assert.ok(skipped?.type === 'track.skipped' && skipped.reason === 'terminating');
    t.fake.current.exit({ signal: 'SIGKILL' });
    assert.equal(t.status(), 'failed');
    assert.equal(t.emitted.filter((e) => e.type === 'track.result').at(-1)?.type === 'track.result', true);
  });

  test('a script that traps SIGTERM and exits 0 counts as success (keepalived)', () => {
    const t = start({ timeoutMs: 300 });
    t.clock.increment(300);
    t.fake.current.exit({ exitCode: 0 });
    assert.equal(t.status(), 'ok');
  });

  test('timeout 0/absent means the interval', () => {
    const t = start({ intervalMs: 1000, timeoutMs: undefined });
    t.clock.increment(999);
    assert.equal(t.fake.current.terminated, false);
    t.clock.increment(1);
    assert.equal(t.fake.current.terminated, true);
  });

  test('a signal we did not send is "signal X", also while terminating', () => {
    const t = start({ rise: 1, fall: 1, timeoutMs: 300 });
    t.fake.current.exit({ signal: 'SIGSEGV' });
    const r1 = t.emitted.filter((e) => e.type === 'track.result').at(-1);
    assert.ok(r1?.type === 'track.result' && r1.cause === 'signal SIGSEGV' && !r1.ok);
    t.clock.increment(1000);
    t.clock.increment(300);
    t.fake.current.exit({ signal: 'SIGHUP' });
    const r2 = t.emitted.filter((e) => e.type === 'track.result').at(-1);
    assert.ok(r2?.type === 'track.result' && r2.cause === 'signal SIGHUP');
  });
});

test('a script that cannot be started is a failed run (exit 127)', () => {
  const t = start();
  t.fake.current.exit({ exitCode: 127, error: 'spawn /nope ENOENT' });
  assert.equal(t.status(), 'failed');
  const r = t.emitted.find((e) => e.type === 'track.result');
  assert.ok(r?.type === 'track.result' && r.cause === 'exit 127');
});

test('a broken runScript actor is a failed run, and the next tick runs again', () => {
  let calls = 0;
  const clock = new SimulatedClock();
  const emitted: TrackScriptEmitted[] = [];
  const actor = createActor(trackScript.provide({
    actors: { runScript: fromCallback(() => { calls++; throw new Error('boom'); }) },
  }), { clock, input: BASE });
  actor.on('*', (e) => emitted.push(e));
  actor.start();
  assert.equal((actor.getSnapshot().value as { status: string }).status, 'failed');
  const s = emitted.find((e) => e.type === 'track.state');
  assert.ok(s?.type === 'track.state' && s.cause === 'error boom');
  clock.increment(1000);
  assert.equal(calls, 2);
  assert.equal(actor.getSnapshot().status, 'active');
});

test('stopping the tracker stops (kills) the running script', () => {
  const t = start();
  const run = t.fake.current;
  t.actor.stop();
  assert.equal(run.stopped, true);
});

test('resumed from the journal: starts in the last state with the counter where a long run leaves it', () => {
  // was OK before the restart: with fall 3 it takes three failures to go down (not one, as init)
  const ok = start({ rise: 2, fall: 3, resume: 'ok' });
  assert.equal(ok.status(), 'ok');
  assert.equal(ok.states()[0]?.type === 'track.state' && ok.states()[0]?.cause, 'resumed');
  assert.deepEqual(drive(ok, 'F F F').map((s) => s[0]).join(''), 'oof');
  // was FAILED: rise 3 successes to come up (not one)
  const failed = start({ rise: 3, fall: 1, resume: 'failed' });
  assert.equal(failed.status(), 'failed');
  assert.deepEqual(drive(failed, 'S S S').map((s) => s[0]).join(''), 'ffo');
});

test('startDelayMs: the first run waits, later runs keep the interval from there', () => {
  const t = start({ startDelayMs: 300 });
  assert.equal(t.fake.runs.length, 0);
  t.clock.increment(299);
  assert.equal(t.fake.runs.length, 0);
  t.clock.increment(1);
  assert.equal(t.fake.runs.length, 1);
  t.fake.current.exit(OK);
  t.clock.increment(1000);
  assert.equal(t.fake.runs.length, 2);
});
