// bench/idle.ts: what an idle vigil costs, and where. N VRRPv2 instances (bench/reload-lib.ts's
// generated config: advert_int 1, one VIP each, no peer, so all MASTER and N adverts/s), in a
// namespace of its own; once every instance is MASTER and the GARP bursts are over, CPU and RSS
// over IDLE_S seconds (default 30). CPU is the scheduler's exact run time per thread (main, V8's
// workers), with utime + stime beside it as bench/reload.ts reads them. Optionally a second build side by side, each in its
// own namespace, for a before/after comparison on a shared, loaded machine; optionally a CPU profile
// of the idle window (self and inclusive time per function) and a heap snapshot at its end.
//
//   npm run build && node --import tsx bench/idle.ts                  (root)
//   IDLE_N=1000 IDLE_S=30 IDLE_BASE=/tmp/vigil-base IDLE_PROF=/tmp/prof IDLE_HEAP=1 node --import tsx bench/idle.ts
//
// IDLE_BASE: a directory holding another build (bin/vigil.js, dist/, package.json and a
// node_modules link), run beside this tree's. IDLE_PROF: a directory for the .cpuprofile files
// (node --cpu-prof; written when the daemon exits on SIGTERM), analysed over the idle window only.
// IDLE_HEAP=1: a heap snapshot of each daemon at the end of the window (node
// --heapsnapshot-signal=SIGWINCH; vigil uses USR1 and USR2 itself), in IDLE_PROF. IDLE_N: instances
// (default 1000). IDLE_TOP: how many functions the profile tables list (default 25).

import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Lab, sh } from '../test/netns/lab.js';
import { configText, ifaceCount, INITIAL } from './reload-lib.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SETTLE_MS = 3000;
const START_TIMEOUT_MS = 120_000;

const log = (msg: string): void => void process.stderr.write(`idle: ${(performance.now() / 1000).toFixed(1)} s: ${msg}\n`);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
/** CLOCK_MONOTONIC in µs: the clock V8's profiler stamps its samples with */
const monoUs = (): number => Number(process.hrtime.bigint() / 1000n);

