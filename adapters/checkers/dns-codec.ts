// DNS messages (RFC 1035 §4.1) for DNS_CHECK: a query out, a reply in. Pure: bytes in, a value or
// a typed error out. Decoding never throws on hostile input; encoding throws RangeError on a name
// or value we should not have built. Names are dotted text with RFC 4343 escapes (`\.`, `\\`,
// `\DDD`) so that any label decodes to text that encodes back to the same bytes; the root is '.'.
// Decoded resource data is kept as bytes: DNS_CHECK looks at the header and counts only. Bytes
// after the last record are ignored, as resolvers do.

export const DNS_TYPES = { A: 1, NS: 2, CNAME: 5, SOA: 6, MX: 15, TXT: 16, AAAA: 28 } as const;
export type DnsTypeName = keyof typeof DNS_TYPES;
export const CLASS_IN = 1;

const RCODES = ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED', 'YXDOMAIN', 'YXRRSET', 'NXRRSET', 'NOTAUTH', 'NOTZONE'];
/** 'NXDOMAIN' for 3; the number for codes without a name */
export const rcodeName = (rcode: number): string => RCODES[rcode] ?? `RCODE${rcode}`;

export const HEADER_LENGTH = 12;
const MAX_NAME = 255; // wire octets, the root label included
const MAX_LABEL = 63;

export interface DnsHeader {
  readonly id: number;
  /** a response (QR = 1) */
  readonly qr: boolean;
  readonly opcode: number;
  readonly aa: boolean;
  readonly tc: boolean;
  readonly rd: boolean;
  readonly ra: boolean;
  readonly rcode: number;
  readonly qdcount: number;
  readonly ancount: number;
  readonly nscount: number;
  readonly arcount: number;
}

export interface DnsQuestion {
  readonly name: string;
  readonly type: number;
  readonly class: number;
}

export interface DnsRecord {
  readonly name: string;
  readonly type: number;
  readonly class: number;
  readonly ttl: number;
  readonly data: Uint8Array;
}

export interface DnsMessage {
  readonly header: DnsHeader;
  readonly questions: readonly DnsQuestion[];
  readonly answers: readonly DnsRecord[];
  readonly authorities: readonly DnsRecord[];
  readonly additionals: readonly DnsRecord[];
}

export type DnsDecodeErrorCode = 'TOO_SHORT' | 'TRUNCATED' | 'BAD_LABEL_TYPE' | 'BAD_POINTER' | 'NAME_TOO_LONG';

export class DnsDecodeError extends Error {
  override readonly name = 'DnsDecodeError';
  constructor(readonly code: DnsDecodeErrorCode, message: string) {
    super(message);
  }
}

export type Decoded<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: DnsDecodeError };

// ---------------------------------------------------------------------------------------------
// Encoding

/** Labels of a dotted name with RFC 4343 escapes; [] for the root. */
function labels(name: string): Uint8Array[] {
  if (name === '.' || name === '') return [];
  const out: Uint8Array[] = [];
  let cur: number[] = [];
  for (let i = 0; i < name.length; i++) {
    const c = name[i] as string;
    if (c === '.') {
      if (!cur.length) throw new RangeError(`DNS name '${name}' has an empty label`);
      out.push(Uint8Array.from(cur));
      cur = [];
    } else if (c === '\\') {
      const ddd = /^\d{3}/.exec(name.slice(i + 1));
      if (ddd) {
        const v = Number(ddd[0]);
        if (v > 255) throw new RangeError(`DNS name '${name}': escape \\${ddd[0]} is not a byte`);
        cur.push(v);
        i += 3;
      } else if (i + 1 < name.length) {
        cur.push(name.charCodeAt(++i));
      } else {
        throw new RangeError(`DNS name '${name}' ends with a lone backslash`);
      }
    } else {
      const code = c.charCodeAt(0);
      if (code > 255) throw new RangeError(`DNS name '${name}' has a character outside latin1`);
      cur.push(code);
    }
  }
  if (cur.length) out.push(Uint8Array.from(cur)); // no trailing dot
  for (const l of out) if (l.length > MAX_LABEL) throw new RangeError(`DNS name '${name}' has a label longer than ${MAX_LABEL}`);
  return out;
}

