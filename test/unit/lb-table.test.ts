// LB table helpers: addresses and masks, the normal form (what two equal tables share, what is
// refused and how it is named), and the diff the drivers report as changes.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { addressBytes, canonicalAddress, formatAddress, maskPrefix, prefixMask } from '../../adapters/lb/addr.js';
import { kindOf, lbFlagsOf, nftablesProblems, persistenceOf } from '../../adapters/lb/config.js';
import { LbError } from '../../adapters/lb/errors.js';
import { compareKeys, diffTables, normalizeTable, serviceKey } from '../../adapters/lb/table.js';
import type { LbService } from '../../adapters/lb/types.js';
import { rng } from '../faults/helpers.js';
import { parse } from '../helpers.js';

describe('addresses', () => {
  it('canonical text: RFC 5952 for IPv6, refusing what is not an address', () => {
    assert.equal(canonicalAddress('FD00:0:0::0:1', 6), 'fd00::1');
    assert.equal(canonicalAddress('2001:db8:0:0:1:0:0:1', 6), '2001:db8::1:0:0:1', 'the first of equal zero runs');
    assert.equal(canonicalAddress('::ffff:10.0.0.1', 6), '::ffff:a00:1');
    assert.equal(canonicalAddress('1:2:3:4:5:6:7:8', 6), '1:2:3:4:5:6:7:8');
    assert.equal(canonicalAddress('10.0.0.1', 4), '10.0.0.1');
    const bad: [string, 4 | 6][] = [['10.0.0', 4], ['10.0.0.256', 4], ['1.2.3.4.5', 4], ['::1', 4], ['fd00::1::2', 6], ['1:2:3:4:5:6:7:8:9', 6], ['fd00::g', 6], ['10.0.0.1', 6]];
    for (const [text, family] of bad) assert.equal(canonicalAddress(text, family), undefined, text);
  });

  it('bytes round-trip through text for any IPv6 address', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), (b) => {
        assert.deepEqual(addressBytes(formatAddress(b), 6), b);
      }),
    );
  });

  it('prefix lengths and netmasks', () => {
    assert.deepEqual([...prefixMask(24, 4)], [255, 255, 255, 0]);
    assert.deepEqual([...prefixMask(17, 4)], [255, 255, 128, 0]);
    assert.equal(formatAddress(prefixMask(64, 6)), 'ffff:ffff:ffff:ffff::');
    for (let p = 0; p <= 128; p++) assert.equal(maskPrefix(prefixMask(p, 6)), p);
    assert.equal(maskPrefix(Uint8Array.of(255, 0, 255, 0)), undefined);
  });
});

