// bench/failover.ts: how long a VRRP backup takes to step in, vigil against keepalived 2.2.7, side
// by side in one run. The principle is /work/shared/lab/failover.sh's: two routers on a bridge,
// tcpdump on the bridge, kill the master, and read the gap between its last advert and the backup's
// first off the capture; then divide by what the protocol says the gap should be.
//
// Cells: {VRRPv2 PASS advert 1 s, VRRPv3 advert 0.1 s, VRRPv3 advert 0.02 s} × {crash, graceful},
// each with BENCH_TRIALS (default 20, --quick 5) trials per implementation, alternating vigil,
// keepalived, vigil, ... so machine noise hits both alike. Writes bench/failover.md,
// bench/failover.json and bench/failover.svg, and prints the summary table on stdout.
//
//   node --import tsx bench/failover.ts                 (after npm run build; root)
//   node --import tsx bench/failover.ts --quick
//   BENCH_TRIALS=40 BENCH_CELLS=v3-100ms-crash,v3-20ms node --import tsx bench/failover.ts
//   BENCH_LOAD=1000 / BENCH_CHECKERS=1000 / BENCH_NATS=down ...  (each daemon also runs 1,000 track
//       scripts / each vigil 1,000 TCP checks / each vigil exports to a NATS server that is down;
//       written as bench/failover-load1000.*, failover-checkers1000.*, failover-natsdown.*)
//
// Exit status: 0 when every trial saw a failover (or the bench cannot run here: not root, no
// keepalived or tcpdump), 1 when some trial did not (the report says which), 2 on an error,
// 128+n after a signal.

import { spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Lab } from '../test/netns/lab.js';
import { Notifier, cpuModel, firstLine, gitCommit, nodeEnv, which } from './common.js';
import {
  type Advert, type Cell, type CellResult, type Env, type Impl, type Trial, type Variant,
  IMPLS, advertIntervals, cellId, cellLabel, checkersText, configText, failoverGap, fmtMs, fmtRatio, markdown,
  masterDownMs, parseAdvert, protocolMs, summarize, summaryTable, svgPlot,
} from './failover-lib.js';

const BENCH_DIR = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(BENCH_DIR, '..');
const VIGIL = path.join(REPO, 'bin', 'vigil.js');
const VIGIL_MAIN = path.join(REPO, 'dist', 'actors', 'cli', 'main.js');

const VARIANTS: Variant[] = [
  { id: 'v2-1s', version: 2, advertMs: 1000 },
  { id: 'v3-100ms', version: 3, advertMs: 100 },
  // keepalived takes advert_int down to 0.01 s (vrrp_parser.c: TIMER_HZ / 100), vigil 0.01..40.95 in v3
  { id: 'v3-20ms', version: 3, advertMs: 20 },
];
const MASTER_PRIO = 150;
const BACKUP_PRIO = 100;
const VIP = '10.99.0.100';
/** BENCH_LOAD=N: every daemon also runs N track scripts (failover-lib.ts configText) */
const LOAD = Math.max(0, Number(process.env.BENCH_LOAD ?? 0) || 0);
/** BENCH_CHECKERS=N: every vigil also runs N TCP checks (failover-lib.ts checkersText) */
const CHECKERS = Math.max(0, Number(process.env.BENCH_CHECKERS ?? 0) || 0);
/** BENCH_NATS=down: every vigil exports to a NATS server that never answers */
const NATS_DOWN = process.env.BENCH_NATS === 'down';
/** after host 2 is BACKUP again: at least this many adverts from host 1, and at least SETTLE_MS */
const SETTLE_ADVERTS = 2;
const SETTLE_MS = 250;
const STATE_LINE = /\(VI_1\) Entering (MASTER|BACKUP|FAULT) STATE/;

const log = (msg: string): void => { process.stderr.write(`failover: ${msg}\n`); };

// ---------------------------------------------------------------------------------------------
// settings

function parseTrials(argv: readonly string[], raw: string | undefined): number {
  if (raw) {
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 1) throw new Error(`BENCH_TRIALS must be a positive integer, not '${raw}'`);
    return n;
  }
  return argv.includes('--quick') ? 5 : 20;
}

