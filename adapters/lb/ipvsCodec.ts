// The IPVS generic netlink family, pure (include/uapi/linux/ip_vs.h; the kernel side is
// net/netfilter/ipvs/ip_vs_ctl.c, the user side keepalived's keepalived/check/libipvs.c).
//
// A service is named by AF + PROTOCOL + ADDR + PORT, or AF + FWMARK; a destination by ADDR + PORT
// inside its service. NEW and SET are "full entries": the kernel refuses a service without all of
// SCHED_NAME, FLAGS, TIMEOUT and NETMASK, and a destination without all of FWD_METHOD, WEIGHT,
// U_THRESH and L_THRESH (ip_vs_genl_parse_service / _dest, -EINVAL). So every update, even of one
// weight, carries the whole field set; `encodeService(s, true)` and `encodeDest(d, true)` always
// write it. Ports are in network byte order, IPv4 netmasks are network-order bytes, an IPv6
// "netmask" is a prefix length; addresses go as 16 bytes (union nf_inet_addr), as keepalived does.
import { addressBytes, formatAddress, maskPrefix, prefixMask } from './addr.js';
import {
  attr,
  be16,
  decodeGenl,
  encodeRequest,
  hostU32s,
  fail,
  nested,
  NLM_F_ACK,
  NLM_F_DUMP,
  NLM_F_REQUEST,
  parseAttrs,
  readBe16,
  readStr,
  readU16,
  readU32,
  str,
  u16,
  u32,
  type Decoded,
  type NlMessage,
} from './genl.js';
import { familyOf } from './table.js';
import type { LbAlgo, LbDestination, LbFamily, LbFlag, LbKind, LbProtocol, LbService, LbSyncDaemon } from './types.js';
import { LB_ALGOS } from './types.js';

export const IPVS_GENL_NAME = 'IPVS';
export const IPVS_GENL_VERSION = 1;

export const IPVS_CMD = {
  NEW_SERVICE: 1,
  SET_SERVICE: 2,
  DEL_SERVICE: 3,
  GET_SERVICE: 4,
  NEW_DEST: 5,
  SET_DEST: 6,
  DEL_DEST: 7,
  GET_DEST: 8,
  /** start the connection-sync daemon, as master (sends) or backup (receives) */
  NEW_DAEMON: 9,
  /** stop it */
  DEL_DAEMON: 10,
  /** the connection timeouts (`ipvsadm --set`); 0 leaves one as it is */
  SET_CONFIG: 12,
  /** the connection timeouts now; answered with one SET_CONFIG message */
  GET_CONFIG: 13,
  /** every service and destination, whoever made them (`ipvsadm -C`) */
  FLUSH: 17,
} as const;
export type IpvsCmd = keyof typeof IPVS_CMD;

const CMD_ATTR_SERVICE = 1;
const CMD_ATTR_DEST = 2;
const CMD_ATTR_DAEMON = 3;
const DAEMON_ATTR = { STATE: 1, MCAST_IFN: 2, SYNC_ID: 3, SYNC_MAXLEN: 4, MCAST_GROUP: 5, MCAST_GROUP6: 6, MCAST_PORT: 7, MCAST_TTL: 8 } as const;
/** IP_VS_STATE_MASTER / _BACKUP */
const DAEMON_STATE = { master: 1, backup: 2 } as const;

/**
 * The connection-sync daemon (keepalived's lvs_sync_daemon; `ipvsadm --start-daemon`). Only
 * `role` and `syncId` name it to DEL_DAEMON; NEW_DAEMON carries the rest (absent: the kernel's
 * defaults: maxlen from the MTU, port 8848, ttl 1, group 224.0.0.81).
 */
export interface IpvsSyncDaemon extends LbSyncDaemon {
  readonly role: 'master' | 'backup';
}

/** The daemon attribute: state and sync id, plus for NEW the interface and the options set. */
export function encodeDaemon(d: IpvsSyncDaemon, start: boolean): Uint8Array {
  const parts = [u32(DAEMON_ATTR.STATE, DAEMON_STATE[d.role])];
  if (start) parts.push(str(DAEMON_ATTR.MCAST_IFN, d.ifname));
  parts.push(u32(DAEMON_ATTR.SYNC_ID, d.syncId));
  if (start) {
    if (d.maxlen) parts.push(u16(DAEMON_ATTR.SYNC_MAXLEN, d.maxlen));
    if (d.port) parts.push(u16(DAEMON_ATTR.MCAST_PORT, d.port));
    if (d.ttl) parts.push(attr(DAEMON_ATTR.MCAST_TTL, Uint8Array.of(d.ttl)));
    if (d.group) {
      const v6 = d.group.includes(':');
      const bytes = addressBytes(d.group, v6 ? 6 : 4);
      if (!bytes) throw new RangeError(`${d.group} is not an address`);
      // IPv4: the in_addr's bytes as they are (nla_put_in_addr, network order); IPv6: in6_addr
      parts.push(attr(v6 ? DAEMON_ATTR.MCAST_GROUP6 : DAEMON_ATTR.MCAST_GROUP, bytes));
    }
  }
  return nested(CMD_ATTR_DAEMON, ...parts);
}

