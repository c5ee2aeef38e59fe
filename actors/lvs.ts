// The health-checking half of keepalived: every virtual_server as an actor of
// machines/virtual-server.machine.ts, every checker of its real servers as an actor of
// machines/checker.machine.ts probing through adapters/checkers (one Prober for all: sockets on
// the event loop, MISC_CHECK scripts through the spawn server). Checker results flow to their
// virtual server; its transitions go to the bus and its destination table to the LB actor
// (actors/lb.ts). ha_suspend follows the VRRP instances that hold the virtual address.
// The daemon runs it in a worker thread (actors/lvs-remote.ts) so that checks never delay VRRP;
// tests with a SimulatedClock or a fake prober run it on the caller's thread.
import { createActor, fromCallback, type Actor, type AnyActorRef } from 'xstate';
import type { Checker, KeepalivedConfig, VirtualServer } from '../adapters/config/model.js';
import { probeTimeoutMs, type Prober, type ProbeTarget } from '../adapters/checkers/index.js';
import { checkerMachine, type CheckerEmitted, type ProbeInput, type WatchInput } from '../machines/checker.machine.js';
import { checkerInput, realServerKey, virtualServerInput, virtualServerName } from '../machines/lvs-input.js';
import { virtualServerMachine, type TableEntry, type VirtualServerEmitted } from '../machines/virtual-server.machine.js';
import type { Bus, BusEvent } from './bus.js';
import { HandedTimer, nodeTimers, type Clock } from './clock.js';
import type { Logger } from './log.js';

/** what the health checks log through: the daemon's logger, or the worker's forwarder */
export type LvsLog = Pick<Logger, 'debug' | 'info' | 'warn' | 'error'>;

/** A virtual server's state for `vigil status`, metrics and dumps. */
export interface VirtualServerStatus {
  readonly virtualServer: string;
  readonly quorum: 'up' | 'down';
  readonly sorryServer?: string;
  readonly realServers: readonly { realServer: string; alive: boolean; weight: number; failed?: string[]; drained?: boolean }[];
  readonly table: readonly { destination: string; weight: number; sorry?: boolean }[];
}

/** What a reload did to the virtual servers (part of the daemon's ReloadReport). */
export interface LvsReloadReport {
  added: string[];
  removed: string[];
  replaced: string[];
  unchanged: number;
}

/**
 * The health checks as the daemon drives them, run here (LvsSet) or in a worker thread
 * (actors/lvs-remote.ts RemoteLvs).
 */
export interface HealthChecks {
  start(): void;
  vrrpState(instance: string, state: string): void;
  drain(vsName: string, rs: string, drained: boolean): string | undefined;
  status(): VirtualServerStatus[];
  actors(): { kind: 'vs' | 'checker'; name: string; actor: AnyActorRef }[];
  reload(next: KeepalivedConfig, onRemoved: (name: string) => void): LvsReloadReport;
  /** checkers and virtual servers stop; omega's DOWNs (and their tables) unless `announce` is false */
  stop(opts?: { announce?: boolean }): Promise<void>;
}

/** A virtual server's config without source locations: equal keys, unchanged virtual server. */
const vsKey = (vs: VirtualServer) => JSON.stringify(vs, (k, x: unknown) => (k === 'loc' ? undefined : x));

/**
 * Which virtual servers a reload from `prev` to `next` adds, removes, replaces (changed config:
 * restarted from their checkers' health) and keeps. Pure: the worker's caller reports it before the
 * worker applies it.
 */
export function planLvsReload(prev: readonly VirtualServer[], next: readonly VirtualServer[]): LvsReloadReport {
  const out: LvsReloadReport = { added: [], removed: [], replaced: [], unchanged: 0 };
  const before = new Map(prev.map((vs) => [virtualServerName(vs), vs]));
  const after = new Map(next.map((vs) => [virtualServerName(vs), vs]));
  for (const [name, vs] of before) {
    const n = after.get(name);
    if (!n) out.removed.push(name);
    else if (vsKey(n) === vsKey(vs)) out.unchanged++;
    else out.replaced.push(name);
  }
  for (const name of after.keys()) if (!before.has(name)) out.added.push(name);
  return out;
}

