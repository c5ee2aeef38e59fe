// A fake kernel behind a GenlSocket: the generic netlink controller and the IPVS family, in
// memory, speaking bytes. It reads requests and writes replies with test/fixtures/genlBytes.ts
// (never the codec under test) and applies the kernel's rules from net/netfilter/ipvs/ip_vs_ctl.c:
// NEW/SET need full entries (service: SCHED_NAME, FLAGS, TIMEOUT, NETMASK; destination:
// FWD_METHOD, WEIGHT, U_THRESH, L_THRESH) or fail with EINVAL; NEW of an existing entry is EEXIST;
// SET/DEL of a missing service ESRCH, of a missing destination ENOENT. Dumps answer as
// ip_vs_genl_fill_service / _dest do (16-byte addresses, flags with a full mask, stats nested).
import type { GenlSocket } from '../../adapters/lb/ipvs.js';
import {
  genl,
  le16,
  le32,
  nla,
  nldone,
  nlerror,
  nlmsg,
  readAttrs,
  readMessages,
  u16le,
  u32le,
  ascii0,
} from '../fixtures/genlBytes.js';

export const FAKE_IPVS_FAMILY = 0x1f;
const EINVAL = 22, EEXIST = 17, ESRCH = 3, ENOENT = 2, EOPNOTSUPP = 95;
const NLM_F_DUMP = 0x300;
const NLM_F_MULTI = 2;

const CMD = { NEW_SERVICE: 1, SET_SERVICE: 2, DEL_SERVICE: 3, GET_SERVICE: 4, NEW_DEST: 5, SET_DEST: 6, DEL_DEST: 7, GET_DEST: 8, NEW_DAEMON: 9, DEL_DAEMON: 10, SET_CONFIG: 12, GET_CONFIG: 13, FLUSH: 17 } as const;
const CMD_NAMES = Object.fromEntries(Object.entries(CMD).map(([k, v]) => [v, k])) as Record<number, string>;
const SVC_ATTR = { AF: 1, PROTOCOL: 2, ADDR: 3, PORT: 4, FWMARK: 5, SCHED_NAME: 6, FLAGS: 7, TIMEOUT: 8, NETMASK: 9, STATS: 10 };
const DEST_ATTR = { ADDR: 1, PORT: 2, FWD_METHOD: 3, WEIGHT: 4, U_THRESH: 5, L_THRESH: 6, ACTIVE_CONNS: 7, INACT_CONNS: 8, PERSIST_CONNS: 9, STATS: 10, ADDR_FAMILY: 11 };

interface Service {
  key: string;
  af: number;
  fwmark: number;
  protocol: number;
  addr: number[];
  port: number[];
  sched: string;
  flags: number;
  timeout: number;
  netmask: number[];
  dests: Map<string, Dest>;
}
interface Dest {
  af?: number;
  addr: number[];
  port: number[];
  fwd: number;
  weight: number;
  uthresh: number;
  lthresh: number;
}

const bytes16 = (b: Uint8Array | undefined): number[] => {
  const out = new Array<number>(16).fill(0);
  b?.forEach((x, i) => i < 16 && (out[i] = x));
  return out;
};

export class FakeIpvsKernel implements GenlSocket {
  /** every IPVS request: command and whether it was a full entry */
  readonly log: { cmd: string; service: boolean; dest: boolean; full: boolean }[] = [];
  readonly services = new Map<string, Service>();
  /** ip_vs loaded */
  present = true;
  /** the connection-sync daemons running, by state */
  readonly daemons = new Map<'master' | 'backup', { ifname: string; syncId: number; maxlen?: number; port?: number; ttl?: number; group?: number[] }>();
  /** the connection timeouts, seconds (the kernel's defaults) */
  readonly timeouts = { tcp: 900, tcpFin: 120, udp: 300 };
  /** the next IPVS request of this command fails with this errno */
  failNext: { cmd: string; errno: number } | undefined;
  closed = false;

