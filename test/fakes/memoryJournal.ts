// The Journal port in memory, for unit tests of its consumers (the bus wiring, the NATS exporter).
// Same contract as adapters/journal/file.ts (test/contract/journal.contract.ts runs against both):
// events go through JSON as on disk, seqs continue across "reopens" of one MemoryJournalStore,
// listeners run in a microtask, read() follows the same rules. Everything is durable at once
// (there is no crash to model), so flush() only waits a tick.
import { JournalError } from '../../adapters/journal/errors.js';
import type { Journal, JournalEntry, JournalStats, ReadOptions } from '../../adapters/journal/types.js';

/** What survives close(): open it again with `memoryJournal(store)`. */
export interface MemoryJournalStore {
  readonly records: { seq: number; id: string; json: string }[];
  readonly cursors: Map<string, number>;
}

export const memoryJournalStore = (): MemoryJournalStore => ({ records: [], cursors: new Map() });

export function memoryJournal(store: MemoryJournalStore = memoryJournalStore()): Journal {
  const listeners = new Set<(lastSeq: number) => void>();
  const wakers = new Set<() => void>();
  let notifyQueued = false;
  let closed = false;
  let bytes = store.records.reduce((n, r) => n + r.json.length, 0);
  const lastSeq = (): number => store.records.at(-1)?.seq ?? 0;
  const wake = (): void => {
    const ws = [...wakers];
    wakers.clear();
    for (const w of ws) w();
  };
  const waitForAppend = (signal?: AbortSignal): Promise<void> =>
    new Promise((resolve) => {
      const done = (): void => {
        wakers.delete(done);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      wakers.add(done);
      signal?.addEventListener('abort', done, { once: true });
    });

  async function* iterate(after: number, { follow = false, signal }: ReadOptions): AsyncGenerator<JournalEntry> {
    let next = after + 1;
    for (;;) {
      if (signal?.aborted) return;
      if (next > lastSeq()) {
        if (!follow || closed) return;
        await waitForAppend(signal);
        continue;
      }
      const r = store.records[next - 1]!;
      const { id, event } = JSON.parse(r.json) as { id: string; event: unknown };
      next++;
      yield { seq: r.seq, id, event };
    }
  }

  return {
    get lastSeq() {
      return lastSeq();
    },
    append(id, event) {
      if (closed) throw new JournalError('CLOSED', 'append() after close()');
      let json: string;
      try {
        json = JSON.stringify({ id, event });
      } catch (cause) {
        throw new JournalError('BAD_EVENT', `event ${id} cannot be encoded as JSON`, { cause });
      }
      const seq = lastSeq() + 1;
      store.records.push({ seq, id, json });
      bytes += json.length;
      if (!notifyQueued) {
        notifyQueued = true;
        queueMicrotask(() => {
          notifyQueued = false;
          wake();
          for (const fn of listeners) fn(lastSeq());
        });
      }
      return seq;
    },
    flush: () => new Promise<void>((resolve) => setImmediate(resolve)),
    read: (after = 0, opts = {}) => iterate(Number.isFinite(after) ? Math.max(0, Math.floor(after)) : 0, opts),
    cursor: (name) => store.cursors.get(name) ?? 0,
    ack(name, seq) {
      if (!Number.isSafeInteger(seq) || seq <= 0) return;
      const v = Math.min(seq, lastSeq());
      if (v > (store.cursors.get(name) ?? 0)) store.cursors.set(name, v);
    },
    onAppend(fn) {
      listeners.add(fn);
      return () => listeners.delete(fn);
    },
    stats: (): JournalStats => ({ lastSeq: lastSeq(), unsynced: 0, bytes, segments: 1, skippedOnOpen: 0, droppedUnacked: 0, writeErrors: 0, backlogBytes: 0, droppedBacklog: 0, droppedBacklogEssential: 0 }),
    async close() {
      closed = true;
      wake();
    },
  };
}
