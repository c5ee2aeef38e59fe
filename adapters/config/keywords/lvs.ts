// The load-balancer side: virtual_server_group, virtual_server, real_server and every checker
// (keepalived/check/check_parser.c, check_*.c).
import { isIP } from 'node:net';
import type { Loc } from '../diagnostics.js';
import type {
  Checker, CheckerCommon, CheckerType, DnsChecker, FileChecker, Family, HttpChecker, MiscChecker, RealServer,
  SmtpChecker, UdpChecker, UrlSpec, VirtualServer, VirtualServerGroup, VsgEntry,
} from '../model.js';
import { type Ctx, type Kw, type Table, runBlock, table } from '../schema.js';
import type { Stmt, Word } from '../tree.js';
import { canonical, keep } from './common.js';

export const LB_ALGOS = ['rr', 'wrr', 'lc', 'wlc', 'lblc', 'sh', 'mh', 'dh', 'fo', 'ovf', 'lblcr', 'sed', 'nq', 'twos'] as const;
const LB_FLAGS = ['flag-1', 'flag-2', 'flag-3', 'sh-port', 'sh-fallback', 'mh-port', 'mh-fallback', 'ops', 'hashed'];

/** `IP` or `IP PORT` as a virtual/real/sorry server address. */
export function addressPort(s: Stmt, c: Ctx, start = 1): { address: string; family: Family; port?: number; loc: Loc } | undefined {
  const a = c.ip(c.arg(s, start, 'an IP address'), s.keyword);
  if (!a) return undefined;
  const pw = s.words[start + 1];
  const port = pw ? c.port(pw, s.keyword) : undefined;
  return { address: canonical(a.address, a.family), family: a.family, loc: (s.words[start] as Word).loc, ...(port !== undefined ? { port } : {}) };
}

// ---------------------------------------------------------------- virtual_server_group

export function parseVsgEntries(s: Stmt, c: Ctx, g: VirtualServerGroup): void {
  for (const line of s.block ?? []) {
    const w0 = line.words[0] as Word;
    if (w0.text === 'fwmark') {
      const v = c.int(line, 1, 0xffffffff);
      const fam = line.words[2]?.text === 'inet6' ? 6 : 4;
      if (v !== undefined) g.entries.push({ loc: w0.loc, kind: 'fwmark', fwmark: v, family: fam });
      continue;
    }
    const e = parseRangeOrAddress(w0, c);
    if (!e) continue;
    const pw = line.words[1];
    const port = pw ? c.port(pw, 'virtual_server_group') : undefined;
    g.entries.push({ ...e, ...(port !== undefined ? { port } : {}) });
    if (line.words.length > 2) c.maxArgs(line, 1);
  }
}

/** `a.b.c.d`, `a.b.c.d-e`, `a.b.c.d-e.f.g.h`, `a.b.c.d/nn`, IPv6 alike (`ae00::2-9`). */
function parseRangeOrAddress(w: Word, c: Ctx): VsgEntry | undefined {
  const t = w.text;
  if (isIP(t)) return { loc: w.loc, kind: 'address', address: canonical(t, isIP(t)), family: isIP(t) as Family };
  const slash = /^(.+)\/(\d+)$/.exec(t);
  if (slash && isIP(slash[1] as string)) {
    const f = isIP(slash[1] as string) as Family;
    if (Number(slash[2]) > (f === 4 ? 32 : 128)) {
      c.diags.error('invalid-prefix', `prefix /${slash[2]} is too long`, w.loc);
      return undefined;
    }
    return { loc: w.loc, kind: 'range', address: slash[1] as string, last: t, family: f };
  }
  const dash = /^(.+)-([0-9a-fA-F.:]+)$/.exec(t);
  if (dash && isIP(dash[1] as string)) {
    const first = dash[1] as string;
    const f = isIP(first) as Family;
    const end = dash[2] as string;
    let last: string;
    if (isIP(end)) last = end;
    else if (f === 4 && /^\d+$/.test(end)) last = first.replace(/\d+$/, end);
    else if (f === 6 && /^[0-9a-fA-F]{1,4}$/.test(end)) last = first.replace(/[0-9a-fA-F]*$/, end);
    else {
      c.diags.error('invalid-range', `'${t}' is not a valid address range`, w.loc);
      return undefined;
    }
    if (f === 4 && Number(last.split('.').pop()) > 255) {
      c.diags.error('invalid-range', `'${t}': range end ${end} is above 255`, w.loc);
      return undefined;
    }
    return { loc: w.loc, kind: 'range', address: first, last, family: f };
  }
  c.diags.error('invalid-address', `'${t}' is not an address, a range (a.b.c.d-e) or a prefix`, w.loc);
  return undefined;
}

