// Per-interface sysctls (/proc/sys/net/…), for use_vmac: keepalived's vrrp_if_config.c sets
// arp_ignore=1, accept_local=1 and rp_filter=0 on the VMAC interface, and arp_ignore=1 with
// arp_filter=1 on its parent (restored on exit), so only the VMAC answers ARP for the VIPs.
// vigil also sets arp_announce=2 on the parent (actors/vrrp.ts says why).
import { readFile, writeFile } from 'node:fs/promises';

export interface Sysctl {
  get(path: string): Promise<string | undefined>;
  set(path: string, value: string): Promise<boolean>;
}

/** `path` like `net/ipv4/conf/eth0/arp_ignore` (interface names may contain dots: / is the separator). */
export const procSysctl: Sysctl = {
  async get(path) {
    return readFile(`/proc/sys/${path}`, 'utf8').then(
      (s) => s.trim(),
      () => undefined,
    );
  },
  async set(path, value) {
    return writeFile(`/proc/sys/${path}`, value).then(
      () => true,
      () => false,
    );
  },
};
