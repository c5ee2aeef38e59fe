// The nftables data plane as a model, pure: an LB table becomes chains of typed rules (build), the
// model becomes `nft -f` text (render, transaction), `nft -j list table` becomes the same model
// (parseListing), and the model reads back as an LB table (modelToTable). apply() compares models
// rule by rule, so any drift in vigil's table is seen, including what the table shape cannot show.
//
// Layout of `table inet vigil_lb` (one table for both families, NAT only):
//   chain prerouting  { type nat hook prerouting priority dstnat; jump services }
//   chain output      { type nat hook output priority -100; jump services }   (local clients)
//   chain postrouting { type nat hook postrouting priority srcnat;             (masquerade option)
//                       ct status dnat ip daddr { <every destination> } masquerade }
//   chain services    { meta nfproto ipv4 meta mark vmap { 5 : jump svc_fwm_5_v4 }   (fwmark first, as IPVS)
//                       ip daddr . meta l4proto . th dport vmap { 10.0.0.100 . tcp . 80 : jump svc_tcp_10.0.0.100_80 } }
//   chain svc_tcp_10.0.0.100_80 {
//     counter comment "vigil algo=wrr"                       the service's counter and scheduler
//     ip saddr & 255.255.255.0 @<dest>/p360 goto <dest>      persistence, one rule per destination
//     numgen inc mod 4 vmap { 0 : goto <d1>, 1 : goto <d2>, 2-3 : goto <d3> }   weights as ranges
//     (or, with no destination of positive weight: goto svc_.../sorry) }
//   chain svc_tcp_10.0.0.100_80/10.0.0.1_80 {
//     update @svc_tcp_10.0.0.100_80/10.0.0.1_80/p360 { ip saddr & 255.255.255.0 }
//     meta l4proto tcp counter dnat ip to 10.0.0.1:80 comment "weight 1" }
//
// Why this shape:
// - NAT rules only see a connection's first packet; conntrack translates the rest. So a weight-0
//   destination (its chain kept, left out of the selection map) gets no new connections while its
//   established ones keep flowing: quiescing, as IPVS. A removed destination's established
//   connections also keep flowing (IPVS, with expire_nodest_conn=0, drops their packets instead).
// - Names are stable (derived from addresses), so an apply rewrites only the chains that changed and
//   keeps the persistence sets of unchanged destinations: stickiness survives weight changes.
// - Persistence: one dynamic set per destination, keyed on the masked client address, with the
//   service's timeout; a client found in a destination's set goes there again, and every new
//   connection refreshes its entry. Approximation: IPVS counts the timeout from the end of the
//   client's last connection, here it runs from the start of its last new connection. A set holds
//   65536 clients; beyond that new clients are balanced without being remembered. A removed
//   destination takes its set with it, so nobody sticks to a server that is gone; a quiesced one
//   keeps the clients that stick to it for as long as they keep coming back within the timeout
//   (IPVS does the same with its default expire_quiescent_template=0).
// - Schedulers (nftables has no per-destination connection counts, so the count-based ones are
//   approximated by their weights):
//     rr               numgen inc over the destinations of positive weight, one slot each
//     wrr              numgen inc over weight-sized ranges (runs of w₁ then w₂..., not IPVS's interleaving)
//     lc wlc sed nq twos   numgen random over weight-sized ranges (weighted random)
//     sh mh            jhash of the client address (and source port with flag-2 = sh-port/mh-port)
//                      over weight-sized ranges; a weight change remaps most clients (IPVS mh would
//                      remap few)
//     dh lblc lblcr    jhash of the destination address over weight-sized ranges
//     fo ovf           everything to the destination of highest weight (ovf's overflow is not modelled)
//   flag-1 (sh-fallback) is implicit: only destinations of positive weight are in the map.
// - Weights are written as rule comments ("weight 3") so that schedulers that ignore them (rr, fo)
//   still read back.
import { isDeepStrictEqual } from 'node:util';
import { canonicalAddress, formatAddress, maskPrefix, prefixMask, addressBytes } from './addr.js';
import { LbError } from './errors.js';
import { familyOf, normalizeTable, serviceKey } from './table.js';
import type { LbAlgo, LbDestination, LbFamily, LbFlag, LbProtocol, LbService, LbTable } from './types.js';

/** The persistence set size (entries per destination). */
export const PERSIST_SET_SIZE = 65536;
const JHASH_SEED = 0; // fixed, so a rewritten rule maps clients as before

type Proto = 'tcp' | 'udp' | 'sctp';
type Hook = 'prerouting' | 'output' | 'postrouting';
const HOOK_PRIO: Record<Hook, number> = { prerouting: -100, output: -100, postrouting: 100 };

