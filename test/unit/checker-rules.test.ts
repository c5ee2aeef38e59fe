// The pure parts of adapters/checkers: keepalived's rules and wire formats, on bytes and values
// written here by hand (the sockets are exercised in test/integration/checkers.test.ts).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { dumpBuffer } from '../../actors/cli/genhash.js';
import { fileCheckVerdict } from '../../adapters/checkers/file.js';
import { contentLength, judgeUrl, requestText, statusCode, type HttpResponse } from '../../adapters/checkers/http.js';
import { miscVerdict } from '../../adapters/checkers/misc.js';
import { echoRequest, inetChecksum, parseIcmp } from '../../adapters/checkers/ping.js';
import { fillerPayload, judgeReply, parseReplyPattern } from '../../adapters/checkers/udp.js';
import type { UrlSpec } from '../../adapters/config/model.js';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const loc = { file: 't', line: 1, col: 1 };

describe('HTTP', () => {
  test("the request is keepalived's template", () => {
    assert.equal(requestText({ address: '10.0.0.1', port: 8080, family: 4, path: '/x' }),
      'GET /x HTTP/1.0\r\nUser-Agent: KeepAliveClient\r\nHost: 10.0.0.1:8080\r\n\r\n');
    assert.equal(requestText({ address: 'fd00::1', port: 80, family: 6, path: '/', protocol: '1.1' }),
      'GET / HTTP/1.1\r\nUser-Agent: KeepAliveClient\r\nConnection: close\r\nHost: [fd00::1]:80\r\n\r\n');
    assert.equal(requestText({ address: 'fd00::1', port: 80, family: 6, path: '/', protocol: '1.0C', virtualhost: 'www.example.test' }),
      'GET / HTTP/1.0\r\nUser-Agent: KeepAliveClient\r\nConnection: close\r\nHost: www.example.test\r\n\r\n');
  });

  test('status line and Content-Length', () => {
    const h = (s: string) => Buffer.from(s, 'latin1');
    assert.equal(statusCode(h('HTTP/1.1 503 Busy\r\n\r\n')), 503);
    assert.equal(statusCode(h('HTTP/1.1 200\r\n\r\n')), 200);
    assert.equal(statusCode(h('HTTP/1.1 20 OK\r\n\r\n')), 0);
    assert.equal(statusCode(h('garbage\r\n\r\n')), 0);
    assert.equal(contentLength(h('HTTP/1.0 200 OK\r\ncontent-LENGTH: 12\r\n\r\n')), 12);
    assert.equal(contentLength(h('HTTP/1.0 200 OK\r\nContent-Length: 12x\r\n\r\n')), undefined);
    assert.equal(contentLength(h('HTTP/1.0 200 OK\r\nX-Content-Length: 12\r\n\r\n')), undefined);
  });

  test('judgeUrl: status (default 200-299), then digest, then regex', () => {
    const res = (status: number, body = ''): HttpResponse =>
      ({ status, header: Buffer.alloc(0), md5: 'a'.repeat(32), bodyBytes: body.length, body: Buffer.from(body) });
    const url = (o: Partial<UrlSpec>): UrlSpec => ({ loc, statusCodes: [], regexNoMatch: false, ...o });
    assert.equal(judgeUrl(url({}), res(299)), undefined);
    assert.equal(judgeUrl(url({}), res(300)), 'status 300 not in 200-299');
    assert.equal(judgeUrl(url({ statusCodes: [{ from: 301, to: 302 }, { from: 404, to: 404 }] }), res(200)), 'status 200 not in 301-302,404');
    assert.equal(judgeUrl(url({ digest: 'B'.repeat(32) }), res(200)), `digest mismatch: ${'a'.repeat(32)}, expected ${'b'.repeat(32)}`);
    assert.equal(judgeUrl(url({ digest: 'A'.repeat(32), regex: 'up' }), res(200, 'all up')), undefined);
    assert.equal(judgeUrl(url({ regex: '^up$', regexOptions: ['multiline'] }), res(200, 'x\nup\ny')), undefined);
    assert.match(judgeUrl(url({ regex: '(' }), res(200)) ?? '', /^invalid regex: /);
  });

  test('judgeUrl: regex_min_offset / regex_max_offset bound where the match starts (bytes, both inclusive)', () => {
    const res = (body: string): HttpResponse => ({ status: 200, header: Buffer.alloc(0), md5: 'a'.repeat(32), bodyBytes: Buffer.byteLength(body), body: Buffer.from(body) });
    const url = (o: Partial<UrlSpec>): UrlSpec => ({ loc, statusCodes: [], regexNoMatch: false, regex: 'ok', ...o });
    const body = 'ok....ok..'; // matches at 0 and 6
    assert.equal(judgeUrl(url({ regexMinOffset: 1 }), res(body)), undefined, 'the one at 6');
    assert.equal(judgeUrl(url({ regexMinOffset: 7 }), res(body)), 'regex /ok/ did not match');
    assert.equal(judgeUrl(url({ regexMinOffset: 1, regexMaxOffset: 6 }), res(body)), undefined, 'max inclusive');
    assert.equal(judgeUrl(url({ regexMinOffset: 1, regexMaxOffset: 5 }), res(body)), 'regex /ok/ did not match');
    assert.equal(judgeUrl(url({ regexMaxOffset: 0 }), res(body)), undefined);
    assert.equal(judgeUrl(url({ regexMaxOffset: 0 }), res('.ok')), 'regex /ok/ did not match');
    // a lookbehind may look before the minimum, as PCRE2's does
    assert.equal(judgeUrl(url({ regex: '(?<=x)ok', regexMinOffset: 1 }), res('xok')), undefined);
    // regex_no_match with offsets: a match outside them is no match
    assert.equal(judgeUrl(url({ regexNoMatch: true, regexMinOffset: 7 }), res(body)), undefined);
    // UTF-8 (utf option): offsets are bytes, 'é' is two
    assert.equal(judgeUrl(url({ regexOptions: ['utf'], regexMinOffset: 3, regexMaxOffset: 3 }), res('éxok')), undefined);
    assert.equal(judgeUrl(url({ regexOptions: ['utf'], regexMinOffset: 4 }), res('éxok')), 'regex /ok/ did not match');
  });
});

