// actors/lvs.ts LvsSet.feed: checker results reach the machines in slices, so that a burst (every
// checker's first result at once, all DOWN) never holds the event loop for long. VRRP's timers share
// this thread when the checks run on it; here a 5 ms interval timer stands in for them.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Bus, type BusEvent } from '../../actors/bus.js';
import { silentLogger } from '../../actors/log.js';
import { LvsSet } from '../../actors/lvs.js';
import { FakeProber } from '../fakes/prober.js';
import { parse } from '../helpers.js';

const N = 400;
const conf = () => `virtual_server 10.0.0.100 80 {
  delay_loop 60
  lb_algo rr
  lb_kind NAT
  protocol TCP
${Array.from({ length: N }, (_, i) => `  real_server 10.1.${i >> 8}.${i & 255} 80 {
    TCP_CHECK {
      connect_timeout 1
      warmup 0
    }
  }
`).join('')}}
`;

test('a burst of first results (all DOWN) is fed in slices: a 5 ms timer keeps firing through it', async () => {
  const bus = new Bus('n1');
  const downs: number[] = [];
  bus.subscribe((e: BusEvent) => { if (e.type === 'checker.state') downs.push(performance.now()); });
  // every probe refused at once: N results land together
  const lvs = new LvsSet(parse(conf()).config, { bus, log: silentLogger(), prober: new FakeProber() });
  const ticks: number[] = [];
  const tick = setInterval(() => ticks.push(performance.now()), 5);
  try {
    lvs.start();
    const t0 = performance.now();
    while (downs.length < N && performance.now() - t0 < 20_000) await new Promise((r) => setTimeout(r, 5));
    assert.equal(downs.length, N, 'every checker went DOWN');
    const span = downs.at(-1)! - downs[0]!;
    const during = ticks.filter((t) => t >= downs[0]! && t <= downs.at(-1)!);
    // the longest stretch without a tick while the burst was processed
    const gaps = [downs[0]!, ...during, downs.at(-1)!].map((t, i, a) => (i ? t - a[i - 1]! : 0));
    const worst = Math.max(...gaps);
    console.log(`# ${N} DOWN transitions over ${span.toFixed(0)} ms; the timer fired ${during.length} times meanwhile, worst gap ${worst.toFixed(1)} ms`);
    if (span > 50) assert.ok(during.length > 0, 'the timer ran during the burst');
    assert.ok(worst < 60, `the timer was held ${worst.toFixed(1)} ms at most (one slice is 2 ms plus one result's work)`);
  } finally {
    clearInterval(tick);
    await lvs.stop();
  }
});