/** The wire form of a name, uncompressed. */
export function encodeName(name: string): Uint8Array {
  const ls = labels(name);
  const size = ls.reduce((n, l) => n + 1 + l.length, 1);
  if (size > MAX_NAME) throw new RangeError(`DNS name '${name}' is longer than ${MAX_NAME} octets`);
  const out = new Uint8Array(size);
  let o = 0;
  for (const l of ls) {
    out[o++] = l.length;
    out.set(l, o);
    o += l.length;
  }
  return out; // the last byte is the root label, 0
}

function u16(n: number, what: string): number {
  if (!Number.isInteger(n) || n < 0 || n > 0xffff) throw new RangeError(`${what} ${n} is not a 16-bit value`);
  return n;
}

function encodeHeader(h: DnsHeader, view: DataView): void {
  if (!Number.isInteger(h.opcode) || h.opcode < 0 || h.opcode > 15) throw new RangeError(`opcode ${h.opcode} is not 4 bits`);
  if (!Number.isInteger(h.rcode) || h.rcode < 0 || h.rcode > 15) throw new RangeError(`rcode ${h.rcode} is not 4 bits`);
  view.setUint16(0, u16(h.id, 'id'));
  view.setUint16(2, (Number(h.qr) << 15) | (h.opcode << 11) | (Number(h.aa) << 10) | (Number(h.tc) << 9)
    | (Number(h.rd) << 8) | (Number(h.ra) << 7) | h.rcode);
  view.setUint16(4, u16(h.qdcount, 'qdcount'));
  view.setUint16(6, u16(h.ancount, 'ancount'));
  view.setUint16(8, u16(h.nscount, 'nscount'));
  view.setUint16(10, u16(h.arcount, 'arcount'));
}

/**
 * A whole message, names uncompressed; the header's counts must match the sections. DNS_CHECK
 * sends `encodeQuery`; tests build replies with this.
 */
export function encodeMessage(m: DnsMessage): Uint8Array {
  const h = m.header;
  if (h.qdcount !== m.questions.length || h.ancount !== m.answers.length || h.nscount !== m.authorities.length || h.arcount !== m.additionals.length) {
    throw new RangeError('DNS header counts do not match the sections');
  }
  const parts: Uint8Array[] = [];
  const head = new Uint8Array(HEADER_LENGTH);
  encodeHeader(h, new DataView(head.buffer));
  parts.push(head);
  for (const q of m.questions) {
    parts.push(encodeName(q.name));
    const t = new Uint8Array(4);
    const v = new DataView(t.buffer);
    v.setUint16(0, u16(q.type, 'type'));
    v.setUint16(2, u16(q.class, 'class'));
    parts.push(t);
  }
  for (const r of [...m.answers, ...m.authorities, ...m.additionals]) {
    parts.push(encodeName(r.name));
    const t = new Uint8Array(10);
    const v = new DataView(t.buffer);
    v.setUint16(0, u16(r.type, 'type'));
    v.setUint16(2, u16(r.class, 'class'));
    if (!Number.isInteger(r.ttl) || r.ttl < 0 || r.ttl > 0xffffffff) throw new RangeError(`ttl ${r.ttl} is not 32 bits`);
    v.setUint32(4, r.ttl);
    v.setUint16(8, u16(r.data.length, 'rdlength'));
    parts.push(t, r.data);
  }
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}

/** keepalived's dns_make_query: one question of class IN, recursion desired. */
export function encodeQuery(q: { readonly id: number; readonly name: string; readonly type: number }): Uint8Array {
  return encodeMessage({
    header: { id: q.id, qr: false, opcode: 0, aa: false, tc: false, rd: true, ra: false, rcode: 0, qdcount: 1, ancount: 0, nscount: 0, arcount: 0 },
    questions: [{ name: q.name, type: q.type, class: CLASS_IN }],
    answers: [], authorities: [], additionals: [],
  });
}

// ---------------------------------------------------------------------------------------------
// Decoding

const fail = <T>(code: DnsDecodeErrorCode, message: string): Decoded<T> => ({ ok: false, error: new DnsDecodeError(code, message) });

