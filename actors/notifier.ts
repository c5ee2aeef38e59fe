// The notifier: hears every event on the bus and derives from it every notification keepalived
// would send (keepalived.md §4.1–4.3), with keepalived's triggers and words:
// - VRRP instances and sync groups (vrrp/vrrp_notify.c): notify_master/backup/fault/stop/deleted
//   (no arguments), the generic `notify` with `INSTANCE|GROUP NAME STATE PRIORITY`,
//   notify_master_rx_lower_pri, FIFO lines, and mail when smtp_alert is on (the instance's, else
//   smtp_alert_vrrp, else smtp_alert) and the state differs from the last one mailed, FAULT not
//   mailed with no_email_faults. A member of a sync group that is already in the state the member
//   enters sends nothing more (the group's notifies said it). An instance deleted by a reload sends
//   DELETED when it has notify_deleted, FAULT (the old way) otherwise, nothing if it was in FAULT.
//   With notify_priority_changes, a priority change is a FIFO line (MASTER_PRIORITY/BACKUP_PRIORITY).
// - Checkers and virtual servers (check/check_*.c, check/ipwrapper.c): a checker changing state
//   mails with its own text (real server smtp_alert, default on; with no_checker_emails only when
//   the real server's state changes); a real server going up or down runs notify_up/notify_down and
//   writes an RS line; quorum changes run quorum_up/quorum_down, write a VS line and mail; at an
//   omega shutdown the real servers' "Shutting down" mails.
// Mail goes through the durable outbox (actors/mail-outbox.ts), scripts through per-instance
// queues in event order (actors/notify-scripts.ts), FIFO lines through non-blocking writes
// (adapters/fifo). Nothing here waits on I/O inside a bus callback: VRRP never waits for a
// notification. Every script run and mail attempt is itself an event (notify.*), in the chain of
// the event it notified.
import { hostname, userInfo } from 'node:os';
import type { ConnectionOptions } from 'node:tls';
import type { GlobalDefs, KeepalivedConfig, Notifies, RealServer, ScriptSpec as ConfigScript, VirtualServer } from '../adapters/config/model.js';
import { createSpawnerRunner, type ScriptResult, type ScriptRun, type ScriptRunner, type ScriptSpec } from '../adapters/exec/index.js';
import { openFifo as openFifoFile } from '../adapters/fifo/fifo.js';
import type { FifoStats, FifoWriter, OpenFifo } from '../adapters/fifo/types.js';
import { createMemoryOutbox } from '../adapters/mail/outbox.js';
import { createSmtpTransport, loadSmtpAuth } from '../adapters/mail/smtp.js';
import type { MailTransport, OutboxStore } from '../adapters/mail/types.js';
import type { CheckerEmitted } from '../machines/checker.machine.js';
import { virtualServerInput, virtualServerName } from '../machines/lvs-input.js';
import type { BackoffInput } from '../machines/nats-link.machine.js';
import type { VirtualServerEmitted } from '../machines/virtual-server.machine.js';
import type { VrrpEmitted } from '../machines/vrrp.machine.js';
import type { SyncGroupEmitted } from '../machines/sync-group.machine.js';
import type { Bus, BusEvent } from './bus.js';
import type { Clock } from './clock.js';
import type { ReloadReport } from './daemon.js';
import type { NotifyScriptExited } from './event-types.js';
import type { Logger } from './log.js';
import { MailOutbox, type BurstOptions, type MailOutboxStats } from './mail-outbox.js';
import { ScriptQueues } from './notify-scripts.js';
import {
  checkerBody, genericArgs, groupMail, instanceMail, quorumBody, realServerSubject, rfc822, rsFifoLine, rsRemovedBody,
  virtualServerSubject, vigilTrailer, vrrpFifoLine, vsFifoLine, type MailText, type NotifyState,
} from './notify-texts.js';

export interface NotifierOptions {
  readonly burst?: BurstOptions;
  /** SMTP retry backoff (default 1 s doubling to 5 min) */
  readonly backoff?: BackoffInput;
  /** give a mail up after this long undelivered (default 24 h) */
  readonly maxMailAgeMs?: number;
  /** at close, how long to go on sending what is owed (default 3 s) */
  readonly finalDrainMs?: number;
  /** a notify script still running after this long is killed with its process group (default 30 s) */
  readonly scriptTimeoutMs?: number;
  /** STOP scripts, and those run at shutdown (keepalived: 1 s) */
  readonly stopScriptTimeoutMs?: number;
  /** scripts waiting per instance before new ones are dropped (default 1000) */
  readonly scriptQueueLimit?: number;
  /** an instance stopped outside a daemon stop is a reload: its STOP waits this long for the reload's report (default 60 s) */
  readonly reloadHoldMs?: number;
  /** events remembered to write cause chains into mails (default 2048) */
  readonly historySize?: number;
  /** TLS options for STARTTLS (tests: a self-signed server) */
  readonly smtpTls?: ConnectionOptions;
}

