// global_defs (keepalived/core/global_parser.c).
import type { GlobalDefs } from '../model.js';
import type { Loc } from '../diagnostics.js';
import { type Ctx, type Kw, suggest, table } from '../schema.js';
import { keep } from './common.js';
import { parseUmask } from '../umask.js';

export function defaultGlobal(): GlobalDefs {
  return {
    notificationEmail: [],
    vigil: {},
    smtpConnectTimeoutMs: 30_000,
    noEmailFaults: false,
    enableScriptSecurity: false,
    vrrpVersion: 2,
    vrrpMcastGroup4: '224.0.0.18',
    vrrpMcastGroup6: 'ff02::12',
    vrrpStrict: false,
    vrrpSkipCheckAdvAddr: false,
    vrrpCheckUnicastSrc: false,
    vrrpDownTimerAdverts: 3,
    vrrpLowerPrioNoAdvert: false,
    vrrpHigherPrioSendAdvert: false,
    vrrpGarpMasterDelayMs: 5_000,
    vrrpGarpMasterRepeat: 5,
    vrrpGarpMasterRefreshMs: 0,
    vrrpGarpMasterRefreshRepeat: 1,
    vrrpGarpIntervalMs: 0,
    vrrpGnaIntervalMs: 0,
    vrrpStartupDelayMs: 0,
    other: {},
  };
}

type G = GlobalDefs;
const flag = (set: (g: G, v: boolean) => void): Kw<G> => ({ h: (s, c, g) => set(g, c.bool(s)) });
/** `lvs_flush_on_stop` flushes the whole IPVS table at stop, `lvs_flush_on_stop VS` only vigil's virtual servers */
const lvsFlushOnStop: Kw<G> = {
  h: (s, c, g) => {
    if (!s.words[1]) {
      g.lvsFlushOnStop = 'all';
      return;
    }
    if (c.oneOf(s, ['VS'] as const)) g.lvsFlushOnStop = 'vs';
    c.maxArgs(s, 1);
  },
};
const fifo = (set: (g: G, v: NonNullable<G['notifyFifo']>) => void): Kw<G> => ({
  h: (s, c, g) => { const v = c.script(s); if (v) set(g, v); },
});

const SNMP = 'SNMP is not implemented; use the metrics endpoint and the event stream';
const DBUS = 'DBus is not implemented; use the control socket';
const TUNING = 'process tuning does not apply to vigil (one Node.js process)';
const NETLINK = 'netlink buffer sizing does not apply to vigil';
const FW = 'firewall rules for accept mode are not managed by vigil yet';
const VMAC = 'VMAC/ipvlan interfaces are not implemented';
const RELOAD = 'vigil always checks a new config before applying it on reload';
const FILES = 'keepalived\'s internal file handling does not apply to vigil';