export type NftRule =
  | { readonly op: 'meta'; readonly algo: string; readonly flags: readonly string[] }
  | { readonly op: 'persist'; readonly family: LbFamily; readonly prefix: number; readonly set: string; readonly target: string }
  | {
      readonly op: 'select';
      readonly mode: 'inc' | 'random' | 'jhash';
      /** jhash only: the hashed fields, as nft writes them ("ip saddr", "th sport") */
      readonly hash: readonly string[];
      readonly mod: number;
      readonly entries: readonly { readonly from: number; readonly to: number; readonly target: string }[];
    }
  | { readonly op: 'goto'; readonly target: string }
  | { readonly op: 'remember'; readonly family: LbFamily; readonly prefix: number; readonly set: string }
  | {
      readonly op: 'dnat';
      readonly family: LbFamily;
      /** transport protocols matched so that a port can be mapped; empty when the port is kept */
      readonly protocols: readonly Proto[];
      readonly address: string;
      readonly port: number;
      /** absent for the sorry server */
      readonly weight?: number;
    }
  | { readonly op: 'dispatch-mark'; readonly family: LbFamily; readonly entries: readonly { readonly mark: number; readonly target: string }[] }
  | {
      readonly op: 'dispatch-addr';
      readonly family: LbFamily;
      readonly entries: readonly { readonly address: string; readonly protocol: Proto; readonly port: number; readonly target: string }[];
    }
  | { readonly op: 'jump'; readonly target: string }
  | { readonly op: 'masquerade'; readonly family: LbFamily; readonly addresses: readonly string[] }
  /** anything vigil did not write: its JSON */
  | { readonly op: 'unknown'; readonly json: string };

export interface NftChain {
  readonly name: string;
  /** base chains: the hook and priority */
  readonly base?: { readonly hook: string; readonly prio: number };
  readonly rules: readonly NftRule[];
}

export interface NftSet {
  readonly name: string;
  readonly family: LbFamily;
  readonly timeoutS: number;
  readonly size: number;
}

export interface NftModel {
  readonly chains: ReadonlyMap<string, NftChain>;
  readonly sets: ReadonlyMap<string, NftSet>;
}

export interface NftModelOptions {
  /** SNAT (masquerade) connections to the destinations, for real servers whose replies would not route back through the director */
  readonly masquerade: boolean;
}

// ---------------------------------------------------------------------------------------------
// Names

const addrName = (a: string) => a.replace(/:/g, '-'); // nft identifiers allow [A-Za-z0-9/_.-]

export function serviceChainName(s: Pick<LbService, 'match' | 'family'>): string {
  return s.match.kind === 'fwmark'
    ? `svc_fwm_${s.match.fwmark}_v${s.family}`
    : `svc_${s.match.protocol.toLowerCase()}_${addrName(s.match.address)}_${s.match.port}`;
}

function destChainName(svc: string, d: Pick<LbDestination, 'address' | 'port'>): string {
  return `${svc}/${addrName(d.address)}_${d.port}`;
}

const sorryChainName = (svc: string) => `${svc}/sorry`;
const persistSetName = (dest: string, timeoutS: number) => `${dest}/p${timeoutS}`;

// ---------------------------------------------------------------------------------------------
// Table → model

/** Why nftables cannot carry this service, or undefined. config-test can use it too. */
export function unsupportedByNftables(s: LbService): string | undefined {
  const key = serviceKey(s);
  if (s.flags?.includes('ops')) return `${key}: one-packet scheduling (ops) needs IPVS; nftables NAT goes through conntrack`;
  if (s.match.kind === 'address' && s.match.port === 0) return `${key}: a port-0 (all ports) service needs IPVS; use a fwmark service with the nftables driver`;
  for (const d of [...s.destinations, ...(s.sorry ? [{ ...s.sorry, weight: 0 }] : [])]) {
    const what = `${key}: destination ${d.address}`;
    if (d.kind !== 'NAT') return `${what} uses lb_kind ${d.kind}; the nftables driver does NAT only (DR and TUN need IPVS)`;
    if (familyOf(d.address) !== s.family) return `${what} is not IPv${s.family}; nftables cannot translate between families`;
    if (d.upperThreshold || d.lowerThreshold) return `${what} has connection thresholds (uthreshold/lthreshold), which need IPVS`;
  }
  return undefined;
}

/** What one service contributes to the model: its chains and sets, its entry in the dispatch, its real servers. */
export interface ServiceParts {
  readonly chains: readonly NftChain[];
  readonly sets: readonly NftSet[];
  readonly dispatch:
    | { readonly kind: 'mark'; readonly family: LbFamily; readonly mark: number; readonly target: string }
    | { readonly kind: 'addr'; readonly family: LbFamily; readonly address: string; readonly protocol: Proto; readonly port: number; readonly target: string };
  readonly realServers: readonly string[];
}

