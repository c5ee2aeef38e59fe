// VrrpNet over raw sockets (npm raw-socket), the way keepalived opens them (vrrp.c
// open_vrrp_read_socket / open_vrrp_send_socket): per (interface, family) one *send* socket and one
// *read* socket per IP protocol in use (112 VRRP, 51 AH), shared by every instance on it. Received
// packets go through demux.ts (VRID → instance → codec `validate`), exactly as in the memory fake.
//
// Sending. The send socket is IPPROTO_RAW, which never receives and implies IP_HDRINCL /
// IPV6_HDRINCL: we write the IP header ourselves, as keepalived does for IPv4 (TOS 0xc0, TTL 255
// or unicast_ttl, the source address). IPv6 goes the same way (traffic class 0xc0, hop limit 255,
// checksum over the pseudo-header by the codec): a plain protocol-112 socket with IPV6_CHECKSUM
// would let the kernel pick the source, and Linux ignores the source of a sticky IPV6_PKTINFO
// (checked), so unicast_src_ip / mcast_src_ip could not be honoured. raw-socket queues a send until
// the socket is writable and reports readable *instead of* writable when both hold, so on a socket
// that also reads, our adverts wait while its receive queue stays non-empty. A send socket that never
// reads cannot be held back (keepalived separates them too). Measured under the flood of
// test/netns/vrrp-socket.test.ts (~150k packets/s, half dropped by the kernel): adverts out within
// 14-42 ms with this design, 62-74 ms with one socket for both.
// Source address: the spec's srcIp (unicast_src_ip / mcast_src_ip), else the interface's first IPv4
// address (the primary, as getifaddrs lists it) or its IPv6 link-local address; the addresses are
// read again on every open() and at most once a second while sending, so a renumbered interface is
// followed, and a send with no address is a NO_SOURCE_ADDRESS error (keepalived: FAULT).
//
// Receiving and flood mitigation. keepalived's read loop drains the socket until EAGAIN and stops
// after a second advert for one VRID, so timers get to run. raw-socket reads exactly one datagram per
// readiness callback and libuv reports an fd once per loop iteration, so timers, sends and other I/O
// run between any two datagrams: the work per event-loop turn is one datagram per read socket,
// whatever arrives. A backlog beyond the socket's receive buffer is dropped by the kernel (the drops
// column of /proc/net/raw and /proc/net/raw6), not by us.
//
// Limits of raw-socket on IPv6 receive (it calls recvfrom: no ancillary data, no IPv6 header):
// - the hop limit is unknown, so §3.8 step 6 (hop limit 255) is not checked on IPv6. IPV6_MINHOPCOUNT
//   would be the kernel's way (GTSM) but Linux applies it to TCP only: raw sockets still get a
//   hop-limit-64 packet with it set (checked), so we do not set it;
// - the destination is unknown, so step 3 (multicast vs unicast) is not checked on IPv6;
// - the kernel verifies the checksum (IPV6_CHECKSUM = 6) and drops bad packets itself, counted in
//   /proc/net/raw6, not in our 'bad-checksum'.
// A recvmsg addon with IPV6_RECVHOPLIMIT / IPV6_RECVPKTINFO (as keepalived uses) would close these.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { networkInterfaces, type NetworkInterfaceInfo } from 'node:os';
import { canonicalAddress, parseIpv4, parseIpv6, VRRP_PROTO } from './codec.js';
import { Demux, Member, silentLog, zeroCounters, type Frame, type Log } from './demux.js';
import type { EndpointHandlers, EndpointSpec, Family, VrrpCounters, VrrpEndpoint, VrrpNet, VrrpNetStats } from './types.js';

export type { Log } from './demux.js';

export type VrrpSocketErrorCode = 'NO_INTERFACE' | 'NO_SOURCE_ADDRESS' | 'SOCKET' | 'SEND' | 'CLOSED' | 'ENCODE';

