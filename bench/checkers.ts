// bench/checkers.ts: 1,000 real servers under TCP and HTTP health checks at delay_loop 1 s, vigil
// against HAProxy 2.6 (Debian) running the same checks, side by side in one run (issue #6, "Figures
// to report"): CPU per 30 s and the ratio, vigil's event-loop delay, the VRRP advert jitter of an
// instance in the same vigil with and without the checks, and the time from a real server refusing
// to its removal, as a ratio to the configured bound. The method is in the report it writes
// (bench/checkers.md, checkers-lib.ts markdown) and the raw windows and trials in bench/checkers.json.
//
//   node --import tsx bench/checkers.ts                 (after npm run build; root)
//   BENCH_TRIALS=3 BENCH_SECONDS=30 BENCH_DETECT=4 node --import tsx bench/checkers.ts   (the defaults)
//   BENCH_SERVERS=200 BENCH_SECONDS=5 BENCH_TRIALS=1 node --import tsx bench/checkers.ts  (a quick look)
//   BENCH_CELLS=vigil-tcp,haproxy-tcp node --import tsx bench/checkers.ts                (some cells only)
//   BENCH_PROFILE=/tmp/prof BENCH_CELLS=vigil-tcp node --import tsx bench/checkers.ts     (+ vigil's CPU profiles,
//                                                        then node --import tsx bench/cpuprofile.ts /tmp/prof/*)
//   BENCH_VIGIL=/other/tree/bin/vigil.js ...             (another build of vigil, e.g. a fix under test)
//   BENCH_UNIT=0 ...                                     (bare node: without infra/vigil.service's node flags and environment)
//   BENCH_SETTLE=2 ...                                   (seconds from the checks up to the window; default 15)
//   BENCH_PERF=/tmp/perf ...                             (perf record + perf stat of each window: where the kernel time goes)
//   BENCH_LOGS=DIR BENCH_NODE_FLAGS=--trace-gc ...        (each run's output kept; more node flags for vigil)
//   BENCH_WINDOW_CMD='strace -c -f -p {pid} ...' ...     (a command run during each window)
//   node --import tsx bench/checkers.ts --render         (checkers.md again from checkers.json, nothing measured)
//
// The whole run takes about 14 minutes (3 rounds × 5 cells of 30 s, starts, 15 s settles, 4 detections per run).
// Rounds (BENCH_TRIALS) each run every cell once: vigil VRRP-only, vigil TCP, HAProxy TCP, vigil
// HTTP, HAProxy HTTP; one process per cell and round, measured alone. Exit status: 0 when every
// window and detection trial was measured (or the bench cannot run here: not root, no HAProxy,
// tcpdump, nft or curl), 1 when some failed (the report says which), 2 on an error, 128+n after
// a signal.

import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Lab } from '../test/netns/lab.js';
import { advertIntervals, parseAdvert, type Advert } from './failover-lib.js';
import { buildModel, deleteTableScript, transaction } from '../adapters/lb/nftModel.js';
import { normalizeTable } from '../adapters/lb/table.js';
import { cpuModel, firstLine, gitCommit, nodeEnv, UNIT_ENV, UNIT_NODE_FLAGS, which } from './common.js';
import {
  CELLS, LISTENER, type Cell, type Check, type Detection, type Env, type Impl, type LoopScrape, type Plan,
  type Report, type Spread, type Window, detectionBoundMs, haproxyConfig, haproxyRsChange, loopWindow,
  buildReport, markdown, roundStats, stats, parseLoopMetrics, parseProcStat, rsPort, spread, summaryTable, treeCpu, vigilConfig, vigilRsChange,
  type CellId, type ProcStat, lbTable,
} from './checkers-lib.js';

const BENCH_DIR = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(BENCH_DIR, '..');
/** BENCH_VIGIL=PATH/bin/vigil.js: run another build of vigil (e.g. a branch under test) */
const VIGIL = process.env.BENCH_VIGIL ? path.resolve(process.env.BENCH_VIGIL) : path.join(REPO, 'bin', 'vigil.js');
const VIGIL_MAIN = path.join(path.dirname(VIGIL), '..', 'dist', 'actors', 'cli', 'main.js');
const HAPROXY = '/usr/sbin/haproxy';
const HTTP_PORT = 9180;
const MASTER_ADDR = '10.99.0.11';
const MASTER_PRIO = 150;
/**
 * after every checker's first result, before the window (BENCH_SETTLE seconds): the start's garbage
 * collected, including V8's memory reducer's full collections 10-15 s after the start, timers spread
 */
const SETTLE_MS = 1000 * (process.env.BENCH_SETTLE ? Math.max(0, Number(process.env.BENCH_SETTLE)) || 0 : 15);
const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

const log = (msg: string): void => { process.stderr.write(`checkers: ${msg}\n`); };
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
/** wall-clock ms, to the microsecond: the listener stamps its closes the same way */
const wallMs = (): number => performance.timeOrigin + performance.now();