  async request(message: Uint8Array): Promise<Uint8Array[]> {
    if (this.closed) throw new Error('closed');
    const [m] = readMessages(message);
    if (!m) throw new Error('not a netlink message');
    const attrs = readAttrs(m.payload.subarray(4));
    const cmd = m.payload[0] as number;
    const ack = (errno: number) => [nlerror(m.seq, -errno, message)];
    if (m.type === 0x10) {
      // CTRL_CMD_GETFAMILY
      const name = new TextDecoder().decode(attrs.get(2)).replace(/\0.*$/, '');
      if (cmd !== 3 || name !== 'IPVS' || !this.present) return ack(ENOENT);
      return [nlmsg(0x10, 0, m.seq, genl(1, 2, nla(1, le16(FAKE_IPVS_FAMILY)), nla(2, ascii0('IPVS')))), ...ack(0)];
    }
    if (m.type !== FAKE_IPVS_FAMILY) return ack(ENOENT);
    const name = CMD_NAMES[cmd] ?? `cmd ${cmd}`;
    const svcAttrs = attrs.has(1) ? readAttrs(attrs.get(1) as Uint8Array) : undefined;
    const destAttrs = attrs.has(2) ? readAttrs(attrs.get(2) as Uint8Array) : undefined;
    const fullService = !!svcAttrs && [6, 7, 8, 9].every((a) => svcAttrs.has(a));
    const fullDest = !!destAttrs && [3, 4, 5, 6].every((a) => destAttrs.has(a));
    this.log.push({ cmd: name, service: !!svcAttrs, dest: !!destAttrs, full: name.endsWith('_DEST') ? fullDest : fullService });
    if (this.failNext?.cmd === name) {
      const { errno } = this.failNext;
      this.failNext = undefined;
      return ack(errno);
    }
    if (cmd === CMD.GET_SERVICE) {
      if ((m.flags & NLM_F_DUMP) !== NLM_F_DUMP) return ack(EOPNOTSUPP);
      return [...[...this.services.values()].map((s) => nlmsg(FAKE_IPVS_FAMILY, NLM_F_MULTI, m.seq, genl(CMD.NEW_SERVICE, 1, this.fillService(s)))), nldone(m.seq)];
    }
    if (cmd === CMD.NEW_DAEMON || cmd === CMD.DEL_DAEMON) {
      // ip_vs_genl_new_daemon / _del_daemon: STATE and SYNC_ID always, MCAST_IFN to start; one per state
      const d = attrs.has(3) ? readAttrs(attrs.get(3) as Uint8Array) : undefined;
      const state = u32le(d?.get(1));
      if (!d || state === undefined || !d.has(3) || (cmd === CMD.NEW_DAEMON && !d.has(2))) return ack(EINVAL);
      const role = state === 1 ? 'master' : state === 2 ? 'backup' : undefined;
      if (!role) return ack(EINVAL);
      if (cmd === CMD.DEL_DAEMON) {
        if (!this.daemons.has(role)) return ack(ESRCH);
        this.daemons.delete(role);
        return ack(0);
      }
      if (this.daemons.has(role)) return ack(EEXIST);
      const group = d.get(5) ?? d.get(6);
      this.daemons.set(role, {
        ifname: new TextDecoder().decode(d.get(2)).replace(/\0.*$/, ''),
        syncId: u32le(d.get(3)) as number,
        ...(d.has(4) ? { maxlen: u16le(d.get(4)) as number } : {}),
        ...(d.has(7) ? { port: u16le(d.get(7)) as number } : {}),
        ...(d.has(8) ? { ttl: (d.get(8) as Uint8Array)[0] as number } : {}),
        ...(group ? { group: [...group] } : {}),
      });
      return ack(0);
    }
    if (cmd === CMD.GET_CONFIG) {
      // ip_vs_genl_get_cmd: one IPVS_CMD_SET_CONFIG message with the three timeouts, then the ACK
      const t = this.timeouts;
      return [nlmsg(FAKE_IPVS_FAMILY, 0, m.seq, genl(CMD.SET_CONFIG, 1, [...nla(4, le32(t.tcp)), ...nla(5, le32(t.tcpFin)), ...nla(6, le32(t.udp))])), ...ack(0)];
    }
    if (cmd === CMD.SET_CONFIG) {
      // ip_vs_set_timeout: a zero (or absent) value leaves that timeout as it is
      const v = (a: number) => u32le(attrs.get(a)) ?? 0;
      if (v(4)) this.timeouts.tcp = v(4);
      if (v(5)) this.timeouts.tcpFin = v(5);
      if (v(6)) this.timeouts.udp = v(6);
      return ack(0);
    }
    if (cmd === CMD.FLUSH) {
      // ip_vs_genl_set_cmd: ip_vs_flush(), no attributes needed
      this.services.clear();
      return ack(0);
    }
    const key = svcAttrs && this.serviceKey(svcAttrs);
    if (!key) return ack(EINVAL);
    const svc = this.services.get(key);
    if (cmd === CMD.GET_DEST) {
      const dests = svc ? [...svc.dests.values()] : [];
      return [...dests.map((d) => nlmsg(FAKE_IPVS_FAMILY, NLM_F_MULTI, m.seq, genl(CMD.NEW_DEST, 1, this.fillDest(d)))), nldone(m.seq)];
    }
    if (cmd === CMD.NEW_SERVICE || cmd === CMD.SET_SERVICE) {
      if (!fullService || !svcAttrs) return ack(EINVAL);
      if (cmd === CMD.NEW_SERVICE && svc) return ack(EEXIST);
      if (cmd === CMD.SET_SERVICE && !svc) return ack(ESRCH);
      this.services.set(key, {
        key,
        af: u16le(svcAttrs.get(SVC_ATTR.AF)) as number,
        fwmark: u32le(svcAttrs.get(SVC_ATTR.FWMARK)) ?? 0,
        protocol: u16le(svcAttrs.get(SVC_ATTR.PROTOCOL)) ?? 6, // fwmark services are TCP to the kernel
        addr: bytes16(svcAttrs.get(SVC_ATTR.ADDR)),
        port: [...(svcAttrs.get(SVC_ATTR.PORT) ?? [0, 0])],
        sched: new TextDecoder().decode(svcAttrs.get(SVC_ATTR.SCHED_NAME)).replace(/\0.*$/, ''),
        flags: ((u32le(svcAttrs.get(SVC_ATTR.FLAGS)) as number) | 0x2) >>> 0, // HASHED, as the kernel sets it
        timeout: u32le(svcAttrs.get(SVC_ATTR.TIMEOUT)) as number,
        netmask: [...(svcAttrs.get(SVC_ATTR.NETMASK) as Uint8Array)],
        dests: svc?.dests ?? new Map(),
      });
      return ack(0);
    }
    if (cmd === CMD.DEL_SERVICE) {
      if (!svc) return ack(ESRCH);
      this.services.delete(key);
      return ack(0);
    }
    if (cmd === CMD.NEW_DEST || cmd === CMD.SET_DEST || cmd === CMD.DEL_DEST) {
      if (!svc) return ack(ESRCH);
      if (!destAttrs?.has(DEST_ATTR.ADDR) || !destAttrs.has(DEST_ATTR.PORT)) return ack(EINVAL);
      const dkey = `${bytes16(destAttrs.get(DEST_ATTR.ADDR)).join('.')}/${[...(destAttrs.get(DEST_ATTR.PORT) as Uint8Array)].join('.')}`;
      const dest = svc.dests.get(dkey);
      if (cmd === CMD.DEL_DEST) {
        if (!dest) return ack(ENOENT);
        svc.dests.delete(dkey);
        return ack(0);
      }
      if (!fullDest) return ack(EINVAL);
      if (cmd === CMD.NEW_DEST && dest) return ack(EEXIST);
      if (cmd === CMD.SET_DEST && !dest) return ack(ENOENT);
      const af = u16le(destAttrs.get(DEST_ATTR.ADDR_FAMILY));
      svc.dests.set(dkey, {
        ...(af === undefined ? {} : { af }),
        addr: bytes16(destAttrs.get(DEST_ATTR.ADDR)),
        port: [...(destAttrs.get(DEST_ATTR.PORT) as Uint8Array)],
        fwd: (u32le(destAttrs.get(DEST_ATTR.FWD_METHOD)) as number) & 7,
        weight: u32le(destAttrs.get(DEST_ATTR.WEIGHT)) as number,
        uthresh: u32le(destAttrs.get(DEST_ATTR.U_THRESH)) as number,
        lthresh: u32le(destAttrs.get(DEST_ATTR.L_THRESH)) as number,
      });
      return ack(0);
    }
    return ack(EOPNOTSUPP);
  }

