// Whole-config checks: defaults resolved the way keepalived resolves them, then the mistakes that
// keepalived misses or only logs (duplicate VIPs and VRIDs, dangling references, impossible timers,
// unsafe scripts). Each finding is a diagnostic with the place it comes from.
import * as path from 'node:path';
import type { Diagnostics, Loc } from './diagnostics.js';
import type { HostInfo } from './host.js';
import { sslIncomplete } from '../checkers/ssl.js';
import { nftablesProblems } from '../lb/config.js';
import type { Checker, KeepalivedConfig, ScriptSpec, VirtualServer, VrrpInstance } from './model.js';
import { suggest } from './schema.js';

export interface CheckOptions {
  host?: HostInfo;
  /** Missing interfaces are errors instead of warnings. */
  strictHost?: boolean;
}

/** Fill in what keepalived derives: version, family, state/priority, checker timing inheritance. */
export function resolve(cfg: KeepalivedConfig): void {
  for (const vi of cfg.instances) {
    const first = vi.vips[0];
    vi.family ??= first?.family ?? (vi.unicastSrcIp?.includes(':') || vi.unicastPeers[0]?.family === 6 ? 6 : 4);
    if (!vi.versionConfigured) vi.version = vi.family === 6 ? 3 : cfg.global.vrrpVersion;
    if (!vi.priorityConfigured) vi.priority = vi.state === 'MASTER' ? 255 : 100;
    vi.initialState = vi.state ?? (vi.priority === 255 ? 'MASTER' : 'BACKUP');
  }
  for (const vs of cfg.virtualServers) {
    for (const rs of vs.realServers) {
      for (const ck of rs.checkers) {
        const delayLoopMs = ck.delayLoopMs ?? rs.delayLoopMs ?? vs.delayLoopMs;
        const defaultRetry = ck.type === 'DNS_CHECK' ? 3 : ck.type === 'MISC_CHECK' ? 0 : 1;
        const defaultDbr = ck.type === 'HTTP_GET' || ck.type === 'SSL_GET' ? 3000 : ck.type === 'DNS_CHECK' ? delayLoopMs : 1000;
        ck.resolved = {
          delayLoopMs,
          connectTimeoutMs: ck.connectTimeoutMs ?? rs.connectTimeoutMs ?? vs.connectTimeoutMs ?? 5000,
          retry: ck.retry ?? rs.retry ?? vs.retry ?? defaultRetry,
          delayBeforeRetryMs: ck.delayBeforeRetryMs ?? rs.delayBeforeRetryMs ?? vs.delayBeforeRetryMs ?? defaultDbr,
          warmupMs: ck.warmupMs ?? rs.warmupMs ?? vs.warmupMs ?? delayLoopMs,
        };
      }
      if (rs.inhibitOnFailure === undefined) rs.inhibitOnFailure = vs.inhibitOnFailure;
    }
  }
}

export function check(cfg: KeepalivedConfig, d: Diagnostics, opts: CheckOptions = {}): void {
  checkInstances(cfg, d, opts);
  checkReferences(cfg, d);
  checkVirtualServers(cfg, d, opts.host);
  checkSsl(cfg, d, opts.host);
  checkSyncDaemon(cfg, d, opts.host);
  if (opts.host) checkScripts(cfg, d, opts.host);
}

const related = (message: string, loc: Loc) => [{ message, loc }];

