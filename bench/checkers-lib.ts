// bench/checkers-lib.ts: the pure half of bench/checkers.ts. The configs both checkers run (vigil's
// keepalived.conf, HAProxy's haproxy.cfg), the listener that plays 1,000 real servers, /proc/PID/stat
// and Prometheus text parsing, the detection bound, statistics and the report. No I/O here.
import { quantile, type Stats, roundStats, stats } from './failover-lib.js';
import type { LbDestination, LbService, LbTable } from '../adapters/lb/types.js';

export { quantile, roundStats, stats, type Stats };

export type Impl = 'vigil' | 'haproxy';
export type Check = 'tcp' | 'http';
export const IMPLS: readonly Impl[] = ['vigil', 'haproxy'];
export const CHECKS: readonly Check[] = ['tcp', 'http'];

/** What every run checks, and how. */
export interface Plan {
  /** real servers in all (one checker each) */
  servers: number;
  /** real servers per virtual server (HAProxy: per backend) */
  perVs: number;
  /** the real servers' address (the listener host) and their first port */
  rsAddress: string;
  rsBasePort: number;
  /** the virtual servers' address (also the VRRP instance's VIP) and their first port */
  vip: string;
  vsBasePort: number;
  /** keepalived timings, in seconds */
  delayLoopS: number;
  retry: number;
  delayBeforeRetryS: number;
  connectTimeoutS: number;
  /** the VRRP instance vigil runs alongside (v3) */
  advertMs: number;
}

export const rsPort = (p: Plan, i: number): number => p.rsBasePort + i;
export const vsCount = (p: Plan): number => Math.ceil(p.servers / p.perVs);

// ---------------------------------------------------------------------------------------------
// configs

/**
 * vigil's keepalived.conf: one VRRP instance (v3, `advertMs`) holding the VIP, and, unless `check`
 * is undefined, virtual servers on that VIP with `perVs` real servers each, every one with one
 * TCP_CHECK or HTTP_GET (`url { path / status_code 200 }`) at the plan's timings.
 */
export function vigilConfig(p: Plan, check: Check | undefined): string {
  const out = [
    'global_defs {',
    '  router_id ckbench',
    '  lb_driver nftables',
    '}',
    'vrrp_instance VI_1 {',
    '  state MASTER',
    '  interface eth0',
    '  virtual_router_id 51',
    '  priority 150',
    `  advert_int ${p.advertMs / 1000}`,
    '  version 3',
    '  virtual_ipaddress {',
    `    ${p.vip}/24`,
    '  }',
    '}',
  ];
  if (!check) return out.join('\n') + '\n';
  const timing = [
    `      connect_timeout ${p.connectTimeoutS}`,
    `      retry ${p.retry}`,
    `      delay_before_retry ${p.delayBeforeRetryS}`,
  ];
  const body = check === 'tcp'
    ? ['    TCP_CHECK {', ...timing, '    }']
    : ['    HTTP_GET {', '      url {', '        path /', '        status_code 200', '      }', ...timing, '    }'];
  for (let v = 0; v < vsCount(p); v++) {
    out.push(`virtual_server ${p.vip} ${p.vsBasePort + v} {`, `  delay_loop ${p.delayLoopS}`, '  lb_algo wrr', '  lb_kind NAT', '  protocol TCP');
    for (let i = v * p.perVs; i < Math.min(p.servers, (v + 1) * p.perVs); i++) {
      out.push(`  real_server ${p.rsAddress} ${rsPort(p, i)} {`, '    weight 1', ...body, '  }');
    }
    out.push('}');
  }
  return out.join('\n') + '\n';
}

/**
 * The LB table vigil's config above makes (its nftables driver applies it: wrr, NAT, weight 1), for
 * the bench to load under another name while HAProxy checks: the same NAT chains on the director's
 * output and prerouting hooks, and conntrack on, so both checkers' connections cross the same
 * kernel path (a nat chain without a NAT rule does not turn conntrack on).
 */
export function lbTable(p: Plan): LbTable {
  const services: LbService[] = [];
  for (let v = 0; v < vsCount(p); v++) {
    const destinations: LbDestination[] = [];
    for (let i = v * p.perVs; i < Math.min(p.servers, (v + 1) * p.perVs); i++) {
      destinations.push({ address: p.rsAddress, port: rsPort(p, i), weight: 1, kind: 'NAT' });
    }
    services.push({ match: { kind: 'address', address: p.vip, port: p.vsBasePort + v, protocol: 'TCP' }, family: 4, algo: 'wrr', destinations });
  }
  return { services };
}

/**
 * HAProxy's haproxy.cfg for the same checks: one backend per virtual server, one `server ... check`
 * per real server. keepalived's `retry R` (an UP server goes DOWN after R + 1 failed attempts, the
 * retries delay_before_retry apart) is HAProxy's `fall R+1` with `inter` = delay_before_retry
 * (HAProxy's first failed check comes at its normal `inter`, the later ones at `fastinter`, which
 * defaults to `inter`); connect_timeout is `timeout connect` and `timeout check`. `rise 1` is
 * keepalived's (one success brings a server back). Server state changes go to stdout.
 */
