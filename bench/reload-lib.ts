// bench/reload-lib.ts: the pure half of bench/reload.ts. The generated configs and how they change
// from one reload to the next, `ip -o monitor address` lines, the per-trial records, their
// summaries and the report in Markdown. No I/O here.

import { type Stats, roundStats, stats } from './failover-lib.js';

/** How a reload is asked for and timed (see the report's "What is measured"). */
export type Method = 'vigil-cli' | 'vigil-hup' | 'keepalived';
export const METHODS: readonly Method[] = ['vigil-cli', 'vigil-hup', 'keepalived'];
export const METHOD_LABEL: Record<Method, string> = {
  'vigil-cli': 'vigil reload (CLI)',
  'vigil-hup': 'vigil SIGHUP',
  keepalived: 'keepalived SIGHUP',
};

export type CaseId = 'unchanged' | 'priority' | 'vips';
export const CASES: readonly CaseId[] = ['unchanged', 'priority', 'vips'];
export const CASE_LABEL: Record<CaseId, string> = {
  unchanged: '(a) unchanged config',
  priority: '(b) one priority changed',
  vips: '(c) 10% of VIPs changed',
};

// ---------------------------------------------------------------------------------------------
// the generated configs

/** VRIDs are unique per interface and family: 250 instances per interface, VRID 1..250. */
export const PER_IFACE = 250;
/** the interfaces' third octet and the VIPs' second one leave room for this many interfaces */
export const MAX_IFACES = 50;

export const ifaceCount = (n: number): number => Math.max(1, Math.ceil(n / PER_IFACE));
export const ifaceOf = (i: number): string => `eth${Math.floor(i / PER_IFACE)}`;
export const instanceName = (i: number): string => `VI_${i + 1}`;

/**
 * What the next reload changes is a flip of one of these: instance 0's priority 100 ↔ 101, and the
 * VIP of every tenth instance (0, 10, 20, ...) between two addresses. Whatever the state, case (a)
 * reloads it as it is.
 */
export interface ConfState {
  prioBumped: boolean;
  vipsMoved: boolean;
}

export const INITIAL: ConfState = { prioBumped: false, vipsMoved: false };

export function nextState(s: ConfState, c: CaseId): ConfState {
  if (c === 'priority') return { ...s, prioBumped: !s.prioBumped };
  if (c === 'vips') return { ...s, vipsMoved: !s.vipsMoved };
  return s;
}

/** Instance i's one VIP: 10.(200+interface).(0 or 1).(VRID), /32, unique across the file. */
export function vipOf(i: number, s: ConfState): string {
  const moved = s.vipsMoved && i % 10 === 0;
  return `10.${200 + Math.floor(i / PER_IFACE)}.${moved ? 1 : 0}.${(i % PER_IFACE) + 1}`;
}

export function vipSet(n: number, s: ConfState): Set<string> {
  return new Set(Array.from({ length: n }, (_, i) => vipOf(i, s)));
}

/**
 * n VRRPv2 instances, one VIP each, advert_int 1, on eth0.. (250 per interface). No peer: each
 * becomes MASTER after its Master_Down_Interval. No delayed second GARP burst (garp_master_delay
 * 0), so an idle daemon is idle. keepalived and vigil read the same text.
 */
export function configText(n: number, s: ConfState, routerId: string): string {
  const out = ['global_defs {', `  router_id ${routerId}`, '  vrrp_garp_master_delay 0', '}'];
  for (let i = 0; i < n; i++) {
    out.push(
      `vrrp_instance ${instanceName(i)} {`,
      '  state BACKUP',
      `  interface ${ifaceOf(i)}`,
      `  virtual_router_id ${(i % PER_IFACE) + 1}`,
      `  priority ${i === 0 && s.prioBumped ? 101 : 100}`,
      '  advert_int 1',
      '  virtual_ipaddress {',
      `    ${vipOf(i, s)}/32`,
      '  }',
      '}',
    );
  }
  out.push('');
  return out.join('\n');
}

/**
 * `vs` virtual servers with `perVs` real servers each, one TCP_CHECK per real server, all real
 * servers on `addr` (the namespace host's own address) at ports CHECKER_PORT0, CHECKER_PORT0+1, ...
 * Appended to configText(): issue #8's "100 instances plus 1,000 checkers".
 */
export const CHECKER_PORT0 = 10000;

