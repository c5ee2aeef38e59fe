// bench/failover-lib.ts: the pure half of bench/failover.ts. The protocol's failover figures,
// tcpdump's text lines, the gap between the old master's last advert and the new master's first,
// statistics, and the report in Markdown and SVG. No I/O here.

export type Impl = 'vigil' | 'keepalived';
export type Mode = 'crash' | 'graceful';
export const IMPLS: readonly Impl[] = ['vigil', 'keepalived'];

export interface Variant {
  /** short id, used in file names and BENCH_CELLS */
  id: string;
  version: 2 | 3;
  advertMs: number;
}

export interface Cell {
  variant: Variant;
  mode: Mode;
}

export const cellId = (c: Cell): string => `${c.variant.id}-${c.mode}`;

export function variantLabel(v: Variant): string {
  const adv = v.advertMs >= 1000 ? `${v.advertMs / 1000} s` : `${v.advertMs} ms`;
  return v.version === 2 ? `VRRPv2 PASS, advert ${adv}` : `VRRPv3, advert ${adv}`;
}

export const cellLabel = (c: Cell): string => `${variantLabel(c.variant)}, ${c.mode}`;

// ---------------------------------------------------------------------------------------------
// the protocol's figures

/**
 * Skew_Time in ms for a router of priority `prio`. RFC 3768 (v2): (256 − Priority)/256 s; RFC 5798
 * (v3): ((256 − Priority) × Master_Adver_Interval)/256. keepalived 2.2.7 computes the same to the
 * microsecond (vrrp.h VRRP_TIMER_SKEW_CALC), so no rounding to centiseconds here.
 */
export function skewMs(v: Variant, prio: number): number {
  return v.version === 3 ? ((256 - prio) * v.advertMs) / 256 : ((256 - prio) * 1000) / 256;
}

/** Master_Down_Interval = 3 × Master_Adver_Interval + Skew_Time. */
export function masterDownMs(v: Variant, prio: number): number {
  return 3 * v.advertMs + skewMs(v, prio);
}

/**
 * What the backup (priority `prio`) should wait between the master's last advert and its own first:
 * after a crash the whole Master_Down_Interval (its timer restarted at the last advert); after a
 * priority-0 advert only Skew_Time (RFC 5798 §6.4.2, keepalived vrrp_backup "priority 0 advertisement").
 */
export function protocolMs(c: Cell, prio = 100): number {
  return c.mode === 'graceful' ? skewMs(c.variant, prio) : masterDownMs(c.variant, prio);
}

/** The keepalived.conf both implementations read (the same text, as in /work/shared/lab/failover.sh). */
/**
 * The config both implementations run. `load` > 0 adds that many track scripts (`/bin/true`
 * every 10 s, unweighted) to the instance: the same timers and child processes in both daemons
 * while they fail over (BENCH_LOAD).
 */
export function configText(v: Variant, host: number, prio: number, vip: string, load = 0): string {
  const auth = v.version === 2
    ? ['  authentication {', '    auth_type PASS', '    auth_pass secret1', '  }']
    : [];
  const scripts = Array.from({ length: load }, (_, i) => `vrrp_script load${i} {
  script "/bin/true"
  interval 10
  timeout 5
}`);
  const track = load ? ['  track_script {', ...Array.from({ length: load }, (_, i) => `    load${i}`), '  }'] : [];
  return [
    'global_defs {',
    `  router_id fo-h${host}`,
    ...(load ? ['  script_user root', '  enable_script_security'] : []),
    '}',
    ...scripts,
    'vrrp_instance VI_1 {',
    '  state BACKUP',
    '  interface eth0',
    '  virtual_router_id 51',
    `  priority ${prio}`,
    `  advert_int ${v.advertMs / 1000}`,
    `  version ${v.version}`,
    ...auth,
    ...track,
    '  virtual_ipaddress {',
    `    ${vip}/24`,
    '  }',
    '}',
    '',
  ].join('\n');
}

/**
 * `n` TCP_CHECKs (BENCH_CHECKERS), for vigil: 10 virtual servers whose real servers are closed ports
 * of `target` (the other router: each check a SYN answered by a RST, so every checker is DOWN and
 * checked once per delay_loop 1 s), load balanced by nftables in the router's namespace.
 */
