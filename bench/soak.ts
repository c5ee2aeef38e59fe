// bench/soak.ts: does vigil's memory stay flat over a long run? One vigil (the built CLI) with 100
// VRRP instances (all MASTER, advert 1 s) and 1,000 real servers under TCP_CHECK (10 virtual
// servers × 100, delay_loop 1 s, nftables) in a namespace lab, the real servers answering from the
// second host; RSS (the whole process: main thread, the health-check thread, V8's helpers), CPU
// and the thread count sampled every SOAK_EVERY_S seconds for SOAK_S seconds. The figure is the
// growth over the run's second half (least squares, MB per hour; the first half holds the warm-up
// of V8's heaps): flat means within the noise of a few MB. Also the issue #8 figure: RSS with 100
// instances plus 1,000 checkers (goal under 100 MB).
//
//   npm run build && node --import tsx bench/soak.ts                  (root; 30 minutes)
//   SOAK_S=120 SOAK_EVERY_S=5 node --import tsx bench/soak.ts        (a quick look)
//   SOAK_NODE_FLAGS='' ...        (node's defaults instead of infra/vigil.service's NODE_OPTIONS)
//
// Writes bench/soak.md and bench/soak.json. Exit 0 when measured, 2 when it could not run.
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Lab, netnsSkipReason } from '../test/netns/lab.js';
import { LISTENER, vigilConfig, type Plan } from './checkers-lib.js';
import { lineChart, toSvg } from './plot.js';
import { cpuModel, firstLine, gitCommit, nodeEnv, UNIT_ENV, UNIT_NODE_FLAGS } from './common.js';

const BENCH_DIR = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(BENCH_DIR, '..');
const VIGIL = path.join(REPO, 'bin', 'vigil.js');
const CLK_TCK = 100;
/** node's flags for the daemon: infra/vigil.service's NODE_OPTIONS (SOAK_NODE_FLAGS='' for none) */
const NODE_FLAGS = process.env['SOAK_NODE_FLAGS'] !== undefined ? process.env['SOAK_NODE_FLAGS'].split(' ').filter(Boolean) : UNIT_NODE_FLAGS;
/** and the unit's MALLOC_ARENA_MAX (SOAK_MALLOC_ARENA_MAX='' for glibc's default) */
const ARENAS = process.env['SOAK_MALLOC_ARENA_MAX'] ?? UNIT_ENV['MALLOC_ARENA_MAX'] ?? '';

