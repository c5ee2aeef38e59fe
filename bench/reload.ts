// bench/reload.ts: what a reload costs and what it disturbs, vigil against keepalived 2.2.7 side by
// side in one run, and each daemon's memory and idle CPU. Issue #8's figures.
//
// Sizes: BENCH_SIZES instances (default 10,100,1000), 250 per interface. Cases: (a) the same config
// again, (b) one instance's priority changed, (c) 10% of the instances' VIPs changed. Methods:
// `vigil reload --json` (CLI), SIGHUP to vigil, SIGHUP to keepalived; BENCH_TRIALS (default 5) of
// each, the order rotating. Also RSS at idle with the runnable examples in infra/examples/ and
// every size, CPU over BENCH_IDLE_S seconds (default 30) of idle at the largest size, and vigil's
// RSS and CPU with 100 instances plus 1,000 TCP checkers (issue #8's memory goal). Writes
// bench/reload.md and bench/reload.json and prints the two main tables on stdout.
//
//   node --import tsx bench/reload.ts          (after npm run build; root)
//   BENCH_SIZES=10,100 BENCH_TRIALS=3 BENCH_IDLE_S=10 BENCH_EXAMPLES=0 BENCH_CHECKERS=0 node --import tsx bench/reload.ts
//
// BENCH_SETTLE_MS (default 1000): how long after a reload transitions and VIP deletions are still
// counted. Exit status: 0 when every reload completed (or the bench cannot run here: not root, no
// keepalived), 1 when one did not (the report says which), 2 on an error, 128+n after a signal.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../adapters/config/index.js';
import { Lab, sh } from '../test/netns/lab.js';
import { Notifier, cpuModel, firstLine, gitCommit, nodeEnv, UNIT_ENV, UNIT_NODE_FLAGS, which } from './common.js';
import {
  type AddrEvent, type CaseId, type CheckerResult, type ConfState, type Env, type ExampleResult, type Footprint, type Impl,
  type Method, type Side, type SizeResult, type Trial,
  CASES, CHECKER_PORT0, IMPLS, INITIAL, MAX_IFACES, METHODS, METHOD_LABEL, CASE_LABEL, checkersText, configText, countAddr, disturbanceTable,
  fmtMs, ifaceCount, instanceName, markdown, nextState, parseAddrLine, summarize, timeTable, vipSet,
} from './reload-lib.js';

const BENCH_DIR = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(BENCH_DIR, '..');
const VIGIL = path.join(REPO, 'bin', 'vigil.js');
const VIGIL_MAIN = path.join(REPO, 'dist', 'actors', 'cli', 'main.js');
const EXAMPLES = path.join(REPO, 'infra', 'examples');

/** after every instance is MASTER: let the GARP bursts finish before memory is read */
const IDLE_SETTLE_MS = 2000;
/** a reload (or a start) that takes longer than this failed */
const RELOAD_TIMEOUT_MS = 60_000;
/** after a reload: how long instances not MASTER get to come back before the next trial */
const RECOVER_MS = 15_000;

const STATE_LINE = /^\((\S+)\) Entering (MASTER|BACKUP|FAULT) STATE/;

const log = (msg: string): void => { process.stderr.write(`reload: ${(performance.now() / 1000).toFixed(1)} s: ${msg}\n`); };
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------------
// settings

function nonNegativeInt(name: string, raw: string | undefined, dflt: number): number {
  if (raw === undefined || raw === '') return dflt;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be a non-negative integer, not '${raw}'`);
  return n;
}

function parseSizes(raw: string | undefined): number[] {
  const sizes = (raw ?? '10,100,1000').split(',').map((s) => s.trim()).filter(Boolean).map(Number);
  const max = MAX_IFACES * 250;
  if (!sizes.length || sizes.some((n) => !Number.isInteger(n) || n < 1 || n > max)) {
    throw new Error(`BENCH_SIZES must list instance counts from 1 to ${max}, not '${raw}'`);
  }
  return sizes;
}

function skipReason(): string | undefined {
  const uid = process.getuid?.();
  if (uid !== 0) return `not root (uid ${uid ?? '?'}): the lab needs network namespaces and raw sockets`;
  if (!which('keepalived')) return 'keepalived is not installed (infra/setup.sh installs it as root)';
  if (!which('ip')) return 'ip (iproute2) is not installed';
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// waiting on events: every log line, address event and exit wakes the waiters, which re-check

const events = new Notifier();

// ---------------------------------------------------------------------------------------------
// /proc: a daemon's processes, their memory and CPU

const TICK_MS = (() => {
  const r = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
  const hz = Number(r.stdout?.trim());
  return 1000 / (Number.isFinite(hz) && hz > 0 ? hz : 100);
})();

/** `pid` and all its descendants that are alive now */
function processTree(pid: number): number[] {
  const kids = new Map<number, number[]>();
  for (const e of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${e}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const list = kids.get(ppid) ?? [];
      list.push(Number(e));
      kids.set(ppid, list);
    } catch { /* gone meanwhile */ }
  }
  const out: number[] = [];
  const todo = [pid];
  while (todo.length) {
    const p = todo.pop()!;
    out.push(p);
    todo.push(...(kids.get(p) ?? []));
  }
  return out;
}

function footprint(pid: number): Footprint {
  const procs: Footprint['procs'] = [];
  for (const p of processTree(pid)) {
    try {
      const status = fs.readFileSync(`/proc/${p}/status`, 'utf8');
      procs.push({ pid: p, comm: /^Name:\s+(.*)$/m.exec(status)?.[1] ?? '?', rssKb: Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? 0) });
    } catch { /* gone */ }
  }
  return { rssKb: procs.reduce((a, x) => a + x.rssKb, 0), procs };
}

/** utime + stime of the processes, ms */
function cpuMs(pids: readonly number[]): number {
  let ticks = 0;
  for (const p of pids) {
    try {
      const stat = fs.readFileSync(`/proc/${p}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(f[11]) + Number(f[12]); // fields 14 and 15 of stat(5)
    } catch { /* gone */ }
  }
  return ticks * TICK_MS;
}

