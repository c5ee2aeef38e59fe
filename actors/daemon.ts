// The daemon: owns lifecycle and reload. It starts every VRRP instance, sync group and tracker of a
// checked config, routes sync-group traffic between them, applies a reload as a minimal diff, and
// on stop ends them gracefully (priority-0 adverts, VIPs removed).
import { createActor, type Actor } from 'xstate';
import type { KeepalivedConfig, SyncGroup, VirtualServer } from '../adapters/config/model.js';
import type { TableEntry } from '../machines/virtual-server.machine.js';
import type { IpNet } from '../adapters/ip/types.js';
import type { VrrpNet } from '../adapters/vrrp/types.js';
import { createNftFirewall, type VipFirewall } from '../adapters/ip/firewall.js';
import type { TrackerStatus } from '../machines/priority.js';
import { syncGroupMachine } from '../machines/sync-group.machine.js';
import { Bus, type BusEvent } from './bus.js';
import type { Logger } from './log.js';
import type { Clock } from './clock.js';
import { TrackerSet } from './trackers.js';
import { createProber, proberOptionsFor, type Prober } from '../adapters/checkers/index.js';
import type { LoadBalancer } from '../adapters/lb/types.js';
import { LbActor } from './lb.js';
import { LvsSet, planLvsReload, unwatchedCheckers, type HealthChecks, type LvsReloadReport } from './lvs.js';
import { RemoteLvs } from './lvs-remote.js';
import { virtualServerName } from '../machines/lvs-input.js';
import { resolveAll, vipKey, VrrpInstanceActor, type ResolvedInstance } from './vrrp.js';

export interface DaemonPorts {
  readonly net: VrrpNet;
  readonly ip: IpNet;
  readonly log: Logger;
  readonly bus?: Bus;
  /** for daemon.started / daemon.stopping */
  readonly version?: string;
  readonly configFile?: string;
  /** track scripts' last states from the journal, to resume from (actors/resume.ts) */
  readonly resume?: ReadonlyMap<string, 'ok' | 'failed'>;
  /** vrrp_strict's drop rules (created on demand over nftables when absent) */
  readonly firewall?: VipFirewall;
  /** XState clock for every actor (a SimulatedClock in tests) */
  readonly clock?: Clock;
  /** track scripts' runner (a fake in unit tests; default: the spawn server) */
  readonly runner?: ConstructorParameters<typeof TrackerSet>[1]['runner'];
  /** health probes (default: adapters/checkers' createProber) */
  readonly prober?: Prober;
  /** the data plane for virtual servers; without one, checkers run and tables are only published */
  readonly lb?: LoadBalancer;
  /** the LB actor's reconciliation period (default 5 s) */
  readonly lbReconcileMs?: number;
  /**
   * keepalived's `-I` (`vigil run --dont-release-ipvs`): on stop the data plane keeps every entry,
   * the virtual servers stop without omega's DOWNs, and the next start takes the entries over
   */
  readonly lbKeepOnStop?: boolean;
  /**
   * keepalived's `-V` (`vigil run --dont-release-vrrp`): on stop no priority-0 advert is sent and
   * the VIPs, virtual routes and VMACs stay (the next start removes leftovers before it runs)
   */
  readonly vrrpKeepOnStop?: boolean;
  /**
   * Run the health checks in a worker thread (actors/lvs-remote.ts), so that they never delay VRRP.
   * 'auto' (`vigil run`): on this thread when every check runs in the native probe engine (steady
   * checks cost no JavaScript there; about 20 MB of memory and half the CPU saved), else on their
   * own thread; decided at start, and a reload that brings checks the engine does not run moves
   * them all to a thread (Daemon.checksToThread). Ignored (this thread) when a clock or a prober
   * is given.
   */
  readonly checkerThread?: boolean | 'auto';
}