describe('UDP_CHECK', () => {
  test("keepalived's filler payload", () => {
    assert.equal(fillerPayload().toString('latin1'), 'keepalived check - keepalived ch');
  });
  test('require_reply: X nibbles are wildcards', () => {
    assert.deepEqual(parseReplyPattern('aBx1Xx'), { data: hex('ab 01 00'), mask: hex('00 f0 ff') });
  });
  test('check_udp_reply: length bounds, then the common prefix', () => {
    const c = { requireReply: 'ab01', minReplyLength: 1, maxReplyLength: 4 };
    assert.equal(judgeReply(hex('ab'), c), undefined); // only min(len, pattern) bytes compared
    assert.equal(judgeReply(hex('ab01ffff'), c), undefined);
    assert.equal(judgeReply(hex('ab02'), c), 'reply differs from require_reply at byte 1');
    assert.equal(judgeReply(hex(''), c), 'reply of 0 bytes, not within 1..4');
    assert.equal(judgeReply(hex('ab01ffffff'), c), 'reply of 5 bytes, not within 1..4');
    assert.equal(judgeReply(hex('ffffffffffffff'), { ...c, requireReply: '' }), undefined); // require_reply without bytes
  });
});

describe('PING_CHECK', () => {
  test('the Internet checksum of RFC 1071 §3', () => {
    assert.equal(inetChecksum(hex('0001 f203 f4f5 f6f7')), ~0xddf2 & 0xffff);
    assert.equal(inetChecksum(hex('01')), ~0x0100 & 0xffff);
  });
  test('echo request: type, identifier, sequence, 128 bytes of filler, a checksum that verifies (v4)', () => {
    const p = echoRequest(4, 0x1234, 7);
    assert.deepEqual([p[0], p[1], p.readUInt16BE(4), p.readUInt16BE(6), p.length], [8, 0, 0x1234, 7, 136]);
    assert.equal(inetChecksum(p), 0);
    assert.equal(p.subarray(8, 27).toString('latin1'), 'keepalived check - ');
    assert.deepEqual([echoRequest(6, 1, 1)[0], echoRequest(6, 1, 1).readUInt16BE(2)], [128, 0]); // the kernel's checksum
  });
  test('replies and quoted errors are parsed; anything else is ignored', () => {
    const ip4 = (proto: string, dst: string) => hex(`45000000 00000000 4001${proto} 7f000001 ${dst}`);
    assert.deepEqual(parseIcmp(4, Buffer.concat([ip4('0000', '7f000001'), hex('0000 0000 1234 0007')])), { kind: 'reply', ident: 0x1234, seq: 7 });
    assert.equal(parseIcmp(4, Buffer.concat([ip4('0000', '7f000001'), hex('0800 0000 1234 0007')])), null); // our own request
    const unreachable = Buffer.concat([ip4('0000', '7f000001'), hex('0301 0000 00000000'), ip4('0000', '0a000009'), hex('0800 0000 1234 0008')]);
    assert.deepEqual(parseIcmp(4, unreachable), { kind: 'error', what: 'destination unreachable', code: 1, ident: 0x1234, seq: 8, to: '10.0.0.9' });
    assert.deepEqual(parseIcmp(6, hex('8100 0000 1234 0009')), { kind: 'reply', ident: 0x1234, seq: 9 });
    const ip6 = hex(`60000000 00003a40 ${'00'.repeat(16)} fd000000000000000000000000000001`);
    assert.deepEqual(parseIcmp(6, Buffer.concat([hex('0104 0000 00000000'), ip6, hex('8000 0000 1234 000a')])),
      { kind: 'error', what: 'destination unreachable', code: 4, ident: 0x1234, seq: 10, to: 'fd00::1' });
    assert.equal(parseIcmp(6, hex('0104 0000')), null);
  });
});

