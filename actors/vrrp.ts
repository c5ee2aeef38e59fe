// One vrrp_instance at work: the pure machine (machines/vrrp.machine.ts) given the wire
// (VrrpNet), the host's addresses (IpNet) and the clock; its trackers folded into an effective
// priority and fault flags (machines/priority.ts); every emitted transition logged in keepalived's
// words and published on the bus.
import { createActor, fromCallback, type Actor, type AnyActorRef, type EventObject } from 'xstate';
import type { GlobalDefs, KeepalivedConfig, VrrpInstance } from '../adapters/config/model.js';
import type { VipFirewall } from '../adapters/ip/firewall.js';
import { procSysctl, type Sysctl } from '../adapters/ip/sysctl.js';
import type { IpNet, LinkInfo, RouteLine, VipSpec } from '../adapters/ip/types.js';
import { canonicalAddress } from '../adapters/vrrp/codec.js';
import type { DropReason, EndpointSpec, ReceivedAdvert, VrrpEndpoint, VrrpNet } from '../adapters/vrrp/types.js';
import { effectivePriority, type TrackerStatus } from '../machines/priority.js';
import { advertIntervalMs, masterDownMs, stateName, vrrpMachine, type AdvertTickerInput, type MasterDownRestart, type MasterDownTimerInput, type VrrpEmitted, type VrrpInput, type VrrpStateName, type VrrpTunables } from '../machines/vrrp.machine.js';
import { performance } from 'node:perf_hooks';
import type { Bus, BusEvent } from './bus.js';
import { AnchoredClock, type Clock } from './clock.js';
import { EventThrottle } from './event-throttle.js';
import type { Logger } from './log.js';

export interface VrrpPorts {
  readonly net: VrrpNet;
  readonly ip: IpNet;
  readonly bus: Bus;
  readonly log: Logger;
  /** vrrp_strict without accept: drops traffic for a non-owner MASTER's VIPs (adapters/ip/firewall.ts) */
  readonly firewall?: VipFirewall;
  /** /proc/sys access for use_vmac (a fake in tests) */
  readonly sysctl?: Sysctl;
  /** XState clock (a SimulatedClock in tests); default: real time */
  readonly clock?: Clock;
}

/** Everything the machine and the wire need, resolved from the config once. */
export interface ResolvedInstance {
  readonly input: VrrpInput;
  readonly endpoint: EndpointSpec;
  readonly vips: readonly VipSpec[];
  readonly routes: readonly RouteLine[];
  /** interfaces whose state matters: own (unless dont_track_primary) and track_interface */
  readonly trackedInterfaces: readonly { name: string; weight: number; reverse: boolean; own: boolean }[];
  /**
   * use_vmac: a macvlan `name` on `parent` with the virtual MAC (00:00:5e:00:01:VRID, IPv6
   * 00:00:5e:00:02:VRID). Adverts, VIPs without `dev` and GARPs go through it, so the LAN sees the
   * same MAC whichever node is MASTER; adverts carry the parent's address.
   */
  readonly vmac?: { readonly name: string; readonly parent: string; readonly mac: string };
  /**
   * vrrp_strict and no `accept` on a non-owner: as MASTER, traffic to and from the VIPs is dropped
   * (RFC 5798 Accept_Mode false, keepalived's nftables rules). keepalived: with strict mode,
   * `accept` defaults on only for priority 255.
   */
  readonly dropVipTraffic: boolean;
  /** `address dev` of the VIPs whose removal behind our back makes a MASTER step down (not no_track) */
  readonly watchedVips: readonly string[];
  readonly garpIntervalMs: number;
  /** faults the config itself holds the instance in for its whole life (unicast_fault_no_peer with no peers) */
  readonly configFaults: readonly string[];
  /** track_src_ip: the configured source address whose absence from the host is a FAULT */
  readonly trackedSrc?: string;
}

/** the fault flag of unicast_fault_no_peer with no peers */
export const NO_UNICAST_PEERS = 'no-unicast-peers';

const MCAST4 = '224.0.0.18';
const MCAST6 = 'ff02::12';

