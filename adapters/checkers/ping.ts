// PING_CHECK (keepalived/check/check_ping.c): one ICMP (ICMPv6) echo request with keepalived's
// 128-byte filler; success on the echo reply with our identifier and sequence number from the
// target within the timeout. An ICMP error quoting our request (destination unreachable, time
// exceeded) fails the check at once, as the error keepalived's socket gets.
//
// keepalived opens an ICMP datagram ("ping") socket per checker. vigil shares one raw ICMP socket
// per family (the raw-socket package, so root or CAP_NET_RAW) among all PING_CHECKs: one
// identifier per process, a sequence number per request in flight, replies matched on the three
// and on the source. A raw IPv4 socket reads the IP header too; on IPv6 the kernel fills in the
// checksum. A socket opens with the first ping and closes IDLE_MS after the last reply, so an idle
// prober holds no raw socket and no event-loop reference.
// Not honoured: bindto and bind_if (raw-socket cannot bind a socket).
import { randomInt } from 'node:crypto';
import { createRequire } from 'node:module';
import type { CheckerCommon, Family } from '../config/model.js';
import { canonicalIp, destination } from './net.js';
import { scoped, toResult, type Verdict } from './scope.js';
import type { ProbeOptions, ProbeResult, ProbeTarget } from './types.js';

const IDLE_MS = 2000;
/** keepalived's ICMP_BUFSIZE of set_buf filler after the 8-byte header */
const PAYLOAD = Buffer.from('keepalived check - '.repeat(7).slice(0, 128), 'latin1');

const ECHO_REQUEST = { 4: 8, 6: 128 } as const;
const ECHO_REPLY = { 4: 0, 6: 129 } as const;
/** error types that quote the offending packet: v4 destination unreachable, time exceeded; v6 the same */
const ERRORS: Record<Family, Record<number, string>> = {
  4: { 3: 'destination unreachable', 11: 'time exceeded' },
  6: { 1: 'destination unreachable', 3: 'time exceeded' },
};

// raw-socket, typed to what we use, loaded on first ping so that importing this module never fails
// on a host without the native addon.
interface RawSocket {
  send(buf: Buffer, offset: number, length: number, address: string, after: (err: Error | null, bytes: number) => void): void;
  close(): void;
  on(event: 'message', fn: (buf: Buffer, source: string) => void): void;
  on(event: 'error', fn: (err: Error) => void): void;
}
interface RawModule {
  createSocket(o: { addressFamily: number; protocol: number }): RawSocket;
  AddressFamily: { IPv4: number; IPv6: number };
  Protocol: { ICMP: number; ICMPv6: number };
}
let rawModule: RawModule | undefined;
const raw = (): RawModule => (rawModule ??= createRequire(import.meta.url)('raw-socket') as RawModule);

/** The Internet checksum (RFC 1071). */
export function inetChecksum(buf: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i + 1 < buf.length; i += 2) sum += ((buf[i] as number) << 8) | (buf[i + 1] as number);
  if (buf.length & 1) sum += (buf[buf.length - 1] as number) << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/** An echo request; the IPv4 checksum is ours, the IPv6 one the kernel's. */
export function echoRequest(family: Family, ident: number, seq: number): Buffer {
  const pkt = Buffer.alloc(8 + PAYLOAD.length);
  pkt[0] = ECHO_REQUEST[family];
  pkt.writeUInt16BE(ident, 4);
  pkt.writeUInt16BE(seq, 6);
  PAYLOAD.copy(pkt, 8);
  if (family === 4) pkt.writeUInt16BE(inetChecksum(pkt), 2);
  return pkt;
}

type Received =
  | { kind: 'reply'; ident: number; seq: number }
  | { kind: 'error'; what: string; code: number; ident: number; seq: number; to: string };

