// VRRP packet codec, pure: bytes in, a typed advert or a drop reason out; adverts in, bytes out.
//
// Receiving is two steps, as in keepalived's vrrp_dispatcher_read: `parseIpv4`/`parseIpv6` read what
// any instance on the socket needs (addresses, the VRID to find the instance; keepalived.md §3.8
// step 1), then `validate` applies one instance's checks, steps 3–16, in keepalived's order
// (keepalived/vrrp/vrrp.c vrrp_check_packet). Decoding never throws: a bad packet is a value whose
// `reason` the caller counts. Encoding throws RangeError on our own bad values (a bug, not input).
//
// Wire formats (RFC 3768 VRRPv2, RFC 5798 VRRPv3), as keepalived 2.2.7 sends them:
//   0: version<<4 | type(1)   1: VRID   2: priority   3: address count
//   4: v2 auth type, 5: v2 interval (s) | 4-5: v3 reserved(4) + interval (cs, 12 bits)
//   6-7: checksum   8..: addresses (4 or 16 bytes each)   v2 over IPv4 only: 8 bytes of auth data
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Advert, AuthType, DropReason, EndpointSpec, Family, ReceivedAdvert } from './types.js';

export const VRRP_PROTO = 112, AH_PROTO = 51, MCAST4 = '224.0.0.18', MCAST6 = 'ff02::12';
/** TTL / hop limit of every multicast advert (RFC 5798 §5.1.1.3), and our default. */
export const VRRP_TTL = 255;

const ADVERTISEMENT = 1; // the only VRRP packet type
const HEADER = 8;
const AUTH_LEN = 8; // v2 auth data
const IPV4_HEADER = 20;
const AH_LEN = 24; // next header, payload len, reserved(2), SPI, sequence, 96-bit ICV
const AH_ICV = 12; // offset of the ICV inside AH; it is 12 bytes long (HMAC-MD5 truncated to 96 bits)
const AH_PAYLOAD_LEN = 4; // RFC 2402 §2.2: AH length in 32-bit words minus 2
// Frames shorter than ETH_ZLEN (60) are padded; the 14-byte Ethernet header and any 4-byte VLAN
// tags are gone by the time the socket returns the packet, so padding is 46 − len − 4k bytes.
const ETH_MIN_PAYLOAD = 46;
const VLAN_TAG = 4;

export interface IpInfo {
  family: 4 | 6;
  /** source address, canonical text */
  src: string;
  /** destination address, canonical text; '' when an IPv6 socket did not report it (no IPV6_PKTINFO) */
  dst: string;
  /** TTL / hop limit if known */
  ttl?: number;
  /** the AH header's SPI and sequence number (IPv4 with auth_type AH) */
  ah?: { spi: number; seq: number };
}

/** What validate() needs beyond the advert. The views point into the caller's buffer: validate first. */
export interface Wire {
  /** the buffer as received: the whole IPv4 packet (plus any padding), or the IPv6 payload */
  readonly bytes: Uint8Array;
  /** where the VRRP message starts (IPv4 header length + AH), and its length by its own count */
  readonly offset: number;
  readonly length: number;
  /** the type nibble (1 = ADVERTISEMENT), checked at step 11 */
  readonly type: number;
  /** IPv4 header length in bytes and tot_len; 0 for IPv6 */
  readonly ipHeaderLength: number;
  readonly totalLength: number;
}

export type Parsed =
  | { ok: true; ip: IpInfo; advert: Advert; wire: Wire }
  | { ok: false; reason: DropReason; detail: string };

type Drop = { ok: false; reason: DropReason; detail: string };
const drop = (reason: DropReason, detail: string): Drop => ({ ok: false, reason, detail });

// ---------------------------------------------------------------------------------------------
// Decoding

