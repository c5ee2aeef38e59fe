// Keywords into the typed model: values, keepalived's defaults, inheritance, and the diagnostics
// for unknown, misplaced, deprecated and not-acted-on keywords.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { HttpChecker, MiscChecker } from '../../adapters/config/model.js';
import { codes, parse } from '../helpers.js';

describe('vrrp_instance', () => {
  test("keepalived's defaults: priority/state derived from each other, version from family", () => {
    const r = parse(`vrrp_instance A {\n interface eth0\n virtual_router_id 1\n state MASTER\n virtual_ipaddress {\n 10.0.0.1\n }\n}\n` +
      `vrrp_instance B {\n interface eth0\n virtual_router_id 2\n priority 255\n virtual_ipaddress {\n 10.0.0.2\n }\n}\n` +
      `vrrp_instance C {\n interface eth0\n virtual_router_id 3\n virtual_ipaddress {\n fe80::1\n 2001:db8::3/64\n }\n}\n`);
    assert.deepEqual(codes(r, 'error'), []);
    const [a, b, c] = r.config.instances;
    assert.deepEqual([a!.priority, a!.initialState, a!.version, a!.advertIntMs], [255, 'MASTER', 2, 1000]);
    assert.deepEqual([b!.priority, b!.initialState], [255, 'MASTER']);
    assert.deepEqual([c!.priority, c!.initialState, c!.version, c!.family], [100, 'BACKUP', 3, 6]);
    assert.deepEqual(c!.vips.map((v) => [v.address, v.prefix]), [['fe80::1', 128], ['2001:db8::3', 64]]);
  });

  test('address options, unicast peers, auth, trackers, notify scripts', () => {
    const r = parse(`vrrp_script chk {\n script "/bin/chk"\n weight -20\n fall 2\n rise 3\n interval 0.5\n}\n` +
      `vrrp_instance VI_1 {\n state BACKUP\n interface eth0\n virtual_router_id 51\n priority 150\n advert_int 2\n nopreempt\n preempt_delay 10\n` +
      ` authentication {\n  auth_type PASS\n  auth_pass secret\n }\n` +
      ` unicast_src_ip 10.0.0.2\n unicast_peer {\n  10.0.0.3\n  10.0.0.4 min_ttl 250\n }\n` +
      ` virtual_ipaddress {\n  10.0.0.100/24 brd 10.0.0.255 dev eth0 scope global label eth0:1 no_track\n }\n` +
      ` track_interface {\n  eth0 weight -10\n }\n track_script {\n  chk weight 5 reverse\n }\n` +
      ` notify_master "/etc/notify.sh master" root:root\n notify /etc/notify.sh\n}\n`);
    assert.deepEqual(codes(r, 'error'), []);
    const s = r.config.vrrpScripts[0]!;
    assert.deepEqual([s.weight, s.fall, s.rise, s.intervalMs], [-20, 2, 3, 500]);
    const i = r.config.instances[0]!;
    assert.deepEqual([i.advertIntMs, i.nopreempt, i.preemptDelayMs], [2000, true, 10_000]);
    assert.deepEqual(i.auth && [i.auth.type, i.auth.pass], ['PASS', 'secret']);
    assert.deepEqual(i.unicastPeers.map((p) => [p.address, p.minTtl]), [['10.0.0.3', undefined], ['10.0.0.4', 250]]);
    const v = i.vips[0]!;
    assert.deepEqual([v.address, v.prefix, v.brd, v.dev, v.scope, v.label, v.noTrack], ['10.0.0.100', 24, '10.0.0.255', 'eth0', 'global', 'eth0:1', true]);
    assert.deepEqual(i.trackInterfaces.map((t) => [t.name, t.weight]), [['eth0', -10]]);
    assert.deepEqual(i.trackScripts.map((t) => [t.name, t.weight, t.reverse]), [['chk', 5, true]]);
    assert.deepEqual(i.notify.master && [i.notify.master.argv, i.notify.master.user, i.notify.master.group], [['/etc/notify.sh', 'master'], 'root', 'root']);
    assert.deepEqual(i.notify.generic?.argv, ['/etc/notify.sh']);
  });

  test('unicast_peer: one per line, or several on one line, each with its own ttl options', () => {
    const r = parse(`vrrp_instance VI_1 {\n virtual_router_id 5\n unicast_peer { 10.0.0.3 10.0.0.4 max_ttl 64 }\n virtual_ipaddress {\n 10.0.0.1\n }\n}\n`);
    assert.deepEqual(codes(r, 'error'), []);
    assert.deepEqual(r.config.instances[0]!.unicastPeers.map((p) => [p.address, p.maxTtl]), [['10.0.0.3', undefined], ['10.0.0.4', 64]]);
  });

  test('bad values: numbers, ranges, booleans, enums, addresses', () => {
    const r = parse(`vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 256\n priority abc\n state MASTR\n nopreempt maybe\n virtual_ipaddress {\n 10.0.0.300/24\n 10.0.0.1/33\n 10.0.0.2 colour red\n }\n}\n`);
    assert.deepEqual(codes(r, 'error'), ['3:20 out-of-range', '4:11 invalid-number', '5:8 invalid-value', '6:12 invalid-bool', '8:2 invalid-address', '9:2 invalid-prefix', '10:11 unknown-option', '10:18 unknown-option']);
    assert.equal(r.diagnostics.find((d) => d.code === 'invalid-value')?.hint, "did you mean 'MASTER'?");
  });
});

