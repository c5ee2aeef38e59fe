// machines/checker.machine.ts's watching (issue #6): a steady checker hands its scheduled checks to
// the `watch` actor, which reports only a result that differs from the steady one. The point is
// that nothing else changes: the same server history gives the same checker.state and
// checker.weight events at the same times with and without a watch (keepalived's semantics, with
// retry, alpha, rise and fall), while the machine steps far less. SimulatedClock throughout; the
// probe and the watch are fakes that read the server's health from a scripted history.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createActor, fromCallback, SimulatedClock } from 'xstate';
import { checkerMachine, type CheckerEmitted, type CheckerInput, type ProbeInput, type WatchInput } from '../../machines/checker.machine.js';
import { rng } from '../faults/helpers.js';

const BASE: CheckerInput = {
  id: 'rs1/TCP_CHECK', connectTimeoutMs: 3000, retry: 2, delayBeforeRetryMs: 1000, delayLoopMs: 5000, warmupMs: 0, alpha: false,
};
/** every probe answers this long after it starts */
const LATENCY = 10;

/** A server that flips between up and down at the given times (up first unless `startDown`). */
function history(flips: readonly number[], startDown = false) {
  return (t: number) => flips.filter((f) => f <= t).length % 2 === (startDown ? 1 : 0);
}

function run(input: Partial<CheckerInput>, healthAt: (t: number) => boolean, until: number, opts: { watch: boolean; pauses?: readonly [number, number][] }) {
  const clock = new SimulatedClock();
  const log: { at: number; e: CheckerEmitted }[] = [];
  const watches: WatchInput[] = [];
  let probes = 0;
  let watchChecks = 0;
  let steps = 0;
  const probe = fromCallback<{ type: 'none' }, ProbeInput>(({ sendBack }) => {
    probes++;
    const ok = healthAt(clock.now());
    const id = clock.setTimeout(() => sendBack({ type: 'check.result', ok, detail: ok ? 'connected' : 'refused' }), LATENCY);
    return () => clock.clearTimeout(id);
  });
  // what adapters/checkers/native.ts does: a check intervalMs after each result, reported only when it differs
  const watch = fromCallback<{ type: 'none' }, WatchInput>(({ sendBack, input }) => {
    watches.push(input);
    let id: ReturnType<SimulatedClock['setTimeout']>;
    const check = () => {
      watchChecks++;
      const ok = healthAt(clock.now());
      id = clock.setTimeout(() => {
        if (ok !== input.expectOk) sendBack({ type: 'check.result', ok, detail: ok ? 'connected' : 'refused' });
        else id = clock.setTimeout(check, input.intervalMs);
      }, LATENCY);
    };
    id = clock.setTimeout(check, input.intervalMs);
    return () => clock.clearTimeout(id);
  });
  const actor = createActor(checkerMachine.provide({ actors: { probe, watch } }), {
    clock, input: { ...BASE, ...input, watch: opts.watch }, inspect: (ev) => { if (ev.type === '@xstate.microstep') steps++; },
  });
  actor.on('*', (e) => log.push({ at: clock.now(), e }));
  actor.start();
  const pauses = [...(opts.pauses ?? [])];
  while (clock.now() < until) {
    clock.increment(1);
    for (const [from, to] of pauses) {
      if (clock.now() === from) actor.send({ type: 'pause' });
      if (clock.now() === to) actor.send({ type: 'resume' });
    }
  }
  const schedule = (actor.getSnapshot().value as { running: { schedule: string } }).running.schedule;
  actor.stop();
  return { log, watches, probes, watchChecks, steps, schedule };
}

const changes = (r: ReturnType<typeof run>) => r.log.filter((x) => x.e.type !== 'checker.activity').map((x) => ({ at: x.at, ...x.e }));