/** A whole IPv4 packet as a raw socket (IPPROTO_VRRP or AH) returns it: IP header, optional AH, VRRP message, optional Ethernet padding. */
export function parseIpv4(buf: Uint8Array): Parsed {
  if (buf.length < IPV4_HEADER) return drop('truncated', `IPv4 VRRP packet too short - ${buf.length} bytes`);
  const b0 = buf[0] as number;
  const ihl = (b0 & 0x0f) * 4;
  if (b0 >> 4 !== 4 || ihl < IPV4_HEADER) return drop('bad-ip-header', `not an IPv4 header (version ${b0 >> 4}, header length ${ihl})`);
  const protocol = buf[9] as number;
  if (protocol !== VRRP_PROTO && protocol !== AH_PROTO) return drop('bad-ip-header', `IP protocol ${protocol} is neither VRRP nor AH`);
  const offset = ihl + (protocol === AH_PROTO ? AH_LEN : 0);
  if (buf.length < offset + HEADER) {
    return drop('truncated', `IPv4 VRRP packet${protocol === AH_PROTO ? ' with AH' : ''} too short - ${buf.length} bytes`);
  }
  const ip: IpInfo = { family: 4, src: formatIpv4(buf, 12), dst: formatIpv4(buf, 16), ttl: buf[8] as number };
  if (protocol === AH_PROTO) {
    // The AH socket sees every AH packet on the link. keepalived reads past AH as if it were VRRP
    // and drops at step 9 without counting; we stop here, since what follows is not a VRRP header.
    if (buf[ihl] !== VRRP_PROTO) return drop('bad-ip-header', `AH next header ${buf[ihl]} is not VRRP`);
    ip.ah = { spi: readU32(buf, ihl + 4), seq: readU32(buf, ihl + 8) };
  }
  return decodeMessage(buf, offset, 4, ip, ihl, readU16(buf, 2));
}

/** An IPv6 raw socket returns only the payload (the VRRP message); the socket supplies src/dst/hop limit when it knows them. */
export function parseIpv6(payload: Uint8Array, meta: { src: string; dst?: string; hopLimit?: number }): Parsed {
  const src = canonicalAddress(withoutZone(meta.src), 6);
  if (src === undefined) return drop('bad-ip-header', `source ${JSON.stringify(meta.src)} is not an IPv6 address`);
  const dst = meta.dst === undefined ? '' : canonicalAddress(withoutZone(meta.dst), 6);
  if (dst === undefined) return drop('bad-ip-header', `destination ${JSON.stringify(meta.dst)} is not an IPv6 address`);
  if (payload.length < HEADER) return drop('truncated', `IPv6 VRRP packet too short - ${payload.length} bytes`);
  const ip: IpInfo = { family: 6, src, dst };
  if (meta.hopLimit !== undefined) ip.ttl = meta.hopLimit;
  return decodeMessage(payload, 0, 6, ip, 0, 0);
}

function decodeMessage(b: Uint8Array, at: number, family: Family, ip: IpInfo, ipHeaderLength: number, totalLength: number): Parsed {
  const version = (b[at] as number) >> 4;
  // keepalived checks the version later (step 7, after length and TTL); a version other than 2 or 3
  // has no Advert to hold it, so it stops here, counted under the same reason.
  if (version !== 2 && version !== 3) return drop('bad-version', `VRRP version ${version}`);
  const count = b[at + 3] as number;
  const size = family === 4 ? 4 : 16;
  // keepalived sends (and expects) the 8 bytes of v2 auth data over IPv4 only (expected_vrrp_pkt_len)
  const length = HEADER + count * size + (version === 2 && family === 4 ? AUTH_LEN : 0);
  // keepalived counts a message shorter than its own address count at step 5 ("too short"); an
  // Advert cannot be read without its addresses, so this is the decoder's `truncated`.
  if (b.length - at < length) {
    return drop('truncated', `VRRP message too short for ${count} addresses: ${b.length - at} bytes, need ${length}`);
  }
  const b4 = b[at + 4] as number, b5 = b[at + 5] as number;
  if (version === 2 && b4 > 2) return drop('auth-type-mismatch', `invalid auth type ${b4}`); // step 9, likewise
  const addresses: string[] = [];
  for (let o = at + HEADER, i = 0; i < count; i++, o += size) addresses.push(family === 4 ? formatIpv4(b, o) : formatIpv6(b, o));
  const authType = (version === 2 ? b4 : 0) as AuthType;
  const advert: Advert = {
    version,
    vrid: b[at + 1] as number,
    priority: b[at + 2] as number,
    // v2: whole seconds; v3: 12 bits of centiseconds, the top 4 bits of byte 4 are reserved
    intervalCs: version === 2 ? b5 * 100 : ((b4 & 0x0f) << 8) | b5,
    addresses,
    authType,
    ...(authType === 1 && family === 4 ? { authData: copy(b, at + length - AUTH_LEN, at + length) } : {}),
  };
  const wire: Wire = { bytes: b, offset: at, length, type: (b[at] as number) & 0x0f, ipHeaderLength, totalLength };
  return { ok: true, ip, advert, wire };
}