export function haproxyConfig(p: Plan, check: Check, statsSocket: string): string {
  if (p.delayLoopS !== p.delayBeforeRetryS) throw new RangeError('HAProxy has one interval for both: delay_loop must equal delay_before_retry');
  const out = [
    'global',
    '  log stdout format raw local0 info',
    `  stats socket ${statsSocket} mode 600 level admin`,
    `  maxconn ${Math.max(4096, 4 * p.servers)}`,
    'defaults',
    '  mode tcp',
    '  log global',
    `  timeout connect ${p.connectTimeoutS}s`,
    `  timeout check ${p.connectTimeoutS}s`,
    '  timeout client 30s',
    '  timeout server 30s',
  ];
  for (let v = 0; v < vsCount(p); v++) {
    out.push(`backend vs${p.vsBasePort + v}`);
    if (check === 'http') out.push('  option httpchk GET /', '  http-check expect status 200');
    out.push(`  default-server inter ${p.delayLoopS}s fall ${p.retry + 1} rise 1`);
    for (let i = v * p.perVs; i < Math.min(p.servers, (v + 1) * p.perVs); i++) {
      out.push(`  server rs${rsPort(p, i)} ${p.rsAddress}:${rsPort(p, i)} check`);
    }
  }
  return out.join('\n') + '\n';
}

/**
 * The real servers: one Node process listening on `count` ports from `base` on `host`. A connection
 * gets `HTTP/1.0 200 OK` with an empty body once it sends anything and is then closed, so the same
 * listener serves TCP_CHECK (which closes first) and HTTP_GET. Commands on stdin, one per line:
 * `close PORT` (the port refuses from then on), `open PORT`; each is answered on stdout with
 * `closed PORT T` / `opened PORT T`, T = wall-clock ms right after the socket changed. `ready N`
 * once all ports listen.
 * Args: host base count.
 */
export const LISTENER = String.raw`
const net = require('net');
const [host, base, count] = [process.argv[1], Number(process.argv[2]), Number(process.argv[3])];
const REPLY = Buffer.from('HTTP/1.0 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
const now = () => performance.timeOrigin + performance.now();
const servers = new Map();
function onConnection(s) {
  s.on('error', () => {});
  s.once('data', () => s.end(REPLY));
}
function open(port, done) {
  const srv = net.createServer(onConnection);
  srv.on('error', (err) => { console.error('listen ' + port + ': ' + err.message); process.exit(1); });
  srv.listen({ host, port, backlog: 511 }, () => { servers.set(port, srv); done(); });
}
let pending = count;
for (let i = 0; i < count; i++) open(base + i, () => { if (--pending === 0) console.log('ready ' + count); });
let buf = '';
process.stdin.on('data', (d) => {
  buf += d;
  let nl;
  while ((nl = buf.indexOf('\n')) >= 0) {
    const [cmd, arg] = buf.slice(0, nl).trim().split(' ');
    buf = buf.slice(nl + 1);
    const port = Number(arg);
    if (cmd === 'close' && servers.has(port)) {
      servers.get(port).close(); // the fd is closed now: connects are refused from here on
      servers.delete(port);
      console.log('closed ' + port + ' ' + now());
    } else if (cmd === 'open' && !servers.has(port)) {
      open(port, () => console.log('opened ' + port + ' ' + now()));
    }
  }
});
process.stdin.on('end', () => process.exit(0));
`;

// ---------------------------------------------------------------------------------------------
// /proc/PID/stat

export interface ProcStat {
  pid: number;
  ppid: number;
  /** utime, stime and their sum, clock ticks */
  user: number;
  system: number;
  own: number;
  /** cutime + cstime: waited-for children, clock ticks */
  reaped: number;
}

/** One /proc/PID/stat line; undefined when it is not one (the comm field may hold spaces and parentheses). */
export function parseProcStat(text: string): ProcStat | undefined {
  const close = text.lastIndexOf(')');
  const pid = Number.parseInt(text, 10);
  if (close < 0 || !Number.isInteger(pid)) return undefined;
  // after ") ": state(3) ppid(4) pgrp session tty_nr tpgid flags minflt cminflt majflt cmajflt utime(14) stime cutime cstime(17)
  const f = text.slice(close + 2).trim().split(/\s+/);
  const n = (i: number) => Number(f[i - 3]);
  const [ppid, utime, stime, cutime, cstime] = [n(4), n(14), n(15), n(16), n(17)];
  if (![ppid, utime, stime, cutime, cstime].every(Number.isFinite)) return undefined;
  return { pid, ppid, user: utime, system: stime, own: utime + stime, reaped: cutime + cstime };
}

/** CPU of a process tree in clock ticks: the root's own (user, system), and its descendants' (live ones' own + reaped). */
export interface TreeCpu {
  self: number;
  user: number;
  system: number;
  children: number;
}

/**
 * Sum a process tree from every process's stat. The root's cutime/cstime count children it has
 * waited for (nft runs); a live descendant counts its own and its reaped children's time. Between
 * two samples, a child that exits moves from "live" to the parent's "reaped", so deltas stay exact.
 */
export function treeCpu(all: readonly ProcStat[], root: number): TreeCpu | undefined {
  const byParent = new Map<number, ProcStat[]>();
  let r: ProcStat | undefined;
  for (const s of all) {
    if (s.pid === root) r = s;
    const list = byParent.get(s.ppid);
    if (list) list.push(s); else byParent.set(s.ppid, [s]);
  }
  if (!r) return undefined;
  let children = r.reaped;
  const stack = [...(byParent.get(root) ?? [])];
  while (stack.length) {
    const s = stack.pop()!;
    children += s.own + s.reaped;
    stack.push(...(byParent.get(s.pid) ?? []));
  }
  return { self: r.own, user: r.user, system: r.system, children };
}

// ---------------------------------------------------------------------------------------------
// Prometheus text: vigil's event-loop histogram and prom-client's lag gauges

