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
    /** actor kind: vrrp, sync-group, track, nats, daemon */
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