// ---------------------------------------------------------------------------------------------
// Validation (keepalived.md §3.8; keepalived/vrrp/vrrp.c vrrp_check_packet and vrrp_dispatcher_read)

export interface ValidateOptions {
  /** the instance's current advertisement interval (v2 compares; v3 only logs); default spec.intervalCs */
  ourIntervalCs?: number;
  /** we are priority 255 now; default spec.owner */
  owner?: boolean;
  /** skip_check_adv_addr: compare the address list only when the master changed */
  skipCheckAdvAddr?: boolean;
  /** source of the last advert accepted from the master, for skipCheckAdvAddr */
  lastMasterSrc?: string;
  /** AH: highest sequence number seen so far (keepalived's ipsecah_counter); not greater = replay */
  lastAhSeq?: number;
}

export type Validated =
  | {
      ok: true;
      rx: ReceivedAdvert;
      /** v3 unicast accepted with keepalived's old checksum (see step 12); reply the same way */
      legacyChecksum?: true;
    }
  | Drop;

/** keepalived's receive checks §3.8 steps 4–16, in keepalived's order, against one instance's spec. Returns the accepted advert or the drop reason. `ourIntervalCs` = the instance's current interval; `lastMasterSrc` for skip_check_adv_addr. Step 15 (address list mismatch) is NOT a drop: it sets ReceivedAdvert.addressMismatch. */
export function validate(p: Extract<Parsed, { ok: true }>, spec: EndpointSpec, opts: ValidateOptions = {}): Validated {
  const { ip, advert, wire } = p;
  const { bytes, offset, length } = wire;
  const end = offset + length;
  const s = view(spec);
  if (ip.family !== spec.family) return drop('bad-ip-header', `IPv${ip.family} packet for an IPv${spec.family} instance`);
  const multicast = ip.dst === '' ? undefined : isMulticast(ip.dst);
  const modeDrop = () =>
    drop('mode-mismatch', `expected ${s.unicast ? 'unicast' : 'multicast'} packet but received ${s.unicast ? 'multicast' : 'unicast'} packet from ${ip.src}`);

  // 3. IPv6: the dispatcher discards a multicast packet on a unicast instance and the reverse
  //    (the socket receives both). Unknown destination: cannot tell, keep going.
  if (ip.family === 6 && multicast !== undefined && multicast === s.unicast) return modeDrop();

  // 4. IPv4: an AH header iff auth_type AH
  if (ip.family === 4 && (ip.ah !== undefined) !== (s.authType === 2)) {
    return drop('auth-type-mismatch', ip.ah ? `received AH header but auth type is not AH from ${ip.src}` : `no AH header but auth type is AH from ${ip.src}`);
  }

  // 5. Length: IP header (+ AH) + the message by its count. Shorter was `truncated` in the parser;
  //    longer is Ethernet padding or an error.
  if (bytes.length !== end && !isPadding(end, bytes.length)) {
    return drop('bad-length', `vrrp packet from ${ip.src} too long, length ${bytes.length} and expect ${end}`);
  }

  // 6. TTL / hop limit 255, multicast only; unicast TTLs are checked per peer at step 16.
  if (!s.unicast && ip.ttl !== undefined && ip.ttl !== VRRP_TTL) {
    return drop('bad-ttl', `invalid TTL/HL from ${ip.src}. Received ${ip.ttl} and expect ${VRRP_TTL}`);
  }

  // 7. Version
  if (advert.version !== spec.version) {
    return drop('bad-version', `wrong VRRP version from ${ip.src}. Received ${advert.version} and expect ${spec.version}`);
  }

  // 8. auth_hmac trailers (keepalived ≥ 2.4) are not supported: no instance can be configured with one.

  if (advert.version === 2) {
    // 9. Authentication. (An auth type above 2 was refused by the parser.)
    if (advert.authType !== s.authType) {
      return drop('auth-type-mismatch', `received a ${advert.authType} auth from ${ip.src}, expecting ${s.authType}`);
    }
    if (s.authType === 1) {
      const got = advert.authData;
      if (got === undefined || !timingSafeEqual(got, s.key)) return drop('auth-failure', `received an invalid passwd from ${ip.src}`);
    } else if (s.authType === 2 && ip.ah) {
      // vrrp_in_chk_ipsecah: ICV first, then SPI = source address, then the sequence number
      const icv = ahIcv(bytes, wire.ipHeaderLength, end, s.key, s.unicast);
      const at = wire.ipHeaderLength + AH_ICV;
      if (!timingSafeEqual(icv, bytes.subarray(at, at + 12))) {
        return drop('auth-failure', `IPSEC-AH: invalid IPSEC HMAC-MD5 value from ${ip.src}, due to fields mutation or bad password`);
      }
      if (ip.ah.spi !== readU32(bytes, 12)) return drop('auth-failure', `IPSEC-AH: invalid SPI ${ip.ah.spi} from ${ip.src}`);
      if (opts.lastAhSeq !== undefined && ip.ah.seq <= opts.lastAhSeq) {
        return drop('auth-failure', `IPSEC-AH: sequence number ${ip.ah.seq} already processed (local ${opts.lastAhSeq})`);
      }
    }
    // 10. v2 only: a different Adver Int is dropped "to prevent concurrent VRID running => multiple master"
    const ours = opts.ourIntervalCs ?? spec.intervalCs;
    if (advert.intervalCs !== ours) {
      return drop('interval-mismatch', `advertisement interval mismatch with ${ip.src} mine=${ours / 100} sec rcv'd=${advert.intervalCs / 100} sec`);
    }
  }

  // 11. Type, then the IPv4 total length against what was received (padding tolerated)
  if (wire.type !== ADVERTISEMENT) return drop('bad-type', `invalid packet type from ${ip.src}. ${wire.type} and expect ${ADVERTISEMENT}`);
  if (ip.family === 4 && wire.totalLength !== bytes.length && !isTotLenPadding(wire.totalLength, bytes.length)) {
    return drop('bad-length', `ip_tot_len mismatch against received length from ${ip.src}. ${wire.totalLength} and received ${bytes.length}`);
  }
  // v3: an interval different from ours is only logged by keepalived (a backup adopts the
  // master's, RFC 5798 §6.4.2), so nothing to do here.

  // 12. Checksum. IPv4 v2: RFC 1071 over the message with its auth data. v3: over the pseudo-header
  //     {src, dst, 0, 112, length} + message. keepalived leaves IPv6 to the kernel (IPV6_CHECKSUM);
  //     we check it too when the socket reported the destination, so a socket without that option
  //     is no weaker.
  let legacy = false;
  const msg = bytes.subarray(offset, end);
  if (ip.family === 4) {
    const sum = advert.version === 2 ? inetChecksum(msg) : inetChecksum(pseudo4(bytes.subarray(12, 16), bytes.subarray(16, 20), length), msg);
    if (sum !== 0) {
      // keepalived before 1.3.6 computed the unicast v3 checksum with the multicast group as the
      // pseudo-header destination. keepalived accepts that form from a unicast peer (the
      // old_unicast_checksum auto-detection) and then answers in kind: `legacyChecksum` tells the
      // caller to do the same (encodeIpv4Packet's checksumDst).
      legacy = advert.version === 3 && s.unicast && s.group !== undefined && !equalBytes(bytes.subarray(16, 20), s.group)
        && inetChecksum(pseudo4(bytes.subarray(12, 16), s.group, length), msg) === 0;
      if (!legacy) return drop('bad-checksum', `invalid VRRPv${advert.version} checksum from ${ip.src}`);
    }
  } else if (ip.dst !== '') {
    const src = ipv6Bytes(ip.src) as Uint8Array, dst = ipv6Bytes(ip.dst) as Uint8Array; // canonical: they parse
    if (inetChecksum(pseudo6(src, dst, length), msg) !== 0) return drop('bad-checksum', `invalid VRRPv${advert.version} checksum from ${ip.src}`);
  }

  // 13. IPv4: destination multicast iff the instance is not unicast
  if (ip.family === 4 && multicast === s.unicast) return modeDrop();

  // 14. owner_ignore_adverts while we are the address owner
  if (spec.ownerIgnoreAdverts && (opts.owner ?? spec.owner)) return drop('owner-ignore', `dropping packet from ${ip.src} since we are address owner`);

  // 15. Address list: logged and counted by keepalived, not dropped. The count is always compared;
  //     the addresses only when the master changed or skip_check_adv_addr is off.
  let addressMismatch = advert.addresses.length !== s.addresses.length;
  if (!addressMismatch && (!opts.skipCheckAdvAddr || opts.lastMasterSrc !== ip.src)) {
    const got = new Set(advert.addresses);
    addressMismatch = s.addresses.some((a) => a === undefined || !got.has(a));
  }

  // 16. Unicast source must be a configured peer, when check_unicast_src is set (a peer's
  //     min_ttl/max_ttl sets it too, keepalived vrrp_data.c); then that peer's TTL range applies.
  if (s.checkSrc) {
    const peer = s.peers.find((q) => q.address === ip.src);
    if (!peer) return drop('unknown-peer', `unicast source address ${ip.src} not a unicast peer`);
    if (ip.ttl !== undefined && (ip.ttl < peer.minTtl || ip.ttl > peer.maxTtl)) {
      return drop('bad-ttl', `TTL/HL ${ip.ttl} from ${ip.src} not in range [${peer.minTtl}, ${peer.maxTtl}]`);
    }
  }

  const rx: ReceivedAdvert = { advert, src: ip.src, ...(ip.dst !== '' ? { dst: ip.dst } : {}), addressMismatch };
  return legacy ? { ok: true, rx, legacyChecksum: true } : { ok: true, rx };
}