export class VrrpSocketError extends Error {
  override readonly name = 'VrrpSocketError';
  constructor(
    readonly code: VrrpSocketErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export interface RawVrrpNetOptions {
  log?: Log;
  /** the host's interfaces and addresses; default os.networkInterfaces */
  interfaces?: () => NodeJS.Dict<NetworkInterfaceInfo[]>;
  /** interface index by name; default /sys/class/net/IFACE/ifindex */
  ifindex?: (iface: string) => number | undefined;
  /** how long a read of the interface addresses is reused when sending (default 1000 ms; every
   *  open() reads them afresh, and so does the first send after addressesChanged()). One read
   *  costs about 40 µs (getifaddrs) and a netlink dump of every address on the host. */
  addressMaxAgeMs?: number;
  /** global_defs log_unknown_vrids: adverts for a VRID no instance has are logged at info (else debug) */
  logUnknownVrids?: boolean;
}

export interface RawVrrpNet extends VrrpNet {
  stats(): VrrpNetStats;
  /** an address was added or removed on the host: the next advert reads them again (the daemon
   *  calls this from the kernel's address notifications, so the reads need not poll) */
  addressesChanged(): void;
}

// Socket options (Linux <netinet/in.h>, <linux/in6.h>, <asm-generic/socket.h>)
const SOL_SOCKET = 1, SO_BINDTODEVICE = 25;
const IPPROTO_IP = 0, IP_HDRINCL = 3, IP_MULTICAST_IF = 32, IP_MULTICAST_LOOP = 34;
const IP_ADD_MEMBERSHIP = 35, IP_DROP_MEMBERSHIP = 36, IP_MULTICAST_ALL = 49;
const IPPROTO_IPV6 = 41, IPV6_CHECKSUM = 7, IPV6_MULTICAST_IF = 17, IPV6_MULTICAST_LOOP = 19;
const IPV6_ADD_MEMBERSHIP = 20, IPV6_DROP_MEMBERSHIP = 21, IPV6_MULTICAST_ALL = 29, IPV6_HDRINCL = 36;
const IPPROTO_RAW = 255;
/** the VRRP checksum's offset in the message, for IPV6_CHECKSUM */
const VRRP_CHECKSUM_OFFSET = 6;
/** big enough that no datagram is cut short: a cut one would look like a different packet */
const RECV_BUFFER = 65535;

// ---------------------------------------------------------------------------------------------
// raw-socket, typed to what we use, loaded on first use so that importing this module never fails
// on a host without the native addon.

interface RawSocket {
  setOption(level: number, option: number, value: number): void;
  setOption(level: number, option: number, value: Buffer, length: number): void;
  send(buf: Buffer, offset: number, length: number, address: string, after: (err: Error | null, bytes: number) => void): void;
  pauseRecv(): void;
  close(): void;
  on(event: 'message', fn: (buf: Buffer, source: string) => void): void;
  on(event: 'error', fn: (err: Error) => void): void;
  on(event: 'close', fn: () => void): void;
}

/**
 * Send at once, inside the caller's turn of the event loop. raw-socket's public send() queues the
 * packet until the socket polls writable, i.e. after everything else the current callback does:
 * a new MASTER's first advert would leave only after its addresses, GARPs and logs (measured 4 to
 * 13 ms later). keepalived sends it first, so that the old master lets go before our GARPs. When
 * nothing is queued we call the binding's synchronous sendto (the same call the queue makes);
 * a full socket buffer (EAGAIN), or a raw-socket without these internals, falls back to the queue.
 */
function sendNow(sock: RawSocket, pkt: Buffer, to: string): boolean {
  const s = sock as RawSocket & { wrap?: { send?: (b: Buffer, o: number, l: number, a: string, cb: () => void) => void }; requests?: unknown[] };
  if (typeof s.wrap?.send !== 'function' || !Array.isArray(s.requests) || s.requests.length > 0) return false;
  try {
    s.wrap.send(pkt, 0, pkt.length, to, () => undefined);
    return true;
  } catch (err) {
    if (/temporarily unavailable|EAGAIN|No buffer space/i.test((err as Error).message)) return false;
    throw err;
  }
}

interface RawModule {
  createSocket(o: { addressFamily: number; protocol: number; bufferSize?: number }): RawSocket;
  AddressFamily: { IPv4: number; IPv6: number };
}

let rawModule: RawModule | undefined;
function raw(): RawModule {
  rawModule ??= createRequire(import.meta.url)('raw-socket') as RawModule;
  return rawModule;
}

// ---------------------------------------------------------------------------------------------

export function createRawVrrpNet(opts: RawVrrpNetOptions = {}): RawVrrpNet {
  return new RawNet(opts);
}

class RawNet implements RawVrrpNet {
  readonly log: Log;
  readonly counters = zeroCounters();
  private readonly links = new Map<string, Link>();
  private readonly endpoints = new Set<RawEndpoint>();
  private readonly readInterfaces: () => NodeJS.Dict<NetworkInterfaceInfo[]>;
  private readonly ifindexOf: (iface: string) => number | undefined;
  private readonly maxAge: number;
  readonly logUnknownVrids: boolean;
  private ifaces: NodeJS.Dict<NetworkInterfaceInfo[]> = {};
  private readAt = -Infinity;
  private closed = false;

  constructor(opts: RawVrrpNetOptions) {
    this.log = opts.log ?? silentLog;
    this.readInterfaces = opts.interfaces ?? networkInterfaces;
    this.ifindexOf = opts.ifindex ?? sysfsIfindex;
    this.maxAge = opts.addressMaxAgeMs ?? 1000;
    this.logUnknownVrids = opts.logUnknownVrids === true;
  }

  open(spec: EndpointSpec, handlers: EndpointHandlers & { onSendError?(err: Error): void }): VrrpEndpoint {
    if (this.closed) throw new VrrpSocketError('CLOSED', 'this VrrpNet is closed');
    this.addresses(true);
    const key = `${spec.iface}/${spec.family}`;
    let link = this.links.get(key);
    if (!link) {
      const ifindex = this.ifindexOf(spec.iface) ?? this.linkLocal(spec.iface)?.scopeid;
      if (!ifindex) throw new VrrpSocketError('NO_INTERFACE', `no interface ${spec.iface}`);
      link = new Link(spec.iface, spec.family, ifindex, this);
      this.links.set(key, link);
    }
    const member = new Member(spec, handlers, this.counters, this.log);
    try {
      link.attach(member);
    } catch (err) {
      this.release(link);
      throw new VrrpSocketError('SOCKET', `cannot open VRRP socket on ${spec.iface}: ${(err as Error).message}`, { cause: err });
    }
    const ep = new RawEndpoint(this, link, member, handlers.onSendError);
    this.endpoints.add(ep);
    return ep;
  }

  stats(): VrrpNetStats {
    const endpoints: Record<string, VrrpCounters> = {};
    for (const ep of this.endpoints) endpoints[ep.member.spec.instance] = ep.stats();
    return { net: { ...this.counters }, endpoints };
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const ep of [...this.endpoints]) ep.close();
    for (const link of [...this.links.values()]) link.close();
    this.links.clear();
  }

  addressesChanged(): void {
    this.readAt = -Infinity;
  }

  forget(ep: RawEndpoint): void {
    this.endpoints.delete(ep);
    this.release(ep.link);
  }

  private release(link: Link): void {
    if (link.idle) {
      link.close();
      this.links.delete(`${link.iface}/${link.family}`);
    }
  }

  /** The source address of adverts without a configured one: the interface's primary IPv4 address
   *  (the first listed) or its IPv6 link-local address, as keepalived chooses. */
  interfaceSource(iface: string, family: Family): string | undefined {
    const ifaces = this.addresses(false);
    // asked on every advert: the pick is kept until the next read (an IPv6 link-local address
    // comes after every IPv4 address of the interface, VIPs included)
    const picked = family === 6 ? this.picked6 : this.picked4;
    if (picked.has(iface)) return picked.get(iface);
    const a = family === 6 ? this.linkLocal(iface) : ifaces[iface]?.find((x) => x.family === 'IPv4');
    picked.set(iface, a?.address);
    return a?.address;
  }

  /** interfaceSource() by interface, from the current read of the addresses */
  private readonly picked4 = new Map<string, string | undefined>();
  private readonly picked6 = new Map<string, string | undefined>();

  private linkLocal(iface: string): NetworkInterfaceInfo | undefined {
    return this.addresses(false)[iface]?.find((x) => x.family === 'IPv6' && /^fe[89ab]/i.test(x.address));
  }

  private addresses(fresh: boolean): NodeJS.Dict<NetworkInterfaceInfo[]> {
    const now = performance.now();
    if (fresh || now - this.readAt > this.maxAge) {
      this.ifaces = this.readInterfaces();
      this.readAt = now;
      this.picked4.clear();
      this.picked6.clear();
    }
    return this.ifaces;
  }
}

class RawEndpoint implements VrrpEndpoint {
  private closed = false;
  /** unicast_src_ip / mcast_src_ip in canonical form (undefined if it is not an address); the spec never changes */
  private readonly configuredSrc: string | undefined;