export interface LvsPorts {
  readonly bus: Bus;
  readonly log: LvsLog;
  readonly prober: Prober;
  /** a virtual server's destinations changed (and once at start): the LB actor's input */
  readonly onTable?: (vs: VirtualServer, name: string, entries: readonly TableEntry[], cause: BusEvent) => void;
  readonly clock?: Clock;
  /** warmup draws (keepalived: warmup × random()); a fixed value in tests */
  readonly random?: () => number;
  /**
   * start() starts one virtual server per turn of the event loop and creates its checkers 2 ms at
   * a time (default false: all at once). On VRRP's thread: 100 checkers take about 15 ms to create,
   * 1,000 about 150 ms, which a BACKUP at 20 ms adverts must not spend in one go (its
   * Master_Down_Interval is 72 ms).
   */
  readonly startInSlices?: boolean;
}

/**
 * The longest one HTTP/SMTP probe may take: keepalived bounds each phase (connect, each read) by
 * connect_timeout, so the machine's backstop allows a few phases before it gives up on the probe.
 */
const PHASES = { HTTP_GET: 4, SSL_GET: 5, SMTP_CHECK: 5 } as Record<string, number>;

interface RunningVs {
  readonly vs: VirtualServer;
  readonly name: string;
  readonly actor: Actor<typeof virtualServerMachine>;
  readonly checkers: Actor<CheckerMachine>[];
  /** checkers not created yet (a sliced start: one per turn of the inbox, LvsSet.startChecker) */
  readonly pending: (() => Actor<CheckerMachine>)[];
  /** ha_suspend: the checks were resumed (a late-created checker starts paused, and must follow) */
  resumed: boolean;
  /** the VIP whose VRRP mastership gates the checks (ha_suspend) */
  readonly address?: string;
}

/** Where a real server's checkers probe (the checker's connect_ip/connect_port apply on top). */
export function probeTarget(vs: VirtualServer, rs: VirtualServer['realServers'][number]): ProbeTarget {
  return {
    address: rs.address,
    ...(rs.port ?? vs.port ? { port: rs.port ?? vs.port! } : {}),
    family: rs.family,
    ...(rs.virtualhost ?? vs.virtualhost ? { virtualhost: rs.virtualhost ?? vs.virtualhost! } : {}),
  };
}

/**
 * The checkers `prober` cannot watch (they would cost JavaScript on every check), by type; empty
 * when every check of `config` runs in the native probe engine.
 */
export function unwatchedCheckers(config: KeepalivedConfig, prober: Prober): Map<string, number> {
  const out = new Map<string, number>();
  for (const vs of config.virtualServers) {
    for (const rs of vs.realServers) {
      for (const ck of rs.checkers) {
        if (ck.type === 'BFD_CHECK' || prober.canWatch?.(ck, probeTarget(vs, rs))) continue;
        out.set(ck.type, (out.get(ck.type) ?? 0) + 1);
      }
    }
  }
  return out;
}

/** the longest stretch of checker results run in one turn of the event loop (LvsSet.feed) */
const SLICE_MS = 2;

/** One checker's probe: what the shared `probe` actor runs for it. */
interface ProbeSpec {
  readonly checker: Checker;
  readonly target: ProbeTarget;
  readonly timeoutMs: number;
}

type CheckerMachine = typeof checkerMachine;

export class LvsSet implements HealthChecks {
  private readonly running: RunningVs[] = [];
  /** VRRP instance → its VIP addresses; and the instances currently MASTER */
  private readonly vipsOf = new Map<string, readonly string[]>();
  private readonly masters = new Set<string>();
  /** checker id → its probe; the one machine below looks its checker up here */
  private readonly probes = new Map<string, ProbeSpec>();
  /**
   * One machine for every checker: a `.provide()` per checker rebuilds the machine's state nodes
   * (tens of KB of heap each, and slower transitions) for nothing but a different probe.
   */
  private readonly machine: CheckerMachine;
  /** results waiting for their turn (feed) */
  private readonly inbox: (() => void)[] = [];
  private draining = false;