/** prom-client's monitorEventLoopDelay resolution in vigil (actors/checker-threads.ts EVENT_LOOP_SAMPLE_MS) */
export const LAG_RESOLUTION_MS = 50;

export interface LoopScrape {
  /** cumulative bucket counts by upper bound in seconds (+Inf as Infinity) */
  buckets: Map<number, number>;
  sum: number;
  count: number;
  /** prom-client's monitorEventLoopDelay figures since the previous scrape (it resets them at every scrape), seconds */
  lagP50?: number;
  lagP99?: number;
  lagMax?: number;
}

export function parseLoopMetrics(text: string): LoopScrape | undefined {
  const buckets = new Map<number, number>();
  let sum: number | undefined;
  let count: number | undefined;
  const out: Partial<LoopScrape> = {};
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    let m = /^vigil_event_loop_delay_seconds_bucket\{le="([^"]+)"\} (\S+)$/.exec(line);
    if (m) { buckets.set(m[1] === '+Inf' ? Infinity : Number(m[1]), Number(m[2])); continue; }
    m = /^vigil_event_loop_delay_seconds_(sum|count) (\S+)$/.exec(line);
    if (m) { if (m[1] === 'sum') sum = Number(m[2]); else count = Number(m[2]); continue; }
    m = /^vigil_nodejs_eventloop_lag_(p50|p99|max)_seconds (\S+)$/.exec(line);
    if (m) {
      const key = m[1] === 'p50' ? 'lagP50' : m[1] === 'p99' ? 'lagP99' : 'lagMax';
      out[key] = Number(m[2]);
    }
  }
  if (sum === undefined || count === undefined || !buckets.size) return undefined;
  return { buckets, sum, count, ...out };
}

export interface LoopWindow {
  /** samples of the sampling timer (50 ms) in the window */
  samples: number;
  meanMs: number;
  /** the smallest bucket bound (ms) at or under which 50 % / 99 % of the window's samples fall */
  p50BoundMs: number;
  p99BoundMs: number;
  /** share of samples later than 10 ms / 50 ms */
  over10ms: number;
  over50ms: number;
  /** prom-client's monitorEventLoopDelay over the same window (ms) */
  lagP50Ms: number | null;
  lagP99Ms: number | null;
  lagMaxMs: number | null;
}

/** The window between two scrapes; `b` must be the later one. */
export function loopWindow(a: LoopScrape, b: LoopScrape): LoopWindow | undefined {
  const samples = b.count - a.count;
  if (samples <= 0) return undefined;
  const bounds = [...b.buckets.keys()].sort((x, y) => x - y);
  const within = (le: number) => (b.buckets.get(le) ?? 0) - (a.buckets.get(le) ?? 0);
  const bound = (q: number) => bounds.find((le) => within(le) >= q * samples) ?? Infinity;
  const over = (le: number) => (b.buckets.has(le) ? 1 - within(le) / samples : NaN);
  // monitorEventLoopDelay records the time between its ticks: the lateness is what exceeds its interval
  const ms = (s: number | undefined) => (s === undefined ? null : Math.max(0, s * 1000 - LAG_RESOLUTION_MS));
  return {
    samples,
    meanMs: ((b.sum - a.sum) / samples) * 1000,
    p50BoundMs: bound(0.5) * 1000,
    p99BoundMs: bound(0.99) * 1000,
    over10ms: over(0.01),
    over50ms: over(0.05),
    lagP50Ms: ms(b.lagP50),
    lagP99Ms: ms(b.lagP99),
    lagMaxMs: ms(b.lagMax),
  };
}

// ---------------------------------------------------------------------------------------------
// log lines that mark a real server leaving and coming back

/** vigil: "Removing service 10.99.0.12:20017 from VS 10.99.0.100:8001/tcp" (pino `msg`). */
export function vigilRsChange(msg: string): { port: number; up: boolean } | undefined {
  const m = /^(Removing|Adding) service \S+?:(\d+) (?:from|to) VS /.exec(msg);
  return m ? { port: Number(m[2]), up: m[1] === 'Adding' } : undefined;
}

/** HAProxy: "Server vs8001/rs20017 is DOWN, reason: ..." / "... is UP, reason: ...". */
export function haproxyRsChange(line: string): { port: number; up: boolean } | undefined {
  const m = /Server \S+\/rs(\d+) is (UP|DOWN)\b/.exec(line);
  return m ? { port: Number(m[1]), up: m[2] === 'UP' } : undefined;
}


// ---------------------------------------------------------------------------------------------
// the detection bound

/**
 * The longest a refused real server can stay in the pool, keepalived's semantics (check_tcp.c
 * tcp_epilog, check_http.c): the next check starts at most delay_loop after the server died (a
 * check starts delay_loop after the previous one ended); it fails at once (RST), and an UP server's
 * failure is retried `retry` times, delay_before_retry apart; the last failure takes it DOWN. So
 *   bound = delay_loop + retry × delay_before_retry (+ the failed attempts' own time, a refused
 *   connect's round trip: well under a millisecond here).
 * A silent server (no RST) adds up to connect_timeout per attempt: + (retry + 1) × connect_timeout.
 * HAProxy with `inter I fall F` (fastinter = inter): I + (F − 1) × I, the same figure for F = retry + 1.
 */
export function detectionBoundMs(p: Plan): { refused: number; silent: number } {
  const refused = (p.delayLoopS + p.retry * p.delayBeforeRetryS) * 1000;
  return { refused, silent: refused + (p.retry + 1) * p.connectTimeoutS * 1000 };
}

