// The VRRP codec against keepalived 2.2.7's own packets (decode, validate, byte-exact encode), one
// test per drop reason and for keepalived's check order (bytes from the independent builder
// test/fixtures/vrrpBytes.ts), truncation at every offset, and Ethernet padding.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import {
  authDataFromPass, canonicalAddress, encodeAdvert, encodeIpv4Packet, inetChecksum, parseIpv4, parseIpv6, validate,
  MCAST4, MCAST6, type Parsed, type ValidateOptions,
} from '../../adapters/vrrp/codec.js';
import type { Advert, EndpointSpec } from '../../adapters/vrrp/types.js';
import type { VrrpInstance } from '../../adapters/config/index.js';
import { parse } from '../helpers.js';
import { GROUP, GROUP6, SRC, SRC6, VIP, checksum, concat, hex, ipv4, ipv4Ah, pad, vrrp } from '../fixtures/vrrpBytes.js';

interface Capture {
  config: string;
  packets: { src: string; dst: string; priority: number; ip: string; vrrp: string }[];
}
const fixture = JSON.parse(readFileSync(new URL('../fixtures/keepalived-vrrp-packets.json', import.meta.url), 'utf8')) as {
  captures: Record<string, Capture>;
};
const captures = Object.entries(fixture.captures);

/** The EndpointSpec a keepalived.conf gives its first instance (what the VRRP actor will resolve). */
function specFromConfig(text: string): EndpointSpec {
  const r = parse(text);
  const vi = r.config.instances[0] as VrrpInstance;
  const family = vi.family ?? 4;
  return {
    instance: vi.name, iface: vi.interface ?? 'eth0', family, version: vi.version, vrid: vi.vrid ?? 0,
    intervalCs: vi.advertIntMs / 10, addresses: vi.vips.map((v) => v.address),
    srcIp: vi.unicastSrcIp ?? vi.mcastSrcIp, mcastGroup: vi.mcastDstIp ?? (family === 4 ? MCAST4 : MCAST6),
    unicastPeers: vi.unicastPeers.map((p) => ({ address: p.address, minTtl: p.minTtl, maxTtl: p.maxTtl })),
    ...(vi.auth?.pass ? { auth: { type: vi.auth.type, pass: vi.auth.pass } } : {}),
  };
}

/** A capture's packet as the socket would hand it over: IPv4 whole, IPv6 payload + header facts. */
function parseCaptured(ipHex: string): Parsed {
  const ip = hex(ipHex);
  if (ip[0] === 0x45) return parseIpv4(ip);
  const word = (at: number) => ((ip[at] as number) << 8 | (ip[at + 1] as number)).toString(16);
  const addr = (at: number) => canonicalAddress(Array.from({ length: 8 }, (_, i) => word(at + 2 * i)).join(':'), 6) as string;
  return parseIpv6(ip.subarray(40), { src: addr(8), dst: addr(24), hopLimit: ip[7] as number });
}

function ok(p: Parsed): Extract<Parsed, { ok: true }> {
  assert.ok(p.ok, p.ok ? '' : `${p.reason}: ${p.detail}`);
  return p;
}

const base: EndpointSpec = {
  instance: 'VI_1', iface: 'eth0', family: 4, version: 2, vrid: 51, intervalCs: 100, addresses: [VIP],
  mcastGroup: GROUP, unicastPeers: [],
};
const spec = (o: Partial<EndpointSpec> = {}): EndpointSpec => ({ ...base, ...o });
const v3 = (o: Partial<EndpointSpec> = {}) => spec({ version: 3, ...o });
const v6 = (o: Partial<EndpointSpec> = {}) => spec({ family: 6, version: 3, addresses: ['fe80::100'], mcastGroup: GROUP6, ...o });
const unicast = (o: Partial<EndpointSpec> = {}) => v3({ unicastPeers: [{ address: SRC }], ...o });

/** 'ok' or the drop reason for IPv4 bytes against a spec */
function outcome4(bytes: Uint8Array, s: EndpointSpec, opts?: ValidateOptions): string {
  const p = parseIpv4(bytes);
  if (!p.ok) return p.reason;
  const v = validate(p, s, opts);
  return v.ok ? 'ok' : v.reason;
}
function outcome6(payload: Uint8Array, meta: { src: string; dst?: string; hopLimit?: number }, s: EndpointSpec): string {
  const p = parseIpv6(payload, meta);
  if (!p.ok) return p.reason;
  const v = validate(p, s);
  return v.ok ? 'ok' : v.reason;
}

