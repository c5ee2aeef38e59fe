// The typed model of a keepalived.conf. Every object keeps the place it was defined (`loc`), so
// later checks, reloads and events can point at the operator's text. Times are milliseconds.
// Defaults are keepalived's (keepalived.conf(5) and its parsers); `undefined` means "not set".
import type { Loc } from './diagnostics.js';

export type Family = 4 | 6;

/** A command line as keepalived's script keywords take it: `CMD|"CMD args" [user [[:]group]]`. */
export interface ScriptSpec {
  readonly loc: Loc;
  /** The command as written (quotes removed at the outer level). */
  readonly command: string;
  /** argv after shell-like word splitting of `command` (quotes, escapes). */
  readonly argv: readonly string[];
  readonly user?: string;
  readonly group?: string;
}

export interface AddressSpec {
  readonly loc: Loc;
  readonly address: string;
  readonly prefix: number;
  readonly family: Family;
  readonly brd?: string;
  readonly dev?: string;
  readonly scope?: string;
  readonly label?: string;
  readonly peer?: string;
  readonly noTrack: boolean;
  readonly trackGroup?: string;
  /** Options vigil keeps but does not act on yet (home, -nodad, autojoin, ...). */
  readonly flags: readonly string[];
}

/** A route or rule line (static_routes, virtual_routes, static_rules, virtual_rules), ip-route syntax. */
export interface RouteSpec {
  readonly loc: Loc;
  readonly words: readonly string[];
  readonly family: Family;
  readonly dest?: string;
  readonly dev?: string;
  readonly noTrack: boolean;
}

export interface TrackRef {
  readonly loc: Loc;
  readonly name: string;
  /** undefined: the tracker's own weight applies */
  readonly weight?: number;
  readonly reverse: boolean;
}

export interface GlobalDefs {
  /** umask: the process umask vigil runs with (the command line's -u wins) */
  umask?: number;
  routerId?: string;
  notificationEmail: string[];
  notificationEmailFrom?: string;
  smtpServer?: { host: string; port: number; loc: Loc };
  smtpHeloName?: string;
  smtpConnectTimeoutMs: number;
  smtpAlert?: boolean;
  smtpAlertVrrp?: boolean;
  smtpAlertChecker?: boolean;
  noEmailFaults: boolean;
  /** checkers mail only when their real server changes state (keepalived's no_checker_emails) */
  noCheckerEmails?: boolean;
  scriptUser?: { user: string; group?: string; loc: Loc };
  enableScriptSecurity: boolean;
  /** default of the instances' notify_priority_changes */
  vrrpNotifyPriorityChanges?: boolean;
  vrrpVersion: 2 | 3;
  vrrpMcastGroup4: string;
  vrrpMcastGroup6: string;
  vrrpStrict: boolean;
  vrrpSkipCheckAdvAddr: boolean;
  vrrpCheckUnicastSrc: boolean;
  /** vrrp_owner_ignore_adverts: an address owner (priority 255) ignores every advert it receives */
  vrrpOwnerIgnoreAdverts?: boolean;
  /** log_unknown_vrids: adverts for VRIDs no instance has are logged (read at start) */
  logUnknownVrids?: boolean;
  vrrpDownTimerAdverts: number;
  vrrpLowerPrioNoAdvert: boolean;
  vrrpHigherPrioSendAdvert: boolean;
  vrrpGarpMasterDelayMs: number;
  vrrpGarpMasterRepeat: number;
  vrrpGarpLowerPrioDelayMs?: number;
  vrrpGarpLowerPrioRepeat?: number;
  vrrpGarpMasterRefreshMs: number;
  vrrpGarpMasterRefreshRepeat: number;
  vrrpGarpIntervalMs: number;
  vrrpGnaIntervalMs: number;
  vrrpStartupDelayMs: number;
  defaultInterface?: string;
  notifyFifo?: ScriptSpec;
  notifyFifoScript?: ScriptSpec;
  vrrpNotifyFifo?: ScriptSpec;
  vrrpNotifyFifoScript?: ScriptSpec;
  lvsNotifyFifo?: ScriptSpec;
  lvsNotifyFifoScript?: ScriptSpec;
  /** checker_log_all_failures: every failed check of an UP checker is logged (a checker's log_all_failures overrides) */
  checkerLogAllFailures?: boolean;
  /** rs_init_notifies: notify_up (and the FIFO's RS line) for each real server alive at start */
  rsInitNotifies?: boolean;
  /** fifo_write_vrrp_states_on_reload: after a reload, every instance and sync group whose state it kept is written to the VRRP FIFOs */
  fifoWriteVrrpStatesOnReload?: boolean;
  startupScript?: ScriptSpec;
  /** startup_script_timeout, 1..1000 s (absent: 10, keepalived's) */
  startupScriptTimeoutS?: number;
  shutdownScript?: ScriptSpec;
  /** shutdown_script_timeout, 1..1000 s (absent: 10) */
  shutdownScriptTimeoutS?: number;
  stateDumpFile?: string;
  statsDumpFile?: string;
  jsonDumpFile?: string;
  lbDriver?: 'ipvs' | 'nftables';
  /** lvs_flush: the data plane emptied at start (IPVS: every service, vigil's or not) */
  lvsFlush?: boolean;
  /** lvs_flush_on_stop: 'all' flushes the whole IPVS table at stop; 'vs' removes vigil's virtual servers whole (what vigil does anyway) */
  lvsFlushOnStop?: 'all' | 'vs';
  /** lvs_sync_daemon IFNAME INSTANCE [id N] [maxlen N] [port N] [ttl N] [group IP]: IPVS's connection sync, master while INSTANCE is */
  lvsSyncDaemon?: { ifname: string; instance?: string; syncId?: number; maxlen?: number; port?: number; ttl?: number; group?: string; loc: Loc; instanceLoc?: Loc };
  /** lvs_timeouts tcp S tcpfin S udp S: IPVS connection timeouts, seconds */
  lvsTimeouts?: { tcp?: number; tcpFin?: number; udp?: number; loc: Loc };
  /** vigil extensions (vigil_cluster, vigil_journal, vigil_nats_*, vigil_smtp_auth_file) */
  vigil: {
    cluster?: string;
    journal?: string;
    natsServers?: string[];
    natsStream?: string;
    natsCreds?: string;
    natsNkey?: string;
    natsTls?: { ca: string; cert?: string; key?: string };
    /** vigil_smtp_auth_file: SMTP user and password (two lines, mode 0600) */
    smtpAuthFile?: string;
  };
  /** Keywords vigil parses but does not act on, with their words, so nothing is dropped. */
  readonly other: Record<string, string[]>;
}