const log = (msg: string): void => void process.stderr.write(`soak: ${(performance.now() / 1000).toFixed(0)} s: ${msg}\n`);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function int(name: string, dflt: number): number {
  const n = Number(process.env[name] ?? dflt);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${name} must be a positive integer, not '${process.env[name]}'`);
  return n;
}

export interface Sample {
  /** seconds since the daemon started */
  readonly t: number;
  readonly rssMb: number;
  /** CPU seconds (user + system, all threads) since the start */
  readonly cpuS: number;
  readonly threads: number;
}

/** least-squares slope of y over x */
export function slope(xs: readonly number[], ys: readonly number[]): number {
  const n = xs.length;
  if (n < 2) return 0;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (xs[i]! - mx) * (ys[i]! - my);
    den += (xs[i]! - mx) ** 2;
  }
  return den ? num / den : 0;
}

/** the growth figures of a run: RSS at points, and the second half's slope in MB per hour */
export function summarize(samples: readonly Sample[]) {
  const half = samples.filter((s) => s.t >= samples.at(-1)!.t / 2);
  const mbPerHour = slope(half.map((s) => s.t), half.map((s) => s.rssMb)) * 3600;
  const rss = samples.map((s) => s.rssMb);
  const last = samples.at(-1)!;
  const first = samples[0]!;
  return {
    samples: samples.length,
    seconds: last.t,
    rssFirstMb: first.rssMb,
    rssSecondHalfStartMb: half[0]!.rssMb,
    rssLastMb: last.rssMb,
    rssMaxMb: Math.max(...rss),
    secondHalfMbPerHour: Math.round(mbPerHour * 100) / 100,
    cpuShareOfCore: last.t > first.t ? (last.cpuS - first.cpuS) / (last.t - first.t) : 0,
    threads: last.threads,
  };
}

function readProc(pid: number): { rssMb: number; cpuS: number; threads: number } {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  const threads = Number(/Threads:\s+(\d+)/.exec(status)?.[1] ?? 0);
  // fields after the command's closing parenthesis: utime is the 14th field of the line, stime the 15th
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { rssMb: kb / 1024, cpuS: (Number(f[11]) + Number(f[12])) / CLK_TCK, threads };
}

/** the 99 more instances: VRIDs 52.., one VIP each in 10.99.1.0/24 */
function moreInstances(n: number): string {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    out.push(`vrrp_instance VI_${i + 2} {`, '  state MASTER', '  interface eth0', `  virtual_router_id ${52 + i}`, '  priority 150', '  advert_int 1', '  version 3',
      '  virtual_ipaddress {', `    10.99.1.${i + 1}/24`, '  }', '}');
  }
  return out.join('\n') + '\n';
}

/** RSS over the run, with plot.ts (the report draws the same from soak.json) */
function svg(samples: readonly Sample[]): string {
  return toSvg(lineChart({
    title: 'RSS over the run', x: { label: 'seconds since start' }, y: { label: 'RSS MB', include: [0] },
    series: [{ name: 'RSS', color: '#1f77b4', points: samples.map((x) => [x.t, x.rssMb] as const) }],
  }));
}

async function main(): Promise<number> {
  const skip = netnsSkipReason();
  if (skip) {
    log(`not run: ${skip}`);
    return 2;
  }
  const seconds = int('SOAK_S', 1800);
  const every = int('SOAK_EVERY_S', 10);
  const instances = 100;
  const plan: Plan = {
    servers: 1000, perVs: 100, rsAddress: '10.99.0.12', rsBasePort: 20000, vip: '10.99.0.100', vsBasePort: 8001,
    delayLoopS: 1, retry: 1, delayBeforeRetryS: 1, connectTimeoutS: 1, advertMs: 1000,
  };
  // the build measured is the one at the start (a commit made during a 30-minute run is not it)
  const env = { date: new Date().toISOString(), kernel: firstLine('uname', ['-r'], /./), cpu: cpuModel(), cpus: os.availableParallelism(), node: process.version, vigil: gitCommit(REPO) };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-soak-'));
  const conf = path.join(dir, 'keepalived.conf');
  fs.writeFileSync(conf, vigilConfig(plan, 'tcp') + moreInstances(instances - 1));
  const lab = await Lab.create({ hosts: 2, tag: 'soak' });
  const samples: Sample[] = [];
  let notes: string[] = [];
  try {
    const listener = lab.spawn(2, process.execPath, ['-e', LISTENER, plan.rsAddress, String(plan.rsBasePort), String(plan.servers)], { env: nodeEnv });
    await new Promise<void>((res, rej) => {
      createInterface({ input: listener.stdout! }).on('line', (l) => l.startsWith('ready') && res());
      listener.on('exit', () => rej(new Error('the listener exited')));
    });
    const control = path.join(dir, 'control.sock');
    const vigil = lab.spawn(1, process.execPath, [...NODE_FLAGS, VIGIL, 'run', '-f', conf, '--no-journal', '--control', control, '-l', 'warn'], { env: { ...nodeEnv, ...(ARENAS ? { MALLOC_ARENA_MAX: ARENAS } : {}) } });
    vigil.stdout!.resume();
    createInterface({ input: vigil.stderr! }).on('line', (l) => log(`vigil: ${l}`));
    const t0 = performance.now();
    log(`vigil pid ${vigil.pid}: ${instances} instances, ${plan.servers} TCP checks; sampling every ${every} s for ${seconds} s`);
    while ((performance.now() - t0) / 1000 < seconds) {
      await sleep(every * 1000);
      if (vigil.exitCode !== null) throw new Error(`vigil exited with ${vigil.exitCode}`);
      const p = readProc(vigil.pid!);
      samples.push({ t: Math.round((performance.now() - t0) / 100) / 10, ...p, rssMb: Math.round(p.rssMb * 10) / 10 });
      if (samples.length % 6 === 0) log(`t=${samples.at(-1)!.t} s RSS ${p.rssMb.toFixed(1)} MB threads ${p.threads}`);
    }
    const status = await new Promise<string>((res) => execFile(process.execPath, [VIGIL, 'status', '--control', control, '--json'], { env: nodeEnv, maxBuffer: 64 << 20 }, (_e, out) => res(out)));
    try {
      const s = JSON.parse(status) as { instances?: { state: string }[]; virtualServers?: { realServers: { alive: boolean }[] }[] };
      const masters = s.instances?.filter((i) => i.state === 'MASTER').length ?? 0;
      const alive = s.virtualServers?.flatMap((v) => v.realServers).filter((r) => r.alive).length ?? 0;
      notes = [`at the end: ${masters}/${instances} instances MASTER, ${alive}/${plan.servers} real servers alive`];
    } catch {
      notes = ['vigil status did not answer with JSON at the end'];
    }
    vigil.kill('SIGTERM');
    await new Promise((r) => vigil.once('exit', r));
    listener.stdin!.end();
  } finally {
    await lab.destroy();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const summary = summarize(samples);
  fs.writeFileSync(path.join(BENCH_DIR, 'soak.json'), JSON.stringify({ env, plan: { instances, servers: plan.servers, every, seconds }, summary, notes, samples }, null, 2) + '\n');
  fs.writeFileSync(path.join(BENCH_DIR, 'soak.svg'), svg(samples));
  fs.writeFileSync(path.join(BENCH_DIR, 'soak.md'), [
    '# Soak: memory over a long run',
    '',
    `- date: ${env.date}; vigil ${env.vigil}; Node ${env.node}; kernel ${env.kernel}; CPU ${env.cpu} (${env.cpus})`,
    `- ${instances} VRRP instances (MASTER, advert 1 s) and ${plan.servers} real servers under TCP_CHECK (delay_loop 1 s, retry 1), nftables; RSS of the whole process every ${every} s for ${seconds} s`,
    `- node flags: ${NODE_FLAGS.join(' ') || 'none'}, MALLOC_ARENA_MAX ${ARENAS || 'unset'} (infra/vigil.service's environment); the health-check thread's young generation ${process.env['VIGIL_CHECKER_YOUNG_MB'] ?? 8} MB`,
    ...notes.map((n) => `- ${n}`),
    '',
    '| samples | RSS first MB | RSS at half time MB | RSS last MB | RSS max MB | growth over the second half MB/h | CPU (share of a core) | threads |',
    '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    `| ${summary.samples} | ${summary.rssFirstMb} | ${summary.rssSecondHalfStartMb} | ${summary.rssLastMb} | ${summary.rssMaxMb} | ${summary.secondHalfMbPerHour} | ${(summary.cpuShareOfCore * 100).toFixed(1)} % | ${summary.threads} |`,
    '',
    '![RSS over the run](soak.svg)',
    '',
  ].join('\n'));
  log(`RSS ${summary.rssFirstMb} → ${summary.rssLastMb} MB (max ${summary.rssMaxMb}); second half ${summary.secondHalfMbPerHour} MB/h; wrote bench/soak.md`);
  return 0;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  main().then((c) => { process.exitCode = c; }, (err: unknown) => { log((err as Error)?.stack ?? String(err)); process.exitCode = 2; });
}
