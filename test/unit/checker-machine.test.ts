// machines/checker.machine.ts with SimulatedClock and a hand-driven fake probe: keepalived's
// schedule (warmup, delay_loop, retry, delay_before_retry, the timeout), alpha, the vigil
// rise/fall extension, ha_suspend pause/resume and dynamic weights.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createActor, fromCallback, SimulatedClock } from 'xstate';
import { checkerMachine, type CheckerEmitted, type CheckerInput, type CheckResult, type DynamicWeight, type ProbeInput } from '../../machines/checker.machine.js';
import { fakeCheckProbe } from '../fakes/checkProbe.js';

const BASE: CheckerInput = {
  id: 'rs1/TCP_CHECK', connectTimeoutMs: 3000, retry: 2, delayBeforeRetryMs: 1000, delayLoopMs: 10_000, warmupMs: 10_000, alpha: false,
};
const OK: CheckResult = { ok: true };
const FAIL: CheckResult = { ok: false, detail: 'connection refused' };

function start(input: Partial<CheckerInput> = {}) {
  const clock = new SimulatedClock();
  const fake = fakeCheckProbe();
  const emitted: CheckerEmitted[] = [];
  const errors: unknown[] = [];
  const actor = createActor(checkerMachine.provide({ actors: { probe: fake.logic } }), { clock, input: { ...BASE, ...input } });
  actor.on('*', (e) => emitted.push(e));
  actor.subscribe({ error: (e) => errors.push(e) });
  actor.start();
  const value = () => actor.getSnapshot().value as { running: { health: string; schedule: string; activity: string } } | 'stopped';
  const health = () => { const v = value(); return v === 'stopped' ? 'stopped' : v.running.health; };
  const schedule = () => { const v = value(); return v === 'stopped' ? 'stopped' : v.running.schedule; };
  /**
   * Advance the clock to absolute time t, 1 ms at a time: SimulatedClock fires due timers after
   * moving to the new time, so a timer armed by another in one big step would start late.
   */
  const at = (time: number) => {
    assert.ok(time >= clock.now(), `time goes forward (${time} < ${clock.now()})`);
    while (clock.now() < time) clock.increment(1);
  };
  const states = () => emitted.filter((e) => e.type === 'checker.state');
  return { clock, fake, emitted, errors, actor, health, schedule, at, states };
}
type T = ReturnType<typeof start>;

/** Run the clock to `until` in 100 ms steps, noting when each new attempt starts and answering it at once. */
function probeTimes(t: T, until: number, answer: CheckResult): number[] {
  const times: number[] = [];
  let seen = t.fake.probes.length;
  const poll = () => {
    while (t.fake.probes.length > seen) {
      const p = t.fake.probes[seen]!;
      times.push(t.clock.now());
      seen++;
      p.reply(answer);
    }
  };
  poll();
  while (t.clock.now() < until) { t.clock.increment(Math.min(100, until - t.clock.now())); poll(); }
  return times;
}

