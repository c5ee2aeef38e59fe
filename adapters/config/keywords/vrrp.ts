// The VRRP side: vrrp_script, track_file, vrrp_track_process, vrrp_sync_group, vrrp_instance
// (keepalived/vrrp/vrrp_parser.c, keepalived/trackers/track_file.c).
import { isIP } from 'node:net';
import type { Loc } from '../diagnostics.js';
import type { SyncGroup, TrackFile, TrackProcess, UnicastPeer, VrrpInstance, VrrpScript } from '../model.js';
import { type Ctx, type Kw, runBlock, table } from '../schema.js';
import type { Stmt, Word } from '../tree.js';
import { emptyTrackers, keep, notifyKeywords, parseAddress, parseRoute, trackerKeywords } from './common.js';

/** `weight W [reverse]` on a tracker definition. */
function weightKw<T extends { weight: number; reverse: boolean }>(min: number, max: number): Kw<T> {
  return {
    h: (s, c, t) => {
      const v = c.int(s, min, max);
      if (v !== undefined) t.weight = v;
      const r = s.words[2];
      if (r) {
        if (r.text === 'reverse') t.reverse = true;
        else if (r.text === 'noreverse') t.reverse = false;
        else c.diags.error('invalid-value', `'weight' takes 'reverse' or 'noreverse' after the number, not '${r.text}'`, r.loc);
      }
      c.maxArgs(s, 2);
    },
  };
}

export function newVrrpScript(name: string, loc: Loc): VrrpScript {
  return { loc, name, intervalMs: 1000, weight: 0, reverse: false, rise: 1, fall: 1, initFail: false };
}

export const vrrpScript = table<VrrpScript>('vrrp_script', {
  script: { h: (s, c, t) => { const v = c.script(s); if (v) t.script = v; } },
  interval: { h: (s, c, t) => { const v = c.timerMs(s, 0.001, 86400); if (v !== undefined) t.intervalMs = v; } },
  timeout: { h: (s, c, t) => { const v = c.timerMs(s, 0.001, 86400); if (v !== undefined) t.timeoutMs = v; } },
  weight: weightKw(-253, 253),
  rise: { h: (s, c, t) => { const v = c.int(s, 1, 1_000_000); if (v !== undefined) t.rise = v; } },
  fall: { h: (s, c, t) => { const v = c.int(s, 1, 1_000_000); if (v !== undefined) t.fall = v; } },
  user: {
    h: (s, c, t) => {
      const u = c.arg(s, 1, 'a user name');
      if (!u) return;
      const [user, group] = u.text.split(':');
      const grp = group || s.words[2]?.text.replace(/^:/, '');
      t.user = { user: user as string, ...(grp ? { group: grp } : {}) };
    },
  },
  init_fail: { h: (s, c, t) => { t.initFail = c.bool(s); } },
});

export const trackFile = table<TrackFile>('track_file', {
  file: { h: (s, c, t) => { const v = c.str(s, 1, 'a file path'); if (v) t.file = v; } },
  weight: weightKw(-2147483647, 2147483647),
  init_file: {
    h: (s, c, t) => {
      let value = 0;
      let overwrite = false;
      for (const w of s.words.slice(1)) {
        if (w.text === 'overwrite') overwrite = true;
        else { const v = c.intWord(w, -2147483647, 2147483647, 'init_file'); if (v !== undefined) value = v; }
      }
      t.initFile = { value, overwrite };
    },
  },
});

export const trackProcess = table<TrackProcess>('vrrp_track_process', {
  process: {
    h: (s, c, t) => {
      const v = c.str(s, 1, 'a process name or path');
      if (v) { t.process = v; t.args = c.rest(s, 2); }
    },
  },
  param_match: { h: (s, c, t) => { const v = c.oneOf(s, ['initial', 'partial'] as const); if (v) t.paramMatch = v; } },
  weight: weightKw(-254, 254),
  quorum: { h: (s, c, t) => { const v = c.int(s, 1, 65535); if (v !== undefined) t.quorum = v; } },
  quorum_max: { h: (s, c, t) => { const v = c.int(s, 1, 65535); if (v !== undefined) t.quorumMax = v; } },
  fork_delay: { h: (s, c, t) => { const v = c.timerMs(s, 0, 3600); if (v !== undefined) t.forkDelayMs = v; } },
  terminate_delay: { h: (s, c, t) => { const v = c.timerMs(s, 0, 3600); if (v !== undefined) t.terminateDelayMs = v; } },
  delay: { h: (s, c, t) => { const v = c.timerMs(s, 0, 3600); if (v !== undefined) { t.forkDelayMs = v; t.terminateDelayMs = v; } } },
  full_command: { h: (s, c, t) => { t.fullCommand = c.bool(s); } },
});