// a recipient: local@domain, or `Name <local@domain>`; keepalived sends whatever is written, and
// the server refuses a malformed address only when the first alert is due
const ADDRESS_RE = /^[^\s@<>()[\],;:"]+@(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*|\[[0-9A-Fa-f:.]+\])$/;
function badAddress(text: string, loc: Loc, c: Ctx): void {
  const addr = /<([^<>]*)>$/.exec(text)?.[1] ?? text;
  if (!ADDRESS_RE.test(addr)) c.diags.warning('invalid-email', `'${text}' is not a mail address (local@domain): the SMTP server will refuse it`, loc);
}

export const globalDefs = table<G>('global_defs', {
  router_id: { h: (s, c, g) => { const v = c.str(s); if (v) g.routerId = v; c.maxArgs(s, 1); } },
  notification_email: {
    block: 'required', multi: true,
    h: (s, c, g) => {
      for (const w of c.listWords(s)) {
        badAddress(w.text, w.loc, c);
        g.notificationEmail.push(w.text);
      }
    },
  },
  notification_email_from: { h: (s, c, g) => { const v = c.str(s); if (v) g.notificationEmailFrom = v; } },
  smtp_server: {
    h: (s, c, g) => {
      const host = c.arg(s, 1, 'a host');
      if (!host) return;
      const port = s.words[2] ? c.port(s.words[2], 'smtp_server') : 25;
      if (port !== undefined) g.smtpServer = { host: host.text, port, loc: host.loc };
      c.maxArgs(s, 2);
    },
  },
  smtp_helo_name: { h: (s, c, g) => { const v = c.str(s); if (v) g.smtpHeloName = v; } },
  smtp_connect_timeout: { h: (s, c, g) => { const v = c.timerMs(s, 1, 600); if (v !== undefined) g.smtpConnectTimeoutMs = v; } },
  smtp_alert: flag((g, v) => { g.smtpAlert = v; }),
  smtp_alert_vrrp: flag((g, v) => { g.smtpAlertVrrp = v; }),
  smtp_alert_checker: flag((g, v) => { g.smtpAlertChecker = v; }),
  no_email_faults: flag((g, v) => { g.noEmailFaults = v; }),
  no_checker_emails: flag((g, v) => { g.noCheckerEmails = v; }),
  checker_log_all_failures: flag((g, v) => { g.checkerLogAllFailures = v; }),
  script_user: {
    h: (s, c, g) => {
      const u = c.arg(s, 1, 'a user name');
      if (!u) return;
      const [user, group] = u.text.split(':');
      const grp = group || s.words[2]?.text.replace(/^:/, '');
      g.scriptUser = { user: user as string, ...(grp ? { group: grp } : {}), loc: u.loc };
    },
  },
  enable_script_security: flag((g, v) => { g.enableScriptSecurity = v; }),
  use_symlink_paths: keep(),
  set_supplementary_groups: keep(),
  startup_script: fifo((g, v) => { g.startupScript = v; }),
  startup_script_timeout: { h: (s, c, g) => { const v = c.int(s, 1, 1000); if (v !== undefined) g.startupScriptTimeoutS = v; c.maxArgs(s, 1); } },
  shutdown_script: fifo((g, v) => { g.shutdownScript = v; }),
  shutdown_script_timeout: { h: (s, c, g) => { const v = c.int(s, 1, 1000); if (v !== undefined) g.shutdownScriptTimeoutS = v; c.maxArgs(s, 1); } },
  notify_fifo: fifo((g, v) => { g.notifyFifo = v; }),
  notify_fifo_script: fifo((g, v) => { g.notifyFifoScript = v; }),
  vrrp_notify_fifo: fifo((g, v) => { g.vrrpNotifyFifo = v; }),
  vrrp_notify_fifo_script: fifo((g, v) => { g.vrrpNotifyFifoScript = v; }),
  lvs_notify_fifo: fifo((g, v) => { g.lvsNotifyFifo = v; }),
  lvs_notify_fifo_script: fifo((g, v) => { g.lvsNotifyFifoScript = v; }),
  vrrp_notify_priority_changes: flag((g, v) => { g.vrrpNotifyPriorityChanges = v; }),
  fifo_write_vrrp_states_on_reload: flag((g, v) => { g.fifoWriteVrrpStatesOnReload = v; }),
  vrrp_mcast_group4: { h: (s, c, g) => { const a = c.ip(c.arg(s), s.keyword); if (a) g.vrrpMcastGroup4 = a.address; } },
  vrrp_mcast_group6: { h: (s, c, g) => { const a = c.ip(c.arg(s), s.keyword); if (a) g.vrrpMcastGroup6 = a.address; } },
  vrrp_version: { h: (s, c, g) => { const v = c.int(s, 2, 3); if (v === 2 || v === 3) g.vrrpVersion = v; } },
  v3_checksum_as_v2: keep(),
  vrrp_strict: flag((g, v) => { g.vrrpStrict = v; }),
  vrrp_skip_check_adv_addr: flag((g, v) => { g.vrrpSkipCheckAdvAddr = v; }),
  vrrp_check_unicast_src: flag((g, v) => { g.vrrpCheckUnicastSrc = v; }),
  vrrp_down_timer_adverts: { h: (s, c, g) => { const v = c.int(s, 1, 100); if (v !== undefined) g.vrrpDownTimerAdverts = v; } },
  vrrp_lower_prio_no_advert: flag((g, v) => { g.vrrpLowerPrioNoAdvert = v; }),
  vrrp_higher_prio_send_advert: flag((g, v) => { g.vrrpHigherPrioSendAdvert = v; }),
  vrrp_owner_ignore_adverts: flag((g, v) => { g.vrrpOwnerIgnoreAdverts = v; }),
  log_unknown_vrids: flag((g, v) => { g.logUnknownVrids = v; }),
  default_interface: { h: (s, c, g) => { const v = c.str(s); if (v) g.defaultInterface = v; } },
  vrrp_garp_master_delay: { h: (s, c, g) => { const v = c.timerMs(s, 0, 86400); if (v !== undefined) g.vrrpGarpMasterDelayMs = v; } },
  vrrp_garp_master_repeat: { h: (s, c, g) => { const v = c.int(s, 1, 65535); if (v !== undefined) g.vrrpGarpMasterRepeat = v; } },
  vrrp_garp_lower_prio_delay: { h: (s, c, g) => { const v = c.timerMs(s, 0, 86400); if (v !== undefined) g.vrrpGarpLowerPrioDelayMs = v; } },
  vrrp_garp_lower_prio_repeat: { h: (s, c, g) => { const v = c.int(s, 0, 65535); if (v !== undefined) g.vrrpGarpLowerPrioRepeat = v; } },
  vrrp_garp_master_refresh: { h: (s, c, g) => { const v = c.timerMs(s, 0, 86400); if (v !== undefined) g.vrrpGarpMasterRefreshMs = v; } },
  vrrp_garp_master_refresh_repeat: { h: (s, c, g) => { const v = c.int(s, 1, 65535); if (v !== undefined) g.vrrpGarpMasterRefreshRepeat = v; } },
  vrrp_garp_interval: { h: (s, c, g) => { const v = c.timerMs(s, 0, 1); if (v !== undefined) g.vrrpGarpIntervalMs = v; } },
  vrrp_gna_interval: { h: (s, c, g) => { const v = c.timerMs(s, 0, 1); if (v !== undefined) g.vrrpGnaIntervalMs = v; } },
  // keepalived: one GARP/NA, no second burst, no refresh; values already set to something other
  // than the default stay (the comparison is with the default, as keepalived's), later ones win
  vrrp_min_garp: flag((g, v) => {
    if (!v) return;
    const d = defaultGlobal();
    if (g.vrrpGarpMasterRepeat === d.vrrpGarpMasterRepeat) g.vrrpGarpMasterRepeat = 1;
    if (g.vrrpGarpMasterDelayMs === d.vrrpGarpMasterDelayMs) g.vrrpGarpMasterDelayMs = 0;
    if (g.vrrpGarpMasterRefreshMs === d.vrrpGarpMasterRefreshMs) g.vrrpGarpMasterRefreshMs = 0;
  }),
  vrrp_garp_extra_if: keep(VMAC),
  vrrp_vmac_garp_intvl: { ...keep(VMAC), deprecated: 'vrrp_garp_extra_if' },
  vrrp_startup_delay: { h: (s, c, g) => { const v = c.timerMs(s, 0, 3600); if (v !== undefined) g.vrrpStartupDelayMs = Math.max(g.vrrpStartupDelayMs, v); } },
  vrrp_delay_after_boot: { h: (s, c, g) => { const v = c.timerMs(s, 0, 3600); if (v !== undefined) g.vrrpStartupDelayMs = Math.max(g.vrrpStartupDelayMs, v); } },
  vmac_prefix: keep(VMAC),
  vmac_addr_prefix: keep(VMAC),
  vrrp_iptables: keep(FW),
  vrrp_ipsets: keep(FW),
  nftables: keep(FW),
  nftables_priority: keep(FW),
  nftables_ifindex: keep(FW),
  nftables_counters: keep(FW),
  nftables_ipvs: keep('vigil\'s nftables load-balancer driver is chosen with lb_driver'),
  nftables_ipvs_priority: keep(),
  nftables_ipvs_start_fwmark: keep(),
  disable_local_igmp: keep(VMAC),
  lb_driver: {
    h: (s, c, g) => { const v = c.oneOf(s, ['ipvs', 'nftables'] as const); if (v) g.lbDriver = v; },
  },
  // vigil extensions: the event backbone (docs/events.md). `vigil run --nats/--journal` override them.
  vigil_cluster: {
    h: (s, c, g) => { const w = c.arg(s, 1, 'a cluster name'); if (w) g.vigil.cluster = w.text; c.maxArgs(s, 1); },
  },
  vigil_journal: {
    h: (s, c, g) => { const w = c.arg(s, 1, 'a directory'); if (w) g.vigil.journal = w.text; c.maxArgs(s, 1); },
  },
  vigil_nats_servers: {
    h: (s, c, g) => {
      if (s.words.length < 2) c.arg(s, 1, 'one or more nats:// URLs');
      g.vigil.natsServers = s.words.slice(1).map((w) => w.text);
    },
  },
  vigil_nats_stream: {
    h: (s, c, g) => { const w = c.arg(s, 1, 'a stream name'); if (w) g.vigil.natsStream = w.text; c.maxArgs(s, 1); },
  },
  vigil_nats_creds: {
    h: (s, c, g) => { const w = c.arg(s, 1, 'a credentials file'); if (w) g.vigil.natsCreds = w.text; c.maxArgs(s, 1); },
  },
  vigil_nats_nkey: {
    h: (s, c, g) => { const w = c.arg(s, 1, 'an nkey seed file'); if (w) g.vigil.natsNkey = w.text; c.maxArgs(s, 1); },
  },
  vigil_nats_tls: {
    // vigil_nats_tls CA_FILE [CERT_FILE KEY_FILE]
    h: (s, c, g) => {
      const ca = c.arg(s, 1, 'a CA file');
      if (!ca) return;
      g.vigil.natsTls = { ca: ca.text, ...(s.words[2] ? { cert: s.words[2].text } : {}), ...(s.words[3] ? { key: s.words[3].text } : {}) };
      c.maxArgs(s, 3);
    },
  },
  // vigil extension: SMTP AUTH for the notification mails (keepalived has none)
  vigil_smtp_auth_file: {
    h: (s, c, g) => { const w = c.arg(s, 1, 'a credentials file (user, then password; mode 0600)'); if (w) g.vigil.smtpAuthFile = w.text; c.maxArgs(s, 1); },
  },
  // lvs_sync_daemon IFNAME [inst] INSTANCE [id N] [maxlen N] [port N] [ttl N] [group IP]
  // (keepalived's global_parser.c lvs_syncd_handler; the old form IFNAME INSTANCE [SYNC_ID] too)
  lvs_sync_daemon: {
    h: (s, c, g) => {
      const ifname = c.arg(s, 1, 'an interface');
      if (!ifname) return;
      if (ifname.text.length >= 16) { c.diags.error('invalid-value', `'lvs_sync_daemon': interface name '${ifname.text}' is too long`, ifname.loc); return; }
      const t: NonNullable<G['lvsSyncDaemon']> = { ifname: ifname.text, loc: s.loc };
      const opts = { id: [0, 255], maxlen: [1, 65535 - 20 - 8], port: [1, 65535], ttl: [1, 255] } as const;
      const key = { id: 'syncId', maxlen: 'maxlen', port: 'port', ttl: 'ttl' } as const;
      for (let i = 2; i < s.words.length; i++) {
        const w = s.words[i]!;
        const v = s.words[i + 1];
        if (w.text === 'inst' || w.text in opts || w.text === 'group') {
          if (!v) { c.diags.error('missing-value', `'lvs_sync_daemon ${w.text}' needs a value`, w.loc); break; }
          i++;
          if (w.text === 'inst') { t.instance = v.text; t.instanceLoc = v.loc; continue; }
          if (w.text === 'group') {
            const a = c.ip(v, 'lvs_sync_daemon group');
            if (!a) continue;
            const multicast = a.family === 4 ? Number(a.address.split('.')[0]) >= 224 && Number(a.address.split('.')[0]) <= 239 : a.address.toLowerCase().startsWith('ff');
            if (!multicast) c.diags.error('invalid-value', `'lvs_sync_daemon group': ${a.address} is not a multicast address`, v.loc);
            else t.group = a.address;
            continue;
          }
          const k = w.text as keyof typeof opts;
          const n = c.intWord(v, opts[k][0], opts[k][1], `lvs_sync_daemon ${k}`);
          if (n !== undefined) t[key[k]] = n;
          continue;
        }
        // the old form: IFNAME INSTANCE [SYNC_ID]
        if (i === 2) { t.instance = w.text; t.instanceLoc = w.loc; continue; }
        if (i === 3 && /^\d+$/.test(w.text)) {
          const n = c.intWord(w, 0, 255, 'lvs_sync_daemon id');
          if (n !== undefined) t.syncId = n;
          c.diags.warning('deprecated-keyword', "'lvs_sync_daemon': write the sync id as 'id N'", w.loc);
          continue;
        }
        c.diags.error('invalid-value', `'lvs_sync_daemon': unknown option '${w.text}' (inst, id, maxlen, port, ttl, group)`, w.loc);
      }
      g.lvsSyncDaemon = t;
    },
  },
  // lvs_timeouts [tcp S] [tcpfin S] [udp S] (keepalived: 0..31 days; 0 leaves one as it is)
  lvs_timeouts: {
    h: (s, c, g) => {
      const names = { tcp: 'tcp', tcpfin: 'tcpFin', udp: 'udp' } as const;
      const t: { tcp?: number; tcpFin?: number; udp?: number } = {};
      if (s.words.length < 2) c.diags.error('missing-value', "'lvs_timeouts' needs at least one of tcp S, tcpfin S, udp S", s.loc);
      for (let i = 1; i < s.words.length; i += 2) {
        const w = s.words[i]!;
        const k = names[w.text.toLowerCase() as keyof typeof names];
        if (!k) {
          c.diags.error('invalid-value', `'lvs_timeouts': '${w.text}' is not one of tcp|tcpfin|udp`, w.loc, ((h) => (h ? `did you mean '${h}'?` : undefined))(suggest(w.text, Object.keys(names))));
          continue;
        }
        const v = s.words[i + 1];
        if (!v) {
          c.diags.error('missing-value', `'lvs_timeouts ${w.text}' needs a time in seconds`, w.loc);
          break;
        }
        const n = c.intWord(v, 0, 86400 * 31, `lvs_timeouts ${w.text}`);
        if (n) t[k] = n;
      }
      if (Object.keys(t).length) g.lvsTimeouts = { ...t, loc: s.loc };
    },
  },
  // at start (not on reload): the data plane emptied, what an earlier run left included
  lvs_flush: flag((g, v) => { g.lvsFlush = v; }),
  lvs_flush_on_stop: lvsFlushOnStop,
  lvs_flush_onstop: { ...lvsFlushOnStop, deprecated: 'lvs_flush_on_stop' },
  rs_init_notifies: flag((g, v) => { g.rsInitNotifies = v; }),
  ...Object.fromEntries(
    ['vrrp', 'checker', 'bfd'].flatMap((p) => [
      [`${p}_priority`, keep<G>(TUNING)], [`${p}_no_swap`, keep<G>(TUNING)], [`${p}_rt_priority`, keep<G>(TUNING)],
      [`${p}_cpu_affinity`, keep<G>(TUNING)], [`${p}_rlimit_rttime`, keep<G>(TUNING)],
      [`${p}_rlimit_rtime`, { ...keep<G>(TUNING), deprecated: `${p}_rlimit_rttime` }],
      [`${p}_process_name`, keep<G>(TUNING)],
    ]),
  ),
  lvs_process_name: { ...keep(TUNING), deprecated: 'checker_process_name' },
  max_auto_priority: keep(TUNING),
  min_auto_priority_delay: keep(TUNING),
  process_names: keep(TUNING),
  process_name: keep(TUNING),
  ...Object.fromEntries(
    ['vrrp_netlink_cmd', 'vrrp_netlink_monitor', 'lvs_netlink_cmd', 'lvs_netlink_monitor', 'process_monitor'].flatMap((p) => [
      [`${p}_rcv_bufs`, keep<G>(NETLINK)], [`${p}_rcv_bufs_force`, keep<G>(NETLINK)],
    ]),
  ),
  vrrp_rx_bufs_policy: keep(NETLINK),
  vrrp_rx_bufs_multiplier: keep(NETLINK),
  snmp_socket: keep(SNMP),
  enable_snmp_vrrp: keep(SNMP),
  enable_snmp_keepalived: { ...keep(SNMP), deprecated: 'enable_snmp_vrrp' },
  enable_snmp_checker: keep(SNMP),
  enable_snmp_rfc: keep(SNMP),
  enable_snmp_rfcv2: keep(SNMP),
  enable_snmp_rfcv3: keep(SNMP),
  enable_traps: keep(SNMP),
  snmp_vs_stats_update_interval: keep(SNMP),
  snmp_rs_stats_update_interval: keep(SNMP),
  enable_dbus: keep(DBUS),
  dbus_service_name: keep(DBUS),
  dbus_no_interface_name: keep(DBUS),
  dynamic_interfaces: keep(),
  umask: {
    h: (s, c, g) => {
      const r = parseUmask(s.words.slice(1).map((w) => w.text));
      if (r.ok) g.umask = r.mask;
      else c.diags.error('invalid-umask', `'umask': ${r.error}`, s.words[1]?.loc ?? s.loc);
    },
  },
  random_seed: keep(),
  reload_check_config: keep(RELOAD),
  reload_time_file: keep(RELOAD),
  reload_repeat: keep(RELOAD),
  reload_file: keep(RELOAD),
  include_check: keep(),
  config_save_dir: keep(FILES),
  tmp_config_directory: keep(FILES),
  data_use_instance: keep(),
  state_dump_file: { h: (s, c, g) => { const v = c.str(s); if (v) g.stateDumpFile = v; } },
  stats_dump_file: { h: (s, c, g) => { const v = c.str(s); if (v) g.statsDumpFile = v; } },
  json_dump_file: { h: (s, c, g) => { const v = c.str(s); if (v) g.jsonDumpFile = v; } },
  state_file_location: { deprecated: 'state_dump_file', h: (s, c, g) => { const v = c.str(s); if (v) g.stateDumpFile = v; } },
  json_version: keep(),
  iproute_usr_dir: keep(FILES),
  iproute_etc_dir: keep(FILES),
  linkbeat_use_polling: keep('vigil watches links through netlink'),
  instance: keep(),
  net_namespace: keep('run vigil inside the namespace instead (ip netns exec)'),
});