// ---------------------------------------------------------------------------------------------
// results

export type CellId = 'vigil-idle' | 'vigil-tcp' | 'haproxy-tcp' | 'vigil-http' | 'haproxy-http';
export interface Cell { id: CellId; impl: Impl; check: Check | undefined }

/** The order of one round; rounds alternate the two implementations within each check type. */
export const CELLS: readonly Cell[] = [
  { id: 'vigil-idle', impl: 'vigil', check: undefined },
  { id: 'vigil-tcp', impl: 'vigil', check: 'tcp' },
  { id: 'haproxy-tcp', impl: 'haproxy', check: 'tcp' },
  { id: 'vigil-http', impl: 'vigil', check: 'http' },
  { id: 'haproxy-http', impl: 'haproxy', check: 'http' },
];

export function cellLabel(c: Cell): string {
  const what = c.check === undefined ? 'VRRP only, no checks' : c.check === 'tcp' ? 'TCP_CHECK / tcp check' : 'HTTP_GET / option httpchk';
  return `${c.impl === 'vigil' ? 'vigil' : 'HAProxy'}, ${what}`;
}

/** One measured window of one run. */
export interface Window {
  cell: CellId;
  /** 1-based round */
  n: number;
  ok: boolean;
  /** wall seconds the CPU was measured over */
  seconds: number;
  /** CPU seconds in the window: the process itself, its children (vigil: nft runs), both */
  cpuSelf: number | null;
  /** cpuSelf split: user and kernel time (the kernel's share includes the TCP handshakes and closes) */
  cpuUser: number | null;
  cpuSystem: number | null;
  cpuChildren: number | null;
  cpuTotal: number | null;
  /** cpuTotal scaled to 30 s, and as a share of one core */
  cpuPer30: number | null;
  core: number | null;
  /** the checker's threads at the window's end (all of them are in its CPU figure) */
  threads: number | null;
  /** CPU seconds in the window per thread name ('main', the health-check thread, V8's and libuv's workers) */
  threadCpu?: Record<string, number>;
  /** share of all the machine's CPUs busy during the window (everything: the checker, the listener, tcpdump, other users) */
  machineBusy: number | null;
  /** vigil: the event loop over the window */
  loop: LoopWindow | null;
  /** vigil: the VRRP adverts captured in the window, and their intervals' summary (ms) */
  adverts: number | null;
  intervalMs: Stats | null;
  /** checks made per second in the window (SYNs to the real servers: attempts, retries included) */
  checksPerS: number | null;
  /** the checker's CPU per check made, µs: comparable when a starved checker falls behind its schedule */
  cpuUsPerCheck: number | null;
  /** connection attempts (SYNs to the real servers) per 10 ms slot over the window: evenly spread checks give about servers ÷ delay_loop ÷ 100 in every slot */
  spread: Spread | null;
  /** real servers UP when the window started (vigil: `vigil status`; HAProxy: checked OK on the stats socket) */
  upAtStart: number | null;
  /** the run's start: spawn until every checker has had its first result (see waitReady), ms */
  startupMs: number | null;
  notes: string[];
}

export interface Detection {
  impl: Impl;
  check: Check;
  /** 1-based, per implementation and check */
  n: number;
  port: number;
  ok: boolean;
  /** from the port refusing to the "Removing service" / "is DOWN" line reaching the bench */
  ms: number | null;
  /** ms ÷ the refused bound */
  ratio: number | null;
  /** from reopening the port to the server being back in the pool */
  backMs: number | null;
  notes: string[];
}

export interface Spread {
  slots: number;
  syns: number;
  p50: number;
  p99: number;
  max: number;
}

/** SYN capture times (ms) → counts per `slotMs` slot over [fromMs, toMs), whole slots only. */
export function spread(times: readonly number[], fromMs: number, toMs: number, slotMs = 10): Spread {
  const first = Math.ceil(fromMs / slotMs);
  const n = Math.max(0, Math.floor(toMs / slotMs) - first);
  const counts = new Array<number>(n).fill(0);
  for (const t of times) {
    const k = Math.floor(t / slotMs) - first;
    if (k >= 0 && k < n) counts[k]!++;
  }
  const sorted = counts.sort((a, b) => a - b);
  const q = (p: number) => (n ? sorted[Math.min(n - 1, Math.floor(p * n))]! : 0);
  return { slots: n, syns: counts.reduce((a, b) => a + b, 0), p50: q(0.5), p99: q(0.99), max: n ? sorted[n - 1]! : 0 };
}

export interface CellSummary {
  id: CellId;
  label: string;
  windows: number;
  failed: number;
  cpuPer30: Stats | null;
  core: Stats | null;
  cpuChildrenPer30: Stats | null;
  cpuUserPer30: Stats | null;
  cpuSystemPer30: Stats | null;
  /** SYNs per 10 ms: medians of the windows' p50, p99 and max */
  spreadP50: Stats | null;
  spreadP99: Stats | null;
  spreadMax: Stats | null;
  /** pooled over the windows */
  intervalMs: Stats & { p99: number } | null;
  loopMeanMs: Stats | null;
  loopP99BoundMs: Stats | null;
  lagP99Ms: Stats | null;
  lagMaxMs: Stats | null;
  startupMs: Stats | null;
  machineBusy: Stats | null;
  checksPerS: Stats | null;
  cpuUsPerCheck: Stats | null;
}

