// Errors of the ip adapter. Per-item failures are values (`OpResult.error`: an errno code when we
// know it); only a broken netlink socket makes a query reject, with an IpError.

export class IpError extends Error {
  override readonly name = 'IpError';
  constructor(readonly code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** `ERR_NO_PACKET_ADDON`: adapters/ip/native is not built, IPv4 gratuitous ARP cannot be sent. */
export const NO_PACKET_ADDON = 'ERR_NO_PACKET_ADDON';

/**
 * The errno code of a failed netlink request. netlink 0.3.0 rejects with `Error('Request rejected:
 * EEXIST')` (netlink.js checkError); socket errors carry `code` themselves.
 */
export function errnoOf(err: unknown): string {
  if (err && typeof err === 'object') {
    const code = (err as { code?: unknown }).code;
    if (typeof code === 'string' && code) return code;
    const msg = (err as { message?: unknown }).message;
    if (typeof msg === 'string') {
      const m = /Request rejected: (\S+)/.exec(msg);
      if (m?.[1]) return m[1];
    }
  }
  return 'EIO';
}

/** glibc strerror() texts `ip` prints after "RTNETLINK answers: ", and the kernel extack texts we rely on. */
const MESSAGES: readonly (readonly [RegExp, string])[] = [
  [/File exists/, 'EEXIST'],
  [/No such process/, 'ESRCH'],
  [/No such device|Cannot find device/, 'ENODEV'],
  [/Network is unreachable/, 'ENETUNREACH'],
  [/Network is down|Device for nexthop is not up|Nexthop device is not up/, 'ENETDOWN'],
  [/Invalid argument|invalid gateway|Invalid prefix|Invalid source address/i, 'EINVAL'],
  [/Operation not permitted/, 'EPERM'],
  [/Permission denied/, 'EACCES'],
  [/Cannot assign requested address/, 'EADDRNOTAVAIL'],
  [/No such file or directory/, 'ENOENT'],
  [/No buffer space available/, 'ENOBUFS'],
  [/Operation not supported/, 'EOPNOTSUPP'],
  [/is unknown, try|Error: either|Error: argument|Error: an inet prefix is expected|Garbage instead of/, 'EINVAL'],
];

/** Best-effort errno code for an `ip` error message; `EIO` when unknown (`detail` keeps the text). */
export function errnoOfIpMessage(text: string): string {
  for (const [re, code] of MESSAGES) if (re.test(text)) return code;
  return 'EIO';
}
