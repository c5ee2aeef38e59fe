// Pure helpers on LB tables, shared by the drivers, the fake and the actor: validation into a
// normal form (canonical addresses, sorted, defaults filled, an inactive sorry server dropped), the
// keys that name services and destinations, and the diff between two tables.
import { canonicalAddress, hostPort } from './addr.js';
import { LbError } from './errors.js';
import {
  LB_ALGOS,
  LB_FLAGS,
  type LbChange,
  type LbDestination,
  type LbFamily,
  type LbService,
  type LbTable,
} from './types.js';

/** "TCP 10.0.0.100:80", "UDP [fd00::100]:53", "FWM 5 IPv4": ipvsadm's way of naming a service. */
export function serviceKey(s: Pick<LbService, 'match' | 'family'>): string {
  return s.match.kind === 'fwmark'
    ? `FWM ${s.match.fwmark} IPv${s.family}`
    : `${s.match.protocol} ${hostPort(s.match.address, s.match.port)}`;
}

/** "10.0.0.1:80", "[fd00::1]:80" */
export function destinationKey(d: Pick<LbDestination, 'address' | 'port'>): string {
  return hostPort(d.address, d.port);
}

/** The family of an address by its text. */
export function familyOf(address: string): LbFamily {
  return address.includes(':') ? 6 : 4;
}

/** The sorry server while it is in use: no destination has a positive weight. */
export function activeSorry(s: LbService): LbService['sorry'] {
  return s.sorry && !s.destinations.some((d) => d.weight > 0) ? s.sorry : undefined;
}

const isInt = (v: unknown, lo: number, hi: number): v is number =>
  typeof v === 'number' && Number.isInteger(v) && v >= lo && v <= hi;

/**
 * Check a table and return it in normal form, so two tables meaning the same data plane are
 * deep-equal. Throws LbError INVALID_TABLE naming the service and field at fault. `memo`: the
 * normal form of services seen before, by the object given (which must not change once given): a
 * table that differs from the last in one service normalizes that one only.
 */
export function normalizeTable(table: LbTable, memo?: WeakMap<LbService, LbService>): LbTable {
  if (!table || !Array.isArray(table.services)) throw new LbError('INVALID_TABLE', 'table.services is not an array');
  const seen = new Set<string>();
  const services = table.services.map((s, i) => {
    let svc = memo?.get(s);
    if (!svc) {
      svc = normalizeService(s, `services[${i}]`);
      memo?.set(s, svc);
    }
    const key = serviceKey(svc);
    if (seen.has(key)) throw new LbError('INVALID_TABLE', `service ${key} is listed twice`, { service: key });
    seen.add(key);
    return svc;
  });
  return { services: services.sort((a, b) => compareKeys(serviceKey(a), serviceKey(b))) };
}