export interface NotifierPorts {
  readonly bus: Bus;
  readonly log: Logger;
  /** the configuration running now (the daemon's: a reload changes it) */
  readonly config: () => KeepalivedConfig;
  /** default: a spawn server of its own (adapters/exec/spawner.ts), closed with the notifier */
  readonly runner?: ScriptRunner;
  /** default: memory (mails then survive SMTP outages but not a restart) */
  readonly store?: OutboxStore;
  /** builds the transport for the SMTP settings; default nodemailer (adapters/mail/smtp.ts) */
  readonly transport?: (g: GlobalDefs) => MailTransport;
  readonly openFifo?: OpenFifo;
  /** XState clock of the mail outbox's backoff */
  readonly clock?: Clock;
  readonly options?: NotifierOptions;
}

export interface NotifierStats {
  readonly mail: MailOutboxStats;
  readonly scripts: { started: number; dropped: number; running: number; waiting: number };
  readonly fifos: (FifoStats & { path: string })[];
  /** events the notifier could not place (an instance or server the configuration does not have) */
  readonly unknownTargets: number;
}

/** Notification scripts of one instance or group, as keepalived resolves them. */
interface VrrpTarget {
  readonly name: string;
  readonly notify: Notifies;
  readonly smtpAlert: boolean;
  readonly priorityChanges: boolean;
  /** the sync group it belongs to */
  readonly group?: string;
}

interface InstanceState {
  state?: string;
  priority: number;
  /** keepalived's last_email_state */
  lastEmail?: string;
  /** keepalived's notifies_sent */
  notifiesSent: boolean;
}

/** A STOP outside a daemon stop: a reload removed or replaced the instance; decided by daemon.reloaded. */
interface Hold {
  readonly target: VrrpTarget;
  readonly events: BusEvent[];
  readonly timer: NodeJS.Timeout;
}

interface Index {
  readonly config: KeepalivedConfig;
  readonly instances: Map<string, VrrpTarget>;
  readonly groups: Map<string, VrrpTarget>;
  readonly vs: Map<string, VirtualServer>;
  /** `${vs name}|${rs key}` */
  readonly rs: Map<string, { vs: VirtualServer; rs: RealServer }>;
  readonly checkers: Map<string, { vs: VirtualServer; rs: RealServer; rsId: string; type: CheckerTypeOf; bfdName?: string }>;
  /** real server id → its alpha checkers (a real server starts DOWN while one has not succeeded) */
  readonly alpha: Map<string, string[]>;
}
type CheckerTypeOf = VirtualServer['realServers'][number]['checkers'][number]['type'];

/** What a queued script was about, for its `notify.script-exited` event. */
interface ScriptMeta {
  readonly script: string;
  readonly state: string;
  readonly cause: BusEvent;
  /** the instance, group or virtual server (the event's name) */
  readonly name: string;
}

const OUTPUT_CAP = 512;
const clip = (s: string) => (s.length > OUTPUT_CAP ? s.slice(0, OUTPUT_CAP) : s);
const NOTIFY_STATES: ReadonlySet<string> = new Set(['MASTER', 'BACKUP', 'FAULT', 'STOP', 'DELETED']);

/** The SMTP settings a transport is built from: a reload that changes them rebuilds it. */
const smtpKey = (g: GlobalDefs) =>
  JSON.stringify([g.smtpServer?.host, g.smtpServer?.port, g.smtpHeloName, g.smtpConnectTimeoutMs, g.vigil.smtpAuthFile]);

export class NotifierActor {
  private readonly log: Logger;
  private readonly runner: ScriptRunner;
  private readonly ownRunner: { close(): void } | undefined;
  private readonly outbox: MailOutbox;
  private readonly scripts: ScriptQueues<ScriptMeta>;
  private readonly history = new Map<string, BusEvent>();
  private readonly instances = new Map<string, InstanceState>();
  private readonly groupStates = new Map<string, InstanceState>();
  /** real server id → its checkers that are DOWN (keepalived's num_failed_checkers) */
  private readonly failed = new Map<string, Set<string>>();
  private readonly holds = new Map<string, Hold>();
  private readonly fifos = new Map<string, { writer: FifoWriter; script?: ScriptRun }>();
  /** FIFO paths by the lines they get */
  private fifoRoutes: { vrrp: string[]; lvs: string[] } = { vrrp: [], lvs: [] };
  private index: Index | undefined;
  private transport: { key: string; t: MailTransport } | undefined;
  private unsubscribe: (() => void) | undefined;
  private stopping = false;
  private closed: Promise<void> | undefined;
  private unknownTargets = 0;
  private readonly opts: NotifierOptions;

