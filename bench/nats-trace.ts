// Diagnosis of the NATS export's latency tail (issue #5): bench/nats.ts's 10,000 events/s run with
// a timestamp at every step of each event's path, and the stalls of both processes beside them.
//
//   append   the bus subscriber appends it to the journal (bench/nats.ts's "sent")
//   read     the export's journal reader yields it (the Pump queues it; published on setImmediate)
//   stored   nats-server's store time (the JetStream message's timestamp, wall clock → monotonic)
//   acked    the export's cursor passes it (its PubAck, and every earlier one, arrived)
//   recv     the subscriber (child process) gets it
//
// Beside them, per process: event-loop stalls (a 1 ms interval that fired late by > 4 ms) and GC
// pauses (PerformanceObserver 'gc'), with their times, so a latency spike can be lined up with
// what stopped, and the machine's CPU and I/O pressure (Linux PSI) around every 100 ms window. The
// journal is wrapped, not the export: what is timed is the unmodified module. Every option below
// adds or removes one suspect; the findings are in bench/nats.md ("Where the tail comes from").
//
//   node --import tsx bench/nats-trace.ts
//     --rate N --seconds S       events/s (10,000) and for how long (5)
//     --light                    only append, stored and recv times (the least overhead)
//     --no-reads                 no wrapper on the journal's read (no "read" step)
//     --storage memory           the stream in memory (takes nats-server's file store out)
//     --journal-dir DIR          the journal elsewhere, e.g. /dev/shm (takes our fsync out)
//     --server-log FILE          nats-server's stderr with Go's GC trace (GODEBUG=gctrace=1)
//     --conf TEXT                extra nats-server configuration
//     --max-in-flight N          the export's window (64)
//     --pull N                   the subscriber's max_messages (nats.js default 100)
//     --export PATH              another export module (A/B)
//     --json FILE                every event's times, the stalls and the pressure, for scripts
import { fork, spawn } from 'node:child_process';
import { createConnection } from 'node:net';
import { openSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { PerformanceObserver } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { connect } from '@nats-io/transport-node';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { Bus } from '../actors/bus.js';
import type { startNatsExport as StartNatsExport } from '../adapters/nats/export.js';
import { natsServerPath, startNatsServer } from '../adapters/nats/server.js';
import { openJournal } from '../adapters/journal/file.js';
import type { Journal, JournalEntry } from '../adapters/journal/types.js';

const STREAM = 'BENCH';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** monotonic ms, system-wide (CLOCK_MONOTONIC): comparable across the two processes */
const mono = () => Number(process.hrtime.bigint()) / 1e6;
/** wall clock ns minus monotonic ns at this instant (to map the server's wall-clock timestamps) */
const wallMinusMono = () => (performance.timeOrigin + performance.now()) - mono();

interface Stall { at: number; ms: number; kind: 'loop' | 'gc'; gc?: string }

/** perf_hooks gc entry kinds (NODE_PERFORMANCE_GC_*) */
const GC_KINDS: Record<number, string> = { 1: 'minor', 2: 'major', 4: 'incremental', 8: 'weakcb' };

/** event-loop stalls and GC pauses of this process, in monotonic ms */
function watchStalls(disabled = false): { stalls: Stall[]; stop(): void } {
  const stalls: Stall[] = [];
  if (disabled) return { stalls, stop() {} };
  let last = mono();
  const t = setInterval(() => {
    const now = mono();
    if (now - last > 5) stalls.push({ at: last, ms: now - last - 1, kind: 'loop' });
    last = now;
  }, 1);
  const off = wallMinusMono();
  const obs = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      // entry.startTime is performance.now(): to wall, then to monotonic
      const k = (e as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind ?? 0;
      stalls.push({ at: performance.timeOrigin + e.startTime - off, ms: e.duration, kind: 'gc', gc: GC_KINDS[k] ?? String(k) });
    }
  });
  obs.observe({ entryTypes: ['gc'] });
  return { stalls, stop() { clearInterval(t); obs.disconnect(); } };
}

/** Linux PSI: µs some task waited for the CPU / for I/O, system-wide (cumulative); null without PSI */
function pressure(): { cpu: number; io: number } | null {
  try {
    const total = (f: string) => Number(/^some .*total=(\d+)/m.exec(readFileSync(f, 'utf8'))?.[1] ?? NaN);
    return { cpu: total('/proc/pressure/cpu'), io: total('/proc/pressure/io') };
  } catch {
    return null;
  }
}

/** PSI sampled every 10 ms: [monotonic ms, cpu µs, io µs] */
function watchPressure(): { samples: [number, number, number][]; stop(): void } {
  const samples: [number, number, number][] = [];
  const t = setInterval(() => { const p = pressure(); if (p) samples.push([mono(), p.cpu, p.io]); }, 10);
  return { samples, stop() { clearInterval(t); } };
}