describe('keepalived 2.2.7 captures', () => {
  for (const [name, capture] of captures) {
    test(`${name}: every packet decodes and validates against its config`, () => {
      const s = specFromConfig(capture.config);
      let lastAhSeq: number | undefined;
      for (const pk of capture.packets) {
        const p = ok(parseCaptured(pk.ip));
        assert.equal(p.ip.src, pk.src);
        assert.equal(p.ip.dst, pk.dst);
        assert.equal(p.ip.ttl, 255);
        const a = p.advert;
        assert.equal(a.version, s.version);
        assert.equal(a.vrid, 51);
        assert.equal(a.priority, pk.priority);
        assert.equal(a.intervalCs, s.intervalCs);
        assert.deepEqual(a.addresses, s.addresses);
        assert.equal(a.authType, s.auth?.type === 'PASS' ? 1 : s.auth?.type === 'AH' ? 2 : 0);
        assert.deepEqual(a.authData, s.auth?.type === 'PASS' ? authDataFromPass(s.auth.pass) : undefined);
        const v = validate(p, s, { lastAhSeq });
        assert.ok(v.ok, v.ok ? '' : `${v.reason}: ${v.detail}`);
        assert.deepEqual(v.rx, { advert: a, src: pk.src, dst: pk.dst, addressMismatch: false });
        assert.equal(v.legacyChecksum, undefined);
        if (p.ip.ah) {
          assert.equal(p.ip.ah.spi, 0x0a63000b); // 10.99.0.11
          lastAhSeq = p.ip.ah.seq; // the next one must be newer, as keepalived's counter requires
        }
      }
      if (s.auth?.type === 'AH') assert.equal(lastAhSeq, capture.packets.length);
    });

    test(`${name}: encoding the config's advert gives keepalived's bytes`, () => {
      const s = specFromConfig(capture.config);
      for (const pk of capture.packets) {
        const advert: Advert = {
          version: s.version, vrid: s.vrid, priority: pk.priority, intervalCs: s.intervalCs, addresses: s.addresses,
          authType: s.auth?.type === 'PASS' ? 1 : s.auth?.type === 'AH' ? 2 : 0,
          ...(s.auth?.type === 'PASS' ? { authData: authDataFromPass(s.auth.pass) } : {}),
        };
        // the VRRP message alone; for IPv6 its checksum was computed by the kernel (IPV6_CHECKSUM)
        assert.equal(Buffer.from(encodeAdvert(advert, { family: s.family, src: pk.src, dst: pk.dst })).toString('hex'), pk.vrrp);
        if (s.family === 4) {
          const ip = hex(pk.ip);
          const id = (ip[4] as number) << 8 | (ip[5] as number); // keepalived's own counter, from 1
          const ah = s.auth?.type === 'AH' ? { pass: s.auth.pass, seq: new DataView(ip.buffer).getUint32(28) } : undefined;
          assert.equal(Buffer.from(encodeIpv4Packet(advert, { src: pk.src, dst: pk.dst, id }, ah)).toString('hex'), pk.ip);
          // with AH the id defaults to the sequence number, as keepalived's two counters run together
          if (ah) assert.equal(Buffer.from(encodeIpv4Packet(advert, { src: pk.src, dst: pk.dst }, ah)).toString('hex'), pk.ip);
        }
      }
    });
  }

  test('the byte builder agrees with keepalived too (so the drop tests start from real packets)', () => {
    const first = (name: string) => (fixture.captures[name] as Capture).packets[0]!;
    const same = (bytes: Uint8Array, h: string) => assert.equal(Buffer.from(bytes).toString('hex'), h);
    same(ipv4(vrrp({ pass: 'secret1' }), { id: 1 }), first('v2-pass').ip);
    same(ipv4(vrrp({ addresses: ['10.99.0.100', '10.99.0.101', '10.99.0.102'] }), { id: 1 }), first('v2-none-3vip').ip);
    same(ipv4Ah(vrrp({ authType: 2 }), { pass: 'secret1', seq: 1 }), first('v2-ah').ip);
    same(ipv4(vrrp({ version: 3, interval: 10, addresses: ['10.99.0.100', '10.99.0.101'] }), { id: 1 }), first('v3-ipv4').ip);
    same(ipv4(vrrp({ version: 3, pseudo: { src: SRC, dst: '10.99.0.12' } }), { id: 1, dst: '10.99.0.12' }), first('v3-unicast').ip);
    same(vrrp({ version: 3, addresses: ['fe80::100', '2001:db8::100'] }), first('v3-ipv6').vrrp);
  });

  test('a unicast peer with check_unicast_src accepts the capture from its configured peer', () => {
    const pk = (fixture.captures['v3-unicast'] as Capture).packets[0]!;
    const peer = unicast({ unicastPeers: [{ address: '10.99.0.11', minTtl: 255 }], checkUnicastSrc: true });
    assert.equal(outcome4(hex(pk.ip), peer), 'ok');
    assert.equal(outcome4(hex(pk.ip), unicast({ unicastPeers: [{ address: '10.99.0.13' }], checkUnicastSrc: true })), 'unknown-peer');
  });
});