/** top-level u32 seconds of SET_CONFIG / GET_CONFIG (IPVS_CMD_ATTR_TIMEOUT_*) */
const CMD_ATTR_TIMEOUT = { tcp: 4, tcpFin: 5, udp: 6 } as const;

/** IPVS connection timeouts in seconds (keepalived's lvs_timeouts tcp / tcpfin / udp) */
export interface IpvsTimeouts {
  readonly tcp: number;
  readonly tcpFin: number;
  readonly udp: number;
}

const SVC_ATTR = { AF: 1, PROTOCOL: 2, ADDR: 3, PORT: 4, FWMARK: 5, SCHED_NAME: 6, FLAGS: 7, TIMEOUT: 8, NETMASK: 9 } as const;
const DEST_ATTR = { ADDR: 1, PORT: 2, FWD_METHOD: 3, WEIGHT: 4, U_THRESH: 5, L_THRESH: 6, ADDR_FAMILY: 11 } as const;

const AF_INET = 2;
const AF_INET6 = 10;
const AF: Record<LbFamily, number> = { 4: AF_INET, 6: AF_INET6 };
const PROTO: Record<LbProtocol, number> = { TCP: 6, UDP: 17, SCTP: 132 };
/** IP_VS_CONN_F_MASQ / _TUNNEL / _DROUTE */
const FWD: Record<LbKind, number> = { NAT: 0, TUN: 2, DR: 3 };
const FWD_MASK = 0x7;

/** IP_VS_SVC_F_*: PERSISTENT and HASHED are the kernel's own; the rest are the scheduler flags */
const SVC_F_PERSISTENT = 0x1;
const FLAG_BITS: Record<LbFlag, number> = { ops: 0x4, 'flag-1': 0x8, 'flag-2': 0x10, 'flag-3': 0x20 };

/** A service as IPVS holds it (no sorry server: to the kernel that is one more destination). */
export type IpvsService = Omit<LbService, 'sorry' | 'destinations'>;

// ---------------------------------------------------------------------------------------------
// Encoding

function addr16(address: string, family: LbFamily): Uint8Array {
  const b = addressBytes(address, family);
  if (!b) throw new RangeError(`${address} is not an IPv${family} address`);
  const out = new Uint8Array(16);
  out.set(b);
  return out;
}

/** The service attribute: its key, plus the full field set for NEW/SET. */
export function encodeService(s: IpvsService, full: boolean): Uint8Array {
  const parts = [u16(SVC_ATTR.AF, AF[s.family])];
  if (s.match.kind === 'fwmark') {
    parts.push(u32(SVC_ATTR.FWMARK, s.match.fwmark));
  } else {
    parts.push(
      u16(SVC_ATTR.PROTOCOL, PROTO[s.match.protocol]),
      attr(SVC_ATTR.ADDR, addr16(s.match.address, s.family)),
      be16(SVC_ATTR.PORT, s.match.port),
    );
  }
  if (full) {
    let flags = 0;
    for (const f of s.flags ?? []) flags |= FLAG_BITS[f];
    if (s.persistence) flags |= SVC_F_PERSISTENT;
    const prefix = s.persistence?.prefix ?? (s.family === 4 ? 32 : 128);
    parts.push(
      str(SVC_ATTR.SCHED_NAME, s.algo),
      // struct ip_vs_flags { flags, mask }: the whole mask, so the kernel takes our flags as they are
      attr(SVC_ATTR.FLAGS, hostU32s(flags, 0xffffffff)),
      u32(SVC_ATTR.TIMEOUT, s.persistence?.timeoutS ?? 0),
      s.family === 4 ? attr(SVC_ATTR.NETMASK, prefixMask(prefix, 4)) : u32(SVC_ATTR.NETMASK, prefix),
    );
  }
  return nested(CMD_ATTR_SERVICE, ...parts);
}