export function checkersText(vs: number, perVs: number, addr: string, delayLoop: number): string {
  const out: string[] = [];
  for (let k = 0; k < vs; k++) {
    out.push(`virtual_server 10.250.0.${k + 1} 80 {`, `  delay_loop ${delayLoop}`, '  lb_algo rr', '  lb_kind NAT', '  protocol TCP');
    for (let j = 0; j < perVs; j++) {
      out.push(`  real_server ${addr} ${CHECKER_PORT0 + k * perVs + j} {`, '    TCP_CHECK {', '      connect_timeout 2', '    }', '  }');
    }
    out.push('}');
  }
  out.push('');
  return out.join('\n');
}

// ---------------------------------------------------------------------------------------------
// `ip -o monitor address`

export interface AddrEvent {
  /** arrival time in this process (performance.now()) */
  t: number;
  op: 'add' | 'del';
  addr: string;
}

// 3: eth0    inet 10.200.0.1/32 scope global eth0\       valid_lft forever preferred_lft forever
// Deleted 3: eth0    inet 10.200.0.1/32 scope global eth0\       valid_lft forever preferred_lft forever
const ADDR_LINE = /^(Deleted )?\d+: \S+\s+inet6? ([0-9a-f.:]+)\/\d+/;

export function parseAddrLine(line: string, t: number): AddrEvent | undefined {
  const m = ADDR_LINE.exec(line);
  if (!m) return undefined;
  return { t, op: m[1] ? 'del' : 'add', addr: m[2]! };
}

export interface AddrCount {
  /** deletions of VIPs that the old and the new config both have: the flaps a reload must not cause */
  unexpectedDeletions: number;
  /** deletions of VIPs the new config dropped */
  expectedDeletions: number;
  /** additions of VIPs the new config brought */
  expectedAdds: number;
  /** additions of VIPs both configs have (re-added after a flap) */
  readds: number;
  /** time (ms after the reload was asked for) of the last expected change; null if none expected or not all seen */
  appliedMs: number | null;
}

/** What the kernel's address table did in `events`, for a reload from `before` to `after`, asked at t0. */
export function countAddr(events: readonly AddrEvent[], before: Set<string>, after: Set<string>, t0: number): AddrCount {
  const c: AddrCount = { unexpectedDeletions: 0, expectedDeletions: 0, expectedAdds: 0, readds: 0, appliedMs: null };
  const wantDel = new Set([...before].filter((a) => !after.has(a)));
  const wantAdd = new Set([...after].filter((a) => !before.has(a)));
  const expected = wantDel.size + wantAdd.size;
  let last = -Infinity;
  for (const e of events) {
    const kept = before.has(e.addr) && after.has(e.addr);
    if (e.op === 'del') {
      if (kept) c.unexpectedDeletions++;
      else if (wantDel.delete(e.addr)) { c.expectedDeletions++; last = Math.max(last, e.t); }
    } else if (kept) c.readds++;
    else if (wantAdd.delete(e.addr)) { c.expectedAdds++; last = Math.max(last, e.t); }
  }
  if (expected > 0 && wantDel.size === 0 && wantAdd.size === 0) c.appliedMs = last - t0;
  return c;
}

// ---------------------------------------------------------------------------------------------
// results

export interface Trial {
  n: number;
  method: Method;
  case: CaseId;
  ok: boolean;
  /**
   * the headline time, ms: vigil-cli = the `vigil reload` process from spawn to exit; vigil-hup =
   * SIGHUP to the "Reload applied" log line; keepalived = SIGHUP to the later of the parent's
   * "Reload complete" and the VRRP child's "VRRP sockpool" line (its dispatcher running again)
   */
  ms: number | null;
  /**
   * the daemon's own figure, ms: vigil = report.durationMs (applying the already checked config;
   * reading and checking it are not in it); keepalived = the child's "Reloading" line to its
   * "VRRP sockpool" line (re-reading the file, rebuilding, diffing, reopening sockets)
   */
  applyMs: number | null;
  /** method-specific times, ms after the request (see the report) */
  detail: Record<string, number | null>;
  /** "Entering … STATE" lines from the request until the end of the window */
  transitions: number;
  addr: AddrCount;
  /** instances not MASTER at the end of the window */
  notMaster: number;
  /** the daemon's CPU time (all its processes) from the request until the reload was done, ms */
  cpuMs: number | null;
  /** vigil's report: what it changed */
  report?: { added: number; removed: number; replaced: number; changed: string[]; unchanged: number };
  notes: string[];
}

