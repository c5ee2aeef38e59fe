// Netlink and generic netlink framing, pure: bytes in, typed values or a typed error out. Layouts
// (include/uapi/linux/netlink.h, genetlink.h), all integers in host byte order:
//   nlmsghdr  16 bytes: len u32, type u16, flags u16, seq u32, pid u32
//   genlmsghdr 4 bytes: cmd u8, version u8, reserved u16
//   nlattr TLV: len u16 (header included, padding not), type u16 (top bits: NESTED, NET_BYTEORDER),
//               value, then zero padding to a multiple of 4
//   NLMSG_ERROR payload: error s32 (0 = ACK, else -errno), then the request's nlmsghdr
// Encoding throws RangeError on our own bad values (a bug); decoding never throws.
import { endianness } from 'node:os';

export const NLMSG_ERROR = 2;
export const NLMSG_DONE = 3;
export const NLM_F_REQUEST = 0x1;
export const NLM_F_MULTI = 0x2;
export const NLM_F_ACK = 0x4;
export const NLM_F_DUMP = 0x300;

export const GENL_ID_CTRL = 0x10;
export const CTRL_CMD_NEWFAMILY = 1;
export const CTRL_CMD_GETFAMILY = 3;
export const CTRL_ATTR_FAMILY_ID = 1;
export const CTRL_ATTR_FAMILY_NAME = 2;
const CTRL_VERSION = 1;

const NLMSG_HDRLEN = 16;
const GENL_HDRLEN = 4;
const NLA_HDRLEN = 4;
const NLA_TYPE_MASK = 0x3fff;
const LE = endianness() === 'LE';

const align4 = (n: number) => (n + 3) & ~3;

// ---------------------------------------------------------------------------------------------
// Attributes

export function attr(type: number, value: Uint8Array): Uint8Array {
  const len = NLA_HDRLEN + value.length;
  if (len > 0xffff) throw new RangeError(`attribute ${type} is ${value.length} bytes`);
  const out = new Uint8Array(align4(len));
  const v = new DataView(out.buffer);
  v.setUint16(0, len, LE);
  v.setUint16(2, type, LE);
  out.set(value, NLA_HDRLEN);
  return out;
}

export function nested(type: number, ...attrs: Uint8Array[]): Uint8Array {
  return attr(type, concat(attrs));
}

export function u16(type: number, value: number): Uint8Array {
  const b = new Uint8Array(2);
  new DataView(b.buffer).setUint16(0, value, LE);
  return attr(type, b);
}

export function u32(type: number, value: number): Uint8Array {
  return attr(type, hostU32s(value));
}

/** 32-bit values in host byte order, back to back (a C struct of u32s). */
export function hostU32s(...values: number[]): Uint8Array {
  const b = new Uint8Array(4 * values.length);
  const v = new DataView(b.buffer);
  values.forEach((x, i) => v.setUint32(4 * i, x >>> 0, LE));
  return b;
}

/** A 16-bit value in network byte order (IPVS ports). */
export function be16(type: number, value: number): Uint8Array {
  return attr(type, Uint8Array.of(value >> 8, value & 0xff));
}

/** A NUL-terminated string. */
export function str(type: number, value: string): Uint8Array {
  return attr(type, concat([new TextEncoder().encode(value), Uint8Array.of(0)]));
}

export function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Attributes by type (the last one wins, as the kernel's nla_parse), or undefined if malformed. */
export function parseAttrs(buf: Uint8Array): Map<number, Uint8Array> | undefined {
  const out = new Map<number, Uint8Array>();
  const v = view(buf);
  let at = 0;
  while (at + NLA_HDRLEN <= buf.length) {
    const len = v.getUint16(at, LE);
    const type = v.getUint16(at + 2, LE) & NLA_TYPE_MASK;
    if (len < NLA_HDRLEN || at + len > buf.length) return undefined;
    out.set(type, buf.subarray(at + NLA_HDRLEN, at + len));
    at += align4(len);
  }
  return out;
}

export const readU16 = (b: Uint8Array | undefined): number | undefined => (b && b.length >= 2 ? view(b).getUint16(0, LE) : undefined);
export const readU32 = (b: Uint8Array | undefined): number | undefined => (b && b.length >= 4 ? view(b).getUint32(0, LE) : undefined);
export const readBe16 = (b: Uint8Array | undefined): number | undefined => (b && b.length >= 2 ? ((b[0] as number) << 8) | (b[1] as number) : undefined);
/** A NUL-terminated (or unterminated) string. */
export function readStr(b: Uint8Array | undefined): string | undefined {
  if (!b) return undefined;
  const nul = b.indexOf(0);
  return new TextDecoder().decode(nul < 0 ? b : b.subarray(0, nul));
}

const view = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength);

// ---------------------------------------------------------------------------------------------
// Messages

