// Addresses for the LB adapters: text ↔ bytes (IPVS carries raw bytes) and canonical text, the
// same conversions as the rest of vigil (adapters/ip/addr.ts), and prefix ↔ netmask.
import { formatIP, parseIP } from '../ip/addr.js';
import type { LbFamily } from './types.js';

/** Bytes of an address of `family`, or undefined if the text is not one. */
export function addressBytes(text: string, family: LbFamily): Uint8Array | undefined {
  return parseIP(text, family);
}

/** Canonical text of an address of `family`, or undefined if the text is not one. */
export function canonicalAddress(text: string, family: LbFamily): string | undefined {
  const b = parseIP(text, family);
  return b && formatIP(b);
}

/** Text of 4 or 16 bytes. */
export const formatAddress = formatIP;

/** `address:port`, with brackets around IPv6. */
export function hostPort(address: string, port: number): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}

/** The netmask bytes of a prefix length. */
export function prefixMask(prefix: number, family: LbFamily): Uint8Array {
  const out = new Uint8Array(family === 4 ? 4 : 16);
  for (let i = 0; i < out.length; i++) {
    const bits = Math.max(0, Math.min(8, prefix - i * 8));
    out[i] = (0xff00 >> bits) & 0xff;
  }
  return out;
}

/** The prefix length of contiguous netmask bytes, or undefined when not contiguous. */
export function maskPrefix(mask: Uint8Array): number | undefined {
  let prefix = 0;
  let ended = false;
  for (const byte of mask) {
    for (let bit = 7; bit >= 0; bit--) {
      const set = (byte >> bit) & 1;
      if (set && ended) return undefined;
      if (set) prefix++;
      else ended = true;
    }
  }
  return prefix;
}