  constructor(private readonly ports: NotifierPorts) {
    this.log = ports.log;
    this.opts = ports.options ?? {};
    if (ports.runner) this.runner = ports.runner;
    else {
      const own = createSpawnerRunner({ outputCap: OUTPUT_CAP });
      this.runner = own;
      this.ownRunner = own;
    }
    const store = ports.store ?? createMemoryOutbox();
    this.outbox = new MailOutbox({
      store,
      transport: () => this.currentTransport(),
      log: ports.log,
      // in the chain of the event the mail tells of, also for a mail owed from before a restart
      publish: (entry, e) => {
        const [kind, ...rest] = entry.key.split('/');
        this.ports.bus.publish('notify', rest.join('/') || (kind ?? 'mail'), e.type, e.data, { cause: entry.event, ...(entry.correlation ? { correlation: entry.correlation } : {}) });
      },
      ...(this.opts.burst ? { burst: this.opts.burst } : {}),
      ...(this.opts.backoff ? { backoff: this.opts.backoff } : {}),
      ...(this.opts.maxMailAgeMs !== undefined ? { maxAgeMs: this.opts.maxMailAgeMs } : {}),
      ...(this.opts.finalDrainMs !== undefined ? { finalDrainMs: this.opts.finalDrainMs } : {}),
      ...(ports.clock ? { clock: ports.clock } : {}),
    });
    this.scripts = new ScriptQueues<ScriptMeta>({
      runner: this.runner,
      log: ports.log,
      onResult: (job, r, queuedMs) => this.scriptExited(job.meta, job.spec, r, queuedMs),
      ...(this.opts.scriptQueueLimit !== undefined ? { limit: this.opts.scriptQueueLimit } : {}),
    });
  }

  /**
   * Load the mails still owed and start sending them, open the FIFOs and start their scripts, then
   * listen to the bus. Await it before the daemon starts, so the first states are notified.
   * Throws (MailError) when vigil_smtp_auth_file is unusable.
   */
  async start(): Promise<void> {
    this.currentTransport();
    await this.outbox.open();
    await this.syncFifos();
    this.unsubscribe = this.ports.bus.subscribe((e) => this.onEvent(e));
  }

  /**
   * After the daemon has stopped: lets the STOP scripts finish (their own 1 s timeout), sends what
   * it can of the mails owed for `finalDrainMs` (the rest stays in the outbox for the next start),
   * closes the FIFOs and stops their scripts. Idempotent.
   */
  close(): Promise<void> {
    this.closed ??= (async () => {
      for (const name of [...this.holds.keys()]) this.release(name, 'stop');
      await this.scripts.drain((this.opts.stopScriptTimeoutMs ?? 1000) + 2000);
      this.unsubscribe?.();
      await this.outbox.close();
      await this.closeFifos([...this.fifos.keys()]);
      this.transport?.t.close();
      this.ownRunner?.close();
    })();
    return this.closed;
  }

  stats(): NotifierStats {
    return {
      mail: this.outbox.stats(),
      scripts: this.scripts.stats(),
      fifos: [...this.fifos.values()].map((f) => ({ path: f.writer.path, ...f.writer.stats() })),
      unknownTargets: this.unknownTargets,
    };
  }

  // ---------------------------------------------------------------- events

  private onEvent(e: BusEvent): void {
    if (e.kind === 'notify') return;
    this.remember(e);
    try {
      this.handle(e);
    } catch (err) {
      this.log.error({ err, event: e.id, type: e.type }, `notifier: cannot handle ${e.type} ${e.id}: ${(err as Error).message}`);
    }
  }

  private handle(e: BusEvent): void {
    switch (e.type) {
      case 'vrrp.state':
      case 'vrrp.priority':
      case 'vrrp.rx-lower-priority': {
        const hold = this.holds.get(e.name);
        if (hold) hold.events.push(e); // behind the held STOP, in order
        else this.vrrpEvent(e);
        return;
      }
      case 'sync.state':
        this.groupEvent(e, e.data as Extract<SyncGroupEmitted, { type: 'sync.state' }>);
        return;
      case 'checker.state':
        this.checkerEvent(e, e.data as Extract<CheckerEmitted, { type: 'checker.state' }>);
        return;
      case 'vs.rs':
        this.rsEvent(e, e.data as Extract<VirtualServerEmitted, { type: 'vs.rs' }>);
        return;
      case 'vs.quorum':
        this.quorumEvent(e, e.data as Extract<VirtualServerEmitted, { type: 'vs.quorum' }>);
        return;
      case 'daemon.started':
        this.stopping = false;
        return;
      case 'daemon.stopping':
        this.stopping = true;
        for (const name of [...this.holds.keys()]) this.release(name, 'stop');
        return;
      case 'daemon.reloaded':
        this.reloaded(e.data as unknown as ReloadReport);
        return;
    }
  }

