// UDP_CHECK (keepalived/check/check_udp.c, core/layer4.c udp_bind_connect/udp_socket_state): send
// `payload` (keepalived's filler text when none) on a connected socket, then wait the timeout:
// - an ICMP destination unreachable (ECONNREFUSED, EHOSTUNREACH ...) fails the check;
// - no reply: success, unless `require_reply` is set;
// - a reply: success, unless `require_reply` has bytes: then the reply's length must lie within
//   min_reply_length..max_reply_length and its first min(length, reply length) bytes must equal
//   them, an X nibble matching anything (check_udp_reply).
import type { UdpChecker } from '../config/model.js';
import { connectUdp, destination, errorDetail, requirePort } from './net.js';
import { scoped, toResult, type Verdict } from './scope.js';
import type { ProbeOptions, ProbeResult, ProbeTarget } from './types.js';

/** keepalived's set_buf: UDP_BUFSIZE (32) bytes of "keepalived check - " repeated. */
export function fillerPayload(size = 32): Buffer {
  return Buffer.from('keepalived check - '.repeat(Math.ceil(size / 19)).slice(0, size), 'latin1');
}

/** Hex with X/x wildcard nibbles → the bytes (wildcards as 0) and the mask of wildcard bits. */
export function parseReplyPattern(hex: string): { data: Buffer; mask: Buffer } {
  const data = Buffer.alloc(hex.length >> 1);
  const mask = Buffer.alloc(hex.length >> 1);
  for (let b = 0; b < data.length; b++) {
    let d = 0;
    let m = 0;
    for (const c of hex.slice(2 * b, 2 * b + 2)) {
      d <<= 4;
      m <<= 4;
      if (c === 'x' || c === 'X') m |= 0xf;
      else d |= parseInt(c, 16);
    }
    data[b] = d;
    mask[b] = m;
  }
  return { data, mask };
}

/** Why a reply fails `require_reply HEX`, or undefined (check_udp_reply). */
export function judgeReply(reply: Uint8Array, checker: Pick<UdpChecker, 'requireReply' | 'minReplyLength' | 'maxReplyLength'>): string | undefined {
  if (!checker.requireReply) return undefined;
  if (reply.length < checker.minReplyLength || reply.length > checker.maxReplyLength) {
    return `reply of ${reply.length} bytes, not within ${checker.minReplyLength}..${checker.maxReplyLength}`;
  }
  const { data, mask } = parseReplyPattern(checker.requireReply);
  const n = Math.min(reply.length, data.length);
  for (let i = 0; i < n; i++) {
    if (((reply[i] as number) ^ (data[i] as number)) & ~(mask[i] as number) & 0xff) return `reply differs from require_reply at byte ${i}`;
  }
  return undefined;
}

export async function probeUdp(checker: UdpChecker, target: ProbeTarget, opts: ProbeOptions): Promise<ProbeResult> {
  return toResult(await scoped<Verdict>(opts, (s) => {
    const dst = destination(checker, target);
    if (!requirePort(s, dst)) return;
    const payload = checker.payload ? Buffer.from(checker.payload, 'hex') : fillerPayload();
    const required = checker.requireReply !== undefined;
    connectUdp(s, dst, checker, (reply) => {
      const why = judgeReply(reply, checker);
      if (why) s.fail(why);
      else s.succeed({ detail: `reply of ${reply.length} bytes` });
    }, (sock) => {
      sock.send(payload, (err) => { if (err) s.fail(errorDetail(err)); });
      // no timeout failure without require_reply: silence is success
      const t = setTimeout(() => (required
        ? s.fail(`timeout after ${opts.timeoutMs} ms waiting for a reply`)
        : s.succeed({ detail: `no reply and no ICMP error within ${opts.timeoutMs} ms` })), opts.timeoutMs);
      s.defer(() => clearTimeout(t));
    });
  }));
}