export const syncGroup = table<SyncGroup>('vrrp_sync_group', {
  group: {
    block: 'required', multi: true,
    h: (s, c, g) => { for (const w of c.listWords(s)) g.members.push({ name: w.text, loc: w.loc }); },
  },
  ...trackerKeywords<SyncGroup>(),
  ...notifyKeywords<SyncGroup>(),
  global_tracking: { deprecated: 'sync_group_tracking_weight', h: (s, c, g) => { g.syncGroupTrackingWeight = c.bool(s); } },
  sync_group_tracking_weight: { h: (s, c, g) => { g.syncGroupTrackingWeight = c.bool(s); } },
});

export function runSyncGroup(s: Stmt, c: Ctx, g: SyncGroup): void {
  // keepalived's old form lists instance names directly in the block, without group { }
  const direct = (s.block ?? []).filter((st) => !Object.hasOwn(syncGroup, st.keyword) && !st.block && /^[A-Za-z0-9_.-]+$/.test(st.keyword));
  const known = direct.length && (s.block ?? []).every((st) => Object.hasOwn(syncGroup, st.keyword) || direct.includes(st));
  if (known && !(s.block ?? []).some((st) => st.keyword === 'group')) {
    c.diags.warning('deprecated-syntax', `members listed without 'group { }' (old syntax); write 'group { ${direct.flatMap((d) => d.words.map((w) => w.text)).join(' ')} }'`, direct[0]?.loc ?? s.loc);
    for (const st of direct) for (const w of st.words) g.members.push({ name: w.text, loc: w.loc });
    runBlock((s.block ?? []).filter((st) => !direct.includes(st)), syncGroup, g, c, 'vrrp_sync_group');
    return;
  }
  runBlock(s.block ?? [], syncGroup, g, c, 'vrrp_sync_group');
}

export function newInstance(name: string, loc: Loc): VrrpInstance {
  return {
    loc, name, initialState: 'BACKUP', priority: 100, priorityConfigured: false, advertIntMs: 1000, version: 2,
    versionConfigured: false, unicastPeers: [], vips: [], excludedVips: [], virtualRoutes: [], virtualRules: [],
    noVirtualIpaddress: false, nopreempt: false, preemptDelayMs: 0, dontTrackPrimary: false, notify: {},
    ...emptyTrackers(), other: {},
  };
}

type I = VrrpInstance;
const flag = (set: (t: I, v: boolean) => void): Kw<I> => ({ h: (s, c, t) => set(t, c.bool(s)) });
const ms = (min: number, max: number, set: (t: I, v: number) => void): Kw<I> => ({
  h: (s, c, t) => { const v = c.timerMs(s, min, max); if (v !== undefined) set(t, v); },
});
const int = (min: number, max: number, set: (t: I, v: number) => void): Kw<I> => ({
  h: (s, c, t) => { const v = c.int(s, min, max); if (v !== undefined) set(t, v); c.maxArgs(s, 1); },
});
const addr = (set: (t: I, v: string) => void): Kw<I> => ({
  h: (s, c, t) => { const a = c.ip(c.arg(s, 1, 'an IP address'), s.keyword); if (a) set(t, a.address); c.maxArgs(s, 1); },
});

const VMAC = 'only use_vmac itself is implemented (macvlan with the virtual MAC); its variants are not';
const HMAC = 'auth_hmac (keepalived 2.4 extension) is not implemented';

