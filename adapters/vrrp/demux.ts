// The part of a VrrpNet that does not touch a socket, shared by `socket.ts` and the in-memory fake
// (`test/fakes/vrrpNet.ts`) so both pick, check and count packets the same way:
//
// - receiving (keepalived vrrp_dispatcher_read): a parsed packet goes to the endpoint with its VRID,
//   instances sharing a VRID are told apart by sender, then `validate` (codec.ts) applies that
//   instance's checks; the advert is handed over or the drop counted, never thrown;
// - sending: the frames one `send()` puts on the wire (one per unicast peer, or one to the group).
//
// Pure: no I/O, no timers. Handlers are called synchronously and their exceptions are caught here.
import { authDataFromPass, canonicalAddress, encodeAdvert, encodeIpv4Packet, isMulticast, validate, type Parsed } from './codec.js';
import type { Advert, DropReason, EndpointHandlers, EndpointSpec, ReceivedAdvert, VrrpCounters } from './types.js';

/** A pino-like logger; pino's Logger fits. */
export interface Log {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export const silentLog: Log = { debug() {}, info() {}, warn() {}, error() {} };

const DROP_REASONS: readonly DropReason[] = [
  'truncated', 'bad-ip-header', 'startup-delay', 'unknown-vrid', 'not-ready', 'mode-mismatch', 'auth-type-mismatch',
  'bad-length', 'bad-ttl', 'bad-version', 'auth-failure', 'interval-mismatch', 'bad-type', 'bad-checksum',
  'owner-ignore', 'unknown-peer',
];

export function zeroCounters(): VrrpCounters {
  const c = { rx: 0, tx: 0, txError: 0 } as VrrpCounters;
  for (const r of DROP_REASONS) c[r] = 0;
  return c;
}

/** Rate-limited logging without timers: the 1st, 2nd, 4th, 8th... occurrence of a count. */
const worthLogging = (n: number) => (n & (n - 1)) === 0;

/** IP protocol of an endpoint's adverts: AH (51) for auth_type AH, else VRRP (112). */
export const protoOf = (spec: EndpointSpec): 51 | 112 => (usesAh(spec) ? 51 : 112);

/** keepalived uses AH only for VRRPv2 over IPv4 (vrrp_complete_instance drops it otherwise). */
const usesAh = (spec: EndpointSpec) => spec.auth?.type === 'AH' && spec.version === 2 && spec.family === 4;

/**
 * One packet to put on the wire. IPv4: the whole packet (IP header included); IPv6: the VRRP
 * message. Its bytes are never modified: `Member.frames()` hands out the same frames again while
 * nothing in them changes.
 */
export interface Frame {
  readonly dst: string;
  readonly ttl: number;
  readonly bytes: Uint8Array;
}

/** An open endpoint as the demultiplexer sees it: its spec, handlers, counters and receive state. */
export class Member {
  readonly counters = zeroCounters();
  readonly proto: 51 | 112;
  /** canonical unicast peer addresses; empty = multicast */
  readonly peers: ReadonlySet<string>;
  /** canonical source of the last accepted advert (keepalived's pkt_saddr) */
  lastSrc: string | undefined;
  /** AH sequence number, one counter for sending and receiving as keepalived's ipsecah_counter */
  ahSeq = 0;
  /** the last accepted advert carried keepalived's pre-1.3.6 unicast v3 checksum: answer in kind */
  legacyChecksum = false;
  /** the last frames built and what they depend on beyond the spec (which never changes) */
  private last: { src: string; priority: number; intervalCs: number; legacyChecksum: boolean; frames: Frame[] } | undefined;

  constructor(
    readonly spec: EndpointSpec,
    readonly handlers: EndpointHandlers,
    /** the net's counters, which also total tx/txError */
    private readonly netCounters: VrrpCounters,
    private readonly log: Log,
  ) {
    this.proto = protoOf(spec);
    this.peers = new Set(spec.unicastPeers.map((p) => canonicalAddress(p.address, spec.family) ?? p.address));
  }

  get multicast(): boolean {
    return this.peers.size === 0;
  }

  /**
   * The frames for one advert from `src`: one per unicast peer or one to the group. Throws
   * RangeError (from the codec) on values that cannot be encoded, e.g. priority 256.
   */
  frames(src: string, priority: number, intervalCs = this.spec.intervalCs): Frame[] {
    const { spec } = this;
    const ah = usesAh(spec);
    // A MASTER sends the same bytes every advert_int: encode once, then hand them out again
    // (measured: 4 µs and 4 KB of garbage per advert). Not with AH: every advert has a new
    // sequence number under the ICV.
    const l = this.last;
    if (!ah && l && l.src === src && l.priority === priority && l.intervalCs === intervalCs && l.legacyChecksum === this.legacyChecksum) return l.frames;
    const pass = spec.version === 2 && spec.family === 4 && spec.auth?.type === 'PASS' ? spec.auth.pass : undefined;
    const advert: Advert = {
      version: spec.version,
      vrid: spec.vrid,
      priority,
      intervalCs,
      addresses: spec.addresses,
      authType: ah ? 2 : pass !== undefined ? 1 : 0,
      ...(pass !== undefined ? { authData: authDataFromPass(pass) } : {}),
    };
    // keepalived increments the AH sequence once per advert, not per peer, and stops at
    // 0xfffffffd (vrrp_update_pkt; "we are not going to reach the limit" in 136 years at 1 s)
    if (ah && this.ahSeq < 0xfffffffd) this.ahSeq++;
    const dsts = this.multicast ? [spec.mcastGroup] : spec.unicastPeers.map((p) => p.address);
    const ttl = this.multicast ? 255 : (spec.unicastTtl ?? 255);
    const frames = dsts.map((dst): Frame => {
      if (spec.family === 6) return { dst, ttl, bytes: encodeAdvert(advert, { family: 6, src, dst }) };
      const checksumDst = this.legacyChecksum && !this.multicast ? { checksumDst: spec.mcastGroup } : {};
      const bytes = encodeIpv4Packet(advert, { src, dst, ttl, ...checksumDst }, ah ? { pass: spec.auth?.pass ?? '', seq: this.ahSeq } : undefined);
      return { dst, ttl, bytes };
    });
    if (!ah) this.last = { src, priority, intervalCs, legacyChecksum: this.legacyChecksum, frames };
    return frames;
  }