export interface VrrpScript {
  readonly loc: Loc;
  readonly name: string;
  script?: ScriptSpec;
  intervalMs: number;
  timeoutMs?: number; // default: intervalMs
  weight: number;
  reverse: boolean;
  rise: number;
  fall: number;
  user?: { user: string; group?: string };
  initFail: boolean;
}

/**
 * The `SSL { }` block: SSL_GET's client side. `certificate` (a PEM chain) and `key` (PEM, with
 * `password` when encrypted) present a client certificate to servers that ask for one; `ca` is
 * loaded as keepalived loads it, but the server's certificate is not verified (keepalived sets no
 * verify mode either).
 */
export interface SslContextSpec {
  readonly loc: Loc;
  ca?: string;
  certificate?: string;
  key?: string;
  password?: string;
  /** where each file was named, for the checks' errors */
  readonly locs: { ca?: Loc; certificate?: Loc; key?: Loc; password?: Loc };
}

export interface TrackFile {
  readonly loc: Loc;
  readonly name: string;
  file?: string;
  weight: number;
  reverse: boolean;
  initFile?: { value: number; overwrite: boolean };
}

export interface TrackProcess {
  readonly loc: Loc;
  readonly name: string;
  process?: string;
  args: string[];
  paramMatch?: 'initial' | 'partial';
  weight: number;
  reverse: boolean;
  quorum: number;
  quorumMax?: number;
  forkDelayMs?: number;
  terminateDelayMs?: number;
  delayMs?: number;
  fullCommand: boolean;
}

export interface Notifies {
  master?: ScriptSpec;
  backup?: ScriptSpec;
  fault?: ScriptSpec;
  stop?: ScriptSpec;
  deleted?: ScriptSpec | true;
  generic?: ScriptSpec;
  masterRxLowerPri?: ScriptSpec;
}

export interface Trackers {
  trackInterfaces: TrackRef[];
  trackScripts: TrackRef[];
  trackFiles: TrackRef[];
  trackProcesses: TrackRef[];
  trackBfds: TrackRef[];
}

export interface SyncGroup extends Trackers {
  readonly loc: Loc;
  readonly name: string;
  members: { name: string; loc: Loc }[];
  notify: Notifies;
  notifyPriorityChanges?: boolean;
  smtpAlert?: boolean;
  syncGroupTrackingWeight: boolean;
}

export interface UnicastPeer {
  readonly loc: Loc;
  readonly address: string;
  readonly family: Family;
  readonly minTtl?: number;
  readonly maxTtl?: number;
}

