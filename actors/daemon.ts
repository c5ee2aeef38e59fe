// The daemon: owns lifecycle and signals. It starts every VRRP instance and sync group of a checked
// config, routes sync-group traffic between them, and on SIGTERM/SIGINT stops them gracefully
// (priority-0 adverts, VIPs removed) before it exits 0.
import { createActor, type Actor } from 'xstate';
import type { KeepalivedConfig } from '../adapters/config/model.js';
import type { IpNet } from '../adapters/ip/types.js';
import type { VrrpNet } from '../adapters/vrrp/types.js';
import { createNftFirewall, type VipFirewall } from '../adapters/ip/firewall.js';
import { syncGroupMachine } from '../machines/sync-group.machine.js';
import { Bus } from './bus.js';
import type { Logger } from './log.js';
import type { Clock } from './clock.js';
import { TrackerSet } from './trackers.js';
import { resolveAll, VrrpInstanceActor } from './vrrp.js';

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
}

export class Daemon {
  readonly bus: Bus;
  readonly instances = new Map<string, VrrpInstanceActor>();
  readonly groups = new Map<string, Actor<typeof syncGroupMachine>>();
  private stopping: Promise<void> | undefined;
  private trackers: TrackerSet | undefined;

  constructor(
    readonly config: KeepalivedConfig,
    private readonly ports: DaemonPorts,
  ) {
    this.bus = ports.bus ?? new Bus(config.global.routerId ?? 'vigil');
  }

  private firewall: VipFirewall | undefined;

  async start(): Promise<void> {
    const { log } = this.ports;
    const resolved = resolveAll(this.config);
    if (resolved.some((r) => r.dropVipTraffic)) {
      this.firewall = this.ports.firewall ?? createNftFirewall();
      log.info('vrrp_strict without accept: traffic to a MASTER\'s VIPs is dropped (nftables table inet vigil), as keepalived does');
    }
    log.info(`Starting VRRP: ${this.config.instances.length} instance(s), ${this.config.syncGroups.length} sync group(s)`);
    for (const r of resolved) {
      this.instances.set(
        r.input.name,
        new VrrpInstanceActor(r, {
          net: this.ports.net,
          ip: this.ports.ip,
          bus: this.bus,
          log,
          ...(this.ports.clock ? { clock: this.ports.clock } : {}),
          ...(this.firewall ? { firewall: this.firewall } : {}),
        }),
      );
    }
    for (const g of this.config.syncGroups) {
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
      for (const m of members) {
        this.instances.get(m)!.onEvent((e) => {
          if (e.type === 'vrrp.want' || e.type === 'vrrp.faults') actor.send(e);
          else if (e.type === 'vrrp.state') actor.send({ type: 'vrrp.state', instance: e.instance, to: e.to });
        });
      }
    }
    this.trackers = new TrackerSet(this.config, { bus: this.bus, log, ...(this.ports.resume ? { resume: this.ports.resume } : {}) }, (instance, status, cause) =>
      this.instances.get(instance)?.setTracker(status, cause),
    );
    for (const i of this.instances.values()) i.seedTrackers(this.trackers.initial(i.name));
    // instances first: every tracker result then reaches a running instance as an event (weighted
    // trackers adjust the priority from their first result on, as in keepalived; unweighted ones
    // hold the instance in INIT until they report)
    for (const i of this.instances.values()) await i.start();
    await this.trackers.start();
    this.bus.publish('daemon', this.bus.node, 'daemon.started', this.lifecycle());
  }

  private lifecycle() {
    return {
      version: this.ports.version ?? 'unknown',
      instances: this.instances.size,
      syncGroups: this.groups.size,
      ...(this.ports.configFile ? { configFile: this.ports.configFile } : {}),
    };
  }

  /** graceful stop; idempotent */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.ports.log.info('Stopping');
      this.bus.publish('daemon', this.bus.node, 'daemon.stopping', this.lifecycle());
      this.trackers?.stop();
      await Promise.all([...this.instances.values()].map((i) => i.shutdown()));
      for (const g of this.groups.values()) {
        g.send({ type: 'shutdown' });
        g.stop();
      }
      await this.firewall?.close();
      await this.ports.net.close();
      await this.ports.ip.close();
      this.ports.log.info('Stopped');
    })();
    return this.stopping;
  }

  status() {
    return [...this.instances.values()].map((i) => ({
      instance: i.name,
      state: i.state(),
      priority: i.state() === 'INIT' ? undefined : i.actor.getSnapshot().context.priority,
      master: i.state() === 'INIT' ? undefined : i.actor.getSnapshot().context.masterAddress,
    }));
  }
}
