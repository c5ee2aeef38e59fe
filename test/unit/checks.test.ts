// Whole-config checks: each mistake keepalived misses or only logs, with where it is reported.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { fakeHost } from '../fakes/host.js';
import { codes, parse } from '../helpers.js';

const inst = (name: string, vrid: number, vips: string, extra = '', iface = 'eth0') =>
  `vrrp_instance ${name} {\n interface ${iface}\n virtual_router_id ${vrid}\n${extra}virtual_ipaddress {\n${vips}\n }\n}\n`;

describe('VRRP checks', () => {
  test('the same VIP in two instances, and twice in one', () => {
    const r = parse(inst('A', 1, ' 10.0.0.1/24') + inst('B', 2, ' 10.0.0.1\n 10.0.0.2\n 10.0.0.2/32'));
    assert.deepEqual(codes(r), ['12:2 duplicate-vip', '14:2 duplicate-vip']);
    assert.match(r.diagnostics[0]!.message, /also in vrrp_instance 'A'/);
    assert.equal(r.diagnostics[0]!.related?.[0]?.loc.line, 5);
    assert.match(r.diagnostics[1]!.message, /twice in this instance/);
  });

  test('the same VRID on one interface and family; allowed across families, interfaces, disjoint unicast peers', () => {
    assert.deepEqual(codes(parse(inst('A', 9, ' 10.0.0.1') + inst('B', 9, ' 10.0.0.2'))), ['10:20 duplicate-vrid']);
    assert.deepEqual(codes(parse(inst('A', 9, ' 10.0.0.1') + inst('B', 9, ' fe80::2'))), []);
    assert.deepEqual(codes(parse(inst('A', 9, ' 10.0.0.1') + inst('B', 9, ' 10.0.0.2', '', 'eth1'))), []);
    const peers = (p: string) => ` unicast_peer {\n ${p}\n }\n`;
    assert.deepEqual(codes(parse(inst('A', 9, ' 10.0.0.1', peers('10.1.0.1')) + inst('B', 9, ' 10.0.0.2', peers('10.1.0.2')))), []);
    assert.deepEqual(codes(parse(inst('A', 9, ' 10.0.0.1', peers('10.1.0.1')) + inst('B', 9, ' 10.0.0.2', peers('10.1.0.1')))), ['13:20 duplicate-vrid']);
  });

  test('advert_int: whole seconds for v2, centiseconds 0.01..40.95 for v3', () => {
    const adv = (v: string, ver = '') => codes(parse(inst('A', 1, ' 10.0.0.1', ` advert_int ${v}\n${ver}`)));
    assert.deepEqual(adv('1'), []);
    assert.deepEqual(adv('0.5'), ['4:13 advert-int']);
    assert.deepEqual(adv('0.5', ' version 3\n'), []);
    assert.deepEqual(adv('0.015', ' version 3\n'), ['4:13 advert-int']);
    assert.deepEqual(adv('41', ' version 3\n'), ['4:13 advert-int']);
  });

  test('nopreempt with state MASTER; priority 255 on a node that does not own the address', () => {
    assert.deepEqual(codes(parse(inst('A', 1, ' 10.0.0.1', ' state MASTER\n nopreempt\n priority 200\n'))), ['5:2 nopreempt-master']);
    const host = fakeHost({ addresses: ['10.0.0.7'] });
    const r = parse(inst('A', 1, ' 10.0.0.1', ' priority 255\n'), {}, { host });
    assert.deepEqual(codes(r), ['4:11 priority-owner']);
    assert.equal(r.diagnostics[0]!.severity, 'warning');
    assert.deepEqual(codes(parse(inst('A', 1, ' 10.0.0.7', ' priority 255\n'), {}, { host })), []);
  });

  test('auth_pass longer than 8 is truncated (warning); auth with v3 ignored; unicast peers of the wrong family', () => {
    assert.deepEqual(codes(parse(inst('A', 1, ' 10.0.0.1', ' authentication {\n auth_type PASS\n auth_pass 123456789\n }\n'))), ['6:12 auth-pass-truncated']);
    assert.deepEqual(codes(parse(inst('A', 1, ' 10.0.0.1', ' version 3\n authentication {\n auth_type PASS\n auth_pass x\n }\n'))), ['5:2 auth-v3']);
    assert.deepEqual(codes(parse(inst('A', 1, ' 10.0.0.1', ' unicast_peer {\n 2001:db8::1\n }\n'))), ['5:2 unicast-family']);
  });

  test('interfaces missing on this host: warning, or error with strictHost', () => {
    const host = fakeHost({ interfaces: ['lo', 'eth0'] });
    const text = inst('A', 1, ' 10.0.0.1 dev eth9', '', 'bond0');
    const r = parse(text, {}, { host });
    assert.deepEqual(codes(r, 'warning'), ['2:12 no-such-interface', '5:2 no-such-interface']);
    assert.equal(r.exitCode, 0);
    assert.equal(parse(text, {}, { host, strictHost: true }).exitCode, 4);
  });

  test('missing vrid and interface; an instance without VIPs; mixed families; IPv6 with v2', () => {
    const r = parse(`vrrp_instance A {\n priority 100\n}\n` + inst('B', 2, ' 10.0.0.1\n fe80::1') + inst('C', 3, ' fe80::2', ' version 2\n'));
    assert.deepEqual(codes(r), ['1:1 missing-vrid', '1:1 missing-interface', '1:1 no-vips', '9:2 mixed-family', '12:1 ipv6-v2']);
  });
});