export function resolveInstance(inst: VrrpInstance, g: GlobalDefs, syncGroup?: string): ResolvedInstance {
  const base = inst.interface ?? g.defaultInterface ?? 'eth0';
  const family = inst.family ?? inst.vips[0]?.family ?? 4;
  const vrid = inst.vrid ?? 0;
  const vmac = inst.useVmac
    ? {
        name: inst.useVmac.name ?? `vrrp.${vrid}`,
        parent: base,
        mac: `00:00:5e:00:0${family === 6 ? 2 : 1}:${vrid.toString(16).padStart(2, '0')}`,
      }
    : undefined;
  // the interface the instance works on: the VMAC when there is one
  const iface = vmac?.name ?? base;
  const vips: VipSpec[] = [...inst.vips, ...inst.excludedVips].map((v) => ({
    address: v.address,
    prefix: v.prefix,
    family: v.family,
    dev: v.dev ?? iface,
    ...(v.brd !== undefined ? { brd: v.brd } : {}),
    ...(v.scope !== undefined ? { scope: v.scope } : {}),
    ...(v.label !== undefined ? { label: v.label } : {}),
    ...(v.peer !== undefined ? { peer: v.peer } : {}),
    flags: v.flags,
  }));
  const unicast = inst.unicastPeers.length > 0;
  // vrrp_strict / strict_mode (keepalived.md §3.10): the config checker refuses what strict mode
  // forbids; at run time it forces lower_prio_no_advert, no higher_prio_send_advert, and an owner
  // that ignores adverts. (Its firewall rules for non-`accept` masters are not installed yet.)
  const strict = inst.strictMode ?? g.vrrpStrict;
  const input: VrrpInput = {
    name: inst.name,
    vrid: inst.vrid ?? 0,
    version: inst.version,
    basePriority: inst.priority,
    advertIntervalCs: Math.max(1, Math.round(inst.advertIntMs / 10)),
    initialState: inst.initialState,
    nopreempt: inst.nopreempt,
    preemptDelayMs: inst.preemptDelayMs,
    downTimerAdverts: inst.downTimerAdverts ?? g.vrrpDownTimerAdverts,
    lowerPrioNoAdvert: strict || (inst.lowerPrioNoAdvert ?? g.vrrpLowerPrioNoAdvert),
    higherPrioSendAdvert: !strict && (inst.higherPrioSendAdvert ?? g.vrrpHigherPrioSendAdvert),
    garp: {
      masterDelayMs: inst.garpMasterDelayMs ?? g.vrrpGarpMasterDelayMs,
      masterRepeat: inst.garpMasterRepeat ?? g.vrrpGarpMasterRepeat,
      masterRefreshMs: inst.garpMasterRefreshMs ?? g.vrrpGarpMasterRefreshMs,
      masterRefreshRepeat: inst.garpMasterRefreshRepeat ?? g.vrrpGarpMasterRefreshRepeat,
      // keepalived: unset, they follow the global vrrp_garp_master_repeat / _delay (not the
      // instance's); strict mode sends none
      lowerPrioRepeat: strict ? 0 : (inst.garpLowerPrioRepeat ?? g.vrrpGarpLowerPrioRepeat ?? g.vrrpGarpMasterRepeat),
      lowerPrioDelayMs: strict ? 0 : (inst.garpLowerPrioDelayMs ?? g.vrrpGarpLowerPrioDelayMs ?? g.vrrpGarpMasterDelayMs),
    },
    ...(syncGroup ? { syncGroup } : {}),
    startupDelayMs: g.vrrpStartupDelayMs,
  };
  const endpoint: EndpointSpec = {
    instance: inst.name,
    iface,
    family,
    version: inst.version,
    vrid: inst.vrid ?? 0,
    intervalCs: input.advertIntervalCs,
    addresses: inst.vips.map((v) => v.address),
    ...((unicast ? inst.unicastSrcIp : inst.mcastSrcIp) ? { srcIp: (unicast ? inst.unicastSrcIp : inst.mcastSrcIp)! } : {}),
    mcastGroup: inst.mcastDstIp ?? (family === 6 ? g.vrrpMcastGroup6 || MCAST6 : g.vrrpMcastGroup4 || MCAST4),
    unicastPeers: inst.unicastPeers.map((p) => ({
      address: p.address,
      ...(p.minTtl !== undefined ? { minTtl: p.minTtl } : {}),
      ...(p.maxTtl !== undefined ? { maxTtl: p.maxTtl } : {}),
    })),
    ...(inst.unicastTtl !== undefined ? { unicastTtl: inst.unicastTtl } : {}),
    ...(inst.auth ? { auth: { type: inst.auth.type, pass: inst.auth.pass ?? '' } } : {}),
    checkUnicastSrc: inst.checkUnicastSrc ?? g.vrrpCheckUnicastSrc,
    owner: inst.priority === 255,
    ownerIgnoreAdverts: strict || (inst.ownerIgnoreAdverts ?? g.vrrpOwnerIgnoreAdverts ?? false),
  };
  const trackedInterfaces = [
    ...(inst.dontTrackPrimary ? [] : [{ name: base, weight: 0, reverse: false, own: true }]),
    ...inst.trackInterfaces.map((t) => ({ name: t.name, weight: t.weight ?? 0, reverse: t.reverse, own: false })),
  ];
  const routes = inst.virtualRoutes.map((r) => ({ words: r.words, family: r.family }));
  const watchedVips = [...inst.vips, ...inst.excludedVips].filter((v) => !v.noTrack).map((v) => `${v.address} ${v.dev ?? iface}`);
  return {
    ...(vmac ? { vmac } : {}),
    dropVipTraffic: strict && inst.priority !== 255 && inst.accept !== true,
    watchedVips,
    input,
    endpoint,
    vips,
    routes,
    trackedInterfaces,
    garpIntervalMs: family === 6 ? g.vrrpGnaIntervalMs : g.vrrpGarpIntervalMs,
    configFaults: inst.unicastFaultNoPeer && !unicast ? [NO_UNICAST_PEERS] : [],
    // keepalived clears track_src_ip when the source is not configured (the interface's is followed)
    ...(inst.trackSrcIp && endpoint.srcIp ? { trackedSrc: canonicalAddress(endpoint.srcIp, family) ?? endpoint.srcIp } : {}),
  };
}

const LOG_STATE: Record<VrrpStateName, string> = {
  INIT: 'INIT',
  BACKUP: 'BACKUP',
  MASTER: 'MASTER',
  FAULT: 'FAULT',
  STOP: 'STOP',
};

/**
 * The running instance. `start()` cleans any stale VIPs, opens the wire and starts the machine;
 * `shutdown()` sends the machine its `shutdown` event (priority 0 and VIP removal when MASTER) and
 * resolves once every I/O it started has finished.
 */
export class VrrpInstanceActor {
  readonly name: string;
  private _actor: Actor<typeof vrrpMachine> | undefined;
  private endpoint: VrrpEndpoint | undefined;
  private readonly pending = new Set<Promise<unknown>>();
  private readonly trackers = new Map<string, TrackerStatus>();
  private readonly log: Logger;
  /** the tracker event being applied (its chain continues in our priority change) */
  private trackerCause: BusEvent | undefined;
  /** our last priority change since the last state change: the likely cause of the next one */
  private lastPriorityEvent: BusEvent | undefined;
  private unwatch: (() => void) | undefined;
  private readonly dropLog = new Map<DropReason, { count: number; loggedAt: number }>();
  /** keepalived's addr_list_err: accepted adverts whose address list differs from ours (§3.8 step 15) */
  private addressListErrors = 0;
  private addressListLoggedAt = 0;
  /** listeners for the machine's emitted events (the sync group, tests) */
  private readonly listeners = new Set<(e: VrrpEmitted) => void>();
  private readonly clock: Clock;
  /** the Master_Down timer while the machine runs one (backup.timer.waiting): see fastAccept */
  private masterDown: { restart(ms: number): void } | undefined;
  /** adverts a BACKUP accepted without a machine step (fastAccept) */
  fastAccepted = 0;
  /**
   * Per-packet reports (a MASTER hearing lower priority; a BACKUP discarding it) folded per sender:
   * the first at once, then at most one per second with the count folded into it (actors/event-throttle.ts).
   * 1 s rather than the advert interval: keepalived's default advert_int, so a sender at that rate
   * or slower (any well-behaved lower-priority master) is still reported advert by advert as
   * keepalived does, while the bound on durable events (one per second per sender) does not depend
   * on how short the configured interval is (at 10 ms, the advert interval would allow 100/s).
   */
  private readonly perPacket: EventThrottle<VrrpEmitted>;