// ---------------------------------------------------------------------------------------------
// a daemon: its log lines (with arrival times) and its instances' states

interface Line {
  t: number;
  msg: string;
  /** vigil's pino object */
  data?: Record<string, unknown>;
}

class Daemon {
  readonly lines: Line[] = [];
  readonly states = new Map<string, string>();
  masters = 0;
  exit: number | string | null = null;
  readonly exited: Promise<number | string>;

  constructor(readonly impl: Impl, readonly proc: ChildProcess) {
    for (const stream of [proc.stdout, proc.stderr]) {
      if (!stream) continue;
      createInterface({ input: stream }).on('line', (raw) => this.onLine(raw));
    }
    this.exited = new Promise((resolve) => {
      proc.on('exit', (code, sig) => {
        this.exit = code ?? sig ?? -1;
        events.notify();
        resolve(this.exit);
      });
    });
  }

  get pid(): number { return this.proc.pid!; }
  get running(): boolean { return this.exit === null; }

  private onLine(raw: string): void {
    const line: Line = { t: performance.now(), msg: raw };
    if (raw.startsWith('{')) {
      try {
        const data = JSON.parse(raw) as Record<string, unknown>;
        line.msg = String(data.msg ?? raw);
        line.data = data;
      } catch { /* not JSON after all */ }
    } else {
      line.msg = raw.replace(/^\w{3} \w{3} +\d+ [\d:]+ \d{4}: /, '');
    }
    this.lines.push(line);
    const m = STATE_LINE.exec(line.msg);
    if (m) {
      const was = this.states.get(m[1]!);
      if (was === 'MASTER') this.masters--;
      if (m[2] === 'MASTER') this.masters++;
      this.states.set(m[1]!, m[2]!);
    }
    events.notify();
  }

  /** The first line at index ≥ `from` matching `re`, waiting up to `ms` for it. */
  async waitLine(re: RegExp, from: number, ms: number, what: string): Promise<{ line: Line; index: number }> {
    let i = from;
    let hit: { line: Line; index: number } | undefined;
    await events.until(() => {
      for (; i < this.lines.length; i++) {
        if (re.test(this.lines[i]!.msg)) { hit = { line: this.lines[i]!, index: i }; return true; }
      }
      return !this.running;
    }, ms, what);
    if (!hit) throw new Error(`${this.impl} exited (${this.exit}) while waiting for ${what}`);
    return hit;
  }

  signal(sig: NodeJS.Signals): void {
    try { process.kill(this.pid, sig); } catch { /* gone */ }
  }

  /** SIGTERM (graceful: priority-0 adverts, VIPs removed) and wait; SIGKILL the group after `ms`. */
  async stop(ms = 15_000): Promise<number | string> {
    if (!this.running) return this.exit!;
    this.signal('SIGTERM');
    // unref: a daemon that exits at once must not leave this process waiting out the timer
    const done = await Promise.race([this.exited, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), ms).unref())]);
    if (done !== 'timeout') return done;
    try { process.kill(-this.pid, 'SIGKILL'); } catch { /* gone */ }
    await this.exited;
    return 'timeout';
  }

  tail(n = 8): string {
    return this.lines.slice(-n).map((l) => l.msg).join(' ⏎ ');
  }
}

// ---------------------------------------------------------------------------------------------
// one implementation's host: a Lab with one host, its interfaces, an address monitor, the daemon