describe('one test per drop reason (bytes from vrrpBytes.ts)', () => {
  test('the builder defaults are a valid packet (each case below changes one thing)', () => {
    assert.equal(outcome4(ipv4(vrrp()), spec()), 'ok');
    assert.equal(outcome4(ipv4(vrrp({ version: 3, interval: 100 })), v3()), 'ok');
    assert.equal(outcome4(ipv4(vrrp(), { ihl: 6 }), spec()), 'ok'); // IP options
    assert.equal(outcome4(ipv4Ah(vrrp({ authType: 2 }), { pass: 'pw', seq: 7 }), spec({ auth: { type: 'AH', pass: 'pw' } })), 'ok');
    assert.equal(outcome6(vrrp({ version: 3, addresses: ['fe80::100'] }), { src: SRC6, dst: GROUP6, hopLimit: 255 }, v6()), 'ok');
  });

  test('truncated: shorter than the IP header, than IP + VRRP header, than AH, than its own address count', () => {
    assert.equal(outcome4(ipv4(vrrp()).subarray(0, 19), spec()), 'truncated');
    assert.equal(outcome4(ipv4(vrrp()).subarray(0, 27), spec()), 'truncated');
    assert.equal(outcome4(ipv4Ah(vrrp({ authType: 2 }), { pass: 'pw', seq: 1 }).subarray(0, 50), spec({ auth: { type: 'AH', pass: 'pw' } })), 'truncated');
    assert.equal(outcome4(ipv4(vrrp({ count: 3 })), spec()), 'truncated');
    assert.equal(outcome6(vrrp({ version: 3, addresses: ['fe80::100'] }).subarray(0, 7), { src: SRC6 }, v6()), 'truncated');
    assert.equal(outcome6(vrrp({ version: 3, addresses: ['fe80::100'], count: 2 }), { src: SRC6 }, v6()), 'truncated');
  });

  test('bad-ip-header: IP version, header length, protocol, AH for another protocol, IPv6 source, wrong family', () => {
    assert.equal(outcome4(ipv4(vrrp(), { version: 6 }), spec()), 'bad-ip-header');
    assert.equal(outcome4(ipv4(vrrp(), { ihl: 4 }), spec()), 'bad-ip-header');
    assert.equal(outcome4(ipv4(vrrp(), { protocol: 17 }), spec()), 'bad-ip-header');
    assert.equal(outcome4(ipv4Ah(vrrp(), { pass: 'pw', seq: 1, nextHeader: 6 }), spec({ auth: { type: 'AH', pass: 'pw' } })), 'bad-ip-header');
    assert.equal(outcome6(vrrp({ version: 3, addresses: ['fe80::100'] }), { src: '10.0.0.1' }, v6()), 'bad-ip-header');
    assert.equal(outcome6(vrrp({ version: 3, addresses: ['fe80::100'] }), { src: SRC6, dst: 'nope' }, v6()), 'bad-ip-header');
    assert.equal(outcome4(ipv4(vrrp()), v6()), 'bad-ip-header');
  });

  test('mode-mismatch: IPv4 (step 13) and IPv6 (step 3, in the dispatcher)', () => {
    assert.equal(outcome4(ipv4(vrrp({ version: 3 })), unicast()), 'mode-mismatch'); // multicast on unicast
    const toPeer = ipv4(vrrp({ version: 3, pseudo: { src: SRC, dst: '10.99.0.12' } }), { dst: '10.99.0.12' });
    assert.equal(outcome4(toPeer, v3()), 'mode-mismatch'); // unicast on multicast
    assert.equal(outcome4(toPeer, unicast()), 'ok');
    const msg6 = vrrp({ version: 3, addresses: ['fe80::100'] });
    assert.equal(outcome6(msg6, { src: SRC6, dst: GROUP6 }, v6({ unicastPeers: [{ address: SRC6 }] })), 'mode-mismatch');
    const uni6 = vrrp({ version: 3, addresses: ['fe80::100'], pseudo: { src: SRC6, dst: 'fe80::2' } });
    assert.equal(outcome6(uni6, { src: SRC6, dst: 'fe80::2' }, v6()), 'mode-mismatch');
    assert.equal(outcome6(uni6, { src: SRC6, dst: 'fe80::2' }, v6({ unicastPeers: [{ address: SRC6 }] })), 'ok');
    assert.equal(outcome6(msg6, { src: SRC6 }, v6({ unicastPeers: [{ address: SRC6 }] })), 'ok'); // destination unknown: skipped
  });

  test('auth-type-mismatch: AH present iff auth AH (step 4), v2 auth type ≠ ours, auth type > 2', () => {
    const ah = spec({ auth: { type: 'AH', pass: 'pw' } });
    assert.equal(outcome4(ipv4Ah(vrrp({ authType: 2 }), { pass: 'pw', seq: 1 }), spec()), 'auth-type-mismatch');
    assert.equal(outcome4(ipv4(vrrp({ authType: 2 })), ah), 'auth-type-mismatch');
    assert.equal(outcome4(ipv4(vrrp({ pass: 'pw' })), spec()), 'auth-type-mismatch');
    assert.equal(outcome4(ipv4(vrrp()), spec({ auth: { type: 'PASS', pass: 'pw' } })), 'auth-type-mismatch');
    assert.equal(outcome4(ipv4(vrrp({ authType: 3 })), spec()), 'auth-type-mismatch');
  });

  test('auth: keepalived ignores authentication on v3, and AH over IPv6', () => {
    assert.equal(outcome4(ipv4(vrrp({ version: 3 })), v3({ auth: { type: 'PASS', pass: 'pw' } })), 'ok');
    const msg6 = vrrp({ version: 3, addresses: ['fe80::100'] });
    assert.equal(outcome6(msg6, { src: SRC6, dst: GROUP6 }, v6({ auth: { type: 'AH', pass: 'pw' } })), 'ok');
  });

  test('bad-length: longer than its count (not padding), tot_len different from what arrived', () => {
    assert.equal(outcome4(concat(ipv4(vrrp()), [0]), spec()), 'bad-length');
    assert.equal(outcome4(ipv4(vrrp(), { totalLength: 44 }), spec()), 'bad-length');
    assert.equal(outcome4(ipv4(vrrp(), { totalLength: 36 }), spec()), 'bad-length');
    assert.equal(outcome6(concat(vrrp({ version: 3, addresses: ['fe80::100'] }), [0]), { src: SRC6, dst: GROUP6 }, v6()), 'bad-length');
  });

  test('bad-ttl: multicast TTL / hop limit ≠ 255; unicast only outside a peer’s min_ttl/max_ttl', () => {
    assert.equal(outcome4(ipv4(vrrp(), { ttl: 254 }), spec()), 'bad-ttl');
    assert.equal(outcome6(vrrp({ version: 3, addresses: ['fe80::100'] }), { src: SRC6, dst: GROUP6, hopLimit: 1 }, v6()), 'bad-ttl');
    assert.equal(outcome6(vrrp({ version: 3, addresses: ['fe80::100'] }), { src: SRC6, dst: GROUP6 }, v6()), 'ok'); // unknown
    const toPeer = (ttl: number) => ipv4(vrrp({ version: 3, pseudo: { src: SRC, dst: '10.99.0.12' } }), { dst: '10.99.0.12', ttl });
    assert.equal(outcome4(toPeer(64), unicast()), 'ok');
    assert.equal(outcome4(toPeer(64), unicast({ unicastPeers: [{ address: SRC, minTtl: 250 }] })), 'bad-ttl');
    assert.equal(outcome4(toPeer(255), unicast({ unicastPeers: [{ address: SRC, maxTtl: 64 }] })), 'bad-ttl');
    assert.equal(outcome4(toPeer(64), unicast({ unicastPeers: [{ address: SRC, minTtl: 64, maxTtl: 64 }] })), 'ok');
    // min/max_ttl turns on the source check (keepalived vrrp_data.c)
    assert.equal(outcome4(toPeer(64), unicast({ unicastPeers: [{ address: '10.99.0.13', maxTtl: 255 }] })), 'unknown-peer');
  });

  test('bad-version: not 2 or 3 (decoder), or not the instance’s version (step 7)', () => {
    assert.equal(outcome4(ipv4(vrrp({ version: 1 })), spec()), 'bad-version');
    assert.equal(outcome4(ipv4(vrrp({ version: 3 })), spec()), 'bad-version');
    assert.equal(outcome4(ipv4(vrrp()), v3()), 'bad-version');
  });

  test('auth-failure: PASS differs; AH ICV, password, SPI, replayed sequence', () => {
    const pass = spec({ auth: { type: 'PASS', pass: 'secret1' } });
    assert.equal(outcome4(ipv4(vrrp({ pass: 'secret1' })), pass), 'ok');
    assert.equal(outcome4(ipv4(vrrp({ pass: 'secret2' })), pass), 'auth-failure');
    assert.equal(outcome4(ipv4(vrrp({ pass: 'secret1', authType: 1 })), spec({ auth: { type: 'PASS', pass: 'secret12345' } })), 'auth-failure');
    assert.equal(outcome4(ipv4(vrrp({ pass: 'secret12' })), spec({ auth: { type: 'PASS', pass: 'secret12345' } })), 'ok'); // 8 bytes kept
    const ah = spec({ auth: { type: 'AH', pass: 'secret1' } });
    const good = { pass: 'secret1', seq: 5 };
    assert.equal(outcome4(ipv4Ah(vrrp({ authType: 2 }), good), ah), 'ok');
    assert.equal(outcome4(ipv4Ah(vrrp({ authType: 2 }), { ...good, corruptIcv: true }), ah), 'auth-failure');
    assert.equal(outcome4(ipv4Ah(vrrp({ authType: 2 }), { ...good, pass: 'secret2' }), ah), 'auth-failure');
    assert.equal(outcome4(ipv4Ah(vrrp({ authType: 2 }), { ...good, spi: '10.99.0.99' }), ah), 'auth-failure');
    assert.equal(outcome4(ipv4Ah(vrrp({ authType: 2 }), good), ah, { lastAhSeq: 5 }), 'auth-failure');
    assert.equal(outcome4(ipv4Ah(vrrp({ authType: 2 }), good), ah, { lastAhSeq: 4 }), 'ok');
    // the ICV covers the TTL only in multicast mode; TOS is mutable and excluded
    assert.equal(outcome4(ipv4Ah(vrrp({ authType: 2 }), { ...good, tos: 0 }), ah), 'ok');
  });

  test('interval-mismatch: v2 only, against the current interval; v3 differences are accepted', () => {
    assert.equal(outcome4(ipv4(vrrp({ interval: 2 })), spec()), 'interval-mismatch');
    assert.equal(outcome4(ipv4(vrrp({ interval: 2 })), spec(), { ourIntervalCs: 200 }), 'ok');
    assert.equal(outcome4(ipv4(vrrp({ interval: 0 })), spec()), 'interval-mismatch');
    assert.equal(outcome4(ipv4(vrrp({ version: 3, interval: 250 })), v3()), 'ok');
  });

  test('bad-type: not ADVERTISEMENT', () => {
    assert.equal(outcome4(ipv4(vrrp({ type: 2 })), spec()), 'bad-type');
    assert.equal(outcome4(ipv4(vrrp({ version: 3, type: 0 })), v3()), 'bad-type');
  });

  test('bad-checksum: v2 RFC 1071, v3 pseudo-header (IPv4, IPv6 when the destination is known)', () => {
    assert.equal(outcome4(ipv4(vrrp({ checksum: 0x1234 })), spec()), 'bad-checksum');
    assert.equal(outcome4(ipv4(vrrp({ version: 3, pseudo: { src: SRC, dst: '224.0.0.19' } })), v3()), 'bad-checksum');
    assert.equal(outcome4(ipv4(vrrp({ version: 3, pseudo: { src: '10.99.0.12', dst: GROUP } })), v3()), 'bad-checksum');
    const wrong6 = vrrp({ version: 3, addresses: ['fe80::100'], pseudo: { src: 'fe80::1', dst: GROUP6 } });
    assert.equal(outcome6(wrong6, { src: SRC6, dst: GROUP6 }, v6()), 'bad-checksum');
    assert.equal(outcome6(wrong6, { src: SRC6 }, v6()), 'ok'); // the kernel's job when we cannot tell
  });

  test('v3 unicast with the legacy checksum (multicast group in the pseudo-header) is accepted and reported', () => {
    const legacy = ipv4(vrrp({ version: 3, pseudo: { src: SRC, dst: GROUP } }), { dst: '10.99.0.12' });
    const p = ok(parseIpv4(legacy));
    const v = validate(p, unicast());
    assert.ok(v.ok);
    assert.equal(v.legacyChecksum, true);
    assert.equal(outcome4(legacy, unicast({ mcastGroup: '224.0.0.19' })), 'bad-checksum');
    // and we can answer in kind
    const a = p.advert;
    assert.deepEqual(encodeIpv4Packet(a, { src: SRC, dst: '10.99.0.12', checksumDst: GROUP }), legacy);
  });

  test('owner-ignore: owner_ignore_adverts while priority 255', () => {
    assert.equal(outcome4(ipv4(vrrp()), spec({ ownerIgnoreAdverts: true, owner: true })), 'owner-ignore');
    assert.equal(outcome4(ipv4(vrrp()), spec({ ownerIgnoreAdverts: true, owner: true }), { owner: false }), 'ok');
    assert.equal(outcome4(ipv4(vrrp()), spec({ ownerIgnoreAdverts: true }), { owner: true }), 'owner-ignore');
    assert.equal(outcome4(ipv4(vrrp()), spec({ owner: true })), 'ok');
  });

  test('unknown-peer: check_unicast_src and the source is not a peer', () => {
    const toPeer = ipv4(vrrp({ version: 3, pseudo: { src: SRC, dst: '10.99.0.12' } }), { dst: '10.99.0.12' });
    assert.equal(outcome4(toPeer, unicast({ unicastPeers: [{ address: '10.99.0.13' }], checkUnicastSrc: true })), 'unknown-peer');
    assert.equal(outcome4(toPeer, unicast({ unicastPeers: [{ address: '10.99.0.13' }] })), 'ok');
    const uni6 = vrrp({ version: 3, addresses: ['fe80::100'], pseudo: { src: SRC6, dst: 'fe80::2' } });
    const peers6 = (address: string) => v6({ unicastPeers: [{ address }], checkUnicastSrc: true });
    assert.equal(outcome6(uni6, { src: SRC6, dst: 'fe80::2' }, peers6('fe80::3')), 'unknown-peer');
    assert.equal(outcome6(uni6, { src: `${SRC6}%eth0`, dst: 'fe80::2' }, peers6('FE80:0::A836:ABFF:FE0D:8902')), 'ok');
  });

  test('step 15, address list: flagged, not dropped; skip_check_adv_addr compares only on a new master', () => {
    const rx = (bytes: Uint8Array, s: EndpointSpec, opts?: ValidateOptions) => {
      const v = validate(ok(parseIpv4(bytes)), s, opts);
      assert.ok(v.ok);
      return v.rx.addressMismatch;
    };
    assert.equal(rx(ipv4(vrrp({ addresses: ['10.99.0.101', VIP] })), spec({ addresses: [VIP, '10.99.0.101'] })), false);
    assert.equal(rx(ipv4(vrrp({ addresses: ['10.99.0.101'] })), spec()), true);
    assert.equal(rx(ipv4(vrrp({ addresses: [VIP, '10.99.0.101'] })), spec()), true);
    assert.equal(rx(ipv4(vrrp({ addresses: [] })), spec()), true);
    const other = ipv4(vrrp({ addresses: ['10.99.0.101'] }));
    assert.equal(rx(other, spec(), { skipCheckAdvAddr: true, lastMasterSrc: SRC }), false);
    assert.equal(rx(other, spec(), { skipCheckAdvAddr: true, lastMasterSrc: '10.99.0.12' }), true);
    assert.equal(rx(ipv4(vrrp({ addresses: [] })), spec(), { skipCheckAdvAddr: true, lastMasterSrc: SRC }), true); // count: always
  });
});