describe('watching', () => {
  test('a steady UP checker is watched; its next failure is retried and decided as before', () => {
    const server = history([60_000, 90_000]);
    const plain = run({}, server, 120_000, { watch: false });
    const watched = run({}, server, 120_000, { watch: true });
    assert.deepEqual(changes(watched), changes(plain));
    const downs = changes(watched).filter((e) => e.type === 'checker.state');
    assert.deepEqual(downs.map((e) => e.type === 'checker.state' && e.to), ['down', 'up'], 'the outage is seen, then the recovery');
    assert.deepEqual(watched.watches.map((w) => w.expectOk), [true, false, true], 'up, then down (after the retries), then up again');
    assert.ok(watched.probes <= 4, `probes made by the machine: the first, the two retries, then none (${watched.probes})`);
    assert.ok(watched.steps * 4 < plain.steps, `machine steps: ${watched.steps} watched vs ${plain.steps}`);
    assert.equal(watched.probes + watched.watchChecks, plain.probes, 'the same checks, made by the watch instead');
  });

  test('the same events at the same times for random histories, with retry, alpha, rise and fall', () => {
    const random = rng(6).next;
    for (let i = 0; i < 60; i++) {
      const flips: number[] = [];
      let t = 0;
      while (t < 200_000) { t += Math.floor(random() * 30_000) + 1; flips.push(t); }
      const input: Partial<CheckerInput> = {
        retry: Math.floor(random() * 3),
        delayBeforeRetryMs: 500 + Math.floor(random() * 2000),
        delayLoopMs: 1000 + Math.floor(random() * 6000),
        alpha: random() < 0.3,
        ...(random() < 0.4 ? { rise: 1 + Math.floor(random() * 3) } : {}),
        ...(random() < 0.4 ? { fall: 1 + Math.floor(random() * 3) } : {}),
      };
      const server = history(flips, random() < 0.3);
      const plain = run(input, server, 220_000, { watch: false });
      const watched = run(input, server, 220_000, { watch: true });
      assert.deepEqual(changes(watched), changes(plain), `case ${i}: ${JSON.stringify(input)} flips ${flips.join(',')}`);
      assert.ok(watched.steps <= plain.steps, `case ${i}: ${watched.steps} steps watched vs ${plain.steps}`);
    }
  });

  test('without watch in the input (or a prober that cannot), the machine schedules every check itself', () => {
    const server = history([]);
    const r = run({}, server, 60_000, { watch: false });
    assert.equal(r.watches.length, 0);
    assert.equal(r.probes, 12, 'one check every delay_loop (5 s) plus its latency');
  });

  test('a watch that cannot run falls back to the timer for good', () => {
    const clock = new SimulatedClock();
    let probes = 0;
    let watches = 0;
    const probe = fromCallback<{ type: 'none' }, ProbeInput>(({ sendBack }) => {
      probes++;
      const id = clock.setTimeout(() => sendBack({ type: 'check.result', ok: true }), LATENCY);
      return () => clock.clearTimeout(id);
    });
    const watch = fromCallback<{ type: 'none' }, WatchInput>(({ sendBack }) => {
      watches++;
      sendBack({ type: 'watch.unavailable', reason: 'not this one' });
    });
    const actor = createActor(checkerMachine.provide({ actors: { probe, watch } }), { clock, input: { ...BASE, watch: true } });
    actor.start();
    for (let t = 0; t < 30_000; t++) clock.increment(1);
    assert.equal(watches, 1, 'asked once');
    assert.equal(probes, 6, 'then every check by the machine, delay_loop apart');
    assert.equal(actor.getSnapshot().context.watch, false);
    assert.equal((actor.getSnapshot().value as { running: { schedule: string } }).running.schedule, 'waiting');
    actor.stop();
  });

  test('the default watch actor cannot watch: an unwired checker still checks', () => {
    const clock = new SimulatedClock();
    let probes = 0;
    const probe = fromCallback<{ type: 'none' }, ProbeInput>(({ sendBack }) => {
      probes++;
      const id = clock.setTimeout(() => sendBack({ type: 'check.result', ok: true }), LATENCY);
      return () => clock.clearTimeout(id);
    });
    const actor = createActor(checkerMachine.provide({ actors: { probe } }), { clock, input: { ...BASE, watch: true } });
    actor.start();
    for (let t = 0; t < 20_100; t++) clock.increment(1);
    assert.equal(probes, 5);
    actor.stop();
  });

  test('ha_suspend: a pause stops the watch, no check runs while paused, resume checks again and watches', () => {
    const server = history([20_000]);
    const r = run({}, server, 60_000, { watch: true, pauses: [[12_000, 40_000]] });
    // the server died at 20 s while paused: nothing seen until the checks resume
    const states = changes(r).filter((e) => e.type === 'checker.state');
    assert.equal(states.length, 1);
    const down = states[0]!;
    assert.ok(down.at > 40_000, `down at ${down.at}, after the resume`);
    assert.deepEqual(r.watches.map((w) => w.expectOk), [true, false], 'watched before the pause, and DOWN after it');
    assert.equal(r.schedule, 'watching');
  });
});