/** What a reload did; also the data of the `daemon.reloaded` event. */
export interface ReloadReport {
  /** instances started */
  added: string[];
  /** instances stopped (priority 0 if MASTER, VIPs removed) */
  removed: string[];
  /** instances whose identity changed (interface, VRID, version, peers, auth …): stopped, then started */
  replaced: string[];
  /** instances changed in place, with the parameters that changed; they keep their state */
  changed: { instance: string; fields: string[] }[];
  /** instances untouched */
  unchanged: number;
  syncGroups: { added: string[]; removed: string[]; replaced: string[] };
  /** virtual servers: unchanged ones keep their checkers and state, changed ones restart */
  virtualServers: { added: string[]; removed: string[]; replaced: string[]; unchanged: number };
  /** the trackers were restarted from their last states (their config changed), or kept running */
  trackers: 'kept' | 'restarted';
  configFile?: string;
  durationMs: number;
}

/** JSON without source locations: two parses of the same text compare equal */
const noLoc = (v: unknown) => JSON.stringify(v, (k, x: unknown) => (k === 'loc' || k.endsWith('Loc') ? undefined : x));

/** Everything the trackers depend on: when it changes, the tracker set is rebuilt. */
function trackerConfig(c: KeepalivedConfig): string {
  const refs = (x: { name: string; trackScripts: unknown; trackFiles: unknown; trackProcesses: unknown }) => [x.name, x.trackScripts, x.trackFiles, x.trackProcesses];
  return noLoc([c.vrrpScripts, c.trackFiles, c.trackProcesses, c.global.scriptUser ?? null, c.instances.map(refs), c.syncGroups.map(refs)]);
}

const groupKey = (g: SyncGroup) => noLoc([g.name, g.members.map((m) => m.name)]);

export class Daemon {
  readonly bus: Bus;
  readonly instances = new Map<string, VrrpInstanceActor>();
  readonly groups = new Map<string, Actor<typeof syncGroupMachine>>();
  private readonly groupWiring = new Map<string, (() => void)[]>();
  private stopping: Promise<void> | undefined;
  private trackers: TrackerSet | undefined;
  /** health checkers and virtual servers, and the data plane they drive (when configured) */
  lvs: HealthChecks | undefined;
  lb: LbActor | undefined;
  private prober: Prober | undefined;
  private firewall: VipFirewall | undefined;
  /** reloads (and stop) run one at a time, in the order asked */
  private queue: Promise<unknown> = Promise.resolve();
  private _config: KeepalivedConfig;
  private _configFile: string | undefined;

  constructor(
    config: KeepalivedConfig,
    private readonly ports: DaemonPorts,
  ) {
    this._config = config;
    this._configFile = ports.configFile;
    this.bus = ports.bus ?? new Bus(config.global.routerId ?? 'vigil');
  }

  /** the configuration running now (the last one a reload applied) */
  get config(): KeepalivedConfig {
    return this._config;
  }

  get configFile(): string | undefined {
    return this._configFile;
  }

  async start(): Promise<void> {
    const { log } = this.ports;
    const resolved = resolveAll(this.config);
    this.ensureFirewall(resolved);
    log.info(`Starting VRRP: ${this.config.instances.length} instance(s), ${this.config.syncGroups.length} sync group(s)`);
    for (const r of resolved) this.instances.set(r.input.name, this.createInstance(r));
    for (const g of this.config.syncGroups) this.createGroup(g);
    this.trackers = this.createTrackers(this.config);
    for (const i of this.instances.values()) i.seedTrackers(this.trackers.initial(i.name));
    // instances first: every tracker result then reaches a running instance as an event (weighted
    // trackers adjust the priority from their first result on, as in keepalived; unweighted ones
    // hold the instance in INIT until they report)
    for (const i of this.instances.values()) await i.start();
    await this.trackers.start();
    // lvs_flush: at start only (a reload never flushes), before anything is applied
    if (this.config.global.lvsFlush && this.ports.lb && this.config.virtualServers.length) {
      await this.ports.lb.flush().then(
        () => this.ports.log.info(`load balancer (${this.ports.lb!.driver}): flushed at start (lvs_flush)`),
        (err: Error) => this.ports.log.warn({ err }, `load balancer (${this.ports.lb!.driver}): lvs_flush failed: ${err.message}`),
      );
    }
    await this.lvsTimeouts(undefined, this.config);
    this.startLvs(this.config);
    // lvs_sync_daemon follows its instance: backup from the start, master while it is MASTER
    this.bus.subscribe((e) => {
      if (e.type === 'vrrp.state' && e.name === this.config.global.lvsSyncDaemon?.instance) this.syncDaemon(String((e.data as { to?: string }).to));
    });
    this.syncDaemon();
    this.bus.publish('daemon', this.bus.node, 'daemon.started', this.lifecycle());
  }