/**
 * Parts already built, by service (the normal-form object, which is never changed): a driver that
 * keeps one across applies rebuilds only the services that changed, and an unchanged service's
 * chains are the same objects as last time, which the comparisons then pass at once.
 */
export type ModelMemo = WeakMap<LbService, ServiceParts>;

/** One service's part of the model (a service in normal form). Throws LbError UNSUPPORTED. */
function serviceParts(s: LbService): ServiceParts {
  const why = unsupportedByNftables(s);
  if (why) throw new LbError('UNSUPPORTED', why, { service: serviceKey(s) });
  const svc = serviceChainName(s);
  const chains: NftChain[] = [];
  const sets: NftSet[] = [];
  const realServers: string[] = [];
  const add = (c: NftChain) => chains.push(canonicalChain(c));
  const rules: NftRule[] = [{ op: 'meta', algo: s.algo, flags: [...(s.flags ?? [])] }];
  const persist = s.persistence;
  const prefix = persist?.prefix ?? (s.family === 4 ? 32 : 128);
  for (const d of s.destinations) {
    const name = destChainName(svc, d);
    const set = persist ? persistSetName(name, persist.timeoutS) : undefined;
    const chain: NftRule[] = [];
    if (set && persist) {
      sets.push({ name: set, family: s.family, timeoutS: persist.timeoutS, size: PERSIST_SET_SIZE });
      rules.push({ op: 'persist', family: s.family, prefix, set, target: name });
      chain.push({ op: 'remember', family: s.family, prefix, set });
    }
    chain.push(dnat(s, d, d.weight));
    add({ name, rules: chain });
    realServers.push(d.address);
  }
  const positive = s.destinations.filter((d) => d.weight > 0);
  if (positive.length) {
    rules.push(selection(s, svc, positive));
  } else if (s.sorry) {
    add({ name: sorryChainName(svc), rules: [dnat(s, s.sorry)] });
    rules.push({ op: 'goto', target: sorryChainName(svc) });
    realServers.push(s.sorry.address);
  }
  add({ name: svc, rules });
  const dispatch: ServiceParts['dispatch'] =
    s.match.kind === 'fwmark'
      ? { kind: 'mark', family: s.family, mark: s.match.fwmark, target: svc }
      : { kind: 'addr', family: s.family, address: s.match.address, protocol: proto(s.match.protocol), port: s.match.port, target: svc };
  return { chains, sets, dispatch, realServers };
}

/** The model of a table already in normal form. Throws LbError UNSUPPORTED. `memo`: see ModelMemo. */
export function buildModel(table: LbTable, opts: NftModelOptions, memo?: ModelMemo): NftModel {
  const chains = new Map<string, NftChain>();
  const sets = new Map<string, NftSet>();
  const add = (c: NftChain) => chains.set(c.name, c);
  add(canonicalChain({ name: 'prerouting', base: { hook: 'prerouting', prio: HOOK_PRIO.prerouting }, rules: [{ op: 'jump', target: 'services' }] }));
  add(canonicalChain({ name: 'output', base: { hook: 'output', prio: HOOK_PRIO.output }, rules: [{ op: 'jump', target: 'services' }] }));

  const marks: Record<LbFamily, { mark: number; target: string }[]> = { 4: [], 6: [] };
  const addrs: Record<LbFamily, { address: string; protocol: Proto; port: number; target: string }[]> = { 4: [], 6: [] };
  const realServers: Record<LbFamily, Set<string>> = { 4: new Set(), 6: new Set() };

  for (const s of table.services) {
    let parts = memo?.get(s);
    if (!parts) {
      parts = serviceParts(s);
      memo?.set(s, parts);
    }
    for (const c of parts.chains) add(c);
    for (const x of parts.sets) sets.set(x.name, x);
    const d = parts.dispatch;
    if (d.kind === 'mark') marks[d.family].push({ mark: d.mark, target: d.target });
    else addrs[d.family].push({ address: d.address, protocol: d.protocol, port: d.port, target: d.target });
    for (const a of parts.realServers) realServers[s.family].add(a);
  }

  const dispatch: NftRule[] = [];
  for (const f of [4, 6] as const) if (marks[f].length) dispatch.push({ op: 'dispatch-mark', family: f, entries: marks[f] });
  for (const f of [4, 6] as const) if (addrs[f].length) dispatch.push({ op: 'dispatch-addr', family: f, entries: addrs[f] });
  add(canonicalChain({ name: 'services', rules: dispatch }));

  if (opts.masquerade) {
    const rules: NftRule[] = [];
    for (const f of [4, 6] as const) {
      if (realServers[f].size) rules.push({ op: 'masquerade', family: f, addresses: [...realServers[f]] });
    }
    add(canonicalChain({ name: 'postrouting', base: { hook: 'postrouting', prio: HOOK_PRIO.postrouting }, rules }));
  }
  return { chains, sets };
}

