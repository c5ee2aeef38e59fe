// Dashboard figures (issue #9; not part of `npm run bench`):
//   node --import tsx bench/dashboard.ts [--events 100000] [--transitions 100]
// 1. replay: a file journal of N events (50 instances flapping, trackers, checkers, virtual
//    servers); the history's first fold, then the state at 50 random moments (nearest snapshot +
//    the events after it): p50 / p99 / max.
// 2. the page in headless Chromium (Debian's), against the dashboard on loopback: time to first
//    render (cold: a new browser, the daemon loads its charts; warm: a reload), the bytes, and
//    event-to-screen latency over M VRRP transitions: from the bus publish to the state cell's
//    change in the page (MutationObserver; both clocks are this host's, sub-millisecond).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { openJournal } from '../adapters/journal/file.js';
import { serveHttp } from '../adapters/http/server.js';
import { Bus } from '../actors/bus.js';
import { History, journalLog } from '../actors/dashboard/history.js';
import { createDashboard } from '../actors/dashboard/routes.js';
import { recordFigures } from './common.js';

const { values } = parseArgs({ options: { events: { type: 'string', default: '100000' }, transitions: { type: 'string', default: '100' } } });
const N = Number(values.events);
const M = Number(values.transitions);
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;
const ms = (x: number) => `${x.toFixed(1)} ms`;
const now = () => performance.timeOrigin + performance.now();

async function replay(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'vigil-dash-bench-'));
  const journal = await openJournal(dir, { syncIntervalMs: 50 });
  let t = Date.parse('2026-11-25T00:00:00Z');
  const bus = new Bus('lb1', () => t);
  bus.subscribe((e) => void journal.append(e.id, e));
  for (let i = 0; i < N; i++) {
    t += 37;
    const inst = `VI_${i % 50}`;
    switch (i % 4) {
      case 0:
        bus.publish('vrrp', inst, 'vrrp.state', { type: 'vrrp.state', instance: inst, vrid: i % 50, from: i % 8 ? 'BACKUP' : 'MASTER', to: i % 8 ? 'MASTER' : 'BACKUP', cause: 'master-down-timeout', priority: 100 });
        break;
      case 1:
        bus.publish('track', `chk_${i % 20}`, 'track.state', { type: 'track.state', tracker: `chk_${i % 20}`, kind: 'script', state: i % 3 ? 'ok' : 'failed', previous: 'ok', cause: 'exit 0', consecutive: 1, weight: 0, reverse: false });
        break;
      case 2: {
        const id = `10.0.${i % 5}.100:80/tcp 10.0.0.${i % 40}:80 TCP_CHECK#0`;
        bus.publish('checker', id, 'checker.state', { type: 'checker.state', checker: id, from: 'up', to: i % 3 ? 'up' : 'down', cause: 'x', first: false, attempts: 1, consecutive: 1, detail: null, latencyMs: 1 });
        break;
      }
      default:
        bus.publish('vs', `10.0.${i % 5}.100:80/tcp`, 'vs.rs', { type: 'vs.rs', vs: `10.0.${i % 5}.100:80/tcp`, rs: `10.0.0.${i % 40}:80`, address: `10.0.0.${i % 40}`, port: 80, state: i % 3 ? 'up' : 'down', cause: 'x', initial: false, weight: 1 });
    }
    if (i % 1000 === 999) await new Promise((r) => setImmediate(r));
  }
  await journal.flush();
  const first = Date.parse('2026-11-25T00:00:00Z');
  const h = new History(journalLog(journal));
  const t0 = performance.now();
  await h.start();
  const fold = performance.now() - t0;
  const b = h.bounds();
  const times: number[] = [];
  let rnd = 42;
  for (let i = 0; i < 50; i++) {
    rnd = (rnd * 1103515245 + 12345) % 2 ** 31;
    const at = first + Math.floor((rnd / 2 ** 31) * (t - first));
    const a = performance.now();
    await h.stateAt({ at });
    times.push(performance.now() - a);
  }
  console.log(`replay: ${N.toLocaleString('en')} events (${(journal.stats().bytes / 2 ** 20).toFixed(1)} MiB journal); first fold ${ms(fold)}; ${b.snapshots} snapshots every ${b.snapshotEvery} events`);
  console.log(`        state at a random moment (50): p50 ${ms(pct(times, 50))}, p99 ${ms(pct(times, 99))}, max ${ms(Math.max(...times))}`);
  recordFigures('dashboard', [
    { name: 'replay: first fold of the whole journal', unit: 'ms', value: fold, note: `${N} events` },
    { name: 'replay: state at a random moment', unit: 'ms', samples: times, note: `${N} events` },
  ]);
  h.close();
  await journal.close();
  await rm(dir, { recursive: true, force: true });
}

