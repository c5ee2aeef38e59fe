// adapters/checkers/dns-codec.ts: bytes written by hand from RFC 1035 §4.1 (header, question, a
// compressed answer), every decode error on its own bytes, and, with fast-check, round trips and
// hostile input that never throws.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  decodeMessage, DNS_TYPES, encodeMessage, encodeName, encodeQuery, rcodeName, type DnsMessage, type DnsRecord,
} from '../../adapters/checkers/dns-codec.js';

const hex = (s: string) => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const ascii = (s: string) => Buffer.from(s, 'latin1').toString('hex');

// "example.com" as labels: 07 example 03 com 00
const EXAMPLE_COM = `07${ascii('example')} 03${ascii('com')} 00`;

describe('encodeQuery (keepalived dns_make_query)', () => {
  test('A example.com: header with RD, one question of class IN', () => {
    assert.deepEqual(encodeQuery({ id: 0x1234, name: 'example.com', type: DNS_TYPES.A }), hex(`
      1234 0100 0001 0000 0000 0000
      ${EXAMPLE_COM} 0001 0001`));
  });
  test('a trailing dot changes nothing', () => {
    assert.deepEqual(encodeQuery({ id: 1, name: 'example.com.', type: 1 }), encodeQuery({ id: 1, name: 'example.com', type: 1 }));
  });
  test("SOA of the root '.' (keepalived's default query)", () => {
    assert.deepEqual(encodeQuery({ id: 0xbeef, name: '.', type: DNS_TYPES.SOA }), hex('beef 0100 0001 0000 0000 0000 00 0006 0001'));
  });
  test('escapes: \\. and \\DDD are label bytes', () => {
    assert.deepEqual(encodeName('a\\.b\\032c.d'), hex(`05 ${ascii('a.b c')} 01 ${ascii('d')} 00`));
  });
  test('names and values we must not send throw RangeError', () => {
    assert.throws(() => encodeName('a..b'), RangeError);
    assert.throws(() => encodeName('.a'), RangeError);
    assert.throws(() => encodeName(`${'x'.repeat(64)}.com`), RangeError);
    assert.throws(() => encodeName(Array.from({ length: 4 }, () => 'y'.repeat(63)).join('.')), RangeError); // 257 octets
    assert.doesNotThrow(() => encodeName([...Array.from({ length: 3 }, () => 'y'.repeat(63)), 'z'.repeat(61)].join('.'))); // 255
    assert.throws(() => encodeName('a\\'), RangeError);
    assert.throws(() => encodeName('a\\300'), RangeError);
    assert.throws(() => encodeQuery({ id: 0x10000, name: '.', type: 1 }), RangeError);
  });
});