// ---------------------------------------------------------------------------------------------
// settings

function positiveInt(name: string, raw: string | undefined, dflt: number): number {
  if (raw === undefined || raw === '') return dflt;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be a non-negative integer, not '${raw}'`);
  return n;
}

function skipReason(): string | undefined {
  const uid = process.getuid?.();
  if (uid !== 0) return `not root (uid ${uid ?? '?'}): the lab needs network namespaces`;
  if (!fs.existsSync(HAPROXY)) return `${HAPROXY} is missing (infra/setup.sh installs haproxy as root)`;
  for (const cmd of ['tcpdump', 'nft', 'curl', 'ip']) if (!which(cmd)) return `${cmd} is not installed (infra/setup.sh installs it as root)`;
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// waiting: every log line, capture line and exit wakes the waiters, which re-check

const waiters = new Set<() => void>();
const notify = (): void => { for (const w of [...waiters]) w(); };

/** Resolves once `pred()` holds; rejects after `ms` with `what` (a function: evaluated then). */
function until(pred: () => boolean, ms: number, what: string | (() => string)): Promise<void> {
  if (pred()) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const check = (): void => {
      if (!pred()) return;
      waiters.delete(check);
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      waiters.delete(check);
      reject(new Error(`${typeof what === 'function' ? what() : what} (not within ${Math.round(ms)} ms)`));
    }, ms);
    waiters.add(check);
  });
}

// ---------------------------------------------------------------------------------------------
// /proc: CPU of a process tree

function procStats(): ProcStat[] {
  const out: ProcStat[] = [];
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const s = parseProcStat(fs.readFileSync(`/proc/${d}/stat`, 'utf8'));
      if (s) out.push(s);
    } catch { /* exited meanwhile */ }
  }
  return out;
}

/** all CPUs' busy and total jiffies from /proc/stat: how loaded the (shared) machine was */
function machineCpu(): { busy: number; total: number } {
  const f = (fs.readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '').trim().split(/\s+/).slice(1).map(Number);
  const total = f.slice(0, 8).reduce((a, b) => a + b, 0);
  return { busy: total - (f[3] ?? 0) - (f[4] ?? 0), total };
}

function cpuOf(pid: number): { self: number; user: number; system: number; children: number } {
  const t = treeCpu(procStats(), pid);
  if (!t) throw new Error(`process ${pid} is gone`);
  return { self: t.self / CLK_TCK, user: t.user / CLK_TCK, system: t.system / CLK_TCK, children: t.children / CLK_TCK };
}

/**
 * CPU seconds of each thread of `pid` by name (`main` for the process's first thread; node names
 * its others, e.g. the health-check thread, V8's GC workers, libuv's pool).
 */
function threadCpu(pid: number): Map<string, number> {
  const out = new Map<string, number>();
  for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
    try {
      const stat = parseProcStat(fs.readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8'));
      if (!stat) continue;
      const name = Number(tid) === pid ? 'main' : fs.readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim();
      out.set(name, (out.get(name) ?? 0) + (stat.user + stat.system) / CLK_TCK);
    } catch { /* exited meanwhile */ }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// the lab: director h1 (the checker), real-server host h2 (the listener), tcpdump on the bridge

let lab: Lab | undefined;
let workDir = '';

class Listener {
  ready = false;
  /** port → wall ms of the last close / open */
  readonly closed = new Map<number, number>();
  readonly opened = new Map<number, number>();

  constructor(readonly proc: ChildProcess) {
    createInterface({ input: proc.stdout! }).on('line', (line) => {
      const [what, port, t] = line.split(' ');
      if (what === 'ready') this.ready = true;
      else if (what === 'closed') this.closed.set(Number(port), Number(t));
      else if (what === 'opened') this.opened.set(Number(port), Number(t));
      notify();
    });
    createInterface({ input: proc.stderr! }).on('line', (line) => log(`listener: ${line}`));
    proc.on('exit', notify);
  }

  send(cmd: string): void { this.proc.stdin!.write(`${cmd}\n`); }
}

/**
 * tcpdump on the bridge: the VRRP adverts, and the SYNs of connections to the real servers (their
 * times only: how evenly the checks are spread; kept for the last minute).
 */
class Capture {
  readonly rows: Advert[] = [];
  syns: number[] = [];
  private proc: ChildProcess | undefined;

  async start(l: Lab, plan: Plan): Promise<void> {
    const syn = `(dst host ${plan.rsAddress} and tcp[tcpflags] & (tcp-syn|tcp-ack) == tcp-syn)`;
    const proc = l.spawn('sw', 'tcpdump', ['-i', 'br0', '-n', '-tt', '-l', '--immediate-mode', `ip proto 112 or ${syn}`]);
    this.proc = proc;
    createInterface({ input: proc.stdout! }).on('line', (line) => {
      if (line.includes(' Flags [S]')) {
        this.syns.push(Number.parseFloat(line) * 1000);
        if (this.syns.length > 200_000) this.syns = this.syns.slice(-100_000);
        return;
      }
      const a = parseAdvert(line);
      if (a) this.rows.push(a);
    });
    let listening = false;
    let err = '';
    createInterface({ input: proc.stderr! }).on('line', (line) => {
      err += line + '\n';
      if (/listening on/.test(line)) { listening = true; notify(); }
    });
    await until(() => listening || proc.exitCode !== null, 10_000, 'tcpdump did not start');
    if (!listening) throw new Error(`tcpdump exited: ${err.trim()}`);
  }

  /** SYNs to the real servers per 10 ms between two wall-clock times */
  spread(fromMs: number, toMs: number): Spread {
    return spread(this.syns, fromMs, toMs);
  }

  /** the MASTER's advert intervals (ms) between two wall-clock times */
  intervals(fromMs: number, toMs: number): { adverts: number; intervals: number[] } {
    const rows = this.rows.filter((r) => r.t * 1000 >= fromMs && r.t * 1000 <= toMs);
    return { adverts: rows.filter((r) => r.src === MASTER_ADDR && r.prio === MASTER_PRIO).length, intervals: advertIntervals(rows, MASTER_ADDR, MASTER_PRIO) };
  }

  stop(): void {
    try { if (this.proc?.pid) process.kill(-this.proc.pid, 'SIGTERM'); } catch { /* gone */ }
  }
}

// ---------------------------------------------------------------------------------------------
// one checker process on the director

class Run {
  readonly lines: string[] = [];
  exit: number | string | null = null;
  readonly exited: Promise<number | string>;
  master = false;
  /** vigil: the checker count of its "Starting health checkers" line */
  checkers: number | undefined;
  /** every real-server change seen, with the wall time the bench read it */
  readonly changes: { port: number; up: boolean; t: number; why: string }[] = [];
  /** vigil: the last checker DOWN line, which says why (it precedes "Removing service") */
  private lastDown: string | undefined;

  constructor(readonly impl: Impl, readonly proc: ChildProcess, private readonly logPath?: string) {
    for (const stream of [proc.stdout, proc.stderr]) {
      createInterface({ input: stream! }).on('line', (line) => this.line(line));
    }
    this.exited = new Promise((resolve) => {
      proc.on('exit', (code, sig) => {
        this.exit = code ?? sig ?? -1;
        notify();
        resolve(this.exit);
      });
    });
  }

  private line(raw: string): void {
    const t = wallMs();
    if (this.logPath !== undefined) fs.appendFileSync(this.logPath, `${t.toFixed(0)} ${raw}\n`);
    let msg = raw;
    if (this.impl === 'vigil' && raw.startsWith('{')) {
      try { msg = String((JSON.parse(raw) as { msg?: unknown }).msg ?? raw); } catch { /* not JSON after all */ }
    }
    this.lines.push(msg);
    if (this.lines.length > 400) this.lines.splice(0, 200);
    if (this.impl === 'vigil') {
      if (/\(VI_1\) Entering MASTER STATE/.test(msg)) this.master = true;
      const m = /^Starting health checkers: \d+ virtual server\(s\), (\d+) checker\(s\)/.exec(msg);
      if (m) this.checkers = Number(m[1]);
    }
    if (this.impl === 'vigil' && / DOWN \(/.test(msg)) this.lastDown = msg;
    const c = this.impl === 'vigil' ? vigilRsChange(msg) : haproxyRsChange(msg);
    if (c) this.changes.push({ ...c, t, why: this.impl === 'vigil' ? this.lastDown ?? '' : msg });
    notify();
  }

  get running(): boolean { return this.exit === null; }

  tail(n = 8): string { return this.lines.slice(-n).join(' ⏎ '); }

  async stop(ms = 10_000): Promise<void> {
    if (!this.running) return;
    try { process.kill(this.proc.pid!, 'SIGTERM'); } catch { /* gone */ }
    const done = await Promise.race([this.exited, sleep(ms).then(() => 'timeout' as const)]);
    if (done === 'timeout') {
      log(`${this.impl} did not stop within ${ms} ms; killed`);
      try { process.kill(-this.proc.pid!, 'SIGKILL'); } catch { /* gone */ }
      await this.exited;
    }
  }
}

let current: Run | undefined;
let runs = 0;

const controlOf = (n: number): string => path.join(workDir, `control-${n}.sock`);

const SHADOW_TABLE = 'ckbench_lb';

const PERF_COUNTS = ['context-switches', ...['epoll_wait', 'epoll_pwait', 'epoll_ctl', 'socket', 'connect', 'close', 'setsockopt', 'getsockopt', 'recvfrom', 'sendto', 'read', 'write']
  .map((c) => `syscalls:sys_enter_${c}`)].join(',');

/**
 * vigil's NAT table for the plan's services (its own nftables model, under another name) in the
 * director's namespace while HAProxy runs: the same nat hooks and conntrack that vigil's table puts
 * in the path of every check connection. Loaded before HAProxy starts, deleted once it stopped.
 */
function shadowTable(plan: Plan, on: boolean): void {
  const script = on ? transaction(SHADOW_TABLE, undefined, buildModel(normalizeTable(lbTable(plan)), { masquerade: false })) : deleteTableScript(SHADOW_TABLE);
  const r = spawnSync('ip', ['netns', 'exec', lab!.ns(1), 'nft', '-f', '-'], { input: script, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`nft -f (${on ? 'load' : 'delete'} ${SHADOW_TABLE}): ${r.stderr || r.error?.message}`);
}

/** a diagnostic's process has ended (exited, or could not start: no perf here) */
const ended = (p: ChildProcess): Promise<void> => new Promise((resolve) => {
  if (p.exitCode !== null || p.signalCode !== null) return resolve();
  p.once('exit', () => resolve());
  p.once('error', () => resolve());
});

const logFile = (cell: Cell, n: number): string | undefined =>
  process.env.BENCH_LOGS ? path.join(path.resolve(process.env.BENCH_LOGS), `${cell.id}-${n}.log`) : undefined;

function startRun(cell: Cell, plan: Plan): Run {
  if (!lab) throw new Error('no lab');
  const n = ++runs;
  if (cell.impl === 'vigil') {
    const file = path.join(workDir, `vigil-${n}.conf`);
    fs.writeFileSync(file, vigilConfig(plan, cell.check));
    // BENCH_PROFILE=DIR: a V8 CPU profile of every vigil run, written there when it stops
    const prof = process.env.BENCH_PROFILE ? ['--cpu-prof', '--cpu-prof-dir', path.resolve(process.env.BENCH_PROFILE)] : [];
    // as infra/vigil.service runs it (its node flags and environment); BENCH_UNIT=0: bare node
    const unit = process.env.BENCH_UNIT === '0' ? [] : UNIT_NODE_FLAGS;
    // BENCH_NODE_FLAGS: more node flags for vigil (--trace-gc, ...); BENCH_LOGS=DIR keeps each run's output there
    const extra = (process.env.BENCH_NODE_FLAGS ?? '').split(/\s+/).filter(Boolean);
    return new Run('vigil', lab.spawn(1, process.execPath, [
      ...unit, ...extra, ...prof, VIGIL, 'run', '-f', file, '--journal', path.join(workDir, `journal-${n}`), '--control', controlOf(n),
      '--http', `127.0.0.1:${HTTP_PORT}`,
    ], { env: process.env.BENCH_UNIT === '0' ? nodeEnv : { ...nodeEnv, ...UNIT_ENV } }), logFile(cell, n));
  }
  const file = path.join(workDir, `haproxy-${n}.cfg`);
  fs.writeFileSync(file, haproxyConfig(plan, cell.check!, statsSocket()));
  return new Run('haproxy', lab.spawn(1, HAPROXY, ['-db', '-f', file]), logFile(cell, n));
}

const statsSocket = (): string => path.join(workDir, 'haproxy.sock');

/** HAProxy's `show stat`: servers by their last check status (L4OK, L7OK, L4CON, INI, ...). */
function haproxyCheckStatus(): Promise<Map<string, number>> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(statsSocket());
    let text = '';
    sock.setTimeout(2000, () => sock.destroy(new Error('stats socket timeout')));
    sock.on('connect', () => sock.write('show stat -1 4 -1\n'));
    sock.on('data', (d) => (text += String(d)));
    sock.on('error', reject);
    sock.on('close', () => {
      const [head, ...rows] = text.split('\n').filter(Boolean);
      const cols = (head ?? '').replace(/^# /, '').split(',');
      const at = cols.indexOf('check_status');
      const out = new Map<string, number>();
      if (at < 0) return reject(new Error(`stats socket: no check_status column in '${text.slice(0, 200)}'`));
      for (const r of rows) {
        const st = r.split(',')[at] ?? '';
        out.set(st, (out.get(st) ?? 0) + 1);
      }
      resolve(out);
    });
  });
}

/** `vigil status --json` on a control socket, without blocking this process's event loop. */
function statusOf(control: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [VIGIL, 'status', '--control', control, '--json'], { env: nodeEnv, timeout: 30_000, maxBuffer: 64 << 20 }, (err, stdout, stderr) =>
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) || 1 : 0, stdout, stderr }));
  });
}

/**
 * Until every checker has had its first result. vigil logs no first success (only changes), so: its
 * "Starting health checkers: ... N checker(s)" line, MASTER, then warmup (delay_loop, where the
 * first checks fall) plus connect_timeout, and `vigil status` must show every real server alive.
 * HAProxy: every server's last check status is L4OK/L7OK on the stats socket.
 */
async function waitReady(run: Run, cell: Cell, plan: Plan, control: string, notes: string[]): Promise<number> {
  const t0 = performance.now();
  const limit = 60_000;
  if (run.impl === 'vigil') {
    await until(() => !run.running || (run.master && (cell.check === undefined || run.checkers !== undefined)), limit,
      () => `vigil: MASTER ${run.master}, checkers started: ${run.checkers ?? 'no'}; log: ${run.tail()}`);
    if (!run.running) throw new Error(`vigil exited (${run.exit}): ${run.tail()}`);
    if (cell.check === undefined) return 0;
    if (run.checkers !== plan.servers) throw new Error(`vigil started ${run.checkers} checkers, not ${plan.servers}`);
    await sleep((plan.delayLoopS + plan.connectTimeoutS) * 1000);
    // `vigil status` waits 10 s for the daemon's reply; a busy start can take longer (noted)
    for (let attempt = 1; ; attempt++) {
      const s0 = performance.now();
      const r = await statusOf(control);
      const ms = Math.round(performance.now() - s0);
      if (ms > 2000 || r.code) notes.push(`vigil status attempt ${attempt}: ${r.code ? `exit ${r.code} (${r.stderr.trim()})` : 'answered'} after ${ms} ms`);
      if (r.code && attempt < 3 && run.running) continue;
      const st = JSON.parse(r.stdout || '{}') as { virtualServers?: { realServers: { alive: boolean }[] }[] };
      const alive = (st.virtualServers ?? []).flatMap((v) => v.realServers).filter((x) => x.alive).length;
      if (alive < plan.servers) throw new Error(`vigil status: ${alive}/${plan.servers} real servers alive${r.code ? ` (exit ${r.code}: ${r.stderr.trim()})` : ''}`);
      return alive;
    }
  }
  for (;;) {
    if (!run.running) throw new Error(`haproxy exited (${run.exit}): ${run.tail()}`);
    const st = await haproxyCheckStatus().catch(() => new Map<string, number>());
    const ok = (st.get('L4OK') ?? 0) + (st.get('L7OK') ?? 0);
    if (ok >= plan.servers) return ok;
    if (performance.now() - t0 > limit) throw new Error(`haproxy: ${ok}/${plan.servers} servers checked OK: ${[...st].map(([k, v]) => `${k} ${v}`).join(', ')}`);
    await sleep(200);
  }
}

async function scrape(): Promise<LoopScrape | undefined> {
  const text = await lab!.exec(1, 'curl', ['-sf', '--max-time', '5', `http://127.0.0.1:${HTTP_PORT}/metrics`]).catch(() => '');
  return parseLoopMetrics(text);
}