  private vrrpEvent(e: BusEvent): void {
    const t = this.idx().instances.get(e.name);
    if (!t) { this.unknownTargets++; return; }
    const st = this.instanceState(e.name);
    if (e.type === 'vrrp.state') {
      const d = e.data as Extract<VrrpEmitted, { type: 'vrrp.state' }>;
      if (!NOTIFY_STATES.has(d.to)) { st.state = d.to; st.priority = d.priority; return; }
      if (d.to === 'STOP' && d.cause === 'shutdown' && !this.stopping) {
        // a reload is stopping it: removed (DELETED) or replaced (nothing) is known only from its report
        const timer = setTimeout(() => this.release(e.name, 'stop'), this.opts.reloadHoldMs ?? 60_000);
        timer.unref?.();
        this.holds.set(e.name, { target: t, events: [e], timer });
        return;
      }
      this.instanceNotifies(e, t, d.to as NotifyState, d.priority);
    } else if (e.type === 'vrrp.priority') {
      const d = e.data as Extract<VrrpEmitted, { type: 'vrrp.priority' }>;
      st.priority = d.to;
      if (t.priorityChanges) this.fifoWrite('vrrp', vrrpFifoLine(false, e.name, st.state === 'MASTER' ? 'MASTER_PRIORITY' : 'BACKUP_PRIORITY', d.to));
    } else {
      const d = e.data as Extract<VrrpEmitted, { type: 'vrrp.rx-lower-priority' }>;
      const spec = t.notify.masterRxLowerPri;
      if (spec) this.script(`vrrp/${e.name}`, spec, [], { script: 'notify_master_rx_lower_pri', state: 'MASTER_RX_LOWER_PRI', cause: e, name: e.name });
      this.fifoWrite('vrrp', vrrpFifoLine(false, e.name, 'MASTER_RX_LOWER_PRI', d.ours));
    }
  }

  /** vrrp_notify.c send_instance_notifies */
  private instanceNotifies(e: BusEvent, t: VrrpTarget, entered: NotifyState, priority: number): void {
    const st = this.instanceState(t.name);
    st.state = entered;
    st.priority = priority;
    // "We are already in the required state due to our sync group, so don't send further notifies"
    if (t.group && st.notifiesSent && this.groupStates.get(t.group)?.state === entered) return;
    // the old way to notify a deleted instance, kept as keepalived's default: FAULT
    const state: NotifyState = entered === 'DELETED' && !t.notify.deleted ? 'FAULT' : entered;
    st.notifiesSent = true;
    const key = `vrrp/${t.name}`;
    const meta = (script: string): ScriptMeta => ({ script, state, cause: e, name: t.name });
    const specific = specificScript(t.notify, state);
    if (specific) this.script(key, specific.spec, [], meta(specific.keyword));
    if (t.notify.generic) this.script(key, t.notify.generic, genericArgs(false, t.name, state, priority), meta('notify'));
    this.fifoWrite('vrrp', vrrpFifoLine(false, t.name, state, priority));
    const g = this.idx().config.global;
    if (t.smtpAlert && (!g.noEmailFaults || state !== 'FAULT') && st.lastEmail !== state) {
      st.lastEmail = state;
      this.mail(key, e, instanceMail(this.routerId(), t.name, state));
    }
  }

  /** vrrp_notify.c send_group_notifies */
  private groupEvent(e: BusEvent, d: Extract<SyncGroupEmitted, { type: 'sync.state' }>): void {
    const st = this.groupState(d.group);
    st.state = d.to;
    if (!NOTIFY_STATES.has(d.to)) return;
    const t = this.idx().groups.get(d.group);
    if (!t) { this.unknownTargets++; return; }
    const state = d.to as NotifyState;
    const key = `sync-group/${t.name}`;
    const meta = (script: string): ScriptMeta => ({ script, state, cause: e, name: t.name });
    const specific = specificScript(t.notify, state);
    if (specific) this.script(key, specific.spec, [], meta(specific.keyword));
    if (t.notify.generic) this.script(key, t.notify.generic, genericArgs(true, t.name, state, 0), meta('notify'));
    this.fifoWrite('vrrp', vrrpFifoLine(true, t.name, state, 0));
    const g = this.idx().config.global;
    const text = groupMail(this.routerId(), t.name, state);
    if (text && t.smtpAlert && (!g.noEmailFaults || state !== 'FAULT') && st.lastEmail !== state) {
      st.lastEmail = state;
      this.mail(key, e, text);
    }
  }