export function checkersText(n: number, target: string): string {
  if (n <= 0) return '';
  const out = ['global_defs {', '  lb_driver nftables', '}'];
  const perVs = Math.ceil(n / 10);
  for (let v = 0; v * perVs < n; v++) {
    out.push(`virtual_server 10.199.0.1 ${8000 + v} {`, '  delay_loop 1', '  lb_algo rr', '  lb_kind NAT', '  protocol TCP');
    for (let i = v * perVs; i < Math.min(n, (v + 1) * perVs); i++) {
      out.push(`  real_server ${target} ${30000 + i} {`, '    weight 1', '    TCP_CHECK {', '      connect_timeout 1', '      retry 1', '      delay_before_retry 1', '    }', '  }');
    }
    out.push('}');
  }
  return out.join('\n') + '\n';
}

// ---------------------------------------------------------------------------------------------
// tcpdump's text output

export interface Advert {
  /** capture time, seconds since the epoch (tcpdump -tt, kernel timestamp) */
  t: number;
  src: string;
  version: number;
  vrid: number;
  prio: number;
}

// 1795641659.447761 IP 10.99.0.11 > 224.0.0.18: VRRPv3, Advertisement, vrid 51, prio 150, intvl 10cs, length 12
const ADVERT_LINE = /^(\d+\.\d+) IP (\S+) > 224\.0\.0\.18: VRRPv(\d), Advertisement, vrid (\d+), prio (\d+)/;

/** One line of `tcpdump -n -tt -l 'ip proto 112'`; anything else (a malformed packet, a notice) is undefined. */
export function parseAdvert(line: string): Advert | undefined {
  const m = ADVERT_LINE.exec(line);
  if (!m) return undefined;
  return { t: Number(m[1]), src: m[2]!, version: Number(m[3]), vrid: Number(m[4]), prio: Number(m[5]) };
}

export type Gap =
  | { ok: true; gapMs: number; lastMaster: Advert; firstBackup: Advert; masterAfter: number }
  | { ok: false; reason: string };

/**
 * The failover gap in a capture: the backup's first advert at or after index `from` (the moment of
 * the kill), and the master's last advert before it. `masterAfter` counts the master's adverts after
 * the backup's first one (0 unless the kill did not take).
 */
export function failoverGap(rows: readonly Advert[], from: number, master: string, backup: string): Gap {
  let b = -1;
  for (let i = Math.max(0, from); i < rows.length; i++) {
    if (rows[i]!.src === backup) { b = i; break; }
  }
  if (b < 0) return { ok: false, reason: 'no advert from the backup after the kill' };
  let m = -1;
  for (let i = b - 1; i >= 0; i--) {
    if (rows[i]!.src === master) { m = i; break; }
  }
  if (m < 0) return { ok: false, reason: 'no advert from the master before the backup took over' };
  const lastMaster = rows[m]!;
  const firstBackup = rows[b]!;
  const masterAfter = rows.slice(b + 1).filter((r) => r.src === master).length;
  return { ok: true, gapMs: (firstBackup.t - lastMaster.t) * 1000, lastMaster, firstBackup, masterAfter };
}