function int(name: string, dflt: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return dflt;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a positive integer, not '${raw}'`);
  return n;
}

const TICK_MS = 1000 / (Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout?.trim()) || 100);

function cpuMs(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) * TICK_MS;
}

/**
 * CPU time (ms) of each thread, by thread name (the main thread is "main", V8's workers are "node"),
 * from the scheduler's se.sum_exec_runtime (/proc/PID/task/TID/sched): exact, where utime + stime
 * are sampled at the 4 ms tick (CONFIG_TICK_CPU_ACCOUNTING) and can be far off for a process that
 * wakes often for short bursts.
 */
function threadCpu(pid: number): Map<string, number> {
  const out = new Map<string, number>();
  for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
    try {
      const sched = fs.readFileSync(`/proc/${pid}/task/${tid}/sched`, 'utf8');
      const name = tid === String(pid) ? 'main' : (/^(.*) \(\d+, #threads/.exec(sched)?.[1] ?? '?');
      const ms = Number(/se\.sum_exec_runtime\s*:\s*([\d.]+)/.exec(sched)?.[1] ?? 0);
      out.set(name, (out.get(name) ?? 0) + ms);
    } catch { /* gone */ }
  }
  return out;
}

function threadDiff(a: Map<string, number>, b: Map<string, number>): { total: number; text: string } {
  const d = [...b].map(([k, v]) => ({ k, ms: v - (a.get(k) ?? 0) })).filter((x) => x.ms > 0).sort((x, y) => y.ms - x.ms);
  if (!d.length) return { total: NaN, text: 'n/a (no /proc/PID/task/TID/sched: a kernel without CONFIG_SCHED_DEBUG)' };
  return { total: d.reduce((s, x) => s + x.ms, 0), text: d.map((x) => `${x.k} ${(x.ms / 1000).toFixed(3)}`).join(', ') };
}

function memKb(pid: number): Record<string, number> {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const out: Record<string, number> = {};
  for (const k of ['VmRSS', 'RssAnon', 'RssFile', 'VmHWM']) out[k] = Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return out;
}

// ---------------------------------------------------------------------------------------------

interface Side {
  label: string;
  root: string;
  lab: Lab;
  pid: number;
  masters: number;
  exited: Promise<void>;
  running: boolean;
  /** the daemon's "cannot start" line, if it logged one */
  failed?: string;
  profDir: string | undefined;
  /** cpuSeconds: utime + stime (tick-sampled, as bench/reload.ts); exactSeconds: sum_exec_runtime */
  cpu?: { seconds: number; cpuSeconds: number; exactSeconds: number; threads: string };
  rss: number[];
  mem?: Record<string, number>;
}

async function ensureIfaces(lab: Lab, k: number): Promise<void> {
  // as bench/reload.ts: eth1.. are veth pairs whose other ends sit alone in the switch namespace
  const ns = lab.ns(1);
  for (let j = 1; j < k; j++) {
    await sh('ip', ['link', 'add', `eth${j}`, 'netns', ns, 'type', 'veth', 'peer', 'name', `q${j}`, 'netns', lab.sw]);
    await sh('ip', ['-n', lab.sw, 'link', 'set', `q${j}`, 'up']);
    await sh('ip', ['-n', ns, 'addr', 'add', `10.99.${j}.11/24`, 'dev', `eth${j}`]);
    await sh('ip', ['-n', ns, 'link', 'set', `eth${j}`, 'up']);
  }
}

async function startSide(label: string, root: string, tag: string, n: number, work: string, prof: string | undefined, heap: boolean): Promise<Side> {
  const lab = await Lab.create({ hosts: 1, tag });
  await ensureIfaces(lab, ifaceCount(n));
  const conf = path.join(work, `${tag}.conf`);
  fs.writeFileSync(conf, configText(n, INITIAL, `idle-${tag}`));
  const profDir = prof ? path.join(prof, tag) : undefined;
  if (profDir) fs.mkdirSync(profDir, { recursive: true });
  const nodeArgs = [
    ...(profDir ? ['--cpu-prof', '--cpu-prof-dir', profDir] : []),
    ...(heap ? ['--heapsnapshot-signal=SIGWINCH', `--diagnostic-dir=${profDir}`] : []),
  ];
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'NODE_OPTIONS'));
  const proc = lab.spawn(1, process.execPath, [...nodeArgs, path.join(root, 'bin', 'vigil.js'), 'run', '-f', conf,
    '--journal', path.join(work, `journal-${tag}`), '--control', path.join(work, `${tag}.sock`)], { env, cwd: work });
  const side: Side = { label, root, lab, pid: 0, masters: 0, running: true, profDir, rss: [], exited: Promise.resolve() };
  side.exited = new Promise((resolve) => proc.on('exit', () => { side.running = false; resolve(); }));
  for (const s of [proc.stdout!, proc.stderr!]) {
    createInterface({ input: s }).on('line', (line) => {
      if (/Entering MASTER STATE/.test(line)) side.masters++;
      if (/cannot start/.test(line)) side.failed = line.slice(0, 400);
      else if (/"level":"(error|fatal)"|^vigil/.test(line)) log(`${label}: ${line.slice(0, 400)}`);
    });
  }
  // `ip netns exec` execs node: the child's pid is the daemon's
  side.pid = proc.pid!;
  return side;
}

async function waitMasters(s: Side, n: number): Promise<void> {
  const t0 = performance.now();
  while (s.masters < n) {
    if (!s.running || s.failed) throw new Error(`${s.label} did not start: ${s.failed ?? 'it exited'}`);
    if (performance.now() - t0 > START_TIMEOUT_MS) throw new Error(`${s.label}: only ${s.masters} of ${n} MASTER`);
    await sleep(200);
  }
  log(`${s.label}: ${n} MASTER after ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}