  /** check_*.c: each checker mails its own text when it changes state */
  private checkerEvent(e: BusEvent, d: Extract<CheckerEmitted, { type: 'checker.state' }>): void {
    const idx = this.idx();
    const c = idx.checkers.get(d.checker);
    if (!c) { this.unknownTargets++; return; }
    const failed = this.failedOf(c.rsId);
    const wasAlive = failed.size === 0;
    if (d.to === 'down') failed.add(d.checker);
    else failed.delete(d.checker);
    const alive = failed.size === 0;
    // MISC_CHECK reports its first result too (check_misc.c: !checker->has_run)
    if (d.from === d.to && !(c.type === 'MISC_CHECK' && d.first)) return;
    const g = idx.config.global;
    if (!rsSmtpAlert(c.rs, g) || (g.noCheckerEmails && wasAlive === alive)) return;
    const body = checkerBody(c.type, d.to === 'up', d.detail, c.bfdName);
    if (!body) return;
    this.mail(`vs/${virtualServerName(c.vs)}`, e, { subject: realServerSubject(this.routerId(), c.rs, c.vs, alive), body });
  }

  /** ipwrapper.c do_rs_notifies (and clear_service_rs's mail at a shutdown or removal) */
  private rsEvent(e: BusEvent, d: Extract<VirtualServerEmitted, { type: 'vs.rs' }>): void {
    const r = this.idx().rs.get(`${d.vs}|${d.rs}`);
    if (!r) { this.unknownTargets++; return; }
    const up = d.state === 'up';
    const leaving = d.cause === 'shutdown';
    const spec = up ? r.rs.notifyUp : r.rs.notifyDown;
    if (spec) {
      this.script(`vs/${d.vs}`, spec, [], { script: up ? 'notify_up' : 'notify_down', state: up ? 'UP' : 'DOWN', cause: e, name: d.vs }, leaving);
    }
    this.fifoWrite('lvs', rsFifoLine(r.rs, r.vs, up));
    if (leaving && !up && rsSmtpAlert(r.rs, this.idx().config.global)) {
      this.mail(`vs/${d.vs}`, e, { subject: realServerSubject(this.routerId(), r.rs, r.vs, false), body: rsRemovedBody(this.stopping) });
    }
  }

  /** ipwrapper.c do_vs_notifies */
  private quorumEvent(e: BusEvent, d: Extract<VirtualServerEmitted, { type: 'vs.quorum' }>): void {
    const vs = this.idx().vs.get(d.vs);
    if (!vs) { this.unknownTargets++; return; }
    const up = d.state === 'up';
    const spec = up ? vs.quorumUp : vs.quorumDown;
    if (spec) this.script(`vs/${d.vs}`, spec, [], { script: up ? 'quorum_up' : 'quorum_down', state: up ? 'UP' : 'DOWN', cause: e, name: d.vs }, d.cause === 'shutdown');
    this.fifoWrite('lvs', vsFifoLine(vs, up));
    const g = this.idx().config.global;
    if (vs.smtpAlert ?? g.smtpAlertChecker ?? g.smtpAlert ?? false) {
      this.mail(`vs/${d.vs}`, e, { subject: virtualServerSubject(this.routerId(), vs, up), body: quorumBody(d) });
    }
  }

  /** A reload's report: held STOPs become DELETED (removed instances) or nothing (replaced ones). */
  private reloaded(r: ReloadReport): void {
    for (const name of [...this.holds.keys()]) this.release(name, r.removed.includes(name) ? 'deleted' : 'replaced');
    for (const vs of [...r.virtualServers.removed, ...r.virtualServers.replaced]) {
      for (const id of [...this.failed.keys()]) if (id.startsWith(`${vs}|`)) this.failed.delete(id);
    }
    const t = this.transport;
    if (t && t.key !== smtpKey(this.idx().config.global)) {
      this.currentTransport();
      this.outbox.retryNow();
    }
    void this.syncFifos().then(
      () => this.statesOnReload(r),
      (err: Error) => this.log.error({ err }, `notify FIFOs after the reload: ${err.message}`),
    );
  }