function checkInstances(cfg: KeepalivedConfig, d: Diagnostics, opts: CheckOptions): void {
  const g = cfg.global;
  const seenName = new Map<string, VrrpInstance>();
  const vipOwner = new Map<string, { vi: VrrpInstance; loc: Loc }>();
  const ifaces = opts.host?.interfaces();
  const hostAddrs = opts.host?.addresses();
  const missingIf = (name: string, loc: Loc, what: string): void => {
    if (!ifaces || ifaces.has(name)) return;
    const msg = `${what} '${name}' does not exist on this host`;
    const hint = `interfaces here: ${[...ifaces].sort().join(', ')}; pass --strict-host to make this an error`;
    if (opts.strictHost) d.error('no-such-interface', msg, loc, hint);
    else d.warning('no-such-interface', msg, loc, hint);
  };

  for (const vi of cfg.instances) {
    const prev = seenName.get(vi.name);
    if (prev) d.add({ severity: 'error', code: 'duplicate-instance', message: `vrrp_instance '${vi.name}' is defined twice`, loc: vi.loc, related: related('first defined here', prev.loc) });
    seenName.set(vi.name, vi);

    if (vi.vrid === undefined && !vi.vridLoc) d.error('missing-vrid', `vrrp_instance '${vi.name}' has no virtual_router_id`, vi.loc, 'add virtual_router_id 1..255, the same on every node of this VIP');
    if (!vi.interface && !vi.unicastPeers.length) d.error('missing-interface', `vrrp_instance '${vi.name}' has no interface (only unicast instances may omit it)`, vi.loc);
    if (vi.interface) missingIf(vi.interface, vi.interfaceLoc ?? vi.loc, 'interface');
    const strict = vi.strictMode ?? g.vrrpStrict;

    // advert_int: v2 whole seconds 1..255; v3 centiseconds 0.01..40.95
    const adv = vi.advertIntMs;
    const advLoc = vi.advertIntLoc ?? vi.loc;
    if (vi.version === 2) {
      if (adv % 1000 !== 0 || adv < 1000 || adv > 255_000) {
        d.error('advert-int', `advert_int ${adv / 1000}s is not valid for VRRPv2: whole seconds 1..255`, advLoc, adv < 1000 ? "sub-second adverts need 'version 3'" : undefined);
      }
    } else if (adv % 10 !== 0 || adv < 10 || adv > 40_950) {
      d.error('advert-int', `advert_int ${adv / 1000}s is not valid for VRRPv3: 0.01..40.95 seconds in steps of 0.01`, advLoc);
    }

    if (vi.family === 6 && vi.version === 2) d.error('ipv6-v2', `vrrp_instance '${vi.name}' has IPv6 addresses but version 2; VRRPv2 is IPv4 only`, vi.loc, "use 'version 3'");

    // addresses: one family, no duplicates within or across instances
    for (const vip of vi.vips) {
      if (vip.family !== vi.family) d.error('mixed-family', `virtual_ipaddress ${vip.address} is IPv${vip.family} but instance '${vi.name}' is IPv${vi.family}`, vip.loc, 'put the other family in virtual_ipaddress_excluded or in its own instance');
    }
    for (const vip of [...vi.vips, ...vi.excludedVips]) {
      const key = `${vip.address}`;
      const owner = vipOwner.get(key);
      if (owner) {
        const where = owner.vi === vi ? 'twice in this instance' : `also in vrrp_instance '${owner.vi.name}'`;
        d.add({ severity: 'error', code: 'duplicate-vip', message: `virtual IP ${vip.address} is ${where}`, loc: vip.loc, related: related('first here', owner.loc) });
      } else vipOwner.set(key, { vi, loc: vip.loc });
      if (vip.dev) missingIf(vip.dev, vip.loc, 'device');
    }
    if (!vi.vips.length && !vi.noVirtualIpaddress) {
      if (strict) d.error('no-vips', `vrrp_instance '${vi.name}' has no virtual_ipaddress, which strict mode forbids`, vi.loc);
      else d.warning('no-vips', `vrrp_instance '${vi.name}' has no virtual_ipaddress`, vi.loc, "add 'no_virtual_ipaddress' if that is intended");
    }
    if (vi.vips.length > 255) d.error('too-many-vips', `vrrp_instance '${vi.name}' has ${vi.vips.length} VIPs; an advert carries at most 255`, vi.loc, 'move the rest to virtual_ipaddress_excluded');

    // state, priority, preemption
    if (vi.nopreempt && vi.state === 'MASTER') {
      d.error('nopreempt-master', `'nopreempt' has no effect with 'state MASTER' (keepalived clears it); nopreempt needs 'state BACKUP' on every node`, vi.nopreemptLoc ?? vi.loc);
    }
    if (vi.preemptDelayMs && vi.state === 'MASTER') d.warning('preempt-delay-master', `'preempt_delay' is ignored with 'state MASTER'`, vi.loc);
    if (vi.priority === 255 && hostAddrs) {
      const owns = vi.vips.some((v) => hostAddrs.has(v.address));
      if (!owns && vi.vips.length) {
        d.warning('priority-owner', `priority 255 means "address owner", but no virtual IP of '${vi.name}' is a real address of this host${vi.priorityConfigured ? '' : " (255 is keepalived's default for 'state MASTER' without a priority)"}`, vi.priorityLoc ?? vi.stateLoc ?? vi.loc, 'use a priority of 254 or below');
      }
    }
    if (strict && vi.state && (vi.state === 'MASTER') !== (vi.priority === 255)) {
      d.error('strict-state', `strict mode: 'state MASTER' must go with priority 255 (the address owner) and only with it`, vi.stateLoc ?? vi.loc);
    }

    // authentication
    if (vi.auth) {
      if (vi.version === 3) d.warning('auth-v3', 'VRRPv3 has no authentication; this block is ignored (as keepalived does)', vi.auth.loc);
      else if (strict) d.error('strict-auth', 'strict mode does not allow authentication', vi.auth.loc);
      if (vi.auth.type === 'AH' && vi.family === 6) d.error('auth-ah-ipv6', 'AH authentication is IPv4 only', vi.auth.loc);
      if (vi.auth.type === 'PASS' && vi.auth.pass === undefined) d.error('missing-auth-pass', "auth_type PASS needs 'auth_pass'", vi.auth.loc);
      if (vi.auth.pass !== undefined && vi.auth.pass.length > 8) {
        d.warning('auth-pass-truncated', `auth_pass is ${vi.auth.pass.length} characters; only the first 8 ('${vi.auth.pass.slice(0, 8)}') are used`, vi.auth.passLoc ?? vi.auth.loc, 'use 8 characters or fewer so every node agrees');
      }
    }

    // unicast
    for (const p of vi.unicastPeers) {
      if (p.family !== vi.family) d.error('unicast-family', `unicast_peer ${p.address} is IPv${p.family} but instance '${vi.name}' is IPv${vi.family}`, p.loc);
    }
    if (vi.unicastSrcIp && (vi.unicastSrcIp.includes(':') ? 6 : 4) !== vi.family) d.error('unicast-family', `unicast_src_ip ${vi.unicastSrcIp} is not IPv${vi.family} like the instance`, vi.loc);
    if (strict && vi.unicastPeers.length) d.error('strict-unicast', 'strict mode does not allow unicast peers', vi.unicastPeers[0]?.loc ?? vi.loc);
    if (vi.trackSrcIp && !(vi.unicastPeers.length ? vi.unicastSrcIp : vi.mcastSrcIp)) {
      d.warning('track-src-ip-unused', `vrrp_instance '${vi.name}': track_src_ip has no effect without ${vi.unicastPeers.length ? 'unicast_src_ip' : 'mcast_src_ip'} (the interface's address is followed)`, vi.loc);
    }
    if (vi.unicastFaultNoPeer && !vi.unicastPeers.length) {
      d.warning('no-unicast-peers', `vrrp_instance '${vi.name}' has unicast_fault_no_peer and no unicast peers: it stays in FAULT`, vi.loc, 'list the peers in unicast_peer { }, or remove unicast_fault_no_peer to fall back to multicast');
    }
    const peers = new Map<string, Loc>();
    for (const p of vi.unicastPeers) {
      const prevPeer = peers.get(p.address);
      if (prevPeer) d.add({ severity: 'warning', code: 'duplicate-peer', message: `unicast_peer ${p.address} is listed twice`, loc: p.loc, related: related('first here', prevPeer) });
      peers.set(p.address, p.loc);
    }
    for (const t of vi.trackInterfaces) missingIf(t.name, t.loc, 'tracked interface');
  }

  // the same VRID on one interface and family: one of the two can never work (unless unicast to disjoint peers)
  const byVrid = new Map<string, VrrpInstance[]>();
  for (const vi of cfg.instances) {
    if (vi.vrid === undefined) continue;
    const key = `${vi.interface ?? '-'}|${vi.family}|${vi.vrid}`;
    const list = byVrid.get(key) ?? [];
    for (const other of list) {
      const disjoint = vi.unicastPeers.length > 0 && other.unicastPeers.length > 0 &&
        !vi.unicastPeers.some((p) => other.unicastPeers.some((q) => q.address === p.address));
      if (!disjoint) {
        d.add({
          severity: 'error', code: 'duplicate-vrid',
          message: `virtual_router_id ${vi.vrid} is used by '${other.name}' and '${vi.name}' on ${vi.interface ?? 'the same link'} (IPv${vi.family}); each VRID must be unique per interface`,
          loc: vi.vridLoc ?? vi.loc, related: related(`'${other.name}' uses it here`, other.vridLoc ?? other.loc),
        });
      }
    }
    list.push(vi);
    byVrid.set(key, list);
  }

  const alerting = [...cfg.instances, ...cfg.syncGroups, ...cfg.virtualServers].find((x) => x.smtpAlert);
  if ((alerting || g.smtpAlert || g.smtpAlertVrrp) && (!g.smtpServer || !g.notificationEmail.length)) {
    const loc = alerting?.loc ?? cfg.instances[0]?.loc ?? { file: cfg.files[0] ?? '', line: 1, col: 1 };
    d.warning('smtp-incomplete', `smtp_alert is on but global_defs has no ${!g.smtpServer ? 'smtp_server' : 'notification_email'}; no mail will be sent`, loc);
  }
}