  constructor(
    private readonly net: RawNet,
    readonly link: Link,
    readonly member: Member,
    private readonly onSendError: ((err: Error) => void) | undefined,
  ) {
    const { spec } = member;
    this.configuredSrc = spec.srcIp !== undefined ? canonicalAddress(spec.srcIp, spec.family) : undefined;
  }

  /** the source our adverts carry: the configured one, else the interface's (RawNet.interfaceSource) */
  get srcIp(): string | undefined {
    const { spec } = this.member;
    return spec.srcIp !== undefined ? this.configuredSrc : this.net.interfaceSource(spec.iface, spec.family);
  }

  send(priority: number, intervalCs?: number): void {
    if (this.closed) return this.failed(new VrrpSocketError('CLOSED', `${this.member.spec.instance}: send after close`));
    const src = this.srcIp;
    if (src === undefined) {
      return this.failed(new VrrpSocketError('NO_SOURCE_ADDRESS', `no IPv${this.member.spec.family} source address on ${this.link.iface}`));
    }
    let frames: Frame[];
    try {
      frames = this.member.frames(src, priority, intervalCs);
    } catch (err) {
      return this.failed(new VrrpSocketError('ENCODE', `${this.member.spec.instance}: ${(err as Error).message}`, { cause: err }));
    }
    for (const f of frames) {
      this.link.transmit(src, f, (err) => {
        if (!err) this.member.sent();
        else this.failed(new VrrpSocketError('SEND', `send to ${f.dst} on ${this.link.iface}: ${err.message}`, { cause: err }));
      });
    }
  }