interface Host {
  impl: Impl;
  lab: Lab;
  /** eth0 .. eth(ifaces-1) exist */
  ifaces: number;
  /** what `ip -o monitor address` in the namespace has reported, for the whole run */
  addr: AddrEvent[];
  daemon: Daemon | undefined;
  /** what the config file says now */
  state: ConfState;
  conf: string;
  sock: string;
}

let workDir = '';
const hosts: Host[] = [];
let starts = 0;

async function makeHost(impl: Impl): Promise<Host> {
  const lab = await Lab.create({ hosts: 1, tag: impl === 'vigil' ? 'rlv' : 'rlk' });
  const host: Host = {
    impl, lab, ifaces: 1, addr: [], daemon: undefined, state: INITIAL,
    conf: path.join(workDir, `${impl}.conf`), sock: path.join(workDir, `${impl}.sock`),
  };
  hosts.push(host);
  // killed with the lab
  const mon = lab.spawn(1, 'ip', ['-o', 'monitor', 'address']);
  createInterface({ input: mon.stdout! }).on('line', (line) => {
    const e = parseAddrLine(line, performance.now());
    if (e) { host.addr.push(e); events.notify(); }
  });
  await sleep(200); // ip monitor prints nothing when it is ready
  return host;
}

/** eth1.. as veth pairs whose other ends sit alone in the lab's switch namespace (no bridge: an
 * advert sent on one interface must not arrive on another, where the same VRID runs) */
async function ensureIfaces(host: Host, k: number): Promise<void> {
  const ns = host.lab.ns(1);
  for (let j = host.ifaces; j < k; j++) {
    await sh('ip', ['link', 'add', `eth${j}`, 'netns', ns, 'type', 'veth', 'peer', 'name', `q${j}`, 'netns', host.lab.sw]);
    await sh('ip', ['-n', host.lab.sw, 'link', 'set', `q${j}`, 'up']);
    await sh('ip', ['-n', ns, 'addr', 'add', `10.99.${j}.11/24`, 'dev', `eth${j}`]);
    await sh('ip', ['-n', ns, 'link', 'set', `eth${j}`, 'up']);
    host.ifaces = j + 1;
  }
}

function startDaemon(host: Host, file: string): Daemon {
  const n = ++starts;
  const proc = host.impl === 'vigil'
    // a fresh journal per start: one writer per journal, and no state carried from the last size
    // as infra/vigil.service runs it: its memory is a figure here
    ? host.lab.spawn(1, process.execPath, [...UNIT_NODE_FLAGS, VIGIL, 'run', '-f', file, '--journal', path.join(workDir, `journal-${n}`), '--control', host.sock], { env: { ...nodeEnv, ...UNIT_ENV } })
    // fresh pid files for every start: a SIGKILLed keepalived leaves its own behind
    : host.lab.spawn(1, 'keepalived', ['-n', '-l', '-D', '--vrrp', '-f', file,
      '-p', path.join(workDir, `k-${n}.pid`), '-r', path.join(workDir, `v-${n}.pid`)]);
  const d = new Daemon(host.impl, proc);
  host.daemon = d;
  return d;
}

async function stopDaemon(host: Host): Promise<void> {
  const d = host.daemon;
  host.daemon = undefined;
  if (!d) return;
  const r = await d.stop();
  if (r === 'timeout') log(`${host.impl} did not stop within 15 s of SIGTERM; killed`);
}

const allMaster = (d: Daemon, n: number): boolean => d.masters >= n;

function stateSummary(d: Daemon): string {
  const counts = new Map<string, number>();
  for (const s of d.states.values()) counts.set(s, (counts.get(s) ?? 0) + 1);
  return [...counts].map(([s, c]) => `${c} ${s}`).join(', ') || 'no state logged';
}

// ---------------------------------------------------------------------------------------------
// `vigil reload`

interface CliRun { code: number | null; stdout: string; stderr: string; exitAt: number }

function runCli(args: string[]): Promise<CliRun> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [VIGIL, ...args], { env: nodeEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let exitAt = 0;
    let code: number | null = null;
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.on('exit', (c) => { exitAt = performance.now(); code = c; });
    p.on('close', () => resolve({ code, stdout, stderr, exitAt }));
    p.on('error', (err) => resolve({ code: -1, stdout, stderr: String(err), exitAt: performance.now() }));
  });
}

interface VigilReply {
  ok: boolean;
  error?: string;
  report?: { durationMs: number; added: string[]; removed: string[]; replaced: string[]; changed: { instance: string; fields: string[] }[]; unchanged: number };
}

const reportOf = (r: NonNullable<VigilReply['report']>): NonNullable<Trial['report']> => ({
  added: r.added.length, removed: r.removed.length, replaced: r.replaced.length,
  changed: r.changed.map((c) => `${c.instance} (${c.fields.join(', ')})`), unchanged: r.unchanged,
});

// ---------------------------------------------------------------------------------------------
// one reload

