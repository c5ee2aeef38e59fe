// What the health-check threads of this process (actors/lvs-remote.ts) report for /metrics
// (actors/metrics.ts), apart so that the metrics need not load the thread's machinery: restarts
// after a crash, and each thread's event-loop delay samples as they arrive (once a second).
export const checkerThreads = {
  restarts: 0,
  delayListeners: new Set<(seconds: readonly number[]) => void>(),
};
