// actors/loop-delay.ts: an HDR histogram of timer intervals folded into Prometheus buckets of delay.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHistogram } from 'node:perf_hooks';
import { LOOP_DELAY_BUCKETS, LoopDelay, tally } from '../../actors/loop-delay.js';

const MS = 1e6;
const INTERVAL = 50 * MS;

/** the exact bucket counts of `delays` (seconds), the reference tally() must match */
function exact(delays: readonly number[]): number[] {
  const counts = new Array<number>(LOOP_DELAY_BUCKETS.length + 1).fill(0);
  for (const d of delays) {
    const i = LOOP_DELAY_BUCKETS.findIndex((b) => d <= b);
    counts[i < 0 ? LOOP_DELAY_BUCKETS.length : i]! += 1;
  }
  return counts;
}

test('each delay lands in its bucket, the sum is the delays\' sum', () => {
  const h = createHistogram();
  const delays = [0.0002, 0.003, 0.003, 0.03, 0.2, 7];
  for (const d of delays) h.record(INTERVAL + Math.round(d * 1e9));
  const t = tally(h, INTERVAL);
  assert.deepEqual(t.counts, exact(delays));
  assert.deepEqual(t.counts, [1, 2, 0, 0, 1, 0, 1, 0, 0, 0, 0, 1]);
  const sum = delays.reduce((a, b) => a + b, 0);
  assert.ok(Math.abs(t.sum - sum) / sum < 0.002, `sum ${t.sum} vs ${sum}`);
});

test('a timer that fired early is no delay; nothing recorded is all zeros', () => {
  const h = createHistogram();
  h.record(INTERVAL - 2 * MS);
  h.record(INTERVAL - 1 * MS);
  const t = tally(h, INTERVAL);
  assert.deepEqual(t.counts, exact([0, 0]));
  assert.equal(t.sum, 0);
  assert.deepEqual(tally(createHistogram(), INTERVAL), { counts: exact([]), sum: 0 });
});

test('10,000 delays spread over every bucket: the counts are exact away from the bounds', () => {
  // a deterministic spread from 0 to 8 s, log-uniform, none within 0.2 % of a bound (the histogram
  // keeps 3 significant digits of the interval, 50 ms + delay)
  let x = 12345;
  const rand = () => ((x = (x * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const delays: number[] = [];
  while (delays.length < 10_000) {
    const d = 1e-5 * Math.pow(8 / 1e-5, rand());
    if (LOOP_DELAY_BUCKETS.some((b) => Math.abs(0.05 + d - (0.05 + b)) < 0.002 * (0.05 + b))) continue;
    delays.push(d);
  }
  const h = createHistogram();
  for (const d of delays) h.record(INTERVAL + Math.round(d * 1e9));
  const t = tally(h, INTERVAL);
  assert.deepEqual(t.counts, exact(delays));
  assert.equal(t.counts.reduce((a, b) => a + b, 0), 10_000);
});

test('LoopDelay sees a stall of the thread it runs on, and take() starts afresh', async () => {
  const ld = new LoopDelay(10);
  try {
    await new Promise((r) => setTimeout(r, 35));
    const end = performance.now() + 60;
    while (performance.now() < end);
    await new Promise((r) => setTimeout(r, 25));
    const t = ld.take();
    const over25 = t.counts.slice(LOOP_DELAY_BUCKETS.indexOf(0.025) + 1).reduce((a, b) => a + b, 0);
    assert.ok(over25 >= 1, `the 60 ms stall is counted above 25 ms: ${t.counts.join(' ')}`);
    assert.ok(t.sum >= 0.025, `sum ${t.sum}`);
    const next = ld.take();
    assert.ok(next.counts.reduce((a, b) => a + b, 0) <= 2, `a fresh take has only what came since: ${next.counts.join(' ')}`);
  } finally {
    ld.close();
  }
});
