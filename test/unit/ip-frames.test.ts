// Gratuitous ARP and unsolicited NA bytes, checked against an independent construction (hex written
// field by field from RFC 826 / RFC 4861 and keepalived's vrrp_arp.c / vrrp_ndisc.c), and the
// address text <-> bytes helpers they rely on. tshark decodes the same frames in test/netns/ip.test.ts.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { formatIP, formatIPv6, formatMac, parseIPv4, parseIPv6, parseMac } from '../../adapters/ip/addr.js';
import { GARP_FRAME_LEN, NA_FLAGS, NA_FRAME_LEN, NA_LEN, garpFrame, icmpv6Checksum, naFrame, unsolicitedNa } from '../../adapters/ip/frames.js';

const hex = (...fields: string[]) => Buffer.from(fields.join(''), 'hex');
const mac = Uint8Array.from([0x02, 0x11, 0x22, 0x33, 0x44, 0x55]);

describe('garpFrame', () => {
  const frame = Buffer.from(garpFrame(mac, Uint8Array.from([10, 99, 0, 100])));

  it('is the frame keepalived sends: a broadcast ARP request with sender IP = target IP = VIP', () => {
    const expected = hex(
      'ffffffffffff', //  Ethernet destination: broadcast
      '021122334455', //  Ethernet source: our MAC
      '0806', //          EtherType ARP
      '0001', //          hardware type Ethernet
      '0800', //          protocol type IPv4
      '06', '04', //      hardware / protocol address lengths
      '0001', //          operation: REQUEST
      '021122334455', //  sender hardware address
      '0a630064', //      sender protocol address 10.99.0.100
      'ffffffffffff', //  target hardware address: broadcast (keepalived: ifp->hw_addr_bcast)
      '0a630064', //      target protocol address = sender's: gratuitous
    );
    assert.equal(frame.length, GARP_FRAME_LEN);
    assert.equal(frame.toString('hex'), expected.toString('hex'));
  });

  it('decodes field by field', () => {
    assert.equal(formatMac(frame.subarray(0, 6)), 'ff:ff:ff:ff:ff:ff');
    assert.equal(formatMac(frame.subarray(6, 12)), '02:11:22:33:44:55');
    assert.equal(frame.readUInt16BE(12), 0x0806);
    assert.equal(frame.readUInt16BE(14), 1);
    assert.equal(frame.readUInt16BE(16), 0x0800);
    assert.deepEqual([frame[18], frame[19]], [6, 4]);
    assert.equal(frame.readUInt16BE(20), 1, 'request, not reply');
    assert.equal(formatMac(frame.subarray(22, 28)), '02:11:22:33:44:55');
    assert.equal(formatIP(frame.subarray(28, 32)), '10.99.0.100');
    assert.equal(formatMac(frame.subarray(32, 38)), 'ff:ff:ff:ff:ff:ff');
    assert.equal(formatIP(frame.subarray(38, 42)), '10.99.0.100');
  });

  it('carries any MAC and address where they belong', () => {
    fc.assert(fc.property(fc.uint8Array({ minLength: 6, maxLength: 6 }), fc.uint8Array({ minLength: 4, maxLength: 4 }), (m, ip) => {
      const f = Buffer.from(garpFrame(m, ip));
      assert.deepEqual([...f.subarray(6, 12)], [...m]);
      assert.deepEqual([...f.subarray(22, 28)], [...m]);
      assert.deepEqual([...f.subarray(28, 32)], [...ip]);
      assert.deepEqual([...f.subarray(38, 42)], [...ip]);
    }));
  });

  it('refuses wrong lengths (our bug, not input)', () => {
    assert.throws(() => garpFrame(new Uint8Array(5), new Uint8Array(4)), RangeError);
    assert.throws(() => garpFrame(mac, new Uint8Array(16)), RangeError);
  });
});

describe('unsolicitedNa', () => {
  const target = parseIPv6('fd99::100') as Uint8Array;

  it('is an NA with Override, target and Target Link-Layer Address option (checksum left to the kernel)', () => {
    const expected = hex(
      '88', //            type 136 Neighbor Advertisement
      '00', //            code 0
      '0000', //          checksum: computed by the kernel for IPPROTO_ICMPV6 raw sockets
      '20000000', //      R=0 S=0 O=1, reserved
      'fd990000000000000000000000000100', // target address
      '02', //            option type 2: Target Link-Layer Address
      '01', //            option length 1 (8 octets)
      '021122334455', //  link-layer address
    );
    const na = Buffer.from(unsolicitedNa(target, mac, false));
    assert.equal(na.length, NA_LEN);
    assert.equal(na.toString('hex'), expected.toString('hex'));
  });

  it('sets the Router flag only when asked, and never Solicited', () => {
    const na = unsolicitedNa(target, mac, true);
    assert.equal(na[4], 0xa0);
    assert.equal((na[4] as number) & NA_FLAGS.router, NA_FLAGS.router);
    assert.equal((na[4] as number) & NA_FLAGS.solicited, 0, 'to ff02::1 the S flag must be clear (RFC 4861 §7.1.2)');
    assert.equal((na[4] as number) & NA_FLAGS.override, NA_FLAGS.override);
  });

  it('refuses wrong lengths', () => {
    assert.throws(() => unsolicitedNa(new Uint8Array(4), mac, false), RangeError);
    assert.throws(() => unsolicitedNa(target, new Uint8Array(8), false), RangeError);
  });
});