describe("keepalived's order: with two faults, the earlier check names the drop", () => {
  const ahSpec = spec({ auth: { type: 'AH', pass: 'pw' } });
  const passSpec = spec({ auth: { type: 'PASS', pass: 'pw' } });
  const toPeer = (f: Parameters<typeof vrrp>[0] = {}) => ipv4(vrrp({ version: 3, pseudo: { src: SRC, dst: '10.99.0.12' }, ...f }), { dst: '10.99.0.12' });
  const cases: [string, Uint8Array, EndpointSpec, string][] = [
    ['4 AH presence before 5 length', concat(ipv4(vrrp()), [0]), ahSpec, 'auth-type-mismatch'],
    ['5 length before 6 TTL', concat(ipv4(vrrp(), { ttl: 1 }), [0]), spec(), 'bad-length'],
    ['6 TTL before 7 version', ipv4(vrrp({ version: 3 }), { ttl: 1 }), spec(), 'bad-ttl'],
    ['7 version before 9 auth', ipv4(vrrp({ version: 3 })), passSpec, 'bad-version'],
    ['9 auth before 10 interval', ipv4(vrrp({ pass: 'no', interval: 3 })), passSpec, 'auth-failure'],
    ['10 interval before 11 type', ipv4(vrrp({ interval: 3, type: 2 })), spec(), 'interval-mismatch'],
    ['11 type before 11 tot_len', ipv4(vrrp({ type: 2 }), { totalLength: 50 }), spec(), 'bad-type'],
    ['11 tot_len before 12 checksum', ipv4(vrrp({ checksum: 1 }), { totalLength: 50 }), spec(), 'bad-length'],
    ['12 checksum before 13 mode', toPeer({ checksum: 1 }), v3(), 'bad-checksum'],
    ['13 mode before 14 owner', ipv4(vrrp()), spec({ unicastPeers: [{ address: SRC }], ownerIgnoreAdverts: true, owner: true }), 'mode-mismatch'],
    ['14 owner before 16 peer', toPeer(), unicast({ unicastPeers: [{ address: '10.9.9.9' }], checkUnicastSrc: true, ownerIgnoreAdverts: true, owner: true }), 'owner-ignore'],
    ['16 peer before its TTL', ipv4(vrrp({ version: 3, pseudo: { src: SRC, dst: '10.99.0.12' } }), { dst: '10.99.0.12', ttl: 1 }), unicast({ unicastPeers: [{ address: '10.9.9.9', minTtl: 200 }] }), 'unknown-peer'],
  ];
  for (const [name, bytes, s, reason] of cases) test(name, () => assert.equal(outcome4(bytes, s), reason));

  test('IPv6: 3 mode (dispatcher) before 6 hop limit and 12 checksum', () => {
    const bad = vrrp({ version: 3, addresses: ['fe80::100'], checksum: 1 });
    assert.equal(outcome6(bad, { src: SRC6, dst: GROUP6, hopLimit: 1 }, v6({ unicastPeers: [{ address: SRC6 }] })), 'mode-mismatch');
    assert.equal(outcome6(bad, { src: SRC6, dst: GROUP6, hopLimit: 1 }, v6()), 'bad-ttl');
  });
});

