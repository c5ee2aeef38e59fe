// Notify scripts in event order, one queue per instance (sync group, virtual server): a notify of
// VI_1 starts only when VI_1's previous one has exited or been killed at its timeout, while other
// instances' scripts run in parallel. keepalived forks each notify at once and never waits, so two
// quick transitions can run their scripts out of order (keepalived.md §4.1); the timeout is what
// keeps one hung script from holding its instance's later notifies for ever.
//
// Each queue is bounded: beyond `limit` waiting scripts a new one is dropped and counted (a flapping
// instance must not grow memory without end). Every run ends in one report (exit status, signal,
// timeout, bounded output), which the notifier publishes as `notify.script-exited`.
import type { ScriptResult, ScriptRunner, ScriptSpec } from '../adapters/exec/index.js';
import type { Logger } from './log.js';

export interface ScriptJob<M = unknown> {
  /** the queue: 'vrrp/VI_1', 'sync-group/G1', 'vs/10.0.0.1:80/tcp' */
  readonly key: string;
  readonly spec: ScriptSpec;
  /** passed back with the result (what the script was about) */
  readonly meta: M;
}

export interface ScriptQueuesOptions<M> {
  readonly runner: ScriptRunner;
  readonly log: Logger;
  /** every run's end; `queuedMs`: its wait behind the earlier scripts of its queue */
  readonly onResult: (job: ScriptJob<M>, result: ScriptResult, queuedMs: number) => void;
  /** scripts waiting per queue before new ones are dropped (default 1000) */
  readonly limit?: number;
  readonly now?: () => number;
}

interface Queue<M> {
  running: boolean;
  readonly jobs: { job: ScriptJob<M>; at: number }[];
}

export class ScriptQueues<M = unknown> {
  private readonly queues = new Map<string, Queue<M>>();
  private readonly idleWaiters = new Set<() => void>();
  private readonly now: () => number;
  private counts = { started: 0, dropped: 0 };

  constructor(private readonly opts: ScriptQueuesOptions<M>) {
    this.now = opts.now ?? (() => performance.now());
  }

  /** Queue a script behind the others of its key; false when the queue is full (dropped, counted). */
  push(job: ScriptJob<M>): boolean {
    let q = this.queues.get(job.key);
    if (!q) this.queues.set(job.key, (q = { running: false, jobs: [] }));
    if (q.jobs.length >= (this.opts.limit ?? 1000)) {
      this.counts.dropped++;
      // the first drop, then one line per hundred: a storm must not become a log storm
      if (this.counts.dropped % 100 === 1) this.opts.log.warn({ key: job.key, dropped: this.counts.dropped }, `notify scripts of ${job.key}: queue full, dropped ${job.spec.argv[0] ?? ''} (${this.counts.dropped} dropped so far)`);
      return false;
    }
    q.jobs.push({ job, at: this.now() });
    if (!q.running) void this.pump(job.key, q);
    return true;
  }

  stats(): { started: number; dropped: number; running: number; waiting: number } {
    let running = 0;
    let waiting = 0;
    for (const q of this.queues.values()) {
      if (q.running) running++;
      waiting += q.jobs.length;
    }
    return { ...this.counts, running, waiting };
  }

  /** Resolves once every queue is empty and nothing runs, or after `ms` (then what runs is terminated). */
  async drain(ms: number): Promise<void> {
    if (this.idle()) return;
    let timer: NodeJS.Timeout | undefined;
    let done: () => void = () => {};
    const settled = new Promise<void>((resolve) => {
      done = resolve;
      this.idleWaiters.add(resolve);
      timer = setTimeout(resolve, ms);
    });
    await settled;
    clearTimeout(timer);
    this.idleWaiters.delete(done);
    if (!this.idle()) {
      for (const q of this.queues.values()) q.jobs.length = 0;
      this.opts.runner.killAll();
    }
  }

  private idle(): boolean {
    for (const q of this.queues.values()) if (q.running || q.jobs.length) return false;
    return true;
  }

  private async pump(key: string, q: Queue<M>): Promise<void> {
    q.running = true;
    for (let next = q.jobs.shift(); next; next = q.jobs.shift()) {
      const queuedMs = this.now() - next.at;
      this.counts.started++;
      const result = await this.opts.runner.run(next.job.spec);
      try {
        this.opts.onResult(next.job, result, queuedMs);
      } catch (err) {
        this.opts.log.error({ err }, `notify script result of ${key}: ${(err as Error).message}`);
      }
    }
    q.running = false;
    this.queues.delete(key);
    if (this.idle()) for (const w of this.idleWaiters) w();
  }
}