function checkReferences(cfg: KeepalivedConfig, d: Diagnostics): void {
  const scripts = new Map(cfg.vrrpScripts.map((s) => [s.name, s]));
  const files = new Map(cfg.trackFiles.map((s) => [s.name, s]));
  const procs = new Map(cfg.trackProcesses.map((s) => [s.name, s]));
  const instances = new Map(cfg.instances.map((i) => [i.name, i]));
  const used = new Set<string>();

  const dupes = <T extends { name: string; loc: Loc }>(list: readonly T[], what: string): void => {
    const seen = new Map<string, Loc>();
    for (const x of list) {
      const p = seen.get(x.name);
      if (p) d.add({ severity: 'error', code: 'duplicate-name', message: `${what} '${x.name}' is defined twice`, loc: x.loc, related: related('first defined here', p) });
      seen.set(x.name, x.loc);
    }
  };
  dupes(cfg.vrrpScripts, 'vrrp_script');
  dupes(cfg.trackFiles, 'track_file');
  dupes(cfg.trackProcesses, 'vrrp_track_process');
  dupes(cfg.syncGroups, 'vrrp_sync_group');
  dupes(cfg.virtualServerGroups, 'virtual_server_group');

  const owners = [...cfg.instances.map((i) => ({ who: `vrrp_instance '${i.name}'`, t: i })), ...cfg.syncGroups.map((g) => ({ who: `vrrp_sync_group '${g.name}'`, t: g }))];
  for (const { who, t } of owners) {
    for (const ref of t.trackScripts) {
      used.add(ref.name);
      if (!scripts.has(ref.name)) d.error('unknown-track-script', `${who} tracks script '${ref.name}', but no vrrp_script has that name`, ref.loc, nearName(ref.name, scripts.keys()));
    }
    for (const ref of t.trackFiles) if (!files.has(ref.name)) d.error('unknown-track-file', `${who} tracks file '${ref.name}', but no track_file has that name`, ref.loc, nearName(ref.name, files.keys()));
    for (const ref of t.trackProcesses) if (!procs.has(ref.name)) d.error('unknown-track-process', `${who} tracks process '${ref.name}', but no vrrp_track_process has that name`, ref.loc, nearName(ref.name, procs.keys()));
  }
  for (const s of cfg.vrrpScripts) {
    if (!s.script) d.error('missing-script', `vrrp_script '${s.name}' has no 'script'`, s.loc);
    if (!used.has(s.name)) d.warning('unused-script', `vrrp_script '${s.name}' is not tracked by any instance or group, so it never runs`, s.loc);
    if (s.timeoutMs !== undefined && s.timeoutMs > s.intervalMs) d.warning('script-timeout', `vrrp_script '${s.name}': timeout ${s.timeoutMs / 1000}s is longer than its interval ${s.intervalMs / 1000}s`, s.loc);
  }
  for (const f of cfg.trackFiles) if (!f.file) d.error('missing-file', `track_file '${f.name}' has no 'file'`, f.loc);
  for (const p of cfg.trackProcesses) if (!p.process) d.error('missing-process', `vrrp_track_process '${p.name}' has no 'process'`, p.loc);

  const memberOf = new Map<string, { group: string; loc: Loc }>();
  for (const g of cfg.syncGroups) {
    if (!g.members.length) d.error('empty-sync-group', `vrrp_sync_group '${g.name}' has no members`, g.loc, "list them: group { VI_1 VI_2 }");
    if (g.members.length === 1) d.warning('single-member-group', `vrrp_sync_group '${g.name}' has only one member`, g.loc);
    for (const m of g.members) {
      const vi = instances.get(m.name);
      if (!vi) { d.error('unknown-instance', `vrrp_sync_group '${g.name}' names '${m.name}', but no vrrp_instance has that name`, m.loc, nearName(m.name, instances.keys())); continue; }
      const prev = memberOf.get(m.name);
      if (prev) {
        d.add({ severity: 'error', code: 'instance-in-two-groups', message: `vrrp_instance '${m.name}' is in sync groups '${prev.group}' and '${g.name}'; an instance may be in one only`, loc: m.loc, related: related(`member of '${prev.group}' here`, prev.loc) });
        continue;
      }
      memberOf.set(m.name, { group: g.name, loc: m.loc });
      if (!g.syncGroupTrackingWeight) {
        for (const ref of vi.trackScripts) {
          const w = ref.weight ?? scripts.get(ref.name)?.weight ?? 0;
          if (w !== 0) d.warning('sync-group-weight-ignored', `track_script '${ref.name}' of '${vi.name}' has weight ${w}, which is ignored because '${vi.name}' is in sync group '${g.name}': a failure puts the group in FAULT`, ref.loc, "set 'sync_group_tracking_weight' in the group to use weights, or track the script on the group");
        }
      }
    }
  }
}