function normalizeService(s: LbService, where: string): LbService {
  const bad = (what: string, service?: string): never => {
    throw new LbError('INVALID_TABLE', `${service ?? where}: ${what}`, service ? { service } : {});
  };
  if (!s || typeof s !== 'object') return bad('not an object');
  if (s.family !== 4 && s.family !== 6) return bad(`family ${String(s.family)} is not 4 or 6`);
  const family = s.family;
  const m = s.match;
  let match: LbService['match'];
  if (m?.kind === 'fwmark') {
    if (!isInt(m.fwmark, 1, 0xffffffff)) return bad(`fwmark ${String(m.fwmark)} is not 1..4294967295`);
    match = { kind: 'fwmark', fwmark: m.fwmark };
  } else if (m?.kind === 'address') {
    const address = canonicalAddress(String(m.address), family);
    if (!address) return bad(`address ${JSON.stringify(m.address)} is not IPv${family}`);
    if (!isInt(m.port, 0, 65535)) return bad(`port ${String(m.port)} is not 0..65535`);
    if (m.protocol !== 'TCP' && m.protocol !== 'UDP' && m.protocol !== 'SCTP') return bad(`protocol ${String(m.protocol)} is not TCP, UDP or SCTP`);
    match = { kind: 'address', address, port: m.port, protocol: m.protocol };
  } else {
    return bad(`match kind ${JSON.stringify((m as { kind?: unknown } | undefined)?.kind)} is not address or fwmark`);
  }
  const key = serviceKey({ match, family });
  if (!(LB_ALGOS as readonly string[]).includes(s.algo)) bad(`lb_algo ${JSON.stringify(s.algo)} is not one of ${LB_ALGOS.join(' ')}`, key);
  const flags = [...new Set(s.flags ?? [])].sort();
  for (const f of flags) if (!(LB_FLAGS as readonly string[]).includes(f)) bad(`flag ${JSON.stringify(f)} is not one of ${LB_FLAGS.join(' ')}`, key);
  let persistence: LbService['persistence'];
  if (s.persistence) {
    const { timeoutS, prefix = family === 4 ? 32 : 128 } = s.persistence;
    if (!isInt(timeoutS, 1, 0xffffffff)) bad(`persistence timeout ${String(timeoutS)} is not a positive number of seconds`, key);
    if (!isInt(prefix, 1, family === 4 ? 32 : 128)) bad(`persistence granularity /${String(prefix)} is not 1..${family === 4 ? 32 : 128}`, key);
    persistence = { timeoutS, prefix };
  }
  const dests = new Set<string>();
  const destinations = (Array.isArray(s.destinations) ? s.destinations : bad('destinations is not an array', key)).map((d) => {
    const dest = normalizeDestination(d, family, key, true);
    const dk = destinationKey(dest);
    if (dests.has(dk)) bad(`destination ${dk} is listed twice`, key);
    dests.add(dk);
    return dest as LbDestination;
  });
  destinations.sort((a, b) => compareKeys(destinationKey(a), destinationKey(b)));
  const out: { -readonly [K in keyof LbService]: LbService[K] } = { match, family, algo: s.algo, flags, destinations };
  if (persistence) out.persistence = persistence;
  if (s.sorry) {
    const sorry = normalizeDestination(s.sorry, family, key, false);
    if (dests.has(destinationKey(sorry))) bad(`sorry server ${destinationKey(sorry)} is also a destination`, key);
    if (!destinations.some((d) => d.weight > 0)) out.sorry = sorry;
  }
  return out;
}

function normalizeDestination(
  d: Partial<LbDestination>,
  family: LbFamily,
  service: string,
  weighted: boolean,
): LbDestination | Omit<LbDestination, 'weight'> {
  const what = weighted ? 'destination' : 'sorry server';
  const bad = (why: string): never => {
    throw new LbError('INVALID_TABLE', `${service}: ${what} ${why}`, { service });
  };
  if (!d || typeof d !== 'object') return bad('is not an object');
  const kind = d.kind;
  if (kind !== 'NAT' && kind !== 'DR' && kind !== 'TUN') return bad(`kind ${String(kind)} is not NAT, DR or TUN`);
  // IPVS forwards to a destination of the other family only through a tunnel
  const own = canonicalAddress(String(d.address), family);
  const other = kind === 'TUN' ? canonicalAddress(String(d.address), family === 4 ? 6 : 4) : undefined;
  const address = own ?? other;
  if (!address) return bad(`address ${JSON.stringify(d.address)} is not IPv${family}`);
  if (!isInt(d.port, 0, 65535)) return bad(`${address} port ${String(d.port)} is not 0..65535`);
  const out: { -readonly [K in keyof LbDestination]?: LbDestination[K] } = { address, port: d.port, kind };
  if (weighted) {
    if (!isInt(d.weight, 0, 65535)) return bad(`${destinationKey({ address, port: d.port })} weight ${String(d.weight)} is not 0..65535`);
    out.weight = d.weight;
  }
  for (const t of ['upperThreshold', 'lowerThreshold'] as const) {
    const v = d[t];
    if (v === undefined || v === 0) continue;
    if (!isInt(v, 0, 0xffffffff)) return bad(`${destinationKey({ address, port: d.port })} ${t} ${String(v)} is not a connection count`);
    out[t] = v;
  }
  return out as LbDestination;
}

