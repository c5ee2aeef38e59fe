// The journal's record framing: a pure codec (pg-protocol style: a record is handled only once all
// its bytes are in; "not enough bytes yet" is kept apart from "invalid", as libp2p's mplex decoder
// does). One record, all integers big-endian:
//
//   0       4       8               16
//   +-------+-------+---------------+----------------------------------------+
//   |  len  |  crc  |      seq      | payload: len bytes of UTF-8 JSON        |
//   +-------+-------+---------------+  {"id": "<ULID>", "event": <the event>} |
//                                   +----------------------------------------+
//
// crc = CRC-32C over seq and payload (bytes 8 .. 16+len), so a flipped bit anywhere but in `len` is
// caught by the checksum, and a damaged `len` makes it checksum the wrong bytes (or run past the end
// of the file, or over the limit). seq is a u64 on disk; JavaScript numbers hold 2^53 of them.
import { crc32c } from './crc.js';

export const HEADER_BYTES = 16;
/** Default limit on one record's payload (a bus event is a few hundred bytes). */
export const MAX_RECORD_BYTES = 1 << 20;
/** `{"id":""}` (an undefined event) is the shortest payload append() writes; less is damage. */
const MIN_PAYLOAD = 9;
const TWO32 = 2 ** 32;

/** Frame `payload` (already JSON) as record `seq`. `bytes` is Buffer.byteLength(payload). */
export function encodeRecord(seq: number, payload: string, bytes = Buffer.byteLength(payload)): Buffer {
  const buf = Buffer.allocUnsafe(HEADER_BYTES + bytes);
  buf.writeUInt32BE(bytes, 0);
  buf.writeUInt32BE(Math.floor(seq / TWO32), 8);
  buf.writeUInt32BE(seq >>> 0, 12);
  buf.write(payload, HEADER_BYTES, 'utf8');
  buf.writeUInt32BE(crc32c(buf, 8), 4);
  return buf;
}

export type FrameErrorCode = 'BAD_LENGTH' | 'BAD_CRC' | 'BAD_SEQ';

export type Frame =
  /** a whole, checksummed record: payload is `buf[start + 16, start + size)` */
  | { readonly kind: 'record'; readonly seq: number; readonly size: number }
  /** fewer bytes than the header or the record needs: wait for more (or, at end of file, a torn tail) */
  | { readonly kind: 'short'; readonly need: number }
  | { readonly kind: 'invalid'; readonly code: FrameErrorCode };

/** Decode the record starting at `buf[start]` (never throws). */
export function decodeFrame(buf: Uint8Array, start: number, maxPayload = MAX_RECORD_BYTES): Frame {
  const avail = buf.length - start;
  if (avail < HEADER_BYTES) return { kind: 'short', need: HEADER_BYTES };
  const v = new DataView(buf.buffer, buf.byteOffset + start, HEADER_BYTES);
  const len = v.getUint32(0);
  if (len < MIN_PAYLOAD || len > maxPayload) return { kind: 'invalid', code: 'BAD_LENGTH' };
  const size = HEADER_BYTES + len;
  if (avail < size) return { kind: 'short', need: size };
  const hi = v.getUint32(8);
  if (hi >= 0x200000) return { kind: 'invalid', code: 'BAD_SEQ' }; // beyond 2^53
  if (crc32c(buf, start + 8, start + size) !== v.getUint32(4)) return { kind: 'invalid', code: 'BAD_CRC' };
  const seq = hi * TWO32 + v.getUint32(12);
  if (seq === 0) return { kind: 'invalid', code: 'BAD_SEQ' };
  return { kind: 'record', seq, size };
}

/**
 * The `{id, event}` of a checksummed record, or null when the JSON is not one (never throws); with
 * `json`, the event's own JSON text as stored, when the payload has the shape append() writes
 * (`JSON.stringify({id, event})`: the id, then the event, nothing else). A reader that forwards the
 * event as JSON (the NATS export) sends that text instead of encoding the parsed value again.
 */
export function decodePayload(buf: Uint8Array, start: number, size: number): { id: string; event: unknown; json?: string } | null {
  try {
    const text = Buffer.from(buf.buffer, buf.byteOffset + start + HEADER_BYTES, size - HEADER_BYTES).toString('utf8');
    const v: unknown = JSON.parse(text);
    if (typeof v !== 'object' || v === null || typeof (v as { id?: unknown }).id !== 'string') return null;
    const id = (v as { id: string }).id;
    const event = (v as { event?: unknown }).event;
    const head = `{"id":${JSON.stringify(id)},"event":`;
    // a slice of `text` (V8 shares the characters): no copy, no second JSON.stringify downstream
    if (event !== undefined && text.startsWith(head) && text.endsWith('}') && Object.keys(v).length === 2) {
      return { id, event, json: text.slice(head.length, -1) };
    }
    return { id, event };
  } catch {
    return null;
  }
}