  constructor(
    private config: KeepalivedConfig,
    private readonly ports: LvsPorts,
  ) {
    for (const i of config.instances) this.vipsOf.set(i.name, i.vips.map((v) => v.address));
    const probes = this.probes;
    const prober = ports.prober;
    const probe = fromCallback<{ type: 'none' }, ProbeInput>(({ sendBack, input }) => {
      const spec = probes.get(input.checker);
      if (!spec) {
        sendBack({ type: 'check.result', ok: false, detail: 'no probe for this checker (stopped)' });
        return;
      }
      const ac = new AbortController();
      let done = false;
      void prober.probe(spec.checker, spec.target, { signal: ac.signal, timeoutMs: spec.timeoutMs }).then((r) => {
        if (ac.signal.aborted) return;
        done = true;
        // an attempt stopped meanwhile drops what it sends back (XState)
        this.feed(() => sendBack({ type: 'check.result', ...r }));
      });
      // an answered probe holds nothing: aborting it would only build a DOMException (7 % of
      // the checkers' CPU at 1,000 real servers, bench/checkers.md)
      return () => {
        if (!done) ac.abort();
      };
    });
    // a steady checker's scheduled checks, made by the prober (the native engine) without a step of
    // the machine until one would change something
    const watch = fromCallback<{ type: 'none' }, WatchInput>(({ sendBack, input }) => {
      const spec = probes.get(input.checker);
      const cancel = spec && prober.watch?.(spec.checker, spec.target, { timeoutMs: spec.timeoutMs, intervalMs: input.intervalMs, expectOk: input.expectOk },
        (r) => this.feed(() => sendBack({ type: 'check.result', ...r })));
      if (!cancel) {
        sendBack({ type: 'watch.unavailable', reason: spec ? 'the prober cannot watch this checker' : 'no probe for this checker (stopped)' });
        return undefined;
      }
      return cancel;
    });
    this.machine = checkerMachine.provide({ actors: { probe, watch } }) as CheckerMachine;
  }

  /**
   * The checkers' clock: a timer that fires takes its turn in the inbox (feed) instead of running
   * in Node's timer phase. Checkers whose results came together arm their next check or retry for
   * the same millisecond, and Node runs every timer due in one stretch: with 1,000 checkers failing
   * together that held a 5 ms timer (VRRP's, on this thread) 170-660 ms, fed in slices 14-15 ms
   * (test/unit/lvs-feed.test.ts). A timer cleared while its turn waits does not run, as a cleared
   * timer would not.
   */
  private readonly slicedClock: Clock = {
    setTimeout: (fn, ms) => new HandedTimer(nodeTimers, ms, fn, (run) => this.feed(run)),
    clearTimeout: (id) => (id as HandedTimer | undefined)?.clear(),
  };

  /**
   * A result reaches its checker's machine, and through it the virtual server, the bus, the log and
   * the LB: about a millisecond of work for a change. A burst of them (1,000 checkers' first results
   * within one delay_loop, a switch failing under every real server) is run at most SLICE_MS per
   * turn of the event loop, so that VRRP's timers, on the same thread when the checks run here, get
   * their turn in between (bench/failover-checkers1000.md). With an injected clock (tests), at once.
   */
  private feed(fn: () => void): void {
    if (this.ports.clock) { fn(); return; }
    this.inbox.push(fn);
    if (this.draining) return;
    this.draining = true;
    setImmediate(() => this.drainInbox());
  }

  private drainInbox(): void {
    const until = performance.now() + SLICE_MS;
    let i = 0;
    try {
      while (i < this.inbox.length && (i === 0 || performance.now() < until)) this.inbox[i++]!();
    } finally {
      this.inbox.splice(0, i);
      if (this.inbox.length) setImmediate(() => this.drainInbox());
      else this.draining = false;
    }
  }

  start(): void {
    const { log } = this.ports;
    const all = this.config.virtualServers;
    if (all.length) {
      const checkers = all.reduce((n, vs) => n + vs.realServers.reduce((m, rs) => m + rs.checkers.filter((c) => c.type !== 'BFD_CHECK').length, 0), 0);
      log.info(`Starting health checkers: ${all.length} virtual server(s), ${checkers} checker(s)`);
    }
    if (!this.ports.startInSlices || this.ports.clock) {
      for (const vs of all) this.startVs(vs);
      return;
    }
    this.pendingStarts = [...all];
    for (const vs of all) {
      this.feed(() => {
        const i = this.pendingStarts.indexOf(vs);
        if (i < 0) return; // started by flushStarts(), or stopped before its turn
        this.pendingStarts.splice(i, 1);
        this.startVs(vs, undefined, true);
      });
    }
  }

  /** virtual servers start() has not started yet (startInSlices) */
  private pendingStarts: VirtualServer[] = [];

  /** whatever start() left for later, started now: a reload, a drain or a status needs them all */
  private flushStarts(): void {
    for (const vs of this.pendingStarts.splice(0)) this.startVs(vs);
    for (const r of this.running) while (r.pending.length) this.startChecker(r);
  }