const isDigit = (c: number) => c >= 48 && c <= 57;

/**
 * Keys compare as text, except that runs of digits compare as numbers (port 80 < 443,
 * 10.0.0.9 < 10.0.0.10). Written out rather than `localeCompare(b, 'en', { numeric: true })`:
 * that builds a collator per call (7 % of a 1,000-destination reconcile) and loads ICU's data,
 * about 7 MB of the daemon's RSS (issue #8).
 */
export function compareKeys(a: string, b: string): number {
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const ca = a.charCodeAt(i);
    const cb = b.charCodeAt(j);
    if (isDigit(ca) && isDigit(cb)) {
      // the digit runs, leading zeros aside: the longer is the larger, else the first different digit decides
      while (a.charCodeAt(i) === 48 && isDigit(a.charCodeAt(i + 1))) i++;
      while (b.charCodeAt(j) === 48 && isDigit(b.charCodeAt(j + 1))) j++;
      let ea = i;
      let eb = j;
      while (isDigit(a.charCodeAt(ea))) ea++;
      while (isDigit(b.charCodeAt(eb))) eb++;
      if (ea - i !== eb - j) return ea - i < eb - j ? -1 : 1;
      for (; i < ea; i++, j++) if (a.charCodeAt(i) !== b.charCodeAt(j)) return a.charCodeAt(i) < b.charCodeAt(j) ? -1 : 1;
      continue;
    }
    if (ca !== cb) return ca < cb ? -1 : 1;
    i++;
    j++;
  }
  return a.length - i === b.length - j ? 0 : a.length - i < b.length - j ? -1 : 1;
}

/** Whether two tables (already normal) describe the same data plane. */
export function sameTable(a: LbTable, b: LbTable): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/**
 * What changes turn `current` into `desired` (both in normal form): per service in key order,
 * removals first, then additions and edits. A new service lists its destinations as added.
 */
export function diffTables(current: LbTable, desired: LbTable): LbChange[] {
  const changes: LbChange[] = [];
  const cur = new Map(current.services.map((s) => [serviceKey(s), s]));
  const want = new Map(desired.services.map((s) => [serviceKey(s), s]));
  for (const key of cur.keys()) if (!want.has(key)) changes.push({ kind: 'service.removed', service: key });
  for (const [key, s] of want) {
    const was = cur.get(key);
    if (was === s) continue; // the same normal-form object: nothing changed
    if (!was) {
      changes.push({ kind: 'service.added', service: key });
      for (const d of s.destinations) changes.push({ kind: 'destination.added', service: key, destination: destinationKey(d), weight: d.weight });
      continue;
    }
    const fields = (['algo', 'flags', 'persistence', 'sorry'] as const).filter(
      (f) => JSON.stringify(was[f] ?? null) !== JSON.stringify(s[f] ?? null),
    );
    if (fields.length) changes.push({ kind: 'service.changed', service: key, fields });
    const before = new Map(was.destinations.map((d) => [destinationKey(d), d]));
    const after = new Map(s.destinations.map((d) => [destinationKey(d), d]));
    for (const dk of before.keys()) if (!after.has(dk)) changes.push({ kind: 'destination.removed', service: key, destination: dk });
    for (const [dk, d] of after) {
      const old = before.get(dk);
      if (!old) {
        changes.push({ kind: 'destination.added', service: key, destination: dk, weight: d.weight });
        continue;
      }
      const df = (['weight', 'kind', 'upperThreshold', 'lowerThreshold'] as const).filter((f) => (old[f] ?? 0) !== (d[f] ?? 0));
      if (df.length) {
        changes.push({ kind: 'destination.changed', service: key, destination: dk, weight: d.weight, previousWeight: old.weight, fields: df });
      }
    }
  }
  return changes;
}
