// Property tests for the VRRP codec: hostile bytes never throw, encode/decode round-trips, the
// checksum (or AH's ICV) stops every single-byte change to a message, and address text is canonical.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  canonicalAddress, encodeAdvert, encodeIpv4Packet, inetChecksum, parseIpv4, parseIpv6, validate, MCAST4, MCAST6, type Parsed,
} from '../../adapters/vrrp/codec.js';
import type { Advert, DropReason, EndpointSpec } from '../../adapters/vrrp/types.js';
import { checksum, concat, ipv4, ipv4Ah, vrrp } from '../fixtures/vrrpBytes.js';

const REASONS: readonly DropReason[] = [
  'truncated', 'bad-ip-header', 'startup-delay', 'unknown-vrid', 'not-ready', 'mode-mismatch', 'auth-type-mismatch',
  'bad-length', 'bad-ttl', 'bad-version', 'auth-failure', 'interval-mismatch', 'bad-type', 'bad-checksum', 'owner-ignore',
  'unknown-peer',
];

const baseSpec: EndpointSpec = {
  instance: 'VI_1', iface: 'eth0', family: 4, version: 2, vrid: 51, intervalCs: 100, addresses: ['10.99.0.100'],
  mcastGroup: MCAST4, unicastPeers: [],
};
const specs: EndpointSpec[] = [
  baseSpec,
  { ...baseSpec, auth: { type: 'PASS', pass: 'secret1' } },
  { ...baseSpec, auth: { type: 'AH', pass: 'secret1' } },
  { ...baseSpec, version: 3, unicastPeers: [{ address: '10.99.0.11', minTtl: 10 }], checkUnicastSrc: true, ownerIgnoreAdverts: true, owner: true },
  { ...baseSpec, family: 6, version: 3, addresses: ['fe80::100'], mcastGroup: MCAST6 },
];

/** parse, then validate against every spec: never throws, and every outcome is a known one */
function exercise(p: Parsed): void {
  if (!p.ok) {
    assert.ok(REASONS.includes(p.reason) && p.detail.length > 0, JSON.stringify(p));
    return;
  }
  for (const s of specs) {
    const v = validate(p, s, { lastAhSeq: 3, skipCheckAdvAddr: true, lastMasterSrc: p.ip.src });
    if (!v.ok) assert.ok(REASONS.includes(v.reason) && v.detail.length > 0, JSON.stringify(v));
  }
}

const meta6 = fc.record(
  { src: fc.oneof(fc.ipV6(), fc.string(), fc.constant('fe80::1%eth0')), dst: fc.oneof(fc.ipV6(), fc.constant('ff02::12')), hopLimit: fc.integer({ min: -1, max: 300 }) },
  { requiredKeys: ['src'] },
);

test('random bytes never throw (IPv4 packets, IPv6 payloads)', () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 120 }), meta6, (bytes, meta) => {
    exercise(parseIpv4(bytes));
    exercise(parseIpv6(bytes, meta));
  }), { numRuns: 2000 });
});

test('random bytes behind a plausible IPv4 (+AH) header never throw', () => {
  // plain random bytes rarely get past the IP header; these do, and reach every check
  const header = fc.record({ protocol: fc.constantFrom(112, 51), ttl: fc.constantFrom(255, 64), dst: fc.constantFrom('224.0.0.18', '10.99.0.12') });
  const vrrpish = fc.tuple(fc.constantFrom(0x21, 0x31, 0x22, 0x11), fc.uint8Array({ minLength: 3, maxLength: 3 }), fc.uint8Array({ maxLength: 60 }));
  fc.assert(fc.property(header, vrrpish, fc.uint8Array({ minLength: 24, maxLength: 24 }), (h, [b0, head, rest], ah) => {
    const ahBytes = h.protocol === 51 ? Uint8Array.from([112, ...ah.subarray(1)]) : new Uint8Array(0);
    exercise(parseIpv4(ipv4(concat(ahBytes, [b0], head, rest), h)));
  }), { numRuns: 2000 });
});

