// Every event type vigil publishes, with its data: the one source for the typed bus, the JSON
// Schema (docs/events.schema.json, generated from this file; a test fails when it is stale) and
// docs/events.md. Add a type here before publishing it.
import type { ReloadReport } from './daemon.js';
import type { LbChange } from '../adapters/lb/types.js';
import type { DropReason } from '../adapters/vrrp/types.js';
import type { SyncGroupEmitted } from '../machines/sync-group.machine.js';
import type { TrackScriptEmitted } from '../machines/track-script.machine.js';
import type { VrrpEmitted } from '../machines/vrrp.machine.js';
import type { CheckerEmitted } from '../machines/checker.machine.js';
import type { VirtualServerEmitted } from '../machines/virtual-server.machine.js';
import type { JournalRecovered } from './journal-hooks.js';

type Of<U, T> = Extract<U, { type: T }>;

/** A tracked process's quorum changed (vrrp_track_process). */
export interface TrackProcessState {
  type: 'track.state';
  tracker: string;
  kind: 'process';
  state: 'ok' | 'failed';
  /** matching processes running */
  count: number;
}

/** A track_file's value changed (or was read at start, without `previous`). */
export interface TrackFileValue {
  tracker: string;
  kind: 'file';
  value: number;
  previous?: number;
}

/** Adverts dropped by the receive checks (keepalived.md §3.8), rate-limited: one per reason per 10 s. */
export interface VrrpDrop {
  instance: string;
  reason: DropReason;
  src?: string;
  detail?: string;
  /** drops of this reason since the last such event */
  count: number;
}

/** The NATS export's link changed state (machines/nats-link.machine.ts). */
export interface NatsState {
  from: string;
  to: string;
  cause: string;
  /** journal records not yet acknowledged by JetStream */
  pending: number;
}

/** The daemon started or is stopping. */
export interface DaemonLifecycle {
  version: string;
  instances: number;
  syncGroups: number;
  configFile?: string;
}

/** A reload was refused: the new config has errors, the old one keeps running unchanged. */
export interface ReloadFailed {
  configFile: string;
  /** the exit status `vigil config-test` would give (4 errors, 5 script security, 3 cannot run) */
  exitCode: number;
  /** the diagnostics as config-test prints them (file:line:col: severity: message) */
  diagnostics: string[];
}

/** An operator's command through the control API, audited. */
export interface OperatorCommand {
  command: string;
  instance?: string;
  value?: number;
  /** who asked: the control socket's peer (uid) or the HTTP client's address */
  by: string;
  ok: boolean;
  error?: string;
}

/** The load balancer changed the data plane (actors/lb.ts); `drift`: a repair of an outside change. */
export type LbChangeEvent = LbChange & { driver: string; drift: boolean };

/** The load balancer could not apply the table (first failure, then every 60th); retried on the reconciliation timer. */
export interface LbErrorEvent {
  driver: string;
  error: string;
  failures: number;
}

/**
 * A notify script ended (actors/notifier.ts): notify_master/backup/fault/stop/deleted,
 * notify_master_rx_lower_pri, the generic notify, notify_up/notify_down, quorum_up/quorum_down,
 * and the *_fifo_script readers. Scripts of one instance (group, virtual server) run in event order.
 */
export interface NotifyScriptExited {
  /** the keyword that configured it: notify_master, notify, notify_up, quorum_down, notify_fifo_script … */
  script: string;
  /** what it was told about: MASTER, BACKUP, FAULT, STOP, DELETED, MASTER_RX_LOWER_PRI, UP, DOWN; a FIFO script: its FIFO's path */
  state: string;
  argv: string[];
  user?: string;
  /** null when killed by a signal or not started */
  exitCode: number | null;
  signal: string | null;
  /** killed at its timeout (its whole process group) */
  timedOut: boolean;
  /** why it did not start (user unknown, not found, …) */
  error?: string;
  durationMs: number;
  /** how long it waited behind the earlier notifies of the same instance */
  queuedMs: number;
  /** the start of its output (at most 512 characters each) */
  stdout: string;
  stderr: string;
  truncated: boolean;
}

/** A notification mail was accepted by the SMTP server. */
export interface NotifyMailSent {
  /** the outbox entry (the event id for one event's mail; a new id for a digest) */
  mail: string;
  /** the event the mail tells of (a digest: its first) */
  event: string;
  subject: string;
  to: string[];
  /** attempts it took (1: at once) */
  attempt: number;
  /** the server's final reply */
  response: string;
  /** recipients the server refused (the others got it) */
  rejected?: string[];
  /** a digest: how many held mails it replaces (burst control) */
  coalesced?: number;
  /** from the event to the server's acceptance */
  delayMs: number;
}

/** A notification mail attempt failed: retried with backoff unless `permanent` (refused for good, or given up). */
export interface NotifyMailFailed {
  mail: string;
  event: string;
  subject: string;
  attempt: number;
  error: string;
  permanent: boolean;
}

export interface EventMap {
  'vrrp.state': Of<VrrpEmitted, 'vrrp.state'>;
  'vrrp.priority': Of<VrrpEmitted, 'vrrp.priority'>;
  'vrrp.rx-lower-priority': Of<VrrpEmitted, 'vrrp.rx-lower-priority'>;
  'vrrp.conflict': Of<VrrpEmitted, 'vrrp.conflict'>;
  'vrrp.drop': VrrpDrop;
  'sync.state': Of<SyncGroupEmitted, 'sync.state'>;
  'track.state': Of<TrackScriptEmitted, 'track.state'> | TrackProcessState;
  'track.value': TrackFileValue;
  'nats.state': NatsState;
  'daemon.started': DaemonLifecycle;
  'daemon.stopping': DaemonLifecycle;
  'daemon.reloaded': ReloadReport;
  'daemon.reload-failed': ReloadFailed;
  'operator.command': OperatorCommand;
  'checker.state': Of<CheckerEmitted, 'checker.state'>;
  'checker.weight': Of<CheckerEmitted, 'checker.weight'>;
  'vs.rs': Of<VirtualServerEmitted, 'vs.rs'>;
  'vs.weight': Of<VirtualServerEmitted, 'vs.weight'>;
  'vs.quorum': Of<VirtualServerEmitted, 'vs.quorum'>;
  'vs.table': Of<VirtualServerEmitted, 'vs.table'>;
  'vs.drain': Of<VirtualServerEmitted, 'vs.drain'>;
  'lb.change': LbChangeEvent;
  'lb.error': LbErrorEvent;
  'notify.script-exited': NotifyScriptExited;
  'notify.mail-sent': NotifyMailSent;
  'notify.mail-failed': NotifyMailFailed;
  'journal.recovered': JournalRecovered;
}

export type EventType = keyof EventMap;

/** The envelope, version 1 (actors/bus.ts), with `type` and `data` tied together. */
export type VigilEvent = {
  [K in EventType]: {
    /** envelope version */
    v: 1;
    /** ULID: unique and time-ordered; also the NATS Nats-Msg-Id and the CloudEvents id */
    id: string;
    /** ISO 8601, milliseconds, UTC */
    time: string;
    /** router_id of the node that published it */
    node: string;
    /** actor kind: vrrp, sync-group, track, nats, daemon, checker, vs, lb, notify, journal */
    kind: string;
    /** actor name: instance, group, tracker, … */
    name: string;
    type: K;
    /** id of the event that caused this one, when known */
    cause?: string;
    /** id of the first event of the chain this one belongs to (its own id when it starts one) */
    correlation: string;
    data: EventMap[K];
  };
}[EventType];