describe('schedule', () => {
  test('no warmup offset: the first check at once, then delay_loop after each result', () => {
    const t = start();
    assert.equal(t.fake.probes.length, 1);
    assert.deepEqual(t.fake.current.input, { checker: 'rs1/TCP_CHECK', attempt: 1 });
    t.at(250);
    t.fake.current.reply(OK);
    assert.equal(t.schedule(), 'waiting');
    t.at(10_249);
    assert.equal(t.fake.probes.length, 1);
    t.at(10_250);
    assert.equal(t.fake.probes.length, 2, 'delay_loop counts from the result');
    assert.deepEqual(t.states(), [], 'a first success of a checker that starts UP changes nothing');
    assert.equal(t.health(), 'up');
  });

  test('warmup: the first check at the offset the actor drew, clamped to warmup', () => {
    const t = start({ warmupMs: 5000, warmupOffsetMs: 1234 });
    assert.equal(t.fake.probes.length, 0);
    t.at(1233);
    assert.equal(t.fake.probes.length, 0);
    t.at(1234);
    assert.equal(t.fake.probes.length, 1);

    const c = start({ warmupMs: 5000, warmupOffsetMs: 99_999 });
    c.at(4999);
    assert.equal(c.fake.probes.length, 0);
    c.at(5000);
    assert.equal(c.fake.probes.length, 1, 'an offset beyond warmup is clamped');

    const z = start({ warmupMs: 0, warmupOffsetMs: 3000 });
    assert.equal(z.fake.probes.length, 1, 'warmup 0: at once');
  });

  test('UP: a failure is retried `retry` times delay_before_retry apart, then DOWN', () => {
    const t = start({ retry: 2, delayBeforeRetryMs: 1000, delayLoopMs: 10_000 });
    t.fake.current.reply(OK);
    // every attempt fails at once from the second check on
    const times = probeTimes(t, 40_000, FAIL);
    // t=10000 check, 11000 retry 1, 12000 retry 2 → DOWN; then one check per delay_loop, no retries
    assert.deepEqual(times, [10_000, 11_000, 12_000, 22_000, 32_000]);
    assert.deepEqual(t.fake.probes.slice(1, 4).map((p) => p.input.attempt), [1, 2, 3]);
    assert.deepEqual(t.fake.probes.slice(4).map((p) => p.input.attempt), [1, 1]);
    assert.deepEqual(t.states(), [{
      type: 'checker.state', checker: 'rs1/TCP_CHECK', from: 'up', to: 'down', cause: 'failed after 2 retries (connection refused)',
      first: false, attempts: 3, consecutive: 1, detail: 'connection refused', latencyMs: null,
    }]);
    assert.equal(t.health(), 'down');
  });

  test('retry 0: the first failed check after a success brings it DOWN', () => {
    const t = start({ retry: 0 });
    t.fake.current.reply(OK);
    t.at(10_000);
    t.fake.current.reply(FAIL);
    assert.equal(t.health(), 'down');
    assert.equal(t.states()[0]?.type === 'checker.state' && t.states()[0]?.cause, 'failed (connection refused)');
  });

  test('a success during the retries resets the retry count; an UP checker stays UP until retries run out', () => {
    const t = start({ retry: 2 });
    t.fake.current.reply(OK);
    t.at(10_000); t.fake.current.reply(FAIL);
    t.at(11_000); t.fake.current.reply(FAIL);
    t.at(12_000); t.fake.current.reply(OK); // last retry succeeds
    assert.equal(t.health(), 'up');
    assert.equal(t.schedule(), 'waiting');
    t.at(22_000); t.fake.current.reply(FAIL);
    t.at(23_000); t.fake.current.reply(FAIL);
    assert.equal(t.health(), 'up', 'two failures of three allowed again');
    t.at(24_000); t.fake.current.reply(FAIL);
    assert.equal(t.health(), 'down');
    assert.equal(t.states().length, 1);
  });

  test('DOWN: one success at the next delay_loop brings it UP', () => {
    const t = start({ retry: 1 });
    t.fake.current.reply(FAIL); // first result: DOWN at once
    t.at(10_000); t.fake.current.reply(FAIL);
    t.at(20_000); t.fake.current.reply({ ok: true, latencyMs: 3 });
    assert.equal(t.health(), 'up');
    assert.deepEqual(t.states().map((e) => e.type === 'checker.state' && [e.from, e.to, e.first, e.cause, e.attempts]), [
      ['up', 'down', true, 'failed (connection refused)', 1],
      ['down', 'up', false, 'succeeded', 1],
    ]);
    const up = t.states()[1];
    assert.equal(up?.type === 'checker.state' && up.latencyMs, 3);
  });
});