function vsKey(vs: VirtualServer): string {
  if (vs.kind === 'fwmark') return `fwmark ${vs.fwmark} ${vs.family ?? 4}`;
  if (vs.kind === 'group') return `group ${vs.group}`;
  return `${vs.protocol} ${vs.address} ${vs.port ?? 0}`;
}

function vsName(vs: VirtualServer): string {
  if (vs.kind === 'fwmark') return `fwmark ${vs.fwmark}`;
  if (vs.kind === 'group') return `group ${vs.group}`;
  return `${vs.family === 6 ? `[${vs.address}]` : vs.address}:${vs.port ?? 0}/${vs.protocol.toLowerCase()}`;
}

function checkVirtualServers(cfg: KeepalivedConfig, d: Diagnostics, host?: HostInfo): void {
  // the nftables driver does NAT only: what it cannot carry is an error with lb_driver nftables,
  // and a warning where nftables will be the default because this host's kernel has no IPVS
  const nft = cfg.global.lbDriver === 'nftables' ? 'error' : cfg.global.lbDriver === undefined && host?.hasIpvs?.() === false ? 'warning' : undefined;
  if (nft) {
    for (const vs of cfg.virtualServers) {
      for (const p of nftablesProblems(vs)) {
        d[nft]('nftables-unsupported', `virtual_server ${vsName(vs)}: ${p}`, vs.loc, nft === 'warning' ? 'this host has no IPVS (ip_vs), so vigil will balance with nftables; run it where ip_vs is loaded, or change the virtual server' : undefined);
      }
    }
  }
  if (nft && cfg.global.lvsTimeouts && cfg.virtualServers.length) {
    d.warning('nftables-unsupported', 'lvs_timeouts sets kernel IPVS timeouts: with the nftables load balancer it has no effect (its connections follow conntrack\'s timeouts)', cfg.global.lvsTimeouts.loc);
  }
  const seen = new Map<string, Loc>();
  const groups = new Map(cfg.virtualServerGroups.map((g) => [g.name, g]));
  for (const vs of cfg.virtualServers) {
    const key = vsKey(vs);
    const prev = seen.get(key);
    if (prev) d.add({ severity: 'error', code: 'duplicate-virtual-server', message: `virtual_server ${vsName(vs)} is defined twice`, loc: vs.loc, related: related('first defined here', prev) });
    seen.set(key, vs.loc);
    if (vs.kind === 'group' && !groups.has(vs.group ?? '')) d.error('unknown-vs-group', `virtual_server group '${vs.group}' names no virtual_server_group`, vs.loc, nearName(vs.group ?? '', groups.keys()));
    if (!vs.realServers.length && !vs.sorryServer) d.warning('no-real-servers', `virtual_server ${vsName(vs)} has no real_server`, vs.loc);
    const rsSeen = new Map<string, Loc>();
    let total = 0;
    for (const rs of vs.realServers) {
      const k = `${rs.address} ${rs.port ?? vs.port ?? 0}`;
      const p = rsSeen.get(k);
      if (p) d.add({ severity: 'error', code: 'duplicate-real-server', message: `real_server ${rs.address}${rs.port !== undefined ? ` ${rs.port}` : ''} is listed twice in virtual_server ${vsName(vs)}`, loc: rs.loc, related: related('first listed here', p) });
      rsSeen.set(k, rs.loc);
      if (vs.family && rs.family !== vs.family && vs.lbKind !== 'TUN') d.error('rs-family', `real_server ${rs.address} is IPv${rs.family} but the virtual server is IPv${vs.family}`, rs.loc);
      total += rs.weight;
      if (!rs.checkers.length) d.warning('no-checker', `real_server ${rs.address} has no checker, so it is always considered up`, rs.loc);
      for (const ck of rs.checkers) checkChecker(ck, d);
    }
    if (vs.quorum > 1 && total < vs.quorum) d.warning('quorum-unreachable', `quorum ${vs.quorum} is more than the total weight ${total} of all real servers: the virtual server can never be up`, vs.loc);
  }
}