export interface DetectionSummary {
  impl: Impl;
  check: Check;
  trials: number;
  failed: number;
  ms: Stats | null;
  ratio: Stats | null;
  backMs: Stats | null;
}

const r3 = (x: number): number => Math.round(x * 1000) / 1000;
const pick = (xs: readonly (number | null | undefined)[]): Stats | null => {
  const v = xs.filter((x): x is number => typeof x === 'number' && Number.isFinite(x));
  return v.length ? roundStats(stats(v)) : null;
};

const per30 = (x: number | null, w: Window): number | null => (x === null ? null : (x * 30) / w.seconds);

export function summarizeCell(c: Cell, ws: readonly Window[], intervals: readonly number[]): CellSummary {
  const ok = ws.filter((w) => w.ok);
  const iv = [...intervals].sort((a, b) => a - b);
  return {
    id: c.id,
    label: cellLabel(c),
    windows: ws.length,
    failed: ws.length - ok.length,
    cpuPer30: pick(ok.map((w) => w.cpuPer30)),
    core: pick(ok.map((w) => w.core)),
    cpuChildrenPer30: pick(ok.map((w) => per30(w.cpuChildren, w))),
    cpuUserPer30: pick(ok.map((w) => per30(w.cpuUser, w))),
    cpuSystemPer30: pick(ok.map((w) => per30(w.cpuSystem, w))),
    spreadP50: pick(ok.map((w) => w.spread?.p50)),
    spreadP99: pick(ok.map((w) => w.spread?.p99)),
    spreadMax: pick(ok.map((w) => w.spread?.max)),
    intervalMs: iv.length ? { ...roundStats(stats(iv)), p99: r3(quantile(iv, 0.99)) } : null,
    loopMeanMs: pick(ok.map((w) => w.loop?.meanMs)),
    loopP99BoundMs: pick(ok.map((w) => w.loop?.p99BoundMs)),
    lagP99Ms: pick(ok.map((w) => w.loop?.lagP99Ms)),
    lagMaxMs: pick(ok.map((w) => w.loop?.lagMaxMs)),
    startupMs: pick(ws.map((w) => w.startupMs)),
    machineBusy: pick(ok.map((w) => w.machineBusy)),
    checksPerS: pick(ok.map((w) => w.checksPerS)),
    cpuUsPerCheck: pick(ok.map((w) => w.cpuUsPerCheck)),
  };
}

export function summarizeDetections(impl: Impl, check: Check, ds: readonly Detection[]): DetectionSummary {
  const mine = ds.filter((d) => d.impl === impl && d.check === check);
  const ok = mine.filter((d) => d.ok);
  return {
    impl, check, trials: mine.length, failed: mine.length - ok.length,
    ms: pick(ok.map((d) => d.ms)), ratio: pick(ok.map((d) => d.ratio)), backMs: pick(ok.map((d) => d.backMs)),
  };
}

/** a ÷ b, rounded; null when either is missing or b is 0 */
export function ratio(a: number | null | undefined, b: number | null | undefined): number | null {
  return typeof a === 'number' && typeof b === 'number' && b > 0 ? r3(a / b) : null;
}

// ---------------------------------------------------------------------------------------------
// Markdown

export interface Env {
  date: string; kernel: string; cpu: string; cpus: number; node: string; haproxy: string; haproxyThreads: string;
  tcpdump: string; vigilCommit: string; loadavg: number[]; loadavgEnd?: number[]; rounds: number; windowSeconds: number;
  /** seconds from every checker's first result to the window (absent in older reports: 2) */
  settleSeconds?: number;
  detectionsPerRun: number; wallSeconds: number;
  /** how vigil's node ran: infra/vigil.service's flags and environment, or bare (absent in older runs) */
  vigilNode?: string;
}

export interface Report {
  env: Env;
  plan: Plan;
  bound: { refused: number; silent: number };
  cells: CellSummary[];
  detections: DetectionSummary[];
  /** vigil ÷ HAProxy, medians of CPU per 30 s, per check */
  cpuRatio: Record<Check, number | null>;
  /** the same with vigil's VRRP-only CPU taken off first */
  cpuRatioNet: Record<Check, number | null>;
  /** interval p99 and max with checks ÷ without */
  jitter: Record<Check, { p99: number | null; max: number | null; p50: number | null }>;
  /** vigil ÷ HAProxy, medians of CPU per check made */
  cpuPerCheckRatio: Record<Check, number | null>;
  /** vigil ÷ HAProxy, median detection times, per check */
  detectionRatio: Record<Check, number | null>;
  windows: Window[];
  detectionTrials: Detection[];
  /** every advert interval (ms) of each vigil cell, pooled over its windows */
  intervals: Partial<Record<CellId, number[]>>;
}

