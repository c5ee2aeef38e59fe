// What the health-check threads of this process (actors/lvs-remote.ts) report for /metrics
// (actors/metrics.ts), apart so that the metrics need not load the thread's machinery: restarts
// after a crash, and each thread's event-loop delay tallies as they arrive (once a second).
import type { DelayTally } from './loop-delay.js';

/**
 * How often an event loop's delay is sampled, on the main thread (actors/metrics.ts, also
 * prom-client's monitor) and on the health-check thread (actors/lvs-worker.ts): every wake-up of an
 * idle daemon costs (on a VM, about 0.1 ms each: at 20 ms, and prom-client's 10 ms, the samplers
 * alone took 1 % of a core, as much as everything else an idle daemon does).
 */
export const EVENT_LOOP_SAMPLE_MS = 50;

export const checkerThreads = {
  restarts: 0,
  delayListeners: new Set<(tally: DelayTally) => void>(),
};
