// NATS export benchmark (not wired into package.json): end-to-end latency from bus.publish (the
// transition) to a JetStream subscriber receiving the event, p50/p99 at 100 and 10,000 events/s
// for 5 s each, and the outbox drain rate after a 10,000-event backlog.
//
// What is measured is the daemon's path: Bus → file journal (adapters/journal/file.ts, default
// options, as `vigil run --journal`) → the export → one local nats-server. The subscriber (an
// ordered consumer) runs in a child process, so its CPU is not charged to the exporter; both
// processes read process.hrtime (CLOCK_MONOTONIC, system-wide), so the latencies are comparable.
//   node --import tsx bench/nats.ts [--export PATH]   (PATH: another export module, for A/B runs)
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { connect } from '@nats-io/transport-node';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { Bus } from '../actors/bus.js';
import type { startNatsExport as StartNatsExport } from '../adapters/nats/export.js';
import { natsServerPath, startNatsServer } from '../adapters/nats/server.js';
import { openJournal } from '../adapters/journal/file.js';
import { type FigureInput, recordFigures } from './common.js';

const STREAM = 'BENCH';
/** for bench/nats.json: written only when the default export module ran (not on --export A/B runs) */
const figures: FigureInput[] = [];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pct = (xs: number[], p: number) => xs[Math.min(xs.length - 1, Math.floor(xs.length * p))] ?? NaN;
const nowNs = () => process.hrtime.bigint();

type ToConsumer = { type: 'expect'; n: number };
type FromConsumer = { type: 'ready' } | { type: 'done'; ids: string[]; at: string[] };

/** The child: an ordered consumer on the stream; reports (id, receive time) once `n` arrived. */
async function consumer(url: string): Promise<void> {
  const nc = await connect({ servers: url });
  const c = await jetstream(nc).consumers.get(STREAM);
  const messages = await c.consume();
  const ids: string[] = [];
  const at: bigint[] = [];
  let expect = Infinity;
  process.on('message', (m: ToConsumer) => {
    if (m.type !== 'expect') return;
    expect = m.n;
    if (ids.length >= expect) messages.stop();
    else setTimeout(() => messages.stop(), 10_000).unref(); // what has not come by then is lost
  });
  process.send!({ type: 'ready' } satisfies FromConsumer);
  for await (const m of messages) {
    at.push(nowNs());
    ids.push(m.headers?.get('Nats-Msg-Id') ?? '');
    if (ids.length >= expect) break;
  }
  process.send!({ type: 'done', ids, at: at.map(String) } satisfies FromConsumer, () => void nc.close().then(() => process.exit(0)));
}

function emit(bus: Bus, i: number): void {
  bus.publish('vrrp', `VI_${i % 8}`, 'vrrp.state', {
    type: 'vrrp.state', instance: `VI_${i % 8}`, vrid: 51, from: 'BACKUP', to: 'MASTER', cause: 'master-down-timeout', priority: 100,
  });
}