export interface MethodSummary {
  trials: number;
  failed: number;
  ms: Stats | null;
  applyMs: Stats | null;
  addrAppliedMs: Stats | null;
  cpuMs: Stats | null;
  /** sums over the trials, and the worst single trial */
  transitions: { total: number; max: number };
  unexpectedDeletions: { total: number; max: number };
  notMaster: { total: number; max: number };
}

const pick = (xs: readonly (number | null)[]): Stats | null => {
  const v = xs.filter((x): x is number => x !== null);
  return v.length ? roundStats(stats(v)) : null;
};

const sumMax = (xs: readonly number[]): { total: number; max: number } => ({ total: xs.reduce((a, b) => a + b, 0), max: Math.max(0, ...xs) });

export function summarize(trials: readonly Trial[]): MethodSummary {
  const ok = trials.filter((t) => t.ok);
  return {
    trials: trials.length,
    failed: trials.length - ok.length,
    ms: pick(ok.map((t) => t.ms)),
    applyMs: pick(ok.map((t) => t.applyMs)),
    addrAppliedMs: pick(ok.map((t) => t.addr.appliedMs)),
    cpuMs: pick(ok.map((t) => t.cpuMs)),
    transitions: sumMax(trials.map((t) => t.transitions)),
    unexpectedDeletions: sumMax(trials.map((t) => t.addr.unexpectedDeletions)),
    notMaster: sumMax(trials.map((t) => t.notMaster)),
  };
}

/** A daemon's resident memory, summed over its processes, and each process's share. */
export interface Footprint {
  rssKb: number;
  procs: { pid: number; comm: string; rssKb: number }[];
}

/** the first process's RSS: vigil's node process, keepalived's parent */
export const mainRssKb = (f: Footprint | null | undefined): number | null => f?.procs[0]?.rssKb ?? null;

export interface Side {
  /** start to every instance MASTER, ms (includes the protocol's 3.6 s Master_Down_Interval) */
  startMs: number | null;
  /** CPU spent starting, ms */
  startCpuMs: number | null;
  idle: Footprint | null;
  /** after all the reload trials of this size */
  afterReloads: Footprint | null;
  /** CPU seconds over the idle window and the RSS samples taken during it (largest size only) */
  idleCpu: { seconds: number; cpuSeconds: number; percent: number; rssKbMedian: number } | null;
  notes: string[];
}

export type Impl = 'vigil' | 'keepalived';
export const IMPLS: readonly Impl[] = ['vigil', 'keepalived'];

export interface SizeResult {
  n: number;
  interfaces: number;
  configBytes: number;
  sides: Record<Impl, Side>;
  trials: Trial[];
  /** per case, per method */
  summary: Record<CaseId, Record<Method, MethodSummary>>;
}

export interface ExampleResult {
  /** the file, or what the config is */
  label: string;
  instances: number;
  /** virtual_server blocks: vigil runs their checkers and load balancer, keepalived --vrrp does not */
  virtualServers: number;
  /** why it was not run, when it was not */
  skipped: string | null;
  sides: Partial<Record<Impl, { idle: Footprint | null; states: string; notes: string[] }>>;
}

/** vigil with 100 instances and 1,000 TCP checkers against a listener in its namespace */
export interface CheckerResult {
  instances: number;
  checkers: number;
  delayLoop: number;
  /** why it was not run, when it was not */
  skipped: string | null;
  idle: Footprint | null;
  /** RSS sampled once a second during the CPU window (absent in runs before it was measured) */
  rssWindowKb?: { min: number; median: number; max: number; samples: number };
  cpu: { seconds: number; cpuSeconds: number; percent: number } | null;
  /** connections the listener accepted per second during the CPU window */
  checksPerSecond: number | null;
  /** why keepalived has no figure here */
  keepalived: string;
  notes: string[];
}

export interface Env {
  date: string; kernel: string; cpu: string; cpus: number; memTotalMb: number; node: string;
  keepalived: string; iproute2: string; vigilCommit: string; loadavg: number[];
  trials: number; sizes: number[]; settleMs: number; idleSeconds: number; wallSeconds: number;
}

// ---------------------------------------------------------------------------------------------
// Markdown

