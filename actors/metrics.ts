// Prometheus metrics (prom-client), in a registry of our own: the global default registry is shared
// with every library in the process, and a second daemon in one process (tests) would collide.
//
// What the daemon already knows (states, priorities, packet counters, trackers) is read at scrape
// time from `status()`, so a scrape cannot disagree with `vigil status` and costs nothing between
// scrapes; what only exists as events (transitions, reloads, operator commands) is counted from
// the bus. A scrape runs one metric family per turn of the event loop, so a big node's scrape never
// holds VRRP's timers for long (bench/metrics-scrape.ts).
//
// Names follow mehdy/keepalived-exporter where a metric overlaps, with its labels (`iname`, `intf`,
// `vrid`: `instance` would clash with the label Prometheus gives every target), so its dashboards
// and alerts keep working; the rest is `vigil_*`. docs/metrics.md lists every metric.
//
// One collector per source. The notifier (issue #7) will add its own
// `Collector` to createMetrics.
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { HealthReport } from '../adapters/http/server.js';
import type { JournalStats } from '../adapters/journal/types.js';
import type { NatsExportStats } from '../adapters/nats/export.js';
import type { DropReason, VrrpCounters, VrrpNetStats } from '../adapters/vrrp/types.js';
import type { NatsLinkState } from '../machines/nats-link.machine.js';
import type { VrrpStateName } from '../machines/vrrp.machine.js';
import { checkerThreads, EVENT_LOOP_SAMPLE_MS } from './checker-threads.js';
import { LOOP_DELAY_BUCKETS, LoopDelay, type DelayTally } from './loop-delay.js';
import type { Daemon } from './daemon.js';
import type { VigilEvent } from './event-types.js';
import type { VrrpInstanceActor } from './vrrp.js';

/** What a collector registers into. */
export interface CollectorContext {
  readonly registry: Registry;
  /**
   * `compute` once per scrape, so every metric of one scrape sees the same snapshot (a state and
   * its counters from the same moment), however many metrics read it
   */
  perScrape<T>(compute: () => T): () => T;
  /**
   * resolves on a later turn of the event loop than the previous caller's: collect() callbacks that
   * await it run one per turn, so a scrape of a big node never holds VRRP's timers for long
   */
  turn(): Promise<void>;
}

/** One source of metrics: registers them; returns what to undo on close. */
export type Collector = (ctx: CollectorContext) => (() => void) | void;

export interface MetricsOptions {
  readonly daemon: Daemon;
  readonly version: string;
  /** readiness, for keepalived_up (actors/health.ts) */
  readonly health: () => HealthReport;
  /** the raw VRRP net's own counters: datagrams read, drops no instance claimed */
  readonly vrrpNet?: () => VrrpNetStats;
  /** the journal (its stats, when it has them: the file journal's backlog and drops) */
  readonly journal?: () => { readonly lastSeq: number; stats?(): JournalStats };
  readonly nats?: { stats(): NatsExportStats; state(): NatsLinkState };
  /**
   * prom-client's process and Node.js metrics (default true). They cannot be unregistered (a GC
   * observer and an event-loop monitor stay), so tests that build many registries leave them out.
   */
  readonly processMetrics?: boolean;
  /** how often the event-loop delay is sampled (default EVENT_LOOP_SAMPLE_MS) */
  readonly eventLoopSampleMs?: number;
}

export interface Metrics {
  /** the exposition format's content type, for the HTTP reply */
  readonly contentType: string;
  /** the exposition text */
  text(): Promise<string>;
  /** stop the sampler, leave the bus, empty the registry; idempotent */
  close(): void;
}

