// An in-memory LAN of VrrpNets, for unit and property tests of the VRRP machines. Adverts are
// encoded, carried as bytes, parsed and checked by the same code as the raw-socket VrrpNet
// (adapters/vrrp/demux.ts + codec.ts), so drops and counters match it; only the kernel is modelled.
//
// Delivery is deterministic and uses no timers: every frame sent goes into one FIFO queue, which is
// emptied by `flush()`, called from a queueMicrotask after a send (default), or only by the test
// (`autoFlush: false`, to interleave deliveries with SimulatedClock steps). Frames produced while
// flushing (an advert answered at once) join the end of the queue and are delivered in the same flush.
//
// The kernel as modelled (as socket.ts configures it): hosts see each other on interfaces of the same
// name; a host receives a multicast frame when an endpoint there has joined the group with that IP
// protocol (112, or 51 for AH), and a unicast frame addressed to one of its addresses when it has any
// endpoint with that protocol on the interface; nobody receives its own frames (IP_MULTICAST_LOOP
// 0); TTLs are not decremented (one link). IPv6 frames are checked with what raw-socket reports on
// IPv6 (source only: no hop limit, no destination), as the real socket is.
import { canonicalAddress, isMulticast, parseIpv4, parseIpv6 } from '../../adapters/vrrp/codec.js';
import { Demux, Member, silentLog, zeroCounters, type Log } from '../../adapters/vrrp/demux.js';
import { VrrpSocketError } from '../../adapters/vrrp/socket.js';
import type { EndpointHandlers, EndpointSpec, Family, VrrpCounters, VrrpEndpoint, VrrpNet, VrrpNetStats } from '../../adapters/vrrp/types.js';

/** One frame on its way from one host to another. */
export interface LanFrame {
  readonly from: string;
  readonly to: string;
  readonly iface: string;
  readonly family: Family;
  /** 112 VRRP or 51 AH */
  readonly proto: number;
  readonly src: string;
  readonly dst: string;
  /** IPv4: the whole packet; IPv6: the VRRP message */
  readonly bytes: Uint8Array;
}

export type Fate = 'deliver' | 'drop' | 'duplicate';

export interface MemoryLanOptions {
  /** empty the queue in a microtask after each send (default true); false: only `flush()` delivers */
  autoFlush?: boolean;
  /** a flush delivering more than this many frames throws (two hosts answering each other forever) */
  maxDeliveriesPerFlush?: number;
  log?: Log;
}

export interface MemoryVrrpNet extends VrrpNet {
  readonly host: string;
  stats(): VrrpNetStats;
}

export interface MemoryLan {
  /** A host's VrrpNet; `addresses` by interface name, e.g. { eth0: ['10.0.0.1', 'fe80::1'] }. */
  net(host: string, addresses: Record<string, readonly string[]>): MemoryVrrpNet;
  /** Frames between hosts a and b are lost, both ways, until healed. */
  partition(a: string, b: string): void;
  /** Heal the a–b partition, or every partition. */
  heal(a?: string, b?: string): void;
  /** Decides each frame's fate (default: deliver); called when the frame is sent. */
  fault: ((f: LanFrame) => Fate) | undefined;
  /** Deliver every queued frame, and those sent meanwhile; returns how many were delivered. */
  flush(): number;
  /** frames waiting for delivery */
  readonly pending: number;
  /** frames handed to the LAN since it was created (per receiver, before partitions and faults) */
  readonly sent: number;
  /** Put bytes of the test's own on the wire as host `from` (which need not exist): hostile packets. */
  inject(from: string, frame: Omit<LanFrame, 'from' | 'to'>): void;
}

export function createMemoryLan(opts: MemoryLanOptions = {}): MemoryLan {
  return new Lan(opts);
}

// ---------------------------------------------------------------------------------------------

class Lan implements MemoryLan {
  fault: ((f: LanFrame) => Fate) | undefined;
  sent = 0;
  readonly log: Log;
  private readonly hosts = new Map<string, Host>();
  private readonly cuts = new Set<string>();
  private queue: LanFrame[] = [];
  private scheduled = false;
  private flushing = false;
  private readonly autoFlush: boolean;
  private readonly maxDeliveries: number;

