// What the socket-based probes share: where to connect (keepalived's conn_opts: connect_ip,
// connect_port, bindto, bind_port) and a TCP connect bound to a probe's scope.
// Not honoured: `bind_if` (SO_BINDTODEVICE) and `fwmark` (SO_MARK); Node's sockets cannot set them.
import * as dgram from 'node:dgram';
import * as net from 'node:net';
import type { CheckerCommon, Family } from '../config/model.js';
import type { Scope } from './scope.js';
import type { ProbeTarget } from './types.js';

export interface Destination {
  readonly address: string;
  readonly port?: number;
  readonly family: Family;
}

export interface LocalBind {
  readonly bindTo?: string;
  readonly bindPort?: number;
}

/** The checker's connect_ip/connect_port over the real server's address and port (keepalived). */
export function destination(checker: CheckerCommon, target: ProbeTarget): Destination {
  const address = checker.connectIp ?? target.address;
  const port = checker.connectPort ?? target.port;
  return { address, family: net.isIPv6(address) ? 6 : 4, ...(port ? { port } : {}) };
}

/** The port to connect to, or a failure saying why there is none. */
export function requirePort(s: Scope<unknown>, dst: Destination): dst is Destination & { port: number } {
  if (dst.port) return true;
  s.fail('no port to connect to: the real server has none and connect_port is not set');
  return false;
}

/** bindto must be of the destination's family (keepalived refuses the mix at bind()). */
export function checkBind(s: Scope<unknown>, bind: LocalBind, dst: Destination): boolean {
  if (bind.bindTo === undefined || (net.isIPv6(bind.bindTo) ? 6 : 4) === dst.family) return true;
  s.fail(`bindto ${bind.bindTo} is not of the family of ${dst.address}`);
  return false;
}

/** 'connect ECONNREFUSED', 'read ECONNRESET', 'bind EADDRINUSE' */
export function errorDetail(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  if (e?.code && e.syscall) return `${e.syscall} ${e.code}`;
  if (e?.code) return `${e.code}: ${e.message}`;
  return e?.message ?? String(err);
}

/** IPv6 written the way Node reports peers (`::1`, not `0:0:0:0:0:0:0:1`), IPv4 unchanged. */
export function canonicalIp(address: string): string {
  if (!net.isIPv6(address)) return address;
  return new URL(`http://[${address}]/`).hostname.slice(1, -1);
}

/**
 * Connect a TCP socket within the probe's scope: the step timeout covers the connect, an error
 * fails the probe, and the socket is destroyed when the probe settles, unless `onConnect` calls
 * `release` to close it itself (TLS over it).
 */
export function connectTcp(
  s: Scope<unknown>,
  dst: Destination & { port: number },
  bind: LocalBind,
  onConnect: (sock: net.Socket, release: () => void) => void,
): void {
  if (!checkBind(s, bind, dst)) return;
  s.wait('connecting');
  const sock = net.connect({
    host: dst.address,
    port: dst.port,
    family: dst.family,
    ...(bind.bindTo !== undefined ? { localAddress: bind.bindTo } : {}),
    ...(bind.bindPort !== undefined ? { localPort: bind.bindPort } : {}),
  });
  let owned = true;
  s.defer(() => { if (owned) sock.destroy(); });
  sock.on('error', (err) => s.fail(errorDetail(err)));
  sock.once('connect', () => {
    if (!s.settled) onConnect(sock, () => { owned = false; });
  });
}

/**
 * A UDP socket of the probe's own, bound (bindto/bind_port) and connected to `dst`, so that an ICMP
 * error for what it sends comes back as a socket error (ECONNREFUSED for port unreachable), as
 * keepalived's IP_RECVERR socket sees it. Closed when the probe settles.
 */
export function connectUdp(
  s: Scope<unknown>,
  dst: Destination & { port: number },
  bind: LocalBind,
  onMessage: (msg: Buffer) => void,
  onConnect: (sock: dgram.Socket) => void,
): void {
  if (!checkBind(s, bind, dst)) return;
  const sock = dgram.createSocket(dst.family === 6 ? { type: 'udp6', ipv6Only: true } : { type: 'udp4' });
  s.defer(() => sock.close());
  sock.on('error', (err) => s.fail((err as NodeJS.ErrnoException).code === 'ECONNREFUSED' ? 'ICMP port unreachable (ECONNREFUSED)' : errorDetail(err)));
  sock.on('message', (msg) => { if (!s.settled) onMessage(msg); });
  const connect = () => sock.connect(dst.port, dst.address, () => { if (!s.settled) onConnect(sock); });
  if (bind.bindTo !== undefined || bind.bindPort !== undefined) {
    sock.bind({ port: bind.bindPort ?? 0, ...(bind.bindTo !== undefined ? { address: bind.bindTo } : {}), exclusive: true }, connect);
  } else {
    connect();
  }
}
