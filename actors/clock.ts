// The real-time clock VRRP actors run on. XState arms every `after` delay through a Clock; a
// delay armed while a timer callback runs (the MASTER's next advert, armed as the previous one is
// sent) is anchored to that timer's *ideal* deadline instead of the moment Node got round to it.
// Without this, Node's ~1 ms lateness per timer adds up advert after advert (measured: a 20 ms
// interval drifted to 21 ms on the wire, bench/failover.md); with it the adverts keep a fixed
// grid, as keepalived's `sands` arithmetic does. Delays are floored to whole milliseconds because
// Node fires timers on a millisecond tick and never early, so the average firing lands on time.
//
// A timer that fires late (the event loop was held: a burst of health-check work, a GC) first lets
// the loop read what arrived meanwhile, then runs, unless that cancelled it. keepalived's VRRP runs
// in a process of its own; here one thread does everything, and a BACKUP whose loop was held past
// Master_Down_Interval would otherwise take over although the master's adverts were in its socket
// all along, on time (measured: 1 of 10 failover trials at 20 ms adverts while 1,000 checkers
// started, bench/failover-checkers1000.md). Node runs timers before it polls for I/O, so the
// packets would be read only after the takeover.
import { performance } from 'node:perf_hooks';

export interface Clock {
  setTimeout(fn: (...args: unknown[]) => void, timeout: number): unknown;
  clearTimeout(id: unknown): void;
}

/** a timer callback this late (ms) waits for one poll of the event loop (Node's own lateness is under 1 ms) */
export const LATE_MS = 2;

/** Node's own timers, as a Clock */
export const nodeTimers: Clock = { setTimeout: (fn, ms) => setTimeout(fn, ms), clearTimeout: (id) => clearTimeout(id as NodeJS.Timeout) };

/**
 * A timer whose callback, once due, is handed to `hand`, which runs it at once or queues it for a
 * later turn. Cleared, it never runs, even when its turn already waits (as a cleared timer would
 * not). AnchoredClock hands a late timer to the loop's next poll; LvsSet's checkers hand theirs
 * to the inbox they are fed from.
 */
export class HandedTimer {
  private cancelled = false;
  private readonly id: unknown;

  constructor(
    private readonly timers: Clock,
    ms: number,
    fn: () => void,
    hand: (run: () => void) => void,
  ) {
    this.id = timers.setTimeout(() => hand(() => {
      if (!this.cancelled) fn();
    }), ms);
  }

  clear(): void {
    this.cancelled = true;
    this.timers.clearTimeout(this.id);
  }
}

export class AnchoredClock implements Clock {
  /** the ideal deadline of the timer callback running now, if one is */
  private running: number | undefined;

  constructor(
    private readonly now: () => number = () => performance.now(),
    private readonly timers: Clock = nodeTimers,
    /** runs `fn` after the loop has polled for I/O once (setImmediate: the check phase follows the poll) */
    private readonly afterPoll: (fn: () => void) => void = (fn) => void setImmediate(fn),
  ) {}

  /**
   * Run `fn` (which may arm timers) as if at time `at`: a VRRP actor delivers a received advert
   * this way, so the Master_Down or Skew_Time timer it restarts counts from the packet's arrival,
   * not from the end of the processing that followed it (measured: about 0.75 ms).
   */
  within<T>(at: number, fn: () => T): T {
    const outer = this.running;
    this.running = at;
    try {
      return fn();
    } finally {
      this.running = outer;
    }
  }

  setTimeout(fn: (...args: unknown[]) => void, timeout: number): unknown {
    const now = this.now();
    let deadline = (this.running ?? now) + timeout;
    // A callback that ran very late (the event loop was stalled) must not make up for lost time
    // with a burst: ticks already missed are skipped, keeping the grid (keepalived sends one
    // advert after a stall, not one per missed interval).
    if (timeout > 0 && deadline < now) deadline += Math.ceil((now - deadline) / timeout) * timeout;
    // Whole milliseconds, rounded down: Node fires a timer on the first loop turn after its
    // millisecond tick (measured 0.4 to 0.75 ms late), which lands it just after the deadline.
    // (Asking one millisecond less put takeovers before Master_Down_Interval: bench/failover.md.)
    const delay = Math.max(0, Math.floor(deadline - now));
    const run = () => {
      const outer = this.running;
      this.running = deadline;
      try {
        fn();
      } finally {
        this.running = outer;
      }
    };
    return new HandedTimer(this.timers, delay, run, (r) => (this.now() - deadline > LATE_MS ? this.afterPoll(r) : r()));
  }

  clearTimeout(id: unknown): void {
    (id as HandedTimer | undefined)?.clear();
  }
}