/** step 5: buffer longer than the packet by Ethernet padding (keepalived: expected < 46, excess ≡ 46 mod 4) */
function isPadding(expected: number, got: number): boolean {
  return expected < ETH_MIN_PAYLOAD && expected < got && (got - expected) % VLAN_TAG === ETH_MIN_PAYLOAD % VLAN_TAG;
}

/** step 11: the same allowance between tot_len and what was received, which cannot exceed 46 bytes */
function isTotLenPadding(totLen: number, got: number): boolean {
  return got <= ETH_MIN_PAYLOAD && totLen < got && (got - totLen) % VLAN_TAG === ETH_MIN_PAYLOAD % VLAN_TAG;
}

/** What validate() derives from a spec, computed once per spec object (specs are immutable). */
interface SpecView {
  unicast: boolean;
  /** the auth type keepalived ends up with: none for v3, and AH is refused over IPv6 (vrrp_complete_instance) */
  authType: AuthType;
  /** the password as 8 NUL-padded bytes (PASS data and AH HMAC key) */
  key: Uint8Array;
  addresses: (string | undefined)[];
  peers: { address: string | undefined; minTtl: number; maxTtl: number }[];
  checkSrc: boolean;
  /** the multicast group as bytes, for the legacy v3 unicast checksum (IPv4) */
  group: Uint8Array | undefined;
}