describe('normal form', () => {
  const svc = (o: Partial<LbService> = {}): LbService => ({
    match: { kind: 'address', address: 'FD00::100', port: 443, protocol: 'TCP' },
    family: 6,
    algo: 'wrr',
    destinations: [
      { address: 'fd00::0:2', port: 443, weight: 1, kind: 'NAT' },
      { address: 'fd00::1', port: 443, weight: 1, kind: 'NAT', upperThreshold: 0 },
    ],
    ...o,
  });

  it('canonical addresses, sorted destinations, defaults filled, zero thresholds dropped', () => {
    assert.deepEqual(normalizeTable({ services: [svc({ persistence: { timeoutS: 60 }, flags: ['flag-2', 'flag-1', 'flag-2'] })] }), {
      services: [
        {
          match: { kind: 'address', address: 'fd00::100', port: 443, protocol: 'TCP' },
          family: 6,
          algo: 'wrr',
          flags: ['flag-1', 'flag-2'],
          destinations: [
            { address: 'fd00::1', port: 443, kind: 'NAT', weight: 1 },
            { address: 'fd00::2', port: 443, kind: 'NAT', weight: 1 },
          ],
          persistence: { timeoutS: 60, prefix: 128 },
        },
      ],
    });
  });

  it('keeps the sorry server only while no destination has a positive weight', () => {
    const sorry = { address: 'fd00::9', port: 443, kind: 'NAT' as const };
    assert.equal(normalizeTable({ services: [svc({ sorry })] }).services[0]?.sorry, undefined);
    const quiesced = svc({ sorry, destinations: svc().destinations.map((d) => ({ ...d, weight: 0 })) });
    assert.deepEqual(normalizeTable({ services: [quiesced] }).services[0]?.sorry, sorry);
  });

  it('refuses bad tables, naming the service and the field', () => {
    const cases: [unknown, RegExp][] = [
      [{ services: 'x' }, /table.services is not an array/],
      [{ services: [svc({ family: 5 as 4 })] }, /services\[0\]: family 5/],
      [{ services: [svc({ algo: 'fastest' as 'rr' })] }, /^TCP \[fd00::100\]:443: lb_algo "fastest"/],
      [{ services: [svc({ flags: ['sh-port' as 'flag-2'] })] }, /flag "sh-port"/],
      [{ services: [svc({ persistence: { timeoutS: 0 } })] }, /persistence timeout 0/],
      [{ services: [svc({ persistence: { timeoutS: 9, prefix: 129 } })] }, /granularity \/129/],
      [{ services: [svc({ match: { kind: 'fwmark', fwmark: 0 } })] }, /fwmark 0/],
      [{ services: [svc({ destinations: [{ address: '10.0.0.1', port: 1, weight: 1, kind: 'NAT' }] })] }, /destination address "10.0.0.1" is not IPv6/],
      [{ services: [svc({ destinations: [{ address: 'fd00::1', port: 1, weight: 70000, kind: 'NAT' }] })] }, /\[fd00::1\]:1 weight 70000/],
      [{ services: [svc({ destinations: [...svc().destinations, { address: 'fd00:0::1', port: 443, weight: 3, kind: 'NAT' }] })] }, /\[fd00::1\]:443 is listed twice/],
      [{ services: [svc({ sorry: { address: 'fd00::1', port: 443, kind: 'NAT' } })] }, /sorry server \[fd00::1\]:443 is also a destination/],
      [{ services: [svc(), svc()] }, /service TCP \[fd00::100\]:443 is listed twice/],
    ];
    for (const [t, re] of cases) {
      assert.throws(() => normalizeTable(t as never), (e: unknown) => e instanceof LbError && e.code === 'INVALID_TABLE' && re.test(e.message), String(re));
    }
    // a tunnel may reach the other family
    const tun = svc({ destinations: [{ address: '10.0.0.1', port: 443, weight: 1, kind: 'TUN' }] });
    assert.equal(normalizeTable({ services: [tun] }).services[0]?.destinations[0]?.address, '10.0.0.1');
  });

  it('keys name services as ipvsadm does', () => {
    assert.equal(serviceKey(svc()), 'TCP [FD00::100]:443');
    assert.equal(serviceKey({ match: { kind: 'fwmark', fwmark: 5 }, family: 4 }), 'FWM 5 IPv4');
  });
});

describe('diff', () => {
  it('removals, then additions (a new service lists its destinations) and edits', () => {
    const a = normalizeTable({
      services: [
        { match: { kind: 'fwmark', fwmark: 1 }, family: 4, algo: 'rr', destinations: [{ address: '10.0.0.1', port: 0, weight: 1, kind: 'NAT' }] },
        { match: { kind: 'fwmark', fwmark: 2 }, family: 4, algo: 'rr', destinations: [] },
      ],
    });
    const b = normalizeTable({
      services: [
        { match: { kind: 'fwmark', fwmark: 1 }, family: 4, algo: 'sh', destinations: [{ address: '10.0.0.1', port: 0, weight: 2, kind: 'DR' }] },
        { match: { kind: 'fwmark', fwmark: 3 }, family: 4, algo: 'rr', destinations: [{ address: '10.0.0.3', port: 0, weight: 1, kind: 'NAT' }] },
      ],
    });
    assert.deepEqual(diffTables(a, b), [
      { kind: 'service.removed', service: 'FWM 2 IPv4' },
      { kind: 'service.changed', service: 'FWM 1 IPv4', fields: ['algo'] },
      { kind: 'destination.changed', service: 'FWM 1 IPv4', destination: '10.0.0.1:0', weight: 2, previousWeight: 1, fields: ['weight', 'kind'] },
      { kind: 'service.added', service: 'FWM 3 IPv4' },
      { kind: 'destination.added', service: 'FWM 3 IPv4', destination: '10.0.0.3:0', weight: 1 },
    ]);
    assert.deepEqual(diffTables(b, b), []);
  });
});