/** The report from the raw windows, detection trials and advert intervals (also used to re-render a saved run). */
export function buildReport(env: Env, plan: Plan, windows: Window[], detectionTrials: Detection[], intervals: Partial<Record<CellId, number[]>>): Report {
  const cells = CELLS.map((c) => summarizeCell(c, windows.filter((w) => w.cell === c.id), intervals[c.id] ?? []));
  const detections = IMPLS.flatMap((i) => CHECKS.map((ck) => summarizeDetections(i, ck, detectionTrials)));
  const of = (id: CellId) => cells.find((c) => c.id === id);
  const idle = of('vigil-idle')?.cpuPer30?.median;
  const both = (f: (c: CellSummary | undefined) => number | null | undefined) =>
    Object.fromEntries(CHECKS.map((ck) => [ck, ratio(f(of(`vigil-${ck}`)), f(of(`haproxy-${ck}`)))])) as Record<Check, number | null>;
  const dmed = (i: Impl, ck: Check) => detections.find((d) => d.impl === i && d.check === ck)?.ms?.median;
  const iv = (id: CellId) => of(id)?.intervalMs;
  return {
    env, plan, bound: detectionBoundMs(plan), cells, detections,
    cpuRatio: both((c) => c?.cpuPer30?.median),
    cpuRatioNet: Object.fromEntries(CHECKS.map((ck) => [ck, idle === undefined ? null
      : ratio((of(`vigil-${ck}`)?.cpuPer30?.median ?? NaN) - idle, of(`haproxy-${ck}`)?.cpuPer30?.median)])) as Record<Check, number | null>,
    jitter: Object.fromEntries(CHECKS.map((ck) => [ck, {
      p50: ratio(iv(`vigil-${ck}`)?.median, iv('vigil-idle')?.median),
      p99: ratio(iv(`vigil-${ck}`)?.p99, iv('vigil-idle')?.p99),
      max: ratio(iv(`vigil-${ck}`)?.max, iv('vigil-idle')?.max),
    }])) as Report['jitter'],
    cpuPerCheckRatio: both((c) => c?.cpuUsPerCheck?.median),
    detectionRatio: Object.fromEntries(CHECKS.map((ck) => [ck, ratio(dmed('vigil', ck), dmed('haproxy', ck))])) as Record<Check, number | null>,
    windows, detectionTrials, intervals,
  };
}

const f1 = (x: number | null | undefined, d = 2): string => (typeof x === 'number' && Number.isFinite(x) ? x.toFixed(d) : '–');
const pct = (x: number | null | undefined): string => (typeof x === 'number' && Number.isFinite(x) ? `${(x * 100).toFixed(1)} %` : '–');
const iqr = (s: Stats | null, d = 2): string => (s ? `${f1(s.median, d)} [${f1(s.p25, d)}–${f1(s.p75, d)}]` : '–');

function table(head: string[], rows: string[][]): string {
  const line = (cells: string[]): string => `| ${cells.join(' | ')} |`;
  return [line(head), line(head.map((_, i) => (i === 0 ? '---' : '---:'))), ...rows.map(line)].join('\n');
}

const cell = (r: Report, id: CellId): CellSummary | undefined => r.cells.find((c) => c.id === id);

/** The headline table (also printed on stdout). */
export function summaryTable(r: Report): string {
  const rows = CHECKS.map((ck) => {
    const v = cell(r, `vigil-${ck}`);
    const h = cell(r, `haproxy-${ck}`);
    return [
      ck === 'tcp' ? 'TCP' : 'HTTP',
      `${iqr(v?.cpuPer30 ?? null)} (${pct(v?.core?.median)})`,
      `${iqr(h?.cpuPer30 ?? null)} (${pct(h?.core?.median)})`,
      f1(r.cpuRatio[ck], 2),
      f1(r.cpuRatioNet[ck], 2),
      f1(r.cpuPerCheckRatio[ck], 2),
      f1(r.jitter[ck].p99, 2),
      f1(r.detectionRatio[ck], 2),
    ];
  });
  return table(
    ['checks', 'vigil CPU-s / 30 s (core)', 'HAProxy CPU-s / 30 s (core)', 'CPU vigil ÷ HAProxy', 'same, vigil net of VRRP-only', 'CPU per check made, vigil ÷ HAProxy', 'advert interval p99 with ÷ without checks', 'detection vigil ÷ HAProxy (medians)'],
    rows,
  );
}