const proto = (p: LbProtocol): Proto => p.toLowerCase() as Proto;

function dnat(s: LbService, d: Omit<LbDestination, 'weight'>, weight?: number): NftRule {
  const protocols: Proto[] =
    d.port === 0 ? [] : s.match.kind === 'address' ? [proto(s.match.protocol)] : ['sctp', 'tcp', 'udp'];
  return { op: 'dnat', family: s.family, protocols, address: d.address, port: d.port, ...(weight === undefined ? {} : { weight }) };
}

/** The rule that picks a destination for a new connection, by scheduler (header comment). */
function selection(s: LbService, svc: string, positive: readonly LbDestination[]): NftRule {
  const algo: LbAlgo = s.algo;
  if (algo === 'fo' || algo === 'ovf') {
    const best = positive.reduce((a, b) => (b.weight > a.weight ? b : a));
    return { op: 'goto', target: destChainName(svc, best) };
  }
  const widths = positive.map((d) => (algo === 'rr' ? 1 : d.weight));
  const entries: { from: number; to: number; target: string }[] = [];
  let at = 0;
  positive.forEach((d, i) => {
    const w = widths[i] as number;
    entries.push({ from: at, to: at + w - 1, target: destChainName(svc, d) });
    at += w;
  });
  const flags: readonly LbFlag[] = s.flags ?? [];
  const base = { op: 'select' as const, mod: at, entries };
  switch (algo) {
    case 'rr':
    case 'wrr':
      return { ...base, mode: 'inc', hash: [] };
    case 'sh':
    case 'mh':
      return { ...base, mode: 'jhash', hash: [`${ipk(s.family)} saddr`, ...(flags.includes('flag-2') ? ['th sport'] : [])] };
    case 'dh':
    case 'lblc':
    case 'lblcr':
      return { ...base, mode: 'jhash', hash: [`${ipk(s.family)} daddr`] };
    default: // lc wlc sed nq twos
      return { ...base, mode: 'random', hash: [] };
  }
}

