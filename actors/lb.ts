// The LB actor ("ipvs" in the design): holds the desired table, built from the virtual servers'
// destination tables (actors/lvs.ts), and makes the data plane match it through one LoadBalancer
// driver (kernel IPVS or nftables, adapters/lb/). Changes are coalesced (many checker results in
// one tick are one apply) and serialised; every change the driver made is an `lb.change` event
// continuing the chain of the table change that caused it. A reconciliation timer re-applies the
// table: what it changes is drift (someone ran `ipvsadm -C` or `nft flush ruleset`), repaired
// and published as such. Data-plane errors are logged and published, and retried on the timer.
import type { VirtualServer, VirtualServerGroup } from '../adapters/config/model.js';
import { kindOf, lbFlagsOf, persistenceOf, sorryKindOf } from '../adapters/lb/config.js';
import { familyOf } from '../adapters/lb/table.js';
import type { LbAlgo, LbChange, LbDestination, LbService, LbTable, LoadBalancer } from '../adapters/lb/types.js';
import { LB_ALGOS } from '../adapters/lb/types.js';
import type { TableEntry } from '../machines/virtual-server.machine.js';
import { realServerKey } from '../machines/lvs-input.js';
import type { Bus, BusEvent } from './bus.js';
import type { Logger } from './log.js';

export interface LbPorts {
  readonly lb: LoadBalancer;
  readonly bus: Bus;
  readonly log: Logger;
  /** re-apply (repairing drift) this often; 0: never (default 5000 ms) */
  readonly reconcileMs?: number;
}

/** the longest the changes of one apply are published for in one turn of the event loop (ms) */
const PUBLISH_SLICE_MS = 2;

/** keepalived's weight limit is INT32_MAX; the LB port carries 0..65535 (IPVS's u32 in practice is capped the same by ipvsadm) */
const clampWeight = (w: number) => Math.max(0, Math.min(65535, Math.round(w)));

/** The services one virtual_server stands for (a group: one per address, range address, or fwmark entry), without destinations. */
export function servicesOf(vs: VirtualServer, groups: readonly VirtualServerGroup[] = []): Omit<LbService, 'destinations'>[] {
  const fam = (a: string) => familyOf(a);
  const base = (family: 4 | 6) => {
    const persistence = persistenceOf(vs, family);
    const algo = (LB_ALGOS as readonly string[]).includes(vs.lbAlgo) ? (vs.lbAlgo as LbAlgo) : 'wlc';
    const flags = lbFlagsOf(vs.lbFlags);
    return { family, algo, ...(flags.length ? { flags } : {}), ...(persistence ? { persistence } : {}) };
  };
  const sorry = (family: 4 | 6) =>
    vs.sorryServer && fam(vs.sorryServer.address) === family
      ? { sorry: { address: vs.sorryServer.address, port: vs.sorryServer.port ?? vs.port ?? 0, kind: sorryKindOf(vs) } }
      : {};
  if (vs.kind === 'fwmark') {
    const family = vs.family ?? 4;
    return [{ match: { kind: 'fwmark', fwmark: vs.fwmark! }, ...base(family), ...sorry(family) }];
  }
  if (vs.kind === 'address') {
    const family = fam(vs.address!);
    return [{ match: { kind: 'address', address: vs.address!, port: vs.port ?? 0, protocol: vs.protocol }, ...base(family), ...sorry(family) }];
  }
  const g = groups.find((x) => x.name === vs.group);
  const out: Omit<LbService, 'destinations'>[] = [];
  for (const e of g?.entries ?? []) {
    if (e.kind === 'fwmark') out.push({ match: { kind: 'fwmark', fwmark: e.fwmark! }, ...base(e.family), ...sorry(e.family) });
    else for (const address of expandRange(e.address!, e.last)) {
      out.push({ match: { kind: 'address', address, port: e.port ?? vs.port ?? 0, protocol: vs.protocol }, ...base(e.family), ...sorry(e.family) });
    }
  }
  return out;
}