async function latency(start: typeof StartNatsExport, url: string, rate: number, ms: number): Promise<string> {
  const nc = await connect({ servers: url });
  await (await jetstreamManager(nc)).streams.delete(STREAM).catch(() => {});
  await nc.close();
  const dir = await mkdtemp(join(tmpdir(), 'vigil-bench-nats-'));
  const journal = await openJournal(dir);
  const bus = new Bus('b1');
  const sentAt = new Map<string, bigint>();
  bus.subscribe((e) => { sentAt.set(e.id, nowNs()); journal.append(e.id, e); });
  const exp = start(journal, { servers: [url], stream: STREAM, cluster: 'bench' });
  while (exp.state() !== 'idle') await sleep(10);

  const child: ChildProcess = fork(import.meta.filename, ['--consumer', url], { execArgv: process.execArgv });
  const done = new Promise<FromConsumer & { type: 'done' }>((res) => child.on('message', (m: FromConsumer) => { if (m.type === 'done') res(m); }));
  await new Promise<void>((res) => child.on('message', (m: FromConsumer) => { if (m.type === 'ready') res(); }));

  // a steady schedule: every 1 ms tick appends what is due (about 10 per tick at 10k/s)
  const t0 = performance.now();
  let sent = 0;
  while (performance.now() - t0 < ms) {
    const due = Math.floor(((performance.now() - t0) / 1000) * rate);
    while (sent < due) emit(bus, sent++);
    await sleep(1);
  }
  child.send({ type: 'expect', n: sent } satisfies ToConsumer);
  const r = await done;
  const s = exp.stats();
  await exp.close();
  await journal.close();
  await rm(dir, { recursive: true, force: true });
  const lat: number[] = [];
  const seen = new Set<string>();
  let dup = 0;
  r.ids.forEach((id, i) => {
    if (seen.has(id)) dup++;
    seen.add(id);
    const t = sentAt.get(id);
    if (t !== undefined) lat.push(Number(BigInt(r.at[i]!) - t) / 1e6);
  });
  if (process.env.BENCH_SLICES) {
    // latency by arrival slice of 500 ms, to see where the tail is
    const t0n = r.at.length ? BigInt(r.at[0]!) : 0n;
    const slices = new Map<number, number[]>();
    r.ids.forEach((id, i) => {
      const t = sentAt.get(id);
      if (t === undefined) return;
      const k = Number((BigInt(r.at[i]!) - t0n) / 500_000_000n);
      (slices.get(k) ?? slices.set(k, []).get(k)!).push(Number(BigInt(r.at[i]!) - t) / 1e6);
    });
    for (const [k, xs] of slices) { xs.sort((a, b) => a - b); console.log(`  ${k * 0.5}s n=${xs.length} p50 ${pct(xs, 0.5).toFixed(2)} p99 ${pct(xs, 0.99).toFixed(2)} max ${xs.at(-1)!.toFixed(2)}`); }
  }
  lat.sort((a, b) => a - b);
  figures.push({ name: `publish → JetStream subscriber at ${rate} events/s`, unit: 'ms', samples: lat, note: `${seen.size} of ${sent} received, ${dup} duplicates` });
  return `${rate} events/s for ${ms / 1000} s: ${sent} sent, ${seen.size} received (${dup} duplicates, ` +
    `${s.duplicates} deduped by the server); latency p50 ${pct(lat, 0.5).toFixed(2)} ms, p99 ${pct(lat, 0.99).toFixed(2)} ms, ` +
    `max ${lat.at(-1)?.toFixed(2)} ms`;
}

async function drain(start: typeof StartNatsExport, url: string, n: number, maxInFlight: number): Promise<string> {
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
  figures.push({ name: `drain of a backlog, maxInFlight ${maxInFlight}`, unit: 'events/s', value: n / s, note: `${n} events` });
  return `drain of a ${n}-event backlog (maxInFlight ${maxInFlight}, connect + stream create included): ` +
    `${s.toFixed(2)} s, ${Math.round(n / s)} events/s`;
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({ options: { consumer: { type: 'boolean' }, export: { type: 'string' } }, allowPositionals: true });
  if (values.consumer) return consumer(positionals[0]!);
  if (!natsServerPath()) { console.log('nats-server is not installed; skipping'); return; }
  const mod = values.export ? pathToFileURL(resolve(values.export)).href : '../adapters/nats/export.js';
  const { startNatsExport } = (await import(mod)) as { startNatsExport: typeof StartNatsExport };
  const server = await startNatsServer({ name: 'bench' });
  try {
    for (const rate of [100, 10_000]) console.log(await latency(startNatsExport, server.url, rate, 5000));
    for (const maxInFlight of [64, 256]) console.log(await drain(startNatsExport, server.url, 10_000, maxInFlight));
    if (!values.export) recordFigures('nats', figures);
  } finally {
    await server.dispose();
  }
}

await main();