/** lvs_sync_daemon: its VRRP instance exists (its state decides master or backup); IPVS only */
function checkSyncDaemon(cfg: KeepalivedConfig, d: Diagnostics, host?: HostInfo): void {
  const s = cfg.global.lvsSyncDaemon;
  if (!s) return;
  if (!s.instance) {
    d.error('lvs-sync-instance', 'lvs_sync_daemon needs the VRRP instance whose state it follows: lvs_sync_daemon IFNAME INSTANCE', s.loc);
  } else if (!cfg.instances.some((i) => i.name === s.instance)) {
    d.error('lvs-sync-instance', `lvs_sync_daemon: no vrrp_instance '${s.instance}'`, s.instanceLoc ?? s.loc, nearName(s.instance, cfg.instances.map((i) => i.name)));
  }
  const nft = cfg.global.lbDriver === 'nftables' || (cfg.global.lbDriver === undefined && host?.hasIpvs?.() === false);
  if (nft) d.warning('nftables-unsupported', 'lvs_sync_daemon syncs kernel IPVS connections: with the nftables load balancer it has no effect (conntrackd syncs conntrack)', s.loc);
  else if (!cfg.virtualServers.length) d.warning('lvs-sync-unused', 'lvs_sync_daemon: vigil opens IPVS only for virtual servers, and this config has none', s.loc);
}