// ---------------------------------------------------------------- shared checker timing keywords

type Timing = {
  connectTimeoutMs?: number; retry?: number; delayBeforeRetryMs?: number; warmupMs?: number; delayLoopMs?: number;
};
function timing<T extends Timing>(): Record<string, Kw<T>> {
  const ms = (set: (t: T, v: number) => void, maxS = 86400): Kw<T> => ({
    h: (s, c, t) => { const v = c.timerMs(s, 0, maxS); if (v !== undefined) set(t, v); c.maxArgs(s, 1); },
  });
  return {
    connect_timeout: ms((t, v) => { t.connectTimeoutMs = v; }),
    delay_before_retry: ms((t, v) => { t.delayBeforeRetryMs = v; }),
    warmup: ms((t, v) => { t.warmupMs = v; }),
    delay_loop: ms((t, v) => { t.delayLoopMs = v; }),
    retry: { h: (s, c, t) => { const v = c.int(s, 0, 65535); if (v !== undefined) t.retry = v; c.maxArgs(s, 1); } },
  };
}

/** vigil extension `slow_start SECS` (real_server, virtual_server); 0 turns it off. */
function slowStart<T extends { slowStartMs?: number }>(): Kw<T> {
  return { h: (s, c, t) => { const v = c.timerMs(s, 0, 86400); if (v !== undefined) t.slowStartMs = v; c.maxArgs(s, 1); } };
}

// ---------------------------------------------------------------- checkers

const common = table<CheckerCommon>('checker', {
  connect_ip: { h: (s, c, t) => { const a = c.ip(c.arg(s), s.keyword); if (a) t.connectIp = a.address; } },
  connect_port: { h: (s, c, t) => { const v = c.port(c.arg(s, 1, 'a port'), s.keyword); if (v !== undefined) t.connectPort = v; } },
  bindto: { h: (s, c, t) => { const a = c.ip(c.arg(s), s.keyword); if (a) t.bindTo = a.address; } },
  bind_port: { h: (s, c, t) => { const v = c.port(c.arg(s, 1, 'a port'), s.keyword); if (v !== undefined) t.bindPort = v; } },
  bind_if: { h: (s, c, t) => { const v = c.str(s); if (v) t.bindIf = v; } },
  fwmark: { h: (s, c, t) => { const v = c.int(s, 0, 0xffffffff); if (v !== undefined) t.fwmark = v; } },
  ...timing<CheckerCommon>(),
  nb_get_retry: {
    deprecated: 'retry',
    h: (s, c, t) => { const v = c.int(s, 0, 65535); if (v !== undefined) t.retry = v; },
  },
  alpha: { h: (s, c, t) => { t.alpha = c.bool(s); } },
  log_all_failures: { h: (s, c, t) => { t.logAllFailures = c.bool(s); } },
  // vigil extensions (HAProxy's rise/fall): consecutive results needed to change state
  rise: { h: (s, c, t) => { const v = c.int(s, 1, 1000); if (v !== undefined) t.rise = v; } },
  fall: { h: (s, c, t) => { const v = c.int(s, 1, 1000); if (v !== undefined) t.fall = v; } },
});