type FromConsumer = { type: 'ready' } | { type: 'done'; ids: string[]; recv: number[]; stored: number[]; stalls: Stall[]; cpuMs: number };

/** CPU time (user + system) of a process so far, in ms, from /proc (Linux) */
function cpuMsOf(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(f[11]) + Number(f[12])) * 1000) / 100; // utime, stime in clock ticks (USER_HZ 100)
  } catch {
    return NaN;
  }
}

async function consumer(url: string, pull: number, light: boolean): Promise<void> {
  const w = watchStalls(light);
  const off = wallMinusMono();
  const nc = await connect({ servers: url });
  const c = await jetstream(nc).consumers.get(STREAM);
  const messages = await c.consume(pull ? { max_messages: pull } : {});
  const ids: string[] = [];
  const recv: number[] = [];
  const stored: number[] = [];
  let expect = Infinity;
  process.on('message', (m: { type: 'expect'; n: number }) => {
    expect = m.n;
    if (ids.length >= expect) messages.stop();
    else setTimeout(() => messages.stop(), 10_000).unref();
  });
  process.send!({ type: 'ready' } satisfies FromConsumer);
  let cpu0 = NaN;
  for await (const m of messages) {
    if (ids.length === 0) cpu0 = cpuMsOf(process.pid);
    recv.push(mono());
    stored.push(m.info.timestampNanos / 1e6 - off);
    ids.push(m.headers?.get('Nats-Msg-Id') ?? '');
    if (ids.length >= expect) break;
  }
  w.stop();
  const cpuMs = cpuMsOf(process.pid) - cpu0;
  process.send!({ type: 'done', ids, recv, stored, stalls: w.stalls, cpuMs } satisfies FromConsumer, () => void nc.close().then(() => process.exit(0)));
}