describe('MISC_CHECK and FILE_CHECK weights', () => {
  test("misc_dynamic: keepalived's exit status rule", () => {
    assert.deepEqual(miscVerdict(0, false), { ok: true });
    assert.deepEqual(miscVerdict(0, true), { ok: true, weight: { mode: 'add', value: 0 } });
    assert.deepEqual(miscVerdict(1, true), { ok: false });
    assert.deepEqual(miscVerdict(2, true), { ok: true, weight: { mode: 'set', value: 0 } });
    assert.deepEqual(miscVerdict(255, true), { ok: true, weight: { mode: 'set', value: 253 } });
    assert.deepEqual(miscVerdict(3, false), { ok: false });
  });
  test('FILE_CHECK: weight 0 is up/down on zero, else value × weight, INT32_MIN is down', () => {
    assert.deepEqual(fileCheckVerdict(0, 0, false), { ok: true, weight: { mode: 'add', value: 0 } });
    assert.deepEqual(fileCheckVerdict(1, 0, false), { ok: false });
    assert.deepEqual(fileCheckVerdict(0, 0, true), { ok: false });
    assert.deepEqual(fileCheckVerdict(-4, 5, false), { ok: true, weight: { mode: 'add', value: -20 } });
    assert.deepEqual(fileCheckVerdict(2 ** 30, 4, false), { ok: true, weight: { mode: 'add', value: 2 ** 31 - 1 } }); // clamped
    assert.deepEqual(fileCheckVerdict(2 ** 30, 4, true), { ok: false }); // clamped to INT32_MIN
  });
});

test("genhash -v dumps bytes as keepalived's dump_buffer", () => {
  assert.equal(dumpBuffer(Buffer.from('HTTP/1.1 200 OK\r\nab', 'latin1')),
    '0000  48 54 54 50 2f 31 2e 31 - 20 32 30 30 20 4f 4b 0d   HTTP/1.1 200 OK.\n'
    + '0016  0a 61 62                -                           .ab             \n');
});