/** The destination attribute: its key, plus the full field set for NEW/SET. */
export function encodeDest(d: LbDestination, serviceFamily: LbFamily, full: boolean): Uint8Array {
  const family = familyOf(d.address);
  const parts = [
    // only a tunnel reaches the other family; older kernels do not know ADDR_FAMILY, so it is sent only then
    ...(family !== serviceFamily ? [u16(DEST_ATTR.ADDR_FAMILY, AF[family])] : []),
    attr(DEST_ATTR.ADDR, addr16(d.address, family)),
    be16(DEST_ATTR.PORT, d.port),
  ];
  if (full) {
    parts.push(
      u32(DEST_ATTR.FWD_METHOD, FWD[d.kind]),
      u32(DEST_ATTR.WEIGHT, d.weight),
      u32(DEST_ATTR.U_THRESH, d.upperThreshold ?? 0),
      u32(DEST_ATTR.L_THRESH, d.lowerThreshold ?? 0),
    );
  }
  return nested(CMD_ATTR_DEST, ...parts);
}

export interface IpvsRequest {
  readonly cmd: IpvsCmd;
  readonly service?: IpvsService;
  readonly dest?: LbDestination;
  /** SET_CONFIG: a 0 leaves that timeout as it is */
  readonly timeouts?: IpvsTimeouts;
  /** NEW_DAEMON / DEL_DAEMON */
  readonly daemon?: IpvsSyncDaemon;
}

/**
 * One IPVS request. NEW/SET carry full entries; DEL and GET_DEST carry keys; GET_SERVICE and
 * GET_DEST are dumps, everything else asks for an ACK.
 */
export function encodeIpvsRequest(family: number, seq: number, r: IpvsRequest): Uint8Array {
  const dump = r.cmd === 'GET_SERVICE' || r.cmd === 'GET_DEST';
  const full = r.cmd === 'NEW_SERVICE' || r.cmd === 'SET_SERVICE' || r.cmd === 'NEW_DEST' || r.cmd === 'SET_DEST';
  const serviceFull = r.cmd === 'NEW_SERVICE' || r.cmd === 'SET_SERVICE';
  const attrs: Uint8Array[] = [];
  if (r.service) attrs.push(encodeService(r.service, serviceFull));
  if (r.dest && r.service) attrs.push(encodeDest(r.dest, r.service.family, full));
  if ((r.cmd === 'NEW_DAEMON' || r.cmd === 'DEL_DAEMON') && r.daemon) attrs.push(encodeDaemon(r.daemon, r.cmd === 'NEW_DAEMON'));
  if (r.cmd === 'SET_CONFIG' && r.timeouts) {
    for (const k of ['tcp', 'tcpFin', 'udp'] as const) attrs.push(u32(CMD_ATTR_TIMEOUT[k], r.timeouts[k]));
  }
  return encodeRequest({
    family,
    cmd: IPVS_CMD[r.cmd],
    version: IPVS_GENL_VERSION,
    flags: NLM_F_REQUEST | (dump ? NLM_F_DUMP : NLM_F_ACK),
    seq,
    attrs,
  });
}

// ---------------------------------------------------------------------------------------------
// Decoding (dump replies: one NEW_SERVICE or NEW_DEST message per entry)

const familyOfAf = (af: number | undefined): LbFamily | undefined => (af === AF_INET ? 4 : af === AF_INET6 ? 6 : undefined);

function addressOf(b: Uint8Array | undefined, family: LbFamily): string | undefined {
  const n = family === 4 ? 4 : 16;
  return b && b.length >= n ? formatAddress(b.subarray(0, n)) : undefined;
}