/** `10.0.0.1`–`10.0.0.5` (keepalived's `10.0.0.1-5`: the last byte or group varies) */
function expandRange(first: string, last?: string): string[] {
  if (!last || last === first) return [first];
  if (first.includes(':')) {
    const head = first.slice(0, first.lastIndexOf(':') + 1);
    const a = parseInt(first.slice(head.length) || '0', 16);
    const b = parseInt(last.slice(last.lastIndexOf(':') + 1), 16);
    return Array.from({ length: Math.max(0, b - a + 1) }, (_, i) => `${head}${(a + i).toString(16)}`);
  }
  const head = first.slice(0, first.lastIndexOf('.') + 1);
  const a = Number(first.slice(head.length));
  const b = Number(last.slice(last.lastIndexOf('.') + 1));
  return Array.from({ length: Math.max(0, b - a + 1) }, (_, i) => `${head}${a + i}`);
}

export class LbActor {
  private readonly desired = new Map<string, { vs: VirtualServer; entries: readonly TableEntry[]; cause?: BusEvent }>();
  private scheduled = false;
  private running: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  /** applies that failed since the last success (retried by the reconciliation timer) */
  failures = 0;

  /** the config's virtual_server_groups, which group virtual servers expand to (a reload replaces them) */
  get groups(): readonly VirtualServerGroup[] {
    return this._groups;
  }

  set groups(g: readonly VirtualServerGroup[]) {
    this._groups = g;
    this.built = undefined;
    this.servicesOf.clear();
  }

  private _groups: readonly VirtualServerGroup[] = [];
  private built: LbTable | undefined;
  /**
   * Each virtual server's services as last built: a table change rebuilds only its own virtual
   * server's, and the others stay the same objects, which the nftables driver's model work is
   * keyed on (one service's change costs one service's work, not 1,000 destinations').
   */
  private readonly servicesOf = new Map<string, LbService[]>();

  constructor(private readonly ports: LbPorts) {
    const every = ports.reconcileMs ?? 5000;
    if (every > 0) {
      this.timer = setInterval(() => this.enqueue('reconcile'), every);
      this.timer.unref();
    }
  }

  get driver(): string {
    return this.ports.lb.driver;
  }

  /** a virtual server's destinations (its machine's `vs.table`); `cause` is that event */
  update(vs: VirtualServer, name: string, entries: readonly TableEntry[], cause?: BusEvent): void {
    this.desired.set(name, { vs, entries, ...(cause ? { cause } : {}) });
    this.built = undefined;
    this.servicesOf.delete(name);
    if (this.scheduled) return;
    this.scheduled = true;
    // every table change of this tick in one apply
    setImmediate(() => {
      this.scheduled = false;
      this.enqueue('change');
    });
  }

  /** a virtual server no longer run: its services leave the data plane */
  remove(name: string): void {
    if (!this.desired.delete(name)) return;
    this.built = undefined;
    this.servicesOf.delete(name);
    this.enqueue('change');
  }

  /**
   * The whole desired table. The same object until a virtual server's table changes: the drivers
   * see that nothing changed on our side without comparing 1,000 destinations (adapters/lb/nftables.ts).
   */
  table(): LbTable {
    this.built ??= this.build();
    return this.built;
  }

  private build(): LbTable {
    const services: LbService[] = [];
    for (const [name, d] of this.desired) {
      let built = this.servicesOf.get(name);
      if (!built) this.servicesOf.set(name, (built = this.buildServices(d.vs, d.entries)));
      services.push(...built);
    }
    return { services };
  }

  private buildServices(vs: VirtualServer, entries: readonly TableEntry[]): LbService[] {
    const dests: LbDestination[] = [];
    const byKey = new Map(vs.realServers.map((r) => [realServerKey(r.address, r.port ?? vs.port), r]));
    for (const e of entries) {
      if (e.sorry) continue;
      const rs = byKey.get(e.key);
      dests.push({
        address: e.address,
        port: e.port ?? 0,
        weight: clampWeight(e.weight),
        kind: kindOf(vs, rs),
        ...(rs?.uthreshold ? { upperThreshold: rs.uthreshold } : {}),
        ...(rs?.lthreshold ? { lowerThreshold: rs.lthreshold } : {}),
      });
    }
    return servicesOf(vs, this.groups).map((s) => ({ ...s, destinations: dests.filter((d) => familyOf(d.address) === s.family) }));
  }

