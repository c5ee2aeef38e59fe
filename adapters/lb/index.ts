// Choosing the LB driver: `lb_driver ipvs|nftables`, or by default IPVS when the kernel has it and
// nftables otherwise. The choice and its reason are logged and returned.
import type { Logger } from 'pino';
import { LbError } from './errors.js';
import { createIpvsLb, type IpvsOptions } from './ipvs.js';
import { createNftablesLb, type NftablesOptions } from './nftables.js';
import type { LoadBalancer } from './types.js';

export interface OpenLbOptions {
  /** absent: IPVS if the kernel has it, else nftables */
  readonly driver?: 'ipvs' | 'nftables';
  readonly ipvs?: IpvsOptions;
  readonly nftables?: NftablesOptions;
  readonly log?: Pick<Logger, 'info' | 'warn'>;
}

export async function openLoadBalancer(opts: OpenLbOptions = {}): Promise<{ lb: LoadBalancer; reason: string }> {
  const nft = () => createNftablesLb({ ...(opts.log ? { log: opts.log } : {}), ...opts.nftables });
  let chosen: { lb: LoadBalancer; reason: string };
  if (opts.driver === 'nftables') {
    chosen = { lb: nft(), reason: 'lb_driver nftables' };
  } else if (opts.driver === 'ipvs') {
    chosen = { lb: await createIpvsLb({ ...(opts.log ? { log: opts.log } : {}), ...opts.ipvs }), reason: 'lb_driver ipvs' };
  } else {
    try {
      chosen = { lb: await createIpvsLb({ ...(opts.log ? { log: opts.log } : {}), ...opts.ipvs }), reason: 'the kernel has IPVS' };
    } catch (err) {
      if (!(err instanceof LbError && (err.code === 'NO_IPVS' || err.code === 'NETLINK'))) throw err;
      chosen = { lb: nft(), reason: `${err.message}; using nftables` };
    }
  }
  opts.log?.info({ driver: chosen.lb.driver, reason: chosen.reason }, `load balancer: ${chosen.lb.driver} (${chosen.reason})`);
  return chosen;
}

export { detectIpvs, type GenlSocket } from './ipvs.js';
export { unsupportedByNftables } from './nftModel.js';
export { LbError } from './errors.js';
export type * from './types.js';