  stats(): VrrpCounters {
    return { ...this.member.counters };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.link.detach(this.member);
    this.net.forget(this);
  }

  private failed(err: Error): void {
    this.member.sendFailed();
    try {
      if (this.onSendError) this.onSendError(err);
      else this.net.log.warn({ err, instance: this.member.spec.instance }, 'VRRP send failed');
    } catch (e) {
      this.net.log.error({ err: e, instance: this.member.spec.instance }, 'onSendError handler threw');
    }
  }
}

/** The sockets of one (interface, family) and the endpoints on it. */
class Link {
  readonly demux: Demux;
  private sender: RawSocket | undefined;
  private readonly readers = new Map<number, RawSocket>();
  /** `${proto} ${group}` → multicast endpoints using it (a membership is per socket) */
  private readonly joined = new Map<string, number>();
  private closing = false;

  constructor(
    readonly iface: string,
    readonly family: Family,
    readonly ifindex: number,
    private readonly net: RawNet,
  ) {
    this.demux = new Demux(net.counters, net.log, `${iface} (IPv${family})`, net.logUnknownVrids);
  }

  get idle(): boolean {
    return this.demux.size === 0;
  }

  attach(m: Member): void {
    this.sender ??= this.openSender();
    if (!this.readers.has(m.proto)) this.readers.set(m.proto, this.openReader(m.proto));
    if (m.multicast) this.join(m.proto, m.spec.mcastGroup);
    this.demux.add(m);
  }

  detach(m: Member): void {
    this.demux.remove(m);
    if (m.multicast) this.leave(m.proto, m.spec.mcastGroup);
    if (!this.demux.members().some((x) => x.proto === m.proto)) {
      const r = this.readers.get(m.proto);
      this.readers.delete(m.proto);
      if (r) this.closeSocket(r);
    }
  }

  transmit(src: string, f: Frame, done: (err: Error | null) => void): void {
    try {
      this.sender ??= this.openSender(); // gone after a socket error
      const pkt = this.wire.get(f) ?? this.toWire(src, f);
      // a link-local unicast peer needs its zone; the socket is bound to the device anyway
      const to = this.family === 6 && /^fe[89ab]/i.test(f.dst) ? `${f.dst}%${this.iface}` : f.dst;
      if (sendNow(this.sender, pkt, to)) return done(null);
      this.sender.send(pkt, 0, pkt.length, to, (err) => done(err));
    } catch (err) {
      done(err as Error);
    }
  }

  /**
   * A frame as raw-socket sends it, kept with the frame: Member.frames() hands out the same frames
   * while nothing changes, and their bytes are never modified, so neither is the packet (a queued
   * send may still hold it). IPv4: a Buffer over the frame's bytes, no copy; IPv6: our header in
   * front (the frame was built for this `src`).
   */
  private readonly wire = new WeakMap<Frame, Buffer>();

  private toWire(src: string, f: Frame): Buffer {
    const pkt = this.family === 4 ? Buffer.from(f.bytes.buffer, f.bytes.byteOffset, f.bytes.byteLength) : ipv6Packet(src, f.dst, f.ttl, f.bytes);
    this.wire.set(f, pkt);
    return pkt;
  }