  sent(): void {
    this.counters.tx++;
    this.netCounters.tx++;
  }

  sendFailed(): void {
    this.counters.txError++;
    this.netCounters.txError++;
  }

  accept(rx: ReceivedAdvert, legacyChecksum: boolean, ahSeq: number | undefined): void {
    this.counters.rx++;
    this.lastSrc = rx.src;
    this.legacyChecksum = legacyChecksum;
    if (ahSeq !== undefined) this.ahSeq = ahSeq;
    try {
      this.handlers.onAdvert(rx);
    } catch (err) {
      this.log.error({ err, instance: this.spec.instance }, 'onAdvert handler threw');
    }
  }

  drop(reason: DropReason, src: string | undefined, detail: string): void {
    const n = ++this.counters[reason];
    if (worthLogging(n)) this.log.info({ instance: this.spec.instance, reason, src, count: n }, detail);
    try {
      this.handlers.onDrop(reason, src, detail);
    } catch (err) {
      this.log.error({ err, instance: this.spec.instance }, 'onDrop handler threw');
    }
  }
}

/**
 * The endpoints of one (interface, family): finds the one a packet is for and checks it. Its
 * counters are the net's: every datagram (`rx`) and the drops no endpoint claimed.
 */
export class Demux {
  private readonly byVrid = new Map<number, Member[]>();
  private count = 0;

  constructor(
    private readonly counters: VrrpCounters,
    private readonly log: Log,
    private readonly where: string,
    /** global_defs log_unknown_vrids: adverts for a VRID no instance has are logged at info */
    private readonly logUnknownVrids = false,
  ) {}

  get size(): number {
    return this.count;
  }

  members(): Member[] {
    return [...this.byVrid.values()].flat();
  }

  add(m: Member): void {
    const list = this.byVrid.get(m.spec.vrid);
    if (list) list.push(m);
    else this.byVrid.set(m.spec.vrid, [m]);
    this.count++;
  }

  remove(m: Member): void {
    const list = this.byVrid.get(m.spec.vrid);
    const i = list?.indexOf(m) ?? -1;
    if (!list || i < 0) return;
    list.splice(i, 1);
    if (list.length === 0) this.byVrid.delete(m.spec.vrid);
    this.count--;
  }

  /** One received datagram, parsed: delivered to its endpoint or counted as a drop. Never throws. */
  deliver(p: Parsed): void {
    this.counters.rx++;
    if (!p.ok) return this.unclaimed(p.reason, undefined, p.detail);
    const { ip, advert } = p;
    const m = this.pick(advert.vrid, ip.src, ip.dst);
    if (!m) return this.unclaimed('unknown-vrid', ip.src, `unknown VRID ${advert.vrid} received on ${this.where} from ${ip.src}`);
    const v = validate(p, m.spec, { lastMasterSrc: m.lastSrc, ...(m.proto === 51 ? { lastAhSeq: m.ahSeq } : {}) });
    if (!v.ok) return m.drop(v.reason, ip.src, v.detail);
    m.accept(v.rx, v.legacyChecksum === true, ip.ah?.seq);
  }

  /** A datagram that could not be read at all (an internal error), counted so nothing goes missing. */
  fail(reason: DropReason, detail: string): void {
    this.counters.rx++;
    this.unclaimed(reason, undefined, detail);
  }

  /**
   * keepalived finds the instance by VRID; instances sharing one (unicast, disjoint peers) are told
   * apart by the sender: first the one whose last advert came from it, then the one with it as a
   * peer (vrrp_dispatcher_read, VRRP_FLAG_UNICAST_DUPLICATE_VRID). keepalived keeps multicast and
   * unicast instances on different sockets; ours share one, so a multicast (or IPv6: unknown)
   * destination falls back to the multicast instance.
   */
  private pick(vrid: number, src: string, dst: string): Member | undefined {
    const list = this.byVrid.get(vrid);
    if (!list || list.length <= 1) return list?.[0];
    const toGroup = dst === '' || isMulticast(dst);
    return list.find((m) => m.lastSrc === src) ?? list.find((m) => m.peers.has(src)) ?? (toGroup ? list.find((m) => m.multicast) : undefined);
  }

  private unclaimed(reason: DropReason, src: string | undefined, detail: string): void {
    const n = ++this.counters[reason];
    // keepalived logs unknown VRIDs only with log_unknown_vrids (rate limited here as every drop is)
    if (!worthLogging(n)) return;
    if (reason === 'unknown-vrid' && this.logUnknownVrids) this.log.info({ where: this.where, reason, src, count: n }, detail);
    else this.log.debug({ where: this.where, reason, src, count: n }, detail);
  }
}