  close(): void {
    this.closed = true;
  }

  /** `ipvsadm -C` */
  flush(): void {
    this.services.clear();
  }

  private serviceKey(a: Map<number, Uint8Array>): string | undefined {
    const af = u16le(a.get(SVC_ATTR.AF));
    if (af === undefined) return undefined;
    const fwmark = u32le(a.get(SVC_ATTR.FWMARK));
    if (fwmark) return `${af} fwmark ${fwmark}`;
    if (!a.has(SVC_ATTR.PROTOCOL) || !a.has(SVC_ATTR.ADDR) || !a.has(SVC_ATTR.PORT)) return undefined;
    const addr = bytes16(a.get(SVC_ATTR.ADDR)).slice(0, af === 2 ? 4 : 16);
    return `${af} ${u16le(a.get(SVC_ATTR.PROTOCOL))} ${addr.join('.')} ${[...(a.get(SVC_ATTR.PORT) as Uint8Array)].join('.')}`;
  }

  private fillService(s: Service): number[] {
    const stats = nla(SVC_ATTR.STATS, [...nla(1, le32(12)), ...nla(2, le32(340))]);
    const id = s.fwmark
      ? nla(SVC_ATTR.FWMARK, le32(s.fwmark))
      : [...nla(SVC_ATTR.PROTOCOL, le16(s.protocol)), ...nla(SVC_ATTR.ADDR, s.addr), ...nla(SVC_ATTR.PORT, s.port)];
    return nla(1, [
      ...nla(SVC_ATTR.AF, le16(s.af)),
      ...id,
      ...nla(SVC_ATTR.SCHED_NAME, ascii0(s.sched)),
      ...nla(SVC_ATTR.FLAGS, [...le32(s.flags), ...le32(0xffffffff)]),
      ...nla(SVC_ATTR.TIMEOUT, le32(s.timeout)),
      ...nla(SVC_ATTR.NETMASK, s.netmask),
      ...stats,
    ]);
  }

  private fillDest(d: Dest): number[] {
    return nla(2, [
      ...nla(DEST_ATTR.ADDR, d.addr),
      ...nla(DEST_ATTR.PORT, d.port),
      ...nla(DEST_ATTR.FWD_METHOD, le32(d.fwd)),
      ...nla(DEST_ATTR.WEIGHT, le32(d.weight)),
      ...nla(DEST_ATTR.U_THRESH, le32(d.uthresh)),
      ...nla(DEST_ATTR.L_THRESH, le32(d.lthresh)),
      ...nla(DEST_ATTR.ACTIVE_CONNS, le32(3)),
      ...nla(DEST_ATTR.INACT_CONNS, le32(1)),
      ...nla(DEST_ATTR.PERSIST_CONNS, le32(0)),
      ...nla(DEST_ATTR.STATS, nla(1, le32(7))),
      ...(d.af === undefined ? [] : nla(DEST_ATTR.ADDR_FAMILY, le16(d.af))),
    ]);
  }
}