  /**
   * fifo_write_vrrp_states_on_reload (vrrp_scheduler.c vrrp_init_state): the groups and instances
   * the reload did not start again are written to the VRRP FIFOs with the state they kept (the
   * others announce their own), so a FIFO reader that restarted with the reload knows every state.
   */
  private statesOnReload(r: ReloadReport): void {
    if (!this.idx().config.global.fifoWriteVrrpStatesOnReload || this.closed) return;
    const fresh = new Set([...r.added, ...r.replaced]);
    const freshGroups = new Set([...r.syncGroups.added, ...r.syncGroups.replaced]);
    for (const name of this.idx().groups.keys()) {
      const st = this.groupStates.get(name)?.state;
      if (!freshGroups.has(name) && st && NOTIFY_STATES.has(st)) this.fifoWrite('vrrp', vrrpFifoLine(true, name, st as NotifyState, 0));
    }
    for (const name of this.idx().instances.keys()) {
      const st = this.instances.get(name);
      if (!fresh.has(name) && st?.state && NOTIFY_STATES.has(st.state)) this.fifoWrite('vrrp', vrrpFifoLine(false, name, st.state as NotifyState, st.priority));
    }
  }

  private release(name: string, how: 'stop' | 'deleted' | 'replaced'): void {
    const hold = this.holds.get(name);
    if (!hold) return;
    this.holds.delete(name);
    clearTimeout(hold.timer);
    const [stop, ...rest] = hold.events;
    const d = stop!.data as Extract<VrrpEmitted, { type: 'vrrp.state' }>;
    if (how === 'stop') this.instanceNotifies(stop!, hold.target, 'STOP', d.priority);
    // clear_diff_vrrp: without notify_deleted, an instance that was in FAULT is not notified again
    else if (how === 'deleted' && (hold.target.notify.deleted || d.from !== 'FAULT')) this.instanceNotifies(stop!, hold.target, 'DELETED', d.priority);
    if (how === 'deleted') this.instances.delete(name);
    for (const e of rest) this.vrrpEvent(e);
  }

  // ---------------------------------------------------------------- outputs

  private script(key: string, spec: ConfigScript, extra: string[], meta: ScriptMeta, atShutdown = false): void {
    const g = this.idx().config.global;
    const user = spec.user !== undefined ? { user: spec.user, group: spec.group } : g.scriptUser;
    const stop = meta.state === 'STOP' || atShutdown;
    const exec: ScriptSpec = {
      argv: [...spec.argv, ...extra],
      ...(user?.user ? { user: user.user } : {}),
      ...(user?.group ? { group: user.group } : {}),
      timeoutMs: stop ? this.opts.stopScriptTimeoutMs ?? 1000 : this.opts.scriptTimeoutMs ?? 30_000,
    };
    this.scripts.push({ key, spec: exec, meta });
  }

  private scriptExited(meta: ScriptMeta, spec: ScriptSpec, r: ScriptResult, queuedMs: number): void {
    const data: NotifyScriptExited = {
      script: meta.script, state: meta.state, argv: [...spec.argv], ...(spec.user ? { user: spec.user } : {}),
      exitCode: r.exitCode, signal: r.signal, timedOut: r.timedOut, ...(r.error ? { error: r.error } : {}),
      durationMs: Math.round(r.durationMs), queuedMs: Math.round(queuedMs),
      stdout: clip(r.stdout), stderr: clip(r.stderr), truncated: r.truncated || r.stdout.length > OUTPUT_CAP || r.stderr.length > OUTPUT_CAP,
    };
    if (r.timedOut || r.error || r.exitCode !== 0) {
      this.log.warn({ script: meta.script, target: meta.name, exitCode: r.exitCode, signal: r.signal, timedOut: r.timedOut, error: r.error },
        `${meta.script} of ${meta.name} (${meta.state}) ${r.timedOut ? 'timed out and was killed' : r.error ? `did not run: ${r.error}` : r.exitCode === null ? `was killed by ${r.signal}` : `exited with status ${r.exitCode}`}`);
    }
    this.ports.bus.publish('notify', meta.name, 'notify.script-exited', data, { cause: meta.cause.id, correlation: meta.cause.correlation });
  }

  private mail(key: string, e: BusEvent, t: MailText): void {
    const g = this.idx().config.global;
    // smtp.c smtp_alert: "Only send mail if email specified"
    if (!g.notificationEmail.length || !g.smtpServer) return;
    this.outbox.add(key, e, {
      messageId: `<${e.id}@${hostname()}>`,
      from: g.notificationEmailFrom ?? `${userName()}@${hostname()}`,
      to: [...g.notificationEmail],
      subject: t.subject,
      date: rfc822(Date.parse(e.time)),
      text: `${t.body}\n${vigilTrailer(e, this.causes(e))}`,
      // keepalived's X-Mailer, kept for mail filters written for it; the event says it is vigil
      headers: { 'X-Mailer': 'Keepalived', 'X-Vigil-Event': e.id, 'X-Vigil-Correlation': e.correlation },
    });
  }

  private fifoWrite(kind: 'vrrp' | 'lvs', line: string): void {
    for (const path of this.fifoRoutes[kind]) this.fifos.get(path)?.writer.write(line);
  }