/** Sort what the kernel may list in another order, so build and parse give equal models. */
function canonicalRule(r: NftRule): NftRule {
  switch (r.op) {
    case 'meta':
      return { ...r, flags: [...r.flags].sort() };
    case 'select':
      return { ...r, entries: [...r.entries].sort((a, b) => a.from - b.from) };
    case 'dnat':
      return { ...r, protocols: [...r.protocols].sort() };
    case 'dispatch-mark':
      return { ...r, entries: [...r.entries].sort((a, b) => a.mark - b.mark) };
    case 'dispatch-addr':
      return { ...r, entries: [...r.entries].sort((a, b) => cmp(`${a.address} ${a.protocol} ${a.port}`, `${b.address} ${b.protocol} ${b.port}`)) };
    case 'masquerade':
      return { ...r, addresses: [...r.addresses].sort(cmp) };
    default:
      return r;
  }
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

const canonicalChain = (c: NftChain): NftChain => ({ ...c, rules: c.rules.map(canonicalRule) });

function canonicalModel(m: { chains: Map<string, NftChain>; sets: Map<string, NftSet> }): NftModel {
  for (const [name, c] of m.chains) m.chains.set(name, canonicalChain(c));
  return m;
}

// ---------------------------------------------------------------------------------------------
// Model → nft text

const ipk = (f: LbFamily) => (f === 4 ? 'ip' : 'ip6');

function saddrText(family: LbFamily, prefix: number): string {
  const full = family === 4 ? 32 : 128;
  return prefix >= full ? `${ipk(family)} saddr` : `${ipk(family)} saddr & ${formatAddress(prefixMask(prefix, family))}`;
}

function target(family: LbFamily, address: string, port: number): string {
  if (port === 0) return address;
  return family === 6 ? `[${address}]:${port}` : `${address}:${port}`;
}

/** One rule as nft syntax. */
export function renderRule(r: NftRule): string {
  switch (r.op) {
    case 'meta':
      return `counter comment "vigil algo=${r.algo}${r.flags.length ? ` flags=${r.flags.join(',')}` : ''}"`;
    case 'persist':
      return `${saddrText(r.family, r.prefix)} @${r.set} goto ${r.target}`;
    case 'select': {
      const key =
        r.mode === 'jhash'
          ? `jhash ${r.hash.join(' . ')} mod ${r.mod} seed ${JHASH_SEED}`
          : `numgen ${r.mode} mod ${r.mod}`;
      const items = r.entries.map((e) => `${e.from === e.to ? e.from : `${e.from}-${e.to}`} : goto ${e.target}`);
      return `${key} vmap { ${items.join(', ')} }`;
    }
    case 'goto':
      return `goto ${r.target}`;
    case 'remember':
      return `update @${r.set} { ${saddrText(r.family, r.prefix)} }`;
    case 'dnat': {
      const match = r.protocols.length === 0 ? '' : r.protocols.length === 1 ? `meta l4proto ${r.protocols[0]} ` : `meta l4proto { ${r.protocols.join(', ')} } `;
      const comment = r.weight === undefined ? '' : ` comment "weight ${r.weight}"`;
      return `${match}counter dnat ${ipk(r.family)} to ${target(r.family, r.address, r.port)}${comment}`;
    }
    case 'dispatch-mark':
      return `meta nfproto ipv${r.family} meta mark vmap { ${r.entries.map((e) => `${e.mark} : jump ${e.target}`).join(', ')} }`;
    case 'dispatch-addr':
      return `${ipk(r.family)} daddr . meta l4proto . th dport vmap { ${r.entries
        .map((e) => `${e.address} . ${e.protocol} . ${e.port} : jump ${e.target}`)
        .join(', ')} }`;
    case 'jump':
      return `jump ${r.target}`;
    case 'masquerade':
      return `ct status dnat ${ipk(r.family)} daddr { ${r.addresses.join(', ')} } masquerade`;
    case 'unknown':
      throw new RangeError('an unknown rule cannot be rendered');
  }
}

function chainSpec(c: NftChain): string {
  return c.base ? ` { type nat hook ${c.base.hook} priority ${c.base.prio}; policy accept; }` : '';
}

function setSpec(s: NftSet): string {
  return ` { type ${s.family === 4 ? 'ipv4_addr' : 'ipv6_addr'}; flags dynamic,timeout; timeout ${s.timeoutS}s; size ${s.size}; }`;
}

/** Chains whose definition or rules differ between two models. */
export function changedChains(current: NftModel | undefined, desired: NftModel): string[] {
  const names = new Set([...(current?.chains.keys() ?? []), ...desired.chains.keys()]);
  return [...names].filter((n) => !isDeepStrictEqual(current?.chains.get(n), desired.chains.get(n)));
}

export function sameModel(a: NftModel | undefined, b: NftModel): boolean {
  return a !== undefined && changedChains(a, b).length === 0 && isDeepStrictEqual(new Map(a.sets), new Map(b.sets));
}

/**
 * One `nft -f` transaction that turns `current` into `desired`, touching only what differs. The
 * kernel applies it atomically: packets see the old rules or the new ones, never a half-built
 * table. Each step is safe on what `current` says exists; if someone changed the table in
 * between, the transaction fails whole and the caller lists again.
 */
export function transaction(table: string, current: NftModel | undefined, desired: NftModel): string {
  const t = `inet ${table}`;
  const lines = [`add table ${t}`];
  const cur = current ?? { chains: new Map<string, NftChain>(), sets: new Map<string, NftSet>() };
  const changed = new Set(changedChains(current, desired));
  const redefined = (name: string) => {
    const a = cur.chains.get(name);
    const b = desired.chains.get(name);
    return a !== undefined && (b === undefined || !isDeepStrictEqual(a.base, b.base));
  };
  // 1. empty every chain that changes or goes, which drops its references to chains and sets
  for (const name of cur.chains.keys()) if (changed.has(name)) lines.push(`flush chain ${t} ${name}`);
  // 2. delete what goes (a base chain whose hook changed is deleted and made again)
  for (const name of cur.chains.keys()) if (redefined(name)) lines.push(`delete chain ${t} ${name}`);
  for (const [name, s] of cur.sets) if (!isDeepStrictEqual(s, desired.sets.get(name))) lines.push(`delete set ${t} ${name}`);
  // 3. create what is new; existing chains and sets stay (with their persistence entries)
  for (const c of desired.chains.values()) if (!cur.chains.has(c.name) || redefined(c.name)) lines.push(`add chain ${t} ${c.name}${chainSpec(c)}`);
  for (const s of desired.sets.values()) if (!isDeepStrictEqual(cur.sets.get(s.name), s)) lines.push(`add set ${t} ${s.name}${setSpec(s)}`);
  // 4. fill the chains that changed
  for (const c of desired.chains.values()) {
    if (!changed.has(c.name)) continue;
    for (const r of c.rules) lines.push(`add rule ${t} ${c.name} ${renderRule(r)}`);
  }
  return `${lines.join('\n')}\n`;
}

/** Removes the table whether or not it exists. */
export function deleteTableScript(table: string): string {
  return `add table inet ${table}\ndelete table inet ${table}\n`;
}

// ---------------------------------------------------------------------------------------------
// `nft -j list table` → model

type Json = Record<string, unknown>;
const obj = (v: unknown): Json | undefined => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : undefined);

