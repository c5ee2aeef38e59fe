// What the daemon tells the file journal (adapters/journal/file.ts) about vigil's events, and what it
// does with the journal's reports: which events are essential when the backlog is full (a disk
// that cannot be written), the log lines, and the summary event when the journal recovers.
//
// Essential: the state of what vigil manages and who changed it (VRRP and sync-group transitions,
// priorities, trackers, checkers, virtual servers, the data plane, the NATS link, the daemon's life,
// reloads, operator commands) and the summary itself. Not essential: reports of single packets,
// attempts and outcomes (an advert heard, dropped adverts, a failed table apply, a script's exit, a
// mail's delivery): each is also in the log and the metrics, and losing some leaves every state a
// replay of the journal builds right. A type not listed here is essential: a new event type is
// kept until someone decides otherwise.
import type { FileJournalOptions, JournalRecovery } from '../adapters/journal/file.js';
import type { EventType } from './event-types.js';
import type { Logger } from './log.js';

/** Event types the journal may drop first when its backlog is full (see the file comment). */
export const INFORMATIONAL_EVENTS: ReadonlySet<EventType> = new Set<EventType>([
  'vrrp.rx-lower-priority',
  'vrrp.drop',
  'lb.error',
  'notify.script-exited',
  'notify.mail-sent',
  'notify.mail-failed',
]);

/** the journal's `essential` predicate over bus events (anything else: essential) */
export function essentialEvent(e: unknown): boolean {
  const type = (e as { type?: unknown } | null)?.type;
  return typeof type !== 'string' || !INFORMATIONAL_EVENTS.has(type as EventType);
}

/**
 * The journal recovered: writes succeed again after failing (a full disk), or its backlog has room
 * again after events were dropped. Published once per such run, and journaled first thing after it,
 * so every reader of the journal or the NATS stream learns of the gap.
 */
export interface JournalRecovered {
  /** the journal's directory */
  dir: string;
  /** failed write attempts (0: the disk was slow, not failing) */
  failures: number;
  /** from the first failure or drop to the write that succeeded */
  durationMs: number;
  /** events dropped by the backlog bound, never written: local consumers had them, NATS (fed from the journal) not */
  lost: number;
  /** of which essential (state transitions): non-zero only when the whole bound was used */
  lostEssential: number;
  /** the lost events by type */
  lostByType: Record<string, number>;
}

/**
 * The journal options vigil runs with: `essential`, and onError / onRecovered logging and, on
 * recovery, `publish` (the daemon puts it on the bus as `journal.recovered`).
 */
export function journalHooks(o: {
  dir: string;
  log: Logger;
  publish: (data: JournalRecovered) => void;
}): Required<Pick<FileJournalOptions, 'essential' | 'onError' | 'onRecovered'>> {
  return {
    essential: essentialEvent,
    onError: (err) => o.log.error({ err }, `journal ${o.dir}: ${err.message}`),
    onRecovered: (r: JournalRecovery) => {
      const data: JournalRecovered = {
        dir: o.dir,
        failures: r.failures,
        durationMs: r.ms,
        lost: r.dropped,
        lostEssential: r.droppedEssential,
        lostByType: { ...r.droppedByType },
      };
      const line = `journal ${o.dir} recovered after ${r.failures} failed writes over ${r.ms} ms; ${r.dropped ? `${r.dropped} events lost (${r.droppedEssential} essential)` : 'no event lost'}`;
      if (r.dropped) o.log.warn({ journal: data }, line);
      else o.log.info({ journal: data }, line);
      o.publish(data);
    },
  };
}