const TRANSITION = /Entering (MASTER|BACKUP|FAULT) STATE/;

async function reloadTrial(host: Host, method: Method, c: CaseId, n: number, size: number, settleMs: number): Promise<Trial> {
  const d = host.daemon!;
  const t: Trial = {
    n, method, case: c, ok: false, ms: null, applyMs: null, detail: {}, transitions: 0,
    addr: { unexpectedDeletions: 0, expectedDeletions: 0, expectedAdds: 0, readds: 0, appliedMs: null }, notMaster: 0, cpuMs: null, notes: [],
  };
  if (!allMaster(d, size)) {
    await events.until(() => allMaster(d, size) || !d.running, RECOVER_MS, '').catch(() => undefined);
    if (!allMaster(d, size)) t.notes.push(`only ${d.masters} of ${size} instances MASTER before the reload`);
  }
  const before = vipSet(size, host.state);
  const next = nextState(host.state, c);
  const after = vipSet(size, next);
  fs.writeFileSync(host.conf, configText(size, next, `rl-${host.impl}`));
  host.state = next;
  const lineMark = d.lines.length;
  const addrMark = host.addr.length;
  const pids = processTree(d.pid);
  const cpu0 = cpuMs(pids);
  const t0 = performance.now();
  let end = t0;
  try {
    if (method === 'vigil-cli') {
      const r = await runCli(['reload', '--control', host.sock, '--json']);
      end = r.exitAt;
      t.cpuMs = cpuMs(pids) - cpu0;
      t.ms = end - t0;
      let reply: VigilReply | undefined;
      try { reply = JSON.parse(r.stdout) as VigilReply; } catch { /* below */ }
      if (r.code !== 0 || !reply?.ok || !reply.report) throw new Error(`vigil reload exited ${r.code}: ${(reply?.error ?? r.stderr.trim()) || r.stdout.trim()}`);
      t.applyMs = reply.report.durationMs;
      t.report = reportOf(reply.report);
      const applied = await d.waitLine(/^Reload applied/, lineMark, 5000, 'the "Reload applied" line');
      t.detail.appliedLine = applied.line.t - t0;
    } else if (method === 'vigil-hup') {
      d.signal('SIGHUP');
      const done = await d.waitLine(/^Reload (applied|failed|refused)/, lineMark, RELOAD_TIMEOUT_MS, 'the "Reload applied" line');
      end = done.line.t;
      t.cpuMs = cpuMs(pids) - cpu0;
      if (!/^Reload applied/.test(done.line.msg)) throw new Error(done.line.msg);
      t.ms = end - t0;
      const rep = (done.line.data?.reload ?? undefined) as VigilReply['report'];
      if (rep) { t.applyMs = rep.durationMs; t.report = reportOf(rep); }
      const got = d.lines.slice(lineMark).find((l) => /^Received SIGHUP/.test(l.msg));
      t.detail.received = got ? got.t - t0 : null;
    } else {
      d.signal('SIGHUP');
      const child = await d.waitLine(/^Reloading$/, lineMark, RELOAD_TIMEOUT_MS, 'the VRRP child\'s "Reloading" line');
      const resumed = await d.waitLine(/^VRRP sockpool:/, child.index, RELOAD_TIMEOUT_MS, 'the VRRP child\'s "VRRP sockpool" line');
      const complete = await d.waitLine(/^Reload complete$/, lineMark, RELOAD_TIMEOUT_MS, 'the parent\'s "Reload complete" line');
      end = Math.max(resumed.line.t, complete.line.t);
      t.cpuMs = cpuMs(pids) - cpu0;
      t.ms = end - t0;
      t.applyMs = resumed.line.t - child.line.t;
      t.detail = { childStart: child.line.t - t0, complete: complete.line.t - t0, resumed: resumed.line.t - t0 };
    }
    if (before.size !== after.size || [...after].some((a) => !before.has(a))) {
      await events.until(() => countAddr(host.addr.slice(addrMark), before, after, t0).appliedMs !== null, 10_000, 'not every VIP change was seen')
        .catch((err: Error) => t.notes.push(err.message));
    }
    const settleLeft = end + settleMs - performance.now();
    if (settleLeft > 0) await sleep(settleLeft);
    t.notMaster = size - d.masters;
    if (t.notMaster) {
      // the window stays open until every instance is MASTER again, so what follows is counted too
      await events.until(() => allMaster(d, size) || !d.running, RECOVER_MS, '')
        .catch(() => t.notes.push(`${size - d.masters} instances still not MASTER ${RECOVER_MS / 1000} s after the window`));
    }
    if (!d.running) throw new Error(`${host.impl} exited (${d.exit})`);
    t.ok = true;
  } catch (err) {
    t.notes.push(`${(err as Error).message}; log: ${d.tail()}`);
  }
  t.transitions = d.lines.slice(lineMark).filter((l) => TRANSITION.test(l.msg)).length;
  t.addr = countAddr(host.addr.slice(addrMark), before, after, t0);
  if (t.addr.readds) t.notes.push(`${t.addr.readds} kept VIP(s) added again`);
  if (method !== 'keepalived' && t.report) {
    const want = c === 'unchanged' ? 0 : c === 'priority' ? 1 : Math.ceil(size / 10);
    if (t.report.changed.length !== want || t.report.added + t.report.removed + t.report.replaced) {
      t.notes.push(`report: ${t.report.changed.length} changed (expected ${want}), ${t.report.added} added, ${t.report.removed} removed, ${t.report.replaced} replaced`);
    }
  }
  return t;
}