/** The model of a `nft -j -t list table inet NAME` listing. Rules vigil did not write become `unknown`. */
export function parseListing(listing: unknown, table: string): NftModel {
  const chains = new Map<string, NftChain>();
  const sets = new Map<string, NftSet>();
  const rules = new Map<string, NftRule[]>();
  const items = obj(listing)?.nftables;
  for (const item of Array.isArray(items) ? items : []) {
    const o = obj(item);
    const chain = obj(o?.chain);
    const set = obj(o?.set);
    const rule = obj(o?.rule);
    if (chain && chain.table === table && typeof chain.name === 'string') {
      const base =
        typeof chain.hook === 'string' && chain.type === 'nat' && typeof chain.prio === 'number' && chain.policy === 'accept'
          ? { hook: chain.hook, prio: chain.prio }
          : chain.hook !== undefined
            ? { hook: `${String(chain.type)} ${String(chain.hook)} ${String(chain.policy)}`, prio: Number(chain.prio) }
            : undefined;
      chains.set(chain.name, { name: chain.name, ...(base ? { base } : {}), rules: [] });
    } else if (set && set.table === table && typeof set.name === 'string') {
      const family = set.type === 'ipv4_addr' ? 4 : set.type === 'ipv6_addr' ? 6 : undefined;
      const flags = Array.isArray(set.flags) ? set.flags : [];
      // anything else vigil did not make: an impossible family marks it different
      sets.set(set.name, {
        name: set.name,
        family: family && flags.includes('timeout') ? family : (0 as LbFamily),
        timeoutS: Number(set.timeout),
        size: Number(set.size),
      });
    } else if (rule && rule.table === table && typeof rule.chain === 'string') {
      const list = rules.get(rule.chain) ?? [];
      list.push(parseRule(Array.isArray(rule.expr) ? rule.expr : [], typeof rule.comment === 'string' ? rule.comment : undefined));
      rules.set(rule.chain, list);
    }
  }
  for (const [name, list] of rules) {
    const c = chains.get(name);
    if (c) chains.set(name, { ...c, rules: list });
  }
  return canonicalModel({ chains, sets });
}

function parseRule(expr: unknown[], comment: string | undefined): NftRule {
  return matchRule(expr.map(obj), comment) ?? { op: 'unknown', json: JSON.stringify({ expr, comment }) };
}

/** `{payload: {protocol, field}}` */
function payload(v: unknown): { protocol: string; field: string } | undefined {
  const p = obj(obj(v)?.payload);
  return p && typeof p.protocol === 'string' && typeof p.field === 'string' ? { protocol: p.protocol, field: p.field } : undefined;
}

const familyOfProto = (p: string | undefined): LbFamily | undefined => (p === 'ip' ? 4 : p === 'ip6' ? 6 : undefined);

/** `ip saddr` or `ip saddr & MASK` → family and prefix */
function saddr(v: unknown): { family: LbFamily; prefix: number } | undefined {
  const direct = payload(v);
  if (direct) {
    const family = familyOfProto(direct.protocol);
    return direct.field === 'saddr' && family ? { family, prefix: family === 4 ? 32 : 128 } : undefined;
  }
  const and = obj(v)?.['&'];
  if (!Array.isArray(and) || and.length !== 2) return undefined;
  const p = payload(and[0]);
  const family = familyOfProto(p?.protocol);
  if (!p || p.field !== 'saddr' || !family || typeof and[1] !== 'string') return undefined;
  const mask = addressBytes(and[1], family);
  const prefix = mask && maskPrefix(mask);
  return prefix === undefined ? undefined : { family, prefix };
}

const verdictTarget = (v: unknown, kind: 'goto' | 'jump'): string | undefined => {
  const t = obj(obj(v)?.[kind])?.target;
  return typeof t === 'string' ? t : undefined;
};

const setRef = (v: unknown): string | undefined => (typeof v === 'string' && v.startsWith('@') ? v.slice(1) : undefined);

function isMatch(e: Json | undefined, left: (l: unknown) => boolean): Json | undefined {
  const m = obj(e?.match);
  return m && left(m.left) ? m : undefined;
}

const isMeta = (key: string) => (l: unknown) => obj(obj(l)?.meta)?.key === key;

/** The vmap's entries as [key, verdict] pairs. */
function vmapEntries(v: Json): [unknown, unknown][] | undefined {
  const set = obj(v.data)?.set;
  if (!Array.isArray(set)) return undefined;
  const out: [unknown, unknown][] = [];
  for (const e of set) {
    if (!Array.isArray(e) || e.length !== 2) return undefined;
    out.push([e[0], e[1]]);
  }
  return out;
}