export interface VrrpInstance extends Trackers {
  readonly loc: Loc;
  readonly name: string;
  /** as configured; `initialState` is the resolved one */
  state?: 'MASTER' | 'BACKUP';
  stateLoc?: Loc;
  initialState: 'MASTER' | 'BACKUP';
  interface?: string;
  interfaceLoc?: Loc;
  vrid?: number;
  vridLoc?: Loc;
  priority: number;
  priorityLoc?: Loc;
  priorityConfigured: boolean;
  advertIntMs: number;
  advertIntLoc?: Loc;
  version: 2 | 3;
  versionConfigured: boolean;
  family?: Family;
  mcastSrcIp?: string;
  unicastSrcIp?: string;
  mcastDstIp?: string;
  unicastPeers: UnicastPeer[];
  unicastTtl?: number;
  auth?: { type: 'PASS' | 'AH'; pass?: string; loc: Loc; passLoc?: Loc };
  vips: AddressSpec[];
  excludedVips: AddressSpec[];
  virtualRoutes: RouteSpec[];
  virtualRules: RouteSpec[];
  noVirtualIpaddress: boolean;
  nopreempt: boolean;
  nopreemptLoc?: Loc;
  preemptDelayMs: number;
  dontTrackPrimary: boolean;
  strictMode?: boolean;
  accept?: boolean;
  skipCheckAdvAddr?: boolean;
  /** check_unicast_src (else global vrrp_check_unicast_src): unicast adverts only from the unicast peers */
  checkUnicastSrc?: boolean;
  /** track_src_ip: FAULT while the configured source address (unicast_src_ip / mcast_src_ip) is not on the host */
  trackSrcIp?: boolean;
  /** unicast_fault_no_peer: with no unicast peers, FAULT instead of falling back to multicast */
  unicastFaultNoPeer?: boolean;
  /** owner_ignore_adverts (else global vrrp_owner_ignore_adverts) */
  ownerIgnoreAdverts?: boolean;
  downTimerAdverts?: number;
  lowerPrioNoAdvert?: boolean;
  higherPrioSendAdvert?: boolean;
  garpMasterDelayMs?: number;
  garpMasterRepeat?: number;
  garpLowerPrioDelayMs?: number;
  garpLowerPrioRepeat?: number;
  garpMasterRefreshMs?: number;
  garpMasterRefreshRepeat?: number;
  notify: Notifies;
  notifyPriorityChanges?: boolean;
  smtpAlert?: boolean;
  useVmac?: { name?: string; loc: Loc };
  readonly other: Record<string, string[]>;
}

export interface VsgEntry {
  readonly loc: Loc;
  readonly kind: 'address' | 'range' | 'fwmark';
  readonly address?: string;
  /** for ranges: the last address */
  readonly last?: string;
  readonly port?: number;
  readonly fwmark?: number;
  readonly family: Family;
}

export interface VirtualServerGroup {
  readonly loc: Loc;
  readonly name: string;
  entries: VsgEntry[];
}

export type CheckerType =
  | 'HTTP_GET' | 'SSL_GET' | 'TCP_CHECK' | 'SMTP_CHECK' | 'MISC_CHECK' | 'DNS_CHECK'
  | 'UDP_CHECK' | 'PING_CHECK' | 'FILE_CHECK' | 'BFD_CHECK';

export interface UrlSpec {
  readonly loc: Loc;
  path?: string;
  digest?: string;
  statusCodes: { from: number; to: number }[];
  virtualhost?: string;
  regex?: string;
  regexNoMatch: boolean;
  regexOptions?: string[];
  /** regex_min_offset / regex_max_offset: the match must start within these body bytes (both inclusive) */
  regexMinOffset?: number;
  regexMaxOffset?: number;
  /** where the offsets were written (config-test's warnings) */
  regexOffsetLoc?: Loc;
}

export interface CheckerCommon {
  readonly loc: Loc;
  readonly type: CheckerType;
  connectIp?: string;
  connectPort?: number;
  bindTo?: string;
  bindPort?: number;
  bindIf?: string;
  fwmark?: number;
  connectTimeoutMs?: number;
  retry?: number;
  delayBeforeRetryMs?: number;
  warmupMs?: number;
  delayLoopMs?: number;
  alpha?: boolean;
  logAllFailures?: boolean;
  /** vigil extensions (HAProxy-style): consecutive results needed to change state */
  rise?: number;
  fall?: number;
  /** resolved after parsing, with keepalived's per-checker defaults and inheritance from RS/VS */
  resolved?: { connectTimeoutMs: number; retry: number; delayBeforeRetryMs: number; delayLoopMs: number; warmupMs: number };
}