  /** the next checker a sliced start left for later, created and started (nothing if it was stopped) */
  private startChecker(r: RunningVs): void {
    const make = r.pending.shift();
    if (!make) return;
    const c = make();
    r.checkers.push(c);
    c.start();
    if (r.vs.haSuspend && r.resumed) c.send({ type: 'resume' });
  }

  /**
   * `carry`: checker id → up, the health a previous run of this virtual server had (a reload): a
   * checker that was down starts down (as `alpha`), so a replaced virtual server never sends
   * traffic to a server it knew dead while its first checks run.
   *
   * `sliced`: the virtual server starts now, its checkers one per turn of the inbox (feed, 2 ms at
   * a time): creating 100 took about 18 ms in one go, which a BACKUP at 20 ms adverts felt (the
   * first failover trials with 1,000 checkers, bench/failover-checkers1000.md).
   */
  private startVs(vs: VirtualServer, carry?: ReadonlyMap<string, boolean>, sliced = false): void {
    const { bus, log, clock } = this.ports;
    const name = virtualServerName(vs);
    // rs_init_notifies: the servers alive at start announce themselves (keepalived's init_service_rs),
    // not those of a virtual server a reload restarted from its checkers' health (they were announced)
    const base = virtualServerInput(vs, { initNotifies: !carry && this.config.global.rsInitNotifies === true });
    const vsInput = carry
      ? { ...base, realServers: base.realServers.map((rs) => ({ ...rs, checkers: rs.checkers.map((c) => (carry.has(c.id) ? { ...c, alpha: !carry.get(c.id) } : c)) })) }
      : base;
    const actor = createActor(virtualServerMachine, { input: vsInput, id: `vs:${name}`, ...(clock ? { clock } : {}) });
    const address = vs.kind === 'address' ? vs.address : undefined;
    const r: RunningVs = { vs, name, actor, checkers: [], pending: [], resumed: false, ...(address ? { address } : {}) };
    /** the last checker event per real server: what a virtual server's reaction continues */
    let lastCause: BusEvent | undefined;
    actor.on('*', (e: VirtualServerEmitted) => this.onVsEvent(vs, name, e, lastCause, r));
    actor.subscribe({ error: (err) => log.error({ err }, `virtual server ${name}: machine error`) });

    for (const rs of vs.realServers) {
      rs.checkers.forEach((ck, index) => {
        if (ck.type === 'BFD_CHECK') {
          log.warn(`${name} ${realServerKey(rs.address, rs.port ?? vs.port)}: BFD_CHECK is not supported; the checker is ignored`);
          return;
        }
        r.pending.push(() => {
          const target = probeTarget(vs, rs);
          const timeoutMs = probeTimeoutMs(ck);
          const warmup = ck.resolved?.warmupMs ?? 0;
          const fresh = checkerInput(vs, rs, index, { warmupOffsetMs: Math.floor((this.ports.random ?? Math.random)() * warmup), logAllFailures: this.config.global.checkerLogAllFailures === true });
          const carried = carry?.has(fresh.id) ? { ...fresh, alpha: !carry.get(fresh.id) } : fresh;
          const input = this.ports.prober.canWatch?.(ck, target) ? { ...carried, watch: true } : carried;
          this.probes.set(input.id, { checker: ck, target, timeoutMs });
          // the machine's backstop, above the probe's own timeouts (MISC: misc_timeout plus the kill)
          const backstop = ck.type === 'MISC_CHECK' ? timeoutMs + 2000 : timeoutMs * (PHASES[ck.type] ?? 1) + 500;
          const c = createActor(this.machine, {
            input: { ...input, probeTimeoutMs: backstop },
            id: `checker:${input.id}`,
            clock: clock ?? this.slicedClock,
          });
          c.on('*', (e: CheckerEmitted) => {
            if (e.type === 'checker.activity') return;
            if (e.type === 'checker.attempt-failed') {
              // keepalived: "TCP connection to [10.0.0.1]:tcp:80 failed." while the server is still up
              log.info({ checker: e.checker, attempt: e.attempt, detail: e.detail }, `${e.checker}: check failed${e.detail ? ` (${e.detail})` : ''}, attempt ${e.attempt}`);
              return;
            }
            if (e.type === 'checker.state') {
              // keepalived: "TCP connection to [10.0.0.1]:tcp:80 success." / "... failed after 3 retries."
              if (e.to !== e.from || e.first) log.info({ checker: e.checker, from: e.from, to: e.to, cause: e.cause, detail: e.detail }, `${e.checker}: ${e.to === 'up' ? 'UP' : 'DOWN'} (${e.cause})`);
              lastCause = bus.publish('checker', e.checker, 'checker.state', { ...e });
            } else if (e.type === 'checker.weight') {
              lastCause = bus.publish('checker', e.checker, 'checker.weight', { ...e });
            }
            actor.send(e);
          });
          c.subscribe({ error: (err) => log.error({ err }, `checker ${input.id}: machine error`) });
          return c;
        });
      });
    }
    this.running.push(r);
    if (sliced) {
      actor.start();
      if (vs.haSuspend) this.applyHaSuspend(r);
      for (let i = r.pending.length; i > 0; i--) this.feed(() => this.startChecker(r));
      return;
    }
    r.checkers.push(...r.pending.splice(0).map((make) => make()));
    actor.start();
    for (const c of r.checkers) c.start();
    if (vs.haSuspend) this.applyHaSuspend(r);
  }

