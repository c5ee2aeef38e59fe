// IpNet over rtnetlink (npm `netlink` 0.3.0): addresses and links by netlink requests on one socket
// (a VIP add is one request, well under 1 ms; a batch is pipelined, WINDOW at a time), link and
// address events from a long-lived `ip monitor` child (monitor.ts says why not a netlink multicast
// socket), routes through `ip -batch` (routes.ts), gratuitous ARP and unsolicited NA as whole frames
// through AF_PACKET (packet.ts; NA falls back to a raw ICMPv6 socket, ndisc.ts, when the addon is
// not built). Everything acts in the network namespace of this process.
import { createRtNetlink, FlagsNew, type rt, type RtNetlinkSocket } from 'netlink';
import type { Logger } from 'pino';
import { formatIP, formatMac, parseIP, parseMac } from './addr.js';
import { errnoOf, IpError, NO_PACKET_ADDON } from './errors.js';
import { garpFrame, naFrame } from './frames.js';
import { IpMonitor, type MonitorEvent } from './monitor.js';
import { forwardsIPv6, sendUnsolicitedNas } from './ndisc.js';
import { PacketSender } from './packet.js';
import { IpBatch } from './routes.js';
import type {
  AddressEvent, AddressInfo, AddressKey, AnnounceOptions, AnnounceResult, Family, IpNet, IpOpResult,
  LinkInfo, MacvlanSpec, OpResult, RouteLine, RouteOpResult, VipSpec,
} from './types.js';

export interface IpNetOptions {
  /** pino (child) logger; only warnings are logged */
  readonly log?: Pick<Logger, 'warn'>;
  /** `ip` binary for routes and the link/address monitor (default `ip` on PATH) */
  readonly ipPath?: string;
  /** for tests: another AF_PACKET sender */
  readonly packet?: PacketSender;
}

export function createIpNet(opts: IpNetOptions = {}): IpNet {
  return new NetlinkIpNet(opts);
}

const AF_INET = 2;
const AF_INET6 = 10;
const INFINITY_LIFE_TIME = 0xffffffff;
/**
 * Requests in flight on the netlink socket, across all callers. The kernel queues each request's
 * reply on our socket as it handles the request; unbounded pipelining (1000 VIPs) overflows the
 * receive buffer, and netlink 0.3.0 aborts the process on the resulting ENOBUFS (see monitor.ts).
 * 64 keeps the replies far below the default buffer and costs nothing measurable (100 VIPs: same
 * latency). The bound is per socket, not per call: 1000 instances each adding one VIP at the same
 * moment are 1000 calls (bench/reload.ts aborted there while it was per call).
 */
const WINDOW = 64;

/**
 * At most `limit` tasks running at once, the rest waiting in order. A dump runs `exclusive`ly, alone
 * on the socket: the kernel refuses a second dump while one is running (EBUSY), and netlink 0.3.0
 * assembles a dump's parts assuming nothing else arrives in between, so the ACK of a request sent
 * meanwhile cut the dump short ("Multipart message not terminated properly"; seen starting 1000
 * instances, whose VIP removals and link dumps overlap).
 */
class Limiter {
  private active = 0;
  private exclusiveRunning = false;
  private readonly waiting: { exclusive: boolean; go: () => void }[] = [];

  constructor(private readonly limit: number) {}

  run<T>(f: () => Promise<T>): Promise<T> {
    return this.acquire(false, f);
  }

  exclusive<T>(f: () => Promise<T>): Promise<T> {
    return this.acquire(true, f);
  }

  private async acquire<T>(exclusive: boolean, f: () => Promise<T>): Promise<T> {
    // first come, first served: a waiting dump holds back the requests behind it
    if (this.waiting.length || !this.admits(exclusive)) await new Promise<void>((go) => this.waiting.push({ exclusive, go }));
    else this.take(exclusive);
    try {
      return await f();
    } finally {
      if (exclusive) this.exclusiveRunning = false;
      else this.active--;
      while (this.waiting.length && this.admits(this.waiting[0]!.exclusive)) {
        const w = this.waiting.shift()!;
        this.take(w.exclusive);
        w.go();
      }
    }
  }

