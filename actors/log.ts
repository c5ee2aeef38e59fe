// The one root logger (pino). Lines are JSON with keepalived's wording in `msg`, e.g.
// {"instance":"VI_1","msg":"(VI_1) Entering MASTER STATE"}. Synchronous destination so the last
// lines before an exit (SIGTERM, a refused config) are never lost.
//
// Formats: `json` (default when stdout is not a terminal), `pretty` (default on a terminal: one
// readable line per record), `syslog` (RFC 3164 datagrams to /dev/log with keepalived's ident,
// through the native addon; stdout when that is not possible). Levels per module:
// `-l info,lb=debug,vrrp=warn`: a record's module is its `actor` binding (lb, control, http, nats,
// systemd …), `vrrp` for an instance's records, `daemon` for the rest. Pretty, syslog and
// per-module levels parse each line back (a few µs a line); plain JSON is written as pino makes it.
import { writeSync } from 'node:fs';
import { pino, type Logger, type LevelWithSilent } from 'pino';

export type { Logger };

export type LogFormat = 'json' | 'pretty' | 'syslog';

const LEVELS: Record<string, number> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60, silent: Infinity };

export interface LevelSpec {
  readonly base: LevelWithSilent;
  readonly modules: ReadonlyMap<string, LevelWithSilent>;
}

/** `info` or `info,lb=debug,vrrp=warn`; a string naming the problem when malformed */
export function parseLevels(spec: string): LevelSpec | string {
  let base: LevelWithSilent = 'info';
  const modules = new Map<string, LevelWithSilent>();
  for (const part of spec.split(',').map((p) => p.trim()).filter(Boolean)) {
    const [a, b] = part.includes('=') ? part.split('=', 2) : [undefined, part];
    if (!b || !(b in LEVELS)) return `unknown log level '${b ?? part}' (${Object.keys(LEVELS).join(', ')})`;
    if (a === undefined) base = b as LevelWithSilent;
    else if (!/^[a-z][a-z0-9-]*$/.test(a)) return `bad module name '${a}' in '${part}'`;
    else modules.set(a, b as LevelWithSilent);
  }
  return { base, modules };
}

interface Record_ {
  level?: string;
  time?: string;
  msg?: string;
  actor?: string;
  instance?: string;
  [k: string]: unknown;
}

const moduleOf = (r: Record_) => (typeof r.actor === 'string' ? r.actor : r.instance !== undefined ? 'vrrp' : 'daemon');

/** `23:14:30.123 INFO  (VI_1) Entering MASTER STATE  from=BACKUP to=MASTER` */
export function prettyLine(r: Record_, color: boolean): string {
  const lvl = (r.level ?? 'info').toUpperCase().padEnd(5);
  const paint = (code: string, s: string) => (color ? `\x1b[${code}m${s}\x1b[0m` : s);
  const lc = { ERROR: '31', FATAL: '31', WARN: '33', DEBUG: '2', TRACE: '2' }[lvl.trim()] ?? '32';
  const skip = new Set(['level', 'time', 'msg', 'pid', 'name', 'hostname']);
  const extra = Object.entries(r)
    .filter(([k, v]) => !skip.has(k) && v !== undefined && !(k === 'instance' && typeof r.msg === 'string' && r.msg.includes(`(${String(v)})`)))
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' ');
  const time = typeof r.time === 'string' ? r.time.slice(11, 23) : '';
  return `${paint('2', time)} ${paint(lc, lvl)} ${r.msg ?? ''}${extra ? '  ' + paint('2', extra) : ''}\n`;
}

const SYSLOG_SEVERITY: Record<string, number> = { fatal: 2, error: 3, warn: 4, info: 6, debug: 7, trace: 7 };

// not toLocaleString: that loads ICU's data, about 7 MB of RSS (issue #8)
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** RFC 3164 as glibc's syslog(3) writes it to /dev/log: `<PRI>Mmm dd hh:mm:ss ident[pid]: msg` (facility daemon) */
export function syslogLine(r: Record_, ident: string, pid: number, now = new Date()): string {
  const pri = 3 * 8 + (SYSLOG_SEVERITY[r.level ?? 'info'] ?? 6);
  const mon = MONTHS[now.getUTCMonth()];
  const stamp = `${mon} ${String(now.getUTCDate()).padStart(2, ' ')} ${now.toISOString().slice(11, 19)}`;
  return `<${pri}>${stamp} ${ident}[${pid}]: ${r.msg ?? ''}`;
}

export interface LoggerOptions {
  level?: LevelWithSilent | LevelSpec;
  name?: string;
  fd?: number;
  /** default: pretty on a terminal, json otherwise */
  format?: LogFormat;
  /** syslog: send one datagram to /dev/log (actors/cli/run.ts gives the native addon's); false or absent: the line goes to `fd` */
  syslogSend?: (line: string) => boolean;
}

export function createLogger(opts: LoggerOptions = {}): Logger {
  const fd = opts.fd ?? 1;
  const spec: LevelSpec = typeof opts.level === 'object' ? opts.level : { base: opts.level ?? 'info', modules: new Map() };
  const format = opts.format ?? (fd === 1 && process.stdout.isTTY ? 'pretty' : 'json');
  // the root lets through the most verbose level asked for anywhere; the destination filters per module
  const min = Math.min(LEVELS[spec.base]!, ...[...spec.modules.values()].map((l) => LEVELS[l]!));
  const rootLevel = (Object.keys(LEVELS).find((k) => LEVELS[k] === min) ?? 'info') as LevelWithSilent;
  const options = {
    name: opts.name ?? 'vigil',
    level: rootLevel,
    base: { pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label: string) => ({ level: label }) },
  };
  if (format === 'json' && !spec.modules.size) return pino(options, pino.destination({ fd, sync: true }));
  const syslog = format === 'syslog' ? opts.syslogSend : undefined;
  const color = format === 'pretty' && fd === 1 && process.stdout.isTTY === true;
  const write = (line: string) => {
    let r: Record_;
    try {
      r = JSON.parse(line) as Record_;
    } catch {
      writeSync(fd, line);
      return;
    }
    const wanted = spec.modules.get(moduleOf(r)) ?? spec.base;
    if ((LEVELS[r.level ?? 'info'] ?? 30) < LEVELS[wanted]!) return;
    if (format === 'pretty') writeSync(fd, prettyLine(r, color));
    else if (syslog && syslog(syslogLine(r, opts.name ?? 'vigil', process.pid))) return;
    else writeSync(fd, line);
  };
  return pino(options, { write });
}

/** A logger that drops everything (tests, library use). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
