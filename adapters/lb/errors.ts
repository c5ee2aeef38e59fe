// Errors of the load-balancer adapters. Each names what failed: the operation, the service and
// destination when there is one, and the kernel's errno or nft's message.

export type LbErrorCode =
  /** the desired table is malformed (a bad address, weight, port, duplicate...) */
  | 'INVALID_TABLE'
  /** the driver cannot do what the table asks (nftables: DR/TUN, one-packet scheduling...) */
  | 'UNSUPPORTED'
  /** an `nft` command failed */
  | 'NFT_FAILED'
  /** a `sysctl` read or write failed */
  | 'SYSCTL_FAILED'
  /** the kernel has no IPVS generic netlink family (ip_vs not loaded) */
  | 'NO_IPVS'
  /** the kernel refused an IPVS request (`errno` says why) */
  | 'KERNEL_REJECTED'
  /** the netlink socket failed, or a reply could not be decoded */
  | 'NETLINK'
  /** the adapter was used after close() */
  | 'CLOSED';

export class LbError extends Error {
  override readonly name = 'LbError';
  constructor(
    readonly code: LbErrorCode,
    message: string,
    readonly detail: { service?: string; destination?: string; errno?: string } = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