  close(): void {
    this.closing = true;
    for (const r of this.readers.values()) this.closeSocket(r);
    this.readers.clear();
    if (this.sender) this.closeSocket(this.sender);
    this.sender = undefined;
    this.joined.clear();
  }

  private openSender(): RawSocket {
    const v4 = this.family === 4;
    const s = raw().createSocket({ addressFamily: v4 ? raw().AddressFamily.IPv4 : raw().AddressFamily.IPv6, protocol: IPPROTO_RAW });
    try {
      s.pauseRecv(); // IPPROTO_RAW receives nothing; poll for writability only
      s.on('error', (err) => this.net.log.error({ err, iface: this.iface }, 'VRRP send socket error'));
      s.on('close', () => {
        if (this.sender === s) this.sender = undefined; // raw-socket closes it after a poll error
      });
      this.bindToDevice(s);
      if (v4) {
        s.setOption(IPPROTO_IP, IP_HDRINCL, 1); // implied by IPPROTO_RAW; said for the reader
        s.setOption(IPPROTO_IP, IP_MULTICAST_IF, ipMreqn('0.0.0.0', this.ifindex), 12);
        s.setOption(IPPROTO_IP, IP_MULTICAST_LOOP, 0);
      } else {
        s.setOption(IPPROTO_IPV6, IPV6_HDRINCL, 1);
        s.setOption(IPPROTO_IPV6, IPV6_MULTICAST_IF, this.ifindex);
        s.setOption(IPPROTO_IPV6, IPV6_MULTICAST_LOOP, 0);
      }
    } catch (err) {
      this.closeSocket(s);
      throw err;
    }
    return s;
  }

  private openReader(proto: number): RawSocket {
    const v4 = this.family === 4;
    const s = raw().createSocket({ addressFamily: v4 ? raw().AddressFamily.IPv4 : raw().AddressFamily.IPv6, protocol: proto, bufferSize: RECV_BUFFER });
    try {
      s.on('message', (buf, from) => this.received(buf, from));
      s.on('error', (err) => this.net.log.error({ err, iface: this.iface, proto }, 'VRRP read socket error'));
      s.on('close', () => this.readerClosed(proto, s));
      this.bindToDevice(s);
      // only the groups this socket joins, not every group joined on the host (keepalived
      // if_setsockopt_mcast_all); unicast VRRP to our addresses arrives regardless
      try {
        s.setOption(v4 ? IPPROTO_IP : IPPROTO_IPV6, v4 ? IP_MULTICAST_ALL : IPV6_MULTICAST_ALL, 0);
      } catch (err) {
        this.net.log.warn({ err, iface: this.iface }, 'cannot clear IP(V6)_MULTICAST_ALL; other groups may be received');
      }
      // the kernel verifies the IPv6 checksum and drops bad packets (counted in /proc/net/raw6)
      if (!v4 && proto === VRRP_PROTO) s.setOption(IPPROTO_IPV6, IPV6_CHECKSUM, VRRP_CHECKSUM_OFFSET);
    } catch (err) {
      this.closeSocket(s);
      throw err;
    }
    return s;
  }

  /** raw-socket closes a socket after a poll error: open it again, with its memberships. */
  private readerClosed(proto: number, s: RawSocket): void {
    if (this.closing || this.readers.get(proto) !== s) return;
    this.readers.delete(proto);
    this.net.log.error({ iface: this.iface, proto }, 'VRRP read socket closed unexpectedly; reopening');
    try {
      const r = this.openReader(proto);
      this.readers.set(proto, r);
      for (const key of this.joined.keys()) {
        const [p, group] = key.split(' ') as [string, string];
        if (Number(p) === proto) this.membership(r, group, true);
      }
    } catch (err) {
      this.net.log.error({ err, iface: this.iface, proto }, 'cannot reopen VRRP read socket; adverts are no longer received');
    }
  }

  private received(buf: Buffer, from: string): void {
    try {
      const bytes = new Uint8Array(buf); // a copy: raw-socket reuses its receive buffer
      this.demux.deliver(this.family === 4 ? parseIpv4(bytes) : parseIpv6(bytes, { src: from }));
    } catch (err) {
      // parse/validate/deliver do not throw; if one does, the packet is still counted
      this.net.log.error({ err, iface: this.iface }, 'internal error on a received VRRP packet');
      this.demux.fail('bad-ip-header', `internal error: ${(err as Error).message}`);
    }
  }