async function browser(): Promise<void> {
  const bus = new Bus('lb1');
  const dir = await mkdtemp(join(tmpdir(), 'vigil-dash-bench-'));
  const journal = await openJournal(dir, { syncIntervalMs: 1 });
  bus.subscribe((e) => void journal.append(e.id, e));
  const state = (from: string, to: string) => bus.publish('vrrp', 'VI_1', 'vrrp.state', { type: 'vrrp.state', instance: 'VI_1', vrid: 51, from: from as 'BACKUP', to: to as 'MASTER', cause: 'master-down-timeout', priority: 100 });
  state('INIT', 'BACKUP');
  const dashboard = createDashboard({ node: 'lb1', bus, journal, status: () => ({ node: 'lb1', instances: [] }), log: { warn: () => undefined } });
  const server = await serveHttp({
    listen: '127.0.0.1:0',
    handler: async () => ({ ok: true }),
    metrics: async () => '',
    metricsContentType: 'text/plain',
    health: () => ({ live: true, ready: true }),
    log: { warn: () => undefined },
    routes: dashboard.routes,
  });
  const { chromium } = await import('playwright-core');
  const b = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
  try {
    const page = await b.newPage();
    const render = async () => {
      await page.goto(`http://${server.address}/`);
      await page.waitForFunction(() => performance.getEntriesByName('vigil:first-render').length > 0);
      return page.evaluate(() => performance.getEntriesByName('vigil:first-render')[0]!.startTime);
    };
    const cold = await render();
    // page functions as text: tsx would wrap named arrows in a helper the page does not have
    const weight = (await page.evaluate(`(() => {
      const all = [...performance.getEntriesByType('navigation'), ...performance.getEntriesByType('resource')];
      const kb = (f) => all.filter((e) => f(new URL(e.name).pathname)).reduce((s, e) => s + e.transferSize, 0) / 1024;
      return { page: kb((p) => p === '/' || p.startsWith('/dashboard/')), chart: kb((p) => p.startsWith('/api/charts/')), data: kb((p) => p.startsWith('/api/') && !p.startsWith('/api/charts/')) };
    })()`)) as { page: number; chart: number; data: number };
    const warm = await render();
    console.log(`page:   first render ${ms(cold)} cold (a new browser; the daemon reads its charts once), ${ms(warm)} warm (a reload)`);
    console.log(`        transferred: page ${weight.page.toFixed(1)} KB, chart ${weight.chart.toFixed(1)} KB, state and events ${weight.data.toFixed(1)} KB (uncompressed, no CDN)`);

    // the state cell's changes, timestamped in the page
    await page.waitForSelector('#instances tr[data-key="lb1/vrrp/VI_1"] .state');
    await page.evaluate(`(() => {
      const seen = (window.seen = []);
      const cell = () => document.querySelector('#instances tr[data-key="lb1/vrrp/VI_1"] .state')?.textContent ?? '';
      let last = cell();
      new MutationObserver(() => {
        const c = cell();
        if (c !== last) seen.push([(last = c), performance.timeOrigin + performance.now()]);
      }).observe(document.getElementById('instances'), { childList: true, subtree: true, characterData: true });
    })()`);
    const sent: number[] = [];
    let cur = 'BACKUP';
    for (let i = 0; i < M; i++) {
      const next = cur === 'BACKUP' ? 'MASTER' : 'BACKUP';
      sent.push(now());
      state(cur, next);
      cur = next;
      await new Promise((r) => setTimeout(r, 150));
    }
    await new Promise((r) => setTimeout(r, 500));
    const seen = (await page.evaluate('window.seen')) as [string, number][];
    const lat = sent.map((t0, i) => {
      const want = i % 2 === 0 ? 'MASTER' : 'BACKUP';
      const hit = seen.find(([s, t]) => s === want && t >= t0);
      return hit ? hit[1] - t0 : NaN;
    });
    const ok = lat.filter((x) => !Number.isNaN(x));
    console.log(`        event to screen over ${M} transitions (${ok.length} seen): p50 ${ms(pct(ok, 50))}, p99 ${ms(pct(ok, 99))}, max ${ms(Math.max(...ok))}`);
    recordFigures('dashboard', [
      { name: 'first render, cold (a new browser)', unit: 'ms', value: cold },
      { name: 'first render, warm (a reload)', unit: 'ms', value: warm },
      { name: 'page weight (page, scripts, style)', unit: 'KB', value: weight.page },
      { name: 'event to screen', unit: 'ms', samples: ok, note: `${ok.length} of ${M} transitions seen` },
    ]);
  } finally {
    await b.close();
    await server.close();
    await dashboard.close();
    await journal.close();
    await rm(dir, { recursive: true, force: true });
  }
}

await replay();
await browser();