/** Intervals (ms) between consecutive adverts of `src` at priority `prio` among rows[from, to). */
export function advertIntervals(rows: readonly Advert[], src: string, prio: number, from = 0, to = rows.length): number[] {
  const out: number[] = [];
  let prev: number | undefined;
  for (let i = Math.max(0, from); i < Math.min(to, rows.length); i++) {
    const r = rows[i]!;
    if (r.src !== src || r.prio !== prio) continue;
    if (prev !== undefined) out.push((r.t - prev) * 1000);
    prev = r.t;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// results and statistics

export interface Trial {
  impl: Impl;
  /** 1-based, per cell and implementation */
  n: number;
  ok: boolean;
  gapMs: number | null;
  /** gapMs ÷ the protocol figure */
  ratio: number | null;
  /** priority of the master's last advert (0 after a clean SIGTERM) */
  lastMasterPrio: number | null;
  /** wall time from spawning host 1 to its "Entering MASTER STATE" log line */
  startupMs: number | null;
  /** host 1's exit: code, or signal name */
  exit: number | string | null;
  /** what went wrong, for a failed trial; notes for an odd but measured one */
  notes: string[];
}

export interface Stats { n: number; median: number; p25: number; p75: number; min: number; max: number }

export function quantile(sorted: readonly number[], q: number): number {
  if (!sorted.length) return NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  const a = sorted[lo]!;
  const b = sorted[hi]!;
  return a + (b - a) * (pos - lo);
}

export function stats(samples: readonly number[]): Stats {
  const s = [...samples].sort((a, b) => a - b);
  return { n: s.length, median: quantile(s, 0.5), p25: quantile(s, 0.25), p75: quantile(s, 0.75), min: s[0] ?? NaN, max: s[s.length - 1] ?? NaN };
}

const r3 = (x: number): number => Math.round(x * 1000) / 1000;
export const roundStats = (s: Stats): Stats => ({ n: s.n, median: r3(s.median), p25: r3(s.p25), p75: r3(s.p75), min: r3(s.min), max: r3(s.max) });

export interface ImplSummary {
  trials: number;
  failed: number;
  gapMs: Stats | null;
  ratio: Stats | null;
  /** the master's advert interval as seen on the wire before the kill (pooled over trials) */
  advertIntervalMs: Stats | null;
  startupMs: Stats | null;
}

export interface CellResult {
  id: string;
  label: string;
  version: 2 | 3;
  advertMs: number;
  mode: Mode;
  protocolMs: number;
  trials: Trial[];
  summary: Record<Impl, ImplSummary>;
  /** vigil's median gap ÷ keepalived's */
  vigilVsKeepalived: number | null;
}

export function summarize(trials: readonly Trial[], intervals: readonly number[]): ImplSummary {
  const ok = trials.filter((t) => t.ok);
  const pick = (xs: (number | null)[]): Stats | null => {
    const v = xs.filter((x): x is number => x !== null);
    return v.length ? roundStats(stats(v)) : null;
  };
  return {
    trials: trials.length,
    failed: trials.length - ok.length,
    gapMs: pick(ok.map((t) => t.gapMs)),
    ratio: pick(ok.map((t) => t.ratio)),
    advertIntervalMs: intervals.length ? roundStats(stats(intervals)) : null,
    startupMs: pick(trials.map((t) => t.startupMs)),
  };
}

// ---------------------------------------------------------------------------------------------
// Markdown

export interface Env {
  date: string; kernel: string; cpu: string; cpus: number; node: string; keepalived: string;
  tcpdump: string; vigilCommit: string; loadavg: number[]; trials: number; wallSeconds: number;
  /** track scripts per daemon (BENCH_LOAD), 0 = none */
  load?: number;
  /** TCP checks per vigil daemon (BENCH_CHECKERS), 0 = none */
  checkers?: number;
  /** vigil exports to a NATS server that is down (BENCH_NATS=down) */
  natsDown?: boolean;
}

export const fmtMs = (x: number | null | undefined): string =>
  x === null || x === undefined || Number.isNaN(x) ? '–' : x < 100 ? x.toFixed(1) : x.toFixed(0);
export const fmtRatio = (x: number | null | undefined): string =>
  x === null || x === undefined || Number.isNaN(x) ? '–' : x.toFixed(3);

function table(head: string[], rows: string[][]): string {
  const line = (cells: string[]): string => `| ${cells.join(' | ')} |`;
  return [line(head), line(head.map((_, i) => (i === 0 ? '---' : '---:'))), ...rows.map(line)].join('\n');
}

/** The summary table (also printed on stdout). */
export function summaryTable(cells: readonly CellResult[]): string {
  const both = (c: CellResult, f: (s: ImplSummary) => string): string[] => IMPLS.map((i) => f(c.summary[i]));
  const medWorst = (s: ImplSummary): string =>
    s.gapMs && s.ratio ? `${fmtMs(s.gapMs.median)} (${fmtRatio(s.ratio.median)}) / ${fmtMs(s.gapMs.max)} (${fmtRatio(s.ratio.max)})` : '–';
  return table(
    ['cell', 'protocol ms', 'vigil median / worst ms (ratio)', 'keepalived median / worst ms (ratio)', 'vigil ÷ keepalived (medians)', 'ok trials v / k'],
    cells.map((c) => [
      c.label, fmtMs(c.protocolMs), ...both(c, medWorst), fmtRatio(c.vigilVsKeepalived),
      both(c, (s) => `${s.trials - s.failed}/${s.trials}`).join(' · '),
    ]),
  );
}

export function markdown(env: Env, cells: readonly CellResult[], svgFile: string): string {
  const out: string[] = [];
  out.push('# VRRP failover gap: vigil vs keepalived', '');
  out.push(`- date: ${env.date}`);
  out.push(`- kernel: ${env.kernel}`);
  out.push(`- CPU: ${env.cpu} (${env.cpus} available)`);
  out.push(`- Node: ${env.node}`);
  out.push(`- keepalived: ${env.keepalived}`);
  out.push(`- tcpdump: ${env.tcpdump}`);
  out.push(`- vigil: ${env.vigilCommit}`);
  out.push(`- load average at start: ${env.loadavg.map((x) => x.toFixed(2)).join(' ')}`);
  if (env.load) out.push(`- each daemon also runs ${env.load} track scripts (/bin/true every 10 s) throughout`);
  if (env.checkers) out.push(`- each vigil also runs ${env.checkers} TCP_CHECKs (delay_loop 1 s, closed ports of the other router: a SYN and a RST each) and an nftables load balancer; keepalived runs --vrrp only (its checker needs IPVS, which this kernel lacks), so the ratio is vigil with checks against keepalived without`);
  if (env.natsDown) out.push('- each vigil exports its events to a NATS server that is down (--nats to a closed port): reconnecting throughout, events queued in its journal');
  out.push(`- trials per cell and implementation: ${env.trials}, implementations alternating trial by trial`);
  out.push(`- wall time: ${(env.wallSeconds / 60).toFixed(1)} min`, '');

  out.push('## What is measured', '');
  out.push(
    'Two LANs in network namespaces (a bridge and two hosts each), one per implementation; both run',
    'the whole time, so the idle one costs the measured one the same on every trial. Host 1 is the',
    'master at priority 150, host 2 the backup at priority 100, both with the same config and the',
    'same implementation. `tcpdump -i br0 -n -tt -l --immediate-mode \'ip proto 112\'` on each bridge',
    'timestamps every advert. A trial starts host 1 (host 2 keeps running through the cell), waits',
    'for host 1 to log "Entering MASTER STATE", for host 2 to be BACKUP again and for a few more',
    'adverts, then kills host 1: **crash** = SIGKILL to its process group, **graceful** = SIGTERM',
    '(priority-0 advert). The gap is from host 1\'s last advert to host 2\'s first one, on the wire;',
    'the ratio divides it by the protocol\'s figure for the backup at priority 100: crash →',
    'Master_Down_Interval = 3 × advert + Skew_Time, graceful → Skew_Time, where Skew_Time =',
    '(256 − 100)/256 s (v2) or (256 − 100)/256 × advert (v3). keepalived runs as',
    '`keepalived -n -l -D --vrrp -f CONF -p PID -r VPID`, vigil as `node bin/vigil.js run -f CONF`.',
    '',
  );

  out.push('## Failover gap (ms) and ratio to the protocol figure', '');
  out.push(summaryTable(cells), '');
  out.push(`![trial ratios per cell](${svgFile})`, '');
  out.push('Each dot is one trial\'s gap ÷ the protocol figure; the bar is the median, the dashed line 1.0.', '');

  out.push('## Spread and side figures', '');
  out.push(table(
    ['cell', 'impl', 'gap ms min · p25 · median · p75 · max', 'master advert interval ms median (max)', 'host 1 start → MASTER ms median'],
    cells.flatMap((c) => IMPLS.map((i) => {
      const s = c.summary[i];
      const g = s.gapMs;
      return [
        c.label, i,
        g ? [g.min, g.p25, g.median, g.p75, g.max].map(fmtMs).join(' · ') : '–',
        s.advertIntervalMs ? `${fmtMs(s.advertIntervalMs.median)} (${fmtMs(s.advertIntervalMs.max)})` : '–',
        fmtMs(s.startupMs?.median),
      ];
    })),
  ), '');

  const odd = cells.flatMap((c) => c.trials.filter((t) => !t.ok || t.notes.length).map((t) => ({ c, t })));
  out.push('## Failed or odd trials', '');
  if (!odd.length) out.push('None: every trial saw the backup take over, with the expected last priority from the master.');
  for (const { c, t } of odd) {
    out.push(`- ${c.label}, ${t.impl} #${t.n}: ${t.ok ? 'measured' : 'FAILED'}; ${t.notes.join('; ')}`);
  }
  out.push('');
  return out.join('\n');
}

// ---------------------------------------------------------------------------------------------
// SVG: one strip plot per cell, hand-written (no dependencies)

const COLOR: Record<Impl, string> = { vigil: '#1f6fb4', keepalived: '#e07b12' };

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Tick positions at 1, 2 or 5 × 10^k, about `count` of them across [lo, hi]. */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  const span = hi - lo;
  if (!(span > 0)) return [lo];
  const raw = span / count;
  const pow = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * pow).find((s) => s >= raw) ?? 10 * pow;
  const out: number[] = [];
  for (let x = Math.ceil(lo / step) * step; x <= hi + step * 1e-9; x += step) out.push(Math.round(x / step) * step);
  return out;
}

