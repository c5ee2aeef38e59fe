// From keepalived.conf's virtual_server to the LB port's terms, pure: scheduler flags, persistence,
// forwarding method, and what the nftables driver cannot carry (for config-test with
// `lb_driver nftables`, or when nftables is the default because the kernel has no IPVS).
import type { RealServer, VirtualServer } from '../config/model.js';
import { addressBytes, maskPrefix } from './addr.js';
import type { LbFamily, LbFlag, LbKind, LbPersistence } from './types.js';

/** keepalived's flag names as the kernel's bits; `hashed` is the kernel's own and dropped. */
export function lbFlagsOf(names: readonly string[]): LbFlag[] {
  const map: Record<string, LbFlag> = {
    'flag-1': 'flag-1', 'sh-fallback': 'flag-1', 'mh-fallback': 'flag-1',
    'flag-2': 'flag-2', 'sh-port': 'flag-2', 'mh-port': 'flag-2',
    'flag-3': 'flag-3', ops: 'ops',
  };
  return [...new Set(names.flatMap((n) => (map[n] ? [map[n]] : [])))].sort();
}

/**
 * `persistence_timeout` and `persistence_granularity` (an IPv4 netmask, or for IPv6 a prefix
 * length, with or without a slash) as LbPersistence; undefined when not persistent or the
 * granularity is not a contiguous mask (config-test reports that).
 */
export function persistenceOf(vs: VirtualServer, family: LbFamily): LbPersistence | undefined {
  if (!vs.persistenceTimeoutS) return undefined;
  const g = vs.persistenceGranularity?.replace(/^\//, '');
  if (g === undefined) return { timeoutS: vs.persistenceTimeoutS };
  let prefix: number | undefined;
  if (/^\d{1,3}$/.test(g)) prefix = Number(g);
  else {
    const mask = addressBytes(g, family);
    prefix = mask && maskPrefix(mask);
  }
  return prefix === undefined || prefix < 1 || prefix > (family === 4 ? 32 : 128) ? undefined : { timeoutS: vs.persistenceTimeoutS, prefix };
}

/** The sorry server's forwarding method: sorry_server_lvs_method, else its virtual server's. */
export function sorryKindOf(vs: VirtualServer): LbKind {
  return vs.sorryServerLvsMethod ?? vs.lbKind;
}

/** A real server's forwarding method: its own `lvs_method`, else its virtual server's. */
export function kindOf(vs: VirtualServer, rs?: RealServer): LbKind {
  const own = rs?.lvsMethod?.split(/\s+/)[0]?.toUpperCase();
  return own === 'NAT' || own === 'DR' || own === 'TUN' ? own : vs.lbKind;
}

/** Why the nftables driver cannot run this virtual server, one sentence each (none: it can). */
export function nftablesProblems(vs: VirtualServer): string[] {
  const out: string[] = [];
  const kinds = new Set([kindOf(vs), ...vs.realServers.map((rs) => kindOf(vs, rs)), ...(vs.sorryServer ? [sorryKindOf(vs)] : [])]);
  for (const k of ['DR', 'TUN'] as const) {
    if (kinds.has(k)) out.push(`lb_kind ${k} needs kernel IPVS; the nftables driver does NAT only`);
  }
  if (vs.lbFlags.includes('ops')) out.push('one-packet scheduling (ops) needs kernel IPVS');
  if (vs.kind === 'address' && !vs.port) out.push('a virtual server without a port (all ports) needs kernel IPVS; use a fwmark virtual server');
  if (vs.realServers.some((rs) => rs.uthreshold || rs.lthreshold)) out.push('uthreshold/lthreshold need kernel IPVS');
  const family = vs.family ?? (vs.address?.includes(':') ? 6 : 4);
  const mixed = [...vs.realServers, ...(vs.sorryServer ? [vs.sorryServer] : [])].find((s) => (s.address.includes(':') ? 6 : 4) !== family);
  if (mixed) out.push(`${mixed.address} is not IPv${family}: nftables NAT cannot translate between families`);
  return out;
}