export interface HttpChecker extends CheckerCommon {
  readonly type: 'HTTP_GET' | 'SSL_GET';
  urls: UrlSpec[];
  httpProtocol?: '1.0' | '1.0C' | '1.1';
  virtualhost?: string;
  enableSni?: boolean;
  sniName?: string;
  tlsCompliant?: boolean;
  fastRecovery?: boolean;
}
export interface SmtpChecker extends CheckerCommon { readonly type: 'SMTP_CHECK'; heloName: string }
export interface DnsChecker extends CheckerCommon { readonly type: 'DNS_CHECK'; queryType: string; name: string }
export interface MiscChecker extends CheckerCommon {
  readonly type: 'MISC_CHECK'; script?: ScriptSpec; miscTimeoutMs?: number; dynamic: boolean;
}
export interface UdpChecker extends CheckerCommon {
  readonly type: 'UDP_CHECK'; payload?: string; requireReply?: string; minReplyLength: number; maxReplyLength: number;
}
export interface FileChecker extends CheckerCommon {
  readonly type: 'FILE_CHECK'; trackFile?: string; dynamic: boolean; weight?: number; reverse: boolean;
}
export interface PlainChecker extends CheckerCommon { readonly type: 'TCP_CHECK' | 'PING_CHECK' | 'BFD_CHECK'; bfdName?: string }

export type Checker = HttpChecker | SmtpChecker | DnsChecker | MiscChecker | UdpChecker | FileChecker | PlainChecker;

export interface RealServer {
  readonly loc: Loc;
  readonly address: string;
  readonly port?: number;
  readonly family: Family;
  weight: number;
  lvsMethod?: string;
  inhibitOnFailure?: boolean;
  notifyUp?: ScriptSpec;
  notifyDown?: ScriptSpec;
  uthreshold?: number;
  lthreshold?: number;
  smtpAlert?: boolean;
  virtualhost?: string;
  alpha?: boolean;
  connectTimeoutMs?: number;
  retry?: number;
  delayBeforeRetryMs?: number;
  warmupMs?: number;
  delayLoopMs?: number;
  /** vigil extension: after coming back up, the weight ramps up over this time */
  slowStartMs?: number;
  checkers: Checker[];
  readonly other: Record<string, string[]>;
}

export interface VirtualServer {
  readonly loc: Loc;
  readonly kind: 'address' | 'fwmark' | 'group';
  readonly address?: string;
  readonly port?: number;
  readonly fwmark?: number;
  readonly group?: string;
  family?: Family;
  lbAlgo: string;
  lbFlags: string[];
  lbKind: 'NAT' | 'DR' | 'TUN';
  persistenceTimeoutS?: number;
  persistenceGranularity?: string;
  protocol: 'TCP' | 'UDP' | 'SCTP';
  haSuspend: boolean;
  virtualhost?: string;
  smtpAlert?: boolean;
  alpha: boolean;
  omega: boolean;
  quorum: number;
  hysteresis: number;
  quorumUp?: ScriptSpec;
  quorumDown?: ScriptSpec;
  sorryServer?: { address: string; port?: number; loc: Loc };
  /** sorry_server_lvs_method: the sorry server's forwarding method (default: the virtual server's lb_kind) */
  sorryServerLvsMethod?: 'NAT' | 'DR' | 'TUN';
  sorryServerInhibit: boolean;
  delayLoopMs: number;
  connectTimeoutMs?: number;
  retry?: number;
  delayBeforeRetryMs?: number;
  warmupMs?: number;
  inhibitOnFailure: boolean;
  weight?: number;
  /** vigil extension: the real servers' slow_start unless they set their own */
  slowStartMs?: number;
  realServers: RealServer[];
  readonly other: Record<string, string[]>;
}

export interface KeepalivedConfig {
  /** Every file read, the main one first. */
  readonly files: string[];
  readonly global: GlobalDefs;
  readonly vrrpScripts: VrrpScript[];
  readonly trackFiles: TrackFile[];
  readonly trackProcesses: TrackProcess[];
  readonly syncGroups: SyncGroup[];
  readonly instances: VrrpInstance[];
  readonly staticAddresses: AddressSpec[];
  readonly staticRoutes: RouteSpec[];
  readonly staticRules: RouteSpec[];
  readonly virtualServerGroups: VirtualServerGroup[];
  readonly virtualServers: VirtualServer[];
  /** The `SSL { }` block (absent: SSL_GET presents no client certificate) */
  readonly ssl?: SslContextSpec;
  /** Top-level keywords and blocks vigil parses but does not act on (bfd_instance, garp_group, ...). */
  readonly other: { keyword: string; name?: string; loc: Loc }[];
}