const views = new WeakMap<EndpointSpec, SpecView>();

function view(spec: EndpointSpec): SpecView {
  let v = views.get(spec);
  if (v) return v;
  const unicast = spec.unicastPeers.length > 0;
  const auth = spec.version === 2 && spec.auth?.pass ? spec.auth : undefined;
  const authType: AuthType = !auth ? 0 : auth.type === 'PASS' ? 1 : spec.family === 4 ? 2 : 0;
  v = {
    unicast,
    authType,
    key: authDataFromPass(auth?.pass ?? ''),
    addresses: spec.addresses.map((a) => canonicalAddress(a, spec.family)),
    peers: spec.unicastPeers.map((q) => ({ address: canonicalAddress(q.address, spec.family), minTtl: q.minTtl ?? 0, maxTtl: q.maxTtl ?? 255 })),
    checkSrc: unicast && (spec.checkUnicastSrc === true || spec.unicastPeers.some((q) => q.minTtl !== undefined || q.maxTtl !== undefined)),
    group: spec.family === 4 ? ipv4Bytes(spec.mcastGroup) : undefined,
  };
  views.set(spec, v);
  return v;
}

// ---------------------------------------------------------------------------------------------
// Encoding

/** The VRRP message alone (8-byte header + addresses [+ 8 bytes auth data for v2 over IPv4]), checksum filled in. v3 and IPv6 use the pseudo-header with src/dst; v2 over IPv4 uses RFC 1071 over the message. */
export function encodeAdvert(a: Advert, ip: { family: 4 | 6; src: string; dst: string }): Uint8Array {
  const family = ip.family;
  if (family !== 4 && family !== 6) throw new RangeError(`address family ${String(family)}`);
  const addrs = checkAdvert(a, family);
  const src = addressOrThrow(ip.src, family, 'source'), dst = addressOrThrow(ip.dst, family, 'destination');
  const size = family === 4 ? 4 : 16;
  const auth = a.version === 2 && family === 4;
  const length = HEADER + addrs.length * size + (auth ? AUTH_LEN : 0);
  const m = new Uint8Array(length);
  m[0] = (a.version << 4) | ADVERTISEMENT;
  m[1] = a.vrid;
  m[2] = a.priority;
  m[3] = addrs.length;
  if (a.version === 2) {
    m[4] = a.authType;
    m[5] = a.intervalCs / 100;
  } else {
    m[4] = a.intervalCs >> 8; // reserved bits zero
    m[5] = a.intervalCs & 0xff;
  }
  addrs.forEach((bytes, i) => m.set(bytes, HEADER + i * size));
  if (auth && a.authData) m.set(a.authData, HEADER + addrs.length * size); // shorter data stays NUL padded
  const sum = auth ? inetChecksum(m) : inetChecksum(family === 4 ? pseudo4(src, dst, length) : pseudo6(src, dst, length), m);
  m[6] = sum >> 8;
  m[7] = sum & 0xff;
  return m;
}