export function decodeHeader(buf: Uint8Array): Decoded<DnsHeader> {
  if (buf.length < HEADER_LENGTH) return fail('TOO_SHORT', `${buf.length} bytes, a header is ${HEADER_LENGTH}`);
  const v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const flags = v.getUint16(2);
  return {
    ok: true,
    value: {
      id: v.getUint16(0),
      qr: (flags & 0x8000) !== 0,
      opcode: (flags >> 11) & 0xf,
      aa: (flags & 0x400) !== 0,
      tc: (flags & 0x200) !== 0,
      rd: (flags & 0x100) !== 0,
      ra: (flags & 0x80) !== 0,
      rcode: flags & 0xf,
      qdcount: v.getUint16(4),
      ancount: v.getUint16(6),
      nscount: v.getUint16(8),
      arcount: v.getUint16(10),
    },
  };
}

const PRINTABLE = /^[\x21-\x7e]$/;

function labelText(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) {
    const c = String.fromCharCode(b);
    s += c === '.' || c === '\\' ? `\\${c}` : PRINTABLE.test(c) ? c : `\\${String(b).padStart(3, '0')}`;
  }
  return s;
}

/** A possibly compressed name at `at`: its text and the offset after it (after the first pointer). */
function readName(buf: Uint8Array, at: number): Decoded<{ name: string; next: number }> {
  const parts: string[] = [];
  let o = at;
  let next: number | undefined;
  let wire = 1; // the root label
  // a pointer must go strictly backwards from the name it is in: no loops
  let floor = at;
  for (;;) {
    if (o >= buf.length) return fail('TRUNCATED', `name at ${at} runs past the end`);
    const len = buf[o] as number;
    const kind = len & 0xc0;
    if (kind === 0xc0) {
      if (o + 1 >= buf.length) return fail('TRUNCATED', `pointer at ${o} runs past the end`);
      const target = ((len & 0x3f) << 8) | (buf[o + 1] as number);
      if (target >= floor) return fail('BAD_POINTER', `pointer at ${o} to ${target} does not point backwards`);
      next ??= o + 2;
      floor = target;
      o = target;
      continue;
    }
    if (kind !== 0) return fail('BAD_LABEL_TYPE', `label type 0x${kind.toString(16)} at ${o}`);
    if (len === 0) break;
    if (o + 1 + len > buf.length) return fail('TRUNCATED', `label at ${o} runs past the end`);
    wire += 1 + len;
    if (wire > MAX_NAME) return fail('NAME_TOO_LONG', `name at ${at} is longer than ${MAX_NAME} octets`);
    parts.push(labelText(buf.subarray(o + 1, o + 1 + len)));
    o += 1 + len;
  }
  return { ok: true, value: { name: parts.length ? parts.join('.') : '.', next: next ?? o + 1 } };
}

export function decodeMessage(buf: Uint8Array): Decoded<DnsMessage> {
  const h = decodeHeader(buf);
  if (!h.ok) return h;
  const header = h.value;
  const v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let o = HEADER_LENGTH;
  const questions: DnsQuestion[] = [];
  for (let i = 0; i < header.qdcount; i++) {
    const n = readName(buf, o);
    if (!n.ok) return n;
    o = n.value.next;
    if (o + 4 > buf.length) return fail('TRUNCATED', `question ${i + 1} runs past the end`);
    questions.push({ name: n.value.name, type: v.getUint16(o), class: v.getUint16(o + 2) });
    o += 4;
  }
  const sections: DnsRecord[][] = [[], [], []];
  const counts = [header.ancount, header.nscount, header.arcount];
  for (const [s, count] of counts.entries()) {
    for (let i = 0; i < count; i++) {
      const n = readName(buf, o);
      if (!n.ok) return n;
      o = n.value.next;
      if (o + 10 > buf.length) return fail('TRUNCATED', `record at ${o} runs past the end`);
      const rdlength = v.getUint16(o + 8);
      if (o + 10 + rdlength > buf.length) return fail('TRUNCATED', `record data at ${o + 10} runs past the end`);
      (sections[s] as DnsRecord[]).push({
        name: n.value.name, type: v.getUint16(o), class: v.getUint16(o + 2), ttl: v.getUint32(o + 4),
        data: buf.slice(o + 10, o + 10 + rdlength),
      });
      o += 10 + rdlength;
    }
  }
  return { ok: true, value: { header, questions, answers: sections[0] as DnsRecord[], authorities: sections[1] as DnsRecord[], additionals: sections[2] as DnsRecord[] } };
}