export function createMetrics(o: MetricsOptions): Metrics {
  const registry = new Registry();
  const collectors: Collector[] = [
    vrrpCollector(o.daemon),
    lvsCollector(o.daemon),
    daemonCollector(o.daemon, o.version, o.health),
    ...(o.vrrpNet ? [vrrpNetCollector(o.vrrpNet)] : []),
    ...(o.journal ? [journalCollector(o.journal)] : []),
    ...(o.nats ? [natsCollector(o.nats)] : []),
    processCollector(o.processMetrics ?? true, o.eventLoopSampleMs ?? EVENT_LOOP_SAMPLE_MS),
  ];
  let scrape = 0;
  const perScrape = <T>(compute: () => T) => {
    let cached: { scrape: number; value: T } | undefined;
    return () => {
      if (cached?.scrape !== scrape) cached = { scrape, value: compute() };
      return cached.value;
    };
  };
  let last = Promise.resolve();
  const turn = () => (last = last.then(() => new Promise<void>((resolve) => setImmediate(resolve))));
  const undo = collectors.map((c) => c({ registry, perScrape, turn }));
  let closed = false;
  return {
    contentType: registry.contentType,
    text: () => {
      scrape++;
      return registry.metrics();
    },
    close() {
      if (closed) return;
      closed = true;
      for (const u of undo) u?.();
      registry.clear();
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Helpers

type Labels = Record<string, string>;
type Fill = (put: (labels: Labels, value: number) => void) => void;

/** A gauge whose series are rebuilt from `fill` at every scrape (series of removed things vanish). */
function scrapedGauge(ctx: CollectorContext, name: string, help: string, labelNames: readonly string[], fill: Fill): void {
  new Gauge({
    name,
    help,
    labelNames,
    registers: [ctx.registry],
    async collect() {
      await ctx.turn();
      this.reset();
      fill((l, v) => this.set(l, v));
    },
  });
}

/**
 * A histogram fed whole tallies (actors/loop-delay.ts) instead of one observation at a time:
 * prom-client's Histogram has no way to add n samples to a bucket. Its counts only grow; `pull`,
 * if given, is asked for the new ones at each scrape.
 */
class TallyHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  private readonly counts = new Array<number>(LOOP_DELAY_BUCKETS.length + 1).fill(0);
  private sum = 0;

  constructor(
    readonly name: string,
    readonly help: string,
    registry: Registry,
    private readonly pull?: () => DelayTally,
  ) {
    registry.registerMetric(this as unknown as Parameters<Registry['registerMetric']>[0]);
  }

  add(t: DelayTally): void {
    t.counts.forEach((n, i) => (this.counts[i] = (this.counts[i] as number) + n));
    this.sum += t.sum;
  }

  reset(): void {
    this.counts.fill(0);
    this.sum = 0;
  }

  get() {
    if (this.pull) this.add(this.pull());
    const bucket = `${this.name}_bucket`;
    let acc = 0;
    const values: { metricName: string; labels: Labels; value: number }[] = LOOP_DELAY_BUCKETS.map((le, i) => {
      acc += this.counts[i] as number;
      return { metricName: bucket, labels: { le: String(le) }, value: acc };
    });
    acc += this.counts[LOOP_DELAY_BUCKETS.length] as number;
    values.push({ metricName: bucket, labels: { le: '+Inf' }, value: acc }, { metricName: `${this.name}_sum`, labels: {}, value: this.sum }, { metricName: `${this.name}_count`, labels: {}, value: acc });
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }
}

/** A counter whose totals are kept elsewhere (packet counters, tallies) and copied at every scrape. */
function scrapedCounter(ctx: CollectorContext, name: string, help: string, labelNames: readonly string[], fill: Fill): void {
  new Counter({
    name,
    help,
    labelNames,
    registers: [ctx.registry],
    async collect() {
      await ctx.turn();
      this.reset();
      fill((l, v) => this.inc(l, v));
    },
  });
}

/** A Record keyed by every member of a union, so a state added to the union must be added here. */
const keysOf = <K extends string>(r: Record<K, unknown>) => Object.keys(r) as K[];

/** keepalived's numbers for states (VRRP_STATE_* in vrrp.h), which the exporter exports as is */
const KEEPALIVED_STATE: Record<VrrpStateName, number> = { INIT: 0, BACKUP: 1, MASTER: 2, FAULT: 3, STOP: 98 };
const VRRP_STATES = keysOf(KEEPALIVED_STATE);

const NATS_STATES = keysOf<NatsLinkState>({
  disconnected: 1,
  connecting: 1,
  'stream-mismatch': 1,
  draining: 1,
  idle: 1,
  stalled: 1,
  closing: 1,
  closed: 1,
});

const INSTANCE_LABELS = ['iname', 'intf', 'vrid'] as const;

/** keepalived's per-instance error counters that vigil's drop reasons fill (docs/metrics.md) */
const KEEPALIVED_DROPS: readonly { name: string; help: string; reasons: readonly DropReason[] }[] = [
  { name: 'keepalived_packet_length_errors_total', help: 'Adverts dropped: too short, or length not matching the address count', reasons: ['truncated', 'bad-length'] },
  { name: 'keepalived_ip_ttl_errors_total', help: 'Adverts dropped: TTL / hop limit not 255', reasons: ['bad-ttl'] },
  { name: 'keepalived_advertisements_interval_errors_total', help: 'Adverts dropped: VRRPv2 advertisement interval differs from ours', reasons: ['interval-mismatch'] },
  { name: 'keepalived_invalid_type_received_total', help: 'Adverts dropped: VRRP type is not ADVERTISEMENT', reasons: ['bad-type'] },
  { name: 'keepalived_authentication_mismatch_total', help: 'Adverts dropped: authentication type invalid or not ours', reasons: ['auth-type-mismatch'] },
  { name: 'keepalived_authentication_failure_total', help: 'Adverts dropped: wrong password or AH check failed', reasons: ['auth-failure'] },
];

const NOT_DROPS = new Set(['rx', 'tx', 'txError']);
/** the drop reasons seen (16 zero series per instance would dwarf everything else on a big node) */
const dropsOf = (c: VrrpCounters) => Object.entries(c).filter(([k, n]) => n > 0 && !NOT_DROPS.has(k)) as [DropReason, number][];

// ---------------------------------------------------------------------------------------------
// Collectors

interface Tally {
  readonly from: string;
  readonly to: string;
  readonly cause: string;
  n: number;
}

/** Per vrrp_instance: state, priorities, packet counters and drops, transitions, trackers. */
export function vrrpCollector(daemon: Daemon): Collector {
  return (ctx) => {
    // transitions per instance, by from/to/cause; an instance a reload removes takes its tallies along
    const tallies = new Map<string, Map<string, Tally>>();
    const off = daemon.bus.subscribe((be) => {
      // Bus.publish is typed by event-types.ts: an event's data is its type's
      const e = be as unknown as VigilEvent;
      if (e.type === 'vrrp.state') {
        const d = e.data;
        let byKey = tallies.get(d.instance);
        if (!byKey) tallies.set(d.instance, (byKey = new Map()));
        const key = `${d.from}|${d.to}|${d.cause}`;
        const t = byKey.get(key);
        if (t) t.n++;
        else byKey.set(key, { from: d.from, to: d.to, cause: d.cause, n: 1 });
      } else if (e.type === 'daemon.reloaded') {
        for (const name of e.data.removed) tallies.delete(name);
      }
    });

    const snapshot = ctx.perScrape(() =>
      [...daemon.instances.values()].map((inst) => {
        const s = inst.status();
        return { inst, s, labels: { iname: s.instance, intf: s.interface, vrid: String(s.vrid) } as Labels };
      }),
    );
    const each = (f: (x: ReturnType<typeof snapshot>[number], put: (l: Labels, v: number) => void) => void): Fill => (put) => {
      for (const x of snapshot()) f(x, put);
    };
    const vipsOf = (inst: VrrpInstanceActor, excluded: boolean) => {
      const own = new Set(inst.resolved.endpoint.addresses);
      return inst.resolved.vips.filter((v) => own.has(v.address) !== excluded);
    };
    // the exporter: one series per VIP, `intf` the VIP's device; one with ip_address="" when there is none
    const stateByVip = (excluded: boolean) =>
      each(({ inst, s, labels }, put) => {
        const vips = vipsOf(inst, excluded);
        for (const v of vips) put({ ...labels, intf: v.dev, ip_address: `${v.address}/${v.prefix}` }, KEEPALIVED_STATE[s.state]);
        if (!vips.length && !excluded) put({ ...labels, ip_address: '' }, KEEPALIVED_STATE[s.state]);
      });
    scrapedGauge(ctx, 'keepalived_vrrp_state', 'VRRP state per virtual IP: 0 INIT, 1 BACKUP, 2 MASTER, 3 FAULT, 98 STOP (keepalived numbering)', [...INSTANCE_LABELS, 'ip_address'], stateByVip(false));
    scrapedGauge(ctx, 'keepalived_vrrp_excluded_state', 'VRRP state per excluded virtual IP (virtual_ipaddress_excluded), numbered as keepalived_vrrp_state', [...INSTANCE_LABELS, 'ip_address'], stateByVip(true));
    scrapedGauge(
      ctx,
      'vigil_vrrp_state',
      'VRRP state: 1 for the state the instance is in, 0 for the others',
      [...INSTANCE_LABELS, 'state'],
      each(({ s, labels }, put) => {
        for (const st of VRRP_STATES) put({ ...labels, state: st }, st === s.state ? 1 : 0);
      }),
    );
    scrapedGauge(
      ctx,
      'vigil_vrrp_priority',
      'Effective priority: the configured one adjusted by weighted trackers, or set by an operator',
      INSTANCE_LABELS,
      each(({ s, labels }, put) => {
        if (s.priority !== undefined) put(labels, s.priority);
      }),
    );
    scrapedGauge(ctx, 'vigil_vrrp_base_priority', 'Configured priority (the priority keyword)', INSTANCE_LABELS, each(({ s, labels }, put) => put(labels, s.basePriority)));

    const counter = (name: string, help: string, value: (c: VrrpCounters) => number) =>
      scrapedCounter(
        ctx,
        name,
        help,
        INSTANCE_LABELS,
        each(({ s, labels }, put) => {
          if (s.counters) put(labels, value(s.counters));
        }),
      );
    counter('keepalived_advertisements_received_total', 'Adverts received that passed every check', (c) => c.rx);
    counter('keepalived_advertisements_sent_total', 'Advert packets handed to the kernel (one per unicast peer)', (c) => c.tx);
    counter('vigil_vrrp_send_errors_total', 'Advert sends that failed', (c) => c.txError);
    for (const k of KEEPALIVED_DROPS) counter(k.name, k.help, (c) => k.reasons.reduce((n, r) => n + c[r], 0));
    scrapedCounter(
      ctx,
      'vigil_vrrp_dropped_total',
      "Received packets dropped by keepalived's receive checks, by reason",
      [...INSTANCE_LABELS, 'reason'],
      each(({ s, labels }, put) => {
        for (const [reason, n] of s.counters ? dropsOf(s.counters) : []) put({ ...labels, reason }, n);
      }),
    );

    scrapedCounter(
      ctx,
      'vigil_vrrp_events_suppressed_total',
      'Per-packet events folded into a later one by the rate limit (one per sender per second): vrrp.rx-lower-priority events, vrrp.ignored log lines',
      [...INSTANCE_LABELS, 'type'],
      each(({ s, labels }, put) => {
        for (const [type, n] of Object.entries(s.eventsSuppressed)) put({ ...labels, type }, n);
      }),
    );

    const tallied = (f: (t: Tally) => boolean) => (name: string) => [...(tallies.get(name)?.values() ?? [])].filter(f).reduce((n, t) => n + t.n, 0);
    const becameMaster = tallied((t) => t.to === 'MASTER');
    const releasedMaster = tallied((t) => t.from === 'MASTER');
    scrapedCounter(
      ctx,
      'vigil_vrrp_transitions_total',
      'State transitions, by from, to and cause',
      [...INSTANCE_LABELS, 'from', 'to', 'cause'],
      each(({ s, labels }, put) => {
        for (const t of tallies.get(s.instance)?.values() ?? []) put({ ...labels, from: t.from, to: t.to, cause: t.cause }, t.n);
      }),
    );
    scrapedCounter(ctx, 'keepalived_become_master_total', 'Transitions to MASTER', INSTANCE_LABELS, each(({ s, labels }, put) => put(labels, becameMaster(s.instance))));
    scrapedCounter(ctx, 'keepalived_release_master_total', 'Transitions out of MASTER', INSTANCE_LABELS, each(({ s, labels }, put) => put(labels, releasedMaster(s.instance))));

    scrapedGauge(
      ctx,
      'vigil_vrrp_tracker_ok',
      "A tracker's last result as this instance sees it: 1 ok, 0 failed (absent until it reports)",
      [...INSTANCE_LABELS, 'kind', 'tracker'],
      each(({ s, labels }, put) => {
        for (const t of s.trackers) if (t.status !== 'unknown') put({ ...labels, kind: t.kind, tracker: t.name }, t.status === 'ok' ? 1 : 0);
      }),
    );
    // the exporter's per-script view: one series per vrrp_script, whatever instances track it
    scrapedGauge(ctx, 'keepalived_script_status', 'vrrp_script result: 1 GOOD, 0 BAD (absent until it reports)', ['name'], (put) => {
      const seen = new Set<string>();
      for (const { s } of snapshot()) {
        for (const t of s.trackers) {
          if (t.kind !== 'script' || t.status === 'unknown' || seen.has(t.name)) continue;
          seen.add(t.name);
          put({ name: t.name }, t.status === 'ok' ? 1 : 0);
        }
      }
    });
    return off;
  };
}

/** The daemon as a whole: up, version, reloads, operator commands, the bus. */
/**
 * Virtual servers, real servers, checkers and the load balancer (actors/lvs.ts, actors/lb.ts).
 * vigil's own names: the keepalived exporters have no checker or real-server metrics (docs/metrics.md).
 */
export function lvsCollector(daemon: Daemon): Collector {
  return (ctx) => {
    const status = ctx.perScrape(() => daemon.lvs?.status() ?? []);
    const transitions = new Map<string, number>();
    const lbChanges = new Map<string, number>();
    const off = daemon.bus.subscribe((be) => {
      const e = be as unknown as VigilEvent;
      if (e.type === 'checker.state' && e.data.from !== e.data.to) {
        const k = `${e.data.checker}\u0000${e.data.to}`;
        transitions.set(k, (transitions.get(k) ?? 0) + 1);
      } else if (e.type === 'lb.change') {
        const k = `${e.data.kind}\u0000${e.data.drift ? 'drift' : 'change'}`;
        lbChanges.set(k, (lbChanges.get(k) ?? 0) + 1);
      }
    });
    scrapedGauge(ctx, 'vigil_virtual_server_quorum_up', 'Virtual server: 1 while its quorum is up, 0 while down (the sorry server serves)', ['vs'], (put) => {
      for (const v of status()) put({ vs: v.virtualServer }, v.quorum === 'up' ? 1 : 0);
    });
    scrapedGauge(ctx, 'vigil_real_server_up', 'Real server: 1 while all its checkers are up', ['vs', 'rs'], (put) => {
      for (const v of status()) for (const r of v.realServers) put({ vs: v.virtualServer, rs: r.realServer }, r.alive ? 1 : 0);
    });
    scrapedGauge(ctx, 'vigil_real_server_weight', 'Real server: the weight in the load balancer (0: quiesced, inhibited or drained; absent: not in the table)', ['vs', 'rs', 'sorry'], (put) => {
      for (const v of status()) for (const t of v.table) put({ vs: v.virtualServer, rs: t.destination, sorry: t.sorry ? '1' : '0' }, t.weight);
    });
    scrapedGauge(ctx, 'vigil_real_server_drained', 'Real server: 1 while an operator has drained it', ['vs', 'rs'], (put) => {
      for (const v of status()) for (const r of v.realServers) put({ vs: v.virtualServer, rs: r.realServer }, r.drained ? 1 : 0);
    });
    scrapedCounter(ctx, 'vigil_checker_transitions_total', 'Checker state changes, by checker and the state entered', ['checker', 'to'], (put) => {
      for (const [k, n] of transitions) {
        const [checker = '', to = ''] = k.split('\u0000');
        put({ checker, to }, n);
      }
    });
    scrapedCounter(ctx, 'vigil_lb_changes_total', 'Data-plane changes made by the load balancer, by kind; origin drift: a repair of an outside change', ['kind', 'origin'], (put) => {
      for (const [k, n] of lbChanges) {
        const [kind = '', origin = ''] = k.split('\u0000');
        put({ kind, origin }, n);
      }
    });
    // the health-check thread (actors/lvs-remote.ts): its restarts and its own event-loop delay
    const threadDelay = new TallyHistogram(
      'vigil_checker_thread_event_loop_delay_seconds',
      `How late the health-check thread's event loop let a ${EVENT_LOOP_SAMPLE_MS} ms timer fire: the delay its checks' timers suffer`,
      ctx.registry,
    );
    const onDelays = (t: DelayTally) => threadDelay.add(t);
    checkerThreads.delayListeners.add(onDelays);
    scrapedCounter(ctx, 'vigil_checker_thread_restarts_total', 'Health-check thread restarts after it died (each from its checkers\' last states)', [], (put) => put({}, checkerThreads.restarts));
    scrapedGauge(ctx, 'vigil_lb_apply_failures', 'Consecutive failed applies of the load-balancer table (0: in sync)', ['driver'], (put) => {
      if (daemon.lb) put({ driver: daemon.lb.driver }, daemon.lb.failures);
    });
    return () => {
      off();
      checkerThreads.delayListeners.delete(onDelays);
    };
  };
}

export function daemonCollector(daemon: Daemon, version: string, health: () => HealthReport): Collector {
  return (ctx) => {
    const { registry } = ctx;
    const { bus } = daemon;
    scrapedGauge(ctx, 'keepalived_up', '1 while the daemon runs its configuration (started, not stopping)', [], (put) => put({}, health().ready ? 1 : 0));
    new Gauge({ name: 'vigil_build_info', help: 'Always 1; the labels carry the versions', labelNames: ['version', 'nodejs'], registers: [registry] }).set({ version, nodejs: process.versions.node }, 1);

    const reloads = new Counter({ name: 'vigil_reloads_total', help: 'Reloads: ok (applied) or failed (refused, the old configuration kept)', labelNames: ['result'], registers: [registry] });
    reloads.inc({ result: 'ok' }, 0);
    reloads.inc({ result: 'failed' }, 0);
    // the configuration running at start passed the same checks
    const lastReload = new Gauge({ name: 'vigil_config_last_reload_successful', help: '1 if the last reload was applied (or none was asked), 0 if it was refused', registers: [registry] });
    lastReload.set(1);
    const commands = new Counter({ name: 'vigil_operator_commands_total', help: 'Operator commands through the control API, by command and result (ok or refused)', labelNames: ['command', 'result'], registers: [registry] });
    const events = new Counter({ name: 'vigil_events_total', help: 'Events published on the bus, by type', labelNames: ['type'], registers: [registry] });
    scrapedCounter(ctx, 'vigil_bus_subscriber_errors_total', 'Events a local subscriber threw on (its bug; the event went on to the others)', [], (put) => put({}, bus.subscriberErrors));

    return bus.subscribe((be) => {
      const e = be as unknown as VigilEvent;
      events.inc({ type: e.type });
      if (e.type === 'daemon.reloaded' || e.type === 'daemon.reload-failed') {
        const ok = e.type === 'daemon.reloaded';
        reloads.inc({ result: ok ? 'ok' : 'failed' });
        lastReload.set(ok ? 1 : 0);
      } else if (e.type === 'operator.command') {
        commands.inc({ command: e.data.command, result: e.data.ok ? 'ok' : 'refused' });
      }
    });
  };
}

/** The raw VRRP sockets: every datagram read, and the drops no instance claimed (unknown VRID …). */
export function vrrpNetCollector(stats: () => VrrpNetStats): Collector {
  return (ctx) => {
    const snapshot = ctx.perScrape(stats);
    scrapedCounter(ctx, 'vigil_vrrp_socket_received_total', 'Datagrams read from the VRRP sockets', [], (put) => put({}, snapshot().net.rx));
    scrapedCounter(ctx, 'vigil_vrrp_socket_dropped_total', 'Datagrams dropped before reaching an instance (unreadable, unknown VRID …), by reason', ['reason'], (put) => {
      for (const [reason, n] of dropsOf(snapshot().net)) put({ reason }, n);
    });
  };
}

export function journalCollector(journal: () => { readonly lastSeq: number; stats?(): JournalStats }): Collector {
  return (ctx) => {
    scrapedGauge(ctx, 'vigil_journal_last_seq', 'Sequence number of the last event appended to the journal', [], (put) => put({}, journal().lastSeq));
    const stats = ctx.perScrape(() => journal().stats?.());
    scrapedGauge(ctx, 'vigil_journal_backlog_bytes', 'Bytes of events appended to the journal but not yet written (bounded; grows while the disk is full or slow)', [], (put) => {
      const s = stats();
      if (s) put({}, s.backlogBytes);
    });
    scrapedCounter(ctx, 'vigil_journal_dropped_total', 'Events the journal dropped, never written, because its backlog was full; essential="true": state transitions', ['essential'], (put) => {
      const s = stats();
      if (!s) return;
      put({ essential: 'false' }, s.droppedBacklog - s.droppedBacklogEssential);
      put({ essential: 'true' }, s.droppedBacklogEssential);
    });
    scrapedCounter(ctx, 'vigil_journal_write_errors_total', 'Failed journal write attempts (each retried with back-off)', [], (put) => {
      const s = stats();
      if (s) put({}, s.writeErrors);
    });
  };
}

/** The NATS export (the journal is its outbox). */
export function natsCollector(nats: { stats(): NatsExportStats; state(): NatsLinkState }): Collector {
  return (ctx) => {
    const snapshot = ctx.perScrape(() => nats.stats());
    scrapedGauge(ctx, 'vigil_nats_outbox_pending', 'Journal records not yet acknowledged by JetStream', [], (put) => put({}, snapshot().pending));
    scrapedCounter(ctx, 'vigil_nats_published_total', 'Events stored by JetStream (first time)', [], (put) => put({}, snapshot().published));
    scrapedCounter(ctx, 'vigil_nats_duplicates_total', 'Re-sent events JetStream already had (deduplicated by Nats-Msg-Id)', [], (put) => put({}, snapshot().duplicates));
    scrapedCounter(ctx, 'vigil_nats_publish_errors_total', 'Publishes that failed (timeout, no stream, connection)', [], (put) => put({}, snapshot().errors));
    scrapedGauge(ctx, 'vigil_nats_link_state', 'NATS export link: 1 for the state it is in, 0 for the others', ['state'], (put) => {
      const now = nats.state();
      for (const st of NATS_STATES) put({ state: st }, st === now ? 1 : 0);
    });
  };
}

/**
 * Event-loop delay as a cumulative histogram, and prom-client's process metrics (RSS, CPU, file
 * descriptors, heap, GC) with the `vigil_` prefix.
 *
 * Why a histogram of our own: prom-client's `nodejs_eventloop_lag_*` gauges are percentiles of
 * monitorEventLoopDelay reset at every scrape, so with two Prometheus servers (the usual HA pair)
 * each sees only the stretch since the other's scrape, and percentiles cannot be aggregated. A
 * histogram's buckets are cumulative counters: any number of readers, any window, histogram_quantile
 * and "stalls over 250 ms per hour" all work. It samples how late a timer fires, which is what a
 * VRRP advert timer suffers from a blocked loop: one sample every `sampleMs`, a stall of D ms seen
 * as one sample of about D − sampleMs or more. The timer is Node's native monitor
 * (actors/loop-delay.ts), folded into the buckets at each scrape: no JavaScript runs to sample.
 */
export function processCollector(defaults: boolean, sampleMs: number): Collector {
  return ({ registry }) => {
    if (defaults) collectDefaultMetrics({ register: registry, prefix: 'vigil_', eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLE_MS });
    const delay = new LoopDelay(sampleMs);
    new TallyHistogram(
      'vigil_event_loop_delay_seconds',
      `How late the event loop let a ${sampleMs} ms timer fire: event-loop delay, which VRRP timers suffer too`,
      registry,
      () => delay.take(),
    );
    return () => delay.close();
  };
}
