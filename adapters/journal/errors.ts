// Errors of the journal adapter, matched on `name` and `code` (libp2p style: survives duplicated
// package copies). Everything the journal meets at run time (a torn tail on open, a failed write,
// an overflow drop) is reported through `JournalOptions.onError` and counted, never thrown; only
// caller bugs throw (append after close, an event JSON cannot encode, a record over the limit).

export type JournalErrorCode =
  /** the last segment ended in a torn or corrupt record; the file was truncated there (on open) */
  | 'TORN_TAIL'
  /** a corrupt record inside an older segment was skipped (on open, or by a reader) */
  | 'CORRUPT_RECORD'
  /** a write, fsync, rotation or cursor save failed; the batch stays in memory and is retried */
  | 'IO'
  /** rotation deleted records some cursor had not passed yet (the outbox overflowed) */
  | 'OVERFLOW'
  /** the in-memory backlog of unwritten records is full: new events are dropped (start, and totals at the end) */
  | 'BACKLOG_FULL'
  /** cursors.json could not be read or held bad values; the bad cursors start again at 0 */
  | 'CURSORS'
  /** an onAppend listener threw */
  | 'LISTENER'
  /** append() after close() (a bug) */
  | 'CLOSED'
  /** append() of an event JSON.stringify rejects, or over maxRecordBytes (a bug) */
  | 'BAD_EVENT';

export class JournalError extends Error {
  override readonly name = 'JournalError';
  constructor(
    readonly code: JournalErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