/**
 * A complete IPv4 packet for a socket with IP_HDRINCL, as keepalived builds it (vrrp_build_ip4,
 * vrrp_build_ipsecah, vrrp_update_pkt): TOS 0xc0, TTL 255 unless given, DF not set, protocol 112,
 * or 51 with AH in front (next header 112, SPI = source address, sequence `ah.seq`, HMAC-MD5-96 ICV
 * keyed with the password). The header checksum is filled in (the kernel rewrites it anyway).
 *
 * `id`: the kernel fills in a zero IP id, so keepalived counts its own from 1 (never 0) and the
 * captures carry 1, 2, 3... Default 0 (the kernel's), but with AH the id is covered by the ICV and
 * must not change after it: default then the sequence number's low 16 bits (never 0), which is what
 * keepalived's two counters amount to.
 * `checksumDst`: v3 pseudo-header destination when it differs from `dst` (the legacy unicast form).
 */
export function encodeIpv4Packet(
  a: Advert,
  ip: { src: string; dst: string; ttl?: number; id?: number; checksumDst?: string },
  ah?: { pass: string; seq: number },
): Uint8Array {
  if ((a.authType === 2) !== (ah !== undefined)) throw new RangeError('auth type 2 (AH) and the AH options go together');
  const ttl = ip.ttl ?? VRRP_TTL;
  if (!Number.isInteger(ttl) || ttl < 1 || ttl > 255) throw new RangeError(`TTL ${ttl}`);
  const id = ip.id ?? (ah ? ah.seq & 0xffff || 1 : 0);
  if (!Number.isInteger(id) || id < 0 || id > 0xffff || (ah && id === 0)) throw new RangeError(`IP id ${id}${ah ? ' (AH needs a non-zero id)' : ''}`);
  if (ah && (!Number.isInteger(ah.seq) || ah.seq < 0 || ah.seq > 0xffffffff)) throw new RangeError(`AH sequence number ${ah.seq}`);
  const msg = encodeAdvert(a, { family: 4, src: ip.src, dst: ip.checksumDst ?? ip.dst });
  const src = addressOrThrow(ip.src, 4, 'source'), dst = addressOrThrow(ip.dst, 4, 'destination');
  const offset = IPV4_HEADER + (ah ? AH_LEN : 0);
  const p = new Uint8Array(offset + msg.length);
  p[0] = 0x45; // version 4, 5 words
  p[1] = 0xc0; // TOS: internetwork control
  writeU16(p, 2, p.length);
  writeU16(p, 4, id);
  p[8] = ttl;
  p[9] = ah ? AH_PROTO : VRRP_PROTO;
  p.set(src, 12);
  p.set(dst, 16);
  p.set(msg, offset);
  if (ah) {
    p[IPV4_HEADER] = VRRP_PROTO;
    p[IPV4_HEADER + 1] = AH_PAYLOAD_LEN;
    p.set(src, IPV4_HEADER + 4); // SPI: the sender's address (keepalived's choice for multicast SAs)
    writeU32(p, IPV4_HEADER + 8, ah.seq);
    // keepalived zeroes the TTL in the ICV input for unicast instances, which send to unicast peers
    p.set(ahIcv(p, IPV4_HEADER, p.length, authDataFromPass(ah.pass), !isMulticast(ip.dst)), IPV4_HEADER + AH_ICV);
  }
  writeU16(p, 10, inetChecksum(p.subarray(0, IPV4_HEADER)));
  return p;
}