export const vrrpInstance = table<I>('vrrp_instance', {
  state: {
    h: (s, c, t) => {
      const v = c.oneOf(s, ['MASTER', 'BACKUP'] as const, 1, true);
      if (v) { t.state = v; t.stateLoc = s.loc; }
      c.maxArgs(s, 1);
    },
  },
  interface: { h: (s, c, t) => { const w = c.arg(s, 1, 'an interface name'); if (w) { t.interface = w.text; t.interfaceLoc = w.loc; } c.maxArgs(s, 1); } },
  vrf: keep('VRF binding is not implemented'),
  virtual_router_id: {
    h: (s, c, t) => {
      const v = c.int(s, 1, 255);
      t.vridLoc = s.words[1]?.loc ?? s.loc; // set even when invalid: the error is already reported
      if (v !== undefined) t.vrid = v;
      c.maxArgs(s, 1);
    },
  },
  priority: {
    h: (s, c, t) => {
      const v = c.int(s, 1, 255);
      if (v !== undefined) { t.priority = v; t.priorityLoc = s.words[1]?.loc ?? s.loc; t.priorityConfigured = true; }
      c.maxArgs(s, 1);
    },
  },
  advert_int: {
    // range and unit depend on the version, checked once the whole instance is read
    h: (s, c, t) => { const v = c.timerMs(s, 0.001, 255); if (v !== undefined) { t.advertIntMs = v; t.advertIntLoc = s.words[1]?.loc ?? s.loc; } c.maxArgs(s, 1); },
  },
  version: int(2, 3, (t, v) => { t.version = v as 2 | 3; t.versionConfigured = true; }),
  native_ipv6: { deprecated: "'version 3' and IPv6 addresses", h: (_s, _c, t) => { t.family = 6; t.version = 3; t.versionConfigured = true; } },
  mcast_src_ip: addr((t, v) => { t.mcastSrcIp = v; }),
  unicast_src_ip: addr((t, v) => { t.unicastSrcIp = v; }),
  mcast_dst_ip: addr((t, v) => { t.mcastDstIp = v; }),
  track_src_ip: { h: (s, c, t) => { t.trackSrcIp = c.bool(s); } },
  unicast_peer: {
    block: 'required', multi: true,
    h: (s, c, t) => {
      for (const line of s.block ?? []) t.unicastPeers.push(...parsePeers(line, c));
    },
  },
  unicast_ttl: int(0, 255, (t, v) => { t.unicastTtl = v; }),
  unicast_fault_no_peer: { h: (s, c, t) => { t.unicastFaultNoPeer = c.bool(s); } },
  check_unicast_src: { h: (s, c, t) => { t.checkUnicastSrc = c.bool(s); } },
  old_unicast_checksum: keep(),
  v3_checksum_as_v2: keep(),
  use_vmac: {
    h: (s, _c, t) => { t.useVmac = { loc: s.loc, ...(s.words[1] ? { name: s.words[1].text } : {}) }; },
  },
  use_vmac_addr: keep(VMAC),
  vmac_xmit_base: keep(VMAC),
  use_ipvlan: keep(VMAC),
  authentication: {
    block: 'required',
    h: (s, c, t) => {
      const a: { type?: 'PASS' | 'AH'; pass?: string; passLoc?: Loc } = {};
      runBlock(s.block ?? [], authBlock, a, c, 'authentication');
      if (!a.type) {
        c.diags.error('missing-auth-type', "authentication block has no 'auth_type PASS|AH'", s.loc);
        return;
      }
      t.auth = { type: a.type, loc: s.loc, ...(a.pass !== undefined ? { pass: a.pass } : {}), ...(a.passLoc ? { passLoc: a.passLoc } : {}) };
    },
  },
  auth_hmac: keep(HMAC, 'required'),
  virtual_ipaddress: {
    block: 'required', multi: true,
    h: (s, c, t) => { for (const l of s.block ?? []) { const a = parseAddress(l, c); if (a) t.vips.push(a); } },
  },
  virtual_ipaddress_excluded: {
    block: 'required', multi: true,
    h: (s, c, t) => { for (const l of s.block ?? []) { const a = parseAddress(l, c); if (a) t.excludedVips.push(a); } },
  },
  no_virtual_ipaddress: flag((t, v) => { t.noVirtualIpaddress = v; }),
  promote_secondaries: keep(),
  virtual_routes: {
    block: 'required', multi: true,
    h: (s, c, t) => { for (const l of s.block ?? []) t.virtualRoutes.push(parseRoute(l, c, 'route')); },
  },
  virtual_rules: {
    block: 'required', multi: true,
    h: (s, c, t) => { for (const l of s.block ?? []) t.virtualRules.push(parseRoute(l, c, 'rule')); },
  },
  accept: flag((t, v) => { t.accept = v; }),
  no_accept: flag((t, v) => { t.accept = !v; }),
  dont_track_primary: flag((t, v) => { t.dontTrackPrimary = v; }),
  ...trackerKeywords<I>(),
  linkbeat_use_polling: { ...keep('vigil watches links through netlink'), deprecated: 'linkbeat_interfaces' },
  kernel_rx_buf_size: keep(),
  nopreempt: { h: (s, c, t) => { t.nopreempt = c.bool(s); t.nopreemptLoc = s.loc; } },
  preempt: { h: (s, c, t) => { t.nopreempt = !c.bool(s); } },
  preempt_delay: ms(0, 1000, (t, v) => { t.preemptDelayMs = v; }),
  skip_check_adv_addr: flag((t, v) => { t.skipCheckAdvAddr = v; }),
  strict_mode: flag((t, v) => { t.strictMode = v; }),
  down_timer_adverts: int(1, 100, (t, v) => { t.downTimerAdverts = v; }),
  timer_expired_backup: keep(),
  thread_timer_expired: { ...keep(), deprecated: 'timer_expired_backup' },
  lower_prio_no_advert: flag((t, v) => { t.lowerPrioNoAdvert = v; }),
  higher_prio_send_advert: flag((t, v) => { t.higherPrioSendAdvert = v; }),
  owner_ignore_adverts: { h: (s, c, t) => { t.ownerIgnoreAdverts = c.bool(s); } },
  debug: keep('debug levels are unused (as in keepalived); use the event stream'),
  garp_master_delay: ms(0, 86400, (t, v) => { t.garpMasterDelayMs = v; }),
  garp_master_repeat: int(1, 65535, (t, v) => { t.garpMasterRepeat = v; }),
  garp_lower_prio_delay: ms(0, 86400, (t, v) => { t.garpLowerPrioDelayMs = v; }),
  garp_lower_prio_repeat: int(0, 65535, (t, v) => { t.garpLowerPrioRepeat = v; }),
  garp_master_refresh: ms(0, 86400, (t, v) => { t.garpMasterRefreshMs = v; }),
  garp_master_refresh_repeat: int(1, 65535, (t, v) => { t.garpMasterRefreshRepeat = v; }),
  garp_extra_if: keep(VMAC),
  vmac_garp_intvl: { ...keep(VMAC), deprecated: 'garp_extra_if' },
  ...notifyKeywords<I>(),
  notify_deleted: {
    h: (s, c, t) => {
      if (s.words.length < 2) { t.notify.deleted = true; return; }
      const v = c.script(s);
      if (v) t.notify.deleted = v;
    },
  },
  notify_master_rx_lower_pri: { h: (s, c, t) => { const v = c.script(s); if (v) t.notify.masterRxLowerPri = v; } },
  lvs_sync_daemon_interface: { ...keep('the IPVS connection-sync daemon is not managed by vigil'), deprecated: 'lvs_sync_daemon in global_defs' },
});