  private syncd: { role: string; key: string } | undefined;

  /**
   * lvs_sync_daemon: IPVS's connection-sync daemon as master while its instance is MASTER, backup
   * otherwise (keepalived's vrrp.c: ipvs_syncd_master / _backup). `state`: the instance's, from
   * its vrrp.state event (default: as it is now). The stop is close()'s (kept with -I).
   */
  private syncDaemon(state?: string): void {
    const lb = this.ports.lb;
    const s = this.config.global.lvsSyncDaemon;
    const inst = s?.instance ? this.instances.get(s.instance) : undefined;
    if (!lb || !s || !inst || this.stopping) return;
    const { log } = this.ports;
    if (!lb.syncDaemon) {
      if (!this.syncd) log.warn(`lvs_sync_daemon: the ${lb.driver} load balancer has no IPVS sync daemon; ignored`);
      this.syncd = { role: 'none', key: '' };
      return;
    }
    const now = state ?? inst.state();
    if (now === 'STOP') return;
    const role = now === 'MASTER' ? 'master' : 'backup';
    const d = {
      ifname: s.ifname, syncId: s.syncId ?? inst.resolved.input.vrid,
      ...(s.maxlen ? { maxlen: s.maxlen } : {}), ...(s.port ? { port: s.port } : {}), ...(s.ttl ? { ttl: s.ttl } : {}), ...(s.group ? { group: s.group } : {}),
    };
    const key = JSON.stringify(d);
    if (this.syncd?.role === role && this.syncd.key === key) return;
    this.syncd = { role, key };
    void lb.syncDaemon(role, d).then(
      () => log.info(`IPVS sync daemon: ${role} on ${d.ifname}, sync id ${d.syncId} (lvs_sync_daemon, ${s.instance} ${now})`),
      (err: Error) => log.warn({ err }, `IPVS sync daemon: cannot start it as ${role}: ${err.message}`),
    );
  }

  /** lvs_timeouts, set at start and when a reload changes them (removed: the values found put back) */
  private async lvsTimeouts(prev: KeepalivedConfig | undefined, next: KeepalivedConfig): Promise<void> {
    const lb = this.ports.lb;
    const of = (c: KeepalivedConfig | undefined) => {
      const t = c?.virtualServers.length ? c.global.lvsTimeouts : undefined;
      return t && { ...(t.tcp ? { tcp: t.tcp } : {}), ...(t.tcpFin ? { tcpFin: t.tcpFin } : {}), ...(t.udp ? { udp: t.udp } : {}) };
    };
    const want = of(next);
    const had = of(prev);
    if (!lb || JSON.stringify(want) === JSON.stringify(had)) return;
    const { log } = this.ports;
    if (!lb.setTimeouts) {
      if (want) log.warn(`lvs_timeouts: the ${lb.driver} load balancer has no IPVS timeouts; its connections follow conntrack's`);
      return;
    }
    const what = want ? Object.entries(want).map(([k, v]) => `${k} ${v} s`).join(', ') : 'the values found at start';
    await lb.setTimeouts(want).then(
      () => log.info(`load balancer (${lb.driver}): connection timeouts ${what} (lvs_timeouts)`),
      (err: Error) => log.warn({ err }, `load balancer (${lb.driver}): cannot set the connection timeouts: ${err.message}`),
    );
  }