// ---------------------------------------------------------------------------------------------
// the .cpuprofile (Chrome DevTools format): nodes with callFrame and children, samples (node ids)
// with timeDeltas (µs), startTime in µs of the monotonic clock

interface CpuNode { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] }
interface CpuProfile { nodes: CpuNode[]; startTime: number; endTime: number; samples: number[]; timeDeltas: number[] }

function shortUrl(url: string): string {
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) return url.slice(nm + 'node_modules/'.length);
  const d = url.indexOf('/dist/');
  if (d >= 0) return url.slice(d + 1);
  return url.replace(/^file:\/\//, '');
}

function profileTables(file: string, from: number, to: number, top: number): string {
  const p = JSON.parse(fs.readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(p.nodes.map((nd) => [nd.id, nd]));
  const parent = new Map<number, number>();
  for (const nd of p.nodes) for (const c of nd.children ?? []) parent.set(c, nd.id);
  const key = (nd: CpuNode) => {
    const f = nd.callFrame;
    return f.url ? `${f.functionName || '(anonymous)'} ${shortUrl(f.url)}:${f.lineNumber + 1}` : f.functionName;
  };
  const self = new Map<string, number>();
  const incl = new Map<string, number>();
  const byPkg = new Map<string, number>();
  let t = p.startTime;
  let busy = 0;
  let idle = 0;
  for (let i = 0; i < p.samples.length; i++) {
    t += p.timeDeltas[i]!;
    if (t < from || t > to) continue;
    // a sample stands for the time until the next one
    const dt = p.timeDeltas[i + 1] ?? 0;
    const nd = byId.get(p.samples[i]!)!;
    if (nd.callFrame.functionName === '(idle)') { idle += dt; continue; }
    busy += dt;
    const k = key(nd);
    self.set(k, (self.get(k) ?? 0) + dt);
    const url = nd.callFrame.url;
    const pkg = !url ? nd.callFrame.functionName : url.includes('node_modules/') ? shortUrl(url).split('/')[0]! : url.startsWith('node:') ? 'node:' : shortUrl(url).split('/').slice(0, 2).join('/');
    byPkg.set(pkg, (byPkg.get(pkg) ?? 0) + dt);
    const seen = new Set<string>();
    for (let id: number | undefined = nd.id; id !== undefined; id = parent.get(id)) {
      const kk = key(byId.get(id)!);
      if (seen.has(kk)) continue;
      seen.add(kk);
      incl.set(kk, (incl.get(kk) ?? 0) + dt);
    }
  }
  const pct = (v: number) => `${((v / busy) * 100).toFixed(1)}%`;
  const rows = (m: Map<string, number>, n: number) =>
    [...m].sort((a, b) => b[1] - a[1]).slice(0, n).map(([k, v]) => `  ${pct(v).padStart(6)} ${(v / 1000).toFixed(0).padStart(6)} ms  ${k}`).join('\n');
  return [
    `window ${((to - from) / 1e6).toFixed(1)} s: ${(busy / 1000).toFixed(0)} ms sampled busy, ${(idle / 1000).toFixed(0)} ms idle`,
    'self time by package/dir:', rows(byPkg, 15),
    'self time by function:', rows(self, top),
    'inclusive time by function:', rows(incl, top),
  ].join('\n');
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<number> {
  if (process.getuid?.() !== 0) {
    log('skipped: not root (namespaces and raw sockets)');
    return 0;
  }
  const n = int('IDLE_N', 1000);
  const seconds = int('IDLE_S', 30);
  const top = int('IDLE_TOP', 25);
  const base = process.env.IDLE_BASE;
  const prof = process.env.IDLE_PROF ? path.resolve(process.env.IDLE_PROF) : undefined;
  const heap = process.env.IDLE_HEAP === '1';
  if (heap && !prof) throw new Error('IDLE_HEAP=1 needs IDLE_PROF (the directory the snapshots go to)');
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-idle-'));
  const sides: Side[] = [];
  try {
    // one after the other, so that neither start is slowed by the other's
    if (base) {
      sides.push(await startSide('base', path.resolve(base), 'idb', n, work, prof, heap));
      await waitMasters(sides[0]!, n);
    }
    sides.push(await startSide('this tree', REPO, 'idn', n, work, prof, heap));
    await waitMasters(sides.at(-1)!, n);
    await sleep(SETTLE_MS);
    log(`${seconds} s of idle`);
    const c0 = sides.map((s) => cpuMs(s.pid));
    const t0 = sides.map((s) => threadCpu(s.pid));
    const w0 = performance.now();
    const from = monoUs();
    for (let i = 0; i < seconds; i++) {
      await sleep(1000);
      for (const s of sides) s.rss.push(memKb(s.pid).VmRSS!);
    }
    const to = monoUs();
    const wall = (performance.now() - w0) / 1000;
    sides.forEach((s, i) => {
      const cpu = (cpuMs(s.pid) - c0[i]!) / 1000;
      const th = threadDiff(t0[i]!, threadCpu(s.pid));
      s.cpu = { seconds: wall, cpuSeconds: cpu, exactSeconds: th.total / 1000, threads: th.text };
      s.mem = memKb(s.pid);
    });
    if (heap) {
      for (const s of sides) process.kill(s.pid, 'SIGWINCH');
      log('heap snapshots asked for; waiting for them to be written');
      await sleep(Math.max(10_000, n * 30));
    }
    for (const s of sides) process.kill(s.pid, 'SIGTERM');
    await Promise.race([Promise.all(sides.map((s) => s.exited)), sleep(60_000)]);
    const out: string[] = [`${n} instances, ${seconds} s idle window, load average ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`];
    for (const s of sides) {
      const r = [...s.rss].sort((a, b) => a - b);
      const per30 = (x: number) => ((x / s.cpu!.seconds) * 30).toFixed(2);
      out.push(`${s.label} (${s.root}): over ${s.cpu!.seconds.toFixed(1)} s, CPU-s per 30 s: ${per30(s.cpu!.exactSeconds)} exact` +
        ` (${((s.cpu!.exactSeconds / s.cpu!.seconds) * 100).toFixed(2)} %; ${per30(s.cpu!.cpuSeconds)} by utime+stime);` +
        ` RSS median ${(r[Math.floor(r.length / 2)]! / 1024).toFixed(1)} MB (at the end: anon ${(s.mem!.RssAnon! / 1024).toFixed(1)}, file ${(s.mem!.RssFile! / 1024).toFixed(1)}, peak ${(s.mem!.VmHWM! / 1024).toFixed(1)})\n  threads, CPU-s: ${s.cpu!.threads}`);
      if (s.profDir) {
        const f = fs.readdirSync(s.profDir).filter((x) => x.endsWith('.cpuprofile')).map((x) => path.join(s.profDir!, x))
          .sort((a, b) => fs.statSync(b).mtimeMs - fs.statSync(a).mtimeMs)[0];
        out.push(f ? `profile ${f}\n${profileTables(f, from, to, top)}` : `no profile in ${s.profDir} (did the daemon exit cleanly?)`);
      }
    }
    process.stdout.write(out.join('\n') + '\n');
    return 0;
  } finally {
    for (const s of sides) {
      if (s.running) try { process.kill(s.pid, 'SIGKILL'); } catch { /* gone */ }
      await s.lab.destroy().catch(() => undefined);
    }
    fs.rmSync(work, { recursive: true, force: true });
  }
}

main().then((code) => { process.exitCode = code; }, (err: unknown) => {
  log(`${(err as Error)?.stack ?? String(err)}`);
  process.exitCode = 2;
});