const authBlock = table<{ type?: 'PASS' | 'AH'; pass?: string; passLoc?: Loc }>('authentication', {
  auth_type: {
    h: (s, c, a) => { const v = c.oneOf(s, ['PASS', 'AH'] as const, 1, true); if (v) a.type = v; c.maxArgs(s, 1); },
  },
  auth_pass: {
    h: (s, c, a) => {
      const w = c.arg(s, 1, 'a password');
      if (w) { a.pass = w.text; a.passLoc = w.loc; }
      c.maxArgs(s, 1);
    },
  },
});

/** `IP [min_ttl N] [max_ttl N]`; several addresses on one line are taken as several peers. */
function parsePeers(line: Stmt, c: Ctx): UnicastPeer[] {
  const out: UnicastPeer[] = [];
  let cur: { -readonly [K in keyof UnicastPeer]: UnicastPeer[K] } | undefined;
  for (let i = 0; i < line.words.length; i++) {
    const w = line.words[i] as Word;
    if ((w.text === 'min_ttl' || w.text === 'max_ttl') && cur) {
      const v = line.words[++i];
      const n = v ? c.intWord(v, 0, 255, w.text) : undefined;
      if (!v) c.diags.error('missing-value', `'${w.text}' needs a number`, w.loc);
      if (n !== undefined) { if (w.text === 'min_ttl') cur.minTtl = n; else cur.maxTtl = n; }
      continue;
    }
    if (isIP(w.text) || i === 0) {
      const a = c.ip(w, 'unicast_peer');
      cur = a ? { loc: w.loc, address: a.address, family: a.family } : undefined;
      if (cur) out.push(cur);
      continue;
    }
    c.diags.error('unknown-option', `unknown unicast_peer option '${w.text}' (want min_ttl N / max_ttl N)`, w.loc);
  }
  return out;
}