  private onVsEvent(vs: VirtualServer, name: string, e: VirtualServerEmitted, cause: BusEvent | undefined, r: RunningVs) {
    const { bus, log } = this.ports;
    const link = cause ? { cause: cause.id, correlation: cause.correlation } : {};
    switch (e.type) {
      case 'vs.rs':
        // keepalived: "Removing service [10.0.0.1]:tcp:80 from VS [10.0.0.100]:tcp:80"
        if (!e.initial || e.state === 'down') log.info({ vs: name, rs: e.rs, state: e.state, cause: e.cause }, e.state === 'up' ? `Adding service ${e.rs} to VS ${name}` : `Removing service ${e.rs} from VS ${name}`);
        bus.publish('vs', name, 'vs.rs', { ...e }, link);
        return;
      case 'vs.quorum':
        log.info({ vs: name, weight: e.weight, quorum: e.quorum }, e.state === 'up' ? `Gained quorum ${e.quorum}+${e.hysteresis}=${e.threshold} <= ${e.weight} for VS ${name}` : `Lost quorum ${e.quorum}-${e.hysteresis}=${e.threshold} > ${e.weight} for VS ${name}`);
        bus.publish('vs', name, 'vs.quorum', { ...e }, link);
        return;
      case 'vs.weight':
        bus.publish('vs', name, 'vs.weight', { ...e }, link);
        return;
      case 'vs.drain':
        bus.publish('vs', name, 'vs.drain', { ...e }, link);
        return;
      case 'vs.table': {
        const ev = bus.publish('vs', name, 'vs.table', { ...e }, link);
        this.ports.onTable?.(vs, name, e.entries, ev);
        return;
      }
      case 'vs.suspend':
      case 'vs.resume':
        log.info(`VS ${name}: checks ${e.type === 'vs.suspend' ? 'suspended (not VRRP master for its address)' : 'resumed'}`);
        r.resumed = e.type === 'vs.resume';
        for (const c of r.checkers) c.send({ type: e.type === 'vs.suspend' ? 'pause' : 'resume' });
        return;
      case 'vs.ignored':
        log.debug({ vs: name, event: e.event, reason: e.reason }, `VS ${name} ignored ${e.event}: ${e.reason}`);
        return;
    }
  }

  /** a VRRP instance changed state: ha_suspend virtual servers follow the instance holding their address */
  vrrpState(instance: string, state: string): void {
    if (state === 'MASTER') this.masters.add(instance);
    else this.masters.delete(instance);
    for (const r of this.running) if (r.vs.haSuspend) this.applyHaSuspend(r);
  }

  private applyHaSuspend(r: RunningVs): void {
    if (!r.address) return;
    const master = [...this.masters].some((i) => this.vipsOf.get(i)?.includes(r.address!));
    r.actor.send({ type: master ? 'vrrp.master' : 'vrrp.not-master' });
  }

  /** operator: drain (weight 0, entry kept) or restore a real server */
  drain(vsName: string, rs: string, drained: boolean): string | undefined {
    this.flushStarts();
    const r = this.running.find((x) => x.name === vsName);
    if (!r) return `no virtual_server '${vsName}' (running: ${this.running.map((x) => x.name).join(', ') || 'none'})`;
    const keys = Object.keys(r.actor.getSnapshot().context.rs);
    if (!keys.includes(rs)) return `virtual_server ${vsName} has no real_server '${rs}' (it has: ${keys.join(', ')})`;
    r.actor.send({ type: drained ? 'rs.drain' : 'rs.restore', rs });
    return undefined;
  }