  /** open the FIFOs the configuration names (and close those it no longer does) */
  private async syncFifos(): Promise<void> {
    const g = this.idx().config.global;
    const wanted = new Map<string, { spec: ConfigScript; script?: ConfigScript }>();
    const want = (spec?: ConfigScript, script?: ConfigScript) => {
      const path = spec?.argv[0];
      if (spec && path && !wanted.has(path)) wanted.set(path, { spec, ...(script ? { script } : {}) });
    };
    want(g.notifyFifo, g.notifyFifoScript);
    want(g.vrrpNotifyFifo, g.vrrpNotifyFifoScript);
    want(g.lvsNotifyFifo, g.lvsNotifyFifoScript);
    const path = (s?: ConfigScript) => (s?.argv[0] ? [s.argv[0]] : []);
    this.fifoRoutes = {
      vrrp: [...new Set([...path(g.notifyFifo), ...path(g.vrrpNotifyFifo)])],
      lvs: [...new Set([...path(g.notifyFifo), ...path(g.lvsNotifyFifo)])],
    };
    await this.closeFifos([...this.fifos.keys()].filter((p) => !wanted.has(p)));
    const open = this.ports.openFifo ?? openFifoFile;
    for (const [p, w] of wanted) {
      if (this.fifos.has(p)) continue;
      try {
        const writer = await open(p, { ...(w.spec.user ? { user: w.spec.user } : {}), ...(w.spec.group ? { group: w.spec.group } : {}) });
        const entry: { writer: FifoWriter; script?: ScriptRun } = { writer };
        this.fifos.set(p, entry);
        if (w.script) entry.script = this.fifoScript(p, w.script);
        this.log.info(`notify FIFO ${p}${w.script ? ` read by ${w.script.argv[0]}` : ''}`);
      } catch (err) {
        this.log.error({ err }, `cannot open the notify FIFO ${p}: ${(err as Error).message}; its lines are not written`);
      }
    }
  }

  /** *_fifo_script: started with the FIFO's path as its last argument, terminated with the FIFO */
  private fifoScript(path: string, spec: ConfigScript): ScriptRun {
    const g = this.idx().config.global;
    const user = spec.user !== undefined ? { user: spec.user, group: spec.group } : g.scriptUser;
    const exec: ScriptSpec = { argv: [...spec.argv, path], ...(user?.user ? { user: user.user } : {}), ...(user?.group ? { group: user.group } : {}) };
    const run = this.runner.start(exec);
    const t0 = performance.now();
    void run.result.then((r) => {
      if (!this.closed) this.log.warn({ fifo: path, exitCode: r.exitCode, signal: r.signal, error: r.error }, `notify FIFO script ${spec.argv[0]} for ${path} ended`);
      this.ports.bus.publish('notify', path, 'notify.script-exited', {
        script: 'notify_fifo_script', state: path, argv: [...exec.argv], ...(exec.user ? { user: exec.user } : {}),
        exitCode: r.exitCode, signal: r.signal, timedOut: false, ...(r.error ? { error: r.error } : {}),
        durationMs: Math.round(performance.now() - t0), queuedMs: 0, stdout: clip(r.stdout), stderr: clip(r.stderr), truncated: r.truncated,
      });
    });
    return run;
  }

  private async closeFifos(paths: string[]): Promise<void> {
    for (const p of paths) {
      const f = this.fifos.get(p);
      if (!f) continue;
      this.fifos.delete(p);
      // keepalived SIGTERMs the reader at reload and stop; the FIFO goes first so it cannot reopen it
      await f.writer.close();
      f.script?.terminate();
    }
  }

  // ---------------------------------------------------------------- state and configuration

  private currentTransport(): MailTransport | undefined {
    const g = this.idx().config.global;
    if (!g.smtpServer || !g.notificationEmail.length) return undefined;
    const key = smtpKey(g);
    if (this.transport?.key === key) return this.transport.t;
    let t: MailTransport;
    try {
      t = this.ports.transport ? this.ports.transport(g) : defaultTransport(g, this.opts.smtpTls);
    } catch (err) {
      // at start this refuses to run; at a reload the old transport goes on
      if (!this.transport) throw err;
      this.log.error({ err }, `SMTP settings of the reloaded configuration: ${(err as Error).message}; keeping the previous ones`);
      return this.transport.t;
    }
    this.transport?.t.close();
    this.transport = { key, t };
    return t;
  }

  private routerId(): string {
    return this.idx().config.global.routerId ?? hostname();
  }

  private instanceState(name: string): InstanceState {
    let s = this.instances.get(name);
    if (!s) this.instances.set(name, (s = { priority: 0, notifiesSent: false }));
    return s;
  }

