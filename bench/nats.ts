// NATS export benchmark (not wired into package.json): end-to-end latency from journal.append to a
// JetStream ordered consumer receiving the event, p50/p99 at 100 and 10,000 events/s for 5 s
// each, and the outbox drain rate after a 10,000-event backlog. One local nats-server
// (adapters/nats/server.ts), the in-memory journal stub (the file journal adds its own cost).
//   node --import tsx bench/nats.ts
import { performance } from 'node:perf_hooks';
import { connect } from '@nats-io/transport-node';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { Bus } from '../actors/bus.js';
import { startNatsExport } from '../adapters/nats/export.js';
import { natsServerPath, startNatsServer } from '../adapters/nats/server.js';
import { JournalStub } from '../test/fakes/journalStub.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pct = (xs: number[], p: number) => xs[Math.min(xs.length - 1, Math.floor(xs.length * p))] ?? NaN;

async function main(): Promise<void> {
  if (!natsServerPath()) { console.log('nats-server is not installed; skipping'); return; }
  const server = await startNatsServer({ name: 'bench' });
  try {
    for (const rate of [100, 10_000]) await latency(server.url, rate, 5000);
    await drain(server.url, 10_000);
  } finally {
    await server.dispose();
  }
}

async function latency(url: string, rate: number, ms: number): Promise<void> {
  const nc = await connect({ servers: url });
  const jsm = await jetstreamManager(nc);
  await jsm.streams.delete('BENCH').catch(() => {});
  const journal = new JournalStub();
  const bus = new Bus('b1');
  const sentAt = new Map<string, number>();
  bus.subscribe((e) => { sentAt.set(e.id, performance.now()); journal.append(e.id, e); });
  const exp = startNatsExport(journal, { servers: [url], stream: 'BENCH', cluster: 'bench' });
  while (exp.state() !== 'idle') await sleep(10);

  const lat: number[] = [];
  const c = await jetstream(nc).consumers.get('BENCH');
  const messages = await c.consume();
  const reader = (async () => {
    for await (const m of messages) {
      const t = sentAt.get(m.headers?.get('Nats-Msg-Id') ?? '');
      if (t !== undefined) lat.push(performance.now() - t);
    }
  })();

  // a steady schedule: every 1 ms tick appends what is due (10 per tick at 10k/s)
  const t0 = performance.now();
  let sent = 0;
  while (performance.now() - t0 < ms) {
    const due = Math.floor(((performance.now() - t0) / 1000) * rate);
    while (sent < due) {
      bus.publish('vrrp', `VI_${sent % 8}`, 'vrrp.state', {
        type: 'vrrp.state', instance: `VI_${sent % 8}`, from: 'BACKUP', to: 'MASTER', cause: 'master-down-timeout', priority: 100,
      });
      sent++;
    }
    await sleep(1);
  }
  const deadline = Date.now() + 10_000;
  while (lat.length < sent && Date.now() < deadline) await sleep(20);
  messages.stop();
  await reader;
  await exp.close();
  await nc.close();
  lat.sort((a, b) => a - b);
  console.log(`${rate} events/s for ${ms / 1000} s: ${sent} sent, ${lat.length} received; ` +
    `latency p50 ${pct(lat, 0.5).toFixed(2)} ms, p99 ${pct(lat, 0.99).toFixed(2)} ms, max ${lat.at(-1)?.toFixed(2)} ms`);
}

async function drain(url: string, n: number): Promise<void> {
  const nc = await connect({ servers: url });
  const jsm = await jetstreamManager(nc);
  await jsm.streams.delete('BENCH').catch(() => {});
  const journal = new JournalStub();
  const bus = new Bus('b1');
  bus.subscribe((e) => journal.append(e.id, e));
  for (let i = 0; i < n; i++) {
    bus.publish('vrrp', `VI_${i % 8}`, 'vrrp.state', {
      type: 'vrrp.state', instance: `VI_${i % 8}`, from: 'BACKUP', to: 'MASTER', cause: 'master-down-timeout', priority: 100,
    });
  }
  for (const maxInFlight of [64, 256]) {
    await jsm.streams.delete('BENCH').catch(() => {});
    const j = new JournalStub();
    for (const e of journal.entries) j.append(e.id, e.event);
    const t0 = performance.now();
    const exp = startNatsExport(j, { servers: [url], stream: 'BENCH', cluster: 'bench', maxInFlight });
    while (exp.stats().pending > 0) await sleep(2);
    const s = (performance.now() - t0) / 1000;
    console.log(`drain of a ${n}-event backlog (maxInFlight ${maxInFlight}, connect + stream create included): ` +
      `${s.toFixed(2)} s, ${Math.round(n / s)} events/s`);
    await exp.close();
  }
  await nc.close();
}

await main();