  /** the running actors (the dashboard shows where each stands on its chart) */
  actors(): { kind: 'vs' | 'checker'; name: string; actor: AnyActorRef }[] {
    return this.running.flatMap((r) => [
      { kind: 'vs' as const, name: r.name, actor: r.actor },
      // created with id `checker:<checker id>` (startVs), the id its events carry
      ...r.checkers.map((c) => ({ kind: 'checker' as const, name: c.id.replace(/^checker:/, ''), actor: c })),
    ]);
  }

  status(): VirtualServerStatus[] {
    this.flushStarts();
    return this.running.map((r) => {
      const c = r.actor.getSnapshot().context;
      return {
        virtualServer: r.name,
        quorum: c.quorumUp ? ('up' as const) : ('down' as const),
        ...(c.sorry ? { sorryServer: realServerKey(c.sorry.address, c.sorry.port ?? undefined) } : {}),
        realServers: Object.values(c.rs).map((rs) => ({
          realServer: rs.key,
          alive: rs.failed.length === 0,
          weight: rs.weight,
          ...(rs.failed.length ? { failed: [...rs.failed] } : {}),
          ...(rs.drained ? { drained: true } : {}),
        })),
        table: (c.table ?? []).map((t) => ({ destination: realServerKey(t.address, t.port ?? undefined), weight: t.weight, ...(t.sorry ? { sorry: true } : {}) })),
      };
    });
  }

  /**
   * A reload: virtual servers whose configuration is unchanged keep their actors and checkers (and
   * so their state); changed ones are stopped and started again; removed ones stop. Returns the
   * names, and calls `onRemoved` for each virtual server no longer run (its LB entries go).
   * `carryIn`: health known from elsewhere (a restarted worker), used where no checker runs.
   */
  reload(next: KeepalivedConfig, onRemoved: (name: string) => void, carryIn?: ReadonlyMap<string, boolean>): LvsReloadReport {
    this.flushStarts();
    const plan = planLvsReload(this.running.map((r) => r.vs), next.virtualServers);
    const carry = new Map<string, boolean>(carryIn);
    for (const r of [...this.running]) {
      if (!plan.removed.includes(r.name) && !plan.replaced.includes(r.name)) continue;
      for (const c of r.checkers) carry.set(c.id.replace(/^checker:/, ''), c.getSnapshot().context.health.up);
      this.stopOne(r);
      if (plan.removed.includes(r.name)) onRemoved(r.name);
    }
    this.config = next;
    this.vipsOf.clear();
    for (const i of next.instances) this.vipsOf.set(i.name, i.vips.map((v) => v.address));
    for (const vs of next.virtualServers) {
      const name = virtualServerName(vs);
      if (!this.running.some((r) => r.name === name)) this.startVs(vs, carry);
    }
    return plan;
  }

  /** `announce` false: no omega DOWNs (handOff) */
  private stopOne(r: RunningVs, announce = true): void {
    r.pending.length = 0; // never created: nothing to stop
    for (const c of r.checkers) {
      c.stop();
      this.probes.delete(c.id.replace(/^checker:/, ''));
    }
    if (announce) r.actor.send({ type: 'stop' });
    r.actor.stop();
    this.running.splice(this.running.indexOf(r), 1);
  }

  /**
   * Another LvsSet takes over (a reload that moves the checks to a thread of their own): every
   * checker and virtual server stops without a word (no omega DOWNs, no table), and what they knew
   * is handed on, checker id → up, for the next one to start from (as a restarted thread does).
   */
  handOff(): Map<string, boolean> {
    // checkers never created (a sliced start) know nothing to hand on: the next set starts them afresh
    const health = new Map<string, boolean>();
    for (const r of this.running) for (const c of r.checkers) health.set(c.id.replace(/^checker:/, ''), c.getSnapshot().context.health.up);
    void this.stop({ announce: false });
    return health;
  }

  /** checkers stop (their running probes are cancelled); virtual servers announce omega's DOWNs unless `announce` is false */
  stop({ announce = true }: { announce?: boolean } = {}): Promise<void> {
    this.pendingStarts = []; // never started: nothing to stop
    for (const r of [...this.running]) this.stopOne(r, announce);
    return Promise.resolve();
  }
}