  constructor(
    /** replaced in place by reconfigure() */
    public resolved: ResolvedInstance,
    private readonly ports: VrrpPorts,
  ) {
    this.name = resolved.input.name;
    this.log = ports.log.child({ instance: this.name });
    this.clock = ports.clock ?? new AnchoredClock();
    const clock = this.clock as Clock & { now?: () => number };
    this.perPacket = new EventThrottle<VrrpEmitted>(
      {
        // a SimulatedClock's time in tests; the real clock's timers run on performance.now()
        now: typeof clock.now === 'function' ? () => clock.now!() : () => performance.now(),
        setTimeout: (fn, ms) => this.clock.setTimeout(fn, ms),
        clearTimeout: (id) => this.clock.clearTimeout(id),
      },
      (e, suppressed) => this.reportPerPacket(e, suppressed),
    );
    for (const t of resolved.trackedInterfaces) {
      this.trackers.set(`interface:${t.name}`, { kind: 'interface', name: t.name, weight: t.weight, reverse: t.reverse, status: 'unknown' });
    }
  }

  /** the instance each running machine belongs to, for the shared logic's actions */
  private static readonly owners = new WeakMap<AnyActorRef, VrrpInstanceActor>();

  /**
   * The machine with its I/O, one for every instance: an action finds its instance through the
   * actor it runs in. A `.provide()` per instance rebuilt the machine's whole state-node tree for
   * each (measured: 47 KB of live heap per instance, two thirds of the daemon's live heap at 1,000
   * instances; V8 lets the old generation grow to a multiple of the live heap, so RSS followed).
   */
  private static readonly logic = vrrpMachine.provide({
    // The MASTER's periodic adverts leave the machine out (advertTicker in machines/): sent here
    // with the instance's current priority and interval, as sendAdvert would, on the instance's
    // clock directly (the system scheduler's relay, mailbox and inspection events were a third of
    // what an advert still cost)
    actors: {
      advertTicker: fromCallback<EventObject, AdvertTickerInput>(({ input }) => {
        const i = VrrpInstanceActor.owners.get(input.parent as AnyActorRef);
        if (!i) return;
        let id: unknown;
        const arm = () => {
          id = i.clock.setTimeout(() => {
            arm();
            const { priority, advertIntervalCs } = input.parent.getSnapshot().context;
            i.endpoint?.send(priority, advertIntervalCs);
          }, advertIntervalMs(input.parent.getSnapshot().context));
        };
        arm();
        return () => i.clock.clearTimeout(id);
      }),
      // The BACKUP's Master_Down timer on the instance's clock; the instance restarts it itself for
      // an advert identical to the last one accepted (VrrpInstanceActor.fastAccept)
      masterDownTimer: fromCallback<EventObject, MasterDownTimerInput>(({ input, sendBack, receive }) => {
        const i = VrrpInstanceActor.owners.get(input.parent as AnyActorRef);
        if (!i) return;
        let id: unknown;
        const arm = (ms: number) => {
          i.clock.clearTimeout(id);
          id = i.clock.setTimeout(() => sendBack({ type: 'master.down' }), ms);
        };
        receive((e) => {
          if (e.type === 'restart') arm((e as unknown as MasterDownRestart).ms);
        });
        arm(input.ms);
        const timer = { restart: arm };
        i.masterDown = timer;
        return () => {
          i.clock.clearTimeout(id);
          if (i.masterDown === timer) i.masterDown = undefined;
        };
      }),
    },
    actions: {
      sendAdvert: ({ context, self }, { priority }) => {
        VrrpInstanceActor.owners.get(self)?.endpoint?.send(priority, context.advertIntervalCs);
      },
      addVips: ({ self }) => {
        const i = VrrpInstanceActor.owners.get(self);
        i?.track(i.addVips());
      },
      removeVips: ({ self }) => {
        const i = VrrpInstanceActor.owners.get(self);
        i?.track(i.removeVips());
      },
      sendGarp: ({ self }, { repeat }) => {
        const i = VrrpInstanceActor.owners.get(self);
        if (i && repeat > 0) i.track(i.garp(repeat));
      },
    },
  });

  get actor(): Actor<typeof vrrpMachine> {
    if (!this._actor) throw new Error(`instance ${this.name} not started`);
    return this._actor;
  }