function matchRule(e: (Json | undefined)[], comment: string | undefined): NftRule | undefined {
  const [a, b, c] = e;
  const n = e.length;
  // counter comment "vigil algo=wlc flags=flag-2"
  if (n === 1 && a?.counter !== undefined && comment?.startsWith('vigil ')) {
    const words = Object.fromEntries(comment.slice(6).split(' ').map((w) => w.split('=') as [string, string]));
    return typeof words.algo === 'string' ? { op: 'meta', algo: words.algo, flags: words.flags ? words.flags.split(',') : [] } : undefined;
  }
  // ip saddr [& mask] @set goto chain
  if (n === 2) {
    const m = obj(a?.match);
    const s = m && m.op === '==' ? saddr(m.left) : undefined;
    const set = setRef(m?.right);
    const t = verdictTarget(b, 'goto');
    if (s && set && t) return { op: 'persist', family: s.family, prefix: s.prefix, set, target: t };
  }
  // update @set { ip saddr [& mask] }
  if (n === 1 && obj(a?.set)) {
    const u = obj(a?.set) as Json;
    const s = saddr(u.elem);
    const set = setRef(u.set);
    if (u.op === 'update' && s && set) return { op: 'remember', family: s.family, prefix: s.prefix, set };
  }
  if (n === 1 && verdictTarget(a, 'goto')) return { op: 'goto', target: verdictTarget(a, 'goto') as string };
  if (n === 1 && verdictTarget(a, 'jump')) return { op: 'jump', target: verdictTarget(a, 'jump') as string };
  // numgen / jhash vmap
  if (n === 1 && obj(a?.vmap)) return selectRule(obj(a?.vmap) as Json) ?? dispatchAddr(obj(a?.vmap) as Json);
  // meta nfproto ipvN meta mark vmap {...}
  if (n === 2 && isMatch(a, isMeta('nfproto')) && obj(b?.vmap)) {
    const family = obj(a?.match)?.right === 'ipv4' ? 4 : obj(a?.match)?.right === 'ipv6' ? 6 : undefined;
    const v = obj(b?.vmap) as Json;
    const entries = vmapEntries(v);
    if (!family || !isMeta('mark')(v.key) || !entries) return undefined;
    const out: { mark: number; target: string }[] = [];
    for (const [k, verdict] of entries) {
      const t = verdictTarget(verdict, 'jump');
      if (typeof k !== 'number' || !t) return undefined;
      out.push({ mark: k, target: t });
    }
    return { op: 'dispatch-mark', family, entries: out };
  }
  // [meta l4proto P|{...}] counter dnat ip to A[:P]
  const dn = obj(e[n - 1]?.dnat);
  if (dn && e[n - 2]?.counter !== undefined && (n === 2 || (n === 3 && isMatch(a, isMeta('l4proto'))))) {
    const family = familyOfProto(String(dn.family));
    const address = family && typeof dn.addr === 'string' ? canonicalAddress(dn.addr, family) : undefined;
    if (!family || !address) return undefined;
    const right = n === 3 ? obj(a?.match)?.right : undefined;
    const protocols = (typeof right === 'string' ? [right] : Array.isArray(obj(right)?.set) ? (obj(right)?.set as unknown[]) : []).map(String) as Proto[];
    const w = comment ? /^weight (\d+)$/.exec(comment) : null;
    const port = typeof dn.port === 'number' ? dn.port : 0;
    return { op: 'dnat', family, protocols, address, port, ...(w ? { weight: Number(w[1]) } : {}) };
  }
  // ct status dnat ip daddr {...} masquerade
  if (n === 3 && isMatch(a, (l) => obj(obj(l)?.ct)?.key === 'status') && c !== undefined && 'masquerade' in (c ?? {})) {
    const m = obj(b?.match);
    const p = payload(m?.left);
    const family = familyOfProto(p?.protocol);
    if (!m || !family || p?.field !== 'daddr') return undefined;
    const right = typeof m.right === 'string' ? [m.right] : obj(m.right)?.set;
    if (!Array.isArray(right)) return undefined;
    const addresses = right.map((x) => canonicalAddress(String(x), family));
    if (addresses.some((x) => x === undefined)) return undefined;
    return { op: 'masquerade', family, addresses: addresses as string[] };
  }
  return undefined;
}

function selectRule(v: Json): NftRule | undefined {
  const key = obj(v.key);
  const entries = vmapEntries(v);
  if (!key || !entries) return undefined;
  const numgen = obj(key.numgen);
  const jhash = obj(key.jhash);
  let mode: 'inc' | 'random' | 'jhash';
  const hash: string[] = [];
  let mod: unknown;
  if (numgen && (numgen.mode === 'inc' || numgen.mode === 'random') && numgen.offset === 0) {
    mode = numgen.mode;
    mod = numgen.mod;
  } else if (jhash && jhash.seed === JHASH_SEED) {
    mode = 'jhash';
    mod = jhash.mod;
    const concat = obj(jhash.expr)?.concat;
    for (const part of Array.isArray(concat) ? concat : [jhash.expr]) {
      const p = payload(part);
      if (!p) return undefined;
      hash.push(`${p.protocol} ${p.field}`);
    }
  } else {
    return undefined;
  }
  if (typeof mod !== 'number') return undefined;
  const out: { from: number; to: number; target: string }[] = [];
  for (const [k, verdict] of entries) {
    const t = verdictTarget(verdict, 'goto');
    const range = obj(k)?.range;
    const [from, to] = typeof k === 'number' ? [k, k] : Array.isArray(range) ? range : [];
    if (!t || typeof from !== 'number' || typeof to !== 'number') return undefined;
    out.push({ from, to, target: t });
  }
  return { op: 'select', mode, hash, mod, entries: out };
}

