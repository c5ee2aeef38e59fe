// Pure builders for what a new VRRP master sends for each of its virtual addresses so that hosts and
// switches on the link learn the new owner at once (keepalived.md §3.12):
//
// - IPv4: a gratuitous ARP *request*, a whole Ethernet frame, as keepalived's
//   send_gratuitous_arp_immediate() (keepalived/vrrp/vrrp_arp.c) builds it. It goes out through an
//   AF_PACKET socket (native/packet.c).
// - IPv6: an unsolicited Neighbour Advertisement (RFC 4861 §4.4, §7.2.6), as keepalived's
//   ndisc_send_unsolicited_na_immediate() (keepalived/vrrp/vrrp_ndisc.c) builds it: a whole frame
//   (`naFrame`, through AF_PACKET too), or the ICMPv6 message alone (`unsolicitedNa`, for a raw
//   ICMPv6 socket when the addon is not built: the kernel then writes the headers and checksum).
//
// Encoders throw RangeError on a bad argument: callers validate user input first (a bug otherwise).

export const ETH_P_IP = 0x0800;
export const ETH_P_ARP = 0x0806;
export const ETH_P_IPV6 = 0x86dd;
const ARPHRD_ETHER = 1;
const ARPOP_REQUEST = 1;

export const ETH_HLEN = 14;
/** Ethernet header + ARP for Ethernet/IPv4: 14 + 28. Not padded to 60: the NIC pads (keepalived does the same). */
export const GARP_FRAME_LEN = 42;

export const ND_NEIGHBOR_ADVERT = 136;
const ND_NA_FLAG_ROUTER = 0x80;
const ND_NA_FLAG_SOLICITED = 0x40;
const ND_NA_FLAG_OVERRIDE = 0x20;
const ND_OPT_TARGET_LINKADDR = 2;
/** 4 (type, code, checksum) + 4 (flags, reserved) + 16 (target) + 8 (target link-layer address option) */
export const NA_LEN = 32;

const BROADCAST = new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);

function need(b: Uint8Array, len: number, what: string): void {
  if (b.length !== len) throw new RangeError(`${what}: expected ${len} bytes, got ${b.length}`);
}

/**
 * Gratuitous ARP request for `ip`, claiming it for `mac`.
 *
 * Ethernet: dst broadcast, src `mac`, type 0x0806. ARP: hrd 1, pro 0x0800, hln 6, pln 4, op 1
 * (REQUEST), sender = (`mac`, `ip`), target = (ff:ff:ff:ff:ff:ff, `ip`).
 *
 * keepalived sends a *request* with sender IP = target IP = the VIP (every ARP implementation
 * updates its cache from a request's sender fields) and fills the target hardware address with the
 * link's broadcast address (`ifp->hw_addr_bcast`), not with zeros as RFC 5227 §2.3's ARP
 * Announcement would. We do what keepalived does; receivers ignore that field.
 */
export function garpFrame(mac: Uint8Array, ip: Uint8Array): Uint8Array {
  need(mac, 6, 'garpFrame mac');
  need(ip, 4, 'garpFrame ip');
  const f = new Uint8Array(GARP_FRAME_LEN);
  const v = new DataView(f.buffer);
  f.set(BROADCAST, 0);
  f.set(mac, 6);
  v.setUint16(12, ETH_P_ARP);
  v.setUint16(14, ARPHRD_ETHER);
  v.setUint16(16, ETH_P_IP);
  f[18] = 6;
  f[19] = 4;
  v.setUint16(20, ARPOP_REQUEST);
  f.set(mac, 22); // sender hardware address
  f.set(ip, 28); //  sender protocol address
  f.set(BROADCAST, 32); // target hardware address: broadcast, as keepalived
  f.set(ip, 38); //  target protocol address
  return f;
}