const url = table<UrlSpec>('url', {
  path: { h: (s, c, u) => { const v = c.str(s, 1, 'a path'); if (v) u.path = v; } },
  digest: {
    h: (s, c, u) => {
      const w = c.arg(s, 1, 'an MD5 hex digest');
      if (!w) return;
      if (!/^[0-9a-fA-F]{32}$/.test(w.text)) c.diags.error('invalid-digest', `digest '${w.text}' is not 32 hex digits (an MD5 sum; 'vigil genhash' prints it)`, w.loc);
      else u.digest = w.text.toLowerCase();
    },
  },
  status_code: {
    h: (s, c, u) => {
      for (const w of s.words.slice(1)) {
        const m = /^(\d{3})(?:-(\d{3}))?$/.exec(w.text);
        const from = m ? Number(m[1]) : NaN;
        const to = m?.[2] ? Number(m[2]) : from;
        if (!m || from < 100 || to > 599 || from > to) {
          c.diags.error('invalid-status-code', `status_code '${w.text}' is not a code 100..599 or a range like 200-299`, w.loc);
          continue;
        }
        u.statusCodes.push({ from, to });
      }
      if (s.words.length < 2) c.diags.error('missing-value', "'status_code' needs codes", s.loc);
    },
  },
  virtualhost: { h: (s, c, u) => { const v = c.str(s); if (v) u.virtualhost = v; } },
  regex: { h: (s, c, u) => { const v = c.str(s, 1, 'a regular expression'); if (v) u.regex = v; } },
  regex_no_match: { h: (s, c, u) => { u.regexNoMatch = c.bool(s); } },
  regex_options: { h: (s, c, u) => { u.regexOptions = c.rest(s); } },
  regex_stack: { unsupported: 'regex tuning does not apply to JavaScript regular expressions', h: () => {} },
  regex_min_offset: { h: (s, c, u) => { const v = c.int(s, 0, 2 ** 31 - 1); if (v !== undefined) { u.regexMinOffset = v; u.regexOffsetLoc ??= s.loc; } c.maxArgs(s, 1); } },
  regex_max_offset: { h: (s, c, u) => { const v = c.int(s, 0, 2 ** 31 - 1); if (v !== undefined) { u.regexMaxOffset = v; u.regexOffsetLoc ??= s.loc; } c.maxArgs(s, 1); } },
  tls_compliant: { unsupported: 'set tls_compliant on the checker, not the url', h: () => {} },
});

const http = table<HttpChecker>('HTTP_GET', {
  ...(common as Table<HttpChecker>),
  url: {
    block: 'required', multi: true,
    h: (s, c, t) => {
      const u: UrlSpec = { loc: s.loc, statusCodes: [], regexNoMatch: false };
      runBlock(s.block ?? [], url, u, c, 'url');
      if (!u.path) c.diags.error('missing-path', "url block has no 'path'", s.loc);
      t.urls.push(u);
    },
  },
  http_protocol: {
    h: (s, c, t) => { const v = c.oneOf(s, ['1.0', '1.0C', '1.1'] as const, 1, true); if (v) t.httpProtocol = v; },
  },
  virtualhost: { h: (s, c, t) => { const v = c.str(s); if (v) t.virtualhost = v; } },
  fast_recovery: { h: (s, c, t) => { t.fastRecovery = c.bool(s); } },
  enable_sni: { h: (s, c, t) => { t.enableSni = c.bool(s); } },
  sni_name: { h: (s, c, t) => { const v = c.str(s); if (v) t.sniName = v; } },
  tls_compliant: { h: (s, c, t) => { t.tlsCompliant = c.bool(s); } },
});
table('SSL_GET', http);

const smtp = table<SmtpChecker>('SMTP_CHECK', {
  ...(common as Table<SmtpChecker>),
  helo_name: { h: (s, c, t) => { const v = c.str(s); if (v) t.heloName = v; } },
  host: {
    block: 'required', multi: true, deprecated: 'one SMTP_CHECK per host with connect_ip/connect_port',
    h: (s, c, t) => runBlock(s.block ?? [], common as Table<SmtpChecker>, t, c, 'host'),
  },
});

const DNS_TYPES = ['A', 'NS', 'CNAME', 'SOA', 'MX', 'TXT', 'AAAA'] as const;
const dns = table<DnsChecker>('DNS_CHECK', {
  ...(common as Table<DnsChecker>),
  type: { h: (s, c, t) => { const v = c.oneOf(s, DNS_TYPES, 1, true); if (v) t.queryType = v; } },
  name: { h: (s, c, t) => { const v = c.str(s, 1, 'a domain name'); if (v) t.name = v; } },
});

