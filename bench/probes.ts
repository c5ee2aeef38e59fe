// The cost of checker probes (adapters/checkers) in the process that runs them: N TCP_CHECK or
// HTTP_GET probes of distinct real servers, spread evenly over one delay_loop, against listeners
// in a child process (so their CPU is not counted here). Reports wall time, this process's CPU
// time per probe, probe latency and event-loop delay.
//   node --import tsx bench/probes.ts [n=1000] [delayLoopMs=1000] [rounds=5]
import { spawn } from 'node:child_process';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createProber } from '../adapters/checkers/index.js';
import type { Checker } from '../adapters/config/model.js';

const n = Number(process.argv[2] ?? 1000);
const delayLoopMs = Number(process.argv[3] ?? 1000);
const rounds = Number(process.argv[4] ?? 5);
const loc = { file: 'bench', line: 1, col: 1 };

// the servers: one TCP listener and one HTTP listener per real server would be 2N ports; one of
// each is enough, since every probe opens its own connection whatever the port
const SERVER = `
const net = require('net'), http = require('http');
const t = net.createServer((c) => c.on('error', () => {}).resume().end());
const h = http.createServer((q, r) => r.end('ok\\n'));
h.keepAliveTimeout = 0;
t.listen(0, '127.0.0.1', () => h.listen(0, '127.0.0.1', () => process.send([t.address().port, h.address().port])));
`;

async function main() {
  const child = spawn(process.execPath, ['-e', SERVER], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const [tcpPort, httpPort] = await new Promise<[number, number]>((r) => child.once('message', (m) => r(m as [number, number])));
  const prober = createProber();
  const checkers: [string, Checker, number][] = [
    ['TCP_CHECK', { type: 'TCP_CHECK', loc }, tcpPort],
    ['HTTP_GET', { type: 'HTTP_GET', loc, urls: [{ loc, path: '/', statusCodes: [], regexNoMatch: false, digest: 'bb4a3cd3e1bd4c3e1ebbcdb7a9c8b1a4' }] }, httpPort],
  ];
  console.log(`${n} probes per ${delayLoopMs} ms, ${rounds} rounds, listeners in another process (Node ${process.version})`);
  const noop = async () => ({ ok: true, detail: '', latencyMs: 0 });
  type Run = [string, (c: Checker, port: number) => Promise<{ ok: boolean; latencyMs: number }>, Checker, number];
  const runs: Run[] = [
    // the same timers without probing: what the measuring costs, to subtract
    ['timers only', noop, checkers[0]![1], tcpPort],
    ...checkers.map(([name, c, port]) => [name, (ck: Checker, p: number) => prober.probe(ck, { address: '127.0.0.1', port: p, family: 4 }, { timeoutMs: 5000 }), c, port] as Run),
  ];
  for (const [name, probe, checker, port] of runs) {
    const h = monitorEventLoopDelay({ resolution: 10 });
    const latencies: number[] = [];
    let failed = 0;
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    h.enable();
    for (let round = 0; round < rounds; round++) {
      // each checker its own timer, spread over the delay_loop, as the checker actors run them
      await Promise.all(Array.from({ length: n }, (_, i) => new Promise<void>((done) => setTimeout(() => {
        probe(checker, port).then((r) => {
          latencies.push(r.latencyMs);
          // HTTP's digest is wrong on purpose: the whole response is read, hashed and judged
          if (r.ok !== (name !== 'HTTP_GET')) failed++;
          done();
        });
      }, (i * delayLoopMs) / n))));
    }
    h.disable();
    const wall = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    const cpuMs = (cpu.user + cpu.system) / 1000;
    latencies.sort((a, b) => a - b);
    const q = (p: number) => (latencies[Math.floor(p * (latencies.length - 1))] as number).toFixed(2);
    console.log(`${name.padEnd(11)} probes ${latencies.length} unexpected ${failed}  wall ${(wall / 1000).toFixed(2)} s  ` +
      `CPU ${(cpuMs / 1000).toFixed(2)} s (${((cpuMs / wall) * 100).toFixed(1)} % of a core, ${((cpuMs * 1000) / latencies.length).toFixed(0)} µs/probe)  ` +
      `latency p50 ${q(0.5)} p99 ${q(0.99)} ms  loop delay p99 ${(h.percentile(99) / 1e6).toFixed(1)} max ${(h.max / 1e6).toFixed(1)} ms`);
  }
  await prober.close();
  child.kill();
}

await main();
