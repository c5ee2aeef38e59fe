// An in-memory IpNet: links you can add, remove and set down/up, addresses per interface, routes as
// strings, and every announcement recorded. Events are delivered synchronously (the real adapter
// delivers them a little later), so unit tests stay deterministic. Passes test/contract/ipNet.contract.ts.
import { formatIP, parseIP, parseMac } from '../../adapters/ip/addr.js';
import { routeWords } from '../../adapters/ip/routes.js';
import type {
  AddressEvent, AddressInfo, AddressKey, AnnounceOptions, AnnounceResult, IpNet, IpOpResult, LinkInfo,
  MacvlanSpec, OpResult, RouteLine, RouteOpResult, VipSpec,
} from '../../adapters/ip/types.js';

export interface FakeAnnouncement {
  readonly dev: string;
  readonly address: string;
  readonly family: 4 | 6;
  /** the MAC the frame would carry */
  readonly mac: string;
}

const SCOPES: Record<string, number> = { global: 0, universe: 0, site: 200, link: 253, host: 254, nowhere: 255 };

interface FakeLink { name: string; index: number; up: boolean; mac: string; kind?: string }

export class FakeIpNet implements IpNet {
  /** every frame announce() would have sent, in order */
  readonly announcements: FakeAnnouncement[] = [];
  /** per address (canonical text): the errno the next add/remove of it fails with (once) */
  readonly failNext = new Map<string, string>();
  private readonly linkTable = new Map<string, FakeLink>();
  private readonly addrs: AddressInfo[] = [];
  private readonly routeSet = new Set<string>();
  private readonly linkWatchers = new Set<(l: LinkInfo) => void>();
  private readonly addrWatchers = new Set<(e: AddressEvent) => void>();
  private nextIndex = 1;
  closed = false;

  constructor(links: readonly (Partial<Omit<FakeLink, 'index'>> & { name: string })[] = [{ name: 'lo' }, { name: 'eth0' }]) {
    for (const l of links) this.addLink(l.name, l);
  }

  // ---- test controls

  addLink(name: string, o: { up?: boolean; mac?: string; kind?: string } = {}): LinkInfo {
    const index = this.nextIndex++;
    const l: FakeLink = { name, index, up: o.up ?? true, mac: o.mac ?? `02:00:00:00:00:${index.toString(16).padStart(2, '0')}`, ...(o.kind ? { kind: o.kind } : {}) };
    this.linkTable.set(name, l);
    this.emitLink(l);
    return info(l);
  }

  removeLink(name: string): void {
    const l = this.linkTable.get(name);
    if (!l) return;
    for (const a of this.addrs.filter((x) => x.index === l.index)) this.drop(a);
    this.linkTable.delete(name);
    for (const w of this.linkWatchers) w({ ...info(l), up: false, deleted: true });
  }

  /** Operational state change (admin down, or carrier lost). */
  setLinkUp(name: string, up: boolean): void {
    const l = this.linkTable.get(name);
    if (!l || l.up === up) return;
    l.up = up;
    this.emitLink(l);
  }

  /** An administrator's `ip addr del`: the watchers see it, we did not do it. */
  deleteBehindBack(key: AddressKey): boolean {
    const a = this.find(key);
    if (a) this.drop(a);
    return a !== undefined;
  }

  routes(): string[] {
    return [...this.routeSet];
  }

  // ---- IpNet

  async addAddresses(list: readonly VipSpec[]): Promise<IpOpResult[]> {
    return list.map((spec) => {
      const l = this.linkTable.get(spec.dev);
      if (!l) return { spec, ok: false, error: 'ENODEV', detail: `no interface '${spec.dev}'` };
      const bytes = parseIP(spec.address, spec.family);
      const max = spec.family === 4 ? 32 : 128;
      if (!bytes || spec.prefix < 0 || spec.prefix > max) return { spec, ok: false, error: 'EINVAL', detail: 'bad address' };
      const address = formatIP(bytes);
      const injected = this.takeFailure(address);
      if (injected) return { spec, ok: false, error: injected };
      if (this.find(spec)) return { spec, ok: true };
      const v4 = spec.family === 4;
      const scope = v4 && spec.scope !== undefined ? SCOPES[spec.scope] ?? Number(spec.scope) : 0;
      const peerBytes = spec.peer === undefined ? undefined : parseIP(spec.peer, spec.family);
      const a: AddressInfo = {
        address, prefix: spec.prefix, family: spec.family, dev: l.name, index: l.index, scope,
        ...(v4 ? { label: spec.label ?? l.name } : {}), ...(peerBytes ? { peer: formatIP(peerBytes) } : {}),
      };
      this.addrs.push(a);
      for (const w of this.addrWatchers) w({ ...a, added: true });
      return { spec, ok: true };
    });
  }

