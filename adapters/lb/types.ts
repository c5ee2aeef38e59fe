// The port the LB actor owns: a desired table of virtual services, applied to a data plane.
// Implemented by kernel IPVS over generic netlink (`ipvs.ts`), by nftables NAT (`nftables.ts`) and
// in memory (`test/fakes/lb.ts`); all pass `test/contract/lb.contract.ts`.
//
// The actor holds the desired table and calls `apply(table)` whenever it changes and on a timer:
// apply compares the data plane with the table and changes only what differs, so the changes it
// returns are either what the actor asked for or drift it repaired (someone ran `ipvsadm -C` or
// `nft flush ruleset`). Helpers on tables (validation, normal form, diff) are in `table.ts`.

export type LbFamily = 4 | 6;
export type LbProtocol = 'TCP' | 'UDP' | 'SCTP';

/** IPVS schedulers, keepalived's `lb_algo` values. */
export const LB_ALGOS = ['rr', 'wrr', 'lc', 'wlc', 'lblc', 'lblcr', 'dh', 'sh', 'sed', 'nq', 'fo', 'ovf', 'mh', 'twos'] as const;
export type LbAlgo = (typeof LB_ALGOS)[number];

/** Forwarding method per destination: keepalived's `lb_kind` / `lvs_method` (NAT = masquerading). */
export type LbKind = 'NAT' | 'DR' | 'TUN';

/**
 * Scheduler flags as the kernel stores them. keepalived's names map onto them:
 * `sh-fallback` and `mh-fallback` are `flag-1`, `sh-port` and `mh-port` are `flag-2`;
 * `ops` is one-packet scheduling (UDP).
 */
export const LB_FLAGS = ['flag-1', 'flag-2', 'flag-3', 'ops'] as const;
export type LbFlag = (typeof LB_FLAGS)[number];

/** What a service matches: an address, port and protocol, or a firewall mark. */
export type LbMatch =
  | { readonly kind: 'address'; readonly address: string; readonly port: number; readonly protocol: LbProtocol }
  | { readonly kind: 'fwmark'; readonly fwmark: number };

export interface LbDestination {
  /** same family as the service */
  readonly address: string;
  /** 0: keep the packet's destination port (fwmark services) */
  readonly port: number;
  /** 0..65535; 0 = quiesced: no new connections, established ones keep flowing */
  readonly weight: number;
  readonly kind: LbKind;
  /** IPVS connection thresholds (keepalived `uthreshold` / `lthreshold`); absent or 0 = none */
  readonly upperThreshold?: number;
  readonly lowerThreshold?: number;
}

export interface LbPersistence {
  /** `persistence_timeout`, seconds (> 0) */
  readonly timeoutS: number;
  /** `persistence_granularity` as a prefix length; absent = the whole address (32 or 128) */
  readonly prefix?: number;
}

export interface LbService {
  readonly match: LbMatch;
  readonly family: LbFamily;
  readonly algo: LbAlgo;
  readonly flags?: readonly LbFlag[];
  readonly persistence?: LbPersistence;
  /**
   * keepalived's `sorry_server`: it takes new connections while no destination has a positive
   * weight (the list is empty or every one is quiesced). Only then is it part of the data plane,
   * so `read()` reports it only then.
   */
  readonly sorry?: Omit<LbDestination, 'weight'>;
  readonly destinations: readonly LbDestination[];
}

export interface LbTable {
  readonly services: readonly LbService[];
}

/**
 * One difference between the data plane and the desired table, as apply() fixed it. `service` is
 * `serviceKey()` ("TCP 10.0.0.100:80", "FWM 5 IPv4"), `destination` is `destinationKey()`
 * ("10.0.0.1:80", "[fd00::1]:80").
 */
export type LbChange =
  | { readonly kind: 'service.added'; readonly service: string }
  | { readonly kind: 'service.removed'; readonly service: string }
  /** `fields`: which of algo, flags, persistence, sorry changed */
  | { readonly kind: 'service.changed'; readonly service: string; readonly fields: readonly string[] }
  | { readonly kind: 'destination.added'; readonly service: string; readonly destination: string; readonly weight: number }
  | { readonly kind: 'destination.removed'; readonly service: string; readonly destination: string }
  | {
      readonly kind: 'destination.changed';
      readonly service: string;
      readonly destination: string;
      readonly weight: number;
      readonly previousWeight: number;
      /** which of weight, kind, thresholds changed */
      readonly fields: readonly string[];
    }
  /** the data plane differed in a way the table shape does not show (e.g. a deleted nft hook chain) */
  | { readonly kind: 'dataplane.repaired'; readonly detail: string };

export interface ApplyResult {
  /** empty when the data plane already matched */
  readonly changes: readonly LbChange[];
}

export type LbDriverName = 'ipvs' | 'nftables' | 'fake';

export interface LoadBalancer {
  readonly driver: LbDriverName;
  /**
   * Make the data plane match `table`, changing only what differs. Idempotent. Rejects with an
   * LbError (INVALID_TABLE, UNSUPPORTED before touching anything; NFT_FAILED, KERNEL_REJECTED,
   * NETLINK when the data plane refused). Calls are serialised.
   */
  apply(table: LbTable): Promise<ApplyResult>;
  /** What the data plane holds now, in the same shape (empty after an external flush). */
  read(): Promise<LbTable>;
  /**
   * Remove every entry this adapter made, unless `keep` (keepalived's `-I`); with `all`, every
   * entry of the data plane, whoever made it (keepalived's `lvs_flush_on_stop`: IPVS is flushed;
   * nftables' data plane is vigil's own table, removed either way). Idempotent.
   */
  close(opts?: { keep?: boolean; all?: boolean }): Promise<void>;
  /**
   * Remove every entry of the data plane, whoever made it (keepalived's `lvs_flush` at start: what
   * an earlier run left, a `-I` stop or a crash, does not serve until the checks have decided).
   * IPVS: IPVS_CMD_FLUSH; nftables: vigil's table deleted.
   */
  flush(): Promise<void>;
  /**
   * The data plane's connection timeouts (keepalived's lvs_timeouts; seconds, absent: the value
   * found before vigil first set them). `undefined` puts back what was found; so does close(),
   * unless `keep`. IPVS only: the nftables driver's connections follow conntrack's own timeouts.
   */
  setTimeouts?(t: LbTimeouts | undefined): Promise<void>;
  /**
   * IPVS's connection-sync daemon (keepalived's lvs_sync_daemon, run as its VRRP instance's state):
   * 'master' sends this director's connections to the others, 'backup' receives theirs, 'stopped'
   * stops it. The first call stops whatever an earlier run left; close() stops it unless `keep`.
   */
  syncDaemon?(role: 'master' | 'backup' | 'stopped', d: LbSyncDaemon): Promise<void>;
}

/** keepalived's `lvs_sync_daemon IFNAME INSTANCE [id N] [maxlen N] [port N] [ttl N] [group IP]` */
export interface LbSyncDaemon {
  readonly ifname: string;
  readonly syncId: number;
  readonly maxlen?: number;
  readonly port?: number;
  readonly ttl?: number;
  readonly group?: string;
}

/** keepalived's `lvs_timeouts tcp S tcpfin S udp S` */
export interface LbTimeouts {
  readonly tcp?: number;
  readonly tcpFin?: number;
  readonly udp?: number;
}