/** The auth_pass as keepalived keeps it: its bytes truncated or NUL-padded to 8 (PASS data and AH key). */
export function authDataFromPass(pass: string): Uint8Array {
  const out = new Uint8Array(AUTH_LEN);
  out.set(new TextEncoder().encode(pass).subarray(0, AUTH_LEN));
  return out;
}

function checkAdvert(a: Advert, family: Family): Uint8Array[] {
  const int = (v: number, lo: number, hi: number) => Number.isInteger(v) && v >= lo && v <= hi;
  if (a.version !== 2 && a.version !== 3) throw new RangeError(`VRRP version ${String(a.version)}`);
  if (!int(a.vrid, 1, 255)) throw new RangeError(`VRID ${a.vrid} (1-255)`);
  if (!int(a.priority, 0, 255)) throw new RangeError(`priority ${a.priority} (0-255)`);
  if (a.version === 2 ? !(int(a.intervalCs / 100, 1, 255)) : !int(a.intervalCs, 1, 4095)) {
    throw new RangeError(`advert interval ${a.intervalCs} cs (${a.version === 2 ? 'v2: whole seconds 1-255' : 'v3: 1-4095 cs'})`);
  }
  if (a.addresses.length > 255) throw new RangeError(`${a.addresses.length} addresses (at most 255)`);
  if (a.authType !== 0 && a.authType !== 1 && a.authType !== 2) throw new RangeError(`auth type ${String(a.authType)}`);
  if (a.authType !== 0 && (a.version !== 2 || family !== 4)) throw new RangeError('authentication is VRRPv2 over IPv4 only');
  if ((a.authType === 1) !== (a.authData !== undefined)) throw new RangeError('auth data goes with auth type 1 (PASS) only');
  if (a.authData && a.authData.length > AUTH_LEN) throw new RangeError(`auth data of ${a.authData.length} bytes (at most 8)`);
  return a.addresses.map((t) => addressOrThrow(t, family, 'virtual'));
}

/** HMAC-MD5-96 over the IP header (mutable fields zeroed, RFC 2402 §3.3.3.1) + AH (ICV zeroed) + message. */
function ahIcv(packet: Uint8Array, ipHeaderLength: number, end: number, key: Uint8Array, zeroTtl: boolean): Uint8Array {
  const head = copy(packet, 0, ipHeaderLength + AH_LEN);
  head[1] = 0; // TOS
  head[6] = head[7] = 0; // flags, fragment offset
  head[10] = head[11] = 0; // header checksum
  if (zeroTtl) head[8] = 0;
  head.fill(0, ipHeaderLength + AH_ICV, ipHeaderLength + AH_LEN);
  const mac = createHmac('md5', key).update(head).update(packet.subarray(ipHeaderLength + AH_LEN, end)).digest();
  return new Uint8Array(mac.buffer, mac.byteOffset, AH_LEN - AH_ICV);
}

// ---------------------------------------------------------------------------------------------
// Checksums

/** RFC 1071 Internet checksum over the concatenation of `parts`; 0 when verifying correct data. */
export function inetChecksum(...parts: Uint8Array[]): number {
  let sum = 0;
  let odd = false; // position in the concatenation, so a part may end mid-word
  for (const part of parts) {
    for (let i = 0; i < part.length; i++) {
      sum += odd ? (part[i] as number) : (part[i] as number) << 8;
      odd = !odd;
    }
    sum = (sum & 0xffff) + (sum >>> 16);
  }
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

function pseudo4(src: Uint8Array, dst: Uint8Array, length: number): Uint8Array {
  const p = new Uint8Array(12);
  p.set(src, 0);
  p.set(dst, 4);
  p[9] = VRRP_PROTO;
  writeU16(p, 10, length);
  return p;
}

/** RFC 8200 §8.1: source, destination, upper-layer length (32 bits), 3 zero bytes, next header */
function pseudo6(src: Uint8Array, dst: Uint8Array, length: number): Uint8Array {
  const p = new Uint8Array(40);
  p.set(src, 0);
  p.set(dst, 16);
  writeU32(p, 32, length);
  p[39] = VRRP_PROTO;
  return p;
}

// ---------------------------------------------------------------------------------------------
// Addresses: canonical text is the dotted quad for IPv4 and RFC 5952 for IPv6 (lower case, no
// leading zeros, the longest run of two or more zero groups as "::", the first on a tie). IPv4-
// mapped addresses stay in hex (::ffff:a00:1), the form the config reader's canonical() gives.

/** Canonical text of an address in `family`, or undefined if it is not one. */
export function canonicalAddress(text: string, family: Family): string | undefined {
  const b = family === 4 ? ipv4Bytes(text) : ipv6Bytes(text);
  return b && (family === 4 ? formatIpv4(b, 0) : formatIpv6(b, 0));
}

/** IPv4 224.0.0.0/4, IPv6 ff00::/8 */
export function isMulticast(address: string): boolean {
  if (address.includes(':')) return address.slice(0, 2).toLowerCase() === 'ff';
  const first = Number(address.slice(0, address.indexOf('.')));
  return first >= 224 && first <= 239;
}

function addressOrThrow(text: string, family: Family, what: string): Uint8Array {
  const b = family === 4 ? ipv4Bytes(text) : ipv6Bytes(text);
  if (!b) throw new RangeError(`${what} address ${JSON.stringify(text)} is not IPv${family}`);
  return b;
}

function withoutZone(text: string): string {
  const pct = text.indexOf('%');
  return pct < 0 ? text : text.slice(0, pct);
}

function ipv4Bytes(text: string): Uint8Array | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const part = parts[i] as string;
    if (!/^\d{1,3}$/.test(part) || Number(part) > 255) return undefined;
    out[i] = Number(part);
  }
  return out;
}

