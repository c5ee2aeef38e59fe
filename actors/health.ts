// Liveness and readiness, for the HTTP listener's /healthz and /readyz and the keepalived_up gauge:
// ready from `daemon.started` until `daemon.stopping`, both read off the bus (the daemon publishes
// them), so nothing here reaches into the daemon. Live whenever it can answer at all.
import type { HealthReport } from '../adapters/http/server.js';
import type { Bus } from './bus.js';

export type DaemonPhase = 'starting' | 'running' | 'stopping';

export class DaemonHealth {
  private _phase: DaemonPhase = 'starting';
  private since: number;
  private readonly off: () => void;

  constructor(
    bus: Bus,
    private readonly now: () => number = Date.now,
  ) {
    this.since = now();
    this.off = bus.subscribe((e) => {
      if (e.type === 'daemon.started' && this._phase === 'starting') this.enter('running');
      else if (e.type === 'daemon.stopping') this.enter('stopping');
    });
  }

  get phase(): DaemonPhase {
    return this._phase;
  }

  private enter(phase: DaemonPhase) {
    this._phase = phase;
    this.since = this.now();
  }

  readonly report = (): HealthReport => ({
    live: true,
    ready: this._phase === 'running',
    detail: { phase: this._phase, since: new Date(this.since).toISOString() },
  });

  close(): void {
    this.off();
  }
}
