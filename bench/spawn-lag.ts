// Event-loop lag of the daemon process while it runs 100 scripts/s of /bin/true for 5 s, with
// createScriptRunner (fork in this process) and createSpawnerRunner (fork in the spawn server).
//   node --import tsx bench/spawn-lag.ts [ballastMB=100] [seconds=5] [rate=100]
// The ballast makes this process about as big as the daemon with 1,000 trackers: fork() copies
// page tables, so its cost grows with the forking process's resident memory.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createScriptRunner, type ScriptRunner } from '../adapters/exec/script.js';
import { createSpawnerRunner } from '../adapters/exec/spawner.js';

const ballastMb = Number(process.argv[2] ?? 100);
const seconds = Number(process.argv[3] ?? 5);
const rate = Number(process.argv[4] ?? 100);

// touched, live objects (not one big Buffer: that would be a single mapping, cheap to copy)
const ballast: number[][] = [];
for (let i = 0; i < ballastMb * 16; i++) ballast.push(Array.from({ length: 8192 }, (_, j) => i + j));

async function measure(name: string, runner: ScriptRunner) {
  await runner.run({ argv: ['/bin/true'] }); // warm up (starts the spawn server)
  const h = monitorEventLoopDelay({ resolution: 1 });
  h.enable();
  const runs: Promise<unknown>[] = [];
  let failed = 0;
  const t0 = performance.now();
  await new Promise<void>((done) => {
    let n = 0;
    const timer = setInterval(() => {
      // as many as are due, so a stalled loop does not lower the rate
      const due = Math.min(rate * seconds, Math.floor(((performance.now() - t0) / 1000) * rate));
      for (; n < due; n++) runs.push(runner.run({ argv: ['/bin/true'] }).then((r) => { if (r.exitCode !== 0) failed++; }));
      if (n >= rate * seconds) { clearInterval(timer); done(); }
    }, 1);
  });
  await Promise.all(runs);
  h.disable();
  const ms = (ns: number) => (ns / 1e6).toFixed(1);
  console.log(`${name.padEnd(20)} runs ${runs.length} failed ${failed} in ${((performance.now() - t0) / 1000).toFixed(2)} s  ` +
    `lag p50 ${ms(h.percentile(50))} p99 ${ms(h.percentile(99))} max ${ms(h.max)} ms`);
}

console.log(`rss ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MB, ${rate} spawns/s of /bin/true for ${seconds} s`);
await measure('createScriptRunner', createScriptRunner());
const spawner = createSpawnerRunner();
await measure('createSpawnerRunner', spawner);
spawner.close();
console.log(`(ballast ${ballast.length} arrays kept alive)`);