  async removeAddresses(list: readonly VipSpec[]): Promise<IpOpResult[]> {
    return list.map((spec) => {
      const bytes = parseIP(spec.address, spec.family);
      if (!bytes) return { spec, ok: false, error: 'EINVAL', detail: 'bad address' };
      const injected = this.takeFailure(formatIP(bytes));
      if (injected) return { spec, ok: false, error: injected };
      const a = this.find(spec);
      if (a) this.drop(a);
      return { spec, ok: true };
    });
  }

  async hasAddress(key: AddressKey): Promise<boolean> {
    return this.find(key) !== undefined;
  }

  async addresses(dev?: string): Promise<AddressInfo[]> {
    return this.addrs.filter((a) => dev === undefined || a.dev === dev).map((a) => ({ ...a }));
  }

  async addRoutes(list: readonly RouteLine[]): Promise<RouteOpResult[]> {
    return list.map((spec) => this.route(spec, (k) => this.routeSet.add(k)));
  }

  async removeRoutes(list: readonly RouteLine[]): Promise<RouteOpResult[]> {
    return list.map((spec) => this.route(spec, (k) => this.routeSet.delete(k)));
  }

  async links(): Promise<LinkInfo[]> {
    return [...this.linkTable.values()].map(info);
  }

  watchLinks(onChange: (link: LinkInfo) => void): () => void {
    const w = (l: LinkInfo) => onChange(l);
    this.linkWatchers.add(w);
    return () => void this.linkWatchers.delete(w);
  }

  watchAddresses(onChange: (ev: AddressEvent) => void): () => void {
    const w = (e: AddressEvent) => onChange(e);
    this.addrWatchers.add(w);
    return () => void this.addrWatchers.delete(w);
  }

  async announce(dev: string, addresses: readonly string[], opts: AnnounceOptions = {}): Promise<AnnounceResult[]> {
    const l = this.linkTable.get(dev);
    return addresses.map((spec): AnnounceResult => {
      if (!l) return { spec, ok: false, error: 'ENODEV', detail: `no interface '${dev}'` };
      if (opts.vmacSrc !== undefined && !parseMac(opts.vmacSrc)) return { spec, ok: false, error: 'EINVAL', detail: 'vmacSrc' };
      const family = spec.includes(':') ? 6 : 4;
      const bytes = parseIP(spec, family);
      if (!bytes) return { spec, ok: false, error: 'EINVAL', detail: `'${spec}' is not an address` };
      // sendto() on an interface that is down fails with ENETDOWN
      if (!l.up) return { spec, ok: false, error: 'ENETDOWN' };
      this.announcements.push({ dev, address: formatIP(bytes), family, mac: opts.vmacSrc?.toLowerCase() ?? l.mac });
      return { spec, ok: true };
    });
  }

  async createMacvlan(spec: MacvlanSpec): Promise<OpResult<MacvlanSpec>> {
    if (!this.linkTable.has(spec.parent)) return { spec, ok: false, error: 'ENODEV' };
    if (!parseMac(spec.mac)) return { spec, ok: false, error: 'EINVAL' };
    if (!this.linkTable.has(spec.name)) this.addLink(spec.name, { mac: spec.mac.toLowerCase(), kind: 'macvlan' });
    return { spec, ok: true };
  }

  async deleteLink(name: string): Promise<OpResult<string>> {
    this.removeLink(name);
    return { spec: name, ok: true };
  }

  async close(): Promise<void> {
    this.closed = true;
    this.linkWatchers.clear();
    this.addrWatchers.clear();
  }

  // ---- internals

  private find(key: AddressKey): AddressInfo | undefined {
    const b = parseIP(key.address, key.family);
    const address = b ? formatIP(b) : key.address;
    return this.addrs.find((a) => a.dev === key.dev && a.family === key.family && a.address === address);
  }

  private drop(a: AddressInfo): void {
    this.addrs.splice(this.addrs.indexOf(a), 1);
    for (const w of this.addrWatchers) w({ ...a, added: false });
  }

  private takeFailure(address: string): string | undefined {
    const e = this.failNext.get(address);
    this.failNext.delete(address);
    return e;
  }

  private route(spec: RouteLine, apply: (key: string) => void): RouteOpResult {
    const w = routeWords(spec.words);
    if (!w.ok) return { spec, ok: false, error: 'EINVAL', detail: w.detail };
    const dev = w.words[w.words.indexOf('dev') + 1];
    if (w.words.includes('dev') && (dev === undefined || !this.linkTable.has(dev))) {
      return { spec, ok: false, error: 'ENODEV', detail: `Cannot find device "${dev}"` };
    }
    apply(`${spec.family} ${w.words.join(' ')}`);
    return { spec, ok: true };
  }

  private emitLink(l: FakeLink): void {
    for (const w of this.linkWatchers) w(info(l));
  }
}

function info(l: FakeLink): LinkInfo {
  return { name: l.name, index: l.index, up: l.up, mac: l.mac, ...(l.kind ? { kind: l.kind } : {}) };
}