describe('keyword diagnostics', () => {
  test('unknown keyword: a typo gets "did you mean", a misplaced one where it belongs', () => {
    const r = parse(`global_defs {\n router_idd x\n priority 100\n}\n`);
    assert.deepEqual(codes(r), ['2:2 unknown-keyword', '3:2 unknown-keyword']);
    assert.equal(r.diagnostics[0]!.hint, "did you mean 'router_id'?");
    assert.equal(r.diagnostics[1]!.hint, "'priority' belongs in 'vrrp_instance'");
  });

  test('block keywords need a block; plain ones must not have one', () => {
    const r = parse(`global_defs\nrouter_id x {\n}\n`);
    assert.deepEqual(codes(r, 'error'), ['1:12 missing-block', '2:1 unknown-keyword']);
    const r2 = parse(`global_defs {\n router_id x {\n }\n}\n`);
    assert.deepEqual(codes(r2, 'error'), ['2:14 unexpected-block']);
  });

  test('a repeated single-value keyword warns that it overrides; deprecated and not-acted-on keywords warn', () => {
    const r = parse(`global_defs {\n router_id a\n router_id b\n enable_snmp_vrrp\n lvs_flush_onstop\n}\n`);
    assert.equal(r.config.global.routerId, 'b');
    assert.deepEqual(codes(r), ['3:2 duplicate-keyword', '4:2 not-acted-on', '5:2 deprecated-keyword']);
    assert.equal(r.config.global.lvsFlushOnStop, 'all');
    assert.equal(r.exitCode, 0);
    assert.deepEqual(r.config.global.other.enable_snmp_vrrp, []);
  });

  test('lvs_timeouts tcp S tcpfin S udp S, each 0..31 days; at least one; unknown names and missing values are errors', () => {
    const g = (body: string) => parse(`global_defs {\n${body}\n}\n`);
    const ok = g(' lvs_timeouts tcp 7200 tcpfin 30 udp 60');
    assert.deepEqual(codes(ok), []);
    const { loc: _loc, ...t } = ok.config.global.lvsTimeouts!;
    assert.deepEqual(t, { tcp: 7200, tcpFin: 30, udp: 60 });
    assert.deepEqual(codes(g(' lvs_timeouts'), 'error'), ['2:2 missing-value']);
    assert.deepEqual(codes(g(' lvs_timeouts tcp'), 'error'), ['2:15 missing-value']);
    assert.deepEqual(codes(g(' lvs_timeouts tpc 10'), 'error'), ['2:15 invalid-value']);
    assert.deepEqual(codes(g(' lvs_timeouts udp 2678401'), 'error'), ['2:19 out-of-range']);
  });

  test('lvs_sync_daemon: IFNAME INSTANCE with id, maxlen, port, ttl, group; the old IFNAME INSTANCE SYNC_ID form warns; bad options are errors', () => {
    // the instance checks (check.ts) are config-lb.test.ts's; here the keyword's own diagnostics
    const g = (body: string) => {
      const r = parse(`global_defs {\n${body}\n}\n`);
      return { ...r, diagnostics: r.diagnostics.filter((d) => !d.code.startsWith('lvs-sync')) };
    };
    const ok = g(' lvs_sync_daemon eth1 VI_1 id 9 maxlen 1400 port 8850 ttl 2 group 224.0.0.90');
    assert.deepEqual(codes(ok), []);
    const { loc: _l, instanceLoc: _il, ...t } = ok.config.global.lvsSyncDaemon!;
    assert.deepEqual(t, { ifname: 'eth1', instance: 'VI_1', syncId: 9, maxlen: 1400, port: 8850, ttl: 2, group: '224.0.0.90' });
    assert.equal(g(' lvs_sync_daemon eth1 inst VI_2').config.global.lvsSyncDaemon?.instance, 'VI_2');
    const old = g(' lvs_sync_daemon eth1 VI_1 5');
    assert.equal(old.config.global.lvsSyncDaemon?.syncId, 5);
    assert.deepEqual(codes(old), ['2:28 deprecated-keyword']);
    assert.deepEqual(codes(g(' lvs_sync_daemon eth1 VI_1 group 10.0.0.1'), 'error'), ['2:34 invalid-value']);
    assert.deepEqual(codes(g(' lvs_sync_daemon eth1 VI_1 ttl 0'), 'error'), ['2:32 out-of-range']);
    assert.deepEqual(codes(g(' lvs_sync_daemon eth1 VI_1 bogus 1'), 'error'), ['2:28 invalid-value', '2:34 invalid-value']);
    assert.deepEqual(codes(g(' lvs_sync_daemon'), 'error'), ['2:17 missing-value']);
  });

  test('lvs_flush, lvs_flush_on_stop [VS]: parsed and acted on; another type is an error', () => {
    const g = (body: string) => parse(`global_defs {\n${body}\n}\n`);
    assert.equal(g(' lvs_flush').config.global.lvsFlush, true);
    assert.equal(g(' router_id x').config.global.lvsFlush, undefined);
    assert.equal(g(' lvs_flush_on_stop VS').config.global.lvsFlushOnStop, 'vs');
    assert.equal(g(' lvs_flush_on_stop').config.global.lvsFlushOnStop, 'all');
    const bad = g(' lvs_flush_on_stop RS');
    assert.deepEqual(codes(bad, 'error'), ['2:20 invalid-value']);
    assert.equal(bad.config.global.lvsFlushOnStop, undefined);
    assert.deepEqual(codes(g(' lvs_flush\n lvs_flush_on_stop VS')), []);
  });
});