  private groupState(name: string): InstanceState {
    let s = this.groupStates.get(name);
    if (!s) this.groupStates.set(name, (s = { priority: 0, notifiesSent: false }));
    return s;
  }

  private failedOf(rsId: string): Set<string> {
    let f = this.failed.get(rsId);
    if (!f) this.failed.set(rsId, (f = new Set(this.idx().alpha.get(rsId) ?? [])));
    return f;
  }

  private remember(e: BusEvent): void {
    this.history.set(e.id, e);
    const max = this.opts.historySize ?? 2048;
    if (this.history.size > max) this.history.delete(this.history.keys().next().value!);
  }

  /** the events that led to `e`, nearest first, as far as they are remembered */
  private causes(e: BusEvent): BusEvent[] {
    const out: BusEvent[] = [];
    for (let c = e.cause ? this.history.get(e.cause) : undefined; c && out.length < 10; c = c.cause ? this.history.get(c.cause) : undefined) out.push(c);
    return out;
  }

  /** the configuration, indexed for the events' names (rebuilt when a reload replaces it) */
  private idx(): Index {
    const config = this.ports.config();
    if (this.index?.config === config) return this.index;
    const g = config.global;
    const instances = new Map<string, VrrpTarget>();
    const groups = new Map<string, VrrpTarget>();
    const groupOf = new Map<string, (typeof config.syncGroups)[number]>();
    for (const sg of config.syncGroups) {
      for (const m of sg.members) groupOf.set(m.name, sg);
      groups.set(sg.name, {
        name: sg.name, notify: sg.notify, priorityChanges: false,
        smtpAlert: sg.smtpAlert ?? g.smtpAlertVrrp ?? g.smtpAlert ?? false,
      });
    }
    for (const vi of config.instances) {
      const sg = groupOf.get(vi.name);
      instances.set(vi.name, {
        name: vi.name, notify: vi.notify,
        smtpAlert: vi.smtpAlert ?? g.smtpAlertVrrp ?? g.smtpAlert ?? false,
        priorityChanges: vi.notifyPriorityChanges ?? sg?.notifyPriorityChanges ?? g.vrrpNotifyPriorityChanges ?? false,
        ...(sg ? { group: sg.name } : {}),
      });
    }
    const vsMap = new Map<string, VirtualServer>();
    const rsMap: Index['rs'] = new Map();
    const checkers: Index['checkers'] = new Map();
    const alpha = new Map<string, string[]>();
    for (const vs of config.virtualServers) {
      const input = virtualServerInput(vs);
      vsMap.set(input.name, vs);
      vs.realServers.forEach((rs, i) => {
        const ri = input.realServers[i]!;
        const rsId = `${input.name}|${ri.key}`;
        rsMap.set(rsId, { vs, rs });
        alpha.set(rsId, ri.checkers.filter((k) => k.alpha).map((k) => k.id));
        ri.checkers.forEach((k, j) => {
          const ck = rs.checkers[j]!;
          checkers.set(k.id, { vs, rs, rsId, type: ck.type, ...('bfdName' in ck && ck.bfdName ? { bfdName: ck.bfdName } : {}) });
        });
      });
    }
    this.index = { config, instances, groups, vs: vsMap, rs: rsMap, checkers, alpha };
    return this.index;
  }
}

/** the notify_* script of a state (notify_deleted may be given without a script) */
function specificScript(n: Notifies, state: NotifyState): { spec: ConfigScript; keyword: string } | undefined {
  const spec = { MASTER: n.master, BACKUP: n.backup, FAULT: n.fault, STOP: n.stop, DELETED: n.deleted === true ? undefined : n.deleted }[state];
  return spec ? { spec, keyword: `notify_${state.toLowerCase()}` } : undefined;
}

/** check_data.c: a real server's smtp_alert defaults to smtp_alert_checker, smtp_alert, then on */
const rsSmtpAlert = (rs: RealServer, g: GlobalDefs) => rs.smtpAlert ?? g.smtpAlertChecker ?? g.smtpAlert ?? true;

function userName(): string {
  try { return userInfo().username; } catch { return 'root'; }
}

/** nodemailer to smtp_server, with vigil_smtp_auth_file's credentials (throws MailError on a bad file) */
function defaultTransport(g: GlobalDefs, tls?: ConnectionOptions): MailTransport {
  const server = g.smtpServer!;
  return createSmtpTransport({
    host: server.host,
    port: server.port,
    timeoutMs: g.smtpConnectTimeoutMs,
    ...(g.smtpHeloName ? { heloName: g.smtpHeloName } : {}),
    ...(g.vigil.smtpAuthFile ? { auth: loadSmtpAuth(g.vigil.smtpAuthFile) } : {}),
    ...(tls ? { tls } : {}),
  });
}