  constructor(opts: MemoryLanOptions) {
    this.autoFlush = opts.autoFlush ?? true;
    this.maxDeliveries = opts.maxDeliveriesPerFlush ?? 100_000;
    this.log = opts.log ?? silentLog;
  }

  get pending(): number {
    return this.queue.length;
  }

  net(host: string, addresses: Record<string, readonly string[]>): MemoryVrrpNet {
    if (this.hosts.get(host)?.alive) throw new Error(`host ${host} already has an open net`);
    const h = new Host(host, addresses, this);
    this.hosts.set(host, h);
    return h;
  }

  partition(a: string, b: string): void {
    this.cuts.add(pairKey(a, b));
  }

  heal(a?: string, b?: string): void {
    if (a === undefined || b === undefined) this.cuts.clear();
    else this.cuts.delete(pairKey(a, b));
  }

  inject(from: string, f: Omit<LanFrame, 'from' | 'to'>): void {
    this.emit(from, f.iface, f.family, f.proto, f.src, f.dst, f.bytes);
  }

  /** A frame leaves `from`: one copy per host that would receive it, fates decided now. */
  emit(from: string, iface: string, family: Family, proto: number, src: string, dstText: string, bytes: Uint8Array): void {
    const dst = canonicalAddress(dstText, family) ?? dstText;
    for (const to of this.hosts.values()) {
      if (to.host === from || !to.alive || !to.hears(iface, family, proto, dst)) continue;
      const frame: LanFrame = { from, to: to.host, iface, family, proto, src, dst, bytes };
      this.sent++;
      if (this.cuts.has(pairKey(from, to.host))) continue;
      const fate = this.fault?.(frame) ?? 'deliver';
      if (fate === 'drop') continue;
      this.queue.push(frame);
      if (fate === 'duplicate') this.queue.push(frame);
    }
    if (this.autoFlush && !this.scheduled && this.queue.length > 0) {
      this.scheduled = true;
      queueMicrotask(() => {
        this.scheduled = false;
        this.flush();
      });
    }
  }

  flush(): number {
    if (this.flushing) return 0; // a handler sending during a flush: its frames are in the queue
    this.flushing = true;
    let n = 0;
    try {
      // an index rather than shift(): frames sent by handlers are appended while we walk the queue
      for (let i = 0; i < this.queue.length; i++) {
        if (++n > this.maxDeliveries) {
          this.queue = this.queue.slice(i);
          throw new Error(`memory LAN: more than ${this.maxDeliveries} deliveries in one flush (hosts answering each other forever?)`);
        }
        const f = this.queue[i] as LanFrame;
        this.hosts.get(f.to)?.receive(f);
      }
      this.queue = [];
    } finally {
      this.flushing = false;
    }
    return n;
  }
}

const pairKey = (a: string, b: string) => (a < b ? `${a}\0${b}` : `${b}\0${a}`);

/** One host: its addresses and one Demux per (interface, family), as socket.ts has one per link. */
class Host implements MemoryVrrpNet {
  alive = true;
  readonly counters = zeroCounters();
  private readonly links = new Map<string, Demux>();
  private readonly endpoints = new Set<FakeEndpoint>();
  private readonly addresses: Map<string, string[]>;

  constructor(
    readonly host: string,
    addresses: Record<string, readonly string[]>,
    private readonly lan: Lan,
  ) {
    this.addresses = new Map(Object.entries(addresses).map(([iface, list]) => [iface, list.map((a) => canonicalAddress(a, a.includes(':') ? 6 : 4) ?? a)]));
  }

