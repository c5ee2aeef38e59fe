// What a restarted daemon takes back from its journal: the last state each track script reported,
// so trackers resume (with their rise/fall hysteresis) instead of keepalived's blind
// re-initialisation. Only recent history counts: the last `window` records, and states younger
// than `maxAgeMs` (a state from last week says little about now).
import type { Journal } from '../adapters/journal/types.js';
import type { BusEvent } from './bus.js';

export async function trackerStatesFromJournal(
  journal: Pick<Journal, 'read' | 'lastSeq'>,
  opts: { window?: number; maxAgeMs?: number; now?: number } = {},
): Promise<Map<string, 'ok' | 'failed'>> {
  const window = opts.window ?? 10_000;
  const oldest = (opts.now ?? Date.now()) - (opts.maxAgeMs ?? 3_600_000);
  const last = new Map<string, 'ok' | 'failed'>();
  for await (const entry of journal.read(Math.max(0, journal.lastSeq - window))) {
    const e = entry.event as BusEvent;
    if (e?.type !== 'track.state' || e.kind !== 'track') continue;
    const d = e.data as { kind?: string; state?: string };
    if (d.kind !== 'script' || (d.state !== 'ok' && d.state !== 'failed')) continue;
    if (Date.parse(e.time) < oldest) last.delete(e.name);
    else last.set(e.name, d.state);
  }
  return last;
}