const misc = table<MiscChecker>('MISC_CHECK', {
  misc_path: { h: (s, c, t) => { const v = c.script(s); if (v) t.script = v; } },
  misc_timeout: { h: (s, c, t) => { const v = c.timerMs(s, 0, 86400); if (v !== undefined) t.miscTimeoutMs = v; } },
  misc_dynamic: { h: (s, c, t) => { t.dynamic = c.bool(s); } },
  user: {
    h: (s, c, t) => {
      const w = c.arg(s, 1, 'a user name');
      if (w && t.script) {
        const [user, group] = w.text.split(':');
        t.script = { ...t.script, user: user as string, ...(group ? { group } : {}) };
      }
    },
  },
  ...timing<MiscChecker>(),
  alpha: { h: (s, c, t) => { t.alpha = c.bool(s); } },
  log_all_failures: { h: (s, c, t) => { t.logAllFailures = c.bool(s); } },
  rise: common.rise as Kw<MiscChecker>,
  fall: common.fall as Kw<MiscChecker>,
});

const hex = (s: Stmt, c: Ctx, wild: boolean): string | undefined => {
  const w = c.arg(s, 1, 'hex bytes');
  if (!w) return undefined;
  const re = wild ? /^([0-9a-fA-FxX]{2})+$/ : /^([0-9a-fA-F]{2})+$/;
  if (!re.test(w.text)) {
    c.diags.error('invalid-hex', `'${s.keyword}': '${w.text}' is not hex bytes${wild ? ' (X for a wildcard nibble)' : ''}`, w.loc);
    return undefined;
  }
  return w.text;
};
const udp = table<UdpChecker>('UDP_CHECK', {
  ...(common as Table<UdpChecker>),
  payload: { h: (s, c, t) => { const v = hex(s, c, false); if (v) t.payload = v; } },
  require_reply: { h: (s, c, t) => { const v = s.words[1] ? hex(s, c, true) : ''; if (v !== undefined) t.requireReply = v; } },
  min_reply_length: { h: (s, c, t) => { const v = c.int(s, 0, 65535); if (v !== undefined) t.minReplyLength = v; } },
  max_reply_length: { h: (s, c, t) => { const v = c.int(s, 0, 65535); if (v !== undefined) t.maxReplyLength = v; } },
});

const file = table<FileChecker>('FILE_CHECK', {
  track_file: { h: (s, c, t) => { const v = c.str(s, 1, 'a track_file name'); if (v) t.trackFile = v; } },
  dynamic: { h: (s, c, t) => { t.dynamic = c.bool(s); } },
  weight: {
    h: (s, c, t) => {
      const v = c.int(s, -2147483647, 2147483647);
      if (v !== undefined) t.weight = v;
      if (s.words[2]?.text === 'reverse') t.reverse = true;
    },
  },
});

const ping = table<CheckerCommon>('PING_CHECK', common);
table('TCP_CHECK', common);
const bfd = table<CheckerCommon & { bfdName?: string }>('BFD_CHECK', {
  name: { h: (s, c, t) => { const v = c.str(s); if (v) t.bfdName = v; } },
  alpha: { h: (s, c, t) => { t.alpha = c.bool(s); } },
});

function newChecker(type: CheckerType, loc: Loc): Checker {
  switch (type) {
    case 'HTTP_GET': case 'SSL_GET': return { type, loc, urls: [] };
    case 'SMTP_CHECK': return { type, loc, heloName: 'smtpchecker.keepalived.org' };
    case 'DNS_CHECK': return { type, loc, queryType: 'SOA', name: '.' };
    case 'MISC_CHECK': return { type, loc, dynamic: false };
    case 'UDP_CHECK': return { type, loc, minReplyLength: 0, maxReplyLength: 255 };
    case 'FILE_CHECK': return { type, loc, dynamic: false, reverse: false };
    default: return { type, loc };
  }
}

const CHECKER_TABLES: Record<CheckerType, Table<never>> = {
  HTTP_GET: http as Table<never>, SSL_GET: http as Table<never>, TCP_CHECK: common as Table<never>,
  SMTP_CHECK: smtp as Table<never>, DNS_CHECK: dns as Table<never>, MISC_CHECK: misc as Table<never>,
  UDP_CHECK: udp as Table<never>, PING_CHECK: ping as Table<never>, FILE_CHECK: file as Table<never>,
  BFD_CHECK: bfd as Table<never>,
};