// ---------------------------------------------------------------------------------------------
// one cell's run: start, settle, a CPU window, then detection trials

const intervalsOf = new Map<string, number[]>();
const detections: Detection[] = [];

async function cellRun(cell: Cell, n: number, plan: Plan, seconds: number, detect: number, listener: Listener, capture: Capture): Promise<Window> {
  const w: Window = {
    cell: cell.id, n, ok: false, seconds, cpuSelf: null, cpuUser: null, cpuSystem: null, cpuChildren: null, cpuTotal: null, cpuPer30: null, core: null, machineBusy: null, threads: null,
    loop: null, adverts: null, intervalMs: null, checksPerS: null, cpuUsPerCheck: null, spread: null, upAtStart: null, startupMs: null, notes: [],
  };
  const t0 = performance.now();
  if (cell.impl === 'haproxy') shadowTable(plan, true);
  const run = startRun(cell, plan);
  current = run;
  try {
    w.upAtStart = await waitReady(run, cell, plan, controlOf(runs), w.notes);
    w.startupMs = Math.round(performance.now() - t0);
    await sleep(SETTLE_MS);

    const s0 = run.impl === 'vigil' ? await scrape() : undefined;
    const m0 = machineCpu();
    const c0 = cpuOf(run.proc.pid!);
    const t0cpu = threadCpu(run.proc.pid!);
    const p0 = performance.now();
    const wall0 = wallMs();
    // BENCH_PERF=DIR: a kernel + user CPU profile of the window (perf record, cpu-clock), DIR/<cell>-<round>.data
    const perf = process.env.BENCH_PERF ? spawn('perf', ['record', '-q', '-e', 'cpu-clock', '-F', '999', '-g', '-p', String(run.proc.pid),
      '-o', path.join(path.resolve(process.env.BENCH_PERF), `${cell.id}-${n}.data`), '--', 'sleep', String(seconds)], { stdio: 'ignore' }) : undefined;
    // and system calls and context switches counted (perf stat), DIR/<cell>-<round>.stat
    const stat = process.env.BENCH_PERF ? spawn('perf', ['stat', '-x', ',', '-o', path.join(path.resolve(process.env.BENCH_PERF), `${cell.id}-${n}.stat`),
      '-e', PERF_COUNTS, '-p', String(run.proc.pid), '--', 'sleep', String(seconds)], { stdio: 'ignore' }) : undefined;
    // BENCH_WINDOW_CMD: a shell command run during the window, {pid} the checker's process id (diagnostics: strace, ...)
    const side = process.env.BENCH_WINDOW_CMD ? spawn('sh', ['-c', process.env.BENCH_WINDOW_CMD.replaceAll('{pid}', String(run.proc.pid))], { stdio: 'ignore' }) : undefined;
    await sleep(seconds * 1000);
    for (const p of [perf, stat, side]) if (p) await ended(p);
    const c1 = cpuOf(run.proc.pid!);
    const t1cpu = threadCpu(run.proc.pid!);
    w.threadCpu = Object.fromEntries([...t1cpu].map(([k, v]) => [k, Math.round((v - (t0cpu.get(k) ?? 0)) * 1000) / 1000]).filter(([, v]) => (v as number) > 0));
    const m1 = machineCpu();
    w.threads = Number(/^Threads:\s*(\d+)/m.exec(fs.readFileSync(`/proc/${run.proc.pid}/status`, 'utf8'))?.[1]) || null;
    const p1 = performance.now();
    const wall1 = wallMs();
    const s1 = run.impl === 'vigil' ? await scrape() : undefined;
    if (!run.running) throw new Error(`${run.impl} exited during the window (${run.exit})`);
    await sleep(300); // tcpdump's last lines of the window
    w.spread = capture.spread(wall0, wall1);

    w.seconds = Math.round(p1 - p0) / 1000;
    w.cpuSelf = c1.self - c0.self;
    w.cpuUser = c1.user - c0.user;
    w.cpuSystem = c1.system - c0.system;
    w.cpuChildren = c1.children - c0.children;
    w.cpuTotal = w.cpuSelf + w.cpuChildren;
    w.cpuPer30 = (w.cpuTotal * 30) / w.seconds;
    w.core = w.cpuTotal / w.seconds;
    w.checksPerS = Math.round((w.spread.syns / w.seconds) * 10) / 10;
    w.cpuUsPerCheck = w.spread.syns ? Math.round((w.cpuTotal / w.spread.syns) * 1e7) / 10 : null;
    w.machineBusy = Math.round(((m1.busy - m0.busy) / Math.max(1, m1.total - m0.total)) * 1000) / 1000;
    if (run.impl === 'vigil') {
      if (s0 && s1) w.loop = loopWindow(s0, s1) ?? null;
      else w.notes.push('metrics scrape failed');
      const { adverts, intervals } = capture.intervals(wall0, wall1);
      w.adverts = adverts;
      w.intervalMs = intervals.length ? roundStats(stats(intervals)) : null;
      const pooled = intervalsOf.get(cell.id) ?? [];
      pooled.push(...intervals);
      intervalsOf.set(cell.id, pooled);
      if (!adverts) w.notes.push('no adverts captured in the window');
    }
    const down = run.changes.filter((c) => !c.up);
    if (down.length) w.notes.push(`${down.length} real server(s) went down on their own before or during the window: ${down.map((c) => c.why).join(' | ')}`);
    w.ok = true;

    if (cell.check) await detectTrials(run, cell.check, plan, detect, listener);
  } catch (err) {
    w.notes.push(`${(err as Error).message}`);
  } finally {
    await run.stop();
    current = undefined;
    if (cell.impl === 'haproxy') {
      try { shadowTable(plan, false); } catch (err) { w.notes.push((err as Error).message); }
    }
  }
  return w;
}