// ---------------------------------------------------------------------------------------------
// memory with the example configs

/** Both daemons on `file` at once; each instance MASTER or FAULT (15 s at most), 2 s more, then RSS. */
async function footprintOf(r: ExampleResult, file: string, names: readonly string[]): Promise<void> {
  const ds = hosts.map((h) => ({ h, d: startDaemon(h, file) }));
  try {
    const settled = (d: Daemon): boolean => names.every((n) => d.states.get(n) === 'MASTER' || d.states.get(n) === 'FAULT');
    await Promise.all(ds.map(({ d }) => events.until(() => settled(d) || !d.running, 15_000, '').catch(() => undefined)));
    await sleep(IDLE_SETTLE_MS);
    for (const { h, d } of ds) {
      const notes = settled(d) ? [] : [`${h.impl} not settled after 15 s`];
      // why an instance is FAULT: vigil's line carries the cause, keepalived says it on the lines before
      const fault = d.lines.findIndex((l) => /Entering FAULT STATE/.test(l.msg));
      if (fault >= 0) {
        const l = d.lines[fault]!;
        notes.push(`${h.impl}: ${l.msg}${l.data?.cause ? ` (${String(l.data.cause)})` : ` after: ${d.lines.slice(Math.max(0, fault - 2), fault).map((x) => x.msg).join(' ⏎ ')}`}`);
      }
      if (!d.running) notes.push(`${h.impl} exited (${d.exit}): ${d.tail(3)}`);
      r.sides[h.impl] = { idle: d.running ? footprint(d.pid) : null, states: stateSummary(d), notes };
    }
  } finally {
    await Promise.all(hosts.map(stopDaemon));
  }
}

async function example(file: string): Promise<ExampleResult> {
  const rel = path.relative(REPO, file);
  const loaded = loadConfig(file, {});
  const names = loaded.config.instances.map((i) => i.name);
  const r: ExampleResult = { label: `\`${rel}\``, instances: names.length, virtualServers: loaded.config.virtualServers.length, skipped: null, sides: {} };
  const noHost = spawnSync(process.execPath, [VIGIL, 'config-test', '--no-host', '-f', file], { env: nodeEnv, encoding: 'utf8' });
  if (noHost.status !== 0) { r.skipped = `vigil config-test --no-host exits ${noHost.status}`; return r; }
  if (!names.length) { r.skipped = 'no vrrp_instance, only virtual servers (keepalived runs here with --vrrp only)'; return r; }
  // what `vigil run` would say in the namespace (interfaces, scripts, addresses)
  const hostCheck = spawnSync('ip', ['netns', 'exec', hosts[0]!.lab.ns(1), process.execPath, VIGIL, 'config-test', '-f', file], { env: nodeEnv, encoding: 'utf8' });
  if (hostCheck.status !== 0) {
    const first = `${hostCheck.stdout}\n${hostCheck.stderr}`.split('\n').find((l) => /: error(\[[^\]]*\])?: /.test(l))?.replace(/^.*?: error(\[[^\]]*\])?: /, '') ?? `exit ${hostCheck.status}`;
    r.skipped = `\`vigil config-test\` in the namespace exits ${hostCheck.status}: ${first.replace(/\|/g, '\\|')}`;
    return r;
  }
  await footprintOf(r, file, names);
  return r;
}

/** the generated config with two instances: a small config that runs whatever the examples need */
async function twoInstances(): Promise<ExampleResult> {
  const file = path.join(workDir, 'two.conf');
  fs.writeFileSync(file, configText(2, INITIAL, 'rl-two'));
  const r: ExampleResult = { label: 'generated, 2 instances', instances: 2, virtualServers: 0, skipped: null, sides: {} };
  await footprintOf(r, file, [0, 1].map(instanceName));
  return r;
}

// ---------------------------------------------------------------------------------------------
// vigil with 100 instances and 1,000 checkers

