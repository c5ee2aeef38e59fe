// The ip adapter: virtual addresses, routes, link state and gratuitous ARP / unsolicited NA.
// The port (types.ts) is the VRRP actor's; `createIpNet()` implements it for this host's current
// network namespace. Build native/ with native/build.sh for IPv4 gratuitous ARP.
export { createIpNet, type IpNetOptions } from './netlink.js';
export { IpError, NO_PACKET_ADDON } from './errors.js';
export type * from './types.js';