describe('naFrame', () => {
  const target = parseIPv6('fd99::100') as Uint8Array;

  /** RFC 1071 the slow way: 32-bit words, BigInt, fold at the end (independent of icmpv6Checksum) */
  function verify(frame: Buffer): boolean {
    const ip = frame.subarray(14, 54);
    const icmp = frame.subarray(54);
    const pseudo = Buffer.concat([ip.subarray(8, 40), Buffer.from([0, 0, 0, icmp.length, 0, 0, 0, 58])]);
    const all = Buffer.concat([pseudo, icmp]);
    let sum = 0n;
    for (let i = 0; i < all.length; i += 2) sum += BigInt(all.readUInt16BE(i));
    while (sum >> 16n) sum = (sum & 0xffffn) + (sum >> 16n);
    return sum === 0xffffn; // the sum over a message carrying its own checksum is all ones
  }

  it('is keepalived\'s frame: all-nodes Ethernet and IPv6 destination, VIP as source, hop limit 255', () => {
    const f = Buffer.from(naFrame(mac, target, false));
    assert.equal(f.length, NA_FRAME_LEN);
    const expected = hex(
      '333300000001', //  Ethernet destination: ff02::1 mapped (RFC 2464 §7)
      '021122334455', //  Ethernet source
      '86dd', //          EtherType IPv6
      '60000000', //      version 6, traffic class 0, flow label 0
      '0020', //          payload length 32
      '3a', //            next header ICMPv6
      'ff', //            hop limit 255
      'fd990000000000000000000000000100', // source: the VIP
      'ff020000000000000000000000000001', // destination: all nodes
      '88', '00', f.subarray(56, 58).toString('hex'), '20000000', // NA type, code, checksum, flags O
      'fd990000000000000000000000000100', // target
      '0201', '021122334455', //  Target Link-Layer Address option
    );
    assert.equal(f.toString('hex'), expected.toString('hex'));
    assert.ok(verify(f), 'checksum');
    assert.notEqual(f.readUInt16BE(56), 0);
  });

  it('has a valid checksum for any target, MAC and Router flag', () => {
    fc.assert(fc.property(
      fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.uint8Array({ minLength: 6, maxLength: 6 }), fc.boolean(),
      (t, m, router) => {
        const f = Buffer.from(naFrame(m, t, router));
        assert.ok(verify(f));
        assert.deepEqual([...f.subarray(6, 12)], [...m]);
        assert.deepEqual([...f.subarray(22, 38)], [...t]);
        assert.equal(f[58], router ? 0xa0 : 0x20);
      },
    ));
  });

  it('icmpv6Checksum matches a known value', () => {
    // an Echo Request (type 128) from ::1 to ::1 with id 0, seq 0: sum by hand = 0x8000 + 0x0001*2 + 0x0008 + 0x003a
    const echo = Uint8Array.from([128, 0, 0, 0, 0, 0, 0, 0]);
    const lo = parseIPv6('::1') as Uint8Array;
    assert.equal(icmpv6Checksum(lo, lo, echo), ~(0x8000 + 2 + 8 + 0x3a) & 0xffff);
  });
});

describe('address text', () => {
  it('parses and formats IPv4', () => {
    assert.deepEqual([...(parseIPv4('10.99.0.100') ?? [])], [10, 99, 0, 100]);
    for (const bad of ['10.99.0', '10.99.0.256', '10.99.0.1.2', '1e1.0.0.1', '', ' 1.2.3.4', '1..2.3']) {
      assert.equal(parseIPv4(bad), undefined, bad);
    }
  });

  it('parses IPv6 in its usual spellings', () => {
    const cases: [string, string][] = [
      ['::', '00000000000000000000000000000000'],
      ['::1', '00000000000000000000000000000001'],
      ['fe80::1', 'fe800000000000000000000000000001'],
      ['FD99:0:0::100', 'fd990000000000000000000000000100'],
      ['1:2:3:4:5:6:7:8', '00010002000300040005000600070008'],
      ['::ffff:10.0.0.1', '00000000000000000000ffff0a000001'],
      ['1::', '00010000000000000000000000000000'],
    ];
    for (const [text, bytes] of cases) assert.equal(Buffer.from(parseIPv6(text) ?? []).toString('hex'), bytes, text);
    for (const bad of ['', ':', ':::', '1:2:3:4:5:6:7:8:9', '1::2::3', 'fe80::1%eth0', '12345::', 'g::1', '1:2:3:4:5:6:7', '::1.2.3']) {
      assert.equal(parseIPv6(bad), undefined, bad);
    }
  });

  it('formats IPv6 as the config adapter does (WHATWG URL form), and round-trips', () => {
    fc.assert(fc.property(
      fc.array(fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 0xffff })), { minLength: 8, maxLength: 8 }),
      (groups) => {
        const b = new Uint8Array(16);
        groups.forEach((g, i) => { b[2 * i] = g >> 8; b[2 * i + 1] = g & 0xff; });
        const text = formatIPv6(b);
        assert.equal(text, new URL(`http://[${text}]/`).hostname.slice(1, -1));
        assert.deepEqual([...(parseIPv6(text) ?? [])], [...b]);
      },
    ));
  });

  it('never throws on garbage', () => {
    fc.assert(fc.property(fc.string(), (s) => {
      parseIPv4(s);
      parseIPv6(s);
      parseMac(s);
    }));
  });

  it('parses and formats MACs', () => {
    assert.equal(formatMac(parseMac('00:00:5E:00:01:33') as Uint8Array), '00:00:5e:00:01:33');
    assert.equal(formatMac(parseMac('02-11-22-33-44-55') as Uint8Array), '02:11:22:33:44:55');
    for (const bad of ['00:00:5e:00:01', '00:00:5e:00:01:333', 'zz:00:5e:00:01:33', '']) assert.equal(parseMac(bad), undefined, bad);
  });
});