export function markdown(r: Report): string {
  const { env, plan: p, bound } = r;
  const out: string[] = [];
  out.push(`# Health checks: vigil vs HAProxy, ${p.servers.toLocaleString('en')} real servers`, '');
  out.push(`- date: ${env.date}`);
  out.push(`- kernel: ${env.kernel}`);
  out.push(`- CPU: ${env.cpu} (${env.cpus} available; the machine is shared: load average at start ${env.loadavg.map((x) => x.toFixed(2)).join(' ')}${env.loadavgEnd ? `, at the end ${env.loadavgEnd.map((x) => x.toFixed(2)).join(' ')}` : ''})`);
  out.push(`- Node: ${env.node}`);
  out.push(`- HAProxy: ${env.haproxy} (nbthread default ${env.haproxyThreads}, one per CPU; threads of each run in checkers.json)`);
  out.push(`- tcpdump: ${env.tcpdump}`);
  out.push(`- vigil: ${env.vigilCommit}${env.vigilNode ? `; node run as ${env.vigilNode}` : ''}`);
  out.push(`- rounds: ${env.rounds} (each runs every cell once, in the order ${CELLS.map((c) => c.id).join(', ')}); CPU window ${env.windowSeconds} s; ${env.detectionsPerRun} detection trials after each window of a checking run`);
  out.push(`- wall time: ${(env.wallSeconds / 60).toFixed(1)} min`, '');

  out.push('## What is measured', '');
  out.push(
    `Two network namespaces on a bridge: the director (10.99.0.11) runs the checker, the real-server host`,
    `(${p.rsAddress}) runs one Node process listening on ${p.servers.toLocaleString('en')} ports (${p.rsBasePort}–${p.rsBasePort + p.servers - 1}) that answers`,
    '`HTTP/1.0 200 OK` to whatever a connection sends and closes it (a TCP check closes first). The',
    `checkers run alone, one at a time: **vigil** (\`vigil run\`, ${vsCount(p)} virtual servers × ${p.perVs} real servers on`,
    `${p.vip}, \`lb_driver nftables\`, plus one VRRP instance, v3, advert ${p.advertMs} ms, MASTER) and **HAProxy** (\`haproxy -db\`,`,
    `${vsCount(p)} backends × ${p.perVs} \`server ... check\`), each with delay_loop / inter ${p.delayLoopS} s, connect_timeout ${p.connectTimeoutS} s, retry ${p.retry} /`,
    `fall ${p.retry + 1}, delay_before_retry ${p.delayBeforeRetryS} s; TCP: \`TCP_CHECK\` vs HAProxy's connect check; HTTP: \`HTTP_GET { url { path / status_code 200 } }\``,
    'vs `option httpchk GET /` + `http-check expect status 200`. vigil\'s nftables NAT table (chains on the',
    'output, prerouting and postrouting hooks, DNAT rules) turns on conntrack in the director\'s namespace, and every',
    'check crosses it; while HAProxy runs, the bench loads the same table (vigil\'s own nftables model of the same',
    'services, under another name), so both checkers\' connections pay the same kernel path.',
    '',
    'A run starts the checker, waits until every real server has been checked UP (vigil: `vigil status` after',
    'delay_loop + connect_timeout, the first checks falling within warmup = delay_loop; HAProxy: L4OK/L7OK on its',
    `stats socket) and ${env.settleSeconds ?? 2} s more (the one-off work after a start is over: V8's memory reducer runs its full`,
    'collections about 10-15 s after vigil starts, once), then measures a',
    `window of ${env.windowSeconds} s: **CPU** = utime + stime (+ cutime + cstime: reaped children, i.e. vigil's \`nft\` runs, and`,
    'any live descendants) from /proc/PID/stat at both ends, all threads included, reported per 30 s and as a',
    'share of one core. **Event loop** (vigil): `vigil_event_loop_delay_seconds` (the lateness of Node\'s native 50 ms event-loop monitor, folded into buckets at each scrape)',
    'and prom-client\'s `vigil_nodejs_eventloop_lag_*` less their 50 ms sampling interval (reset at each scrape, so the second scrape covers',
    'exactly the window) from `--http 127.0.0.1:PORT/metrics`, scraped at both ends. **Advert jitter**',
    '(vigil): `tcpdump -tt` on the bridge, intervals between the MASTER\'s consecutive adverts in the window,',
    'pooled per cell; the "VRRP only" cell is the same vigil without virtual servers, the baseline.',
    '',
    `**Detection**: after the window, ${env.detectionsPerRun} trials in two lanes at once (each lane its own real server, one`,
    `trial after the other): wait a random 0–${p.delayLoopS} s, close a random real`,
    'server\'s listening socket (its port refuses from then on: RST), time until vigil logs "Removing',
    'service RS from VS ..." / HAProxy logs "Server vsN/rsP is DOWN" (as the line reaches the bench),',
    'then reopen it and wait for "Adding service" / "is UP". Times are wall-clock ms from the listener\'s',
    'close to the bench reading the line, on the same host.',
    '',
    `The bound (keepalived's semantics): an UP server's failed check is retried \`retry\` times,`,
    '`delay_before_retry` apart, and the next check after the death starts at most `delay_loop` after it; a',
    'refused connect fails at once. So **bound = delay_loop + retry × delay_before_retry** =',
    `${p.delayLoopS} + ${p.retry} × ${p.delayBeforeRetryS} = ${bound.refused / 1000} s for a refusing server (the ratio's denominator; the expected median`,
    `is about delay_loop / 2 + retry × delay_before_retry = ${(p.delayLoopS / 2 + p.retry * p.delayBeforeRetryS).toFixed(1)} s). A silent server adds up to connect_timeout per`,
    `attempt: ${bound.silent / 1000} s. The issue's delay_loop × (retry + 1) + connect_timeout = ${p.delayLoopS * (p.retry + 1) + p.connectTimeoutS} s is looser than the first and`,
    'tighter than the second. HAProxy with `inter I fall F`: I + (F − 1) × I, the same.',
    '',
    'Where vigil\'s CPU goes: `BENCH_PROFILE=/tmp/prof BENCH_CELLS=vigil-tcp node --import tsx bench/checkers.ts`',
    'writes a V8 profile of each vigil run, `node --import tsx bench/cpuprofile.ts /tmp/prof/*.cpuprofile` breaks',
    'it down (the profiler costs some CPU: take the CPU figures from a run without it).',
    '',
  );

  out.push('## Headline', '');
  out.push(summaryTable(r), '');
  out.push('CPU figures: median [p25–p75] over the rounds. Goals (issue #6): CPU no more than HAProxy\'s for the',
    'same checks (ratio ≤ 1), advert jitter unchanged (ratio ≈ 1), detection at the configured bound (ratio ≤ 1',
    'in the next table).', '');

  out.push('## CPU per cell', '');
  out.push(table(
    ['cell', 'ok windows', 'CPU-s / 30 s median [IQR]', '% of a core', 'user / 30 s', 'system / 30 s', 'children (nft) / 30 s', 'checks / s', 'CPU µs per check', `SYNs per 10 ms p50 · p99 · max (even: ${f1(p.servers / p.delayLoopS / 100, 0)})`, 'start → checked ms', 'machine busy (all CPUs)'],
    r.cells.map((c) => [
      c.label, `${c.windows - c.failed}/${c.windows}`, iqr(c.cpuPer30), pct(c.core?.median), f1(c.cpuUserPer30?.median), f1(c.cpuSystemPer30?.median),
      f1(c.cpuChildrenPer30?.median), c.id === 'vigil-idle' ? '–' : f1(c.checksPerS?.median, 0), c.id === 'vigil-idle' ? '–' : f1(c.cpuUsPerCheck?.median, 0),
      c.id === 'vigil-idle' ? '–' : [c.spreadP50, c.spreadP99, c.spreadMax].map((x) => f1(x?.median, 0)).join(' · '),
      f1(c.startupMs?.median, 0), pct(c.machineBusy?.median),
    ]),
  ), '');
  out.push(
    'Medians over the windows. user/system split the process\'s own time (system includes the TCP handshakes that',
    'run in connect(), and page faults); children are reaped child processes (vigil\'s `nft` runs: every 5 s it',
    'reads the ruleset generation over netlink and lists its table only when that moved). Checks / s: SYNs to the real servers per second, from the capture; a check restarts',
    'delay_loop after its result, so a checker that falls behind (starved of CPU, or its timers late) makes',
    'fewer, and CPU per check (the window\'s CPU ÷ its SYNs) is then the fairer comparison. SYNs per 10 ms: how evenly the checks are spread over the second',
    `(${p.servers} checks per ${p.delayLoopS} s spread evenly would be ${f1(p.servers / p.delayLoopS / 100, 0)} in every slot); bunched checks make the event loop's busy`,
    'stretches, and so the lag, longer. Machine busy: the share of both CPUs in use during the window, by',
    'anything (the checker, the listener, tcpdump, and whatever else runs on this shared machine).', '');

  out.push('## vigil\'s event loop', '');
  out.push(table(
    ['cell', 'mean delay ms (50 ms native monitor)', 'p99 bucket ms', 'lag p99 ms (monitorEventLoopDelay)', 'lag max ms'],
    r.cells.filter((c) => c.id.startsWith('vigil')).map((c) => [
      c.label, f1(c.loopMeanMs?.median), c.loopP99BoundMs ? `≤ ${f1(c.loopP99BoundMs.median, 0)}` : '–', f1(c.lagP99Ms?.median, 1), f1(c.lagMaxMs?.median, 1),
    ]),
  ), '');
  out.push('Medians over the windows (the max column: the median of the windows\' maxima). One thread runs vigil\'s',
    'checks, VRRP and everything else: when the machine is busy (last column of the CPU table), a process that',
    'needs more of a core is delayed more; the VRRP-only vigil, run in the same rounds, shows the machine\'s share.', '');

  out.push('## VRRP advert intervals (vigil, MASTER, advert ' + p.advertMs + ' ms)', '');
  out.push(table(
    ['cell', 'intervals', 'min', 'p25', 'p50', 'p75', 'p99', 'max'],
    r.cells.filter((c) => c.id.startsWith('vigil')).map((c) => {
      const s = c.intervalMs;
      return [c.label, String(s?.n ?? 0), ...(s ? [s.min, s.p25, s.median, s.p75, s.p99, s.max].map((x) => f1(x, 1)) : Array(6).fill('–'))];
    }),
  ), '');
  out.push(table(
    ['with ÷ without checks', 'p50', 'p99', 'max'],
    CHECKS.map((ck) => [ck === 'tcp' ? 'TCP_CHECK' : 'HTTP_GET', f1(r.jitter[ck].p50, 3), f1(r.jitter[ck].p99, 3), f1(r.jitter[ck].max, 3)]),
  ), '');

  out.push(`## Detection (bound ${bound.refused / 1000} s for a refusing server)`, '');
  out.push(table(
    ['impl, checks', 'ok trials', 'ms min · p25 · median · p75 · max', 'ratio to bound median (max)', 'back in pool ms median'],
    r.detections.map((d) => [
      `${d.impl === 'vigil' ? 'vigil' : 'HAProxy'}, ${d.check === 'tcp' ? 'TCP' : 'HTTP'}`,
      `${d.trials - d.failed}/${d.trials}`,
      d.ms ? [d.ms.min, d.ms.p25, d.ms.median, d.ms.p75, d.ms.max].map((x) => f1(x, 0)).join(' · ') : '–',
      d.ratio ? `${f1(d.ratio.median, 3)} (${f1(d.ratio.max, 3)})` : '–',
      f1(d.backMs?.median, 0),
    ]),
  ), '');
  out.push('"Back in pool": from reopening the port to "Adding service" / "is UP" (vigil: one success, HAProxy `rise 1`).', '');

  const oddW = r.windows.filter((w) => !w.ok || w.notes.length);
  const oddD = r.detectionTrials.filter((d) => !d.ok || d.notes.length || (d.ratio ?? 0) > 1);
  out.push('## Failed or odd windows and trials', '');
  if (!oddW.length && !oddD.length) out.push('None: every window was measured with every real server UP, every detection stayed within the bound.');
  for (const w of oddW) out.push(`- round ${w.n}, ${w.cell}: ${w.ok ? 'measured' : 'FAILED'}; ${w.notes.join('; ')}`);
  for (const d of oddD) {
    out.push(`- detection ${d.impl} ${d.check} #${d.n} (port ${d.port}): ${d.ok ? `${f1(d.ms, 0)} ms, ratio ${f1(d.ratio, 3)}${(d.ratio ?? 0) > 1 ? ' (over the bound)' : ''}` : 'FAILED'}${d.notes.length ? `; ${d.notes.join('; ')}` : ''}`);
  }
  out.push('');
  return out.join('\n');
}