const usedPorts = new Set<number>();

function randomPort(plan: Plan): number {
  for (;;) {
    const p = rsPort(plan, Math.floor(Math.random() * plan.servers));
    if (!usedPorts.has(p) || usedPorts.size >= plan.servers) { usedPorts.add(p); return p; }
  }
}

/** detection trials run in this many lanes at once, each on its own real server (they do not interact) */
const LANES = 2;

async function detectTrials(run: Run, check: Check, plan: Plan, count: number, listener: Listener): Promise<void> {
  const l = Math.min(LANES, count);
  const lanes = Array.from({ length: l }, (_, i) => Math.floor((count - i + l - 1) / l));
  await Promise.all(lanes.map((n) => detectLane(run, check, plan, n, listener)));
}

async function detectLane(run: Run, check: Check, plan: Plan, count: number, listener: Listener): Promise<void> {
  const bound = detectionBoundMs(plan).refused;
  for (let k = 0; k < count; k++) {
    const n = detections.filter((d) => d.impl === run.impl && d.check === check).length + 1;
    const port = randomPort(plan);
    const d: Detection = { impl: run.impl, check, n, port, ok: false, ms: null, ratio: null, backMs: null, notes: [] };
    detections.push(d);
    // a random moment in the server's check cycle
    await sleep(Math.random() * plan.delayLoopS * 1000);
    const from = run.changes.length;
    const seen = (up: boolean) => () => run.changes.slice(from).some((c) => c.port === port && c.up === up) || !run.running;
    try {
      listener.closed.delete(port);
      listener.send(`close ${port}`);
      await until(() => listener.closed.has(port), 5000, `listener did not close port ${port}`);
      const tClose = listener.closed.get(port)!;
      await until(seen(false), bound * 3 + 5000, `port ${port}: no removal`);
      if (!run.running) throw new Error(`${run.impl} exited (${run.exit})`);
      const down = run.changes.slice(from).find((c) => c.port === port && !c.up)!;
      d.ms = Math.round((down.t - tClose) * 10) / 10;
      d.ratio = Math.round((d.ms / bound) * 1000) / 1000;
    } catch (err) {
      d.notes.push((err as Error).message);
    }
    // back: reopen and wait for the server to return, so the next trial starts from all UP
    try {
      const back = run.changes.length;
      listener.opened.delete(port);
      listener.send(`open ${port}`);
      await until(() => listener.opened.has(port), 5000, `listener did not reopen port ${port}`);
      const tOpen = listener.opened.get(port)!;
      await until(() => run.changes.slice(back).some((c) => c.port === port && c.up) || !run.running, 15_000, `port ${port}: not back in the pool`);
      const up = run.changes.slice(back).find((c) => c.port === port && c.up);
      if (up) d.backMs = Math.round((up.t - tOpen) * 10) / 10;
      d.ok = d.ms !== null;
    } catch (err) {
      d.notes.push((err as Error).message);
      return; // the checker is not in a known state: no more trials in this lane
    }
    log(`  detection ${run.impl} ${check} #${n} port ${port}: ${d.ms ?? '–'} ms (ratio ${d.ratio ?? '–'}), back in ${d.backMs ?? '–'} ms${d.notes.length ? ` — ${d.notes.join('; ')}` : ''}`);
  }
}