  private join(proto: number, group: string): void {
    const key = `${proto} ${group}`;
    const n = this.joined.get(key) ?? 0;
    const r = this.readers.get(proto);
    if (n === 0 && r) this.membership(r, group, true);
    this.joined.set(key, n + 1);
  }

  private leave(proto: number, group: string): void {
    const key = `${proto} ${group}`;
    const n = this.joined.get(key) ?? 0;
    if (n > 1) return void this.joined.set(key, n - 1);
    this.joined.delete(key);
    const r = this.readers.get(proto);
    if (n === 1 && r) {
      try {
        this.membership(r, group, false);
      } catch (err) {
        this.net.log.warn({ err, iface: this.iface, group }, 'cannot leave multicast group');
      }
    }
  }

  private membership(s: RawSocket, group: string, add: boolean): void {
    if (this.family === 4) {
      s.setOption(IPPROTO_IP, add ? IP_ADD_MEMBERSHIP : IP_DROP_MEMBERSHIP, ipMreqn(group, this.ifindex), 12);
    } else {
      // struct ipv6_mreq { struct in6_addr ipv6mr_multiaddr; int ipv6mr_interface; }
      const m = Buffer.alloc(20);
      m.set(ipv6Bytes(group), 0);
      m.writeInt32LE(this.ifindex, 16);
      s.setOption(IPPROTO_IPV6, add ? IPV6_ADD_MEMBERSHIP : IPV6_DROP_MEMBERSHIP, m, 20);
    }
  }

  private bindToDevice(s: RawSocket): void {
    const name = Buffer.from(`${this.iface}\0`);
    s.setOption(SOL_SOCKET, SO_BINDTODEVICE, name, name.length);
  }

  private closeSocket(s: RawSocket): void {
    try {
      s.close();
    } catch (err) {
      this.net.log.warn({ err, iface: this.iface }, 'error closing VRRP socket');
    }
  }
}

// ---------------------------------------------------------------------------------------------

/** /sys/class/net/IFACE/ifindex of the current network namespace, or undefined. */
function sysfsIfindex(iface: string): number | undefined {
  if (!/^[^/\0\s]{1,15}$/.test(iface) || iface === '.' || iface === '..') return undefined;
  try {
    const n = Number(readFileSync(`/sys/class/net/${iface}/ifindex`, 'utf8').trim());
    return Number.isInteger(n) && n > 0 ? n : undefined;
  } catch {
    return undefined;
  }
}

/** struct ip_mreqn { in_addr imr_multiaddr; in_addr imr_address; int imr_ifindex; } (host order int) */
function ipMreqn(group: string, ifindex: number): Buffer {
  const b = Buffer.alloc(12);
  group.split('.').forEach((x, i) => (b[i] = Number(x)));
  b.writeInt32LE(ifindex, 8);
  return b;
}

/** A 40-byte IPv6 header (RFC 8200) in front of a VRRP message: traffic class 0xc0 as keepalived
 *  sets IPV6_TCLASS, no flow label, next header 112. */
function ipv6Packet(src: string, dst: string, hopLimit: number, payload: Uint8Array): Buffer {
  const p = Buffer.alloc(40 + payload.length);
  p.writeUInt32BE(((6 << 28) | (0xc0 << 20)) >>> 0, 0);
  p.writeUInt16BE(payload.length, 4);
  p[6] = VRRP_PROTO;
  p[7] = hopLimit;
  p.set(ipv6Bytes(src), 8);
  p.set(ipv6Bytes(dst), 24);
  p.set(payload, 40);
  return p;
}

/** Bytes of an IPv6 address in text form (zone and dotted-quad tail allowed via canonicalAddress). */
function ipv6Bytes(text: string): Uint8Array {
  const pct = text.indexOf('%');
  const canonical = canonicalAddress(pct < 0 ? text : text.slice(0, pct), 6);
  if (canonical === undefined) throw new RangeError(`not an IPv6 address: ${JSON.stringify(text)}`);
  // canonical form: hex groups only, at most one '::'
  const [head = '', tail] = canonical.split('::');
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  const out = new Uint8Array(16);
  groups.forEach((g, i) => {
    const w = parseInt(g, 16);
    out[2 * i] = w >> 8;
    out[2 * i + 1] = w & 0xff;
  });
  return out;
}
