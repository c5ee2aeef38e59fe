// The journal: vigil's durable, append-only event log on local disk. The embedded default when no
// NATS is configured, and the outbox when one is (events wait here, in order, until JetStream has
// acknowledged them). Owned by the event backbone (actors/); implemented in ./file.ts.

/** One record as stored: the bus event (JSON) and where it sits in the log. */
export interface JournalEntry {
  /** 1, 2, 3 … over the journal's whole life (survives rotation and restarts) */
  readonly seq: number;
  /** the event id (ULID); also the NATS Nats-Msg-Id */
  readonly id: string;
  /** the event itself, as appended (a JSON value) */
  readonly event: unknown;
  /**
   * the event's JSON text exactly as stored, when the journal has it (the file journal does for
   * every record append() wrote): what a reader forwarding the event as JSON sends as is
   */
  readonly json?: string;
}

export interface JournalStats {
  readonly lastSeq: number;
  /** records appended but not yet fsynced */
  readonly unsynced: number;
  readonly bytes: number;
  readonly segments: number;
  /** torn or corrupt records skipped when the journal was opened (counted, logged, never fatal) */
  readonly skippedOnOpen: number;
  /** records dropped by rotation before every cursor had passed them (outbox overflow) */
  readonly droppedUnacked: number;
  /** failed write attempts (each retried; a run of them is reported once through onError) */
  readonly writeErrors: number;
  /** bytes of records appended but not yet written (bounded: see FileJournalOptions.maxBacklogBytes) */
  readonly backlogBytes: number;
  /** events append() dropped because the backlog was full (never written; reported through onError) */
  readonly droppedBacklog: number;
  /** of which essential (state transitions: the caller's classification) */
  readonly droppedBacklogEssential: number;
}

export interface Journal {
  /**
   * Append one event. Synchronous and cheap: the record goes to an in-memory batch written and
   * fsynced within `syncIntervalMs` (or at once when the batch is large). Returns its seq, or 0
   * when the event was dropped because the in-memory backlog is full (a journal that cannot write:
   * counted in stats, reported through `onError`). Never throws for I/O errors (they are reported
   * through `onError` and retried).
   */
  append(id: string, event: unknown): number;
  /** write and fsync everything appended so far */
  flush(): Promise<void>;
  /**
   * Records with seq > `after`, oldest first, across segments (the live tail included: records
   * appended while the iteration runs are yielded too). Without `follow` the iteration ends once it
   * has caught up with `lastSeq`; with `follow` it then waits for more and ends only when `signal`
   * aborts or the journal is closed (after yielding everything). Records rotation deleted are
   * skipped (they are counted in `droppedUnacked` if a cursor had not passed them).
   */
  read(after?: number, opts?: ReadOptions): AsyncIterable<JournalEntry>;
  readonly lastSeq: number;
  /** a named reader's position (e.g. 'nats'): the last seq it has fully handled; 0 = none */
  cursor(name: string): number;
  /** move a cursor forward (persisted with the next sync; never moves back) */
  ack(name: string, seq: number): void;
  /** called (without blocking the appender) when new records are appended */
  onAppend(fn: (lastSeq: number) => void): () => void;
  stats(): JournalStats;
  /** flush, fsync, close; idempotent */
  close(): Promise<void>;
}

export interface ReadOptions {
  /** keep waiting for new records after catching up (default false) */
  readonly follow?: boolean;
  /** ends a following read (the pending next() resolves as done) */
  readonly signal?: AbortSignal;
}

export interface JournalOptions {
  /** fsync batching window (default 50 ms) */
  readonly syncIntervalMs?: number;
  /** rotate the active segment above this size (default 16 MiB) */
  readonly segmentBytes?: number;
  /** keep at most this many bytes over all segments (default 256 MiB); oldest segments go first */
  readonly maxBytes?: number;
  /** I/O errors (a run of failed retries once), torn records found on open, overflow and backlog drops */
  readonly onError?: (err: Error) => void;
}