/** the journal with the export's reads and acks timed */
function traced(j: Journal, readAt: Map<number, number>, ackAt: Map<number, number>, reads: boolean): Journal {
  let acked = 0;
  return new Proxy(j, {
    get(target, prop, recv) {
      if (prop === 'read' && reads) {
        return (after?: number, opts?: Parameters<Journal['read']>[1]) => {
          const it = target.read(after, opts);
          return (async function* () {
            for await (const e of it as AsyncIterable<JournalEntry>) {
              if (!readAt.has(e.seq)) readAt.set(e.seq, mono());
              yield e;
            }
          })();
        };
      }
      if (prop === 'ack') {
        return (name: string, seq: number) => {
          const now = mono();
          for (let s = acked + 1; s <= seq; s++) ackAt.set(s, now);
          acked = Math.max(acked, seq);
          target.ack(name, seq);
        };
      }
      const v = Reflect.get(target, prop, recv) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

/**
 * nats-server with its stderr in `log` and Go's GC trace on (GODEBUG=gctrace=1: one line per GC,
 * with its time since start and its pauses), on a fixed free port; for lining GCs up with stalls.
 */
async function serverWithLog(log: string, extraConf: string): Promise<{ url: string; pid: number; dispose(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'vigil-trace-nats-'));
  await mkdir(join(dir, 'js'));
  const port = 20_000 + Math.floor(Math.random() * 20_000);
  writeFileSync(join(dir, 'nats.conf'), `listen: "127.0.0.1:${port}"\njetstream { store_dir: ${JSON.stringify(join(dir, 'js'))} }\n${extraConf}\n`);
  const fd = openSync(log, 'w');
  const c = spawn(natsServerPath()!, ['-c', join(dir, 'nats.conf')], { stdio: ['ignore', fd, fd], env: { ...process.env, GODEBUG: 'gctrace=1' } });
  writeFileSync(log + '.start', String(mono())); // gctrace's @Ns counts from about here
  for (let i = 0; ; i++) {
    const ok = await new Promise<boolean>((res) => { const s = createConnection({ host: '127.0.0.1', port }, () => { s.destroy(); res(true); }); s.on('error', () => res(false)); });
    if (ok) break;
    if (i > 200) throw new Error('nats-server did not start');
    await sleep(20);
  }
  return {
    url: `nats://127.0.0.1:${port}`, pid: c.pid!,
    async dispose() { c.kill('SIGKILL'); await new Promise((r) => c.once('exit', r)); await rm(dir, { recursive: true, force: true }); },
  };
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(s.length * p))] ?? NaN;
};
const f2 = (x: number) => x.toFixed(2);

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      consumer: { type: 'string' }, rate: { type: 'string' }, seconds: { type: 'string' },
      storage: { type: 'string' }, 'no-reads': { type: 'boolean' }, light: { type: 'boolean' }, 'journal-dir': { type: 'string' },
      'max-in-flight': { type: 'string' }, 'server-log': { type: 'string' }, pull: { type: 'string' }, export: { type: 'string' },
      conf: { type: 'string' }, json: { type: 'string' },
    },
  });
  if (values.consumer) return consumer(values.consumer, Number(values.pull ?? 0), !!values.light);
  if (!natsServerPath()) { console.log('nats-server is not installed; skipping'); return; }
  const rate = Number(values.rate ?? 10_000);
  const ms = Number(values.seconds ?? 5) * 1000;
  const mod = values.export ? pathToFileURL(resolve(values.export)).href : '../adapters/nats/export.js';
  const { startNatsExport } = (await import(mod)) as { startNatsExport: typeof StartNatsExport };
  const server = values['server-log'] ? await serverWithLog(values['server-log'], values.conf ?? '')
    : await startNatsServer({ name: 'trace', ...(values.conf ? { extraConf: values.conf } : {}) });
  const dir = await mkdtemp(join(values['journal-dir'] ?? tmpdir(), 'vigil-trace-'));
  try {
    if (values.storage === 'memory') {
      // created before the export connects: it checks (and keeps) an existing stream
      const nc = await connect({ servers: server.url });
      await (await jetstreamManager(nc)).streams.add({ name: STREAM, subjects: ['vigil.bench.>'], storage: 'memory' as never, duplicate_window: 3600e9 });
      await nc.close();
    }
    const journal = await openJournal(dir);
    const readAt = new Map<number, number>();
    const ackAt = new Map<number, number>();
    const bus = new Bus('b1');
    const appendAt = new Map<string, { seq: number; at: number }>();
    bus.subscribe((e) => { const at = mono(); appendAt.set(e.id, { seq: journal.append(e.id, e), at }); });
    const exp = startNatsExport(values.light ? journal : traced(journal, readAt, ackAt, !values['no-reads']), {
      servers: [server.url], stream: STREAM, cluster: 'bench', ...(values['max-in-flight'] ? { maxInFlight: Number(values['max-in-flight']) } : {}),
    });
    while (exp.state() !== 'idle') await sleep(10);
    const child = fork(import.meta.filename, ['--consumer', server.url, ...(values.pull ? ['--pull', values.pull] : []), ...(values.light ? ['--light'] : [])], { execArgv: process.execArgv });
    const done = new Promise<FromConsumer & { type: 'done' }>((res) => child.on('message', (m: FromConsumer) => { if (m.type === 'done') res(m); }));
    await new Promise<void>((res) => child.on('message', (m: FromConsumer) => { if (m.type === 'ready') res(); }));

    console.error(`producer pid ${process.pid} ready`);
    const w = watchStalls(values.light);
    const psi = watchPressure();
    const serverPid = server.pid ?? 0;
    const cpu0 = { producer: cpuMsOf(process.pid), server: cpuMsOf(serverPid) };
    const t0 = performance.now();
    let sent = 0;
    while (performance.now() - t0 < ms) {
      const due = Math.floor(((performance.now() - t0) / 1000) * rate);
      while (sent < due) {
        const i = sent++;
        bus.publish('vrrp', `VI_${i % 8}`, 'vrrp.state', {
          type: 'vrrp.state', instance: `VI_${i % 8}`, vrid: 51, from: 'BACKUP', to: 'MASTER', cause: 'master-down-timeout', priority: 100,
        });
      }
      await sleep(1);
    }
    child.send({ type: 'expect', n: sent });
    const r = await done;
    psi.stop();
    const cpu = { producer: cpuMsOf(process.pid) - cpu0.producer, server: cpuMsOf(serverPid) - cpu0.server, consumer: r.cpuMs };
    w.stop();
    const fsyncs = journal.fsyncs;
    await exp.close();
    await journal.close();

    let psiWins: unknown = null;
    // per event: the step durations
    const rows = r.ids.map((id, i) => {
      const a = appendAt.get(id)!;
      return { seq: a.seq, append: a.at, read: readAt.get(a.seq) ?? NaN, stored: r.stored[i]!, acked: ackAt.get(a.seq) ?? NaN, recv: r.recv[i]! };
    });
    const steps = {
      'append→read': rows.map((x) => x.read - x.append),
      'read→stored': rows.map((x) => x.stored - x.read),
      'stored→acked': rows.map((x) => x.acked - x.stored),
      'stored→recv': rows.map((x) => x.recv - x.stored),
      'append→recv': rows.map((x) => x.recv - x.append),
    };
    console.log(`${rate} events/s for ${ms / 1000} s, storage ${values.storage ?? 'file'}: ${sent} sent, ${rows.length} received, journal fsyncs ${fsyncs}`);
    console.log(`  CPU per event: ${Object.entries(cpu).map(([k, v]) => `${k} ${f2((v * 1000) / sent)} µs`).join(', ')} ` +
      `(${Object.entries(cpu).map(([k, v]) => `${k} ${Math.round((v / (performance.now() - t0)) * 100)} %`).join(', ')} of a core over the run)`);
    for (const [k, xs] of Object.entries(steps)) console.log(`  ${k.padEnd(14)} p50 ${f2(pct(xs, 0.5))}  p99 ${f2(pct(xs, 0.99))}  max ${f2(pct(xs, 1))} ms`);
    // the worst 100 ms windows by append→recv max, with what stalled in and just before them
    const start = rows[0]?.append ?? 0;
    const win = new Map<number, typeof rows>();
    for (const x of rows) { const k = Math.floor((x.append - start) / 100); (win.get(k) ?? win.set(k, []).get(k)!).push(x); }
    const worst = [...win.entries()].map(([k, xs]) => ({ k, xs, max: Math.max(...xs.map((x) => x.recv - x.append)) }))
      .sort((a, b) => b.max - a.max).slice(0, 8).sort((a, b) => a.k - b.k);
    const around = (stalls: Stall[], from: number, to: number) => stalls.filter((s) => s.at + s.ms >= from && s.at <= to)
      .map((s) => `${s.gc ?? s.kind}@${f2(s.at - start)}+${f2(s.ms)}`).join(' ');
    for (const { k, xs, max } of worst) {
      const worstRow = xs.reduce((a, b) => (b.recv - b.append > a.recv - a.append ? b : a));
      const from = k * 100 + start - 50;
      const to = Math.max(...xs.map((x) => x.recv));
      console.log(`  window ${k * 100} ms: max ${f2(max)} (worst: read +${f2(worstRow.read - worstRow.append)}, stored +${f2(worstRow.stored - worstRow.append)}, ` +
        `acked +${f2(worstRow.acked - worstRow.append)}, recv +${f2(worstRow.recv - worstRow.append)})`);
      console.log(`    producer: ${around(w.stalls, from, to) || '-'}`);
      console.log(`    consumer: ${around(r.stalls, from, to) || '-'}`);
    }
    // system-wide pressure per 100 ms window of arrival (recv) time, beside that window's worst latency
    if (psi.samples.length > 2) {
      const psiAt = (t: number, k: 1 | 2) => {
        let i = psi.samples.findIndex((x) => x[0] >= t);
        if (i < 0) i = psi.samples.length - 1;
        return psi.samples[i]![k];
      };
      const byWin = new Map<number, number>();
      for (const x of rows) { const k = Math.floor((x.recv - start) / 100); byWin.set(k, Math.max(byWin.get(k) ?? 0, x.recv - x.append)); }
      const wins = [...byWin.entries()].sort((a, b) => a[0] - b[0]).map(([k, lat]) => {
        const a = start + k * 100 - 100; // the window and the one before it: a backlog is built before it arrives
        const b = start + k * 100 + 100;
        return { k, lat, cpu: (psiAt(b, 1) - psiAt(a, 1)) / 2000, io: (psiAt(b, 2) - psiAt(a, 2)) / 2000 }; // % of the 200 ms
      });
      const hi = wins.filter((x) => x.lat > 10);
      const lo = wins.filter((x) => x.lat <= 10);
      const avg = (xs: typeof wins, f: (x: (typeof wins)[number]) => number) => (xs.length ? xs.reduce((s2, x) => s2 + f(x), 0) / xs.length : NaN);
      console.log(`  PSI (some task waiting), 200 ms around each 100 ms window: windows with max latency > 10 ms (${hi.length}): ` +
        `CPU ${f2(avg(hi, (x) => x.cpu))} %, I/O ${f2(avg(hi, (x) => x.io))} %; the others (${lo.length}): CPU ${f2(avg(lo, (x) => x.cpu))} %, I/O ${f2(avg(lo, (x) => x.io))} %`);
      if (values.json) psiWins = wins;
    }
    const sum = (s: Stall[], kind: Stall['kind']) => s.filter((x) => x.kind === kind);
    for (const [who, s] of [['producer', w.stalls], ['consumer', r.stalls]] as const) {
      const gc = sum(s, 'gc');
      const loop = sum(s, 'loop');
      const major = gc.filter((x) => x.gc !== 'minor');
      console.log(`  ${who}: ${gc.length} GCs (total ${f2(gc.reduce((a, b) => a + b.ms, 0))} ms, max ${f2(Math.max(0, ...gc.map((x) => x.ms)))}; ` +
        `${major.length} not scavenges, max ${f2(Math.max(0, ...major.map((x) => x.ms)))}), ` +
        `${loop.length} loop stalls > 4 ms (max ${f2(Math.max(0, ...loop.map((x) => x.ms)))})`);
    }
    if (values.json) writeFileSync(values.json, JSON.stringify({ rows, producer: w.stalls, consumer: r.stalls, psi: psiWins }));
  } finally {
    await server.dispose();
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