describe('truncation, splitting and padding', () => {
  const all = captures.flatMap(([name, c]) => c.packets.slice(0, 1).map((pk) => ({ name, pk, spec: specFromConfig(c.config) })));

  for (const { name, pk, spec: s } of all) {
    test(`${name}: split at every offset, the head is truncated (or bad-length) and the tail is refused, no throw`, () => {
      const whole = hex(pk.ip);
      const ipv6 = whole[0] !== 0x45;
      const bytes = ipv6 ? whole.subarray(40) : whole; // what the socket returns
      const run = (b: Uint8Array) => (ipv6 ? outcome6(b, { src: pk.src, dst: pk.dst, hopLimit: 255 }, s) : outcome4(b, s));
      assert.equal(run(bytes), 'ok');
      for (let cut = 1; cut < bytes.length; cut++) {
        const head = run(bytes.subarray(0, cut));
        assert.ok(head === 'truncated' || head === 'bad-length', `head of ${cut} bytes: ${head}`);
        assert.notEqual(run(bytes.subarray(cut)), 'ok', `tail from byte ${cut}`);
      }
      assert.equal(run(bytes.subarray(0, 0)), 'truncated');
    });
  }

  test('Ethernet padding to 46 bytes (with or without a VLAN tag) is tolerated, other trailing bytes are not', () => {
    const pass = spec({ auth: { type: 'PASS', pass: 'pw' } });
    const p40 = ipv4(vrrp({ pass: 'pw' })); // 40 bytes
    assert.equal(outcome4(pad(p40, 6), pass), 'ok'); // a 60-byte frame
    assert.equal(outcome4(pad(p40, 2), pass), 'ok'); // 60 bytes with a 4-byte VLAN tag stripped
    for (const n of [1, 3, 4, 5, 7]) assert.equal(outcome4(pad(p40, n), pass), 'bad-length', `pad ${n}`);
    assert.equal(outcome4(pad(p40, 10), pass), 'bad-length'); // more than a minimum frame holds
    const p32 = ipv4(vrrp({ version: 3 })); // 32 bytes
    assert.equal(outcome4(pad(p32, 14), v3()), 'ok');
    assert.equal(outcome4(pad(p32, 10), v3()), 'ok');
    const ah = ipv4Ah(vrrp({ authType: 2 }), { pass: 'pw', seq: 1 }); // 64 bytes: never padded
    assert.equal(outcome4(pad(ah, 2), spec({ auth: { type: 'AH', pass: 'pw' } })), 'bad-length');
    const p = ok(parseIpv4(pad(p40, 6)));
    assert.equal(p.advert.authType, 1);
    assert.deepEqual(p.advert.addresses, [VIP]);
  });
});