describe('references', () => {
  test('track_script naming no vrrp_script; an unused vrrp_script; sync group names', () => {
    const r = parse(`vrrp_script chk_web {\n script /bin/true\n}\n` + inst('A', 1, ' 10.0.0.1', ' track_script {\n chk_wbe\n }\n') +
      `vrrp_sync_group G {\n group {\n A\n NOPE\n }\n}\nvrrp_sync_group H {\n group {\n A\n }\n}\n`);
    assert.deepEqual(codes(r), ['1:1 unused-script', '8:2 unknown-track-script', '17:2 unknown-instance', '20:1 single-member-group', '22:2 instance-in-two-groups']);
    assert.equal(r.diagnostics[1]!.hint, "did you mean 'chk_web'?");
  });

  test('tracker weights in a sync group are ignored: said so', () => {
    const r = parse(`vrrp_script s {\n script /bin/true\n weight -30\n}\n` + inst('A', 1, ' 10.0.0.1', ' track_script {\n s\n }\n') + inst('B', 2, ' 10.0.0.2') +
      `vrrp_sync_group G {\n group {\n A B\n }\n}\n`);
    assert.deepEqual(codes(r), ['9:2 sync-group-weight-ignored']);
  });
});

describe('virtual servers', () => {
  const rs = (a: string) => ` real_server ${a} 80 {\n  TCP_CHECK {\n  }\n }\n`;
  test('the same virtual server twice; the same real server twice; group naming nothing; quorum out of reach', () => {
    const r = parse(`virtual_server 10.0.0.1 80 {\n${rs('10.0.1.1')}}\nvirtual_server 10.0.0.1 80 {\n quorum 5\n${rs('10.0.1.1')}${rs('10.0.1.1')}}\nvirtual_server group NOPE {\n${rs('10.0.1.1')}}\n`);
    assert.deepEqual(codes(r), ['7:1 duplicate-virtual-server', '7:1 quorum-unreachable', '13:2 duplicate-real-server', '18:1 unknown-vs-group']);
  });
  test('UDP and TCP on the same address and port are different services', () => {
    assert.deepEqual(codes(parse(`virtual_server 10.0.0.1 53 {\n protocol UDP\n${rs('10.0.1.1')}}\nvirtual_server 10.0.0.1 53 {\n${rs('10.0.1.1')}}\n`)), []);
  });
});

describe('script security (exit 5)', () => {
  const cfg = `vrrp_script chk {\n script "/etc/keepalived/chk.sh arg"\n}\n` + inst('A', 1, ' 10.0.0.1', ' track_script {\n chk\n }\n notify_master /etc/keepalived/notify.sh\n');
  test('missing, not executable, writable by others, in a directory writable by others', () => {
    const missing = parse(cfg, {}, { host: fakeHost({ files: { '/etc/keepalived/notify.sh': {} } }) });
    assert.deepEqual(codes(missing), ['2:9 script-not-found']);
    assert.equal(missing.exitCode, 5);
    const base = { '/etc/keepalived/notify.sh': {} };
    assert.deepEqual(codes(parse(cfg, {}, { host: fakeHost({ files: { ...base, '/etc/keepalived/chk.sh': { mode: 0o100644 } } }) })), ['2:9 script-not-executable']);
    assert.deepEqual(codes(parse(cfg, {}, { host: fakeHost({ files: { ...base, '/etc/keepalived/chk.sh': { mode: 0o100777 } } }) })), ['2:9 script-unsafe']);
    assert.deepEqual(codes(parse(cfg, {}, { host: fakeHost({ files: { ...base, '/etc/keepalived/chk.sh': {}, '/etc/keepalived': { isFile: false, mode: 0o40777 } } }) })), ['2:9 script-unsafe', '10:16 script-unsafe']);
    assert.deepEqual(codes(parse(cfg, {}, { host: fakeHost({ files: { ...base, '/etc/keepalived/chk.sh': {} } }) })), []);
  });
  test('errors outrank script security: exit 4', () => {
    const r = parse(cfg + inst('B', 1, ' 10.0.0.9'), {}, { host: fakeHost() });
    assert.equal(r.exitCode, 4);
  });
});
