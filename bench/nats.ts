// NATS export benchmark (not wired into package.json): end-to-end latency from bus.publish (the
// transition) to a JetStream subscriber receiving the event, p50/p99 at 100 and 10,000 events/s,
// several runs of each, and the outbox drain rate after a 10,000-event backlog. Writes
// bench/nats.json (recordFigures) and bench/nats.md.
//
// What is measured is the daemon's path: Bus → file journal (adapters/journal/file.ts, default
// options, as `vigil run --journal`) → the export → one local nats-server. The subscriber (an
// ordered consumer) runs in a child process, so its CPU is not charged to the exporter; both
// processes read process.hrtime (CLOCK_MONOTONIC, system-wide), so the latencies are comparable.
//
// Each run starts from scratch (a new stream, journal and subscriber process) and sends at its rate
// for `--warmup` seconds before the `--seconds` that are measured: the first second of a fresh
// process at 10,000 events/s is JIT compilation and heap growth (see nats.md), reported apart as
// "first second" rather than mixed into the steady state. Every run also records how busy the
// machine was (Linux PSI: the share of time some task waited for a CPU), because this benchmark
// needs well over one of the two cores by itself and anything else running shows in its tail.
//
//   node --import tsx bench/nats.ts [--runs N] [--seconds S] [--warmup S] [--rates 100,10000]
//        [--export PATH (another export module, for A/B runs; nothing is written)] [--no-drain]
//        [--storage memory (the stream in memory, to tell the file store's share; nothing is written)]
//   BENCH_SLICES=1 …   also prints each run's latency per 500 ms of arrival time
import { fork, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { connect } from '@nats-io/transport-node';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { Bus } from '../actors/bus.js';
import type { startNatsExport as StartNatsExport } from '../adapters/nats/export.js';
import { natsServerPath, startNatsServer } from '../adapters/nats/server.js';
import { openJournal } from '../adapters/journal/file.js';
import { benchEnv, type FigureInput, recordFigures } from './common.js';

const STREAM = 'BENCH';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** monotonic ms (CLOCK_MONOTONIC, system-wide: comparable across the two processes) */
const mono = () => Number(process.hrtime.bigint()) / 1e6;
const pct = (sorted: readonly number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? NaN;
const ms2 = (x: number) => (Number.isFinite(x) ? x.toFixed(2) : '–');

type ToConsumer = { type: 'expect'; n: number };
type FromConsumer = { type: 'ready' } | { type: 'done'; ids: string[]; at: number[] };

/** The child: an ordered consumer on the stream; reports (id, receive time) once `n` arrived. */
async function consumer(url: string): Promise<void> {
  const nc = await connect({ servers: url });
  const c = await jetstream(nc).consumers.get(STREAM);
  const messages = await c.consume();
  const ids: string[] = [];
  const at: number[] = [];
  let expect = Infinity;
  process.on('message', (m: ToConsumer) => {
    if (m.type !== 'expect') return;
    expect = m.n;
    if (ids.length >= expect) messages.stop();
    else setTimeout(() => messages.stop(), 10_000).unref(); // what has not come by then is lost
  });
  process.send!({ type: 'ready' } satisfies FromConsumer);
  for await (const m of messages) {
    at.push(mono());
    ids.push(m.headers?.get('Nats-Msg-Id') ?? '');
    if (ids.length >= expect) break;
  }
  process.send!({ type: 'done', ids, at } satisfies FromConsumer, () => void nc.close().then(() => process.exit(0)));
}

/** Linux PSI: µs during which some task waited for a CPU, system-wide, so far (NaN without PSI) */
function cpuPressureUs(): number {
  try {
    return Number(/^some .*total=(\d+)/m.exec(readFileSync('/proc/pressure/cpu', 'utf8'))?.[1] ?? NaN);
  } catch {
    return NaN;
  }
}

function emit(bus: Bus, i: number): void {
  bus.publish('vrrp', `VI_${i % 8}`, 'vrrp.state', {
    type: 'vrrp.state', instance: `VI_${i % 8}`, vrid: 51, from: 'BACKUP', to: 'MASTER', cause: 'master-down-timeout', priority: 100,
  });
}

interface Run {
  rate: number;
  run: number;
  sent: number;
  received: number;
  duplicates: number;
  /** latencies (ms) of the events sent in the measured seconds, sorted */
  lat: number[];
  /** of the events sent in the warm-up (the first second of a fresh pipeline), sorted */
  warm: number[];
  /** share of the measured seconds some task waited for a CPU (PSI), % */
  cpuPressure: number;
  load1: number;
  /** worst latency per 500 ms of arrival time (measured part) */
  slices: { at: number; n: number; p50: number; p99: number; max: number }[];
}

async function latency(start: typeof StartNatsExport, url: string, rate: number, run: number, warmMs: number, ms: number, storage: string): Promise<Run> {
  const nc = await connect({ servers: url });
  const jsm = await jetstreamManager(nc);
  await jsm.streams.delete(STREAM).catch(() => {});
  // a diagnosis: the export keeps a stream that is there and fits, so one made beforehand in memory is used as is
  if (storage === 'memory') await jsm.streams.add({ name: STREAM, subjects: ['vigil.bench.>'], storage: 'memory' as never, duplicate_window: 3600e9 });
  await nc.close();
  const dir = await mkdtemp(join(tmpdir(), 'vigil-bench-nats-'));
  const journal = await openJournal(dir);
  const bus = new Bus('b1');
  const sentAt = new Map<string, number>();
  bus.subscribe((e) => { sentAt.set(e.id, mono()); journal.append(e.id, e); });
  const exp = start(journal, { servers: [url], stream: STREAM, cluster: 'bench' });
  while (exp.state() !== 'idle') await sleep(10);

  const child: ChildProcess = fork(import.meta.filename, ['--consumer', url], { execArgv: process.execArgv });
  const done = new Promise<FromConsumer & { type: 'done' }>((res) => child.on('message', (m: FromConsumer) => { if (m.type === 'done') res(m); }));
  await new Promise<void>((res) => child.on('message', (m: FromConsumer) => { if (m.type === 'ready') res(); }));

  // a steady schedule: every 1 ms tick appends what is due (about 10 per tick at 10k/s)
  const t0 = performance.now();
  let sent = 0;
  let measuredFrom = warmMs > 0 ? Infinity : mono();
  let psi0 = cpuPressureUs();
  while (performance.now() - t0 < warmMs + ms) {
    if (measuredFrom === Infinity && performance.now() - t0 >= warmMs) {
      measuredFrom = mono();
      psi0 = cpuPressureUs();
    }
    const due = Math.floor(((performance.now() - t0) / 1000) * rate);
    while (sent < due) emit(bus, sent++);
    await sleep(1);
  }
  const psi1 = cpuPressureUs();
  const measuredMs = mono() - measuredFrom;
  const load1 = loadavg()[0]!;
  child.send({ type: 'expect', n: sent } satisfies ToConsumer);
  const r = await done;
  await exp.close();
  await journal.close();
  await rm(dir, { recursive: true, force: true });

  const lat: number[] = [];
  const warm: number[] = [];
  const seen = new Set<string>();
  let duplicates = 0;
  const bySlice = new Map<number, number[]>();
  r.ids.forEach((id, i) => {
    if (seen.has(id)) duplicates++;
    seen.add(id);
    const t = sentAt.get(id);
    if (t === undefined) return;
    const l = r.at[i]! - t;
    if (t < measuredFrom) return void warm.push(l);
    lat.push(l);
    const k = Math.floor((r.at[i]! - measuredFrom) / 500);
    (bySlice.get(k) ?? bySlice.set(k, []).get(k)!).push(l);
  });
  lat.sort((a, b) => a - b);
  warm.sort((a, b) => a - b);
  const slices = [...bySlice.entries()].sort((a, b) => a[0] - b[0]).map(([k, xs]) => {
    xs.sort((a, b) => a - b);
    return { at: k * 0.5, n: xs.length, p50: pct(xs, 0.5), p99: pct(xs, 0.99), max: xs.at(-1)! };
  });
  return { rate, run, sent, received: seen.size, duplicates, lat, warm, load1, slices, cpuPressure: ((psi1 - psi0) / 1000 / measuredMs) * 100 };
}

async function drain(start: typeof StartNatsExport, url: string, n: number, maxInFlight: number): Promise<number> {
  const nc = await connect({ servers: url });
  await (await jetstreamManager(nc)).streams.delete(STREAM).catch(() => {});
  await nc.close();
  const dir = await mkdtemp(join(tmpdir(), 'vigil-bench-nats-'));
  const journal = await openJournal(dir);
  const bus = new Bus('b1');
  bus.subscribe((e) => journal.append(e.id, e));
  for (let i = 0; i < n; i++) emit(bus, i);
  await journal.flush();
  const t0 = performance.now();
  const exp = start(journal, { servers: [url], stream: STREAM, cluster: 'bench', maxInFlight });
  while (exp.stats().pending > 0) await sleep(2);
  const s = (performance.now() - t0) / 1000;
  await exp.close();
  await journal.close();
  await rm(dir, { recursive: true, force: true });
  return n / s;
}

const line = (r: Run) =>
  `${r.rate} events/s, run ${r.run}: ${r.sent} sent, ${r.received} received, ${r.duplicates} duplicates; ` +
  `p50 ${ms2(pct(r.lat, 0.5))} ms, p99 ${ms2(pct(r.lat, 0.99))} ms, max ${ms2(r.lat.at(-1) ?? NaN)} ms ` +
  `(first second: p99 ${ms2(pct(r.warm, 0.99))}, max ${ms2(r.warm.at(-1) ?? NaN)}); CPU pressure ${r.cpuPressure.toFixed(0)} %, load ${r.load1.toFixed(2)}`;

/** nats.md's explanation of the tail: what bench/nats-trace.ts found (issue #5) */
const TAIL = `- **The first second** of a fresh pipeline at 10,000 events/s (JIT compilation, heap growth in
  three processes) costs 50-300 ms; it is the warm-up above, reported apart.
- **The machine.** At 10,000 events/s the pipeline alone keeps some 1.2-1.4 of the two cores busy: the
  exporting process (bus, journal, export: ~40 µs of CPU per event on its main thread, plus V8's GC
  and compiler threads), nats-server (~30-40 µs per message) and the subscriber (~25-30 µs). Some
  task waits for a CPU 30 % of the time with nothing else running (the CPU pressure column), 50-80 %
  when another benchmark shares the machine, and then a backlog built during any pause drains only
  as fast as the leftover CPU allows: p99 of hundreds of ms.
- **The pauses that remain** on a quiet machine, a few per run, 15-60 ms each (they make the p99):
  nats-server stopping both intake and delivery for ~20-35 ms (they all but go away with memory storage, and
  stay with nats-server at real-time priority, with its GC off (GOGC=off) and with the journal on
  tmpfs: its file store, not CPU, GC or our fsync), and pauses of the exporting or the subscribing
  process (V8 GC, JIT). Not the journal's fdatasync (off the event loop; I/O pressure ~1 %).
- **What the goal needs**: p99 under 5 ms holds here up to about 2,500 events/s; at 10,000 it would
  take a machine where the three processes do not share two cores.

\`node --import tsx bench/nats-trace.ts\` times every step of each event (append, export read,
stored, acked, received) and lines the spikes up with GC pauses, nats-server block rolls and PSI.`;

function markdown(runs: Run[], drains: { maxInFlight: number; rate: number }[], cmd: string): string {
  const env = benchEnv();
  const rows = runs.map((r) => `| ${r.rate} | ${r.run} | ${r.received}/${r.sent} | ${r.duplicates} | ${ms2(pct(r.lat, 0.5))} | ${ms2(pct(r.lat, 0.99))} | ${ms2(r.lat.at(-1) ?? NaN)} | ${ms2(pct(r.warm, 0.99))} | ${r.cpuPressure.toFixed(0)} % | ${r.load1.toFixed(2)} |`);
  const pooled = [...new Set(runs.map((r) => r.rate))].map((rate) => {
    const xs = runs.filter((r) => r.rate === rate).flatMap((r) => r.lat).sort((a, b) => a - b);
    return `| ${rate} | ${xs.length} | ${ms2(pct(xs, 0.5))} | ${ms2(pct(xs, 0.99))} | ${ms2(xs.at(-1) ?? NaN)} |`;
  });
  return [
    '# NATS export: transition → JetStream subscriber (issue #5)',
    '',
    `Generated by \`${cmd}\` on ${env.date} (vigil ${env.vigilCommit}, ${env.cpus} × ${env.cpu}, Node ${env.node}, ` +
    `kernel ${env.kernel}, nats-server from ${natsServerPath()}). The path: Bus → file journal → export → nats-server (file ` +
    'storage, loopback) → an ordered consumer in another process. Goal (issue #5): p99 under 5 ms at 10,000 events/s.',
    '',
    '## Every run',
    '',
    'Latencies of the events sent after the warm-up; "first second" is the warm-up of that fresh pipeline. CPU pressure is the',
    'share of the measured seconds during which some task on the machine waited for a CPU (/proc/pressure/cpu).',
    '',
    '| events/s | run | received | duplicates | p50 ms | p99 ms | max ms | first second p99 ms | CPU pressure | load1 |',
    '|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...rows,
    '',
    '## All runs pooled',
    '',
    '| events/s | events | p50 ms | p99 ms | max ms |',
    '|---:|---:|---:|---:|---:|',
    ...pooled,
    '',
    '## Drain of a 10,000-event backlog',
    '',
    '| maxInFlight | events/s (connect and stream creation included) |',
    '|---:|---:|',
    ...drains.map((d) => `| ${d.maxInFlight} | ${Math.round(d.rate)} |`),
    '',
    '## Where the tail comes from',
    '',
    TAIL,
    '',
  ].join('\n');
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      consumer: { type: 'string' }, export: { type: 'string' }, runs: { type: 'string' }, seconds: { type: 'string' },
      warmup: { type: 'string' }, rates: { type: 'string' }, 'no-drain': { type: 'boolean' }, storage: { type: 'string' },
    },
  });
  if (values.consumer) return consumer(values.consumer);
  if (!natsServerPath()) { console.log('nats-server is not installed; skipping'); return; }
  const runs = Number(values.runs ?? 3);
  const ms = Number(values.seconds ?? 5) * 1000;
  const warmMs = Number(values.warmup ?? 1) * 1000;
  const rates = (values.rates ?? '100,10000').split(',').map(Number);
  const mod = values.export ? pathToFileURL(resolve(values.export)).href : '../adapters/nats/export.js';
  const { startNatsExport } = (await import(mod)) as { startNatsExport: typeof StartNatsExport };
  const server = await startNatsServer({ name: 'bench' });
  const results: Run[] = [];
  const drains: { maxInFlight: number; rate: number }[] = [];
  try {
    // runs of the rates interleaved, so a burst of other work on the machine falls on all of them alike
    for (let k = 1; k <= runs; k++) {
      for (const rate of rates) {
        const r = await latency(startNatsExport, server.url, rate, k, warmMs, ms, values.storage ?? 'file');
        results.push(r);
        console.log(line(r));
        if (process.env.BENCH_SLICES) for (const s of r.slices) console.log(`  ${s.at}s n=${s.n} p50 ${ms2(s.p50)} p99 ${ms2(s.p99)} max ${ms2(s.max)}`);
      }
    }
    if (!values['no-drain']) {
      for (const maxInFlight of [64, 256]) {
        const rate = await drain(startNatsExport, server.url, 10_000, maxInFlight);
        drains.push({ maxInFlight, rate });
        console.log(`drain of a 10000-event backlog (maxInFlight ${maxInFlight}, connect + stream create included): ${Math.round(rate)} events/s`);
      }
    }
  } finally {
    await server.dispose();
  }
  for (const rate of rates) {
    const xs = results.filter((r) => r.rate === rate);
    const all = xs.flatMap((r) => r.lat).sort((a, b) => a - b);
    console.log(`${rate} events/s, ${xs.length} runs pooled: p50 ${ms2(pct(all, 0.5))} ms, p99 ${ms2(pct(all, 0.99))} ms, max ${ms2(all.at(-1) ?? NaN)} ms`);
  }
  if (values.export || values.storage) return; // an A/B run or a diagnosis: nothing written
  const figures: FigureInput[] = [];
  for (const rate of rates) {
    const xs = results.filter((r) => r.rate === rate);
    const lost = xs.reduce((s, r) => s + r.sent - r.received, 0);
    const dup = xs.reduce((s, r) => s + r.duplicates, 0);
    const perRun = xs.map((r) => `p99 ${ms2(pct(r.lat, 0.99))} (CPU pressure ${r.cpuPressure.toFixed(0)} %)`).join(', ');
    figures.push({
      name: `publish → JetStream subscriber at ${rate} events/s`, unit: 'ms', samples: xs.flatMap((r) => r.lat),
      note: `${xs.length} runs of ${ms / 1000} s after a ${warmMs / 1000} s warm-up: ${perRun}; ${lost} lost, ${dup} duplicates`,
    });
    figures.push({
      name: `publish → JetStream subscriber at ${rate} events/s, first second`, unit: 'ms', samples: xs.flatMap((r) => r.warm),
      note: 'the warm-up of each fresh pipeline (JIT, heap growth), not in the figure above',
    });
  }
  for (const d of drains) figures.push({ name: `drain of a backlog, maxInFlight ${d.maxInFlight}`, unit: 'events/s', value: d.rate, note: '10000 events' });
  recordFigures('nats', figures);
  const cmd = `node --import tsx bench/nats.ts${process.argv.slice(2).length ? ' ' + process.argv.slice(2).join(' ') : ''}`;
  writeFileSync(join(dirname(fileURLToPath(import.meta.url)), 'nats.md'), markdown(results, drains, cmd));
  process.stderr.write('nats: wrote bench/nats.md\n');
}

await main();