describe('first result (check_data.c: retry_it = retry)', () => {
  test('not alpha: the first failure is enough, without retries', () => {
    const t = start({ retry: 3 });
    t.fake.current.reply(FAIL);
    assert.equal(t.health(), 'down');
    assert.equal(t.fake.probes.length, 1);
    t.at(9_999);
    assert.equal(t.fake.probes.length, 1, 'no retry: the next check is at delay_loop');
    t.at(10_000);
    assert.equal(t.fake.probes.length, 2);
  });

  test('alpha: starts DOWN; a first failure confirms DOWN (notify_down), a success brings it UP', () => {
    const t = start({ alpha: true });
    assert.equal(t.health(), 'down');
    assert.deepEqual(t.emitted, [], 'nothing at start');
    t.fake.current.reply(FAIL);
    assert.deepEqual(t.states().map((e) => e.type === 'checker.state' && [e.from, e.to, e.first]), [['down', 'down', true]]);
    t.at(10_000); t.fake.current.reply(FAIL);
    assert.equal(t.states().length, 1, 'later failures while DOWN are not changes');
    t.at(20_000); t.fake.current.reply(OK);
    assert.deepEqual(t.states().map((e) => e.type === 'checker.state' && [e.from, e.to, e.first]), [['down', 'down', true], ['down', 'up', false]]);
  });

  test('alpha: a first success brings it UP at once', () => {
    const t = start({ alpha: true });
    t.fake.current.reply(OK);
    assert.equal(t.health(), 'up');
    assert.deepEqual(t.states().map((e) => e.type === 'checker.state' && [e.from, e.to, e.first]), [['down', 'up', true]]);
  });
});

describe('timeout (connect_timeout as a guard)', () => {
  test('a probe that never answers fails at connect_timeout and is stopped; a late answer is ignored', () => {
    const t = start({ retry: 1, connectTimeoutMs: 3000 });
    t.fake.current.reply(OK);
    t.at(10_000);
    const hung = t.fake.current;
    t.at(12_999);
    assert.equal(hung.stopped, false);
    t.at(13_000);
    assert.equal(hung.stopped, true, 'the attempt is cancelled');
    assert.equal(t.schedule(), 'retrying');
    hung.reply(OK); // too late: dropped
    assert.equal(t.schedule(), 'retrying');
    t.at(14_000);
    assert.equal(t.fake.current.input.attempt, 2);
    t.at(17_000);
    assert.equal(t.health(), 'down');
    const down = t.states()[0];
    assert.equal(down?.type === 'checker.state' && down.cause, 'failed after 1 retry (timeout)');
  });

  test('probeTimeoutMs overrides connect_timeout (MISC_CHECK misc_timeout)', () => {
    const t = start({ retry: 0, connectTimeoutMs: 3000, probeTimeoutMs: 8000 });
    t.at(7999);
    assert.equal(t.health(), 'up');
    t.at(8000);
    assert.equal(t.health(), 'down');
  });

  test('a probe that throws counts as a failed attempt', () => {
    const clock = new SimulatedClock();
    const emitted: CheckerEmitted[] = [];
    const throwing = fromCallback<{ type: 'none' }, ProbeInput>(() => { throw new Error('no socket'); });
    const actor = createActor(checkerMachine.provide({ actors: { probe: throwing } }), { clock, input: { ...BASE, retry: 0 } });
    actor.on('*', (e) => emitted.push(e));
    actor.start();
    assert.deepEqual(emitted.map((e) => e.type === 'checker.state' && e.cause), ['failed (probe error: no socket)']);
    assert.equal(actor.getSnapshot().status, 'active');
  });

  test('a result sent while no attempt runs is ignored', () => {
    const t = start();
    t.fake.current.reply(OK);
    t.actor.send({ type: 'check.result', ok: false, detail: 'stray' });
    t.actor.send({ type: 'check.result', ok: false, detail: 'stray' });
    assert.equal(t.health(), 'up');
    assert.equal(t.schedule(), 'waiting');
    assert.deepEqual(t.emitted, []);
  });
});