describe('encoding', () => {
  const a: Advert = { version: 2, vrid: 51, priority: 150, intervalCs: 100, addresses: [VIP], authType: 0 };
  const ip4 = { family: 4 as const, src: SRC, dst: GROUP };

  test('RangeError on our own bad values', () => {
    const bad: [string, () => unknown][] = [
      ['vrid 0', () => encodeAdvert({ ...a, vrid: 0 }, ip4)],
      ['vrid 256', () => encodeAdvert({ ...a, vrid: 256 }, ip4)],
      ['vrid 1.5', () => encodeAdvert({ ...a, vrid: 1.5 }, ip4)],
      ['priority -1', () => encodeAdvert({ ...a, priority: -1 }, ip4)],
      ['priority 256', () => encodeAdvert({ ...a, priority: 256 }, ip4)],
      ['v2 interval not whole seconds', () => encodeAdvert({ ...a, intervalCs: 150 }, ip4)],
      ['v2 interval 0', () => encodeAdvert({ ...a, intervalCs: 0 }, ip4)],
      ['v2 interval 256 s', () => encodeAdvert({ ...a, intervalCs: 25600 }, ip4)],
      ['v3 interval 0', () => encodeAdvert({ ...a, version: 3, intervalCs: 0 }, ip4)],
      ['v3 interval 4096', () => encodeAdvert({ ...a, version: 3, intervalCs: 4096 }, ip4)],
      ['version 4', () => encodeAdvert({ ...a, version: 4 as 2 }, ip4)],
      ['family 5', () => encodeAdvert(a, { ...ip4, family: 5 as 4 })],
      ['256 addresses', () => encodeAdvert({ ...a, addresses: Array<string>(256).fill(VIP) }, ip4)],
      ['IPv6 address in IPv4', () => encodeAdvert({ ...a, addresses: ['fe80::1'] }, ip4)],
      ['bad source', () => encodeAdvert(a, { ...ip4, src: '10.0.0.256' })],
      ['auth on v3', () => encodeAdvert({ ...a, version: 3, authType: 1, authData: new Uint8Array(8) }, ip4)],
      ['auth over IPv6', () => encodeAdvert({ ...a, addresses: ['fe80::1'], authType: 1, authData: new Uint8Array(8) }, { family: 6, src: SRC6, dst: GROUP6 })],
      ['auth type 3', () => encodeAdvert({ ...a, authType: 3 as 0 }, ip4)],
      ['PASS without data', () => encodeAdvert({ ...a, authType: 1 }, ip4)],
      ['data without PASS', () => encodeAdvert({ ...a, authData: new Uint8Array(8) }, ip4)],
      ['9 bytes of auth data', () => encodeAdvert({ ...a, authType: 1, authData: new Uint8Array(9) }, ip4)],
      ['AH advert without AH', () => encodeIpv4Packet({ ...a, authType: 2 }, ip4)],
      ['AH options on a plain advert', () => encodeIpv4Packet(a, ip4, { pass: 'pw', seq: 1 })],
      ['AH with id 0', () => encodeIpv4Packet({ ...a, authType: 2 }, { ...ip4, id: 0 }, { pass: 'pw', seq: 1 })],
      ['AH seq 2^32', () => encodeIpv4Packet({ ...a, authType: 2 }, ip4, { pass: 'pw', seq: 2 ** 32 })],
      ['TTL 0', () => encodeIpv4Packet(a, { ...ip4, ttl: 0 })],
      ['id 65536', () => encodeIpv4Packet(a, { ...ip4, id: 65536 })],
    ];
    for (const [name, f] of bad) assert.throws(f, RangeError, name);
  });

  test('IPv4 packet: header fields, TTL, protocol, checksums; shorter auth data is NUL padded', () => {
    const p = encodeIpv4Packet({ ...a, authType: 1, authData: Uint8Array.of(0x70, 0x77) }, { src: SRC, dst: '10.99.0.12', ttl: 64, id: 9 });
    assert.deepEqual([...p.subarray(0, 10)], [0x45, 0xc0, 0, 40, 0, 9, 0, 0, 64, 112]);
    assert.equal(checksum(p.subarray(0, 20)), 0);
    assert.equal(inetChecksum(p.subarray(20)), 0);
    assert.deepEqual([...p.subarray(32)], [0x70, 0x77, 0, 0, 0, 0, 0, 0]);
    const plain = encodeIpv4Packet(a, { src: SRC, dst: GROUP });
    assert.deepEqual([plain[4], plain[5], plain[8]], [0, 0, 255]); // id 0: the kernel fills it in
  });

  test('v2 over IPv6 (keepalived allows it outside strict mode): no auth data, pseudo-header checksum', () => {
    const m = encodeAdvert({ ...a, addresses: ['fe80::100'] }, { family: 6, src: SRC6, dst: GROUP6 });
    assert.equal(m.length, 8 + 16);
    assert.deepEqual(m, vrrp({ version: 2, addresses: ['fe80::100'] }));
    const p = ok(parseIpv6(m, { src: SRC6, dst: GROUP6, hopLimit: 255 }));
    const v = validate(p, v6({ version: 2 }));
    assert.ok(v.ok);
    assert.deepEqual(v.rx.advert, { ...a, addresses: ['fe80::100'] });
  });

  test('the decoded advert owns its bytes, and validate leaves the caller’s buffer alone', () => {
    const buf = Buffer.from(ipv4(vrrp({ pass: 'pw' })));
    const p = ok(parseIpv4(buf));
    buf.fill(0, 32);
    assert.deepEqual(p.advert.authData, authDataFromPass('pw'));
    const ahBuf = Buffer.from(ipv4Ah(vrrp({ authType: 2 }), { pass: 'pw', seq: 3 }));
    const before = Buffer.from(ahBuf);
    assert.equal(outcome4(ahBuf, spec({ auth: { type: 'AH', pass: 'pw' } })), 'ok');
    assert.deepEqual(ahBuf, before);
  });
});