  /** virtual servers and their checkers; ha_suspend follows the VRRP states on the bus */
  private startLvs(config: KeepalivedConfig): void {
    if (this.lvs || !config.virtualServers.length) return;
    const { log } = this.ports;
    if (this.ports.lb) {
      this.lb = new LbActor({ lb: this.ports.lb, bus: this.bus, log: log.child({ actor: 'lb' }), ...(this.ports.lbReconcileMs !== undefined ? { reconcileMs: this.ports.lbReconcileMs } : {}) });
      this.lb.groups = config.virtualServerGroups;
    } else log.warn('no load balancer: virtual servers are checked, their tables only published');
    const onTable = this.onTable;
    const injected = this.ports.clock || this.ports.prober;
    let prober = this.ports.prober;
    let thread = !injected && this.ports.checkerThread === true;
    if (!injected && this.ports.checkerThread === 'auto') {
      // the prober the checks would use here tells which of them would cost JavaScript
      prober = this.newProber(config);
      const js = unwatchedCheckers(config, prober);
      thread = js.size > 0;
      log.info(thread
        ? `health checks on a thread of their own: ${[...js].map(([t, n]) => `${n} ${t}`).join(', ')} not in the native probe engine`
        : 'health checks on the main thread: every check runs in the native probe engine');
      if (thread) void prober.close();
    }
    if (thread) {
      this.lvs = new RemoteLvs(config, { bus: this.bus, log, onTable });
    } else {
      this.prober = prober ?? this.newProber(config);
      // on VRRP's thread: one virtual server's checkers per turn of the loop (LvsPorts.startInSlices)
      this.lvs = new LvsSet(config, { bus: this.bus, log, prober: this.prober, onTable, startInSlices: true, ...(this.ports.clock ? { clock: this.ports.clock } : {}) });
    }
    this.bus.subscribe((e) => {
      if (e.type === 'vrrp.state') this.lvs?.vrrpState(e.name, String((e.data as { to?: string }).to));
    });
    for (const i of this.instances.values()) if (i.state() === 'MASTER') this.lvs.vrrpState(i.name, 'MASTER');
    this.lvs.start();
  }

  /** a virtual server's table, from the health checks to the LB actor */
  private readonly onTable = (vs: VirtualServer, name: string, entries: readonly TableEntry[], cause: BusEvent) => this.lb?.update(vs, name, entries, cause);

  /**
   * A reload that brings checks the native probe engine does not run (SSL_GET, MISC_CHECK, a digest,
   * ...) to a daemon whose checks all ran there, on this thread ('auto'), moves every check to a
   * thread of their own, as a start with that configuration would have: each checker from the
   * health it had, so that no real server comes or goes for the move. (The other way, a thread
   * whose JavaScript checks a reload removed stays: it costs memory, never VRRP's timing.)
   */
  private checksToThread(prev: KeepalivedConfig, next: KeepalivedConfig): LvsReloadReport | undefined {
    const lvs = this.lvs;
    if (!(lvs instanceof LvsSet) || this.ports.checkerThread !== 'auto' || this.ports.prober || this.ports.clock || !this.prober) return undefined;
    const js = unwatchedCheckers(next, this.prober);
    if (!js.size) return undefined;
    const plan = planLvsReload(prev.virtualServers, next.virtualServers);
    const carry = lvs.handOff();
    for (const name of plan.removed) this.lb?.remove(name);
    void this.prober.close();
    this.prober = undefined;
    this.ports.log.info(`health checks move to a thread of their own: ${[...js].map(([t, n]) => `${n} ${t}`).join(', ')} not in the native probe engine`);
    const remote = new RemoteLvs(next, { bus: this.bus, log: this.ports.log, onTable: this.onTable });
    this.lvs = remote;
    for (const i of this.instances.values()) if (i.state() === 'MASTER') remote.vrrpState(i.name, 'MASTER');
    remote.start(carry);
    return plan;
  }

  /** where the health checks run: this thread, or a thread of their own (actors/lvs-remote.ts) */
  get checksThread(): 'main' | 'own' | undefined {
    return this.lvs instanceof RemoteLvs ? 'own' : this.lvs ? 'main' : undefined;
  }

  private newProber(config: KeepalivedConfig): Prober {
    return createProber(proberOptionsFor(config));
  }

