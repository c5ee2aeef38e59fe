// The port the VRRP actor owns for everything it does to the host's IP configuration: virtual
// addresses, virtual routes, link state, and the gratuitous ARP / unsolicited NA a new master sends.
// Implemented over rtnetlink in `netlink.ts` (`createIpNet()`), in memory in `test/fakes/ipNet.ts`;
// both pass `test/contract/ipNet.contract.ts`.
//
// Conventions: batch operations never reject; they return one result per input, in input order.
// Queries (`links`, `addresses`, `hasAddress`) reject only if the netlink socket itself fails.

export type Family = 4 | 6;

/**
 * One virtual address (a `virtual_ipaddress` line). Structurally a config `AddressSpec` with `dev`
 * resolved, so the actor can pass `{ ...spec, dev }`.
 */
export interface VipSpec {
  /** canonical text (as the config adapter writes it) */
  readonly address: string;
  readonly prefix: number;
  readonly family: Family;
  readonly dev: string;
  /** IPv4 only: an address, or `+` / `-` (host bits set / clear, prefix ≤ 30), as keepalived. Ignored with `peer`. */
  readonly brd?: string;
  /** IPv4 only: `global` | `site` | `link` | `host` | `nowhere` | 0..255. keepalived ignores it for IPv6, so do we. */
  readonly scope?: string;
  /** IPv4 only, e.g. `eth0:1`. keepalived ignores it for IPv6, so do we. */
  readonly label?: string;
  /** point-to-point peer address (IFA_ADDRESS) */
  readonly peer?: string;
  /**
   * keepalived address options as the config adapter collects them: `home`, `-nodad`,
   * `mngtmpaddr`, `noprefixroute`, `autojoin`, `preferred_lft N|forever`; others are ignored.
   * IPv6 VIPs get IFA_F_NODAD unless `-nodad`, and preferred_lft 0 (deprecated: never chosen as a
   * source address) when /128 and no `preferred_lft` is given: keepalived's defaults.
   */
  readonly flags?: readonly string[];
}

/** The match key for address queries. */
export type AddressKey = Pick<VipSpec, 'address' | 'family' | 'dev'>;

/** An address as the kernel reports it. */
export interface AddressInfo {
  readonly address: string;
  readonly prefix: number;
  readonly family: Family;
  /** interface name, or `if<index>` when the interface vanished before its name was known */
  readonly dev: string;
  readonly index: number;
  /** IPv4 label (equals `dev` unless set) */
  readonly label?: string;
  readonly peer?: string;
  /** numeric scope: 0 global, 200 site, 253 link, 254 host */
  readonly scope: number;
}

export interface AddressEvent extends AddressInfo {
  /** false: the address was deleted (by us or behind our back, keepalived.md §3.5) */
  readonly added: boolean;
}

export interface LinkInfo {
  readonly name: string;
  readonly index: number;
  /** IFF_UP and IFF_RUNNING (RFC 2863 operational state up: carrier present), as keepalived tracks it */
  readonly up: boolean;
  readonly mac?: string;
  /** IFLA_INFO_KIND: `veth`, `macvlan`, `bridge`, ...; undefined for plain hardware */
  readonly kind?: string;
  /** set on the event for a deleted link (then `up` is false) */
  readonly deleted?: boolean;
}

/** One route line (`virtual_routes`/`static_routes`), ip-route words. A config `RouteSpec` fits. */
export interface RouteLine {
  readonly words: readonly string[];
  readonly family: Family;
}

export interface OpResult<T> {
  readonly spec: T;
  readonly ok: boolean;
  /** errno code when known (`ENODEV`, `EINVAL`, `EADDRNOTAVAIL`, ...), else a short code of ours */
  readonly error?: string;
  /** human-readable detail (kernel extended-ack text, `ip` message) */
  readonly detail?: string;
}
export type IpOpResult = OpResult<VipSpec>;
export type RouteOpResult = OpResult<RouteLine>;
/** `spec` is the announced address */
export type AnnounceResult = OpResult<string>;

export interface AnnounceOptions {
  /**
   * Source MAC for the frames (VMAC: 00:00:5e:00:01:VRID for IPv4, 00:00:5e:00:02:VRID for IPv6):
   * Ethernet source and ARP sender hardware address / NA target link-layer address option. (Only
   * the option, when IPv6 falls back to a raw socket because the packet addon is not built.)
   */
  readonly vmacSrc?: string;
}

export interface MacvlanSpec {
  /** e.g. `vrrp.51` (keepalived's default VMAC name) */
  readonly name: string;
  readonly parent: string;
  /** 00:00:5e:00:01:VRID */
  readonly mac: string;
}

export interface IpNet {
  /** Idempotent: an address already present counts as added (EEXIST is ok). */
  addAddresses(list: readonly VipSpec[]): Promise<IpOpResult[]>;
  /** Idempotent: an absent address counts as removed; prefix, label and brd are not compared. */
  removeAddresses(list: readonly VipSpec[]): Promise<IpOpResult[]>;
  hasAddress(key: AddressKey): Promise<boolean>;
  /** Addresses of `dev` (all interfaces when undefined). */
  addresses(dev?: string): Promise<AddressInfo[]>;
  /**
   * `ip route add <words>` per line, through one long-lived `ip -batch` process per family.
   * Idempotent: adding an existing route (EEXIST) and deleting a missing one (ESRCH) are ok.
   */
  addRoutes(list: readonly RouteLine[]): Promise<RouteOpResult[]>;
  removeRoutes(list: readonly RouteLine[]): Promise<RouteOpResult[]>;
  links(): Promise<LinkInfo[]>;
  /**
   * Link changes, event-driven (RTNLGRP_LINK notifications; no polling). Called when a link is
   * first seen by this watcher or when its name, `up` or MAC changed, and once with `deleted` when
   * it goes away. If the kernel drops notifications (ENOBUFS) the state is re-read and the
   * differences reported. Get the initial state with `links()` after subscribing: calls made after
   * `watchLinks()` returns wait until the subscription is live, so nothing falls in between.
   */
  watchLinks(onChange: (link: LinkInfo) => void): () => void;
  /** Address additions and deletions (RTNLGRP_IPV4_IFADDR, RTNLGRP_IPV6_IFADDR), ours included. */
  watchAddresses(onChange: (ev: AddressEvent) => void): () => void;
  /**
   * One gratuitous ARP request (IPv4) / one unsolicited NA to ff02::1 (IPv6) per address, sent on
   * `dev` as keepalived sends them. Repetition and spacing (garp_master_repeat,
   * vrrp_garp_interval, ...) are the caller's. Without the packet addon (native/build.sh), IPv4
   * results are ERR_NO_PACKET_ADDON (logged once) and IPv6 goes through a raw ICMPv6 socket.
   */
  announce(dev: string, addresses: readonly string[], opts?: AnnounceOptions): Promise<AnnounceResult[]>;
  /** use_vmac: a macvlan (mode private, as keepalived) on `parent` with `mac`, set up. Idempotent. */
  createMacvlan?(spec: MacvlanSpec): Promise<OpResult<MacvlanSpec>>;
  /** Idempotent: an absent link is ok. */
  deleteLink?(name: string): Promise<OpResult<string>>;
  /** Idempotent. Stops watchers and the `ip` children. */
  close(): Promise<void>;
}
