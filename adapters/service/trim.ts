// Giving freed memory back. glibc keeps the pages a burst of allocations freed (the start, a
// reload, a flood of events) in its arenas, where they count in the daemon's RSS for good: with
// 100 instances and 1,000 checkers about 4 MB (bench/reload.md, issue #8). malloc_trim(0), through
// the packet addon, returns them; it costs well under a millisecond, so it runs every few seconds.
// Without the addon (or off glibc) nothing is trimmed and nothing breaks.
import { loadPacketAddon, type LoadResult } from '../ip/packet.js';

export const TRIM_EVERY_MS = 10_000;

export interface MallocTrimmer {
  /** trims that released memory, and all trims made */
  readonly released: number;
  readonly runs: number;
  stop(): void;
}

export function startMallocTrim(opts: { everyMs?: number; load?: () => LoadResult } = {}): MallocTrimmer {
  const loaded = (opts.load ?? loadPacketAddon)();
  const trim = loaded.ok ? loaded.addon.mallocTrim : undefined;
  if (!trim) return { released: 0, runs: 0, stop: () => {} };
  const timer = setInterval(() => {
    state.runs++;
    try {
      if (trim()) state.released++;
    } catch { /* a trim is an optimisation */ }
  }, opts.everyMs ?? TRIM_EVERY_MS);
  timer.unref();
  const state = { released: 0, runs: 0, stop: () => clearInterval(timer) };
  return state;
}