describe('rise/fall (vigil extension)', () => {
  test('fall 2: two failed checks in a row, each after its retries', () => {
    const t = start({ retry: 1, fall: 2 });
    t.fake.current.reply(OK);
    const times = probeTimes(t, 35_000, FAIL);
    // check 10000 + retry 11000 (1st failed check), check 21000 + retry 22000 (2nd) → DOWN, then 32000
    assert.deepEqual(times, [10_000, 11_000, 21_000, 22_000, 32_000]);
    assert.deepEqual(t.states().map((e) => e.type === 'checker.state' && [e.to, e.consecutive, e.cause]), [
      ['down', 2, 'failed after 1 retry, 2 checks in a row (connection refused)'],
    ]);
  });

  test('fall 3: a success in between restarts the count', () => {
    const t = start({ retry: 0, fall: 3 });
    const seq = 'S F F S F F F';
    const out: string[] = [];
    [...seq.replace(/ /g, '')].forEach((c, i) => {
      if (i > 0) t.at(t.clock.now() + 10_000);
      t.fake.current.reply(c === 'S' ? OK : FAIL);
      out.push(t.health()[0]!);
    });
    assert.equal(out.join(''), 'uuuuuud');
  });

  test('rise 3 from DOWN: three successes in a row; a failure restarts the climb', () => {
    const t = start({ retry: 0, rise: 3 });
    const seq = 'F S S F S S S';
    const out: string[] = [];
    [...seq.replace(/ /g, '')].forEach((c, i) => {
      if (i > 0) t.at(t.clock.now() + 10_000);
      t.fake.current.reply(c === 'S' ? OK : FAIL);
      out.push(t.health()[0]!);
    });
    assert.equal(out.join(''), 'ddddddu');
    const up = t.states().at(-1);
    assert.equal(up?.type === 'checker.state' && up.cause, 'succeeded 3 times in a row');
    assert.equal(up?.type === 'checker.state' && up.consecutive, 3);
  });

  test('the first result still decides alone', () => {
    const a = start({ alpha: true, rise: 5 });
    a.fake.current.reply(OK);
    assert.equal(a.health(), 'up');
    const b = start({ fall: 5 });
    b.fake.current.reply(FAIL);
    assert.equal(b.health(), 'down');
  });
});

describe('pause/resume (ha_suspend)', () => {
  test('no checks while paused, the state and the phase are kept', () => {
    const t = start({ retry: 0 });
    t.fake.current.reply(FAIL); // DOWN
    t.at(5000);
    t.actor.send({ type: 'pause' });
    t.at(40_000);
    assert.equal(t.fake.probes.length, 1, 'checks at 10000, 20000, 30000, 40000 skipped');
    assert.equal(t.health(), 'down');
    t.at(45_000);
    t.actor.send({ type: 'resume' });
    t.at(49_999);
    assert.equal(t.fake.probes.length, 1);
    t.at(50_000);
    assert.equal(t.fake.probes.length, 2, 'the next tick of the old phase');
    t.fake.current.reply(OK);
    assert.equal(t.health(), 'up');
    assert.deepEqual(t.emitted.filter((e) => e.type === 'checker.activity').map((e) => e.type === 'checker.activity' && e.active), [false, true]);
  });

  test('a retry due while paused is skipped to the next delay_loop; the retry count is kept', () => {
    const t = start({ retry: 2 });
    t.fake.current.reply(OK);
    t.at(10_000); t.fake.current.reply(FAIL); // retry 1 due at 11000
    t.at(10_500);
    t.actor.send({ type: 'pause' });
    t.at(15_000);
    t.actor.send({ type: 'resume' });
    t.at(20_999);
    assert.equal(t.fake.probes.length, 2);
    t.at(21_000);
    assert.equal(t.fake.current.input.attempt, 2, "keepalived keeps retry_it while the checker is disabled");
    t.fake.current.reply(FAIL);
    t.at(22_000); t.fake.current.reply(FAIL);
    assert.equal(t.health(), 'down');
    const down = t.states()[0];
    assert.equal(down?.type === 'checker.state' && down.attempts, 3);
  });

  test('a check in flight when paused completes and counts', () => {
    const t = start({ retry: 0 });
    t.actor.send({ type: 'pause' });
    t.fake.current.reply(FAIL);
    assert.equal(t.health(), 'down');
  });

  test('pause/resume twice emits once; a checker can start paused', () => {
    const t = start({ paused: true });
    assert.equal(t.fake.probes.length, 0, 'no check at start');
    t.actor.send({ type: 'pause' });
    t.at(10_000);
    assert.equal(t.fake.probes.length, 0);
    t.actor.send({ type: 'resume' });
    t.actor.send({ type: 'resume' });
    t.at(20_000);
    assert.equal(t.fake.probes.length, 1);
    assert.deepEqual(t.emitted, [{ type: 'checker.activity', checker: 'rs1/TCP_CHECK', active: true }]);
  });
});

