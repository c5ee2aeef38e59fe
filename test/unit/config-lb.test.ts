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

test('checker options vigil cannot honour are warned about where they are', () => {
  const r = parse(conf('', 'NAT'));
  assert.deepEqual(codes(r, 'warning').filter((c) => c.includes('checker-unsupported')), ['9:5 checker-unsupported', '15:5 checker-unsupported']);
});