/** An ICMP message as read from the raw socket (IPv4: with its IP header), or null if not ours to look at. */
export function parseIcmp(family: Family, buf: Buffer): Received | null {
  const icmp = family === 4 ? buf.subarray(((buf[0] ?? 0) & 0xf) * 4) : buf;
  if (icmp.length < 8) return null;
  const type = icmp[0] as number;
  if (type === ECHO_REPLY[family]) return { kind: 'reply', ident: icmp.readUInt16BE(4), seq: icmp.readUInt16BE(6) };
  const what = ERRORS[family][type];
  if (!what) return null;
  // the quoted packet: its IP header (where it was going), then the first 8 bytes of our request
  const quoted = icmp.subarray(8);
  const ipLen = family === 4 ? ((quoted[0] ?? 0) & 0xf) * 4 : 40;
  const req = quoted.subarray(ipLen);
  if (quoted.length < (family === 4 ? 20 : 40) || req.length < 8 || req[0] !== ECHO_REQUEST[family]) return null;
  const to = family === 4
    ? [...quoted.subarray(16, 20)].join('.')
    : canonicalIp((quoted.subarray(24, 40).toString('hex').match(/..../g) as string[]).join(':'));
  return { kind: 'error', what, code: icmp[1] as number, ident: req.readUInt16BE(4), seq: req.readUInt16BE(6), to };
}

interface Pending {
  readonly address: string;
  readonly onReply: () => void;
  readonly onError: (detail: string) => void;
}

interface Entry {
  readonly sock: RawSocket;
  readonly pending: Map<number, Pending>;
  seq: number;
  idle?: NodeJS.Timeout;
}

export class IcmpSockets {
  private readonly entries = new Map<Family, Entry>();
  private readonly ident = randomInt(0x10000);

  /** Send one echo request; `onReply` / `onError` at most once. Returns the release of its sequence number. */
  ping(address: string, family: Family, onReply: () => void, onError: (detail: string) => void): () => void {
    let entry: Entry;
    try {
      entry = this.open(family);
    } catch (err) {
      onError(`cannot open an ICMP socket: ${(err as Error).message}`);
      return () => {};
    }
    const { pending } = entry;
    if (pending.size >= 0x10000) { onError('65536 pings in flight'); return () => {}; }
    clearTimeout(entry.idle);
    let seq: number;
    do seq = entry.seq = (entry.seq + 1) & 0xffff; while (pending.has(seq));
    pending.set(seq, { address: canonicalIp(address), onReply, onError });
    const pkt = echoRequest(family, this.ident, seq);
    entry.sock.send(pkt, 0, pkt.length, address, (err) => { if (err) onError(`send: ${err.message}`); });
    return () => {
      if (!pending.delete(seq) || pending.size || this.entries.get(family) !== entry) return;
      entry.idle = setTimeout(() => this.drop(family, entry), IDLE_MS);
      entry.idle.unref();
    };
  }

  close(): void {
    for (const [family, entry] of [...this.entries]) this.drop(family, entry, 'prober closed');
  }

  private open(family: Family): Entry {
    const existing = this.entries.get(family);
    if (existing) return existing;
    const r = raw();
    const sock = r.createSocket(family === 6
      ? { addressFamily: r.AddressFamily.IPv6, protocol: r.Protocol.ICMPv6 }
      : { addressFamily: r.AddressFamily.IPv4, protocol: r.Protocol.ICMP });
    const entry: Entry = { sock, pending: new Map(), seq: randomInt(0x10000) };
    this.entries.set(family, entry);
    sock.on('message', (buf, source) => {
      const m = parseIcmp(family, buf);
      if (!m || m.ident !== this.ident) return;
      const p = entry.pending.get(m.seq);
      if (!p) return;
      if (m.kind === 'reply' && canonicalIp(source) === p.address) p.onReply();
      else if (m.kind === 'error' && canonicalIp(m.to) === p.address) p.onError(`ICMP ${m.what} (code ${m.code}) from ${source}`);
    });
    // raw-socket closes the socket after an error: fail what waits, open a new one next time
    sock.on('error', (err) => this.drop(family, entry, `ICMP socket: ${err.message}`));
    return entry;
  }

  private drop(family: Family, entry: Entry, why?: string): void {
    if (this.entries.get(family) === entry) this.entries.delete(family);
    clearTimeout(entry.idle);
    for (const p of [...entry.pending.values()]) p.onError(why ?? 'ICMP socket closed');
    entry.pending.clear();
    try { entry.sock.close(); } catch { /* closed already */ }
  }
}

export async function probePing(checker: CheckerCommon, target: ProbeTarget, opts: ProbeOptions, icmp: IcmpSockets): Promise<ProbeResult> {
  return toResult(await scoped<Verdict>(opts, (s) => {
    const dst = destination(checker, target);
    s.wait('waiting for the echo reply');
    s.defer(icmp.ping(dst.address, dst.family, () => s.succeed({ detail: 'echo reply' }), (detail) => s.fail(detail)));
  }));
}