describe('dynamic weight (misc_dynamic, FILE_CHECK)', () => {
  const set = (value: number): DynamicWeight => ({ mode: 'set', value });
  const w = (x: DynamicWeight) => `${x.mode === 'set' ? '=' : '+'}${x.value}`;

  test('a new weight is emitted on change only; going DOWN drops it after the state, coming UP sets it before', () => {
    const t = start({ retry: 0 });
    t.fake.current.reply({ ok: true, weight: set(5) });
    t.at(10_000); t.fake.current.reply({ ok: true, weight: set(5) });
    t.at(20_000); t.fake.current.reply({ ok: true, weight: set(7) });
    t.at(30_000); t.fake.current.reply(FAIL);
    t.at(40_000); t.fake.current.reply({ ok: true, weight: { mode: 'add', value: 3 } });
    t.at(50_000); t.fake.current.reply(OK); // exit 0: back to the configured weight
    assert.deepEqual(t.emitted.map((e) => (e.type === 'checker.weight' ? `${w(e.from)}>${w(e.to)}` : e.type === 'checker.state' ? e.to : e.type)), [
      '+0>=5', '=5>=7', 'down', '=7>+0', '+0>+3', 'up', '+3>+0',
    ]);
  });

  test('failed attempts during retries keep the weight', () => {
    const t = start({ retry: 1 });
    t.fake.current.reply({ ok: true, weight: set(4) });
    t.at(10_000); t.fake.current.reply(FAIL);
    assert.equal(t.emitted.length, 1);
    t.at(11_000); t.fake.current.reply({ ok: true, weight: set(4) });
    assert.deepEqual(t.emitted.map((e) => e.type), ['checker.weight']);
  });
});

test('stop cancels the attempt in flight and ends the actor; nothing is emitted after', () => {
  const t = start();
  const p = t.fake.current;
  t.actor.send({ type: 'stop' });
  assert.equal(p.stopped, true);
  assert.equal(t.actor.getSnapshot().status, 'done');
  p.reply(FAIL);
  t.at(100_000);
  assert.equal(t.fake.probes.length, 1);
  assert.deepEqual(t.emitted, []);
  assert.deepEqual(t.errors, []);
});


describe('log_all_failures', () => {
  const attempts = (t: T) => t.emitted.filter((e) => e.type === 'checker.attempt-failed').map((e) => e.type === 'checker.attempt-failed' && [e.attempt, e.detail]);

  test('each failed attempt while UP is emitted (not the one that decides DOWN); none once DOWN; none without it', () => {
    const t = start({ logAllFailures: true });
    t.fake.current.reply(OK); // the first result decides on its own: up, then failures are retried
    probeTimes(t, 30_000, FAIL);
    // attempts 1 and 2 fail and are retried; attempt 3 takes the checker DOWN (announced as checker.state)
    assert.deepEqual(attempts(t), [[1, 'connection refused'], [2, 'connection refused']]);
    assert.equal(t.health(), 'down');
    assert.equal(t.states().length, 1);
    const quiet = start();
    quiet.fake.current.reply(OK);
    probeTimes(quiet, 30_000, FAIL);
    assert.deepEqual(attempts(quiet), []);
    assert.equal(quiet.health(), 'down');
  });
});