export const fmtMs = (x: number | null | undefined): string =>
  x === null || x === undefined || Number.isNaN(x) ? '–' : x < 10 ? x.toFixed(2) : x < 100 ? x.toFixed(1) : x.toFixed(0);
const fmtRatio = (x: number | null | undefined): string =>
  x === null || x === undefined || !Number.isFinite(x) ? '–' : x.toFixed(2);
const fmtMb = (kb: number | null | undefined): string => (kb === null || kb === undefined ? '–' : (kb / 1024).toFixed(1));
const medWorst = (s: Stats | null): string => (s ? `${fmtMs(s.median)} / ${fmtMs(s.max)}` : '–');

/** `align`: one letter per column, l (text) or r (numbers); columns past its end are r */
function table(head: string[], rows: string[][], align = 'l'): string {
  const line = (cells: string[]): string => `| ${cells.join(' | ')} |`;
  return [line(head), line(head.map((_, i) => (align[i] === 'l' ? '---' : '---:'))), ...rows.map(line)].join('\n');
}

const ratio = (a: Stats | null, b: Stats | null): number | null => (a && b && b.median > 0 ? a.median / b.median : null);

/** The reload-time table (also printed on stdout). */
export function timeTable(sizes: readonly SizeResult[]): string {
  return table(
    ['instances', 'case', 'vigil reload (CLI) wall ms', 'vigil durationMs', 'vigil SIGHUP → applied ms', 'keepalived SIGHUP → done ms',
      'vigil SIGHUP ÷ keepalived', 'vigil CLI ÷ keepalived', 'ok v-cli · v-hup · k'],
    sizes.flatMap((r) => CASES.map((c) => {
      const s = r.summary[c];
      return [
        String(r.n), CASE_LABEL[c],
        medWorst(s['vigil-cli'].ms), medWorst(s['vigil-cli'].applyMs), medWorst(s['vigil-hup'].ms), medWorst(s.keepalived.ms),
        fmtRatio(ratio(s['vigil-hup'].ms, s.keepalived.ms)), fmtRatio(ratio(s['vigil-cli'].ms, s.keepalived.ms)),
        METHODS.map((m) => `${s[m].trials - s[m].failed}/${s[m].trials}`).join(' · '),
      ];
    })),
    'll',
  );
}

/** The disturbance table (also printed on stdout). */
export function disturbanceTable(sizes: readonly SizeResult[]): string {
  const tm = (x: { total: number; max: number }): string => (x.total ? `**${x.total}** (max ${x.max})` : '0');
  return table(
    ['instances', 'case', ...METHODS.map((m) => `${METHOD_LABEL[m]}: transitions · VIP flaps · not MASTER`)],
    sizes.flatMap((r) => CASES.map((c) => [
      String(r.n), CASE_LABEL[c],
      ...METHODS.map((m) => {
        const s = r.summary[c][m];
        return `${tm(s.transitions)} · ${tm(s.unexpectedDeletions)} · ${tm(s.notMaster)}`;
      }),
    ])),
    'll',
  );
}

function footprintRows(sizes: readonly SizeResult[], examples: readonly ExampleResult[]): string[][] {
  const rows: string[][] = [];
  const cells = (v: Footprint | null | undefined, k: Footprint | null | undefined): string[] =>
    [fmtMb(v?.rssKb), fmtMb(mainRssKb(v)), fmtMb(k?.rssKb), fmtRatio(v && k ? v.rssKb / k.rssKb : null)];
  for (const e of examples) {
    if (e.skipped) {
      rows.push([e.label, String(e.instances), '–', '–', '–', '–', `not run: ${e.skipped}`]);
      continue;
    }
    const v = e.sides.vigil;
    const k = e.sides.keepalived;
    rows.push([
      e.label, String(e.instances), ...cells(v?.idle, k?.idle),
      `states: vigil ${v?.states ?? '–'}, keepalived ${k?.states ?? '–'}` +
        (e.virtualServers ? `; vigil also runs the ${e.virtualServers} virtual server(s)' checkers and load balancer, keepalived --vrrp does not` : '') +
        [...(v?.notes ?? []), ...(k?.notes ?? [])].map((x) => `; ${x}`).join(''),
    ]);
  }
  for (const r of sizes) {
    const v = r.sides.vigil;
    const k = r.sides.keepalived;
    rows.push([
      `generated, ${r.n} instances`, String(r.n), ...cells(v.idle, k.idle),
      `after the ${r.trials.length} reloads: vigil ${fmtMb(v.afterReloads?.rssKb)} MB, keepalived ${fmtMb(k.afterReloads?.rssKb)} MB`,
    ]);
  }
  return rows;
}

