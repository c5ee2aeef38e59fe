// bench/run.ts: how long checking a keepalived.conf takes, vigil against keepalived, side by side.
//
// For each size N (10, 100, 1000 vrrp_instances, from bench/genconfig.ts) it runs rounds of five
// measurements, one of each per round, in an order that rotates every round, so machine noise
// hits all of them alike:
//   loadConfig   in-process parse + check (adapters/config, no host checks), performance.now()
//   vigil CLI    `node bin/vigil.js config-test --no-host -f FILE`, whole process
//   node -e 0    a bare Node start, the floor under the vigil CLI
//   keepalived   `ip netns exec NS keepalived -t -f FILE -l -n`, whole process (root only)
//   netns true   `ip netns exec NS true`, what `ip netns exec` adds to keepalived's figure
// and reports medians and ratios in bench/config-test.md, bench/config-test.json (every sample too) and
// on stdout. (Before the combined report, bench/report.ts, these were bench/report.md and .json.)
//
//   npm run bench                         (setup + build + this)
//   node --import tsx bench/run.ts        (after npm run build)
//   BENCH_SIZES=10,100 BENCH_ROUNDS=30 node --import tsx bench/run.ts

import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { type Diagnostic, loadConfig } from '../adapters/config/index.js';
import { generateConfig, planInstance } from './genconfig.js';
import { cpuModel, gitCommit, which } from './common.js';

const BENCH_DIR = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(BENCH_DIR, '..');
const OUT_DIR = path.join(BENCH_DIR, 'out');
const VIGIL = path.join(REPO, 'bin', 'vigil.js');
const VIGIL_MAIN = path.join(REPO, 'dist', 'actors', 'cli', 'main.js');

const MIN_ROUNDS = 20; // ≥ 20 in-process samples, ≥ 10 per whole-process measure
const WARMUPS = 3;
const NS_PREFIX = 'vigil-bench-';

const log = (msg: string): void => { process.stderr.write(`bench: ${msg}\n`); };
/** Main is synchronous between measurements; signal handlers only run when it yields here. */
const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

// ---------------------------------------------------------------------------------------------
// settings

function parseSizes(raw: string | undefined): number[] {
  if (!raw) return [10, 100, 1000];
  const sizes = raw.split(',').map((s) => Number(s.trim()));
  if (!sizes.length || sizes.some((n) => !Number.isInteger(n) || n < 1)) {
    throw new Error(`BENCH_SIZES must be a comma-separated list of positive integers, not '${raw}'`);
  }
  return [...new Set(sizes)].sort((a, b) => a - b);
}

function parseRounds(raw: string | undefined): number {
  if (!raw) return MIN_ROUNDS;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new Error(`BENCH_ROUNDS must be a positive integer, not '${raw}'`);
  if (n < MIN_ROUNDS) log(`BENCH_ROUNDS=${n} is below the ${MIN_ROUNDS} this benchmark's figures are meant to rest on`);
  return n;
}

// ---------------------------------------------------------------------------------------------
// cleanup: whatever happens, the namespace goes

const cleanups = new Map<string, () => void>();
function runCleanups(): void {
  for (const [name, fn] of [...cleanups]) {
    cleanups.delete(name);
    try { fn(); } catch (err) { process.stderr.write(`bench: cleanup ${name} failed: ${(err as Error).message}\n`); }
  }
}
process.on('exit', runCleanups);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(sig, () => {
    log(`${sig}: cleaning up`);
    runCleanups();
    process.exit(128 + (os.constants.signals[sig] ?? 1));
  });
}

// ---------------------------------------------------------------------------------------------
// processes

/** Runs a command to completion and captures its output; throws only if it could not start. */
function run(cmd: string, args: readonly string[], opts: { env?: NodeJS.ProcessEnv } = {}): SpawnSyncReturns<string> {
  const r = spawnSync(cmd, args, { cwd: REPO, encoding: 'utf8', env: opts.env ?? process.env, maxBuffer: 64 << 20 });
  if (r.error) throw new Error(`cannot run ${cmd} ${args.join(' ')}: ${r.error.message}`);
  return r;
}