/** the SSL { } block: complete, and loadable as SSL_GET will load it (keepalived's checker exits on it) */
function checkSsl(cfg: KeepalivedConfig, d: Diagnostics, host?: HostInfo): void {
  const ssl = cfg.ssl;
  if (!ssl) return;
  const used = cfg.virtualServers.some((vs) => vs.realServers.some((rs) => rs.checkers.some((ck) => ck.type === 'SSL_GET')));
  // an SSL_GET would fail every check with a context that cannot be made; unused, it is only a warning
  const report = (keyword: 'ca' | 'certificate' | 'key', message: string) =>
    d[used ? 'error' : 'warning']('ssl-context', `SSL ${keyword}: ${message}`, ssl.locs[keyword] ?? ssl.loc, used ? 'every SSL_GET would fail with this context' : undefined);
  if (ssl.password !== undefined && ssl.key === undefined) d.warning('ssl-password-unused', "SSL: 'password' has no 'key' to decrypt", ssl.locs.password ?? ssl.loc);
  const bad = sslIncomplete(ssl) ?? host?.sslContext?.(ssl);
  if (bad) report(bad.keyword, bad.message);
}

function checkChecker(ck: Checker, d: Diagnostics): void {
  // Node sockets cannot bind to a device or set a firewall mark, nor can the raw ICMP socket bind
  const unsupported = [
    ...(ck.bindIf ? ['bind_if (the check runs without binding to the interface)'] : []),
    ...(ck.fwmark ? ['fwmark (the check runs without a firewall mark)'] : []),
    ...(ck.type === 'PING_CHECK' && ck.bindTo ? ['bindto on PING_CHECK (the ping leaves from the routed source address)'] : []),
  ];
  for (const u of unsupported) d.warning('checker-unsupported', `${ck.type}: vigil does not support ${u}`, ck.loc);
  if (ck.type === 'HTTP_GET' || ck.type === 'SSL_GET') {
    // check_http.c url_check: offsets without a regex, or a minimum past the maximum, are ignored
    for (const u of ck.urls) {
      if (u.regexMinOffset === undefined && u.regexMaxOffset === undefined) continue;
      const where = u.regexOffsetLoc ?? u.loc;
      if (u.regex === undefined) {
        d.warning('regex-offset-ignored', 'regex_min_offset / regex_max_offset without a regex: ignored', where);
        delete u.regexMinOffset;
        delete u.regexMaxOffset;
      } else if (u.regexMinOffset !== undefined && u.regexMaxOffset !== undefined && u.regexMinOffset > u.regexMaxOffset) {
        d.warning('regex-offset-ignored', `regex_min_offset ${u.regexMinOffset} is past regex_max_offset ${u.regexMaxOffset}: both ignored (as keepalived does)`, where);
        delete u.regexMinOffset;
        delete u.regexMaxOffset;
      }
    }
  }
  if (ck.type === 'FILE_CHECK' && ck.dynamic) d.warning('checker-unsupported', 'FILE_CHECK: dynamic has no effect: the weight is always applied (as keepalived 2.2.7 does, which documents but never parses it)', ck.loc);
  const r = ck.resolved;
  if (!r) return;
  if (ck.type !== 'MISC_CHECK' && ck.type !== 'FILE_CHECK' && r.connectTimeoutMs > r.delayLoopMs) {
    d.warning('checker-timeout', `${ck.type}: connect_timeout ${r.connectTimeoutMs / 1000}s is longer than delay_loop ${r.delayLoopMs / 1000}s`, ck.loc);
  }
}