function ipv6Bytes(text: string): Uint8Array | undefined {
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const compressed = halves.length === 2;
  // a trailing dotted quad (::ffff:10.0.0.1) is allowed only at the very end
  const head = groups(halves[0] as string, !compressed);
  const tail = compressed ? groups(halves[1] as string, true) : [];
  if (!head || !tail) return undefined;
  const n = head.length + tail.length;
  if (compressed ? n > 7 : n !== 8) return undefined;
  const out = new Uint8Array(16);
  head.forEach((w, i) => writeU16(out, 2 * i, w));
  tail.forEach((w, i) => writeU16(out, 2 * (8 - tail.length + i), w));
  return out;
}

function groups(s: string, v4Last: boolean): number[] | undefined {
  if (s === '') return [];
  const parts = s.split(':');
  const out: number[] = [];
  for (let i = 0; i < parts.length; i++) {
    const g = parts[i] as string;
    if (v4Last && i === parts.length - 1 && g.includes('.')) {
      const v4 = ipv4Bytes(g);
      if (!v4) return undefined;
      out.push(readU16(v4, 0), readU16(v4, 2));
    } else if (/^[0-9a-fA-F]{1,4}$/.test(g)) out.push(parseInt(g, 16));
    else return undefined;
  }
  return out;
}

function formatIpv4(b: Uint8Array, at: number): string {
  return `${b[at]}.${b[at + 1]}.${b[at + 2]}.${b[at + 3]}`;
}

function formatIpv6(b: Uint8Array, at: number): string {
  const w: number[] = [];
  for (let i = 0; i < 8; i++) w.push(readU16(b, at + 2 * i));
  let best = -1, bestLen = 1; // only runs of 2 or more are compressed (RFC 5952 §4.2.2)
  for (let i = 0; i < 8; ) {
    let j = i;
    while (j < 8 && w[j] === 0) j++;
    if (j - i > bestLen) [best, bestLen] = [i, j - i];
    i = j === i ? i + 1 : j;
  }
  const hex = (ws: number[]) => ws.map((x) => x.toString(16)).join(':');
  return best < 0 ? hex(w) : `${hex(w.slice(0, best))}::${hex(w.slice(best + bestLen))}`;
}

// ---------------------------------------------------------------------------------------------
// Byte helpers (network order)

function readU16(b: Uint8Array, at: number): number {
  return ((b[at] as number) << 8) | (b[at + 1] as number);
}
function readU32(b: Uint8Array, at: number): number {
  return (((b[at] as number) << 24) >>> 0) + (readU16(b, at + 1) << 8) + (b[at + 3] as number);
}
/** A plain Uint8Array copy (a Buffer's slice() is a view, and the caller may reuse its buffer). */
function copy(b: Uint8Array, from: number, to: number): Uint8Array {
  return new Uint8Array(b.subarray(from, to));
}
function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
function writeU16(b: Uint8Array, at: number, v: number): void {
  b[at] = v >> 8;
  b[at + 1] = v & 0xff;
}
function writeU32(b: Uint8Array, at: number, v: number): void {
  writeU16(b, at, v >>> 16);
  writeU16(b, at + 2, v & 0xffff);
}