function checkerKw(type: CheckerType): Kw<RealServer> {
  return {
    block: 'optional', multi: true,
    ...(type === 'BFD_CHECK' ? { unsupported: 'BFD is not implemented' } : {}),
    h: (s, c, rs) => {
      const ck = newChecker(type, s.loc);
      runBlock(s.block ?? [], CHECKER_TABLES[type], ck as never, c, type);
      if (ck.type === 'HTTP_GET' || ck.type === 'SSL_GET') {
        if (!ck.urls.length) c.diags.error('missing-url', `${type} has no 'url { path ... }' block`, s.loc);
      }
      if (ck.type === 'MISC_CHECK' && !ck.script) c.diags.error('missing-misc-path', "MISC_CHECK has no 'misc_path'", s.loc);
      if (ck.type === 'FILE_CHECK' && !ck.trackFile) c.diags.error('missing-track-file', "FILE_CHECK has no 'track_file'", s.loc);
      rs.checkers.push(ck);
    },
  };
}

// ---------------------------------------------------------------- real_server

type RS = RealServer;
export const realServer = table<RS>('real_server', {
  weight: { h: (s, c, t) => { const v = c.int(s, 0, 65535); if (v !== undefined) t.weight = v; c.maxArgs(s, 1); } },
  lvs_method: { h: (s, c, t) => { const v = c.oneOf(s, ['NAT', 'DR', 'TUN'] as const, 1, true); if (v) t.lvsMethod = v; } },
  lb_kind: { deprecated: 'lvs_method', h: (s, c, t) => { const v = c.oneOf(s, ['NAT', 'DR', 'TUN'] as const, 1, true); if (v) t.lvsMethod = v; } },
  notify_up: { h: (s, c, t) => { const v = c.script(s); if (v) t.notifyUp = v; } },
  notify_down: { h: (s, c, t) => { const v = c.script(s); if (v) t.notifyDown = v; } },
  uthreshold: { h: (s, c, t) => { const v = c.int(s, 0, 2147483647); if (v !== undefined) t.uthreshold = v; } },
  lthreshold: { h: (s, c, t) => { const v = c.int(s, 0, 2147483647); if (v !== undefined) t.lthreshold = v; } },
  inhibit_on_failure: { h: (s, c, t) => { t.inhibitOnFailure = c.bool(s); } },
  smtp_alert: { h: (s, c, t) => { t.smtpAlert = c.bool(s); } },
  virtualhost: { h: (s, c, t) => { const v = c.str(s); if (v) t.virtualhost = v; } },
  snmp_name: keep('SNMP is not implemented'),
  alpha: { h: (s, c, t) => { t.alpha = c.bool(s); } },
  ...timing<RS>(),
  // vigil extension (HAProxy's slowstart): after coming back up, the weight ramps up over this time
  slow_start: slowStart<RS>(),
  ...Object.fromEntries((Object.keys(CHECKER_TABLES) as CheckerType[]).map((t) => [t, checkerKw(t)])),
});

// ---------------------------------------------------------------- virtual_server

type VS = VirtualServer;
const vsFlag = (set: (t: VS, v: boolean) => void): Kw<VS> => ({ h: (s, c, t) => set(t, c.bool(s)) });
const lbAlgo: Kw<VS> = {
  h: (s, c, t) => {
    const v = c.oneOf(s, LB_ALGOS, 1);
    if (v) t.lbAlgo = v;
    for (const w of s.words.slice(2)) {
      if (LB_FLAGS.includes(w.text)) t.lbFlags.push(w.text);
      else c.diags.error('invalid-value', `unknown scheduler flag '${w.text}' (one of ${LB_FLAGS.join(', ')})`, w.loc);
    }
  },
};
const lbKind: Kw<VS> = {
  h: (s, c, t) => {
    const v = c.oneOf(s, ['NAT', 'DR', 'TUN'] as const, 1, true);
    if (v) t.lbKind = v;
  },
};