/** A service of a GET_SERVICE dump. Fails on services vigil cannot describe (unknown scheduler...). */
export function decodeService(m: NlMessage): Decoded<IpvsService> {
  const g = decodeGenl(m);
  if (!g.ok) return g;
  const a = parseAttrs(g.value.attrs.get(CMD_ATTR_SERVICE) ?? new Uint8Array());
  if (!a || !g.value.attrs.has(CMD_ATTR_SERVICE)) return fail('MISSING_ATTRIBUTE', 'IPVS_CMD_ATTR_SERVICE missing or malformed');
  const family = familyOfAf(readU16(a.get(SVC_ATTR.AF)));
  if (!family) return fail('BAD_VALUE', `service address family ${readU16(a.get(SVC_ATTR.AF))}`);
  let match: LbService['match'];
  const fwmark = readU32(a.get(SVC_ATTR.FWMARK));
  if (fwmark) {
    match = { kind: 'fwmark', fwmark };
  } else {
    const proto = readU16(a.get(SVC_ATTR.PROTOCOL));
    const protocol = (Object.keys(PROTO) as LbProtocol[]).find((p) => PROTO[p] === proto);
    const address = addressOf(a.get(SVC_ATTR.ADDR), family);
    const port = readBe16(a.get(SVC_ATTR.PORT));
    if (!protocol) return fail('BAD_VALUE', `service protocol ${proto}`);
    if (!address || port === undefined) return fail('MISSING_ATTRIBUTE', 'service address or port missing');
    match = { kind: 'address', address, port, protocol };
  }
  const sched = readStr(a.get(SVC_ATTR.SCHED_NAME));
  if (!sched || !(LB_ALGOS as readonly string[]).includes(sched)) return fail('BAD_VALUE', `scheduler ${JSON.stringify(sched)}`);
  const flagsAttr = a.get(SVC_ATTR.FLAGS);
  const flagBits = readU32(flagsAttr);
  const timeoutS = readU32(a.get(SVC_ATTR.TIMEOUT));
  const netmask = a.get(SVC_ATTR.NETMASK);
  if (flagBits === undefined || timeoutS === undefined || !netmask || netmask.length < 4) return fail('MISSING_ATTRIBUTE', 'service flags, timeout or netmask missing');
  const flags = (Object.keys(FLAG_BITS) as LbFlag[]).filter((f) => flagBits & FLAG_BITS[f]).sort();
  const service: { -readonly [K in keyof IpvsService]: IpvsService[K] } = { match, family, algo: sched as LbAlgo, flags };
  if (flagBits & SVC_F_PERSISTENT) {
    const prefix = family === 4 ? maskPrefix(netmask.subarray(0, 4)) : readU32(netmask);
    if (prefix === undefined) return fail('BAD_VALUE', 'persistence netmask is not contiguous');
    service.persistence = { timeoutS, prefix };
  }
  return { ok: true, value: service };
}

/** A destination of a GET_DEST dump of a service of `serviceFamily`. */
export function decodeDest(m: NlMessage, serviceFamily: LbFamily): Decoded<LbDestination> {
  const g = decodeGenl(m);
  if (!g.ok) return g;
  const a = parseAttrs(g.value.attrs.get(CMD_ATTR_DEST) ?? new Uint8Array());
  if (!a || !g.value.attrs.has(CMD_ATTR_DEST)) return fail('MISSING_ATTRIBUTE', 'IPVS_CMD_ATTR_DEST missing or malformed');
  const af = readU16(a.get(DEST_ATTR.ADDR_FAMILY));
  const family = af === undefined ? serviceFamily : familyOfAf(af);
  if (!family) return fail('BAD_VALUE', `destination address family ${af}`);
  const address = addressOf(a.get(DEST_ATTR.ADDR), family);
  const port = readBe16(a.get(DEST_ATTR.PORT));
  const fwd = readU32(a.get(DEST_ATTR.FWD_METHOD));
  const weight = readU32(a.get(DEST_ATTR.WEIGHT));
  const upper = readU32(a.get(DEST_ATTR.U_THRESH));
  const lower = readU32(a.get(DEST_ATTR.L_THRESH));
  if (!address || port === undefined || fwd === undefined || weight === undefined) return fail('MISSING_ATTRIBUTE', 'destination address, port, method or weight missing');
  const kind = (Object.keys(FWD) as LbKind[]).find((k) => FWD[k] === (fwd & FWD_MASK));
  if (!kind) return fail('BAD_VALUE', `forwarding method ${fwd & FWD_MASK}`);
  return {
    ok: true,
    value: { address, port, weight, kind, ...(upper ? { upperThreshold: upper } : {}), ...(lower ? { lowerThreshold: lower } : {}) },
  };
}

/** The GET_CONFIG answer: the kernel's timeouts now. */
export function decodeTimeouts(m: NlMessage): Decoded<IpvsTimeouts> {
  const g = decodeGenl(m);
  if (!g.ok) return g;
  const [tcp, tcpFin, udp] = (['tcp', 'tcpFin', 'udp'] as const).map((k) => readU32(g.value.attrs.get(CMD_ATTR_TIMEOUT[k])));
  if (tcp === undefined || tcpFin === undefined || udp === undefined) return fail('MISSING_ATTRIBUTE', 'IPVS timeouts missing');
  return { ok: true, value: { tcp, tcpFin, udp } };
}