// ---------------------------------------------------------------------------------------------
// cleanup: whatever happens, the processes and the namespaces go

let stopping = false;
let capture: Capture | undefined;

async function teardown(): Promise<void> {
  await current?.stop(3000).catch(() => undefined);
  capture?.stop();
  await lab?.destroy().catch((err: Error) => log(`could not destroy the lab: ${err.message}`));
  lab = undefined;
  if (workDir) fs.rmSync(workDir, { recursive: true, force: true });
}

// a throw in an event handler (a bug here) must not leave the namespaces and daemons behind
process.on('uncaughtException', (err) => {
  log(`uncaught: ${err.stack ?? err.message}`);
  if (stopping) return;
  stopping = true;
  void teardown().finally(() => process.exit(2));
});

for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(sig, () => {
    if (stopping) return;
    stopping = true;
    log(`${sig}: tearing down`);
    void teardown().finally(() => process.exit(128 + (os.constants.signals[sig] ?? 1)));
  });
}

// ---------------------------------------------------------------------------------------------

/** `--render`: bench/checkers.md again from bench/checkers.json (after a change to the report's layout) */
function render(): number {
  const r = JSON.parse(fs.readFileSync(path.join(BENCH_DIR, 'checkers.json'), 'utf8')) as Report;
  const report = buildReport(r.env, r.plan, r.windows, r.detectionTrials, r.intervals);
  fs.writeFileSync(path.join(BENCH_DIR, 'checkers.md'), markdown(report));
  fs.writeFileSync(path.join(BENCH_DIR, 'checkers.json'), JSON.stringify(report, null, 2) + '\n');
  process.stdout.write(`${summaryTable(report)}\n\nwrote bench/checkers.md, bench/checkers.json from bench/checkers.json\n`);
  return 0;
}