export const virtualServer = table<VS>('virtual_server', {
  lvs_sched: lbAlgo,
  lb_algo: lbAlgo,
  lvs_method: lbKind,
  lb_kind: lbKind,
  persistence_timeout: {
    h: (s, c, t) => {
      if (!s.words[1]) { t.persistenceTimeoutS = 360; return; }
      const v = c.int(s, 1, 2678400);
      if (v !== undefined) t.persistenceTimeoutS = v;
    },
  },
  persistence_granularity: { h: (s, c, t) => { const v = c.str(s); if (v) t.persistenceGranularity = v; } },
  persistence_engine: keep('persistence engines (sip) are not implemented'),
  protocol: { h: (s, c, t) => { const v = c.oneOf(s, ['TCP', 'UDP', 'SCTP'] as const, 1, true); if (v) t.protocol = v; } },
  ip_family: { h: (s, c, t) => { const v = c.oneOf(s, ['inet', 'inet6'] as const); if (v) t.family = v === 'inet' ? 4 : 6; } },
  ha_suspend: vsFlag((t, v) => { t.haSuspend = v; }),
  virtualhost: { h: (s, c, t) => { const v = c.str(s); if (v) t.virtualhost = v; } },
  snmp_name: keep('SNMP is not implemented'),
  smtp_alert: vsFlag((t, v) => { t.smtpAlert = v; }),
  alpha: vsFlag((t, v) => { t.alpha = v; }),
  omega: vsFlag((t, v) => { t.omega = v; }),
  quorum: { h: (s, c, t) => { const v = c.int(s, 1, 2147483647); if (v !== undefined) t.quorum = v; } },
  hysteresis: { h: (s, c, t) => { const v = c.int(s, 0, 2147483647); if (v !== undefined) t.hysteresis = v; } },
  quorum_up: { h: (s, c, t) => { const v = c.script(s); if (v) t.quorumUp = v; } },
  quorum_down: { h: (s, c, t) => { const v = c.script(s); if (v) t.quorumDown = v; } },
  sorry_server: {
    h: (s, c, t) => {
      const a = addressPort(s, c);
      if (a) t.sorryServer = { address: a.address, loc: a.loc, ...(a.port !== undefined ? { port: a.port } : {}) };
    },
  },
  sorry_server_inhibit: vsFlag((t, v) => { t.sorryServerInhibit = v; }),
  sorry_server_lvs_method: { h: (s, c, t) => { const v = c.oneOf(s, ['NAT', 'DR', 'TUN'] as const, 1, true); if (v) t.sorryServerLvsMethod = v; c.maxArgs(s, 1); } },
  inhibit_on_failure: vsFlag((t, v) => { t.inhibitOnFailure = v; }),
  weight: { h: (s, c, t) => { const v = c.int(s, 0, 65535); if (v !== undefined) t.weight = v; } },
  ...timing<VS>(),
  // vigil extension: the default slow_start of its real servers
  slow_start: slowStart<VS>(),
  real_server: {
    block: 'required', multi: true,
    h: (s, c, vs) => {
      const a = addressPort(s, c);
      if (!a) return;
      const rs: RS = { loc: s.loc, address: a.address, family: a.family, weight: vs.weight ?? 1, checkers: [], other: {}, ...(a.port !== undefined ? { port: a.port } : {}) };
      runBlock(s.block ?? [], realServer, rs, c, 'real_server');
      vs.realServers.push(rs);
      c.maxArgs(s, 2);
    },
  },
});

export function newVirtualServer(s: Stmt, c: Ctx): VS | undefined {
  const base = {
    loc: s.loc, lbAlgo: 'wlc', lbFlags: [] as string[], lbKind: 'NAT' as const, protocol: 'TCP' as const, haSuspend: false,
    alpha: false, omega: false, quorum: 1, hysteresis: 0, sorryServerInhibit: false, delayLoopMs: 60_000,
    inhibitOnFailure: false, realServers: [] as RS[], other: {},
  };
  const w1 = c.arg(s, 1, 'an address and port, fwmark N or group NAME');
  if (!w1) return undefined;
  if (w1.text === 'fwmark') {
    const v = c.int(s, 1, 0xffffffff, 2);
    if (v === undefined) return undefined;
    const fam = s.words[3]?.text === 'inet6' ? 6 : s.words[3]?.text === 'inet' ? 4 : undefined;
    return { ...base, kind: 'fwmark', fwmark: v, ...(fam ? { family: fam } : {}) };
  }
  if (w1.text === 'group') {
    const g = c.str(s, 2, 'a virtual_server_group name');
    if (!g) return undefined;
    return { ...base, kind: 'group', group: g };
  }
  const a = addressPort(s, c);
  if (!a) return undefined;
  c.maxArgs(s, 2);
  return { ...base, kind: 'address', address: a.address, family: a.family, ...(a.port !== undefined ? { port: a.port } : {}) };
}
