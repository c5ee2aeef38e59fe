// A minimal in-memory Journal (adapters/journal/types.ts) for the NATS export's tests and bench,
// until test/fakes/memoryJournal.ts exists. Same contract as the file journal where the exporter
// relies on it: seqs 1, 2, 3 …; read(after) yields every record past `after`, including ones
// appended while the iteration runs; cursors only move forward; onAppend never runs inside append().
import type { Journal, JournalEntry, JournalStats } from '../../adapters/journal/types.js';

export class JournalStub implements Journal {
  readonly entries: JournalEntry[] = [];
  private readonly cursors = new Map<string, number>();
  private readonly listeners = new Set<(lastSeq: number) => void>();
  private notifyQueued = false;
  closed = false;

  get lastSeq(): number {
    return this.entries.length;
  }

  append(id: string, event: unknown): number {
    const seq = this.entries.length + 1;
    this.entries.push({ seq, id, event });
    // like the file journal: listeners run later, never on the appender's stack
    if (!this.notifyQueued) {
      this.notifyQueued = true;
      queueMicrotask(() => {
        this.notifyQueued = false;
        for (const fn of this.listeners) fn(this.lastSeq);
      });
    }
    return seq;
  }

  async flush(): Promise<void> {}

  async *read(after = 0): AsyncIterable<JournalEntry> {
    for (let i = Math.max(0, after); i < this.entries.length; i++) yield this.entries[i]!;
  }

  cursor(name: string): number {
    return this.cursors.get(name) ?? 0;
  }

  ack(name: string, seq: number): void {
    if (seq > this.cursor(name)) this.cursors.set(name, Math.min(seq, this.lastSeq));
  }

  onAppend(fn: (lastSeq: number) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  stats(): JournalStats {
    return { lastSeq: this.lastSeq, unsynced: 0, bytes: 0, segments: 1, skippedOnOpen: 0, droppedUnacked: 0, writeErrors: 0, backlogBytes: 0, droppedBacklog: 0, droppedBacklogEssential: 0 };
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}