export interface GenlRequest {
  readonly family: number;
  readonly cmd: number;
  readonly version: number;
  readonly flags: number;
  readonly seq: number;
  readonly attrs: readonly Uint8Array[];
}

/** nlmsghdr + genlmsghdr + attributes; pid 0 (the kernel fills in our port). */
export function encodeRequest(r: GenlRequest): Uint8Array {
  const body = concat(r.attrs);
  const out = new Uint8Array(NLMSG_HDRLEN + GENL_HDRLEN + body.length);
  const v = new DataView(out.buffer);
  v.setUint32(0, out.length, LE);
  v.setUint16(4, r.family, LE);
  v.setUint16(6, r.flags, LE);
  v.setUint32(8, r.seq >>> 0, LE);
  v.setUint32(12, 0, LE);
  out[16] = r.cmd;
  out[17] = r.version;
  out.set(body, NLMSG_HDRLEN + GENL_HDRLEN);
  return out;
}

export interface NlMessage {
  readonly type: number;
  readonly flags: number;
  readonly seq: number;
  readonly pid: number;
  /** after the nlmsghdr */
  readonly payload: Uint8Array;
  /** the whole message, header included */
  readonly bytes: Uint8Array;
}

export type GenlDecodeErrorCode = 'TRUNCATED' | 'BAD_LENGTH' | 'BAD_ATTRIBUTES' | 'MISSING_ATTRIBUTE' | 'BAD_VALUE';

export class GenlDecodeError extends Error {
  override readonly name = 'GenlDecodeError';
  constructor(readonly code: GenlDecodeErrorCode, message: string) {
    super(message);
  }
}

export type Decoded<T> = { ok: true; value: T } | { ok: false; error: GenlDecodeError };
export const fail = (code: GenlDecodeErrorCode, message: string): { ok: false; error: GenlDecodeError } => ({
  ok: false,
  error: new GenlDecodeError(code, message),
});

/** The netlink messages of one datagram. */
export function splitMessages(buf: Uint8Array): Decoded<NlMessage[]> {
  const out: NlMessage[] = [];
  const v = view(buf);
  let at = 0;
  while (at < buf.length) {
    if (at + NLMSG_HDRLEN > buf.length) return fail('TRUNCATED', `${buf.length - at} bytes left, less than a netlink header`);
    const len = v.getUint32(at, LE);
    if (len < NLMSG_HDRLEN || at + len > buf.length) return fail('BAD_LENGTH', `netlink message length ${len} at offset ${at} of ${buf.length}`);
    out.push({
      type: v.getUint16(at + 4, LE),
      flags: v.getUint16(at + 6, LE),
      seq: v.getUint32(at + 8, LE),
      pid: v.getUint32(at + 12, LE),
      payload: buf.subarray(at + NLMSG_HDRLEN, at + len),
      bytes: buf.subarray(at, at + len),
    });
    at += align4(len);
  }
  return { ok: true, value: out };
}

/** NLMSG_ERROR: 0 for an ACK, else a negative errno. */
export function decodeError(m: NlMessage): Decoded<number> {
  if (m.payload.length < 4) return fail('TRUNCATED', `NLMSG_ERROR of ${m.payload.length} bytes`);
  return { ok: true, value: view(m.payload).getInt32(0, LE) };
}

export interface GenlMessage {
  readonly cmd: number;
  readonly version: number;
  readonly attrs: Map<number, Uint8Array>;
}

/** A generic netlink message's header and top-level attributes. */
export function decodeGenl(m: NlMessage): Decoded<GenlMessage> {
  if (m.payload.length < GENL_HDRLEN) return fail('TRUNCATED', `generic netlink message of ${m.payload.length} bytes`);
  const attrs = parseAttrs(m.payload.subarray(GENL_HDRLEN));
  if (!attrs) return fail('BAD_ATTRIBUTES', `malformed attributes in command ${m.payload[0]}`);
  return { ok: true, value: { cmd: m.payload[0] as number, version: m.payload[1] as number, attrs } };
}

// ---------------------------------------------------------------------------------------------
// The controller: family name → id

export function encodeGetFamily(name: string, seq: number): Uint8Array {
  return encodeRequest({
    family: GENL_ID_CTRL,
    cmd: CTRL_CMD_GETFAMILY,
    version: CTRL_VERSION,
    flags: NLM_F_REQUEST | NLM_F_ACK,
    seq,
    attrs: [str(CTRL_ATTR_FAMILY_NAME, name)],
  });
}

/** The family id in a CTRL_CMD_NEWFAMILY reply. */
export function decodeFamilyId(m: NlMessage): Decoded<number> {
  const g = decodeGenl(m);
  if (!g.ok) return g;
  const id = readU16(g.value.attrs.get(CTRL_ATTR_FAMILY_ID));
  return id === undefined ? fail('MISSING_ATTRIBUTE', 'CTRL_ATTR_FAMILY_ID missing from the family reply') : { ok: true, value: id };
}