/** argv: address, first port, count. Accepts and closes; prints "ready", then the running count every 250 ms. */
const LISTENER = `
const net = require('node:net');
const [addr, p0, n] = process.argv.slice(1);
let up = 0, accepted = 0;
for (let p = Number(p0); p < Number(p0) + Number(n); p++) {
  net.createServer((s) => { accepted++; s.destroy(); }).listen(p, addr, () => { if (++up === Number(n)) console.log('ready'); });
}
setInterval(() => console.log('accepted ' + accepted), 250);
`;

async function checkers(windowS: number): Promise<CheckerResult> {
  const instances = 100;
  const count = 1000;
  const delayLoop = 5;
  const ipvs = fs.existsSync('/proc/net/ip_vs');
  const r: CheckerResult = {
    instances, checkers: count, delayLoop, skipped: null, idle: null, cpu: null, checksPerSecond: null, notes: [],
    keepalived: `not run (it runs here with --vrrp only; its checker process drives IPVS, which ${ipvs ? 'this bench does not set up' : 'this kernel lacks: no /proc/net/ip_vs'})`,
  };
  const host = hosts.find((h) => h.impl === 'vigil')!;
  const addr = host.lab.addr(1);
  const file = path.join(workDir, 'checkers.conf');
  fs.writeFileSync(file, configText(instances, INITIAL, 'rl-chk') + checkersText(count / 100, 100, addr, delayLoop));
  const listener = host.lab.spawn(1, process.execPath, ['-e', LISTENER, addr, String(CHECKER_PORT0), String(count)], { env: nodeEnv });
  let ready = false;
  let accepted = 0;
  createInterface({ input: listener.stdout! }).on('line', (l) => {
    if (l === 'ready') ready = true;
    const m = /^accepted (\d+)$/.exec(l);
    if (m) accepted = Number(m[1]);
    events.notify();
  });
  try {
    await events.until(() => ready || listener.exitCode !== null, 10_000, 'the real servers\' listener did not start');
    if (!ready) throw new Error(`the real servers' listener exited (${listener.exitCode})`);
    const d = startDaemon(host, file);
    await events.until(() => allMaster(d, instances) || !d.running, RELOAD_TIMEOUT_MS, 'not every instance MASTER')
      .catch((err: Error) => r.notes.push(err.message));
    await events.until(() => accepted >= count || !d.running, 6 * delayLoop * 1000, 'not every real server checked')
      .catch((err: Error) => r.notes.push(`${err.message}: ${accepted} connections`));
    if (!d.running) throw new Error(`vigil exited (${d.exit}): ${d.tail(3)}`);
    await sleep(IDLE_SETTLE_MS);
    r.idle = footprint(d.pid);
    const pids = processTree(d.pid);
    const c0 = cpuMs(pids);
    const a0 = accepted;
    const t0 = performance.now();
    // RSS once a second through the window: one sample depends on where the GC and the allocator's
    // periodic trim happen to be; the goal is judged on the median
    const samples: number[] = [];
    for (let s = 0; s < windowS; s++) {
      await sleep(1000);
      samples.push(footprint(d.pid).rssKb);
    }
    samples.sort((a, b) => a - b);
    r.rssWindowKb = { min: samples[0]!, median: samples[Math.floor(samples.length / 2)]!, max: samples.at(-1)!, samples: samples.length };
    const wall = (performance.now() - t0) / 1000;
    const cpu = (cpuMs(pids) - c0) / 1000;
    r.cpu = { seconds: Math.round(wall * 10) / 10, cpuSeconds: Math.round(cpu * 1000) / 1000, percent: Math.round((cpu / wall) * 10000) / 100 };
    r.checksPerSecond = Math.round(((accepted - a0) / wall) * 10) / 10;
    const down = d.lines.filter((l) => /: DOWN\b/.test(l.msg)).length;
    if (down) r.notes.push(`${down} checker(s) went DOWN`);
  } catch (err) {
    r.skipped = (err as Error).message;
  } finally {
    await stopDaemon(host);
    try { process.kill(-listener.pid!, 'SIGTERM'); } catch { /* gone */ }
  }
  return r;
}

// ---------------------------------------------------------------------------------------------
// one size: start both, footprint, idle CPU (largest size), the reload trials

async function startSized(host: Host, size: number, side: Side): Promise<void> {
  host.state = INITIAL;
  fs.writeFileSync(host.conf, configText(size, host.state, `rl-${host.impl}`));
  const t0 = performance.now();
  const d = startDaemon(host, host.conf);
  await events.until(() => allMaster(d, size) || !d.running, RELOAD_TIMEOUT_MS, `${host.impl}: not every instance MASTER`)
    .catch((err: Error) => side.notes.push(`${err.message}: ${stateSummary(d)}`));
  if (!d.running) throw new Error(`${host.impl} exited (${d.exit}) at start: ${d.tail()}`);
  side.startMs = allMaster(d, size) ? performance.now() - t0 : null;
  side.startCpuMs = cpuMs(processTree(d.pid));
  log(`${size}: ${host.impl} up, ${stateSummary(d)} after ${fmtMs(side.startMs)} ms`);
}

