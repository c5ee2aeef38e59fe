// Top-level keywords and blocks (keepalived's root keyword table).
import type { KeepalivedConfig, SslContextSpec, SyncGroup, TrackFile, TrackProcess, VirtualServerGroup } from '../model.js';
import { type Ctx, type Kw, runBlock, table } from '../schema.js';
import type { Stmt } from '../tree.js';
import { emptyTrackers, parseAddress, parseRoute } from './common.js';
import { defaultGlobal, globalDefs } from './global.js';
import { newVirtualServer, parseVsgEntries, virtualServer } from './lvs.js';
import { newInstance, newVrrpScript, runSyncGroup, trackFile, trackProcess, vrrpInstance, vrrpScript } from './vrrp.js';

export type Root = {
  -readonly [K in keyof KeepalivedConfig]: KeepalivedConfig[K];
};

export function emptyConfig(): Root {
  return {
    files: [], global: defaultGlobal(), vrrpScripts: [], trackFiles: [], trackProcesses: [], syncGroups: [],
    instances: [], staticAddresses: [], staticRoutes: [], staticRules: [], virtualServerGroups: [],
    virtualServers: [], other: [],
  };
}

/** The name after a named block's keyword: `vrrp_instance VI_1 {`. */
function blockName(s: Stmt, c: Ctx): string | undefined {
  const w = c.arg(s, 1, 'a name');
  if (w) c.maxArgs(s, 1);
  return w?.text;
}

/** A top-level block or keyword vigil accepts without acting on. */
function other(reason: string, block?: 'required' | 'optional'): Kw<Root> {
  return {
    unsupported: reason, multi: true, ...(block ? { block } : {}),
    h: (s, _c, r) => { r.other.push({ keyword: s.keyword, loc: s.loc, ...(s.words[1] ? { name: s.words[1].text } : {}) }); },
  };
}

/** `SSL { ca F; certificate F; key F; password P }` (keepalived's check_parser.c) */
const sslFile = (k: 'ca' | 'certificate' | 'key' | 'password', what: string): Kw<SslContextSpec> => ({
  h: (s, c, t) => {
    const w = c.arg(s, 1, what);
    if (!w) return;
    t[k] = w.text;
    t.locs[k] = w.loc;
    c.maxArgs(s, 1);
  },
});
const ssl = table<SslContextSpec>('SSL', {
  ca: sslFile('ca', 'a CA file (PEM)'),
  certificate: sslFile('certificate', 'a certificate chain file (PEM)'),
  key: sslFile('key', 'a private key file (PEM)'),
  password: sslFile('password', "the private key's password"),
});

export const root = table<Root>('the top level', {
  global_defs: { block: 'required', multi: true, h: (s, c, r) => runBlock(s.block ?? [], globalDefs, r.global, c, 'global_defs') },
  vrrp_script: {
    block: 'required', multi: true,
    h: (s, c, r) => {
      const name = blockName(s, c);
      if (!name) return;
      const t = newVrrpScript(name, s.loc);
      runBlock(s.block ?? [], vrrpScript, t, c, 'vrrp_script');
      r.vrrpScripts.push(t);
    },
  },
  track_file: {
    block: 'required', multi: true,
    h: (s, c, r) => {
      const name = blockName(s, c);
      if (!name) return;
      const t: TrackFile = { loc: s.loc, name, weight: 1, reverse: false };
      runBlock(s.block ?? [], trackFile, t, c, 'track_file');
      r.trackFiles.push(t);
    },
  },
  vrrp_track_process: {
    block: 'required', multi: true,
    h: (s, c, r) => {
      const name = blockName(s, c);
      if (!name) return;
      const t: TrackProcess = { loc: s.loc, name, args: [], weight: 0, reverse: false, quorum: 1, fullCommand: false };
      runBlock(s.block ?? [], trackProcess, t, c, 'vrrp_track_process');
      r.trackProcesses.push(t);
    },
  },
  vrrp_sync_group: {
    block: 'required', multi: true,
    h: (s, c, r) => {
      const name = blockName(s, c);
      if (!name) return;
      const g: SyncGroup = { loc: s.loc, name, members: [], notify: {}, syncGroupTrackingWeight: false, ...emptyTrackers() };
      runSyncGroup(s, c, g);
      r.syncGroups.push(g);
    },
  },
  vrrp_instance: {
    block: 'required', multi: true,
    h: (s, c, r) => {
      const name = blockName(s, c);
      if (!name) return;
      const t = newInstance(name, s.loc);
      runBlock(s.block ?? [], vrrpInstance, t, c, 'vrrp_instance');
      r.instances.push(t);
    },
  },
  static_ipaddress: {
    block: 'required', multi: true,
    h: (s, c, r) => { for (const l of s.block ?? []) { const a = parseAddress(l, c); if (a) r.staticAddresses.push(a); } },
  },
  static_routes: {
    block: 'required', multi: true,
    h: (s, c, r) => { for (const l of s.block ?? []) r.staticRoutes.push(parseRoute(l, c, 'route')); },
  },
  static_rules: {
    block: 'required', multi: true,
    h: (s, c, r) => { for (const l of s.block ?? []) r.staticRules.push(parseRoute(l, c, 'rule')); },
  },
  virtual_server_group: {
    block: 'required', multi: true,
    h: (s, c, r) => {
      const name = blockName(s, c);
      if (!name) return;
      const g: VirtualServerGroup = { loc: s.loc, name, entries: [] };
      parseVsgEntries(s, c, g);
      r.virtualServerGroups.push(g);
    },
  },
  virtual_server: {
    block: 'required', multi: true,
    h: (s, c, r) => {
      const vs = newVirtualServer(s, c);
      if (!vs) return;
      runBlock(s.block ?? [], virtualServer, vs, c, 'virtual_server');
      r.virtualServers.push(vs);
    },
  },
  vrrp_track_file: {
    block: 'required', multi: true, deprecated: 'track_file',
    h: (s, c, r) => root.track_file?.h(s, c, r),
  },
  linkbeat_interfaces: other('vigil watches links through netlink', 'required'),
  track_group: other('track groups for static addresses are not implemented', 'required'),
  interface_up_down_delays: other('interface up/down debouncing is not implemented yet', 'required'),
  garp_group: other('GARP rate groups are not implemented yet', 'required'),
  bfd_instance: other('BFD is not implemented', 'required'),
  SSL: {
    block: 'required',
    h: (s, c, r) => {
      const t: SslContextSpec = { loc: s.loc, locs: {} };
      runBlock(s.block ?? [], ssl, t, c, 'SSL');
      r.ssl = t;
    },
  },
  net_namespace: other('run vigil inside the namespace instead (ip netns exec)'),
  net_namespace_ipvs: other('run vigil inside the namespace instead (ip netns exec)'),
  namespace_with_ipsets: other('ipsets are not used by vigil'),
  instance: other('vigil keeps one instance per process'),
  use_pid_dir: other('vigil writes one pidfile, chosen on its command line'),
  linkbeat_use_polling: other('vigil watches links through netlink'),
  child_wait_time: other('vigil is one process'),
});