test('mutated, cut and extended real packets never throw', () => {
  const seeds = [
    ipv4(vrrp({ pass: 'secret1' })),
    ipv4Ah(vrrp({ authType: 2 }), { pass: 'secret1', seq: 9 }),
    ipv4(vrrp({ version: 3, addresses: ['10.99.0.100', '10.99.0.101'] })),
    ipv4(vrrp({ version: 3, pseudo: { src: '10.99.0.11', dst: '10.99.0.12' } }), { dst: '10.99.0.12' }),
  ];
  const edit = fc.tuple(fc.nat(80), fc.nat(255));
  fc.assert(fc.property(fc.constantFrom(...seeds), fc.array(edit, { maxLength: 6 }), fc.nat(90), (seed, edits, len) => {
    const b = new Uint8Array(len);
    b.set(seed.subarray(0, len));
    for (const [at, v] of edits) if (at < b.length) b[at] = v;
    exercise(parseIpv4(b));
  }), { numRuns: 3000 });
});

// ---------------------------------------------------------------------------------------------
// Round trip

const family = fc.constantFrom<4 | 6>(4, 6);
const password = fc.string({ unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789!@#'.split('')), minLength: 1, maxLength: 8 });
/** the 8 auth data bytes keepalived makes of a password, written out independently of the codec */
const passBytes = (pass: string) => Uint8Array.from([...Buffer.from(pass, 'ascii'), 0, 0, 0, 0, 0, 0, 0, 0].slice(0, 8));

const advertFor = (f: 4 | 6) => fc.record({
  version: fc.constantFrom<2 | 3>(2, 3),
  vrid: fc.integer({ min: 1, max: 255 }),
  priority: fc.integer({ min: 0, max: 255 }),
  addresses: fc.array(f === 4 ? fc.ipV4() : fc.ipV6(), { maxLength: 20 }),
  v2Seconds: fc.integer({ min: 1, max: 255 }),
  v3Cs: fc.integer({ min: 1, max: 4095 }),
  auth: fc.constantFrom<0 | 1 | 2>(0, 1, 2),
  password,
  seq: fc.integer({ min: 1, max: 0xffffffff }),
}).map((r) => {
  const authType = r.version === 2 && f === 4 ? r.auth : 0;
  const advert: Advert = {
    version: r.version, vrid: r.vrid, priority: r.priority, addresses: r.addresses,
    intervalCs: r.version === 2 ? r.v2Seconds * 100 : r.v3Cs, authType, ...(authType === 1 ? { authData: passBytes(r.password) } : {}),
  };
  return { advert, seq: r.seq, password: r.password };
});
const ends4 = fc.record({ src: fc.ipV4(), dst: fc.oneof(fc.constant(MCAST4), fc.ipV4()) });
const ends6 = fc.record({ src: fc.ipV6(), dst: fc.oneof(fc.constant(MCAST6), fc.ipV6()) });
const sample = family.chain((f) => fc.tuple(fc.constant(f), advertFor(f), f === 4 ? ends4 : ends6));

/** the oracle for canonical text: WHATWG URL's IPv6 serializer (RFC 5952 but hex for IPv4-mapped) */
const canon = (a: string) => (a.includes(':') ? new URL(`http://[${a}]/`).hostname.slice(1, -1) : a.split('.').map(Number).join('.'));
const isMcast = (a: string) => (a.includes(':') ? /^ff/i.test(a) : Number(a.split('.')[0]) >= 224 && Number(a.split('.')[0]) <= 239);

function encode(f: 4 | 6, advert: Advert, ends: { src: string; dst: string }, seq: number, pass: string): Uint8Array {
  if (f === 6) return encodeAdvert(advert, { family: 6, ...ends });
  return encodeIpv4Packet(advert, ends, advert.authType === 2 ? { pass, seq } : undefined);
}
const decode = (f: 4 | 6, bytes: Uint8Array, ends: { src: string; dst: string }): Parsed =>
  f === 6 ? parseIpv6(bytes, { src: ends.src, dst: ends.dst, hopLimit: 255 }) : parseIpv4(bytes);

/** the spec of a receiver configured like the sender: unicast (with the sender as peer) iff dst is */
function specFor(f: 4 | 6, a: Advert, ends: { src: string; dst: string }, pass: string): EndpointSpec {
  return {
    instance: 'x', iface: 'eth0', family: f, version: a.version, vrid: a.vrid, intervalCs: a.intervalCs,
    addresses: a.addresses, mcastGroup: f === 4 ? MCAST4 : MCAST6, unicastPeers: isMcast(ends.dst) ? [] : [{ address: ends.src }],
    checkUnicastSrc: true,
    ...(a.authType ? { auth: { type: a.authType === 1 ? 'PASS' as const : 'AH' as const, pass } } : {}),
  };
}

test('decode(encode(x)) == x, and x validates against a receiver configured like the sender (v2/v3, IPv4/IPv6, auth)', () => {
  fc.assert(fc.property(sample, ([f, { advert, seq, password: pass }, ends]) => {
    const p = decode(f, encode(f, advert, ends, seq, pass), ends);
    assert.ok(p.ok, p.ok ? '' : p.detail);
    assert.deepEqual({ ...p.advert }, { ...advert, addresses: advert.addresses.map(canon) });
    assert.equal(p.ip.src, canon(ends.src));
    assert.equal(p.ip.dst, canon(ends.dst));
    if (advert.authType === 2) assert.equal(p.ip.ah?.seq, seq);
    const v = validate(p, specFor(f, advert, ends, pass), { lastAhSeq: seq - 1 });
    assert.ok(v.ok, v.ok ? '' : `${v.reason}: ${v.detail}`);
    assert.equal(v.rx.addressMismatch, false);
  }), { numRuns: 1000 });
});

test('any 8 bytes of PASS auth data round-trip', () => {
  fc.assert(fc.property(fc.uint8Array({ minLength: 8, maxLength: 8 }), (authData) => {
    const advert: Advert = { version: 2, vrid: 7, priority: 100, intervalCs: 300, addresses: ['10.0.0.1'], authType: 1, authData };
    const p = parseIpv4(encodeIpv4Packet(advert, { src: '10.0.0.2', dst: MCAST4 }));
    assert.ok(p.ok);
    assert.deepEqual(p.advert.authData, authData);
  }), { numRuns: 200 });
});

// ---------------------------------------------------------------------------------------------
// Single-byte errors in the VRRP message

test('changing any one byte of the VRRP message is never accepted (checksum, or AH ICV), except a legacy-checksum match', () => {
  fc.assert(fc.property(sample, fc.nat(), fc.integer({ min: 1, max: 255 }), ([f, { advert, seq, password: pass }, ends], where, delta) => {
    const bytes = encode(f, advert, ends, seq, pass);
    const start = f === 6 ? 0 : advert.authType === 2 ? 44 : 20;
    const at = start + (where % (bytes.length - start));
    const mutated = bytes.slice();
    mutated[at] = ((mutated[at] as number) + delta) & 0xff;
    const p = decode(f, mutated, ends);
    if (!p.ok) return;
    const v = validate(p, specFor(f, advert, ends, pass), { lastAhSeq: seq - 1 });
    if (!v.ok) return;
    // Accepted: only when the checksum matches another pseudo-header keepalived accepts, i.e. a v3
    // unicast message whose change happens to equal the old multicast-destination form.
    assert.equal(v.legacyChecksum, true, `byte ${at} +${delta} accepted: ${JSON.stringify(p.advert)}`);
    const msg = mutated.subarray(start);
    const pseudo = [...ends.src.split('.').map(Number), 224, 0, 0, 18, 0, 112, msg.length >> 8, msg.length & 0xff];
    assert.equal(checksum(concat(pseudo, msg)), 0);
  }), { numRuns: 5000 });
});

// ---------------------------------------------------------------------------------------------
// Helpers

test('canonical address text equals the WHATWG URL serializer (IPv6) and the dotted quad (IPv4)', () => {
  fc.assert(fc.property(fc.ipV6(), (a) => {
    assert.equal(canonicalAddress(a, 6), canon(a));
    assert.equal(canonicalAddress(canon(a), 6), canon(a)); // idempotent
    assert.equal(canonicalAddress(a.toUpperCase(), 6), canon(a));
  }), { numRuns: 2000 });
  fc.assert(fc.property(fc.ipV4(), (a) => assert.equal(canonicalAddress(a, 4), a)));
  fc.assert(fc.property(fc.string({ maxLength: 45 }), (s) => {
    const c6 = canonicalAddress(s, 6);
    if (c6 !== undefined) assert.equal(c6, canon(s)); // anything we accept, URL reads the same way
  }), { numRuns: 2000 });
});

test('inetChecksum over parts = over their concatenation = the builder’s checksum', () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), fc.array(fc.nat(200), { maxLength: 4 }), (data, cuts) => {
    const points = [0, ...cuts.map((c) => c % (data.length + 1)).sort((x, y) => x - y), data.length];
    const parts = points.slice(1).map((end, i) => data.subarray(points[i], end));
    assert.equal(inetChecksum(...parts), inetChecksum(data));
    assert.equal(inetChecksum(data), checksum(data));
  }), { numRuns: 1000 });
});