async function idleCpu(seconds: number, sides: Record<Impl, Side>): Promise<void> {
  const ds = hosts.map((h) => ({ h, d: h.daemon!, pids: processTree(h.daemon!.pid) }));
  const rss = new Map<Impl, number[]>(ds.map(({ h }) => [h.impl, []]));
  const c0 = ds.map(({ pids }) => cpuMs(pids));
  const t0 = performance.now();
  for (let s = 0; s < seconds; s++) {
    await sleep(1000);
    for (const { h, d } of ds) rss.get(h.impl)!.push(footprint(d.pid).rssKb);
  }
  const wall = (performance.now() - t0) / 1000;
  ds.forEach(({ h, pids }, i) => {
    const cpu = (cpuMs(pids) - c0[i]!) / 1000;
    const samples = rss.get(h.impl)!.sort((a, b) => a - b);
    sides[h.impl].idleCpu = {
      seconds: Math.round(wall * 10) / 10, cpuSeconds: Math.round(cpu * 1000) / 1000,
      percent: Math.round((cpu / wall) * 10000) / 100, rssKbMedian: samples[Math.floor(samples.length / 2)] ?? 0,
    };
  });
}

async function benchSize(size: number, trials: number, settleMs: number, idleSeconds: number | null): Promise<SizeResult> {
  const newSide = (): Side => ({ startMs: null, startCpuMs: null, idle: null, afterReloads: null, idleCpu: null, notes: [] });
  const sides: Record<Impl, Side> = { vigil: newSide(), keepalived: newSide() };
  for (const h of hosts) await ensureIfaces(h, ifaceCount(size));
  // one after the other: each start's time and CPU without the other's start beside it
  for (const h of hosts) await startSized(h, size, sides[h.impl]);
  await sleep(IDLE_SETTLE_MS);
  for (const h of hosts) sides[h.impl].idle = footprint(h.daemon!.pid);
  log(`${size}: RSS vigil ${(sides.vigil.idle!.rssKb / 1024).toFixed(1)} MB, keepalived ${(sides.keepalived.idle!.rssKb / 1024).toFixed(1)} MB`);
  if (idleSeconds) {
    log(`${size}: ${idleSeconds} s of idle CPU`);
    await idleCpu(idleSeconds, sides);
    log(`${size}: idle CPU vigil ${sides.vigil.idleCpu!.percent}%, keepalived ${sides.keepalived.idleCpu!.percent}%`);
  }

  const byImpl = (m: Method): Host => hosts.find((h) => h.impl === (m === 'keepalived' ? 'keepalived' : 'vigil'))!;
  const done: Trial[] = [];
  for (let n = 1; n <= trials; n++) {
    for (const c of CASES) {
      // the methods' order rotates, so whatever drifts during a run falls on each in turn
      const order = METHODS.map((_, i) => METHODS[(i + n - 1) % METHODS.length]!);
      for (const m of order) {
        if (stopping) return new Promise<never>(() => {}); // the signal handler exits
        const t = await reloadTrial(byImpl(m), m, c, n, size, settleMs);
        done.push(t);
        log(`${size} ${c} ${m} #${n}: ${t.ok ? `${fmtMs(t.ms)} ms (daemon ${fmtMs(t.applyMs)} ms)` : 'FAILED'}, ${t.transitions} transitions, ${t.addr.unexpectedDeletions} VIP flaps` +
          (t.notes.length ? ` — ${t.notes.join('; ')}` : ''));
        const h = byImpl(m);
        if (!h.daemon?.running) throw new Error(`${h.impl} is gone: ${h.daemon?.tail() ?? ''}`);
      }
    }
  }
  for (const h of hosts) sides[h.impl].afterReloads = footprint(h.daemon!.pid);
  for (const h of hosts) await stopDaemon(h);

  const summary = Object.fromEntries(CASES.map((c) => [c, Object.fromEntries(METHODS.map((m) => [m, summarize(done.filter((t) => t.case === c && t.method === m))]))])) as SizeResult['summary'];
  const round = (x: number | null): number | null => (x === null ? null : Math.round(x * 1000) / 1000);
  return {
    n: size,
    interfaces: ifaceCount(size),
    configBytes: Buffer.byteLength(configText(size, INITIAL, 'rl-vigil')),
    sides,
    trials: done.map((t) => ({
      ...t, ms: round(t.ms), applyMs: round(t.applyMs), cpuMs: round(t.cpuMs),
      detail: Object.fromEntries(Object.entries(t.detail).map(([k, v]) => [k, round(v)])),
      addr: { ...t.addr, appliedMs: round(t.addr.appliedMs) },
    })),
    summary,
  };
}

