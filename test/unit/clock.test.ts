// AnchoredClock: a timer armed from a timer callback counts from the previous timer's ideal
// deadline, so a periodic advert does not drift by the callbacks' lateness. Deterministic: a
// manual timer queue and a manual `now`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AnchoredClock } from '../../actors/clock.js';

function manual() {
  let now = 0;
  const queue: Array<{ at: number; fn: () => void; id: number }> = [];
  let ids = 0;
  return {
    now: () => now,
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

test('a periodic timer keeps its grid although every callback runs 1.3 ms late', () => {
  const m = manual();
  const clock = new AnchoredClock(m.now, m.timers);
  const fired: number[] = [];
  const tick = () => {
    fired.push(m.now());
    clock.setTimeout(tick, 20);
  };
  clock.setTimeout(tick, 20);
  for (let i = 0; i < 50; i++) m.runNext(1.3);
  // without anchoring the 50th would fire at 50 × 21.3 = 1065 ms
  assert.ok(Math.abs(fired.at(-1)! - 1000) < 2, `50th tick at ${fired.at(-1)} ms`);
});

test('a timer armed outside any timer callback counts from now, floored to whole ms', () => {
  const m = manual();
  const clock = new AnchoredClock(m.now, m.timers);
  let at = -1;
  clock.setTimeout(() => (at = m.now()), 3609.375);
  m.runNext(0);
  assert.equal(at, 3609); // Node then fires it a fraction of a millisecond late
});

test('within(t): timers armed inside count from t, a received advert’s arrival', () => {
  const m = manual();
  const clock = new AnchoredClock(m.now, m.timers);
  let at = -1;
  clock.within(-0.8, () => clock.setTimeout(() => (at = m.now()), 609.375)); // processing took 0.8 ms
  m.runNext(0);
  assert.equal(at, 608); // floor(609.375 - 0.8)
});

test('clearTimeout cancels', () => {
  const m = manual();
  const clock = new AnchoredClock(m.now, m.timers);
  let ran = false;
  const id = clock.setTimeout(() => (ran = true), 5);
  clock.setTimeout(() => undefined, 10);
  clock.clearTimeout(id);
  m.runNext(0);
  assert.equal(ran, false);
});

test('after a stall the grid skips the missed ticks instead of bursting', () => {
  const m = manual();
  const clock = new AnchoredClock(m.now, m.timers);
  const fired: number[] = [];
  const tick = () => {
    fired.push(m.now());
    clock.setTimeout(tick, 100);
  };
  clock.setTimeout(tick, 100);
  m.runNext(0); // 100
  m.runNext(350); // due 200, runs at 550: the loop was stalled
  m.runNext(0);
  m.runNext(0);
  assert.deepEqual(fired, [100, 550, 600, 700]); // not 550, 550, 550, 600
});
