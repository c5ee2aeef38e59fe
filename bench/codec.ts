// Micro-benchmark of the VRRP codec (not part of `npm run bench`):
//   node --import tsx bench/codec.ts
// Prints operations per second for encoding and for parse + validate, per packet kind.
import { encodeAdvert, encodeIpv4Packet, parseIpv4, parseIpv6, validate } from '../adapters/vrrp/codec.js';
import type { Advert, EndpointSpec } from '../adapters/vrrp/types.js';

const v2: Advert = { version: 2, vrid: 51, priority: 150, intervalCs: 100, addresses: ['10.99.0.100'], authType: 0 };
const v3: Advert = { version: 3, vrid: 51, priority: 150, intervalCs: 100, addresses: ['10.99.0.100', '10.99.0.101'], authType: 0 };
const v2ah: Advert = { ...v2, authType: 2 };
const v6: Advert = { ...v3, addresses: ['fe80::100', '2001:db8::100'] };
const ends = { src: '10.99.0.11', dst: '224.0.0.18' };
const ends6 = { src: 'fe80::a836:abff:fe0d:8902', dst: 'ff02::12' };
const spec = (o: Partial<EndpointSpec>): EndpointSpec => ({
  instance: 'VI_1', iface: 'eth0', family: 4, version: 2, vrid: 51, intervalCs: 100, addresses: ['10.99.0.100'],
  mcastGroup: '224.0.0.18', unicastPeers: [], ...o,
});

function bench(name: string, fn: () => unknown): void {
  for (let i = 0; i < 20_000; i++) fn(); // warm up
  let n = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < 500) {
    for (let i = 0; i < 1000; i++) fn();
    n += 1000;
  }
  const ops = n / ((performance.now() - t0) / 1000);
  console.log(`${name.padEnd(36)} ${Math.round(ops).toLocaleString('en').padStart(12)} ops/s`);
}

const p2 = encodeIpv4Packet(v2, ends);
const p3 = encodeIpv4Packet(v3, ends);
const pah = encodeIpv4Packet(v2ah, ends, { pass: 'secret1', seq: 1 });
const m6 = encodeAdvert(v6, { family: 6, ...ends6 });
const s2 = spec({}), s3 = spec({ version: 3, addresses: v3.addresses }), sah = spec({ auth: { type: 'AH', pass: 'secret1' } });
const s6 = spec({ family: 6, version: 3, addresses: v6.addresses, mcastGroup: 'ff02::12' });
const check = (p: ReturnType<typeof parseIpv4>, s: EndpointSpec) => {
  if (!p.ok || !validate(p, s).ok) throw new Error('bench packet rejected');
};

bench('encode v2 IPv4 packet', () => encodeIpv4Packet(v2, ends));
bench('encode v3 IPv4 packet', () => encodeIpv4Packet(v3, ends));
bench('encode v2 AH packet (HMAC-MD5)', () => encodeIpv4Packet(v2ah, ends, { pass: 'secret1', seq: 1 }));
bench('encode v3 IPv6 message', () => encodeAdvert(v6, { family: 6, ...ends6 }));
bench('parse + validate v2 IPv4', () => check(parseIpv4(p2), s2));
bench('parse + validate v3 IPv4', () => check(parseIpv4(p3), s3));
bench('parse + validate v2 AH', () => check(parseIpv4(pah), sah));
bench('parse + validate v3 IPv6', () => check(parseIpv6(m6, { ...ends6, hopLimit: 255 }), s6));
