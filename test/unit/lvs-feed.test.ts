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
const conf = (n = N) => `virtual_server 10.0.0.100 80 {
  delay_loop 60
  lb_algo rr
  lb_kind NAT
  protocol TCP
${Array.from({ length: n }, (_, i) => `  real_server 10.1.${i >> 8}.${i & 255} 80 {
    TCP_CHECK {
      connect_timeout 1
      warmup 0
    }
  }
`).join('')}}
`;

/** The longest stretch from `from` to `to` without a tick of the 5 ms timer. */
function worstGap(ticks: readonly number[], from: number, to: number): { worst: number; during: number } {
  const during = ticks.filter((t) => t >= from && t <= to);
  const gaps = [from, ...during, to].map((t, i, a) => (i ? t - a[i - 1]! : 0));
  return { worst: Math.max(...gaps), during: during.length };
}

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
    // the longest stretch without a tick while the burst was processed
    const { worst, during } = worstGap(ticks, downs[0]!, downs.at(-1)!);
    console.log(`# ${N} DOWN transitions over ${span.toFixed(0)} ms; the timer fired ${during} times meanwhile, worst gap ${worst.toFixed(1)} ms`);
    if (span > 50) assert.ok(during > 0, 'the timer ran during the burst');
    assert.ok(worst < 60, `the timer was held ${worst.toFixed(1)} ms at most (one slice is 2 ms plus one result's work)`);
  } finally {
    clearInterval(tick);
    await lvs.stop();
  }
});

test('the checkers\' own timers are fed in slices too: 1,000 checks and retries due together keep a 5 ms timer firing', async () => {
  // every server answers, then every one refuses: the 1,000 checkers (warmup 0) have their next
  // check, then their retry, due in the same millisecond, and Node would run those timer
  // callbacks (each a machine step, its probe and events) in one stretch of its timer phase
  const M = 1000;
  const timed = conf(M).replace('delay_loop 60', 'delay_loop 1').replace(/warmup 0/g, 'warmup 0\n      retry 1\n      delay_before_retry 1');
  const answer: { ok: boolean; detail?: string } = { ok: true };
  const bus = new Bus('n1');
  const downs: number[] = [];
  bus.subscribe((e: BusEvent) => { if (e.type === 'checker.state' && (e.data as { to?: string }).to === 'down') downs.push(performance.now()); });
  const lvs = new LvsSet(parse(timed).config, { bus, log: silentLogger(), prober: new FakeProber(answer as never) });
  const ticks: number[] = [];
  const tick = setInterval(() => ticks.push(performance.now()), 5);
  try {
    lvs.start();
    const limit = performance.now() + 20_000;
    await new Promise((r) => setTimeout(r, 500)); // the first checks (UP, as they started) are done, the next ones 1 s after them
    assert.equal(downs.length, 0);
    answer.ok = false;
    answer.detail = 'connect ECONNREFUSED';
    const t0 = performance.now();
    while (downs.length < M && performance.now() < limit) await new Promise((r) => setTimeout(r, 5));
    assert.equal(downs.length, M, 'every checker DOWN after its retry');
    const { worst } = worstGap(ticks, t0, downs.at(-1)!);
    console.log(`# ${M} failed checks, retries and DOWNs over ${(downs.at(-1)! - t0).toFixed(0)} ms; worst gap of the 5 ms timer ${worst.toFixed(1)} ms`);
    // measured here: 14-15 ms fed in slices, 170-660 ms without (Node runs every due timer in one go)
    assert.ok(worst < 50, `the timer was held ${worst.toFixed(1)} ms at most`);
  } finally {
    clearInterval(tick);
    await lvs.stop();
  }
});

test('startInSlices: virtual servers start one per turn of the loop, their checkers a slice at a time; stop() before the last starts no more', async () => {
  const two = Array.from({ length: 2 }, (_, v) => conf(500).replace('10.0.0.100 80', `10.0.0.100 ${8000 + v}`).replace(/10\.1\./g, `10.${v + 2}.`)).join('');
  const make = () => new LvsSet(parse(two).config, { bus: new Bus('n1'), log: silentLogger(), prober: new FakeProber(), startInSlices: true });
  const lvs = make();
  const ticks: number[] = [];
  const tick = setInterval(() => ticks.push(performance.now()), 5);
  const seen = new Set<number>();
  try {
    const t0 = performance.now();
    lvs.start();
    assert.equal(lvs.actors().length, 0, 'nothing started within start()');
    const limit = t0 + 20_000;
    while (lvs.actors().length < 2 * 501 && performance.now() < limit) {
      seen.add(lvs.actors().length);
      await new Promise((r) => setTimeout(r, 1));
    }
    const t1 = performance.now();
    assert.equal(lvs.actors().length, 2 * 501, 'every virtual server and checker started');
    assert.ok([...seen].some((n) => n > 1 && n < 501), `a virtual server's checkers came over several turns (counts seen: ${[...seen].slice(0, 10).join(', ')}...)`);
    const { worst } = worstGap(ticks, t0, t1);
    console.log(`# 2 x 500 checkers started over ${(t1 - t0).toFixed(0)} ms; worst gap of the 5 ms timer ${worst.toFixed(1)} ms`);
    // one virtual server's 500 in one go took about 80 ms: 2 ms slices keep the timer going
    assert.ok(worst < 40, `the timer was held ${worst.toFixed(1)} ms at most`);
  } finally {
    clearInterval(tick);
    await lvs.stop();
  }
  const early = make();
  early.start();
  await early.stop();
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(early.actors().length, 0, 'stopped before their turn: never started');
  // stopped while a virtual server's checkers were being created: the rest never are
  const midway = make();
  midway.start();
  while (midway.actors().length < 2) await new Promise((r) => setImmediate(r));
  await midway.stop();
  const left = midway.actors().length;
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(midway.actors().length, left, 'no checker created after stop()');
  assert.equal(left, 0);
  // status() (and a reload, a drain) start what is left at once
  const asked = make();
  asked.start();
  await new Promise((r) => setImmediate(r));
  assert.equal(asked.status().length, 2);
  assert.equal(asked.actors().length, 2 * 501, 'status() created every checker left');
  await asked.stop();
});

test('startInSlices with ha_suspend: checkers created after the virtual server resumed start checking', async () => {
  const text = `vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 51
  priority 100
  virtual_ipaddress {
    10.0.0.100/24
  }
}
${conf(300).replace('delay_loop 60', 'delay_loop 60\n  ha_suspend')}`;
  const lvs = new LvsSet(parse(text).config, { bus: new Bus('n1'), log: silentLogger(), prober: new FakeProber(), startInSlices: true });
  lvs.start();
  while (lvs.actors().length < 2) await new Promise((r) => setImmediate(r));
  lvs.vrrpState('VI_1', 'MASTER'); // the virtual server resumes with only some of its checkers made
  assert.ok(lvs.actors().length < 301, 'resumed before every checker was created');
  while (lvs.actors().length < 301) await new Promise((r) => setTimeout(r, 1));
  const paused = lvs.actors().filter((a) => a.kind === 'checker' && JSON.stringify(a.actor.getSnapshot().value).includes('"paused"'));
  assert.equal(paused.length, 0, `checkers left paused: ${paused.length}`);
  await lvs.stop();
});