// ---------------------------------------------------------------------------------------------
// cleanup: whatever happens, the daemons and the namespaces go

/** set by a signal: the handler tears down and exits, main must not carry on meanwhile */
let stopping = false;

async function teardown(): Promise<void> {
  await Promise.all(hosts.map((h) => stopDaemon(h).catch(() => undefined)));
  await Promise.all(hosts.splice(0).map((h) => h.lab.destroy().catch((err: Error) => log(`could not destroy lab ${h.lab.sw}: ${err.message}`))));
  if (workDir) fs.rmSync(workDir, { recursive: true, force: true });
}

for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(sig, () => {
    if (stopping) return;
    stopping = true;
    log(`${sig}: tearing down`);
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
  if (!fs.existsSync(VIGIL_MAIN)) throw new Error(`${path.relative(REPO, VIGIL_MAIN)} is missing: run \`npm run build\` first`);
  const trials = nonNegativeInt('BENCH_TRIALS', process.env.BENCH_TRIALS, 5) || 1;
  const sizes = parseSizes(process.env.BENCH_SIZES);
  const settleMs = nonNegativeInt('BENCH_SETTLE_MS', process.env.BENCH_SETTLE_MS, 1000);
  const idleSeconds = nonNegativeInt('BENCH_IDLE_S', process.env.BENCH_IDLE_S, 30);
  const withExamples = process.env.BENCH_EXAMPLES !== '0';
  const withCheckers = process.env.BENCH_CHECKERS !== '0';
  const wall0 = performance.now();
  const env: Env = {
    date: new Date().toISOString(),
    kernel: firstLine('uname', ['-r'], /./),
    cpu: cpuModel(),
    cpus: os.availableParallelism(),
    memTotalMb: Math.round(os.totalmem() / 2 ** 20),
    node: process.version,
    keepalived: firstLine('keepalived', ['-v'], /Keepalived v/),
    iproute2: firstLine('ip', ['-V'], /iproute2/),
    vigilCommit: gitCommit(REPO),
    loadavg: os.loadavg(),
    trials, sizes, settleMs, idleSeconds, wallSeconds: 0,
  };

  workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-reload-'));
  const largest = Math.max(...sizes);
  const examples: ExampleResult[] = [];
  const results: SizeResult[] = [];
  let chk: CheckerResult | null = null;
  try {
    for (const impl of ['vigil', 'keepalived'] as const) await makeHost(impl);
    // the examples name eth0 and eth1
    for (const h of hosts) await ensureIfaces(h, 2);
    log(`labs ${hosts.map((h) => h.lab.ns(1)).join(', ')} up`);
    if (withExamples) {
      for (const f of fs.readdirSync(EXAMPLES).filter((x) => x.endsWith('.conf')).sort()) {
        const e = await example(path.join(EXAMPLES, f));
        examples.push(e);
        log(`${e.label}: ${e.skipped ? `not run: ${e.skipped}` : IMPLS.map((i) => `${i} ${((e.sides[i]?.idle?.rssKb ?? NaN) / 1024).toFixed(1)} MB`).join(', ')}`);
      }
    }
    examples.push(await twoInstances());
    for (const n of sizes) results.push(await benchSize(n, trials, settleMs, n === largest ? idleSeconds : null));
    // last, so that no measured reload shares the namespace with the load balancer's nftables table
    if (withCheckers) {
      chk = await checkers(Math.min(idleSeconds || 10, 10));
      log(`100 instances + 1,000 checkers: ${chk.skipped ? `not run: ${chk.skipped}` : `vigil ${((chk.idle?.rssKb ?? NaN) / 1024).toFixed(1)} MB, CPU ${chk.cpu?.percent}%, ${chk.checksPerSecond} checks/s`}`);
    }
  } finally {
    await teardown();
  }

  env.wallSeconds = Math.round((performance.now() - wall0) / 100) / 10;
  fs.writeFileSync(path.join(BENCH_DIR, 'reload.md'), markdown(env, results, examples, chk));
  fs.writeFileSync(path.join(BENCH_DIR, 'reload.json'), JSON.stringify({ env, methods: METHOD_LABEL, cases: CASE_LABEL, examples, sizes: results, checkers: chk }, null, 2) + '\n');
  process.stdout.write(`${timeTable(results)}\n\n${disturbanceTable(results)}\n\nwall time ${(env.wallSeconds / 60).toFixed(1)} min; wrote bench/reload.md, bench/reload.json\n`);
  return results.some((r) => r.trials.some((t) => !t.ok)) ? 1 : 0;
}

main().then(
  (code) => { process.exitCode = code; },
  async (err: unknown) => {
    log(`${(err as Error)?.stack ?? String(err)}`);
    await teardown();
    process.exitCode = 2;
  },
);