  private admits(exclusive: boolean): boolean {
    return !this.exclusiveRunning && (exclusive ? this.active === 0 : this.active < this.limit);
  }

  private take(exclusive: boolean): void {
    if (exclusive) this.exclusiveRunning = true;
    else this.active++;
  }
}

/** `Promise.all(items.map(f))` with at most `limit` calls pending; results in input order. */
async function mapLimit<T, R>(items: readonly T[], limit: number, f: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await f(items[i] as T, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

const SCOPES: Record<string, number> = { global: 0, universe: 0, site: 200, link: 253, host: 254, nowhere: 255 };

type AddrMsg = { data: rt.Address; attrs: rt.AddressAttrs };
type Built = { ok: true; msg: AddrMsg } | { ok: false; error: string; detail: string };

/**
 * The RTM_NEWADDR / RTM_DELADDR message for a VIP on interface `index`, as keepalived's
 * netlink_ipaddress() (keepalived/vrrp/vrrp_ipaddress.c) builds it. Pure; exported for tests.
 */
export function addressMessage(spec: VipSpec, index: number, op: 'add' | 'del'): Built {
  const bad = (detail: string): Built => ({ ok: false, error: 'EINVAL', detail });
  const family = spec.family;
  const addr = parseIP(spec.address, family);
  if (!addr) return bad(`'${spec.address}' is not an IPv${family} address`);
  const max = family === 4 ? 32 : 128;
  if (!Number.isInteger(spec.prefix) || spec.prefix < 0 || spec.prefix > max) return bad(`prefix /${spec.prefix} out of range`);
  const peer = spec.peer === undefined ? undefined : parseIP(spec.peer, family);
  if (spec.peer !== undefined && !peer) return bad(`peer '${spec.peer}' is not an IPv${family} address`);
  const data: rt.Address = { family: family === 4 ? AF_INET : AF_INET6, prefixlen: spec.prefix, index };
  const b = Buffer.from(addr);

  if (op === 'del') {
    // IPv4: IFA_LOCAL alone matches the address whatever its prefix and label (inet_rtm_deladdr
    // compares the prefix only with IFA_ADDRESS). IPv6 always compares the prefix (inet6_addr_del).
    return { ok: true, msg: { data, attrs: family === 4 ? { local: b } : { address: b } } };
  }

  const attrs: rt.AddressAttrs = { local: b, address: peer ? Buffer.from(peer) : b };
  const flags: rt.AddressFlags = {};
  let preferredLft: number | undefined;
  let nodad = family === 6; // keepalived: IFA_F_NODAD on every IPv6 VIP unless `-nodad`
  for (const f of spec.flags ?? []) {
    const [word, value] = f.split(/\s+/);
    if (word === 'home') flags.homeaddress = true;
    else if (word === 'mngtmpaddr') flags.managetempaddr = true;
    else if (word === 'noprefixroute') flags.noprefixroute = true;
    else if (word === 'autojoin') flags.mcautojoin = true;
    else if (word === '-nodad') nodad = false;
    else if (word === 'preferred_lft') {
      preferredLft = value === 'forever' ? INFINITY_LIFE_TIME : Number(value);
      if (!Number.isInteger(preferredLft) || preferredLft < 0 || preferredLft > INFINITY_LIFE_TIME) return bad(`preferred_lft '${value}'`);
    }
  }
  if (family === 6) {
    if (nodad) flags.nodad = true;
    // keepalived's default: a /128 VIP is deprecated (preferred_lft 0) so that it is never picked as
    // a source address (RFC 6724), e.g. by health checks; a VIP with a shorter prefix is preferred.
    preferredLft ??= spec.prefix === 128 ? 0 : INFINITY_LIFE_TIME;
    if (preferredLft !== INFINITY_LIFE_TIME) attrs.cacheInfo = { ifaPrefered: preferredLft, ifaValid: INFINITY_LIFE_TIME };
  } else {
    // keepalived ignores scope and label for IPv6; both apply to IPv4 only
    if (spec.scope !== undefined) {
      const s = SCOPES[spec.scope] ?? (/^\d+$/.test(spec.scope) ? Number(spec.scope) : undefined);
      if (s === undefined || s > 255) return bad(`scope '${spec.scope}'`);
      data.scope = s;
    }
    if (spec.label !== undefined) {
      if (spec.label.length === 0 || spec.label.length >= 16) return bad(`label '${spec.label}' must be 1..15 characters`);
      attrs.label = spec.label;
    }
    if (spec.brd !== undefined && !peer) {
      const brd = broadcast(addr, spec.prefix, spec.brd);
      if (brd === 'bad') return bad(`broadcast '${spec.brd}'`);
      if (brd) attrs.broadcast = Buffer.from(brd);
    }
  }
  if (Object.keys(flags).length > 0) attrs.flags = flags;
  return { ok: true, msg: { data, attrs } };
}

/** `brd ADDR|+|-`; `+`/`-` only for prefixes up to /30, else nothing (keepalived reports and ignores it). */
function broadcast(addr: Uint8Array, prefix: number, brd: string): Uint8Array | undefined | 'bad' {
  if (brd !== '+' && brd !== '-') return parseIP(brd, 4) ?? 'bad';
  if (prefix > 30) return undefined;
  const a = new DataView(addr.buffer, addr.byteOffset, 4).getUint32(0);
  const host = prefix === 0 ? 0xffffffff : 0xffffffff >>> prefix;
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, (brd === '+' ? a | host : a & ~host) >>> 0);
  return out;
}

function familyOf(af: number | undefined): Family | undefined {
  return af === AF_INET ? 4 : af === AF_INET6 ? 6 : undefined;
}

/** IFLA_LINKINFO → IFLA_INFO_KIND (`veth`, `macvlan`, ...) */
function infoKind(linkinfo: Buffer | undefined): string | undefined {
  if (!linkinfo) return undefined;
  for (let off = 0; off + 4 <= linkinfo.length; ) {
    const len = linkinfo.readUInt16LE(off);
    const type = linkinfo.readUInt16LE(off + 2) & 0x3fff;
    if (len < 4 || off + len > linkinfo.length) return undefined;
    if (type === 1) return linkinfo.subarray(off + 4, off + len).toString('latin1').replace(/\0.*$/s, '');
    off += (len + 3) & ~3;
  }
  return undefined;
}

function toLink(m: rt.LinkMessage): LinkInfo | undefined {
  const name = m.attrs.ifname;
  const index = m.data.index;
  if (!name || !index) return undefined;
  const f = m.data.flags ?? {};
  const mac = m.attrs.address?.length === 6 ? formatMac(m.attrs.address) : undefined;
  const kind = infoKind(m.attrs.linkinfo);
  return { name, index, up: !!f.up && !!f.running, ...(mac ? { mac } : {}), ...(kind ? { kind } : {}) };
}

function toAddress(m: rt.AddressMessage, dev: (index: number) => string): AddressInfo | undefined {
  const family = familyOf(m.data.family);
  const index = m.data.index;
  // IFA_LOCAL is our address when present; IFA_ADDRESS is then the peer (or the same address)
  const local = m.attrs.local ?? m.attrs.address;
  if (!family || !index || !local) return undefined;
  const peer = m.attrs.local && m.attrs.address && !m.attrs.local.equals(m.attrs.address) ? m.attrs.address : undefined;
  return {
    address: formatIP(local), prefix: m.data.prefixlen ?? 0, family, dev: dev(index), index,
    ...(m.attrs.label ? { label: m.attrs.label } : {}), ...(peer ? { peer: formatIP(peer) } : {}), scope: m.data.scope ?? 0,
  };
}

function linkKey(l: LinkInfo): string {
  return `${l.name}|${l.up}|${l.mac ?? ''}`;
}

/** The IFLA_LINKINFO payload for a private-mode macvlan (IFLA_INFO_KIND, IFLA_INFO_DATA{IFLA_MACVLAN_MODE}). */
function macvlanInfo(): Buffer {
  const attr = (type: number, payload: Buffer) => {
    const len = 4 + payload.length;
    const b = Buffer.alloc((len + 3) & ~3);
    b.writeUInt16LE(len, 0);
    b.writeUInt16LE(type, 2);
    payload.copy(b, 4);
    return b;
  };
  const mode = Buffer.alloc(4);
  mode.writeUInt32LE(1, 0); // MACVLAN_MODE_PRIVATE, keepalived's vrrp_vmac.c default
  return Buffer.concat([attr(1, Buffer.from('macvlan\0')), attr(2 | 0x8000, attr(1, mode))]);
}

interface LinkWatcher {
  link(l: LinkInfo, deleted: boolean): void;
  /** after lost notifications: these are all the links there are */
  resync(links: readonly LinkInfo[]): void;
}

class NetlinkIpNet implements IpNet {
  private readonly nl: RtNetlinkSocket;
  private monitor: IpMonitor | undefined;
  /** resolves once the monitor listens: every call waits for it, so no change after watch*() is missed */
  private ready: Promise<void> = Promise.resolve();
  private readonly names = new Map<number, string>();
  /** IFLA_INFO_KIND by ifindex, learnt from queries (`ip monitor` does not print it) */
  private readonly kinds = new Map<number, string>();
  private readonly linkWatchers = new Set<LinkWatcher>();
  private readonly addrWatchers = new Set<(e: AddressEvent) => void>();
  private readonly batches = new Map<Family, IpBatch>();
  /** every request on `nl` goes through it */
  private readonly inFlight = new Limiter(WINDOW);
  private readonly packet: PacketSender;
  private warnedNoAddon = false;
  private closed = false;

  constructor(private readonly opts: IpNetOptions) {
    this.nl = createRtNetlink();
    this.nl.socket.on('error', (err) => this.opts.log?.warn({ err }, 'rtnetlink socket error'));
    this.packet = opts.packet ?? new PacketSender();
  }

  // ---- addresses

  async addAddresses(list: readonly VipSpec[]): Promise<IpOpResult[]> {
    const idx = await this.resolve(list.map((s) => s.dev));
    if (!(idx instanceof Map)) return list.map((spec) => ({ spec, ok: false, ...idx }));
    return mapLimit(list, WINDOW, async (spec): Promise<IpOpResult> => {
      const index = idx.get(spec.dev);
      if (!index) return { spec, ok: false, error: 'ENODEV', detail: `no interface '${spec.dev}'` };
      const m = addressMessage(spec, index, 'add');
      if (!m.ok) return { spec, ok: false, error: m.error, detail: m.detail };
      try {
        await this.inFlight.run(() => this.nl.newAddress(m.msg.data, m.msg.attrs, { flags: FlagsNew.CREATE | FlagsNew.EXCL }));
        return { spec, ok: true };
      } catch (err) {
        const code = errnoOf(err);
        return code === 'EEXIST' ? { spec, ok: true } : { spec, ok: false, error: code, detail: (err as Error).message };
      }
    });
  }

  async removeAddresses(list: readonly VipSpec[]): Promise<IpOpResult[]> {
    const idx = await this.resolve(list.map((s) => s.dev));
    if (!(idx instanceof Map)) return list.map((spec) => ({ spec, ok: false, ...idx }));
    const del = async (spec: VipSpec, index: number, prefix = spec.prefix): Promise<IpOpResult> => {
      const m = addressMessage({ ...spec, prefix }, index, 'del');
      if (!m.ok) return { spec, ok: false, error: m.error, detail: m.detail };
      try {
        await this.inFlight.run(() => this.nl.delAddress(m.msg.data, m.msg.attrs));
        return { spec, ok: true };
      } catch (err) {
        return { spec, ok: false, error: errnoOf(err), detail: (err as Error).message };
      }
    };
    const results = await mapLimit(list, WINDOW, async (spec): Promise<IpOpResult> => {
      const index = idx.get(spec.dev);
      // no interface, no address: removed (keepalived returns early the same way)
      return index ? del(spec, index) : { spec, ok: true };
    });
    // EADDRNOTAVAIL: absent, or (IPv6) present with another prefix. One dump settles all of them.
    const missing = results.flatMap((r, i) => (r.error === 'EADDRNOTAVAIL' ? [i] : []));
    if (missing.length === 0) return results;
    const present = await this.dumpAddresses().catch(() => undefined);
    if (!present) return results; // cannot tell: the EADDRNOTAVAIL results stand
    for (const i of missing) {
      const spec = list[i] as VipSpec;
      const index = idx.get(spec.dev) as number;
      const found = present.find((a) => a.index === index && a.family === spec.family && a.address === canon(spec));
      results[i] = found ? await del(spec, index, found.prefix) : { spec, ok: true };
    }
    return results;
  }

  async hasAddress(key: AddressKey): Promise<boolean> {
    const index = (await this.indexes([key.dev])).get(key.dev);
    if (!index) return false;
    const want = canon(key);
    return (await this.dumpAddresses(key.family)).some((a) => a.index === index && a.address === want);
  }

  async addresses(dev?: string): Promise<AddressInfo[]> {
    await this.links(); // refreshes the index → name map
    const all = await this.dumpAddresses();
    return dev === undefined ? all : all.filter((a) => a.dev === dev);
  }

  private async dumpAddresses(family?: Family): Promise<AddressInfo[]> {
    const msgs = await this.query(() => this.nl.getAddresses(family ? { family: family === 4 ? AF_INET : AF_INET6 } : {}));
    return msgs.flatMap((m) => {
      const a = toAddress(m, (i) => this.nameOf(i));
      return a && (!family || a.family === family) ? [a] : [];
    });
  }

  // ---- links

  async links(): Promise<LinkInfo[]> {
    const msgs = await this.query(() => this.nl.getLinks());
    return msgs.flatMap((m) => {
      const l = this.learn(m);
      return l ? [l] : [];
    });
  }

  /** LinkInfo of a netlink link message, remembering its name and kind by index */
  private learn(m: rt.LinkMessage): LinkInfo | undefined {
    const l = toLink(m);
    if (l) {
      this.names.set(l.index, l.name);
      if (l.kind) this.kinds.set(l.index, l.kind);
    }
    return l;
  }

  /** `indexes()` for the batch operations, which never reject: a failure becomes every item's error. */
  private async resolve(devs: readonly string[]): Promise<Map<string, number> | { error: string; detail: string }> {
    if (this.closed) return { error: 'ECLOSED', detail: 'ip adapter closed' };
    await this.ready;
    try {
      return await this.indexes(devs);
    } catch (err) {
      return { error: errnoOf(err), detail: (err as Error).message };
    }
  }

  /** ifindex per distinct interface name (absent names are missing from the map). */
  private async indexes(devs: readonly string[]): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    await mapLimit([...new Set(devs)], WINDOW, async (dev) => {
      const m = await this.linkByName(dev);
      if (m?.data.index) out.set(dev, m.data.index);
    });
    return out;
  }

  private async linkByName(dev: string): Promise<rt.LinkMessage | undefined> {
    if (!dev || dev.length >= 16) return undefined;
    try {
      const [m] = await this.inFlight.run(() => this.nl.getLink({}, { ifname: dev }));
      if (m) this.learn(m);
      return m;
    } catch (err) {
      if (errnoOf(err) === 'ENODEV') return undefined;
      throw new IpError(errnoOf(err), `RTM_GETLINK ${dev}: ${(err as Error).message}`, { cause: err });
    }
  }

  private nameOf(index: number): string {
    return this.names.get(index) ?? `if${index}`;
  }

  watchLinks(onChange: (link: LinkInfo) => void): () => void {
    const last = new Map<number, LinkInfo>();
    const w: LinkWatcher = {
      link(l, deleted) {
        if (deleted) {
          last.delete(l.index);
          onChange({ ...l, up: false, deleted: true });
        } else if (!last.has(l.index) || linkKey(last.get(l.index) as LinkInfo) !== linkKey(l)) {
          // RTM_NEWLINK also reports statistics and flag changes we do not track: deduplicated
          last.set(l.index, l);
          onChange(l);
        }
      },
      resync(links) {
        const present = new Set(links.map((l) => l.index));
        for (const [index, l] of last) {
          if (!present.has(index)) { last.delete(index); onChange({ ...l, up: false, deleted: true }); }
        }
        for (const l of links) this.link(l, false);
      },
    };
    this.linkWatchers.add(w);
    this.subscribe();
    return () => this.unwatch(() => this.linkWatchers.delete(w));
  }

  watchAddresses(onChange: (ev: AddressEvent) => void): () => void {
    const w = (e: AddressEvent) => onChange(e);
    this.addrWatchers.add(w);
    this.subscribe();
    return () => this.unwatch(() => this.addrWatchers.delete(w));
  }

  private unwatch(remove: () => void): void {
    remove();
    if (this.linkWatchers.size === 0 && this.addrWatchers.size === 0 && this.monitor) {
      this.monitor.stop();
      this.monitor = undefined;
      this.ready = Promise.resolve();
    }
  }

  private subscribe(): void {
    if (this.monitor || this.closed) return;
    const warn = (msg: string, detail: object) => this.opts.log?.warn(detail, msg);
    this.monitor = new IpMonitor({
      ...(this.opts.ipPath ? { ipPath: this.opts.ipPath } : {}),
      onEvent: (e) => this.onEvent(e),
      onRestart: () => void this.resyncLinks(),
      warn,
    });
    this.ready = this.monitor.start();
  }

  private onEvent(e: MonitorEvent): void {
    if (e.type === 'overflow') {
      this.opts.log?.warn({}, 'link/address notifications were lost (ENOBUFS); resynchronising links');
      void this.resyncLinks();
    } else if (e.type === 'link') {
      if (!e.deleted) this.names.set(e.index, e.name);
      const kind = this.kinds.get(e.index);
      const l: LinkInfo = { name: e.name, index: e.index, up: e.up, ...(e.mac ? { mac: e.mac } : {}), ...(kind ? { kind } : {}) };
      for (const w of this.linkWatchers) w.link(l, e.deleted);
    } else {
      const { type: _, deleted, ...a } = e;
      for (const w of this.addrWatchers) w({ ...a, added: !deleted });
    }
  }

  private async resyncLinks(): Promise<void> {
    const links = await this.links().catch(() => undefined);
    if (links) for (const w of this.linkWatchers) w.resync(links);
  }

  // ---- routes

  addRoutes(list: readonly RouteLine[]): Promise<RouteOpResult[]> {
    return this.routes('add', list);
  }

  removeRoutes(list: readonly RouteLine[]): Promise<RouteOpResult[]> {
    return this.routes('del', list);
  }

  private async routes(verb: 'add' | 'del', list: readonly RouteLine[]): Promise<RouteOpResult[]> {
    if (this.closed) return list.map((spec) => ({ spec, ok: false, error: 'ECLOSED', detail: 'ip adapter closed' }));
    const out: RouteOpResult[] = new Array(list.length);
    await Promise.all(([4, 6] as const).map(async (family) => {
      const mine = list.flatMap((r, i) => (r.family === family ? [i] : []));
      if (mine.length === 0) return;
      let b = this.batches.get(family);
      if (!b) this.batches.set(family, (b = new IpBatch(family, this.opts.ipPath)));
      const res = await b.run(verb, mine.map((i) => list[i] as RouteLine));
      mine.forEach((i, k) => { out[i] = res[k] as RouteOpResult; });
    }));
    return out;
  }

  // ---- announcements

  async announce(dev: string, addresses: readonly string[], opts: AnnounceOptions = {}): Promise<AnnounceResult[]> {
    const fail = (error: string, detail: string) => addresses.map((spec): AnnounceResult => ({ spec, ok: false, error, detail }));
    if (this.closed) return fail('ECLOSED', 'ip adapter closed');
    let link: rt.LinkMessage | undefined;
    try {
      link = await this.linkByName(dev);
    } catch (err) {
      return fail(errnoOf(err), (err as Error).message);
    }
    const index = link?.data.index;
    if (!link || !index) return fail('ENODEV', `no interface '${dev}'`);
    if (link.data.flags?.noarp) return fail('ENOTSUP', `${dev} is NOARP`); // keepalived skips such interfaces
    const own = link.attrs.address;
    const mac = opts.vmacSrc !== undefined ? parseMac(opts.vmacSrc) : own?.length === 6 ? new Uint8Array(own) : undefined;
    if (!mac) return fail('EINVAL', opts.vmacSrc !== undefined ? `vmacSrc '${opts.vmacSrc}'` : `${dev} has no Ethernet address`);

    // keepalived sends both through AF_PACKET; without the addon IPv4 cannot go out at all, and
    // IPv6 falls back to a raw ICMPv6 socket (ndisc.ts), where the kernel picks the source
    const results: AnnounceResult[] = new Array(addresses.length);
    const viaRaw: number[] = [];
    const router = addresses.some((a) => a.includes(':')) && (await forwardsIPv6(dev));
    for (let i = 0; i < addresses.length; i++) {
      const a = addresses[i] as string;
      const v6 = a.includes(':');
      const ip = parseIP(a, v6 ? 6 : 4);
      if (!ip) { results[i] = { spec: a, ok: false, error: 'EINVAL', detail: `'${a}' is not an address` }; continue; }
      const err = this.packet.send(index, v6 ? naFrame(mac, ip, router) : garpFrame(mac, ip));
      if (err?.code === NO_PACKET_ADDON) {
        if (v6) { viaRaw.push(i); continue; }
        if (!this.warnedNoAddon) {
          this.warnedNoAddon = true;
          this.opts.log?.warn({ detail: err.detail }, 'cannot send gratuitous ARP: the packet addon is not built (adapters/ip/native/build.sh)');
        }
      }
      results[i] = err ? { spec: a, ok: false, error: err.code, detail: err.detail } : { spec: a, ok: true };
    }
    if (viaRaw.length > 0) {
      const sent = await sendUnsolicitedNas(dev, index, viaRaw.map((i) => addresses[i] as string), mac, router);
      viaRaw.forEach((i, k) => { results[i] = sent[k] as AnnounceResult; });
    }
    return results;
  }

  // ---- VMAC

  async createMacvlan(spec: MacvlanSpec): Promise<OpResult<MacvlanSpec>> {
    const mac = parseMac(spec.mac);
    if (!mac) return { spec, ok: false, error: 'EINVAL', detail: `mac '${spec.mac}'` };
    const idx = await this.resolve([spec.parent]);
    if (!(idx instanceof Map)) return { spec, ok: false, ...idx };
    const parent = idx.get(spec.parent);
    if (!parent) return { spec, ok: false, error: 'ENODEV', detail: `no interface '${spec.parent}'` };
    const link = Buffer.alloc(4);
    link.writeUInt32LE(parent, 0);
    try {
      await this.inFlight.run(() => this.nl.newLink(
        { flags: { up: true }, change: { up: true } },
        { ifname: spec.name, link, address: Buffer.from(mac), linkinfo: macvlanInfo() },
        { flags: FlagsNew.CREATE | FlagsNew.EXCL },
      ));
      return { spec, ok: true };
    } catch (err) {
      const code = errnoOf(err);
      return code === 'EEXIST' ? { spec, ok: true } : { spec, ok: false, error: code, detail: (err as Error).message };
    }
  }

  async deleteLink(name: string): Promise<OpResult<string>> {
    const idx = await this.resolve([name]);
    if (!(idx instanceof Map)) return { spec: name, ok: false, ...idx };
    const index = idx.get(name);
    if (!index) return { spec: name, ok: true };
    try {
      await this.inFlight.run(() => this.nl.delLink({ index }));
      return { spec: name, ok: true };
    } catch (err) {
      const code = errnoOf(err);
      return code === 'ENODEV' ? { spec: name, ok: true } : { spec: name, ok: false, error: code, detail: (err as Error).message };
    }
  }

  // ---- lifecycle

  /** a dump (RTM_GETLINK, RTM_GETADDR with NLM_F_DUMP): alone on the socket (Limiter) */
  private async query<T>(f: () => Promise<T>): Promise<T> {
    if (this.closed) throw new IpError('ECLOSED', 'ip adapter closed');
    await this.ready;
    try {
      return await this.inFlight.exclusive(f);
    } catch (err) {
      throw new IpError(errnoOf(err), `rtnetlink: ${(err as Error).message}`, { cause: err });
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.linkWatchers.clear();
    this.addrWatchers.clear();
    this.monitor?.stop();
    this.monitor = undefined;
    this.packet.close();
    await Promise.all([...this.batches.values()].map((b) => b.close()));
    this.nl.socket.close();
  }
}

/** The canonical text of a key's address, for comparison with what the kernel reports. */
function canon(k: AddressKey): string {
  const b = parseIP(k.address, k.family);
  return b ? formatIP(b) : k.address;
}