export function markdown(env: Env, sizes: readonly SizeResult[], examples: readonly ExampleResult[], chk: CheckerResult | null): string {
  const out: string[] = [];
  out.push('# Reload and footprint: vigil vs keepalived', '');
  out.push(`- date: ${env.date}`);
  out.push(`- kernel: ${env.kernel}`);
  out.push(`- CPU: ${env.cpu} (${env.cpus} available), memory ${env.memTotalMb} MB`);
  out.push(`- Node: ${env.node}`);
  out.push(`- keepalived: ${env.keepalived}`);
  out.push(`- iproute2: ${env.iproute2}`);
  out.push(`- vigil: ${env.vigilCommit}`);
  out.push(`- load average at start: ${env.loadavg.map((x) => x.toFixed(2)).join(' ')}`);
  out.push(`- sizes: ${env.sizes.join(', ')} instances; ${env.trials} trials per size, case and method, the methods' order rotating trial by trial`);
  out.push(`- window after each reload: ${env.settleMs} ms; idle CPU window: ${env.idleSeconds} s`);
  out.push(`- wall time: ${(env.wallSeconds / 60).toFixed(1)} min`, '');

  out.push('## What is measured', '');
  out.push(
    'Each implementation has its own network namespace host (`test/netns/lab.ts`, one host) with',
    '`eth0`..`ethK` (veth pairs, 250 instances per interface since a VRID is unique per interface and',
    'family). Both daemons run at the same time, each with the same generated config: N VRRPv2',
    'instances, `advert_int 1`, one /32 VIP each, no peer, so every instance is MASTER. keepalived runs as',
    '`keepalived -n -l -D --vrrp -f CONF -p PID -r VPID`, vigil as `vigil run -f CONF --control SOCK',
    '--journal DIR`. A trial rewrites the config file for its case, then asks for a reload:',
    '',
    '- **(a) unchanged**: the same text again. **(b)** instance VI_1\'s priority flips 100 ↔ 101.',
    '  **(c)** the VIP of every tenth instance (VI_1, VI_11, ...) moves to another address.',
    '',
    'and times it three ways, in rotating order (vigil\'s two methods reload the same daemon):',
    '',
    '- **vigil reload (CLI) wall**: `node bin/vigil.js reload --control SOCK --json`, spawned from this',
    '  process, from spawn to exit: Node\'s start, the request over the control socket, the daemon',
    '  reading and checking the file, applying the diff, the reply. **vigil durationMs** is',
    '  `report.durationMs` from its output: the daemon\'s apply step alone (diff, in-place changes, VIP',
    '  changes through netlink, actors started/stopped), without reading and checking the file.',
    '- **vigil SIGHUP → applied**: `kill -HUP` to the daemon until its "Reload applied" log line reaches',
    '  this process (read, check, apply; no CLI).',
    '- **keepalived SIGHUP → done**: `kill -HUP` to the parent until both its "Reload complete" line',
    '  (logged when the VRRP child tells it the new config is read and initialised,',
    '  `config_notify.c`) and the child\'s "VRRP sockpool" line have arrived. The latter is printed (with',
    '  `-D`) by `vrrp_dispatcher_init`, the event that runs after `reload_vrrp_thread` returns: by then',
    '  the child has sent its pre-reload adverts, re-read the file, rebuilt, diffed (`clear_diff_vrrp`:',
    '  dropped VIPs removed), freed the old config and reopened its sockets. The parent also re-reads',
    '  the whole file before it signals the child; that is in the figure. keepalived\'s own figure',
    '  (the "daemon" column below) is the child\'s "Reloading" line to its "VRRP sockpool" line.',
    '',
    'keepalived\'s console lines carry only a timestamp to the second, so every time here is the',
    'arrival of a line on the daemon\'s stderr/stdout pipe in this process (`performance.now()`).',
    '',
    'During every reload `ip -o monitor address` runs in the namespace, and the daemon\'s log is read:',
    '**transitions** are "Entering … STATE" lines from the request until the end of the window',
    `(${env.settleMs} ms after the reload was done, longer if an instance was not MASTER then: the`,
    'window runs until all are MASTER again); **VIP flaps** are deletions of a VIP that the old and the',
    'new config both have; **not MASTER** counts instances not MASTER at the end of the window. The',
    'VIP changes of case (c) are expected and counted apart; their **applied** time is the arrival of',
    'the last of them. **CPU** is the daemon\'s utime + stime (all its processes) from the request to',
    'the end of the reload, from `/proc/PID/stat` (10 ms ticks).',
    '',
  );

  out.push('## Reload time, ms (median / worst)', '');
  out.push(timeTable(sizes), '');
  out.push('Ratios are of medians; < 1 means vigil was faster.', '');

  out.push('## Disturbance: transitions · VIP flaps · instances not MASTER afterwards', '');
  out.push('Sums over the trials, the worst trial in brackets; every cell should be 0.', '');
  out.push(disturbanceTable(sizes), '');

  out.push('## Side figures, ms (median / worst)', '');
  out.push(table(
    ['instances', 'case', 'method', 'daemon', 'detail', 'VIP changes applied (c)', 'daemon CPU'],
    sizes.flatMap((r) => CASES.flatMap((c) => METHODS.map((m) => {
      const s = r.summary[c][m];
      const ts = r.trials.filter((t) => t.case === c && t.method === m && t.ok);
      const keys = [...new Set(ts.flatMap((t) => Object.keys(t.detail)))];
      const detail = keys.map((k) => `${k} ${medWorst(pick(ts.map((t) => t.detail[k] ?? null)))}`).join('; ');
      return [String(r.n), CASE_LABEL[c], METHOD_LABEL[m], medWorst(s.applyMs), detail || '–', c === 'vips' ? medWorst(s.addrAppliedMs) : '–', medWorst(s.cpuMs)];
    }))),
    'lllrlrr',
  ), '');
  out.push(
    '"daemon" is vigil\'s `durationMs` (apply only) or keepalived\'s child "Reloading" → "VRRP sockpool".',
    'vigil-cli `appliedLine` = spawn → the daemon\'s "Reload applied" line; vigil-hup `received` = SIGHUP →',
    'its "Received SIGHUP" line; keepalived `complete` = SIGHUP → "Reload complete", `resumed` = SIGHUP →',
    'the child\'s first "VRRP sockpool" line, `childStart` = SIGHUP → the child\'s "Reloading".',
    '',
  );

  out.push('## Memory and CPU', '');
  out.push('RSS is `VmRSS` from `/proc/PID/status`, summed over the daemon\'s processes (keepalived: parent +',
    'VRRP child; vigil: the node process and its `ip` children, which the next column leaves out), taken',
    'once every instance was MASTER (or FAULT) and 2 s had passed. vigil runs as infra/vigil.service runs it',
    '(NODE_OPTIONS="--max-semi-space-size=1 --optimize-for-size", MALLOC_ARENA_MAX=2; bench/common.ts UNIT_NODE_FLAGS, UNIT_ENV).', '');
  out.push(table(['config', 'instances', 'vigil RSS MB', 'of which the node process', 'keepalived RSS MB', 'vigil ÷ keepalived', 'notes'], footprintRows(sizes, examples), 'lrrrrrl'), '');
  out.push(table(
    ['instances', 'impl', 'start → all MASTER ms', 'CPU to start ms', 'idle CPU s over window', 'idle CPU %', 'RSS median during window MB'],
    sizes.flatMap((r) => IMPLS.map((i) => {
      const s = r.sides[i];
      return [String(r.n), i, fmtMs(s.startMs), fmtMs(s.startCpuMs),
        s.idleCpu ? `${s.idleCpu.cpuSeconds.toFixed(2)} / ${s.idleCpu.seconds} s` : '–',
        s.idleCpu ? s.idleCpu.percent.toFixed(2) : '–', fmtMb(s.idleCpu?.rssKbMedian)];
    })),
    'rl',
  ), '');
  out.push('"start → all MASTER" includes the protocol\'s wait: 3 × advert_int + Skew_Time = 3.61 s at priority 100.', '');

  if (chk) {
    out.push(`### ${chk.instances} instances plus ${chk.checkers.toLocaleString('en')} checkers`, '');
    if (chk.skipped) out.push(`Not run: ${chk.skipped}`, '');
    else {
      out.push(
        `The ${chk.instances}-instance config above plus ${chk.checkers / 100} virtual servers (\`lb_kind NAT\`) of 100 real servers each, one`,
        `\`TCP_CHECK\` per real server, \`delay_loop ${chk.delayLoop}\`. The real servers are ports ${CHECKER_PORT0}–${CHECKER_PORT0 + chk.checkers - 1} of the namespace`,
        'host\'s own address, served by one Node process there that accepts and closes each connection and',
        'counts them. RSS is taken once every instance is MASTER and every real server has been checked',
        `once, then CPU over ${chk.cpu?.seconds ?? '–'} s, with RSS sampled once a second through that window (the goal is judged on`,
        `their median). keepalived: ${chk.keepalived}.`, '',
      );
      const w = chk.rssWindowKb;
      out.push(table(
        ['vigil RSS MB', 'of which the node process', 'RSS MB in the window min · median · max', 'CPU s over window', 'CPU %', 'checks/s seen by the listener', 'notes'],
        [[fmtMb(chk.idle?.rssKb), fmtMb(mainRssKb(chk.idle)), w ? `${fmtMb(w.min)} · ${fmtMb(w.median)} · ${fmtMb(w.max)}` : '–', chk.cpu ? `${chk.cpu.cpuSeconds.toFixed(2)} / ${chk.cpu.seconds} s` : '–',
          chk.cpu ? chk.cpu.percent.toFixed(2) : '–', chk.checksPerSecond === null ? '–' : chk.checksPerSecond.toFixed(1), chk.notes.join('; ') || '–']],
        'rrrrrrl',
      ), '');
    }
  }

  out.push('## Goals (issue #8)', '');
  const hundred = sizes.find((r) => r.n === 100);
  const rss100 = hundred?.sides.vigil.idle?.rssKb;
  const verdict = (kb: number): string => `${fmtMb(kb)} MB, ${kb < 100 * 1024 ? 'under' : 'OVER'} 100 MB`;
  const chkRss = chk?.rssWindowKb?.median ?? chk?.idle?.rssKb;
  out.push(`- vigil RSS under 100 MB with 100 instances plus 1,000 checkers: ${chkRss !== undefined ? `${verdict(chkRss)}${chk?.rssWindowKb ? ` (median of ${chk.rssWindowKb.samples} samples, ${fmtMb(chk.rssWindowKb.min)}–${fmtMb(chk.rssWindowKb.max)})` : ''}` : 'not measured'}` +
    `; with the 100 instances alone ${rss100 === undefined ? 'not measured' : verdict(rss100)}`);
  const zero = sizes.every((r) => CASES.every((c) => {
    const s = r.summary[c]['vigil-cli'];
    const h = r.summary[c]['vigil-hup'];
    return s.transitions.total + s.unexpectedDeletions.total + h.transitions.total + h.unexpectedDeletions.total === 0;
  }));
  out.push(`- vigil reloads with zero transitions and zero VIP flaps for instances the reload leaves alone: ${zero ? 'met in every trial' : 'MISSED (see the disturbance table)'}`);
  const big = sizes.find((r) => r.n === 1000) ?? sizes[sizes.length - 1];
  if (big) {
    const s = big.summary.unchanged;
    out.push(`- reload time at ${big.n} instances, unchanged config: vigil CLI ${fmtMs(s['vigil-cli'].ms?.median)} ms wall (apply ${fmtMs(s['vigil-cli'].applyMs?.median)} ms), vigil SIGHUP ${fmtMs(s['vigil-hup'].ms?.median)} ms, keepalived ${fmtMs(s.keepalived.ms?.median)} ms (medians)`);
  }
  out.push('');

  const odd = sizes.flatMap((r) => r.trials.filter((t) => !t.ok || t.notes.length).map((t) => ({ r, t })));
  const sideNotes = sizes.flatMap((r) => IMPLS.flatMap((i) => r.sides[i].notes.map((x) => `${r.n} instances, ${i}: ${x}`)));
  out.push('## Failed or odd trials', '');
  if (!odd.length && !sideNotes.length) out.push('None.');
  for (const x of sideNotes) out.push(`- ${x}`);
  for (const { r, t } of odd) out.push(`- ${r.n} instances, ${CASE_LABEL[t.case]}, ${METHOD_LABEL[t.method]} #${t.n}: ${t.ok ? 'measured' : 'FAILED'}; ${t.notes.join('; ')}`);
  out.push('');
  return out.join('\n');
}
