// AnchoredClock: a timer armed from a timer callback counts from the previous timer's ideal
// deadline, so a periodic advert does not drift by the callbacks' lateness; a late timer lets the
// loop poll for I/O first. Deterministic: a manual timer queue, a manual `now` and a manual poll.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AnchoredClock } from '../../actors/clock.js';

function manual() {
  let now = 0;
  const queue: Array<{ at: number; fn: () => void; id: number }> = [];
  let ids = 0;
  const polled: Array<() => void> = [];
  return {
    now: () => now,
    /** what waits for the loop's next poll (AnchoredClock's afterPoll) */
    afterPoll: (fn: () => void) => void polled.push(fn),
    polled,
    /** the loop polls (I/O callbacks ran before this), then runs what waited for it */
    poll() {
      for (const fn of polled.splice(0)) fn();
    },
    timers: {
      setTimeout: (fn: () => void, ms: number) => (queue.push({ at: now + ms, fn, id: ++ids }), ids),
      clearTimeout: (id: unknown) => void queue.splice(queue.findIndex((t) => t.id === id) >>> 0, 1),
    },
    /** run the next timer `late` ms after its due time */
    runNext(late: number) {
      queue.sort((a, b) => a.at - b.at);
      const t = queue.shift()!;
      now = t.at + late;
      t.fn();
      return now;
    },
  };
}

/** a clock with one periodic timer re-armed from its own callback; `fired`: the times it ran */
function periodic(m: ReturnType<typeof manual>, period: number) {
  const clock = new AnchoredClock(m.now, m.timers, m.afterPoll);
  const fired: number[] = [];
  const tick = () => {
    fired.push(m.now());
    clock.setTimeout(tick, period);
  };
  clock.setTimeout(tick, period);
  return { clock, fired };
}

test('a periodic timer keeps its grid although every callback runs 1.3 ms late', () => {
  const m = manual();
  const { fired } = periodic(m, 20);
  for (let i = 0; i < 50; i++) m.runNext(1.3);
  // without anchoring the 50th would fire at 50 × 21.3 = 1065 ms
  assert.ok(Math.abs(fired.at(-1)! - 1000) < 2, `50th tick at ${fired.at(-1)} ms`);
});

test('a timer armed outside any timer callback counts from now, floored to whole ms', () => {
  const m = manual();
  const clock = new AnchoredClock(m.now, m.timers, m.afterPoll);
  let at = -1;
  clock.setTimeout(() => (at = m.now()), 3609.375);
  m.runNext(0);
  assert.equal(at, 3609); // Node then fires it a fraction of a millisecond late
});

test('within(t): timers armed inside count from t, a received advert’s arrival', () => {
  const m = manual();
  const clock = new AnchoredClock(m.now, m.timers, m.afterPoll);
  let at = -1;
  clock.within(-0.8, () => clock.setTimeout(() => (at = m.now()), 609.375)); // processing took 0.8 ms
  m.runNext(0);
  assert.equal(at, 608); // floor(609.375 - 0.8)
});

test('clearTimeout cancels', () => {
  const m = manual();
  const clock = new AnchoredClock(m.now, m.timers, m.afterPoll);
  let ran = false;
  const id = clock.setTimeout(() => (ran = true), 5);
  clock.setTimeout(() => undefined, 10);
  clock.clearTimeout(id);
  m.runNext(0);
  assert.equal(ran, false);
});

test('after a stall the grid skips the missed ticks instead of bursting', () => {
  const m = manual();
  const { fired } = periodic(m, 100);
  m.runNext(0); // 100
  m.runNext(350); // due 200, runs at 550: the loop was stalled
  m.poll(); // (late: it waited for the loop's poll)
  m.runNext(0);
  m.runNext(0);
  assert.deepEqual(fired, [100, 550, 600, 700]); // not 550, 550, 550, 600
});

test('a late timer waits for the loop\'s poll: an advert read there cancels the takeover it would have been', () => {
  const m = manual();
  const clock = new AnchoredClock(m.now, m.timers, m.afterPoll);
  let tookOver = 0;
  let id = clock.setTimeout(() => tookOver++, 72); // Master_Down_Interval
  m.runNext(30); // the loop was held: the timer's callback runs 30 ms late
  assert.equal(tookOver, 0, 'not yet: the loop polls first');
  assert.equal(m.polled.length, 1);
  // the poll reads the master's advert, queued in the socket on time: the timer restarts
  clock.clearTimeout(id);
  id = clock.setTimeout(() => tookOver++, 72);
  m.poll();
  assert.equal(tookOver, 0, 'the cancelled timer did not run');
  // no advert this time: the late timer runs once the poll is done
  m.runNext(10);
  m.poll();
  assert.equal(tookOver, 1);
});

test('a timer on time runs at once; a late one runs anchored to its deadline', () => {
  const m = manual();
  const { fired } = periodic(m, 100);
  m.runNext(0.7); // Node's usual lateness
  assert.deepEqual(fired, [100.7]);
  assert.equal(m.polled.length, 0);
  m.runNext(40); // due 199.7 (armed 99 ms after 100.7), late
  assert.deepEqual(fired, [100.7]);
  m.poll();
  m.runNext(0.5); // the next one keeps the grid: due 300, not 340
  assert.deepEqual(fired, [100.7, 239.7, 300.2]); // (delays are floored to whole ms)
});