describe('from keepalived.conf', () => {
  const conf = `
virtual_server 10.0.0.100 80 {
    lb_algo sh sh-port sh-fallback hashed
    lb_kind DR
    persistence_timeout 300
    persistence_granularity 255.255.255.0
    protocol TCP
    real_server 10.0.0.1 80 {
        weight 2
        lvs_method NAT
    }
    real_server 10.0.0.2 80 {
        uthreshold 100
    }
}
virtual_server fwmark 5 {
    ip_family inet6
    persistence_timeout
    persistence_granularity 64
    real_server fd00::1 80 {
    }
}
virtual_server 10.0.0.200 {
    lb_algo rr ops
    protocol UDP
    persistence_timeout 60
    real_server fd00::2 53 {
    }
}
`;
  const vss = () => {
    const r = parse(conf);
    return r.config.virtualServers;
  };

  it('maps flags, persistence and forwarding methods', () => {
    const [web, marked] = vss();
    assert.ok(web && marked);
    assert.deepEqual(lbFlagsOf(web.lbFlags), ['flag-1', 'flag-2']);
    assert.deepEqual(persistenceOf(web, 4), { timeoutS: 300, prefix: 24 });
    assert.deepEqual(persistenceOf(marked, 6), { timeoutS: 360, prefix: 64 });
    assert.equal(kindOf(web), 'DR');
    assert.equal(kindOf(web, web.realServers[0]), 'NAT');
    assert.equal(kindOf(web, web.realServers[1]), 'DR');
  });

  it('says what the nftables driver cannot do', () => {
    const [web, marked, all] = vss();
    assert.deepEqual(nftablesProblems(web!), ['lb_kind DR needs kernel IPVS; the nftables driver does NAT only', 'uthreshold/lthreshold need kernel IPVS']);
    assert.deepEqual(nftablesProblems(marked!), []);
    // a NAT virtual server whose sorry server is reached by DR (sorry_server_lvs_method)
    assert.deepEqual(nftablesProblems({ ...marked!, sorryServer: { address: '10.0.9.9', loc: marked!.loc }, sorryServerLvsMethod: 'DR' }).filter((p) => p.startsWith('lb_kind')), ['lb_kind DR needs kernel IPVS; the nftables driver does NAT only']);
    assert.deepEqual(nftablesProblems(all!), [
      'one-packet scheduling (ops) needs kernel IPVS',
      'a virtual server without a port (all ports) needs kernel IPVS; use a fwmark virtual server',
      'fd00::2 is not IPv4: nftables NAT cannot translate between families',
    ]);
  });
});

describe('compareKeys (natural order without ICU)', () => {
  it('numbers inside keys compare as numbers; as localeCompare with numeric for letters and digits', () => {
    assert.ok(compareKeys('10.0.0.9:80/tcp', '10.0.0.10:80/tcp') < 0);
    assert.ok(compareKeys('10.0.0.9:443/tcp', '10.0.0.9:80/tcp') > 0);
    assert.equal(compareKeys('fd00::0001', 'fd00::1'), 0, 'leading zeros');
    assert.equal(compareKeys('', ''), 0);
    assert.ok(compareKeys('a', 'a1') < 0);
    const r = rng(42);
    const gen = (alphabet: string) => Array.from({ length: r.int(9) }, () => alphabet[r.int(alphabet.length)]!).join('');
    for (let n = 0; n < 20_000; n++) {
      const a = gen('0123456789abcdef');
      const b = gen('0123456789abcdef');
      const sign = (x: number) => Math.sign(x) || 0; // no -0
      assert.equal(sign(compareKeys(a, b)), sign(a.localeCompare(b, 'en', { numeric: true })), `${a} vs ${b}`);
      assert.equal(sign(compareKeys(a, b)), sign(-compareKeys(b, a)));
    }
    // a total order on keys with punctuation too: sorting twice from different starts agrees
    const keys = Array.from({ length: 500 }, () => gen('0123456789af.:/'));
    const once = [...keys].sort(compareKeys);
    const again = [...keys].reverse().sort(compareKeys);
    assert.deepEqual(once.map((k, i) => compareKeys(k, again[i]!)), once.map(() => 0));
  });
});
