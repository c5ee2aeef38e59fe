// Shared VRRP types: the decoded advertisement, the reasons a packet is dropped (keepalived.md §3.8,
// in keepalived's order), and the port the VRRP actor owns (`VrrpNet`), implemented over raw-socket in
// `socket.ts` and in memory in `test/fakes/vrrpNet.ts`.

export type Family = 4 | 6;
export type VrrpVersion = 2 | 3;
/** 0 none, 1 simple password (PASS), 2 IP Authentication Header (AH, RFC 2402, HMAC-MD5-96). v2/IPv4 only. */
export type AuthType = 0 | 1 | 2;

/** One VRRP advertisement as it travels on the wire (the VRRP message, without IP or AH headers). */
export interface Advert {
  readonly version: VrrpVersion;
  readonly vrid: number;
  /** 0 = the master is leaving; 255 = address owner */
  readonly priority: number;
  /** Advertisement interval in centiseconds. v2 carries whole seconds on the wire (×100 here). */
  readonly intervalCs: number;
  /** The virtual addresses, canonical text form (IPv4 dotted quad, IPv6 RFC 5952). */
  readonly addresses: readonly string[];
  /** v2 only; 0 for v3 */
  readonly authType: AuthType;
  /** v2 PASS: the 8 bytes of auth data (NUL padded); otherwise undefined */
  readonly authData?: Uint8Array;
}

/**
 * Why a received packet was not accepted, one code per check of keepalived.md §3.8, in the order
 * keepalived applies them. Each is counted per instance (or per socket when no instance matched).
 */
export type DropReason =
  | 'truncated' //           1. shorter than IP (+AH) + VRRP header, or than its own count of addresses
  | 'bad-ip-header' //       1. not an IPv4/IPv6 packet we can read (version, IHL, protocol)
  | 'startup-delay' //       1. received during vrrp_startup_delay
  | 'unknown-vrid' //        2. no instance with this VRID on this socket
  | 'not-ready' //           3. instance in INIT or FAULT (dropped by the machine, counted there)
  | 'mode-mismatch' //       3/13. multicast packet on a unicast instance or the reverse
  | 'auth-type-mismatch' //  4. AH header present iff auth_type AH
  | 'bad-length' //          5. length not IP hdr (+AH) + 8 + n×addr (+8 auth for v2), padding tolerated
  | 'bad-ttl' //             6. TTL / hop limit not 255 (multicast, or unicast with min_ttl/max_ttl)
  | 'bad-version' //         7. version differs from the instance's
  | 'auth-failure' //        9. PASS mismatch, AH next header/ICV wrong
  | 'interval-mismatch' //  10. v2 only: Adver Int differs from ours
  | 'bad-type' //           11. type is not 1 (ADVERTISEMENT)
  | 'bad-checksum' //       12. RFC 1071 (v2) / pseudo-header (v3) checksum wrong
  | 'owner-ignore' //       14. owner_ignore_adverts and we are priority 255
  | 'unknown-peer'; //      16. unicast source not among configured peers (check_unicast_src)

/** A packet that passed every check, handed to the instance machine. */
export interface ReceivedAdvert {
  readonly advert: Advert;
  /** source address of the IP packet */
  readonly src: string;
  /** destination address (multicast group or our unicast address) when known */
  readonly dst?: string;
  /** §3.8 step 15: address list differs from ours (logged and counted, not dropped) */
  readonly addressMismatch: boolean;
}

/** What one instance needs from the network, resolved from the config. */
export interface EndpointSpec {
  /** instance name, for counters and logs */
  readonly instance: string;
  readonly iface: string;
  readonly family: Family;
  readonly version: VrrpVersion;
  readonly vrid: number;
  /** our own advertisement interval, centiseconds */
  readonly intervalCs: number;
  /** the instance's virtual addresses (for step 15 and for encoding) */
  readonly addresses: readonly string[];
  /** source address for our adverts; undefined = the interface's primary (IPv4) / link-local (IPv6) */
  readonly srcIp?: string;
  /** multicast group (224.0.0.18 / ff02::12 unless vrrp_mcast_group4/6) */
  readonly mcastGroup: string;
  /** unicast mode when non-empty */
  readonly unicastPeers: readonly { address: string; minTtl?: number; maxTtl?: number }[];
  readonly unicastTtl?: number;
  readonly auth?: { type: 'PASS' | 'AH'; pass: string };
  readonly checkUnicastSrc?: boolean;
  readonly ownerIgnoreAdverts?: boolean;
  /** true while priority is 255 (for owner-ignore) */
  readonly owner?: boolean;
}

export interface EndpointHandlers {
  onAdvert(rx: ReceivedAdvert): void;
  onDrop(reason: DropReason, src: string | undefined, detail?: string): void;
}

/**
 * Packet counters (keepalived's per-instance stats, §5.4): `rx` adverts accepted (endpoint) or
 * datagrams read (net), `tx` packets handed to the kernel, `txError` sends that failed, and one
 * count per drop reason.
 */
export type VrrpCounters = Record<DropReason | 'rx' | 'tx' | 'txError', number>;

export interface VrrpNetStats {
  /** `rx`: every datagram read; drop reasons: only packets no endpoint claimed (unreadable, unknown
   *  VRID); `tx`/`txError`: totals over all endpoints, closed ones included */
  readonly net: VrrpCounters;
  /** the open endpoints' own counters, by instance name */
  readonly endpoints: Readonly<Record<string, VrrpCounters>>;
}

/** One instance's view of the wire. `send` never throws: failures go to `onSendError`. */
export interface VrrpEndpoint {
  /** Send one advertisement with this priority (and interval, which v3 may adopt). */
  send(priority: number, intervalCs?: number): void;
  /** The source address our adverts carry (for the equal-priority tie-break), once known. */
  readonly srcIp: string | undefined;
  /** this endpoint's counters (a copy) */
  stats?(): VrrpCounters;
  close(): void;
}

export interface VrrpNet {
  open(spec: EndpointSpec, handlers: EndpointHandlers & { onSendError?(err: Error): void }): VrrpEndpoint;
  /** counters of the whole net and of each open endpoint (copies) */
  stats?(): VrrpNetStats;
  close(): Promise<void>;
}