  private ensureFirewall(resolved: readonly ResolvedInstance[]) {
    if (this.firewall || !resolved.some((r) => r.dropVipTraffic)) return;
    this.firewall = this.ports.firewall ?? createNftFirewall();
    this.ports.log.info("vrrp_strict without accept: traffic to a MASTER's VIPs is dropped (nftables table inet vigil), as keepalived does");
  }

  private createInstance(r: ResolvedInstance): VrrpInstanceActor {
    return new VrrpInstanceActor(r, {
      net: this.ports.net,
      ip: this.ports.ip,
      bus: this.bus,
      log: this.ports.log,
      ...(this.ports.clock ? { clock: this.ports.clock } : {}),
      ...(this.firewall ? { firewall: this.firewall } : {}),
    });
  }

  private createTrackers(config: KeepalivedConfig, carry?: ReadonlyMap<string, 'ok' | 'failed'>): TrackerSet {
    return new TrackerSet(
      config,
      {
        bus: this.bus,
        log: this.ports.log,
        ...(this.ports.resume ? { resume: this.ports.resume } : {}),
        ...(this.ports.runner ? { runner: this.ports.runner } : {}),
        ...(carry ? { carry } : {}),
      },
      (instance, status, cause) => this.instances.get(instance)?.setTracker(status, cause),
    );
  }

  private createGroup(g: SyncGroup): void {
    const { log } = this.ports;
    const members = g.members.map((m) => m.name).filter((n) => this.instances.has(n));
    const actor = createActor(syncGroupMachine, { input: { name: g.name, members }, id: `sync:${g.name}`, ...(this.ports.clock ? { clock: this.ports.clock } : {}) });
    actor.on('*', (e) => {
      if (e.type === 'sync.command') this.instances.get(e.instance)?.send(e.command);
      else if (e.type === 'sync.state') {
        log.info({ group: e.group, from: e.from, to: e.to }, `VRRP_Group(${e.group}) Syncing instances to ${e.to} state`);
        this.bus.publish('sync-group', e.group, e.type, { ...e });
      }
    });
    actor.start();
    this.groups.set(g.name, actor);
    this.groupWiring.set(g.name, []);
    for (const m of members) this.wireMember(g.name, this.instances.get(m)!);
  }

  /** route a member's wishes and states to its group (again after the member is replaced) */
  private wireMember(group: string, inst: VrrpInstanceActor): void {
    const actor = this.groups.get(group);
    if (!actor) return;
    const off = inst.onEvent((e) => {
      if (e.type === 'vrrp.want' || e.type === 'vrrp.faults') actor.send(e);
      else if (e.type === 'vrrp.state') actor.send({ type: 'vrrp.state', instance: e.instance, to: e.to });
    });
    this.groupWiring.get(group)!.push(off);
  }

  private dropGroup(name: string): void {
    for (const off of this.groupWiring.get(name) ?? []) off();
    this.groupWiring.delete(name);
    this.groups.get(name)?.stop();
    this.groups.delete(name);
  }