function nearName(name: string, names: Iterable<string>): string | undefined {
  const best = suggest(name, [...names]);
  return best ? `did you mean '${best}'?` : undefined;
}

// ---------------------------------------------------------------- script security

/** Every script the config would run, with what runs it. */
export function allScripts(cfg: KeepalivedConfig): { spec: ScriptSpec; what: string }[] {
  const out: { spec: ScriptSpec; what: string }[] = [];
  const add = (spec: ScriptSpec | true | undefined, what: string): void => { if (spec && spec !== true) out.push({ spec, what }); };
  const g = cfg.global;
  add(g.startupScript, 'startup_script'); add(g.shutdownScript, 'shutdown_script');
  add(g.notifyFifoScript, 'notify_fifo_script'); add(g.vrrpNotifyFifoScript, 'vrrp_notify_fifo_script'); add(g.lvsNotifyFifoScript, 'lvs_notify_fifo_script');
  for (const s of cfg.vrrpScripts) add(s.script, `vrrp_script '${s.name}'`);
  for (const x of [...cfg.instances, ...cfg.syncGroups]) {
    for (const [k, v] of Object.entries(x.notify)) add(v, `notify${k === 'generic' ? '' : `_${k}`} of '${x.name}'`);
  }
  for (const vs of cfg.virtualServers) {
    add(vs.quorumUp, 'quorum_up'); add(vs.quorumDown, 'quorum_down');
    for (const rs of vs.realServers) {
      add(rs.notifyUp, `notify_up of real_server ${rs.address}`); add(rs.notifyDown, `notify_down of real_server ${rs.address}`);
      for (const ck of rs.checkers) if (ck.type === 'MISC_CHECK') add(ck.script, `MISC_CHECK of real_server ${rs.address}`);
    }
  }
  return out;
}