function dispatchAddr(v: Json): NftRule | undefined {
  const parts = obj(v.key)?.concat;
  if (!Array.isArray(parts) || parts.length !== 3) return undefined;
  const d = payload(parts[0]);
  const family = familyOfProto(d?.protocol);
  if (!family || d?.field !== 'daddr' || !isMeta('l4proto')(parts[1])) return undefined;
  const port = payload(parts[2]);
  if (port?.protocol !== 'th' || port.field !== 'dport') return undefined;
  const entries = vmapEntries(v);
  if (!entries) return undefined;
  const out: { address: string; protocol: Proto; port: number; target: string }[] = [];
  for (const [k, verdict] of entries) {
    const key = obj(k)?.concat;
    const t = verdictTarget(verdict, 'jump');
    if (!Array.isArray(key) || key.length !== 3 || !t) return undefined;
    const address = canonicalAddress(String(key[0]), family);
    const protocol = key[1];
    if (!address || (protocol !== 'tcp' && protocol !== 'udp' && protocol !== 'sctp') || typeof key[2] !== 'number') return undefined;
    out.push({ address, protocol, port: key[2], target: t });
  }
  return { op: 'dispatch-addr', family, entries: out };
}

// ---------------------------------------------------------------------------------------------
// Model → table

/**
 * The LB table a model declares: services reachable from the hooks, with their destinations (a
 * chain each, weight in its comment), persistence and the sorry server while it is in use. A
 * service whose rules vigil cannot read is left out (apply will rewrite it).
 */
export function modelToTable(m: NftModel): LbTable {
  const hooked = (name: string) => {
    const c = m.chains.get(name);
    return c?.base?.hook === name && isDeepStrictEqual(c.rules, [{ op: 'jump', target: 'services' }]);
  };
  if (!hooked('prerouting') || !hooked('output')) return { services: [] };
  const services: LbService[] = [];
  for (const r of m.chains.get('services')?.rules ?? []) {
    if (r.op === 'dispatch-mark') {
      for (const e of r.entries) pushService(services, m, { kind: 'fwmark', fwmark: e.mark }, r.family, e.target);
    } else if (r.op === 'dispatch-addr') {
      for (const e of r.entries) {
        const protocol = e.protocol.toUpperCase() as LbProtocol;
        pushService(services, m, { kind: 'address', address: e.address, port: e.port, protocol }, r.family, e.target);
      }
    }
  }
  return normalizeTable({ services });
}

function pushService(out: LbService[], m: NftModel, match: LbService['match'], family: LbFamily, svc: string): void {
  const rules = m.chains.get(svc)?.rules;
  const meta = rules?.find((r) => r.op === 'meta');
  if (!rules || meta?.op !== 'meta') return;
  const destinations: LbDestination[] = [];
  for (const [name, c] of m.chains) {
    if (!name.startsWith(`${svc}/`) || name === sorryChainName(svc)) continue;
    const d = c.rules.find((r) => r.op === 'dnat');
    if (d?.op === 'dnat' && d.weight !== undefined) destinations.push({ address: d.address, port: d.port, weight: d.weight, kind: 'NAT' });
  }
  const persist = rules.find((r) => r.op === 'persist');
  const set = persist?.op === 'persist' ? m.sets.get(persist.set) : undefined;
  const sorryDnat = rules.some((r) => r.op === 'goto' && r.target === sorryChainName(svc))
    ? m.chains.get(sorryChainName(svc))?.rules.find((r) => r.op === 'dnat')
    : undefined;
  const service: LbService = {
    match,
    family,
    algo: meta.algo as LbAlgo,
    flags: meta.flags as LbFlag[],
    destinations,
    ...(persist?.op === 'persist' && set ? { persistence: { timeoutS: set.timeoutS, prefix: persist.prefix } } : {}),
    ...(sorryDnat?.op === 'dnat' ? { sorry: { address: sorryDnat.address, port: sorryDnat.port, kind: 'NAT' as const } } : {}),
  };
  try {
    out.push(normalizeTable({ services: [service] }).services[0] as LbService);
  } catch {
    // a service vigil cannot read back (hand-edited): left out, so apply rewrites it
  }
}