  open(spec: EndpointSpec, handlers: EndpointHandlers & { onSendError?(err: Error): void }): VrrpEndpoint {
    if (!this.alive) throw new VrrpSocketError('CLOSED', 'this VrrpNet is closed');
    if (!this.addresses.has(spec.iface)) throw new VrrpSocketError('NO_INTERFACE', `no interface ${spec.iface} on ${this.host}`);
    const key = `${spec.iface}/${spec.family}`;
    let demux = this.links.get(key);
    if (!demux) {
      demux = new Demux(this.counters, this.lan.log, `${this.host} ${spec.iface} (IPv${spec.family})`);
      this.links.set(key, demux);
    }
    const member = new Member(spec, handlers, this.counters, this.lan.log);
    demux.add(member);
    const ep = new FakeEndpoint(this, member, handlers.onSendError);
    this.endpoints.add(ep);
    return ep;
  }

  stats(): VrrpNetStats {
    const endpoints: Record<string, VrrpCounters> = {};
    for (const ep of this.endpoints) endpoints[ep.member.spec.instance] = ep.stats();
    return { net: { ...this.counters }, endpoints };
  }

  async close(): Promise<void> {
    for (const ep of [...this.endpoints]) ep.close();
    this.alive = false;
  }

  detach(ep: FakeEndpoint): void {
    this.endpoints.delete(ep);
    const key = `${ep.member.spec.iface}/${ep.member.spec.family}`;
    const demux = this.links.get(key);
    demux?.remove(ep.member);
    if (demux && demux.size === 0) this.links.delete(key);
  }

  source(spec: EndpointSpec): string | undefined {
    if (spec.srcIp !== undefined) return canonicalAddress(spec.srcIp, spec.family);
    const list = this.addresses.get(spec.iface) ?? [];
    if (spec.family === 4) return list.find((a) => !a.includes(':'));
    return list.find((a) => /^fe[89ab]/.test(a)) ?? list.find((a) => a.includes(':'));
  }

  transmit(m: Member, src: string, dst: string, bytes: Uint8Array): void {
    this.lan.emit(this.host, m.spec.iface, m.spec.family, m.proto, src, dst, bytes);
  }

  /** Would this host's kernel hand the frame to one of our sockets? */
  hears(iface: string, family: Family, proto: number, dst: string): boolean {
    const members = this.links.get(`${iface}/${family}`)?.members() ?? [];
    if (isMulticast(dst)) {
      return members.some((m) => m.proto === proto && m.multicast && canonicalAddress(m.spec.mcastGroup, family) === dst);
    }
    return (this.addresses.get(iface) ?? []).includes(dst) && members.some((m) => m.proto === proto);
  }

  receive(f: LanFrame): void {
    // checked again on delivery: the endpoint may have closed while the frame was queued
    if (!this.alive || !this.hears(f.iface, f.family, f.proto, f.dst)) return;
    const demux = this.links.get(`${f.iface}/${f.family}`);
    demux?.deliver(f.family === 4 ? parseIpv4(f.bytes) : parseIpv6(f.bytes, { src: f.src }));
  }
}

class FakeEndpoint implements VrrpEndpoint {
  private closed = false;

  constructor(
    private readonly host: Host,
    readonly member: Member,
    private readonly onSendError: ((err: Error) => void) | undefined,
  ) {}

  get srcIp(): string | undefined {
    return this.host.source(this.member.spec);
  }

  send(priority: number, intervalCs?: number): void {
    if (this.closed) return this.failed(new VrrpSocketError('CLOSED', `${this.member.spec.instance}: send after close`));
    const src = this.srcIp;
    if (src === undefined) return this.failed(new VrrpSocketError('NO_SOURCE_ADDRESS', `no IPv${this.member.spec.family} address on ${this.member.spec.iface}`));
    try {
      for (const f of this.member.frames(src, priority, intervalCs)) {
        this.member.sent();
        this.host.transmit(this.member, src, f.dst, f.bytes);
      }
    } catch (err) {
      this.failed(new VrrpSocketError('ENCODE', `${this.member.spec.instance}: ${(err as Error).message}`, { cause: err }));
    }
  }

  stats(): VrrpCounters {
    return { ...this.member.counters };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.host.detach(this);
  }

  private failed(err: Error): void {
    this.member.sendFailed();
    try {
      this.onSendError?.(err);
    } catch {
      /* a test's handler; nothing to do */
    }
  }
}
