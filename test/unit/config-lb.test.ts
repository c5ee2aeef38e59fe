// config-test and the load-balancer drivers: what nftables cannot carry is an error with
// `lb_driver nftables`, a warning where nftables will be the default (no IPVS on this host), and
// nothing where IPVS runs it; checker options vigil cannot honour are warned about.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { codes, parse } from '../helpers.js';
import { fakeHost } from '../fakes/host.js';

const conf = (global: string, kind = 'DR') => `global_defs {
${global}}
virtual_server 10.0.0.100 80 {
  lb_algo rr
  lb_kind ${kind}
  protocol TCP
  real_server 10.0.1.1 80 {
    weight 1
    TCP_CHECK {
      bind_if eth1
    }
  }
  real_server 10.0.1.2 80 {
    weight 1
    PING_CHECK {
      bindto 10.0.0.1
    }
  }
}
`;

test('lb_driver nftables: DR is an error at the virtual server', () => {
  const r = parse(conf('  lb_driver nftables\n'));
  assert.deepEqual(codes(r, 'error'), ['4:1 nftables-unsupported']);
  assert.match(r.diagnostics.find((d) => d.code === 'nftables-unsupported')!.message, /lb_kind DR needs kernel IPVS/);
  assert.equal(r.exitCode, 4);
});

test('no lb_driver on a host without IPVS: a warning; with IPVS or unknown: nothing; NAT: nothing', () => {
  assert.deepEqual(codes(parse(conf(''), {}, { host: fakeHost({ ipvs: false, allScriptsExist: true }) }), 'warning').filter((c) => c.includes('nftables')), ['3:1 nftables-unsupported']);
  assert.deepEqual(codes(parse(conf(''), {}, { host: fakeHost({ ipvs: true, allScriptsExist: true }) })).filter((c) => c.includes('nftables')), []);
  assert.deepEqual(codes(parse(conf(''))).filter((c) => c.includes('nftables')), []);
  assert.deepEqual(codes(parse(conf('  lb_driver nftables\n', 'NAT'))).filter((c) => c.includes('nftables')), []);
  assert.deepEqual(codes(parse(conf('  lb_driver ipvs\n'))).filter((c) => c.includes('nftables')), []);
});

test('lvs_timeouts with the nftables load balancer: a warning at the keyword (it has no effect there); with IPVS: nothing', () => {
  const r = parse(conf('  lb_driver nftables\n  lvs_timeouts tcp 7200\n', 'NAT'));
  assert.deepEqual(codes(r, 'warning').filter((c) => c.includes('nftables')), ['3:3 nftables-unsupported']);
  assert.match(r.diagnostics.find((d) => d.code === 'nftables-unsupported')!.message, /lvs_timeouts .* no effect/);
  assert.deepEqual(codes(parse(conf('  lb_driver ipvs\n  lvs_timeouts tcp 7200\n'))).filter((c) => c.includes('nftables')), []);
});

test('regex offsets without a regex, or a minimum past the maximum, are warned about and ignored (keepalived does)', () => {
  const vsWith = (url: string) => `virtual_server 10.0.0.100 80 {\n protocol TCP\n real_server 10.0.1.1 80 {\n  HTTP_GET {\n   url {\n    path /\n${url}   }\n  }\n }\n}\n`;
  const none = parse(vsWith('    regex_min_offset 4\n'));
  assert.deepEqual(codes(none, 'warning').filter((c) => c.includes('regex')), ['7:5 regex-offset-ignored']);
  const crossed = parse(vsWith('    regex ok\n    regex_min_offset 9\n    regex_max_offset 3\n'));
  assert.deepEqual(codes(crossed, 'warning').filter((c) => c.includes('regex')), ['8:5 regex-offset-ignored']);
  const url = crossed.config.virtualServers[0]!.realServers[0]!.checkers[0]!;
  assert.ok(url.type === 'HTTP_GET' && url.urls[0]!.regexMinOffset === undefined && url.urls[0]!.regexMaxOffset === undefined);
  const fine = parse(vsWith('    regex ok\n    regex_min_offset 3\n    regex_max_offset 9\n'));
  assert.deepEqual(codes(fine).filter((c) => c.includes('regex')), []);
});

test('lvs_sync_daemon: its instance must exist; with nftables it has no effect', () => {
  const inst = 'vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 51\n priority 100\n virtual_ipaddress {\n  10.0.0.100/24\n }\n}\n';
  assert.deepEqual(codes(parse(conf('  lb_driver ipvs\n  lvs_sync_daemon eth0 VI_1\n') + inst)).filter((c) => c.includes('sync')), []);
  const typo = parse(conf('  lb_driver ipvs\n  lvs_sync_daemon eth0 VI_2\n') + inst);
  assert.deepEqual(codes(typo, 'error'), ['3:24 lvs-sync-instance']);
  assert.match(typo.diagnostics.find((d) => d.code === 'lvs-sync-instance')!.hint ?? '', /VI_1/);
  assert.deepEqual(codes(parse(conf('  lb_driver ipvs\n  lvs_sync_daemon eth0\n') + inst), 'error'), ['3:3 lvs-sync-instance']);
  const nft = parse(conf('  lb_driver nftables\n  lvs_sync_daemon eth0 VI_1\n', 'NAT') + inst);
  assert.ok(nft.diagnostics.some((d) => d.code === 'nftables-unsupported' && /lvs_sync_daemon/.test(d.message)));
});

test('checker options vigil cannot honour are warned about where they are', () => {
  const r = parse(conf('', 'NAT'));
  assert.deepEqual(codes(r, 'warning').filter((c) => c.includes('checker-unsupported')), ['9:5 checker-unsupported', '15:5 checker-unsupported']);
});
