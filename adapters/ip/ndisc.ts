// Unsolicited Neighbour Advertisements through a raw ICMPv6 socket (npm raw-socket), the fallback
// when the packet addon is not built: the kernel writes the Ethernet and IPv6 headers and the
// ICMPv6 checksum; we give it the NA (frames.ts) and hop limit 255.
//
// The normal path, like keepalived (vrrp_ndisc.c), sends the whole frame through AF_PACKET with the
// VIP itself as IPv6 source (frames.ts naFrame). Here the kernel picks the source among the
// interface's usable addresses: the VIP (added nodad, so usable at once) or a link-local one;
// receivers do not care which (RFC 4861 §7.1.2 checks hop limit, code, length and the Solicited
// flag). With no usable IPv6 address on the interface the send fails with EADDRNOTAVAIL, and the
// Ethernet source is always the interface's own MAC (vmacSrc only reaches the TLLA option).
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { parseIPv6 } from './addr.js';
import { errnoOfIpMessage } from './errors.js';
import { unsolicitedNa } from './frames.js';
import type { AnnounceResult } from './types.js';

/** The part of raw-socket 1.8 we use (the package ships no types). */
interface RawSocket {
  pauseRecv(): RawSocket;
  setOption(level: number, option: number, value: number | Buffer, length?: number): void;
  send(buf: Buffer, offset: number, length: number, address: string, after: (err: Error | null, bytes: number) => void): RawSocket;
  close(): RawSocket;
  on(event: 'error', listener: (err: Error) => void): RawSocket;
}
interface RawSocketModule {
  createSocket(o: { addressFamily: number; protocol: number }): RawSocket;
  AddressFamily: { IPv6: number };
  Protocol: { ICMPv6: number };
}

const SOL_SOCKET = 1;
const SO_BINDTODEVICE = 25;
const IPPROTO_IPV6 = 41;
const IPV6_MULTICAST_IF = 17;
const IPV6_MULTICAST_HOPS = 18;
const IPPROTO_ICMPV6 = 58;
const ICMP6_FILTER = 1;
const ALL_NODES = 'ff02::1';
const SEND_TIMEOUT_MS = 1000;

let rawSocket: RawSocketModule | Error | undefined;
function loadRawSocket(): RawSocketModule | Error {
  if (rawSocket === undefined) {
    try {
      rawSocket = createRequire(import.meta.url)('raw-socket') as RawSocketModule;
    } catch (err) {
      rawSocket = err as Error;
    }
  }
  return rawSocket;
}

/** Does `dev` forward IPv6? Then the NA carries the Router flag (keepalived set_ipv6_forwarding). */
export async function forwardsIPv6(dev: string): Promise<boolean> {
  if (!/^[^/\0]{1,15}$/.test(dev) || dev === '.' || dev === '..') return false;
  const v = await readFile(`/proc/sys/net/ipv6/conf/${dev}/forwarding`, 'utf8').catch(() => '0');
  return v.trim() === '1';
}

/** One NA per address to ff02::1 on interface (`dev`, `index`), target link-layer address `mac`. Never rejects. */
export async function sendUnsolicitedNas(
  dev: string, index: number, addresses: readonly string[], mac: Uint8Array, router: boolean,
): Promise<AnnounceResult[]> {
  const fail = (error: string, detail: string) => addresses.map((spec): AnnounceResult => ({ spec, ok: false, error, detail }));
  const raw = loadRawSocket();
  if (raw instanceof Error) return fail('ENOSYS', `raw-socket not loadable: ${raw.message}`);
  let sock: RawSocket;
  try {
    sock = raw.createSocket({ addressFamily: raw.AddressFamily.IPv6, protocol: raw.Protocol.ICMPv6 });
  } catch (err) {
    return fail(errnoOfIpMessage((err as Error).message), (err as Error).message);
  }
  sock.on('error', () => { /* receive side only, and receiving is paused */ });
  try {
    sock.pauseRecv();
    // receive nothing at all: every ICMPv6 type blocked (ICMP6_FILTER_SETBLOCKALL)
    const block = Buffer.alloc(32, 0xff);
    sock.setOption(IPPROTO_ICMPV6, ICMP6_FILTER, block, block.length);
    const name = Buffer.from(`${dev}\0`);
    sock.setOption(SOL_SOCKET, SO_BINDTODEVICE, name, name.length);
    sock.setOption(IPPROTO_IPV6, IPV6_MULTICAST_IF, index);
    sock.setOption(IPPROTO_IPV6, IPV6_MULTICAST_HOPS, 255); // RFC 4861 §7.1.2: receivers drop anything else
  } catch (err) {
    sock.close();
    return fail(errnoOfIpMessage((err as Error).message), (err as Error).message);
  }
  const results = await Promise.all(addresses.map((spec) => new Promise<AnnounceResult>((resolve) => {
    const target = parseIPv6(spec);
    if (!target) return resolve({ spec, ok: false, error: 'EINVAL', detail: `'${spec}' is not an IPv6 address` });
    const na = Buffer.from(unsolicitedNa(target, mac, router));
    // raw-socket sends when its poll handle reports the socket writable; never wait forever on it
    const timer = setTimeout(() => resolve({ spec, ok: false, error: 'ETIMEDOUT', detail: 'raw-socket did not send within 1 s' }), SEND_TIMEOUT_MS);
    sock.send(na, 0, na.length, ALL_NODES, (err) => {
      clearTimeout(timer);
      resolve(err ? { spec, ok: false, error: errnoOfIpMessage(err.message), detail: err.message } : { spec, ok: true });
    });
  })));
  sock.close();
  return results;
}