describe('decodeMessage', () => {
  // a reply: QR RD RA NOERROR; the question; an A answer whose name points at the question's
  // (c0 0c), a CNAME answer "www" + pointer, its data a pointer too
  const reply = hex(`
    1234 8180 0001 0002 0000 0000
    ${EXAMPLE_COM} 0001 0001
    c00c 0001 0001 00000e10 0004 5db8d822
    03${ascii('www')} c00c 0005 0001 0000003c 0002 c00c`);

  test('header flags, the question and compressed names', () => {
    const r = decodeMessage(reply);
    assert.ok(r.ok, !r.ok ? r.error.message : '');
    const m = r.value;
    assert.deepEqual({ ...m.header }, {
      id: 0x1234, qr: true, opcode: 0, aa: false, tc: false, rd: true, ra: true, rcode: 0, qdcount: 1, ancount: 2, nscount: 0, arcount: 0,
    });
    assert.deepEqual(m.questions, [{ name: 'example.com', type: 1, class: 1 }]);
    assert.deepEqual(m.answers.map((a) => [a.name, a.type, a.class, a.ttl, Buffer.from(a.data).toString('hex')]), [
      ['example.com', 1, 1, 3600, '5db8d822'],
      ['www.example.com', 5, 1, 60, 'c00c'],
    ]);
  });

  test('rcode: NXDOMAIN is 3 in the low bits of the flags', () => {
    const r = decodeMessage(hex(`0001 8183 0001 0000 0000 0000 ${EXAMPLE_COM} 0001 0001`));
    assert.ok(r.ok);
    assert.deepEqual([r.value.header.rcode, rcodeName(r.value.header.rcode), rcodeName(12)], [3, 'NXDOMAIN', 'RCODE12']);
  });

  test('bytes after the last record are ignored', () => {
    assert.ok(decodeMessage(Uint8Array.from([...reply, 0, 0, 0])).ok);
  });

  const errors: [string, string, string][] = [
    ['TOO_SHORT', 'eleven bytes', '0001 8180 0000 0000 0000 00'],
    ['TRUNCATED', 'the question stops inside its name', `0001 8180 0001 0000 0000 0000 07${ascii('exam')}`],
    ['TRUNCATED', 'the question has no type and class', `0001 8180 0001 0000 0000 0000 ${EXAMPLE_COM} 0001`],
    ['TRUNCATED', 'rdlength runs past the end', `0001 8180 0000 0001 0000 0000 00 0001 0001 00000000 0004 0102`],
    ['TRUNCATED', 'a pointer cut in half', '0001 8180 0001 0000 0000 0000 c0'],
    ['BAD_POINTER', 'a pointer to itself', '0001 8180 0001 0000 0000 0000 c00c 0001 0001'],
    ['BAD_POINTER', 'a pointer forwards', '0001 8180 0001 0000 0000 0000 c00e 00 0001 0001'],
    ['BAD_LABEL_TYPE', 'label type 01 (extended labels)', '0001 8180 0001 0000 0000 0000 41 0001 0001'],
    ['NAME_TOO_LONG', 'four labels of 63: 257 octets', `0001 8180 0001 0000 0000 0000 ${`3f${'79'.repeat(63)}`.repeat(4)} 00 0001 0001`],
  ];
  for (const [code, what, bytes] of errors) {
    test(`${code}: ${what}`, () => {
      const r = decodeMessage(hex(bytes));
      assert.equal(r.ok, false);
      if (!r.ok) assert.equal(r.error.code, code);
    });
  }
});

describe('properties', () => {
  const label = fc.uint8Array({ minLength: 1, maxLength: 20 });
  // decoded text is what we compare: build names from label bytes through the decoder's own escaping
  const name = fc.array(label, { maxLength: 4 }).map((ls) => {
    const wire = Uint8Array.from([...ls.flatMap((l) => [l.length, ...l]), 0]);
    const r = decodeMessage(Uint8Array.from([0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, ...wire, 0, 1, 0, 1]));
    if (!r.ok) throw r.error;
    return (r.value.questions[0] as { name: string }).name;
  });
  const u16 = fc.integer({ min: 0, max: 0xffff });
  const record = fc.record({ name, type: u16, class: u16, ttl: fc.integer({ min: 0, max: 0xffffffff }), data: fc.uint8Array({ maxLength: 40 }) });
  const message = fc.record({
    id: u16, qr: fc.boolean(), opcode: fc.integer({ min: 0, max: 15 }), aa: fc.boolean(), tc: fc.boolean(), rd: fc.boolean(),
    ra: fc.boolean(), rcode: fc.integer({ min: 0, max: 15 }),
    questions: fc.array(fc.record({ name, type: u16, class: u16 }), { maxLength: 3 }),
    answers: fc.array(record, { maxLength: 3 }), authorities: fc.array(record, { maxLength: 2 }), additionals: fc.array(record, { maxLength: 2 }),
  }).map(({ questions, answers, authorities, additionals, ...h }): DnsMessage => ({
    header: { ...h, qdcount: questions.length, ancount: answers.length, nscount: authorities.length, arcount: additionals.length },
    questions, answers, authorities, additionals,
  }));
  const plain = (m: DnsMessage) => {
    const rr = (r: DnsRecord) => ({ ...r, data: Buffer.from(r.data).toString('hex') });
    return {
      header: { ...m.header }, questions: m.questions.map((q) => ({ ...q })),
      answers: m.answers.map(rr), authorities: m.authorities.map(rr), additionals: m.additionals.map(rr),
    };
  };

  test('decode(encode(m)) is m', () => {
    fc.assert(fc.property(message, (m) => {
      const r = decodeMessage(encodeMessage(m));
      assert.ok(r.ok, !r.ok ? r.error.message : '');
      assert.deepEqual(plain(r.value), plain(m));
    }), { numRuns: 300 });
  });

  test('hostile bytes: a value or a DnsDecodeError, never a throw', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (b) => {
      const r = decodeMessage(b);
      if (!r.ok) assert.equal(r.error.name, 'DnsDecodeError');
    }), { numRuns: 2000 });
  });
});