describe('addresses and checksum helpers', () => {
  test('canonical text: dotted quad, RFC 5952', () => {
    const cases: [string, 4 | 6, string | undefined][] = [
      ['10.0.0.1', 4, '10.0.0.1'], ['010.001.0.1', 4, '10.1.0.1'], ['10.0.0.256', 4, undefined], ['10.0.0', 4, undefined],
      ['1.2.3.4.5', 4, undefined], ['a.b.c.d', 4, undefined], ['', 4, undefined], ['::1', 4, undefined],
      ['2001:DB8:0:0:1:0:0:1', 6, '2001:db8::1:0:0:1'], ['2001:db8:0:0:0:0:2:1', 6, '2001:db8::2:1'],
      ['2001:0:0:1:0:0:0:1', 6, '2001:0:0:1::1'], ['2001:db8:0:1:1:1:1:1', 6, '2001:db8:0:1:1:1:1:1'],
      ['::', 6, '::'], ['::1', 6, '::1'], ['1::', 6, '1::'], ['0:0:0:0:0:0:0:0', 6, '::'], ['fe80::0100', 6, 'fe80::100'],
      ['1:2:3:4:5:6:7::', 6, '1:2:3:4:5:6:7:0'], ['::ffff:10.0.0.1', 6, '::ffff:a00:1'],
      ['1:2:3:4:5:6:7:8:9', 6, undefined], ['1::2::3', 6, undefined], ['g::', 6, undefined], ['12345::', 6, undefined],
      ['1:2:3:4:5:6:7', 6, undefined], [':1::', 6, undefined], ['1.2.3.4::', 6, undefined], ['', 6, undefined], ['10.0.0.1', 6, undefined],
    ];
    for (const [text, family, want] of cases) assert.equal(canonicalAddress(text, family), want, `${text}`);
  });

  test('inetChecksum: RFC 1071 §3 example, parts split anywhere, verify gives 0', () => {
    const data = Uint8Array.of(0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7);
    assert.equal(inetChecksum(data), 0xffff - 0xddf2);
    assert.equal(inetChecksum(data.subarray(0, 3), data.subarray(3, 4), data.subarray(4)), inetChecksum(data));
    assert.equal(inetChecksum(data, Uint8Array.of(0x22, 0x0d)), 0);
    assert.equal(inetChecksum(), 0xffff);
  });
});