function cells(raw: string | undefined): Cell[] {
  const all = VARIANTS.flatMap((variant) => (['crash', 'graceful'] as const).map((mode) => ({ variant, mode })));
  if (!raw) return all;
  const want = raw.split(',').map((s) => s.trim()).filter(Boolean);
  const picked = all.filter((c) => want.some((w) => cellId(c) === w || c.variant.id === w || c.mode === w));
  if (!picked.length) throw new Error(`BENCH_CELLS '${raw}' names no cell; cells are ${all.map(cellId).join(', ')}`);
  return picked;
}

function skipReason(): string | undefined {
  const uid = process.getuid?.();
  if (uid !== 0) return `not root (uid ${uid ?? '?'}): the lab needs network namespaces and raw sockets`;
  if (!which('keepalived')) return 'keepalived is not installed (infra/setup.sh installs it as root)';
  if (!which('tcpdump')) return 'tcpdump is not installed (infra/setup.sh installs it as root)';
  if (!which('ip')) return 'ip (iproute2) is not installed';
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// waiting on events: every capture line, log line and exit wakes the waiters, which re-check

const events = new Notifier();
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------------
// a daemon on a lab host, and the capture on the lab's bridge

class Daemon {
  readonly lines: string[] = [];
  state: 'INIT' | 'MASTER' | 'BACKUP' | 'FAULT' = 'INIT';
  exit: number | string | null = null;
  readonly exited: Promise<number | string>;

  constructor(readonly host: number, readonly proc: ChildProcess) {
    for (const stream of [proc.stdout, proc.stderr]) {
      if (!stream) continue;
      createInterface({ input: stream }).on('line', (line) => {
        this.lines.push(message(line));
        if (this.lines.length > 400) this.lines.splice(0, 200);
        const m = STATE_LINE.exec(line);
        if (m) this.state = m[1] as Daemon['state'];
        events.notify();
      });
    }
    this.exited = new Promise((resolve) => {
      proc.on('exit', (code, sig) => {
        this.exit = code ?? sig ?? -1;
        events.notify();
        resolve(this.exit);
      });
    });
  }

  get running(): boolean { return this.exit === null; }

  /** SIGKILL to the process group: keepalived's VRRP child goes too. */
  crash(): void { this.signal(-this.proc.pid!, 'SIGKILL'); }

  /** SIGTERM to the main process only, as `kill PID` or systemd would (keepalived's parent tells its child). */
  terminate(): void { this.signal(this.proc.pid!, 'SIGTERM'); }

  /** SIGTERM and wait; SIGKILL the group if it has not gone after `ms`. Resolves with the exit. */
  async stop(ms = 5000): Promise<number | string> {
    if (!this.running) return this.exit!;
    this.terminate();
    const done = await Promise.race([this.exited, sleep(ms).then(() => 'timeout' as const)]);
    if (done !== 'timeout') return done;
    this.crash();
    await this.exited;
    return 'timeout';
  }

  tail(n = 12): string {
    return this.lines.slice(-n).join(' ⏎ ');
  }

  private signal(pid: number, sig: NodeJS.Signals): void {
    try { process.kill(pid, sig); } catch { /* gone already */ }
  }
}

/** A log line's message: vigil's pino JSON `msg`, keepalived's console line without its date. */
function message(line: string): string {
  if (line.startsWith('{')) {
    try { return String((JSON.parse(line) as { msg?: unknown }).msg ?? line); } catch { /* not JSON after all */ }
  }
  return line.replace(/^\w{3} \w{3} +\d+ [\d:]+ \d{4}: /, '');
}

class Capture {
  rows: Advert[] = [];
  private proc: ChildProcess | undefined;

  /** tcpdump on the bridge; resolves when it says it is listening. */
  async start(lab: Lab): Promise<void> {
    const proc = lab.spawn('sw', 'tcpdump', ['-i', 'br0', '-n', '-tt', '-l', '--immediate-mode', 'ip proto 112']);
    this.proc = proc;
    createInterface({ input: proc.stdout! }).on('line', (line) => {
      const a = parseAdvert(line);
      if (a) { this.rows.push(a); events.notify(); }
    });
    let listening = false;
    let err = '';
    createInterface({ input: proc.stderr! }).on('line', (line) => {
      err += line + '\n';
      if (/listening on/.test(line)) { listening = true; events.notify(); }
    });
    await events.until(() => listening || proc.exitCode !== null, 10_000, `tcpdump on ${lab.sw} did not start`);
    if (!listening) throw new Error(`tcpdump on ${lab.sw} exited: ${err.trim()}`);
  }

  stop(): void {
    try { if (this.proc?.pid) process.kill(-this.proc.pid, 'SIGTERM'); } catch { /* gone */ }
  }
}

/** One implementation's LAN: bridge + 2 hosts, its capture, and the backup that lives through a cell. */
interface Side {
  impl: Impl;
  lab: Lab;
  capture: Capture;
  backup: Daemon | undefined;
  /** the master's advert intervals (ms) before each kill, pooled over the cell */
  intervals: number[];
}

let starts = 0;
let workDir = '';

function startDaemon(side: Side, host: number, prio: number, v: Variant): Daemon {
  const file = path.join(workDir, `${side.impl}-h${host}.conf`);
  const checks = side.impl === 'vigil' ? checkersText(CHECKERS, side.lab.addr(host === 1 ? 2 : 1)) : '';
  fs.writeFileSync(file, configText(v, host, prio, VIP, LOAD) + checks);
  const n = ++starts;
  const proc = side.impl === 'vigil'
    // each host its own journal (one writer per journal), as a real deployment has
    ? side.lab.spawn(host, process.execPath, [VIGIL, 'run', '-f', file, '--journal', path.join(workDir, `journal-h${host}`), '--control', path.join(workDir, `control-h${host}.sock`), ...(NATS_DOWN ? ['--nats', 'nats://127.0.0.1:4'] : [])], { env: nodeEnv })
    // fresh pid files for every start: a SIGKILLed keepalived leaves its own behind
    : side.lab.spawn(host, 'keepalived', ['-n', '-l', '-D', '--vrrp', '-f', file,
      '-p', path.join(workDir, `k${host}-${n}.pid`), '-r', path.join(workDir, `v${host}-${n}.pid`)]);
  return new Daemon(host, proc);
}

// ---------------------------------------------------------------------------------------------
// one trial

async function trial(side: Side, cell: Cell, n: number): Promise<Trial> {
  const { variant: v, mode } = cell;
  const lab = side.lab;
  const [m, b] = [lab.addr(1), lab.addr(2)];
  const figure = protocolMs(cell, BACKUP_PRIO);
  const t: Trial = { impl: side.impl, n, ok: false, gapMs: null, ratio: null, lastMasterPrio: null, startupMs: null, exit: null, notes: [] };

  if (!side.backup?.running) {
    if (side.backup) t.notes.push(`host 2 had exited (${side.backup.exit}); restarted`);
    side.backup = startDaemon(side, 2, BACKUP_PRIO, v);
  }
  const backup = side.backup;
  side.capture.rows = [];
  const rows = side.capture.rows;
  const t0 = performance.now();
  const master = startDaemon(side, 1, MASTER_PRIO, v);
  try {
    // host 1 starts as BACKUP and takes over after its own Master_Down_Interval (priority 150);
    // host 2 then sees the higher priority and steps back
    // under BENCH_LOAD the daemons first start their trackers (vigil spreads 100 per second)
    const startLimit = 3 * masterDownMs(v, MASTER_PRIO) + 10_000 + LOAD * 15 + CHECKERS * 5;
    await events.until(() => master.state === 'MASTER' || !master.running, startLimit, 'host 1 never entered MASTER');
    if (!master.running) throw new Error(`host 1 exited (${master.exit}) before entering MASTER`);
    t.startupMs = performance.now() - t0;
    await events.until(() => backup.state === 'BACKUP' || !backup.running, 5 * v.advertMs + 5000, 'host 2 did not go back to BACKUP');
    if (!backup.running) throw new Error(`host 2 exited (${backup.exit})`);
    const settledAt = performance.now();
    // a few adverts from host 1 since host 2 last spoke, so host 2's timer runs on host 1's adverts
    const settled = (): boolean => {
      let count = 0;
      for (let i = rows.length - 1; i >= 0 && rows[i]!.src !== b; i--) if (rows[i]!.src === m && rows[i]!.prio === MASTER_PRIO) count++;
      return count >= SETTLE_ADVERTS && performance.now() - settledAt >= SETTLE_MS;
    };
    await events.until(settled, SETTLE_MS + 20 * v.advertMs + 5000, 'host 1 adverts not seen on the bridge');
    if (master.state !== 'MASTER' || backup.state !== 'BACKUP') throw new Error(`states moved before the kill: host 1 ${master.state}, host 2 ${backup.state}`);

    const from = rows.length;
    // the master's steady rhythm: only after host 2 fell silent (before that, host 1 answers host 2's
    // lower-priority adverts at once, "forcing new election", which is not its interval)
    let quiet = from - 1;
    while (quiet >= 0 && rows[quiet]!.src !== b) quiet--;
    side.intervals.push(...advertIntervals(rows, m, MASTER_PRIO, quiet + 1, from));
    if (mode === 'crash') master.crash(); else master.terminate();
    const tookOver = (): boolean => rows.slice(from).some((r) => r.src === b);
    await events.until(tookOver, 3 * figure + 5000, 'host 2 sent no advert after the kill');
    t.exit = await Promise.race([master.exited, sleep(5000).then(() => null)]);
    if (t.exit === null) t.notes.push('host 1 had not exited 5 s after the signal');
    if (mode === 'graceful' && t.exit !== 0) t.notes.push(`host 1 exited ${t.exit} after SIGTERM`);

    const gap = failoverGap(rows, from, m, b);
    if (!gap.ok) throw new Error(gap.reason);
    t.gapMs = gap.gapMs;
    t.ratio = gap.gapMs / figure;
    t.lastMasterPrio = gap.lastMaster.prio;
    if (mode === 'crash' && gap.lastMaster.prio === 0) t.notes.push('a crashed master sent priority 0');
    if (mode === 'graceful' && gap.lastMaster.prio !== 0) t.notes.push(`last advert from the master had priority ${gap.lastMaster.prio}, not 0`);
    if (gap.masterAfter) t.notes.push(`host 1 sent ${gap.masterAfter} advert(s) after host 2 took over`);
    // the log line follows the advert; a backup that sends without entering MASTER is worth a note
    await events.until(() => backup.state === 'MASTER', 2000, '').catch(() => t.notes.push(`host 2 is ${backup.state} after its first advert`));
    t.ok = true;
  } catch (err) {
    t.notes.push(`${(err as Error).message}; host 1: ${master.tail()}; host 2: ${backup.tail()}`);
    // start the next trial from scratch
    master.crash();
    backup.crash();
    await Promise.all([master.exited, backup.exited]);
    side.backup = undefined;
  }
  if (master.running) { master.crash(); await master.exited; }
  return t;
}

// ---------------------------------------------------------------------------------------------
// cleanup: whatever happens, the labs go

const sides: Side[] = [];
/** set by a signal: the handler tears down and exits, main must not carry on meanwhile */
let stopping = false;

async function teardown(): Promise<void> {
  for (const s of sides) s.capture.stop();
  await Promise.all(sides.splice(0).map((s) => s.lab.destroy().catch((err: Error) => log(`could not destroy lab ${s.lab.sw}: ${err.message}`))));
  if (workDir) fs.rmSync(workDir, { recursive: true, force: true });
}

for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(sig, () => {
    if (stopping) return;
    stopping = true;
    log(`${sig}: tearing down the labs`);
    void teardown().finally(() => process.exit(128 + (os.constants.signals[sig] ?? 1)));
  });
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<number> {
  const reason = skipReason();
  if (reason) {
    log(`skipped: ${reason}`);
    return 0;
  }
  if (!fs.existsSync(VIGIL_MAIN)) {
    throw new Error(`${path.relative(REPO, VIGIL_MAIN)} is missing: run \`npm run build\` first`);
  }
  const trials = parseTrials(process.argv.slice(2), process.env.BENCH_TRIALS);
  const plan = cells(process.env.BENCH_CELLS);
  const wall0 = performance.now();
  const env: Env = {
    date: new Date().toISOString(),
    kernel: firstLine('uname', ['-r'], /./),
    cpu: cpuModel(),
    cpus: os.availableParallelism(),
    node: process.version,
    keepalived: firstLine('keepalived', ['-v'], /Keepalived v/),
    tcpdump: firstLine('tcpdump', ['--version'], /tcpdump version/),
    vigilCommit: gitCommit(REPO),
    loadavg: os.loadavg(),
    trials,
    wallSeconds: 0,
    load: LOAD,
    checkers: CHECKERS,
    natsDown: NATS_DOWN,
  };

  workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-failover-'));
  for (const [impl, tag] of [['vigil', 'fov'], ['keepalived', 'fok']] as const) {
    const side: Side = { impl, lab: await Lab.create({ hosts: 2, tag }), capture: new Capture(), backup: undefined, intervals: [] };
    sides.push(side);
    await side.capture.start(side.lab);
  }
  log(`labs ${sides.map((s) => s.lab.sw).join(', ')} up; ${plan.length} cells × ${trials} trials × ${IMPLS.length} implementations`);

  const results: CellResult[] = [];
  try {
    for (const cell of plan) {
      const figure = protocolMs(cell, BACKUP_PRIO);
      const done: Trial[] = [];
      for (const s of sides) s.intervals = [];
      for (let n = 1; n <= trials; n++) {
        for (const s of sides) {
          const t = await trial(s, cell, n);
          if (stopping) return new Promise<never>(() => {}); // the signal handler exits
          done.push(t);
          log(`${cellId(cell)} ${s.impl} #${n}: ${t.ok ? `${fmtMs(t.gapMs)} ms (ratio ${fmtRatio(t.ratio)}, last prio ${t.lastMasterPrio})` : 'FAILED'}` +
            (t.notes.length ? ` — ${t.notes.join('; ')}` : ''));
        }
      }
      for (const s of sides) {
        if (s.backup) await s.backup.stop();
        s.backup = undefined;
      }
      const summary = Object.fromEntries(sides.map((s) => [s.impl, summarize(done.filter((t) => t.impl === s.impl), s.intervals)])) as CellResult['summary'];
      const vm = summary.vigil.gapMs?.median;
      const km = summary.keepalived.gapMs?.median;
      results.push({
        id: cellId(cell), label: cellLabel(cell), version: cell.variant.version, advertMs: cell.variant.advertMs, mode: cell.mode,
        protocolMs: Math.round(figure * 1000) / 1000,
        trials: done.map((t) => ({ ...t, gapMs: t.gapMs === null ? null : Math.round(t.gapMs * 1000) / 1000, ratio: t.ratio === null ? null : Math.round(t.ratio * 10000) / 10000, startupMs: t.startupMs === null ? null : Math.round(t.startupMs) })),
        summary,
        vigilVsKeepalived: vm !== undefined && km !== undefined && km > 0 ? Math.round((vm / km) * 1000) / 1000 : null,
      });
      log(`${cellId(cell)}: vigil median ${fmtMs(vm)} ms, keepalived median ${fmtMs(km)} ms, protocol ${fmtMs(figure)} ms`);
    }
  } finally {
    await teardown();
  }

  env.wallSeconds = Math.round((performance.now() - wall0) / 100) / 10;
  const base = ['failover', LOAD ? `load${LOAD}` : '', CHECKERS ? `checkers${CHECKERS}` : '', NATS_DOWN ? 'natsdown' : ''].filter(Boolean).join('-');
  const svgName = `${base}.svg`;
  fs.writeFileSync(path.join(BENCH_DIR, svgName), svgPlot(results));
  fs.writeFileSync(path.join(BENCH_DIR, `${base}.md`), markdown(env, results, svgName));
  fs.writeFileSync(path.join(BENCH_DIR, `${base}.json`), JSON.stringify({ env, masterPriority: MASTER_PRIO, backupPriority: BACKUP_PRIO, cells: results }, null, 2) + '\n');
  process.stdout.write(`${summaryTable(results)}\n\nwall time ${(env.wallSeconds / 60).toFixed(1)} min; wrote bench/${base}.md, bench/${base}.json, bench/${svgName}\n`);
  return results.some((c) => IMPLS.some((i) => c.summary[i].failed > 0)) ? 1 : 0;
}

main().then(
  (code) => { process.exitCode = code; },
  async (err: unknown) => {
    log(`${(err as Error)?.stack ?? String(err)}`);
    await teardown();
    process.exitCode = 2;
  },
);
