// bench/metrics-scrape.ts: what a Prometheus scrape of /metrics costs a daemon with N instances,
// and how long it holds the event loop at a stretch (VRRP timers wait that long).
//
// N vrrp_instances (250 VRIDs per interface) run in one Daemon over the in-memory LAN and fake IP
// stack (test/fakes), all MASTER after a simulated 5 s; then ROUNDS scrapes, each timed, with a
// setImmediate ticker measuring the longest gap between two turns of the loop during the scrape.
// GC pauses (perf_hooks 'gc' entries) are reported apart: they land in the gaps too.
//
//   node --import tsx bench/metrics-scrape.ts                 (N = 100 and 1000)
//   BENCH_SIZES=100 BENCH_ROUNDS=30 node --import tsx bench/metrics-scrape.ts
import { PerformanceObserver, performance } from 'node:perf_hooks';
import { SimulatedClock } from 'xstate';
import { parse } from '../test/helpers.js';
import { createMemoryLan } from '../test/fakes/vrrpNet.js';
import { FakeIpNet } from '../test/fakes/ipNet.js';
import { Bus } from '../actors/bus.js';
import { Daemon } from '../actors/daemon.js';
import { DaemonHealth } from '../actors/health.js';
import { silentLogger } from '../actors/log.js';
import { createMetrics } from '../actors/metrics.js';

const SIZES = (process.env.BENCH_SIZES ?? '100,1000').split(',').map(Number);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 15);

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

async function measure(n: number) {
  let text = 'global_defs {\n  router_id bench\n}\n';
  const ifs: Record<string, string[]> = {};
  for (let i = 0; i < n; i++) {
    const k = Math.floor(i / 250);
    ifs[`eth${k}`] = [`10.${k}.0.1`];
    text += `vrrp_instance VI_${i} {\n  interface eth${k}\n  virtual_router_id ${(i % 250) + 1}\n  priority 100\n  advert_int 1\n  virtual_ipaddress {\n    10.100.${k}.${i % 250}/32\n  }\n}\n`;
  }
  const clock = new SimulatedClock();
  const bus = new Bus('bench', () => clock.now());
  const daemon = new Daemon(parse(text).config, { net: createMemoryLan().net('bench', ifs), ip: new FakeIpNet(), log: silentLogger(), bus, clock });
  const health = new DaemonHealth(bus);
  const metrics = createMetrics({ daemon, version: 'bench', health: health.report, processMetrics: false });
  await daemon.start();
  for (let t = 0; t < 5000; t += 50) {
    clock.increment(50);
    await new Promise((r) => setImmediate(r));
  }
  for (let i = 0; i < 3; i++) await metrics.text();

  const gcs: number[] = [];
  const gc = new PerformanceObserver((l) => gcs.push(...l.getEntries().map((e) => e.duration)));
  gc.observe({ entryTypes: ['gc'] });
  const times: number[] = [];
  const blocks: number[] = [];
  let bytes = 0;
  for (let r = 0; r < ROUNDS; r++) {
    let longest = 0;
    let last = performance.now();
    let running = true;
    const tick = () => {
      const now = performance.now();
      longest = Math.max(longest, now - last);
      last = now;
      if (running) setImmediate(tick);
    };
    setImmediate(tick);
    const t0 = performance.now();
    bytes = (await metrics.text()).length;
    times.push(performance.now() - t0);
    running = false;
    blocks.push(longest);
    await new Promise((r) => setTimeout(r, 10));
  }
  gc.disconnect();
  await daemon.stop();
  metrics.close();
  health.close();
  return {
    instances: n,
    bytes,
    scrapeMs: +median(times).toFixed(1),
    longestTurnMs: +median(blocks).toFixed(1),
    longestTurnWorstMs: +Math.max(...blocks).toFixed(1),
    gcPauseWorstMs: +Math.max(0, ...gcs).toFixed(1),
  };
}

const rows = [];
for (const n of SIZES) rows.push(await measure(n));
console.table(rows);