const SHELL_BUILTINS = new Set(['true', 'false', 'test', '[', 'exit', '<']);

function checkScripts(cfg: KeepalivedConfig, d: Diagnostics, host: HostInfo): void {
  const scripts = allScripts(cfg);
  if (!scripts.length) return;
  const checked = new Map<string, boolean>();
  for (const { spec, what } of scripts) {
    const cmd = spec.argv[0] ?? '';
    if (cmd.startsWith('<') || SHELL_BUILTINS.has(cmd)) continue; // keepalived hands these to /bin/sh
    const resolved = host.which(cmd);
    if (!resolved) {
      d.security('script-not-found', `${what}: '${cmd}' is not found in PATH`, spec.loc, 'give the full path of the script');
      continue;
    }
    if (checked.get(resolved) === false) continue;
    const st = host.stat(resolved);
    if (!st) {
      d.security('script-not-found', `${what}: script '${resolved}' does not exist`, spec.loc);
      checked.set(resolved, false);
      continue;
    }
    if (!st.isFile) { d.security('script-not-file', `${what}: '${resolved}' is not a regular file`, spec.loc); continue; }
    if ((st.mode & 0o111) === 0) {
      d.security('script-not-executable', `${what}: '${resolved}' is not executable`, spec.loc, `chmod +x ${resolved}`);
      continue;
    }
    // a script run as root must not be writable by anyone else, nor may any directory above it
    const runsAsRoot = (spec.user ?? cfg.global.scriptUser?.user ?? 'root') === 'root';
    if (runsAsRoot) {
      const unsafe = unsafePath(resolved, host);
      if (unsafe) d.security('script-unsafe', `${what}: '${unsafe}' is writable by a non-root user, so anyone with that access could run commands as root`, spec.loc, `chmod go-w ${unsafe} (and make it owned by root)`);
    }
    checked.set(resolved, true);
  }
}

function unsafePath(file: string, host: HostInfo): string | undefined {
  let p = file;
  for (;;) {
    const st = host.stat(p);
    if (st) {
      const sticky = (st.mode & 0o1000) !== 0;
      if (st.uid !== 0 || (st.mode & 0o002 && !(sticky && p !== file)) || (st.mode & 0o020 && st.gid !== 0)) return p;
    }
    const parent = path.dirname(p);
    if (parent === p) return undefined;
    p = parent;
  }
}