export function svgPlot(cells: readonly CellResult[]): string {
  const W = 900;
  const x0 = 100; // lane labels to the left of the plot area
  const x1 = W - 80; // median values to the right
  const laneH = 22;
  const titleH = 22;
  const panelH = titleH + 2 * laneH + 34;
  const top = 50;
  const H = top + cells.length * panelH;
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`);
  parts.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  parts.push(`<text x="10" y="20" font-size="15" font-weight="bold">VRRP failover gap ÷ protocol figure, one dot per trial</text>`);
  let lx = 10;
  for (const impl of IMPLS) {
    parts.push(`<circle cx="${lx + 5}" cy="36" r="4" fill="${COLOR[impl]}"/><text x="${lx + 14}" y="40">${impl}</text>`);
    lx += 100;
  }
  parts.push(`<text x="${lx}" y="40" fill="#555">bar = median (value on the right) · dashed line = 1.0 · each panel has its own scale</text>`);

  cells.forEach((c, ci) => {
    const y = top + ci * panelH;
    const ratios = IMPLS.flatMap((i) => c.trials.filter((t) => t.impl === i && t.ratio !== null).map((t) => t.ratio!));
    let lo = Math.min(1, ...ratios);
    let hi = Math.max(1, ...ratios);
    const pad = Math.max((hi - lo) * 0.08, 0.005);
    lo -= pad;
    hi += pad;
    const sx = (r: number): number => x0 + ((r - lo) / (hi - lo)) * (x1 - x0);
    const laneTop = y + titleH;
    const axisY = laneTop + 2 * laneH;
    parts.push('<g>');
    parts.push(`<text x="10" y="${y + 15}" font-weight="bold">${esc(c.label)}</text>`);
    parts.push(`<text x="${x1}" y="${y + 15}" text-anchor="end" fill="#555">protocol figure ${fmtMs(c.protocolMs)} ms = ratio 1</text>`);
    parts.push(`<rect x="${x0}" y="${laneTop}" width="${x1 - x0}" height="${2 * laneH}" fill="#f4f4f4"/>`);
    const one = sx(1).toFixed(1);
    parts.push(`<line x1="${one}" y1="${laneTop - 2}" x2="${one}" y2="${axisY}" stroke="#888" stroke-dasharray="4 3"/>`);
    IMPLS.forEach((impl, li) => {
      const cy = laneTop + li * laneH + laneH / 2;
      const s = c.summary[impl];
      parts.push(`<text x="${x0 - 8}" y="${cy + 4}" text-anchor="end" fill="${COLOR[impl]}">${impl}</text>`);
      for (const t of c.trials) {
        if (t.impl !== impl || t.ratio === null) continue;
        const jitter = (((t.n * 7) % 5) - 2) * 2.2; // deterministic, so reruns of the plot agree
        parts.push(`<circle cx="${sx(t.ratio).toFixed(1)}" cy="${(cy + jitter).toFixed(1)}" r="3.2" fill="${COLOR[impl]}" fill-opacity="0.55"><title>${impl} #${t.n}: ${fmtMs(t.gapMs)} ms, ratio ${fmtRatio(t.ratio)}</title></circle>`);
      }
      if (s.ratio) {
        const mx = sx(s.ratio.median).toFixed(1);
        parts.push(`<line x1="${mx}" y1="${cy - 9}" x2="${mx}" y2="${cy + 9}" stroke="#111" stroke-width="2"/>`);
        parts.push(`<text x="${x1 + 6}" y="${cy + 4}" fill="#333">${fmtRatio(s.ratio.median)}${s.failed ? ` <tspan fill="#b00">(${s.failed} failed)</tspan>` : ''}</text>`);
      } else if (s.failed) {
        parts.push(`<text x="${x1 + 6}" y="${cy + 4}" fill="#b00">all failed</text>`);
      }
    });
    parts.push(`<line x1="${x0}" y1="${axisY}" x2="${x1}" y2="${axisY}" stroke="#333"/>`);
    for (const tk of niceTicks(lo, hi)) {
      const tx = sx(tk).toFixed(1);
      parts.push(`<line x1="${tx}" y1="${axisY}" x2="${tx}" y2="${axisY + 4}" stroke="#333"/>`);
      parts.push(`<text x="${tx}" y="${axisY + 16}" text-anchor="middle" font-size="10">${Number(tk.toFixed(6))}</text>`);
    }
    parts.push('</g>');
  });
  parts.push('</svg>', '');
  return parts.join('\n');
}