  /**
   * Apply a new, already checked configuration as a minimal diff. Unchanged instances keep their
   * actor and state (no advert with priority 0, no VIP flap); changed parameters apply in place;
   * instances added or removed start or stop cleanly; a VIP moving between instances is removed
   * from the old one before the new one adds it. Reloads run one at a time.
   */
  reload(next: KeepalivedConfig, configFile?: string): Promise<ReloadReport> {
    const run = this.queue.then(() => this.applyReload(next, configFile));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async applyReload(next: KeepalivedConfig, configFile?: string): Promise<ReloadReport> {
    if (this.stopping) throw new Error('the daemon is stopping');
    const t0 = performance.now();
    const { log } = this.ports;
    const prev = this._config;
    const resolved = resolveAll(next);
    const byName = new Map(resolved.map((r) => [r.input.name, r]));
    const report: ReloadReport = {
      added: [],
      removed: [],
      replaced: [],
      changed: [],
      unchanged: 0,
      syncGroups: { added: [], removed: [], replaced: [] },
      virtualServers: { added: [], removed: [], replaced: [], unchanged: 0 },
      trackers: 'kept',
      durationMs: 0,
      ...(configFile ?? this._configFile ? { configFile: configFile ?? this._configFile! } : {}),
    };
    this.ensureFirewall(resolved);

    // sync groups whose membership changed are rebuilt; their members keep running
    const prevGroups = new Map(prev.syncGroups.map((g) => [g.name, groupKey(g)]));
    const nextGroups = new Map(next.syncGroups.map((g) => [g.name, groupKey(g)]));
    for (const [name, key] of prevGroups) {
      if (!nextGroups.has(name)) report.syncGroups.removed.push(name);
      else if (nextGroups.get(name) !== key) report.syncGroups.replaced.push(name);
    }
    for (const name of nextGroups.keys()) if (!prevGroups.has(name)) report.syncGroups.added.push(name);
    for (const name of [...report.syncGroups.removed, ...report.syncGroups.replaced]) this.dropGroup(name);

    const trackersChanged = trackerConfig(prev) !== trackerConfig(next);
    // the states every tracker has now, carried into the new set
    const carry = new Map<string, 'ok' | 'failed'>();
    if (trackersChanged) {
      for (const i of this.instances.values()) for (const t of i.trackerStates()) if (t.kind !== 'interface' && t.status !== 'unknown') carry.set(`${t.kind}:${t.name}`, t.status);
      this.trackers?.stop();
      report.trackers = 'restarted';
    }

    // VIPs moving between two instances that are both MASTER here and stay so: handed over in
    // place, never removed (the LAN sees the same host, the same MAC)
    const handoff = new Set<string>();
    const masterIn = new Map<string, string>(); // vip → instance giving it up
    for (const [name, inst] of this.instances) {
      const r = byName.get(name);
      if (!r || inst.state() !== 'MASTER' || !inst.sameIdentity(r)) continue;
      const keep = new Set(r.vips.map(vipKey));
      for (const v of inst.resolved.vips) if (!keep.has(vipKey(v))) masterIn.set(vipKey(v), name);
    }
    for (const [name, inst] of this.instances) {
      const r = byName.get(name);
      if (!r || inst.state() !== 'MASTER' || !inst.sameIdentity(r)) continue;
      const had = new Set(inst.resolved.vips.map(vipKey));
      for (const v of r.vips) if (!had.has(vipKey(v)) && masterIn.has(vipKey(v))) handoff.add(vipKey(v));
    }

    // phase 1: instances let go: removed and replaced ones stop, changed ones drop their old VIPs
    const stops: Promise<void>[] = [];
    for (const [name, inst] of this.instances) {
      const r = byName.get(name);
      if (!r) {
        report.removed.push(name);
        stops.push(inst.shutdown());
        this.instances.delete(name);
        continue;
      }
      const changed = inst.reconfigure(r, handoff);
      if (changed === undefined) {
        report.replaced.push(name);
        stops.push(inst.shutdown());
        this.instances.delete(name);
      } else if (changed.length) report.changed.push({ instance: name, fields: changed });
      else report.unchanged++;
    }
    await Promise.all(stops);
    for (const c of report.changed) await this.instances.get(c.instance)!.drain();

    // phase 2: changed ones add their new VIPs; new and replaced ones are created
    this._config = next;
    if (configFile) this._configFile = configFile;
    await Promise.all(report.changed.map((c) => this.instances.get(c.instance)!.commitAddresses()));
    const fresh: VrrpInstanceActor[] = [];
    for (const r of resolved) {
      if (this.instances.has(r.input.name)) continue;
      if (!report.replaced.includes(r.input.name)) report.added.push(r.input.name);
      const inst = this.createInstance(r);
      this.instances.set(r.input.name, inst);
      fresh.push(inst);
    }
    for (const g of next.syncGroups) {
      if (!this.groups.has(g.name)) {
        this.createGroup(g);
        // a rebuilt group learns where its running members stand
        const actor = this.groups.get(g.name)!;
        for (const m of g.members) {
          const inst = this.instances.get(m.name);
          if (!inst || fresh.includes(inst) || inst.state() === 'INIT') continue;
          const ctx = inst.actor.getSnapshot().context;
          actor.send({ type: 'vrrp.state', instance: m.name, to: inst.state() });
          actor.send({ type: 'vrrp.faults', instance: m.name, flags: [...ctx.faults] });
          actor.send({ type: 'vrrp.want', instance: m.name, want: ctx.want });
        }
      } else {
        for (const m of g.members) {
          const inst = this.instances.get(m.name);
          if (inst && fresh.includes(inst)) this.wireMember(g.name, inst);
        }
      }
    }

    await this.lvsTimeouts(prev, next);
    this.syncDaemon();
    if (this.lvs) {
      if (this.lb) this.lb.groups = next.virtualServerGroups;
      report.virtualServers = this.checksToThread(prev, next) ?? this.lvs.reload(next, (name) => this.lb?.remove(name));
    } else {
      this.startLvs(next);
      report.virtualServers.added = next.virtualServers.map((vs) => virtualServerName(vs));
    }
    if (trackersChanged) this.trackers = this.createTrackers(next, carry);
    const seeds = (name: string): TrackerStatus[] => (trackersChanged || fresh.some((f) => f.name === name) ? this.trackers!.initial(name) : []);
    for (const inst of fresh) inst.seedTrackers(seeds(inst.name));
    if (trackersChanged) for (const c of [...this.instances.values()].filter((i) => !fresh.includes(i))) c.replaceTrackers(seeds(c.name));
    for (const inst of fresh) await inst.start();
    if (trackersChanged) await this.trackers!.start();

    report.durationMs = Math.round((performance.now() - t0) * 1000) / 1000;
    log.info(
      { reload: report },
      `Reload applied: ${report.added.length} added, ${report.removed.length} removed, ${report.replaced.length} replaced, ${report.changed.length} changed in place, ${report.unchanged} unchanged`,
    );
    this.bus.publish('daemon', this.bus.node, 'daemon.reloaded', { ...report });
    return report;
  }

  private lifecycle() {
    return {
      version: this.ports.version ?? 'unknown',
      instances: this.instances.size,
      syncGroups: this.groups.size,
      ...(this._configFile ? { configFile: this._configFile } : {}),
    };
  }

  /** graceful stop; idempotent; waits for a reload under way */
  stop(): Promise<void> {
    this.stopping ??= this.queue.then(async () => {
      this.ports.log.info('Stopping');
      this.bus.publish('daemon', this.bus.node, 'daemon.stopping', this.lifecycle());
      this.trackers?.stop();
      // Priority 0 first: shutdown() sends it before its first await, so a backup takes over within
      // Skew_Time while the checkers stop. Stopping 1,000 checkers on this thread takes longer than
      // a 20 ms advert's Master_Down_Interval (the graceful failover bench with 1,000 checkers saw
      // the backup wait for the master-down timer instead).
      const release = this.ports.vrrpKeepOnStop !== true;
      if (!release && this.instances.size) this.ports.log.info('VRRP: no priority-0 adverts; virtual addresses, routes and VMACs kept (--dont-release-vrrp)');
      const vrrpDown = Promise.all([...this.instances.values()].map((i) => i.shutdown({ release })));
      const keep = this.ports.lbKeepOnStop === true;
      // -I: the entries stay, so the real servers are not announced DOWN (keepalived skips its
      // whole clear_services then, omega's notifies included)
      await this.lvs?.stop({ announce: !keep });
      await vrrpDown;
      for (const name of [...this.groups.keys()]) {
        this.groups.get(name)!.send({ type: 'shutdown' });
        this.dropGroup(name);
      }
      // the VIPs have moved on: now the virtual services can go (or stay: -I), or the whole IPVS
      // table (lvs_flush_on_stop; its VS form is what vigil does anyway: services removed whole)
      await this.lb?.close({ keep, all: this.config.global.lvsFlushOnStop === 'all' });
      await this.prober?.close();
      await this.firewall?.close();
      await this.ports.net.close();
      await this.ports.ip.close();
      this.ports.log.info('Stopped');
    });
    return this.stopping;
  }

  status(): InstanceStatus[] {
    return [...this.instances.values()].map((i) => i.status());
  }
}

export type InstanceStatus = ReturnType<VrrpInstanceActor['status']>;