interface Timed { ms: number; status: number | null }

/** Wall time of one whole process, output discarded; as seen from here (spawn cost included, alike for all). */
function timeProcess(cmd: string, args: readonly string[], env: NodeJS.ProcessEnv): Timed {
  const t0 = performance.now();
  const r = spawnSync(cmd, args, { cwd: REPO, env, stdio: 'ignore' });
  const ms = performance.now() - t0;
  if (r.error) throw new Error(`cannot run ${cmd} ${args.join(' ')}: ${r.error.message}`);
  return { ms, status: r.status };
}

/** Node children get a plain environment: no NODE_OPTIONS (a --import there would tax both sides). */
const nodeEnv: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'NODE_OPTIONS'));

// ---------------------------------------------------------------------------------------------
// the network namespace keepalived -t needs (its config names eth0, which must exist)

class Netns {
  private live = false;
  constructor(readonly name: string, private readonly ip: string) {}

  create(): void {
    const steps: string[][] = [
      ['netns', 'add', this.name],
      ['-n', this.name, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth0p'],
      ['-n', this.name, 'link', 'set', 'eth0', 'up'],
      ['-n', this.name, 'link', 'set', 'lo', 'up'],
    ];
    cleanups.set(`netns ${this.name}`, () => this.destroy());
    for (const [i, args] of steps.entries()) {
      const r = run(this.ip, args);
      if (i === 0 && r.status === 0) this.live = true;
      if (r.status !== 0) {
        this.destroy();
        throw new Error(`ip ${args.join(' ')} failed (exit ${r.status}): ${(r.stderr || r.stdout).trim()}`);
      }
    }
  }

  exec(args: readonly string[]): string[] { return ['netns', 'exec', this.name, ...args]; }

  destroy(): void {
    cleanups.delete(`netns ${this.name}`);
    if (!this.live) return;
    this.live = false;
    const r = spawnSync(this.ip, ['netns', 'del', this.name], { encoding: 'utf8' });
    if (r.error || r.status !== 0) {
      process.stderr.write(`bench: could not delete network namespace ${this.name}: ${r.error?.message ?? r.stderr.trim()}\n` +
        `bench: remove it by hand: ip netns del ${this.name}\n`);
    } else {
      log(`deleted network namespace ${this.name}`);
    }
  }

  /** Deletes namespaces an earlier run of this script left behind (its process is gone). */
  static sweep(ip: string): void {
    const r = spawnSync(ip, ['netns', 'list'], { encoding: 'utf8' });
    if (r.error || r.status !== 0) return;
    for (const line of r.stdout.split('\n')) {
      const m = new RegExp(`^(${NS_PREFIX}(\\d+))\\b`).exec(line.trim());
      if (!m?.[1] || !m[2]) continue;
      const pid = Number(m[2]);
      if (pid === process.pid || alive(pid)) continue;
      const d = spawnSync(ip, ['netns', 'del', m[1]], { encoding: 'utf8' });
      log(d.status === 0 ? `removed stale namespace ${m[1]} (run ${pid} is gone)` : `could not remove stale namespace ${m[1]}`);
    }
  }
}

function alive(pid: number): boolean {
  try { process.kill(pid, 0); return true; } catch (err) { return (err as NodeJS.ErrnoException).code === 'EPERM'; }
}

interface Keepalived { bin: string; ip: string; ns: Netns; version: string }

/** keepalived in a fresh namespace, or the reason it cannot be measured. */
function setUpKeepalived(): Keepalived | string {
  const bin = which('keepalived');
  if (!bin) return 'keepalived is not installed (infra/setup.sh installs it as root)';
  const ip = which('ip');
  if (!ip) return 'ip (iproute2) is not installed; keepalived -t needs a network namespace with eth0';
  const uid = process.getuid?.();
  if (uid !== 0) return `not root (uid ${uid ?? '?'}); keepalived -t needs a network namespace with eth0, which needs root`;
  const v = run(bin, ['-v']);
  const version = (v.stderr + v.stdout).split('\n').find((l) => /keepalived/i.test(l))?.trim() ?? 'unknown';
  Netns.sweep(ip);
  const ns = new Netns(`${NS_PREFIX}${process.pid}`, ip);
  try {
    ns.create();
  } catch (err) {
    return `could not set up a network namespace: ${(err as Error).message}`;
  }
  log(`network namespace ${ns.name} with eth0 (veth) is up`);
  return { bin, ip, ns, version };
}

// ---------------------------------------------------------------------------------------------
// statistics

interface Stats { n: number; median: number; p25: number; p75: number; min: number; max: number }

function quantile(sorted: readonly number[], q: number): number {
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  const a = sorted[lo] ?? NaN;
  const b = sorted[hi] ?? NaN;
  return a + (b - a) * (pos - lo);
}

function stats(samples: readonly number[]): Stats {
  const s = [...samples].sort((a, b) => a - b);
  return {
    n: s.length,
    median: quantile(s, 0.5),
    p25: quantile(s, 0.25),
    p75: quantile(s, 0.75),
    min: s[0] ?? NaN,
    max: s[s.length - 1] ?? NaN,
  };
}

const round3 = (x: number): number => Math.round(x * 1000) / 1000;
const roundStats = (s: Stats): Stats => ({ n: s.n, median: round3(s.median), p25: round3(s.p25), p75: round3(s.p75), min: round3(s.min), max: round3(s.max) });

// ---------------------------------------------------------------------------------------------
// one size

type Measure = 'loadConfig' | 'vigilCli' | 'node' | 'keepalived' | 'netnsTrue';

interface SizeResult {
  n: number;
  file: string;
  lines: number;
  bytes: number;
  layout: { ipv4Multicast: number; ipv6Multicast: number; ipv4Unicast: number; ipv6Unicast: number };
  exit: {
    vigilCli: number | null;
    vigilLoadConfig: number;
    keepalived: number | null;
    /** timed runs whose exit code differed from the first run's */
    unstable: Partial<Record<Measure, number>>;
  };
  vigilDiagnostics: string[];
  keepalivedOutput: string[];
  keepalivedVridComplaints: string[];
  ms: Partial<Record<Measure, Stats>>;
  /** every timed sample, ms, in the order taken (bench/report.ts plots them) */
  samples: Partial<Record<Measure, number[]>>;
  /** keepalived's median minus the median of `ip netns exec NS true` */
  keepalivedNetMs: number | null;
  ratios: {
    loadConfigVsKeepalived: number | null;
    loadConfigVsKeepalivedNet: number | null;
    vigilCliVsNode: number;
    vigilCliVsKeepalivedNet: number | null;
  };
}

function formatDiag(d: Diagnostic): string {
  return `${path.relative(REPO, d.loc.file) || d.loc.file}:${d.loc.line}:${d.loc.col}: ${d.severity}: ${d.message} [${d.code}]`;
}

function layoutOf(n: number): SizeResult['layout'] {
  const l = { ipv4Multicast: 0, ipv6Multicast: 0, ipv4Unicast: 0, ipv6Unicast: 0 };
  for (let i = 0; i < n; i++) {
    const p = planInstance(i, n);
    if (p.family === 4) p.unicast ? l.ipv4Unicast++ : l.ipv4Multicast++;
    else p.unicast ? l.ipv6Unicast++ : l.ipv6Multicast++;
  }
  return l;
}

async function benchSize(n: number, rounds: number, ka: Keepalived | undefined): Promise<SizeResult> {
  const file = path.join(OUT_DIR, `keepalived-${n}.conf`);
  const text = generateConfig(n);
  fs.writeFileSync(file, text);
  const lines = text.split('\n').length - 1;
  log(`N=${n}: wrote ${path.relative(REPO, file)} (${lines} lines)`);

  const cliArgs = [VIGIL, 'config-test', '--no-host', '-f', file];
  const kaArgs = ka ? ka.ns.exec([ka.bin, '-t', '-f', file, '-l', '-n']) : [];
  const trueArgs = ka ? ka.ns.exec(['true']) : [];

  // first runs: exit codes and output (they also warm the page cache)
  const first = loadConfig(file, {});
  for (let i = 1; i < WARMUPS; i++) loadConfig(file, {});
  const cli = run(process.execPath, cliArgs, { env: nodeEnv });
  const nodeFirst = run(process.execPath, ['-e', '0'], { env: nodeEnv });
  if (nodeFirst.status !== 0) throw new Error(`node -e 0 exited ${nodeFirst.status}: ${nodeFirst.stderr.trim()}`);
  let kaOut: string[] = [];
  let kaStatus: number | null = null;
  if (ka) {
    const k = run(ka.ip, kaArgs);
    kaStatus = k.status;
    kaOut = (k.stdout + k.stderr).split('\n').map((l) => l.trimEnd()).filter(Boolean);
    const t = run(ka.ip, trueArgs);
    if (t.status !== 0) throw new Error(`ip netns exec ${ka.ns.name} true exited ${t.status}: ${t.stderr.trim()}`);
  }
  const diags = first.diagnostics.map(formatDiag);
  if (cli.status !== 0 || first.exitCode !== 0) {
    log(`N=${n}: vigil exit ${cli.status} (CLI) / ${first.exitCode} (loadConfig), ${diags.length} diagnostic(s):`);
    for (const d of diags.slice(0, 20)) log(`  ${d}`);
  }
  if (ka && kaStatus !== 0) {
    log(`N=${n}: keepalived -t exit ${kaStatus}:`);
    for (const l of kaOut.slice(0, 20)) log(`  ${l}`);
  }

  // timed rounds
  const samples: Record<Measure, number[]> = { loadConfig: [], vigilCli: [], node: [], keepalived: [], netnsTrue: [] };
  const expected: Partial<Record<Measure, number | null>> = { loadConfig: first.exitCode, vigilCli: cli.status, node: 0 };
  if (ka) Object.assign(expected, { keepalived: kaStatus, netnsTrue: 0 });
  const unstable: Partial<Record<Measure, number>> = {};
  const tasks: [Measure, () => Timed][] = [
    ['loadConfig', () => {
      const t0 = performance.now();
      const r = loadConfig(file, {});
      return { ms: performance.now() - t0, status: r.exitCode };
    }],
    ['vigilCli', () => timeProcess(process.execPath, cliArgs, nodeEnv)],
    ['node', () => timeProcess(process.execPath, ['-e', '0'], nodeEnv)],
  ];
  if (ka) {
    tasks.push(['keepalived', () => timeProcess(ka.ip, kaArgs, process.env)]);
    tasks.push(['netnsTrue', () => timeProcess(ka.ip, trueArgs, process.env)]);
  }
  for (let r = 0; r < rounds; r++) {
    for (let j = 0; j < tasks.length; j++) {
      const task = tasks[(r + j) % tasks.length];
      if (!task) continue;
      const [name, fn] = task;
      const t = fn();
      samples[name].push(t.ms);
      if (t.status !== expected[name]) unstable[name] = (unstable[name] ?? 0) + 1;
      await tick(); // let a pending SIGINT/SIGTERM handler run (untimed)
    }
  }

  const ms: Partial<Record<Measure, Stats>> = {};
  for (const [name] of tasks) ms[name] = stats(samples[name]);
  const med = (m: Measure): number | undefined => ms[m]?.median;
  const kaMed = med('keepalived');
  const trueMed = med('netnsTrue');
  const kaNet = kaMed !== undefined && trueMed !== undefined ? kaMed - trueMed : null;
  const lc = med('loadConfig') ?? NaN;
  const cliMed = med('vigilCli') ?? NaN;
  const result: SizeResult = {
    n,
    file: path.relative(REPO, file),
    lines,
    bytes: Buffer.byteLength(text),
    layout: layoutOf(n),
    exit: { vigilCli: cli.status, vigilLoadConfig: first.exitCode, keepalived: kaStatus, unstable },
    vigilDiagnostics: diags.slice(0, 50),
    keepalivedOutput: kaOut.slice(0, 50),
    keepalivedVridComplaints: kaOut.filter((l) => /vrid|virtual_router_id/i.test(l)),
    ms: Object.fromEntries(Object.entries(ms).map(([k, v]) => [k, roundStats(v)])),
    samples: Object.fromEntries(tasks.map(([name]) => [name, samples[name].map(round3)])),
    keepalivedNetMs: kaNet === null ? null : round3(kaNet),
    ratios: {
      loadConfigVsKeepalived: kaMed !== undefined ? round3(lc / kaMed) : null,
      loadConfigVsKeepalivedNet: kaNet !== null && kaNet > 0 ? round3(lc / kaNet) : null,
      vigilCliVsNode: round3(cliMed / (med('node') ?? NaN)),
      vigilCliVsKeepalivedNet: kaNet !== null && kaNet > 0 ? round3(cliMed / kaNet) : null,
    },
  };
  log(`N=${n}: loadConfig ${fmtMs(lc)} ms, vigil CLI ${fmtMs(cliMed)} ms, node ${fmtMs(med('node'))} ms` +
    (ka ? `, keepalived ${fmtMs(kaMed)} ms (net ${fmtMs(kaNet ?? undefined)} ms)` : ''));
  return result;
}

// ---------------------------------------------------------------------------------------------
// growth: what one more instance costs

interface Growth {
  measure: string;
  /** the median at each size, ms, in the order of `sizes` */
  ms: (number | null)[];
  /** µs per added instance between consecutive sizes */
  usPerInstance: (number | null)[];
  /** first to last size */
  overall: { fromN: number; toN: number; factor: number; usPerInstance: number } | null;
}

function growth(results: readonly SizeResult[]): Growth[] {
  const rows: [string, (r: SizeResult) => number | null | undefined][] = [
    ['loadConfig (in-process)', (r) => r.ms.loadConfig?.median],
    ['vigil config-test (whole process)', (r) => r.ms.vigilCli?.median],
    ['vigil config-test minus node -e 0', (r) => {
      const c = r.ms.vigilCli?.median; const nd = r.ms.node?.median;
      return c !== undefined && nd !== undefined ? c - nd : null;
    }],
    ['keepalived -t (raw)', (r) => r.ms.keepalived?.median],
    ['keepalived -t (net of ip netns exec)', (r) => r.keepalivedNetMs],
  ];
  if (results.length < 2) return [];
  const perInstance = (a: SizeResult, b: SizeResult, x: number | null, y: number | null): number | null =>
    x === null || y === null ? null : round3(((y - x) * 1000) / (b.n - a.n));
  const out: Growth[] = [];
  for (const [measure, get] of rows) {
    const ms = results.map((r) => { const v = get(r); return v === undefined || v === null ? null : round3(v); });
    if (ms.every((v) => v === null)) continue;
    const usPerInstance = results.slice(1).map((b, i) => {
      const a = results[i];
      return a ? perInstance(a, b, ms[i] ?? null, ms[i + 1] ?? null) : null;
    });
    const first = results[0];
    const last = results[results.length - 1];
    const x = ms[0] ?? null;
    const y = ms[ms.length - 1] ?? null;
    out.push({
      measure, ms, usPerInstance,
      overall: first && last && x !== null && y !== null
        ? { fromN: first.n, toN: last.n, factor: round3(y / x), usPerInstance: perInstance(first, last, x, y) ?? NaN }
        : null,
    });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// environment and report

interface Env {
  date: string; kernel: string; cpu: string; cpus: number; node: string; keepalived: string;
  vigilCommit: string; loadavg: number[]; rounds: number; warmups: number; sizes: number[];
}

function kernel(): string {
  const r = spawnSync('uname', ['-r'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : os.release();
}

function fmtMs(x: number | null | undefined): string {
  if (x === null || x === undefined || Number.isNaN(x)) return '–';
  if (Math.abs(x) < 1) return x.toFixed(3);
  if (Math.abs(x) < 100) return x.toFixed(2);
  return x.toFixed(1);
}
const fmtRatio = (x: number | null | undefined): string => (x === null || x === undefined || Number.isNaN(x) ? '–' : x.toFixed(2));
const fmtStats = (s: Stats | undefined): string => (s ? `${fmtMs(s.median)} (${fmtMs(s.p25)}–${fmtMs(s.p75)})` : '–');
const fmtExit = (x: number | null): string => (x === null ? '–' : String(x));

function table(head: string[], rows: string[][]): string {
  const line = (cells: string[]): string => `| ${cells.join(' | ')} |`;
  return [line(head), line(head.map((h, i) => (i === 0 ? '---' : '---:'))), ...rows.map(line)].join('\n');
}

function verdict(ok: boolean | null): string {
  return ok === null ? 'not measured' : ok ? 'met' : 'missed';
}

function markdown(env: Env, results: readonly SizeResult[], grow: readonly Growth[], skip: string | null): string {
  const out: string[] = [];
  out.push('# vigil config-test benchmark', '');
  out.push(`- date: ${env.date}`);
  out.push(`- kernel: ${env.kernel}`);
  out.push(`- CPU: ${env.cpu} (${env.cpus} available)`);
  out.push(`- Node: ${env.node}`);
  out.push(`- keepalived: ${env.keepalived}`);
  out.push(`- vigil: ${env.vigilCommit}`);
  out.push(`- load average at start: ${env.loadavg.map((x) => x.toFixed(2)).join(' ')}`);
  out.push(`- rounds per size: ${env.rounds} (one of each measure per round, order rotating), ${env.warmups} warm-up loadConfig calls and one untimed run of each process first`);
  if (skip) out.push(`- keepalived figures skipped: ${skip}`);
  out.push('');

  out.push('## Files and exit codes', '');
  out.push(table(
    ['N', 'lines', 'layout (v4 mc / v6 mc / v4 uc / v6 uc)', 'vigil CLI exit', 'vigil loadConfig exit', 'keepalived -t exit', 'keepalived VRID complaints'],
    results.map((r) => [
      String(r.n), String(r.lines),
      `${r.layout.ipv4Multicast} / ${r.layout.ipv6Multicast} / ${r.layout.ipv4Unicast} / ${r.layout.ipv6Unicast}`,
      fmtExit(r.exit.vigilCli), String(r.exit.vigilLoadConfig), fmtExit(r.exit.keepalived),
      skip ? '–' : String(r.keepalivedVridComplaints.length),
    ]),
  ), '');
  const unstable = results.filter((r) => Object.keys(r.exit.unstable).length);
  for (const r of unstable) out.push(`Exit code changed during timed runs at N=${r.n}: ${JSON.stringify(r.exit.unstable)}`, '');

  out.push('## Median wall time, ms (interquartile range)', '');
  out.push(table(
    ['N', 'loadConfig in-process', 'vigil config-test', 'node -e 0', 'keepalived -t raw', 'ip netns exec true', 'keepalived -t net'],
    results.map((r) => [
      String(r.n), fmtStats(r.ms.loadConfig), fmtStats(r.ms.vigilCli), fmtStats(r.ms.node),
      fmtStats(r.ms.keepalived), fmtStats(r.ms.netnsTrue), fmtMs(r.keepalivedNetMs),
    ]),
  ), '');

  out.push('## Ratios (medians from the same rounds)', '');
  out.push(table(
    ['N', 'loadConfig ÷ keepalived raw', 'loadConfig ÷ keepalived net (goal < 1.0)', 'vigil CLI ÷ node -e 0 (goal ≤ 1.5)', 'vigil CLI ÷ keepalived net'],
    results.map((r) => [
      String(r.n), fmtRatio(r.ratios.loadConfigVsKeepalived), fmtRatio(r.ratios.loadConfigVsKeepalivedNet),
      fmtRatio(r.ratios.vigilCliVsNode), fmtRatio(r.ratios.vigilCliVsKeepalivedNet),
    ]),
  ), '');

  if (grow.length) {
    const ns = results.map((r) => r.n);
    const first = ns[0];
    const last = ns[ns.length - 1];
    out.push(`## Growth with the number of instances`, '');
    out.push(table(
      ['measure', ...ns.map((n) => `ms at ${n}`), ...(ns.length > 2 ? ns.slice(1).map((n, i) => `µs/instance ${ns[i]}→${n}`) : []),
        `growth × ${first}→${last}`, `µs/instance ${first}→${last}`],
      grow.map((g) => [
        g.measure, ...g.ms.map(fmtMs), ...(ns.length > 2 ? g.usPerInstance.map(fmtMs) : []),
        fmtRatio(g.overall?.factor), fmtMs(g.overall?.usPerInstance),
      ]),
    ), '');
  }

  out.push('## Goals', '');
  const lcRatios = results.map((r) => r.ratios.loadConfigVsKeepalivedNet);
  const lcOk = lcRatios.some((x) => x === null) ? null : lcRatios.every((x) => (x ?? Infinity) < 1);
  const cliOk = results.every((r) => r.ratios.vigilCliVsNode <= 1.5);
  out.push(`- in-process loadConfig faster than the keepalived -t process (net of ip netns exec) at every size: ${verdict(lcOk)}`);
  out.push(`- vigil config-test within 1.5 × a bare node start at every size: ${verdict(cliOk)}`);
  const bad = results.filter((r) => r.exit.vigilCli !== 0 || r.exit.vigilLoadConfig !== 0 || (r.exit.keepalived ?? 0) !== 0 || r.keepalivedVridComplaints.length);
  out.push(`- every generated file accepted by both (exit 0, no VRID complaints): ${bad.length ? `no (N = ${bad.map((r) => r.n).join(', ')})` : skip ? 'vigil yes; keepalived not run' : 'yes'}`);
  out.push('');
  return out.join('\n');
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<number> {
  const sizes = parseSizes(process.env.BENCH_SIZES);
  const rounds = parseRounds(process.env.BENCH_ROUNDS);
  if (!fs.existsSync(VIGIL_MAIN)) {
    throw new Error(`${path.relative(REPO, VIGIL_MAIN)} is missing: run \`npm run build\` first (\`npm run bench\` does both)`);
  }
  fs.mkdirSync(OUT_DIR, { recursive: true });

  const kaOrReason = setUpKeepalived();
  const ka = typeof kaOrReason === 'string' ? undefined : kaOrReason;
  const skip = typeof kaOrReason === 'string' ? kaOrReason : null;
  if (skip) log(`skipping keepalived: ${skip}`);

  try {
    const env: Env = {
      date: new Date().toISOString(),
      kernel: kernel(),
      cpu: cpuModel(),
      cpus: os.availableParallelism(),
      node: process.version,
      keepalived: ka?.version ?? (which('keepalived') ? 'installed, not run' : 'not installed'),
      vigilCommit: gitCommit(REPO),
      loadavg: os.loadavg(),
      rounds,
      warmups: WARMUPS,
      sizes,
    };
    const results: SizeResult[] = [];
    for (const n of sizes) results.push(await benchSize(n, rounds, ka));
    const grow = growth(results);
    const md = markdown(env, results, grow, skip);
    fs.writeFileSync(path.join(BENCH_DIR, 'config-test.md'), md);
    fs.writeFileSync(path.join(BENCH_DIR, 'config-test.json'), JSON.stringify({ env, keepalivedSkipped: skip, results, growth: grow }, null, 2) + '\n');
    process.stdout.write(md);
    log('wrote bench/config-test.md and bench/config-test.json (bench/report.ts puts them in bench/report.md)');
    const failed = results.some((r) => r.exit.vigilCli !== 0 || r.exit.vigilLoadConfig !== 0 || (r.exit.keepalived ?? 0) !== 0);
    return failed ? 1 : 0;
  } finally {
    ka?.ns.destroy();
  }
}

main().then(
  (code) => { process.exitCode = code; },
  (err: unknown) => {
    process.stderr.write(`bench: ${(err as Error)?.message ?? String(err)}\n`);
    runCleanups();
    process.exitCode = 2;
  },
);
