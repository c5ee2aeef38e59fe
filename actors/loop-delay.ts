// Event-loop delay without a JavaScript timer. Node's monitorEventLoopDelay runs a libuv timer
// every `resolution` ms in C++ and records, in an HDR histogram, the time between its callbacks: the
// interval plus however late the loop let it fire. Nothing of it runs JavaScript, so sampling costs
// a wake-up and no more (a JavaScript timer doing the same was an eighth of an idle daemon's CPU:
// the timer list, async hooks and a prom-client observe, 20 times a second). take() folds what was
// recorded since the last take into the buckets of a Prometheus histogram, so the counts stay
// cumulative however many readers there are (prom-client's own lag gauges are percentiles reset at
// every scrape, which two Prometheus servers split between them).
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';

/** upper bounds, in seconds, of the event-loop delay histograms' buckets */
export const LOOP_DELAY_BUCKETS: readonly number[] = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/** Delays recorded since the last take: how many fell in each bucket (not cumulative; one more
 *  entry than the bounds, for those above the largest) and their sum in seconds. */
export interface DelayTally {
  readonly counts: readonly number[];
  readonly sum: number;
}

/** what tally() reads of an HDR histogram (perf_hooks' RecordableHistogram and IntervalHistogram) */
export interface HdrReading {
  readonly count: number;
  readonly mean: number;
  percentile(p: number): number;
}

/**
 * Bucket counts of the delays in `h`, a histogram of intervals in nanoseconds whose ideal is
 * `intervalNs`: a sample of interval + d counts as a delay of d (below zero: none). The samples
 * themselves are gone, but the histogram knows the k-th smallest of them (percentile 100·k/n), so
 * the number at or below each bound is found by bisection. Exact up to the histogram's own precision
 * (3 significant digits: a sample within about 0.1 % of the interval from a bound may land on the
 * bound's other side).
 */
export function tally(h: HdrReading, intervalNs: number, bounds: readonly number[] = LOOP_DELAY_BUCKETS): DelayTally {
  const n = h.count;
  const counts = new Array<number>(bounds.length + 1).fill(0);
  if (n <= 0) return { counts, sum: 0 };
  let below = 0;
  for (let i = 0; i < bounds.length; i++) {
    const limit = intervalNs + (bounds[i] as number) * 1e9;
    // the largest k whose k-th smallest sample is within the limit (k = below is known to be)
    let lo = below;
    let hi = n;
    while (lo < hi) {
      const k = Math.floor((lo + hi + 1) / 2);
      if (h.percentile((100 * k) / n) <= limit) lo = k;
      else hi = k - 1;
    }
    counts[i] = lo - below;
    below = lo;
  }
  counts[bounds.length] = n - below;
  return { counts, sum: (Math.max(0, h.mean - intervalNs) * n) / 1e9 };
}

/** The event-loop delay of the thread that creates it, sampled every `resolutionMs` in C++. */
export class LoopDelay {
  private readonly h: IntervalHistogram;

  constructor(readonly resolutionMs: number) {
    this.h = monitorEventLoopDelay({ resolution: resolutionMs });
    this.h.enable();
  }

  /** the delays recorded since the last take, then forgotten */
  take(): DelayTally {
    const t = tally(this.h, this.resolutionMs * 1e6);
    this.h.reset();
    return t;
  }

  close(): void {
    this.h.disable();
  }
}