  /** subscribe to the machine's emitted events (vrrp.want and vrrp.faults for sync groups) */
  onEvent(fn: (e: VrrpEmitted) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  send(event: Parameters<Actor<typeof vrrpMachine>['send']>[0]): void {
    this.actor.send(event);
  }

  state(): VrrpStateName {
    return this._actor ? stateName(this._actor.getSnapshot().value) : 'INIT';
  }

  async start(): Promise<void> {
    const r = this.resolved;
    if (r.vmac) await this.createVmac(r.vmac);
    await this.promoteSecondaries();
    // keepalived removes any VIPs it may own at start (a crash may have left them behind)
    await this.removeVips();
    // interfaces first, so an interface that is down starts the instance in FAULT
    const unwatchLinks = this.ports.ip.watchLinks((l) => this.onLink(l));
    const unwatchAddrs = this.ports.ip.watchAddresses((ev) => {
      if (this.isTrackedSrc(ev.address)) {
        void this.checkSrc();
        return;
      }
      // keepalived §3.5: a VIP deleted behind a MASTER's back → priority 0, BACKUP, quick re-election
      const key = `${ev.address} ${ev.dev}`;
      if (ev.added || this.ownDeletes.delete(key) || this.state() !== 'MASTER') return;
      if (!this.resolved.watchedVips.includes(key)) return;
      // a VIP a reload gave us is not ours until commitAddresses() adds it (it may be leaving another instance)
      if (this.pendingAdds?.vips.some((v) => `${v.address} ${v.dev}` === key)) return;
      this.log.warn(`(${this.name}) virtual address ${ev.address} was removed from ${ev.dev} behind our back`);
      this.actor.send({ type: 'vips.lost', address: ev.address });
    });
    this.unwatch = () => {
      unwatchLinks();
      unwatchAddrs();
    };
    const links = await this.ports.ip.links();
    for (const t of r.trackedInterfaces) {
      const l = links.find((x) => x.name === t.name);
      this.setInterface(t.name, l?.up ?? false);
    }
    if (r.trackedSrc !== undefined) this.srcMissing = !(await this.srcPresent());
    const outcome = effectivePriority(this.basePriority(), [...this.trackers.values()]);
    // held in FAULT by its config: no socket (it would be a multicast one), nothing sent or heard
    if (r.configFaults.includes(NO_UNICAST_PEERS)) this.log.warn(`(${this.name}) unicast_fault_no_peer and no unicast peers: staying in FAULT`);
    const openFault = r.configFaults.length ? undefined : await this.openEndpoint();
    const startFaults = [...this.faultFlags(outcome.faults), ...r.configFaults, ...this.srcFaults()];
    if (openFault) startFaults.push(openFault);
    const actor = createActor(VrrpInstanceActor.logic, {
      input: {
        ...r.input,
        priority: outcome.priority,
        faults: startFaults,
        trackersReady: outcome.ready,
        ...(this.endpoint?.srcIp ? { srcIp: this.endpoint.srcIp } : {}),
      },
      clock: this.clock,
      id: `vrrp:${this.name}`,
    });
    this._actor = actor;
    // before start(): an owner's entry actions run in it
    VrrpInstanceActor.owners.set(actor, this);
    actor.on('*', (e) => this.onEmitted(e));
    actor.subscribe({ error: (err) => this.log.error({ err }, `(${this.name}) machine error`) });
    this.appliedFaults = new Set([...this.faultFlags(outcome.faults), ...r.configFaults, ...this.srcFaults()]);
    if (openFault) this.appliedFaults.add(openFault);
    this.actor.start();
  }

  /** graceful stop: priority 0 if MASTER, VIPs removed, then the wire closed */
  async shutdown(opts: { release?: boolean } = {}): Promise<void> {
    const release = opts.release !== false;
    if (this._actor?.getSnapshot().status === 'active') this._actor.send({ type: 'shutdown', release });
    await this.drain();
    this.unwatch?.();
    this.endpoint?.close();
    this._actor?.stop();
    // the counts folded so far (nothing is heard any more: no timer is left behind)
    this.perPacket.flush();
    // -V: what the VIPs need stays with them (keepalived skips its whole shutdown_vrrp_instances)
    if (!release) return;
    await this.restoreSysctls();
    if (this.resolved.vmac) await this.deleteVmac(this.resolved.vmac);
  }

  /**
   * A reload's new resolution of this instance, applied without a transition when the protocol
   * allows it: priority, timers, preemption, GARP settings, VIPs, routes and tracked interfaces.
   * Returns what changed, or undefined when the instance's identity changed (interface, VRID,
   * version, family, peers, authentication, VMAC, strict mode, sync group, owner) and it must be
   * replaced. VIPs dropped are removed at once (phase 1); added ones are installed by
   * `commitAddresses()` (phase 2), after every instance has let go of the addresses moving to it.
   */
  reconfigure(next: ResolvedInstance, handoff: ReadonlySet<string> = new Set()): string[] | undefined {
    const prev = this.resolved;
    if (!this.sameIdentity(next)) return undefined;
    const changed = diffKeys(prev, next);
    if (!changed.length) return changed;
    this.resolved = next;
    const nextVips = new Set(next.vips.map(vipKey));
    const prevVips = new Set(prev.vips.map(vipKey));
    const routeKey = (r: RouteLine) => JSON.stringify(r);
    const master = this.state() === 'MASTER';
    // a VIP handed over to another MASTER instance of ours stays on the interface: no gap at all
    const droppedVips = prev.vips.filter((v) => !nextVips.has(vipKey(v)) && !handoff.has(vipKey(v)));
    const droppedRoutes = prev.routes.filter((r) => !next.routes.map(routeKey).includes(routeKey(r)));
    this.pendingAdds = master
      ? { vips: next.vips.filter((v) => !prevVips.has(vipKey(v)) && !handoff.has(vipKey(v))), routes: next.routes.filter((r) => !prev.routes.map(routeKey).includes(routeKey(r))) }
      : undefined;
    if (master && (droppedVips.length || droppedRoutes.length)) {
      for (const v of droppedVips) this.ownDeletes.add(`${v.address} ${v.dev}`);
      this.track(
        (async () => {
          if (droppedRoutes.length) await this.ports.ip.removeRoutes(droppedRoutes);
          if (droppedVips.length) await this.ports.ip.removeAddresses(droppedVips);
          if (prev.dropVipTraffic && this.ports.firewall && droppedVips.length) await this.ports.firewall.allow(droppedVips.map((v) => v.address)).catch(() => undefined);
        })(),
      );
    }
    // the wire: v2 adverts carry the VIPs, and receive checks compare the interval
    if (JSON.stringify(prev.endpoint) !== JSON.stringify(next.endpoint) && this.endpoint) {
      this.endpoint.close();
      this.endpoint = undefined;
      void this.openEndpoint().then((fault) => {
        if (!fault || this._actor?.getSnapshot().status !== 'active') return;
        this.appliedFaults.add(fault);
        this.actor.send({ type: 'fault.set', flag: fault });
      });
    }
    // tracked interfaces: keep the known state of those still tracked
    for (const t of prev.trackedInterfaces) this.trackers.delete(`interface:${t.name}`);
    for (const t of next.trackedInterfaces) {
      const before = prev.trackedInterfaces.find((p) => p.name === t.name);
      const known = before ? this.knownLinks.get(t.name) : undefined;
      this.trackers.set(`interface:${t.name}`, { kind: 'interface', name: t.name, weight: t.weight, reverse: t.reverse, status: known === undefined ? 'unknown' : known ? 'ok' : 'failed' });
    }
    if (this._actor?.getSnapshot().status === 'active') {
      const i = next.input;
      const params: VrrpTunables = {
        basePriority: i.basePriority,
        advertIntervalCs: i.advertIntervalCs,
        nopreempt: i.nopreempt,
        preemptDelayMs: i.preemptDelayMs,
        downTimerAdverts: i.downTimerAdverts,
        lowerPrioNoAdvert: i.lowerPrioNoAdvert,
        higherPrioSendAdvert: i.higherPrioSendAdvert,
        garp: i.garp,
        ...(i.startupDelayMs !== undefined ? { startupDelayMs: i.startupDelayMs } : {}),
      };
      this.actor.send({ type: 'reconfigure', params });
      if (next.trackedInterfaces.some((t) => !prev.trackedInterfaces.some((p) => p.name === t.name))) void this.refreshLinks();
      else this.recompute('reload');
    }
    return changed;
  }

  /** false when a reload changes what makes this instance itself (then it is replaced) */
  sameIdentity(next: ResolvedInstance): boolean {
    return identity(this.resolved) === identity(next);
  }

  /** VIPs and routes a reload added to a MASTER, installed once the other instances let go */
  private pendingAdds: { vips: VipSpec[]; routes: RouteLine[] } | undefined;

  /** phase 2 of a reload: add (and announce) what reconfigure() found new, if still MASTER */
  async commitAddresses(): Promise<void> {
    await this.drain();
    const adds = this.pendingAdds;
    this.pendingAdds = undefined;
    if (!adds || this.state() !== 'MASTER' || (!adds.vips.length && !adds.routes.length)) return;
    const r = this.resolved;
    for (const v of adds.vips) this.ownDeletes.delete(`${v.address} ${v.dev}`);
    if (r.dropVipTraffic && this.ports.firewall && adds.vips.length) await this.ports.firewall.drop(adds.vips.map((v) => v.address)).catch(() => undefined);
    const res = await this.ports.ip.addAddresses(adds.vips);
    for (const x of res) if (!x.ok) this.log.error(`(${this.name}) cannot add ${x.spec.address}/${x.spec.prefix} on ${x.spec.dev}: ${x.error} ${x.detail ?? ''}`);
    if (adds.routes.length) await this.ports.ip.addRoutes(adds.routes);
    const byDev = new Map<string, string[]>();
    for (const v of adds.vips) byDev.set(v.dev, [...(byDev.get(v.dev) ?? []), v.address]);
    for (const [dev, addrs] of byDev) await this.ports.ip.announce(dev, addrs, r.vmac && dev === r.vmac.name ? { vmacSrc: r.vmac.mac } : undefined);
  }

  /** the trackers (scripts, files, processes) a reload assigned to this instance, with their known states */
  replaceTrackers(list: readonly TrackerStatus[]): void {
    for (const k of [...this.trackers.keys()]) if (!k.startsWith('interface:')) this.trackers.delete(k);
    for (const t of list) this.trackers.set(`${t.kind}:${t.name}`, t);
    this.recompute('reload');
  }

  /** the current tracker states, for a reload to carry over */
  trackerStates(): TrackerStatus[] {
    return [...this.trackers.values()];
  }

  /** an operator's maintenance priority (vigil control `priority`), undefined to restore */
  setOperatorPriority(priority: number | undefined): void {
    this.operatorPriority = priority;
    this.recompute(priority === undefined ? 'operator restored the configured priority' : `operator set priority ${priority}`);
  }

  private operatorPriority: number | undefined;
  /** the last state seen of every link, for trackers a reload adds */
  private readonly knownLinks = new Map<string, boolean>();

  private async refreshLinks(): Promise<void> {
    const links = await this.ports.ip.links();
    for (const t of this.resolved.trackedInterfaces) {
      const l = links.find((x) => x.name === t.name);
      this.setInterface(t.name, (l?.up ?? false) && !l?.deleted);
    }
    this.recompute('reload');
  }

  /** wait for every address/GARP operation started so far */
  async drain(): Promise<void> {
    while (this.pending.size) await Promise.allSettled([...this.pending]);
  }

  stats() {
    return this.endpoint?.stats?.();
  }

  /** what `vigil status` shows of this instance */
  status() {
    const r = this.resolved;
    const ctx = this._actor?.getSnapshot().context;
    return {
      instance: this.name,
      vrid: r.input.vrid,
      interface: r.endpoint.iface,
      family: r.endpoint.family,
      version: r.input.version,
      state: this.state(),
      basePriority: r.input.basePriority,
      ...(this.operatorPriority !== undefined ? { operatorPriority: this.operatorPriority } : {}),
      ...(ctx ? { priority: ctx.priority } : {}),
      ...(ctx?.masterAddress ? { master: ctx.masterAddress } : {}),
      ...(ctx?.faults.length ? { faults: [...ctx.faults] } : {}),
      ...(r.input.syncGroup ? { syncGroup: r.input.syncGroup } : {}),
      vips: r.vips.map((v) => `${v.address}/${v.prefix} dev ${v.dev}`),
      trackers: [...this.trackers.values()].map((t) => ({ kind: t.kind, name: t.name, status: t.status, weight: t.weight, ...(t.value !== undefined ? { value: t.value } : {}) })),
      ...(this.endpoint?.stats ? { counters: this.endpoint.stats() } : {}),
      addressListErrors: this.addressListErrors,
      /** per-packet events folded into a later one by the rate limit, by type (vrrp.ignored: log lines) */
      eventsSuppressed: Object.fromEntries(this.perPacket.suppressedByKind),
    };
  }

  /** the trackers this instance waits for, before start (machines/priority.ts: INIT until they report) */
  seedTrackers(list: readonly TrackerStatus[]): void {
    for (const t of list) this.trackers.set(`${t.kind}:${t.name}`, t);
  }

  /** a tracker (script, file, process) reported; recompute priority and faults */
  setTracker(t: TrackerStatus, cause?: BusEvent): void {
    this.trackers.set(`${t.kind}:${t.name}`, t);
    this.trackerCause = cause;
    try {
      this.recompute(`${t.kind} ${t.name} ${t.status}`);
    } finally {
      this.trackerCause = undefined;
    }
  }

  private setInterface(name: string, up: boolean) {
    this.knownLinks.set(name, up);
    const key = `interface:${name}`;
    const t = this.trackers.get(key);
    if (!t) return;
    const status = up ? 'ok' : 'failed';
    if (t.status === status) return;
    this.trackers.set(key, { ...t, status });
    if (t.status !== 'unknown') this.log.info(`Netlink reports ${name} ${up ? 'up' : 'down'}`);
  }

  /**
   * Open the instance's socket. An interface that does not exist (yet) is not fatal: as keepalived
   * does, the instance waits in FAULT, and the socket is opened when the link appears.
   * Returns the fault flag to raise, if any.
   */
  private async openEndpoint(): Promise<string | undefined> {
    const r = this.resolved;
    try {
      // with a VMAC, adverts carry the parent's address (the VMAC has none of its own)
      const spec = r.vmac && !r.endpoint.srcIp ? { ...r.endpoint, ...(await this.parentAddress(r.vmac.parent)) } : r.endpoint;
      this.endpoint = this.ports.net.open(spec, {
        onAdvert: (rx) => {
          if (rx.addressMismatch) this.onAddressMismatch(rx);
          const deliver = () => {
            if (!this.fastAccept(rx.src, rx.advert.priority, rx.advert.intervalCs)) this.actor.send({ type: 'advert.received', src: rx.src, priority: rx.advert.priority, intervalCs: rx.advert.intervalCs });
          };
          // timers the advert restarts count from its arrival (actors/clock.ts)
          if (this.clock instanceof AnchoredClock) this.clock.within(performance.now(), deliver);
          else deliver();
        },
        onDrop: (reason, src, detail) => this.onDrop(reason, src, detail),
        onSendError: (err) => this.log.warn({ err }, `(${this.name}) error sending advert`),
      });
      return undefined;
    } catch (err) {
      this.log.error({ err }, `(${this.name}) cannot open VRRP socket on ${r.endpoint.iface}: ${(err as Error).message}; waiting in FAULT`);
      return `no-socket:${r.endpoint.iface}`;
    }
  }

  /**
   * A BACKUP's steady state without a machine step: an advert from the master it last accepted,
   * with the same priority and interval, ours no higher, would only restart the Master_Down timer
   * (the machine's accepted-advert transition: adoptInterval, recordMaster and want BACKUP change
   * nothing, the preempt region stays idle), so the timer is restarted here. Anything else (a new
   * master, another priority or interval, a priority 0, preempt_delay running, a sync group
   * member) is the machine's.
   */
  private fastAccept(src: string, priority: number, intervalCs: number): boolean {
    const timer = this.masterDown;
    const snap = this._actor?.getSnapshot();
    if (!timer || !snap || snap.status !== 'active') return false;
    const c = snap.context;
    if (priority === 0 || priority < c.priority || priority !== c.masterPriority || src !== c.masterAddress) return false;
    if (c.version === 3 && intervalCs > 0 && intervalCs !== c.masterIntervalCs) return false;
    // the timer runs only in backup.timer.waiting; the preempt region read off the value directly
    // (snapshot.matches() resolves state nodes: a fifth of a BACKUP's busy time, profiled)
    const v = snap.value as { backup?: { preempt?: unknown } } | string;
    if (c.syncGroup !== undefined || c.want !== 'BACKUP' || typeof v !== 'object' || v.backup?.preempt !== 'idle') return false;
    timer.restart(masterDownMs(c));
    this.fastAccepted++;
    return true;
  }

  private onLink(l: LinkInfo) {
    this.log.debug({ link: l }, `link ${l.name} ${l.up ? "up" : "down"}${l.deleted ? " deleted" : ""}`);
    const flag = `no-socket:${this.resolved.endpoint.iface}`;
    if (!this.endpoint && l.name === this.resolved.endpoint.iface && !l.deleted && this.appliedFaults.has(flag)) {
      void this.openEndpoint().then((fault) => {
        if (fault || this._actor?.getSnapshot().status !== 'active') return;
        this.appliedFaults.delete(flag);
        if (this.endpoint?.srcIp) this.actor.send({ type: 'src.set', srcIp: this.endpoint.srcIp });
        this.actor.send({ type: 'fault.cleared', flag });
      });
    }
    if (!this.trackers.has(`interface:${l.name}`)) return;
    const before = this.trackers.get(`interface:${l.name}`)?.status;
    this.setInterface(l.name, l.up && !l.deleted);
    if (this.trackers.get(`interface:${l.name}`)?.status !== before) this.recompute(`interface ${l.name} ${l.up ? 'up' : 'down'}`);
  }

  private appliedFaults = new Set<string>();

  /** the configured priority, or the operator's maintenance override (never for an owner) */
  private basePriority(): number {
    const base = this.resolved.input.basePriority;
    return this.operatorPriority !== undefined && base !== 255 ? this.operatorPriority : base;
  }

  private recompute(cause: string) {
    if (this._actor?.getSnapshot().status !== 'active') return;
    const outcome = effectivePriority(this.basePriority(), [...this.trackers.values()]);
    const faults = new Set(this.faultFlags(outcome.faults));
    for (const f of this.appliedFaults) if (f.startsWith('no-socket:')) faults.add(f);
    for (const f of this.resolved.configFaults) faults.add(f);
    for (const f of this.srcFaults()) faults.add(f);
    for (const f of faults) if (!this.appliedFaults.has(f)) this.actor.send({ type: 'fault.set', flag: f });
    for (const f of this.appliedFaults) if (!faults.has(f)) this.actor.send({ type: 'fault.cleared', flag: f });
    this.appliedFaults = faults;
    this.actor.send({ type: 'priority.set', priority: outcome.priority, cause });
    if (outcome.ready) this.actor.send({ type: 'trackers.ready' });
  }

  /**
   * Fault flags from the trackers, with interfaces named as keepalived logs them: an unweighted
   * tracked interface (the instance's own one included) that is down is a FAULT (§3.6).
   */
  /** track_src_ip: the configured source address is not on the host (checked at start and on every change of it) */
  private srcMissing = false;

  private srcFaults(): string[] {
    return this.srcMissing && this.resolved.trackedSrc !== undefined ? [`src-ip:${this.resolved.trackedSrc}`] : [];
  }

  /** `address` is the tracked source (track_src_ip), in whatever text form */
  private isTrackedSrc(address: string): boolean {
    const src = this.resolved.trackedSrc;
    return src !== undefined && canonicalAddress(address, this.resolved.endpoint.family) === src;
  }

  private async srcPresent(): Promise<boolean> {
    return (await this.ports.ip.addresses()).some((a) => this.isTrackedSrc(a.address));
  }

  /** the tracked source address was added or deleted: FAULT while it is missing */
  private async checkSrc(): Promise<void> {
    const missing = !(await this.srcPresent());
    if (missing === this.srcMissing || this.resolved.trackedSrc === undefined) return;
    this.srcMissing = missing;
    if (missing) this.log.warn(`(${this.name}) source address ${this.resolved.trackedSrc} is no longer on the host (track_src_ip)`);
    else this.log.info(`(${this.name}) source address ${this.resolved.trackedSrc} is back (track_src_ip)`);
    this.recompute(`source address ${missing ? 'removed' : 'added'}`);
  }

  private faultFlags(trackerFaults: readonly string[]): string[] {
    return trackerFaults.map((f) => (f.startsWith('track:interface:') ? `interface:${f.slice('track:interface:'.length)}` : f));
  }

  private track<T>(p: Promise<T>): void {
    this.pending.add(p);
    p.finally(() => this.pending.delete(p)).catch(() => undefined);
  }

  private async addVips(): Promise<void> {
    const r = this.resolved;
    for (const v of r.vips) this.ownDeletes.delete(`${v.address} ${v.dev}`);
    // keepalived adds its firewall rules before the addresses (vrrp_state_become_master)
    if (r.dropVipTraffic && this.ports.firewall) {
      await this.ports.firewall.drop(r.vips.map((v) => v.address)).catch((err: Error) =>
        this.log.error({ err }, `(${this.name}) cannot install the strict-mode drop rules: ${err.message}`),
      );
    }
    const res = await this.ports.ip.addAddresses(r.vips);
    for (const x of res) if (!x.ok) this.log.error(`(${this.name}) cannot add ${x.spec.address}/${x.spec.prefix} on ${x.spec.dev}: ${x.error} ${x.detail ?? ''}`);
    if (r.routes.length) {
      const rr = await this.ports.ip.addRoutes(r.routes);
      for (const x of rr) if (!x.ok) this.log.error(`(${this.name}) cannot add route ${x.spec.words.join(' ')}: ${x.error}`);
    }
  }

  /**
   * `address dev` of the deletions we asked for and whose kernel notification has not been seen
   * yet: those are not losses. Cleared by the notification, or when we add the address again.
   */
  private readonly ownDeletes = new Set<string>();

  private async removeVips(): Promise<void> {
    for (const v of this.resolved.vips) this.ownDeletes.add(`${v.address} ${v.dev}`);
    await this.removeVipsNow();
    if (this.resolved.dropVipTraffic && this.ports.firewall) {
      await this.ports.firewall.allow(this.resolved.vips.map((v) => v.address)).catch((err: Error) =>
        this.log.warn({ err }, `(${this.name}) cannot remove the strict-mode drop rules: ${err.message}`),
      );
    }
  }

  private async removeVipsNow(): Promise<void> {
    const r = this.resolved;
    if (r.routes.length) await this.ports.ip.removeRoutes(r.routes);
    const res = await this.ports.ip.removeAddresses(r.vips);
    for (const x of res) if (!x.ok) this.log.warn(`(${this.name}) cannot remove ${x.spec.address} on ${x.spec.dev}: ${x.error}`);
  }

  /** sysctls we changed on shared interfaces, with their old values, restored on shutdown */
  private readonly changedSysctls: Array<[string, string]> = [];

  private get sysctl(): Sysctl {
    return this.ports.sysctl ?? procSysctl;
  }

  /** set a sysctl of an interface we share with the host, remembering its old value */
  private async setRestorable(path: string, value: string): Promise<void> {
    const old = await this.sysctl.get(path);
    if (old !== undefined && old !== value && (await this.sysctl.set(path, value))) this.changedSysctls.push([path, old]);
  }

  private async restoreSysctls(): Promise<void> {
    for (const [path, old] of this.changedSysctls.splice(0)) await this.sysctl.set(path, old);
  }

  private async createVmac(v: NonNullable<ResolvedInstance['vmac']>): Promise<void> {
    if (!this.ports.ip.createMacvlan) throw new Error('use_vmac: this IP adapter cannot create macvlan links');
    const res = await this.ports.ip.createMacvlan(v);
    if (!res.ok) throw new Error(`use_vmac: cannot create ${v.name} on ${v.parent}: ${res.error} ${res.detail ?? ''}`);
    this.log.info(`(${this.name}) VMAC ${v.name} (${v.mac}) on ${v.parent}`);
    const conf = (dev: string, key: string) => `net/ipv4/conf/${dev}/${key}`;
    // keepalived vrrp_if_config.c: only the VMAC answers ARP for the VIPs
    for (const [path, value] of [
      [conf(v.name, 'arp_ignore'), '1'],
      [conf(v.name, 'accept_local'), '1'],
      [conf(v.name, 'rp_filter'), '0'],
    ] as const) await this.sysctl.set(path, value);
    // and, beyond keepalived, arp_announce=2 on the parent: replies from a VIP leave through the
    // parent (the older connected route), and its ARP requests would otherwise tell the LAN that
    // the VIP lives at the parent's MAC, undoing the VMAC's point
    for (const [key, value] of [['arp_ignore', '1'], ['arp_filter', '1'], ['arp_announce', '2']] as const) {
      await this.setRestorable(conf(v.parent, key), value);
    }
  }

  /**
   * keepalived sets promote_secondaries on the interfaces its VIPs live on: without it, removing a
   * VIP that happens to be the first address of its subnet deletes every other address in that
   * subnet with it. Restored on shutdown.
   */
  private async promoteSecondaries(): Promise<void> {
    for (const dev of new Set(this.resolved.vips.filter((v) => v.family === 4).map((v) => v.dev))) {
      await this.setRestorable(`net/ipv4/conf/${dev}/promote_secondaries`, '1');
    }
  }

  private async deleteVmac(v: NonNullable<ResolvedInstance['vmac']>): Promise<void> {
    const res = await this.ports.ip.deleteLink?.(v.name);
    if (res && !res.ok) this.log.warn(`(${this.name}) cannot delete ${v.name}: ${res.error}`);
  }

  private async parentAddress(parent: string): Promise<{ srcIp?: string }> {
    const family = this.resolved.endpoint.family;
    const list = (await this.ports.ip.addresses(parent)).filter((a) => a.family === family);
    const pick = family === 6 ? list.find((a) => a.scope === 253) : list.find((a) => a.scope === 0) ?? list[0];
    return pick ? { srcIp: pick.address } : {};
  }

  /** `repeat` gratuitous ARPs / NAs per address, spaced by vrrp_garp_interval / vrrp_gna_interval */
  private async garp(repeat: number): Promise<void> {
    const byDev = new Map<string, string[]>();
    for (const v of this.resolved.vips) byDev.set(v.dev, [...(byDev.get(v.dev) ?? []), v.address]);
    for (let i = 0; i < repeat; i++) {
      if (i > 0 && this.resolved.garpIntervalMs > 0) await new Promise((res) => setTimeout(res, this.resolved.garpIntervalMs));
      for (const [dev, addrs] of byDev) {
        const vmac = this.resolved.vmac;
        const res = await this.ports.ip.announce(dev, addrs, vmac && dev === vmac.name ? { vmacSrc: vmac.mac } : undefined);
        const bad = res.filter((x) => !x.ok);
        if (bad.length && i === 0) this.log.warn(`(${this.name}) gratuitous ARP/NA failed on ${dev}: ${bad.map((b) => `${b.spec} ${b.error}`).join(', ')}`);
      }
    }
  }

  /**
   * Another router advertises this VRID with other addresses: a conflicting config. keepalived logs
   * it and counts addr_list_err but accepts the advert; so do we (the first, then one line per 10 s).
   */
  private onAddressMismatch(rx: ReceivedAdvert) {
    this.addressListErrors++;
    const now = Date.now();
    if (now - this.addressListLoggedAt < 10_000) return;
    this.addressListLoggedAt = now;
    const ours = this.resolved.endpoint.addresses;
    const missing = ours.filter((a) => !rx.advert.addresses.includes(a));
    this.log.warn(
      { src: rx.src, theirs: rx.advert.addresses, ours, count: this.addressListErrors },
      `(${this.name}) ip address associated with VRID ${this.resolved.input.vrid} not present in MASTER advert${missing.length ? ` : ${missing.join(', ')}` : ''} (from ${rx.src}, which advertises ${rx.advert.addresses.join(', ') || 'no address'})`,
    );
  }

  private onDrop(reason: DropReason, src: string | undefined, detail?: string) {
    // rate-limited: the first drop of a reason is logged and published, then one line per 10 s with the count
    const now = Date.now();
    const d = this.dropLog.get(reason) ?? { count: 0, loggedAt: 0 };
    d.count++;
    if (now - d.loggedAt >= 10_000) {
      this.log.warn({ reason, src, detail, dropped: d.count }, `(${this.name}) advert dropped: ${reason}${src ? ` from ${src}` : ''}${detail ? ` (${detail})` : ''}`);
      this.ports.bus.publish('vrrp', this.name, 'vrrp.drop', { instance: this.name, reason, ...(src ? { src } : {}), ...(detail ? { detail } : {}), count: d.count });
      d.loggedAt = now;
      d.count = 0;
    }
    this.dropLog.set(reason, d);
  }

  /** one per-packet report let through by the rate limit: its log line and, if published, its event */
  private reportPerPacket(e: VrrpEmitted, suppressed: number) {
    // a summary: the last of `suppressed` reports folded since the previous line (each still answered)
    const more = suppressed ? ` (${suppressed} such adverts since the last report)` : '';
    if (e.type === 'vrrp.rx-lower-priority') {
      this.log.info(`(${this.name}) Received advert from ${e.src} with lower priority ${e.priority}, ours ${e.ours}, forcing new election${more}`);
      this.ports.bus.publish('vrrp', this.name, e.type, { ...e, ...(suppressed ? { suppressed } : {}) });
    } else if (e.type === 'vrrp.ignored') {
      this.log.info(`(${this.name}) received lower priority (${e.priority}) advert from ${e.src} - discarding${more}`);
    }
  }

  private onEmitted(e: VrrpEmitted) {
    for (const fn of this.listeners) fn(e);
    const linkTo = (e?: BusEvent) => (e ? { cause: e.id, correlation: e.correlation } : {});
    switch (e.type) {
      case 'vrrp.state': {
        // what was heard before the change is reported before it
        this.perPacket.flush();
        const why = e.cause === 'startup' && e.to !== 'MASTER' ? ' (init)' : '';
        if (e.to === 'STOP') this.log.info(`(${this.name}) Stopped`);
        else this.log.info({ from: e.from, to: e.to, cause: e.cause, priority: e.priority, master: e.master }, `(${this.name}) Entering ${LOG_STATE[e.to]} STATE${why}`);
        // a state change after a priority change continues that change's chain ("chk failed" →
        // "priority 150→90" → "MASTER→BACKUP"); a tracker FAULT continues the tracker's
        const cause = this.trackerCause ?? this.lastPriorityEvent;
        this.ports.bus.publish('vrrp', this.name, e.type, { ...e }, linkTo(cause));
        this.lastPriorityEvent = undefined;
        return;
      }
      case 'vrrp.priority':
        this.log.info(`(${this.name}) Changing effective priority from ${e.from} to ${e.to}`);
        this.lastPriorityEvent = this.ports.bus.publish('vrrp', this.name, e.type, { ...e }, linkTo(this.trackerCause));
        return;
      case 'vrrp.rx-lower-priority':
        this.perPacket.offer(e.type, e.src, e);
        return;
      case 'vrrp.ignored':
        if (e.reason === 'lower-priority') this.perPacket.offer(e.type, e.src, e);
        return;
      case 'vrrp.conflict':
        this.log.error(`(${this.name}) CONFIGURATION ERROR: ${e.detail} (${e.src})`);
        this.ports.bus.publish('vrrp', this.name, e.type, { ...e });
        return;
      case 'vrrp.faults':
      case 'vrrp.want':
        return; // internal: routed to the sync group through onEvent()
    }
  }

}

/** a VIP as a reload compares it (same address, prefix, device, flags … = same VIP) */
export const vipKey = (v: VipSpec): string => JSON.stringify(v);

/** What makes an instance the same one across a reload; anything else may change in place. */
function identity(r: ResolvedInstance): string {
  const { addresses: _a, intervalCs: _i, ...wire } = r.endpoint;
  const i = r.input;
  return JSON.stringify([wire, r.vmac ?? null, r.dropVipTraffic, i.name, i.vrid, i.version, i.syncGroup ?? null, i.basePriority === 255, r.configFaults, r.trackedSrc ?? null]);
}

/** the config keywords behind the resolved fields, for reload reports */
const KEYWORD: Partial<Record<keyof ResolvedInstance | keyof VrrpInput, string>> = {
  basePriority: 'priority',
  advertIntervalCs: 'advert_int',
  initialState: 'state',
  nopreempt: 'nopreempt',
  preemptDelayMs: 'preempt_delay',
  downTimerAdverts: 'down_timer_adverts',
  lowerPrioNoAdvert: 'lower_prio_no_advert',
  higherPrioSendAdvert: 'higher_prio_send_advert',
  garp: 'garp_master_*',
  startupDelayMs: 'vrrp_startup_delay',
  vips: 'virtual_ipaddress',
  routes: 'virtual_routes',
  trackedInterfaces: 'track_interface',
  garpIntervalMs: 'vrrp_garp_interval',
  configFaults: 'unicast_fault_no_peer',
  trackedSrc: 'track_src_ip',
  // derived from the above: endpoint (addresses, interval), watchedVips
};

/** the config keywords whose values differ between two resolutions of one instance */
function diffKeys(a: ResolvedInstance, b: ResolvedInstance): string[] {
  const out = new Set<string>();
  const note = (k: string, x: unknown, y: unknown) => {
    if (JSON.stringify(x) === JSON.stringify(y)) return;
    out.add(KEYWORD[k as keyof typeof KEYWORD] ?? (k === 'endpoint' || k === 'watchedVips' ? '' : k));
  };
  for (const k of new Set([...Object.keys(a), ...Object.keys(b)]) as Set<keyof ResolvedInstance>) {
    if (k === 'input') for (const ik of new Set([...Object.keys(a.input), ...Object.keys(b.input)]) as Set<keyof VrrpInput>) note(ik, a.input[ik], b.input[ik]);
    else note(k, a[k], b[k]);
  }
  out.delete('');
  // a change only in derived fields (cannot happen today) still counts as a change
  if (!out.size && JSON.stringify(a) !== JSON.stringify(b)) out.add('other');
  return [...out];
}

/** Every instance of a config, resolved. */
export function resolveAll(config: KeepalivedConfig): ResolvedInstance[] {
  const groupOf = new Map<string, string>();
  for (const g of config.syncGroups) for (const m of g.members) groupOf.set(m.name, g.name);
  return config.instances.map((i) => resolveInstance(i, config.global, groupOf.get(i.name)));
}