async function main(): Promise<number> {
  if (process.argv.includes('--render')) return render();
  const reason = skipReason();
  if (reason) {
    log(`skipped: ${reason}`);
    return 0;
  }
  if (!fs.existsSync(VIGIL_MAIN)) throw new Error(`${path.relative(REPO, VIGIL_MAIN)} is missing: run \`npm run build\` first`);
  const rounds = positiveInt('BENCH_TRIALS', process.env.BENCH_TRIALS, 3) || 1;
  const seconds = positiveInt('BENCH_SECONDS', process.env.BENCH_SECONDS, 30) || 1;
  const detect = positiveInt('BENCH_DETECT', process.env.BENCH_DETECT, 4);
  const servers = positiveInt('BENCH_SERVERS', process.env.BENCH_SERVERS, 1000) || 1;
  const plan0 = process.env.BENCH_CELLS ? process.env.BENCH_CELLS.split(',').map((x) => x.trim()) : CELLS.map((c) => c.id);
  const cells0 = CELLS.filter((c) => plan0.includes(c.id));
  if (!cells0.length) throw new Error(`BENCH_CELLS '${process.env.BENCH_CELLS}' names no cell; cells are ${CELLS.map((c) => c.id).join(', ')}`);
  const plan: Plan = {
    servers, perVs: Math.min(100, servers), rsAddress: '10.99.0.12', rsBasePort: 20000, vip: '10.99.0.100', vsBasePort: 8001,
    delayLoopS: 1, retry: 1, delayBeforeRetryS: 1, connectTimeoutS: 1, advertMs: 100,
  };
  const wall0 = performance.now();
  const env: Env = {
    date: new Date().toISOString(),
    kernel: firstLine('uname', ['-r'], /./),
    cpu: cpuModel(),
    cpus: os.availableParallelism(),
    node: process.version,
    haproxy: firstLine(HAPROXY, ['-v'], /HAProxy version/).replace(/ - https?:\S+/, ''),
    haproxyThreads: /default=(\d+)/.exec(firstLine(HAPROXY, ['-vv'], /multi-threading support/))?.[1] ?? '?',
    tcpdump: firstLine('tcpdump', ['--version'], /tcpdump version/),
    vigilCommit: gitCommit(REPO),
    vigilNode: process.env.BENCH_UNIT === '0' ? 'bare node (BENCH_UNIT=0)' : `infra/vigil.service does: ${[...UNIT_NODE_FLAGS, ...Object.entries(UNIT_ENV).map(([k, v]) => `${k}=${v}`)].join(' ')}`,
    loadavg: os.loadavg(),
    rounds, windowSeconds: seconds, settleSeconds: SETTLE_MS / 1000, detectionsPerRun: detect, wallSeconds: 0,
  };

  workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-checkers-'));
  const windows: Window[] = [];
  try {
    lab = await Lab.create({ hosts: 2, tag: 'ckb' });
    capture = new Capture();
    await capture.start(lab, plan);
    const listener = new Listener(lab.spawn(2, process.execPath, ['-e', LISTENER, plan.rsAddress, String(plan.rsBasePort), String(plan.servers)], { env: nodeEnv }));
    await until(() => listener.ready || listener.proc.exitCode !== null, 30_000, 'listener not ready');
    if (!listener.ready) throw new Error('the listener exited');
    log(`lab ${lab.sw} up, ${plan.servers} listeners on ${plan.rsAddress}; ${rounds} rounds × ${cells0.length} cells, ${seconds} s windows, ${detect} detections per checking run`);

    for (let n = 1; n <= rounds; n++) {
      for (const cell of cells0) {
        const w = await cellRun(cell, n, plan, seconds, detect, listener, capture);
        if (stopping) return new Promise<never>(() => {}); // the signal handler exits
        windows.push(w);
        log(`round ${n} ${cell.id}: ${w.ok ? `${w.cpuPer30?.toFixed(2)} CPU-s/30 s (${((w.core ?? 0) * 100).toFixed(1)} % core, machine ${((w.machineBusy ?? 0) * 100).toFixed(0)} % busy; user ${w.cpuUser?.toFixed(2)} s, system ${w.cpuSystem?.toFixed(2)} s, children ${w.cpuChildren?.toFixed(2)} s)` +
          (w.loop ? `, loop mean ${w.loop.meanMs.toFixed(2)} ms, lag p99 ${w.loop.lagP99Ms?.toFixed(1)} max ${w.loop.lagMaxMs?.toFixed(1)} ms` : '') +
          (w.adverts !== null ? `, ${w.adverts} adverts` : '') + (w.spread ? `, SYNs/10 ms p50 ${w.spread.p50} p99 ${w.spread.p99} max ${w.spread.max}` : '') : 'FAILED'}${w.notes.length ? ` — ${w.notes.join('; ')}` : ''}`);
      }
    }
    listener.proc.stdin!.end();
  } finally {
    await teardown();
  }

  env.wallSeconds = Math.round((performance.now() - wall0) / 100) / 10;
  env.loadavgEnd = os.loadavg();
  const intervals = Object.fromEntries([...intervalsOf].map(([k, v]) => [k, v.map((x) => Math.round(x * 100) / 100)])) as Partial<Record<CellId, number[]>>;
  const report = buildReport(env, plan, windows, detections, intervals);
  fs.writeFileSync(path.join(BENCH_DIR, 'checkers.md'), markdown(report));
  fs.writeFileSync(path.join(BENCH_DIR, 'checkers.json'), JSON.stringify(report, null, 2) + '\n');
  process.stdout.write(`${summaryTable(report)}\n\nwall time ${(env.wallSeconds / 60).toFixed(1)} min; wrote bench/checkers.md, bench/checkers.json\n`);
  return windows.some((w) => !w.ok) || detections.some((d) => !d.ok) ? 1 : 0;
}

main().then(
  (code) => { process.exitCode = code; },
  async (err: unknown) => {
    log(`${(err as Error)?.stack ?? String(err)}`);
    await teardown();
    process.exitCode = 2;
  },
);