describe('virtual_server, real_server, checkers', () => {
  const lvs = `virtual_server 10.0.0.10 80 {\n delay_loop 6\n lb_algo wrr\n lb_kind DR\n persistence_timeout\n protocol TCP\n connect_timeout 2\n` +
    ` sorry_server 10.0.0.99 8080\n quorum 2\n hysteresis 1\n` +
    ` real_server 10.0.1.1 80 {\n  weight 3\n  inhibit_on_failure\n  HTTP_GET {\n   url {\n    path /health\n    status_code 200-299 301\n    digest 9b3a0c85a887a256d6939da88aabd8cd\n   }\n   retry 4\n  }\n }\n` +
    ` real_server 10.0.1.2 80 {\n  MISC_CHECK {\n   misc_path "/bin/check 10.0.1.2"\n   misc_dynamic\n  }\n  TCP_CHECK {\n   connect_port 81\n   nb_get_retry 2\n  }\n }\n}\n`;

  test('values and keepalived defaults with inheritance VS → RS → checker', () => {
    const r = parse(lvs);
    assert.deepEqual(codes(r, 'error'), []);
    const vs = r.config.virtualServers[0]!;
    assert.deepEqual([vs.address, vs.port, vs.lbAlgo, vs.lbKind, vs.persistenceTimeoutS, vs.quorum, vs.hysteresis, vs.sorryServer?.port], ['10.0.0.10', 80, 'wrr', 'DR', 360, 2, 1, 8080]);
    const [a, b] = vs.realServers;
    assert.deepEqual([a!.weight, a!.inhibitOnFailure, b!.weight, b!.inhibitOnFailure], [3, true, 1, false]);
    const http = a!.checkers[0] as HttpChecker;
    assert.deepEqual(http.urls[0]!.statusCodes, [{ from: 200, to: 299 }, { from: 301, to: 301 }]);
    assert.deepEqual(http.resolved, { delayLoopMs: 6000, connectTimeoutMs: 2000, retry: 4, delayBeforeRetryMs: 3000, warmupMs: 6000 });
    const misc = b!.checkers[0] as MiscChecker;
    assert.deepEqual([misc.dynamic, misc.script?.argv, misc.resolved?.retry], [true, ['/bin/check', '10.0.1.2'], 0]);
    const tcp = b!.checkers[1]!;
    assert.deepEqual([tcp.connectPort, tcp.resolved?.retry, tcp.resolved?.delayBeforeRetryMs], [81, 2, 1000]);
    assert.deepEqual(codes(r, 'warning'), ['30:4 deprecated-keyword']);
  });

  test('every checker type parses; bad checker values are reported', () => {
    const r = parse(`virtual_server fwmark 5 {\n real_server 10.0.1.1 {\n  SSL_GET {\n   url {\n    path /\n    status_code 99\n    digest zz\n   }\n  }\n  SMTP_CHECK {\n   helo_name me\n  }\n  DNS_CHECK {\n   type AAAA\n   name example.org\n  }\n  UDP_CHECK {\n   payload 0a0b\n   require_reply 0aXX\n  }\n  PING_CHECK {\n  }\n  FILE_CHECK {\n   track_file tf\n   weight 2\n  }\n  HTTP_GET {\n  }\n }\n}\n`);
    assert.deepEqual(codes(r, 'error'), ['6:17 invalid-status-code', '7:12 invalid-digest', '27:3 missing-url']);
    assert.deepEqual(r.config.virtualServers[0]!.realServers[0]!.checkers.map((c) => c.type), ['SSL_GET', 'SMTP_CHECK', 'DNS_CHECK', 'UDP_CHECK', 'PING_CHECK', 'FILE_CHECK', 'HTTP_GET']);
  });

  test('virtual_server_group entries: addresses, ranges, prefixes, fwmarks', () => {
    const r = parse(`virtual_server_group G {\n 10.0.0.1 80\n 10.0.0.3-10 80\n ae00::2-9 80\n 10.1.0.0/24 443\n fwmark 7\n 10.0.0.5-300 80\n}\nvirtual_server group G {\n real_server 10.0.1.1 80 {\n }\n}\n`);
    assert.deepEqual(r.config.virtualServerGroups[0]!.entries.map((e) => [e.kind, e.address ?? e.fwmark, e.last, e.port]), [
      ['address', '10.0.0.1', undefined, 80], ['range', '10.0.0.3', '10.0.0.10', 80], ['range', 'ae00::2', 'ae00::9', 80],
      ['range', '10.1.0.0', '10.1.0.0/24', 443], ['fwmark', 7, undefined, undefined],
    ]);
    assert.deepEqual(codes(r, 'error'), ['7:2 invalid-range']);
  });
});

describe('global_defs umask', () => {
  test("keepalived's forms: a number as strtol(…, 0) reads it, or bit names joined with '|'", () => {
    const mask = (v: string) => {
      const r = parse(`global_defs {\n  umask ${v}\n}\n`);
      return codes(r, 'error').length ? codes(r, 'error') : r.config.global.umask;
    };
    assert.equal(mask('0077'), 0o77);
    assert.equal(mask('022'), 0o22);
    assert.equal(mask('0x12'), 0o22);
    assert.equal(mask('18'), 0o22, 'decimal without a leading 0, as strtol reads it');
    assert.equal(mask('IWGRP|IWOTH'), 0o22);
    assert.equal(mask('IRWXG | IRWXO'), 0o77);
    assert.equal(mask('S_IWGRP|iwoth'), 0o22);
    for (const bad of ['0999', '01000', '077 1', 'IWGRP|', 'WRITE']) assert.match(String(mask(bad)), /^2:\d+ invalid-umask$/, bad);
    assert.equal(parse('global_defs {\n  router_id a\n}\n').config.global.umask, undefined, 'unset: inherited');
  });
});