  private enqueue(why: 'change' | 'reconcile'): void {
    if (this.closed) return;
    this.running = this.running.then(() => this.apply(why));
  }

  /** resolves once every change so far is applied (tests, shutdown) */
  settled(): Promise<void> {
    return new Promise((resolve) => setImmediate(() => resolve(this.running)));
  }

  private async apply(why: 'change' | 'reconcile'): Promise<void> {
    const { lb, bus, log } = this.ports;
    const causes = [...this.desired.values()].map((d) => d.cause).filter((c): c is BusEvent => !!c);
    for (const d of this.desired.values()) delete (d as { cause?: BusEvent }).cause;
    let changes: readonly LbChange[];
    try {
      changes = (await lb.apply(this.table())).changes;
    } catch (err) {
      this.failures++;
      if (this.failures === 1 || this.failures % 60 === 0) {
        log.error({ err, failures: this.failures }, `load balancer (${lb.driver}): cannot apply the table: ${(err as Error).message}`);
        bus.publish('lb', lb.driver, 'lb.error', { driver: lb.driver, error: (err as Error).message, failures: this.failures });
      }
      return;
    }
    if (this.failures) log.info(`load balancer (${lb.driver}): table applied again after ${this.failures} failure(s)`);
    this.failures = 0;
    // a change continues the chain of the table change it serves (the last one, when several were coalesced)
    const cause = causes.at(-1);
    const drift = why === 'reconcile';
    // a first apply adds every destination at once (1,000 changes: as many log lines and events,
    // 50-100 ms of work): published a slice at a time, so VRRP's timers get their turns between
    let until = performance.now() + PUBLISH_SLICE_MS;
    for (const c of changes) {
      if (performance.now() > until) {
        await new Promise((resolve) => setImmediate(resolve));
        until = performance.now() + PUBLISH_SLICE_MS;
      }
      const text = describe(c);
      if (drift) log.warn({ change: c }, `load balancer (${lb.driver}): repaired drift: ${text}`);
      else log.info({ change: c }, `load balancer (${lb.driver}): ${text}`);
      bus.publish('lb', lb.driver, 'lb.change', { ...c, driver: lb.driver, drift }, cause && !drift ? { cause: cause.id, correlation: cause.correlation } : {});
    }
  }

  /** stop reconciling; remove our entries unless `keep` (with `all`: every entry, see LoadBalancer.close) */
  async close(opts: { keep?: boolean; all?: boolean } = {}): Promise<void> {
    // what stays must be what the checks last decided: a change made this turn (a server just
    // removed) is applied now, not dropped with the apply its setImmediate would have queued
    if (opts.keep && !this.closed) this.enqueue('change');
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    await this.running;
    const { lb, log } = this.ports;
    await lb.close(opts).then(
      () => log.info(opts.keep ? `load balancer (${lb.driver}): entries kept (--dont-release-ipvs)` : opts.all ? `load balancer (${lb.driver}): flushed (lvs_flush_on_stop)` : `load balancer (${lb.driver}): entries removed`),
      (err: Error) => log.warn({ err }, `load balancer: cannot remove its entries: ${err.message}`),
    );
  }
}

function describe(c: LbChange): string {
  switch (c.kind) {
    case 'service.added': return `service ${c.service} added`;
    case 'service.removed': return `service ${c.service} removed`;
    case 'service.changed': return `service ${c.service} changed (${c.fields.join(', ')})`;
    case 'destination.added': return `${c.service}: destination ${c.destination} added, weight ${c.weight}`;
    case 'destination.removed': return `${c.service}: destination ${c.destination} removed`;
    case 'destination.changed': return `${c.service}: destination ${c.destination} weight ${c.previousWeight} -> ${c.weight}`;
    case 'dataplane.repaired': return `data plane repaired: ${c.detail}`;
  }
}