/**
 * Unsolicited Neighbour Advertisement for `target`, with a Target Link-Layer Address option = `mac`.
 *
 * Flags as keepalived's ndisc_send_unsolicited_na_immediate() (keepalived/vrrp/vrrp_ndisc.c):
 * Override set (so caches replace the old owner's address, RFC 4861 §7.2.6), Solicited clear (it is
 * sent to ff02::1), Router set when the interface forwards IPv6 (keepalived re-reads
 * net.ipv6.conf.IF.forwarding; sending R=0 from a router would make hosts drop it as a default
 * router, RFC 4861 §7.2.5). The checksum is left 0: for IPPROTO_ICMPV6 raw sockets the kernel always
 * computes it (RFC 3542 §3.1). The sender must use hop limit 255 (§7.1.2: receivers drop others).
 */
export function unsolicitedNa(target: Uint8Array, mac: Uint8Array, router: boolean): Uint8Array {
  need(target, 16, 'unsolicitedNa target');
  need(mac, 6, 'unsolicitedNa mac');
  const m = new Uint8Array(NA_LEN);
  m[0] = ND_NEIGHBOR_ADVERT;
  m[1] = 0; // code
  // m[2..3] checksum: kernel
  m[4] = ND_NA_FLAG_OVERRIDE | (router ? ND_NA_FLAG_ROUTER : 0);
  m.set(target, 8);
  m[24] = ND_OPT_TARGET_LINKADDR;
  m[25] = 1; // option length in units of 8 octets
  m.set(mac, 26);
  return m;
}

const IPPROTO_ICMPV6 = 58;
const IPV6_HLEN = 40;
/** Ethernet + IPv6 + NA: 14 + 40 + 32 */
export const NA_FRAME_LEN = ETH_HLEN + IPV6_HLEN + NA_LEN;
/** ff02::1, all nodes, and its Ethernet mapping 33:33:00:00:00:01 (RFC 2464 §7) */
const ALL_NODES = Uint8Array.from([0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
const ALL_NODES_MAC = Uint8Array.from([0x33, 0x33, 0, 0, 0, 1]);

/**
 * The whole unsolicited NA frame keepalived sends: Ethernet (dst 33:33:00:00:00:01, src `mac`,
 * type 0x86dd), IPv6 (traffic class and flow label 0, hop limit 255, source = the VIP itself,
 * destination ff02::1), then `unsolicitedNa()` with its checksum filled in.
 */
export function naFrame(mac: Uint8Array, target: Uint8Array, router: boolean): Uint8Array {
  const na = unsolicitedNa(target, mac, router);
  const f = new Uint8Array(NA_FRAME_LEN);
  const v = new DataView(f.buffer);
  f.set(ALL_NODES_MAC, 0);
  f.set(mac, 6);
  v.setUint16(12, ETH_P_IPV6);
  const ip = ETH_HLEN;
  f[ip] = 0x60; // version 6, traffic class 0, flow label 0
  v.setUint16(ip + 4, NA_LEN); // payload length
  f[ip + 6] = IPPROTO_ICMPV6;
  f[ip + 7] = 255; // hop limit: RFC 4861 §7.1.2
  f.set(target, ip + 8); // source: the VIP, as keepalived
  f.set(ALL_NODES, ip + 24);
  new DataView(na.buffer).setUint16(2, icmpv6Checksum(target, ALL_NODES, na));
  f.set(na, ip + IPV6_HLEN);
  return f;
}

/** RFC 4443 §2.3: one's complement sum over the pseudo-header (RFC 8200 §8.1) and the message. */
export function icmpv6Checksum(src: Uint8Array, dst: Uint8Array, message: Uint8Array): number {
  let sum = 0;
  const add = (b: Uint8Array) => {
    for (let i = 0; i < b.length; i += 2) sum += ((b[i] as number) << 8) | (b[i + 1] ?? 0);
  };
  add(src);
  add(dst);
  sum += (message.length >>> 16) + (message.length & 0xffff) + IPPROTO_ICMPV6;
  add(message);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/** The flags byte of an NA, exported for tests and logs. */
export const NA_FLAGS = { router: ND_NA_FLAG_ROUTER, solicited: ND_NA_FLAG_SOLICITED, override: ND_NA_FLAG_OVERRIDE } as const;
