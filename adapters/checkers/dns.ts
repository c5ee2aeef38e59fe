// DNS_CHECK (keepalived/check/check_dns.c): one query for `name` of `type`, class IN, recursion
// desired, over UDP. keepalived's rule, kept: a reply that is too short, has another id or is not a
// response (QR = 0) is ignored and the wait goes on; the first reply with our id decides: success
// when its rcode is NOERROR. The answer count is not looked at, so NOERROR with no answer (NODATA)
// passes, as in keepalived. Difference: a NOERROR reply whose body does not decode fails
// ('malformed reply'); keepalived reads the header only.
//
// Sockets: DNS_CHECKs share one unconnected UDP socket per family; each query gets an id no other
// query in flight on that socket has, and a reply counts only if it comes from the address and
// port the query went to. The cost: an ICMP port unreachable is not delivered to an unconnected
// socket, so a closed DNS port fails at the timeout, where keepalived (a connected socket per
// check) fails at once. A checker with bindto or bind_port gets a connected socket of its own.
// The shared sockets hold the event loop only while queries are in flight.
import { randomInt } from 'node:crypto';
import * as dgram from 'node:dgram';
import type { DnsChecker, Family } from '../config/model.js';
import { decodeHeader, decodeMessage, DNS_TYPES, encodeQuery, rcodeName, type DnsTypeName } from './dns-codec.js';
import { canonicalIp, connectUdp, destination, errorDetail, requirePort, type Destination } from './net.js';
import { scoped, toResult, type Scope, type Verdict } from './scope.js';
import type { ProbeOptions, ProbeResult, ProbeTarget } from './types.js';

interface Pending {
  readonly address: string;
  readonly port: number;
  readonly onReply: (msg: Buffer) => void;
  readonly onError: (detail: string) => void;
}

/** One shared socket per family; queries matched by id and source. */
export class DnsSockets {
  private readonly sockets = new Map<Family, { sock: dgram.Socket; pending: Map<number, Pending> }>();

  /** Send `build(id)` to `dst` with an id free on the socket; returns the release of that id. */
  query(dst: Destination & { port: number }, build: (id: number) => Uint8Array, p: Omit<Pending, 'address' | 'port'>): () => void {
    const entry = this.open(dst.family);
    const { sock, pending } = entry;
    if (pending.size >= 0x10000) { p.onError('65536 DNS queries in flight on one socket'); return () => {}; }
    let id: number;
    do id = randomInt(0x10000); while (pending.has(id));
    pending.set(id, { ...p, address: canonicalIp(dst.address), port: dst.port });
    if (pending.size === 1) sock.ref();
    const release = () => {
      if (!pending.delete(id)) return;
      if (!pending.size) sock.unref();
    };
    sock.send(build(id), dst.port, dst.address, (err) => { if (err) p.onError(errorDetail(err)); });
    return release;
  }

  close(): void {
    for (const { sock, pending } of this.sockets.values()) {
      for (const p of [...pending.values()]) p.onError('prober closed');
      sock.close();
    }
    this.sockets.clear();
  }

  private open(family: Family) {
    let entry = this.sockets.get(family);
    if (entry) return entry;
    const sock = dgram.createSocket(family === 6 ? { type: 'udp6', ipv6Only: true } : { type: 'udp4' });
    const pending = new Map<number, Pending>();
    entry = { sock, pending };
    this.sockets.set(family, entry);
    sock.on('message', (msg, rinfo) => {
      if (msg.length < 2) return;
      const p = pending.get(msg.readUInt16BE(0));
      if (p && p.address === canonicalIp(rinfo.address) && p.port === rinfo.port) p.onReply(msg);
    });
    // a receive error on the shared socket: fail what waits on it, start afresh on the next query
    sock.on('error', (err) => {
      if (this.sockets.get(family)?.sock === sock) this.sockets.delete(family);
      for (const p of [...pending.values()]) p.onError(errorDetail(err));
      try { sock.close(); } catch { /* already closed */ }
    });
    sock.unref();
    return entry;
  }
}

/** keepalived's test of a reply; one that is not the answer to our query is ignored (the wait goes on). */
function judgeReply(s: Scope<Verdict>, id: number, msg: Buffer): void {
  const h = decodeHeader(msg);
  if (!h.ok || h.value.id !== id || !h.value.qr) return;
  if (h.value.rcode !== 0) { s.fail(`rcode ${rcodeName(h.value.rcode)}`); return; }
  const m = decodeMessage(msg);
  if (!m.ok) { s.fail(`malformed reply: ${m.error.message}`); return; }
  const n = m.value.answers.length;
  s.succeed({ detail: `NOERROR, ${n} answer${n === 1 ? '' : 's'}` });
}

export async function probeDns(checker: DnsChecker, target: ProbeTarget, opts: ProbeOptions, sockets: DnsSockets): Promise<ProbeResult> {
  return toResult(await scoped<Verdict>(opts, (s) => {
    const dst = destination(checker, target);
    if (!requirePort(s, dst)) return;
    const type = DNS_TYPES[checker.queryType as DnsTypeName];
    if (type === undefined) { s.fail(`unknown query type ${checker.queryType}`); return; }
    const build = (id: number) => encodeQuery({ id, name: checker.name, type });
    try {
      build(0);
    } catch (err) {
      s.fail(`cannot query '${checker.name}': ${(err as Error).message}`);
      return;
    }
    s.wait('waiting for the reply');
    if (checker.bindTo !== undefined || checker.bindPort !== undefined) {
      const id = randomInt(0x10000);
      connectUdp(s, dst, checker, (msg) => judgeReply(s, id, msg), (sock) => {
        sock.send(build(id), (err) => { if (err) s.fail(errorDetail(err)); });
      });
      return;
    }
    let id = -1;
    const release = sockets.query(dst, (i) => build((id = i)), {
      onReply: (msg) => judgeReply(s, id, msg),
      onError: (detail) => s.fail(detail),
    });
    s.defer(release);
  }));
}
