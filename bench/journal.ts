// Micro-benchmark of the file journal (not part of `npm run bench`):
//   node --import tsx bench/journal.ts
// 1. burst: 200,000 bus-sized events appended as fast as the event loop allows (yielding every
//    1,000), then flush(): appends/s including the final fsync, fsync count, append() latency.
// 2. paced: 10,000 events/s for 2 s (the load): append() latency p50/p99/max.
// append() must stay in microseconds: it never waits on the disk.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openJournal } from '../adapters/journal/file.js';
import { type FigureInput, recordFigures } from './common.js';

const event = (i: number) => ({
  v: 1, id: '01J9Z3K4M5N6P7Q8R9S0T1V2W3', time: new Date().toISOString(), node: 'lb1', kind: 'vrrp', name: 'VI_1',
  type: 'vrrp.state', correlation: '01J9Z3K4M5N6P7Q8R9S0T1V2W3', data: { from: 'BACKUP', to: 'MASTER', priority: 100, i },
});
const pct = (xs: number[], p: number): number => xs[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;
const us = (ms: number): string => `${(ms * 1000).toFixed(1)} µs`;
/** for bench/journal.json (append latencies in µs: the samples are kept as a histogram's worth) */
const figures: FigureInput[] = [];

async function burst(n: number): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'vigil-journal-bench-'));
  const j = await openJournal(dir);
  const lat = new Float64Array(n);
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const a = performance.now();
    j.append(`id${i}`, event(i));
    lat[i] = performance.now() - a;
    if (i % 1000 === 999) await new Promise((r) => setImmediate(r));
  }
  await j.flush();
  const s = (performance.now() - t0) / 1000;
  const sorted = [...lat].sort((a, b) => a - b);
  console.log(`burst  ${n} appends in ${s.toFixed(2)} s = ${Math.round(n / s).toLocaleString('en')}/s incl. fsync; ` +
    `${j.fsyncs} fsyncs, ${(j.stats().bytes / 2 ** 20).toFixed(1)} MiB; append p50 ${us(pct(sorted, 50))} p99 ${us(pct(sorted, 99))} max ${us(sorted.at(-1)!)}`);
  figures.push({ name: 'burst: appends per second, final fsync included', unit: 'appends/s', value: n / s, note: `${n} appends` });
  figures.push({ name: 'burst: append() latency', unit: 'µs', samples: sorted.map((x) => x * 1000) });
  await j.close();
  await rm(dir, { recursive: true, force: true });
}

async function paced(rate: number, seconds: number): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'vigil-journal-bench-'));
  const j = await openJournal(dir);
  j.ack('nats', 0);
  const lat: number[] = [];
  const t0 = performance.now();
  let i = 0;
  while (performance.now() - t0 < seconds * 1000) {
    const due = Math.floor(((performance.now() - t0) / 1000) * rate);
    for (; i < due; i++) {
      const a = performance.now();
      j.append(`id${i}`, event(i));
      lat.push(performance.now() - a);
      j.ack('nats', i); // a consumer keeping up: cursors.json is saved with every batch
    }
    await new Promise((r) => setTimeout(r, 1));
  }
  await j.flush();
  lat.sort((a, b) => a - b);
  console.log(`paced  ${rate}/s for ${seconds} s: ${i} appends, ${j.fsyncs} fsyncs (${(j.fsyncs / seconds).toFixed(0)}/s, with cursors.json); ` +
    `append p50 ${us(pct(lat, 50))} p99 ${us(pct(lat, 99))} max ${us(lat.at(-1)!)}`);
  figures.push({ name: `paced ${rate}/s: append() latency`, unit: 'µs', samples: lat.map((x) => x * 1000), note: `${i} appends, ${j.fsyncs} fsyncs` });
  await j.close();
  await rm(dir, { recursive: true, force: true });
}

await burst(200_000);
await paced(10_000, 2);
await paced(100, 2);
recordFigures('journal', figures);
