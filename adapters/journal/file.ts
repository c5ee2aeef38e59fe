// The file journal: an append-only, crash-safe event log in one directory (vigil's `--journal PATH`
// names the directory; it is created if missing). Layout:
//
//   PATH/journal-0000000000000001.log   segments, named by the seq of their first record
//   PATH/journal-0000000000004711.log   (the last one is the active segment)
//   PATH/cursors.json                   {"v":1,"cursors":{"nats":4700}}, replaced atomically
//
// Records are framed by ./frame.ts ([len][crc32c][seq][JSON {id, event}]).
//
// Writing. append() only encodes the record into memory; a timer (syncIntervalMs) or a full batch
// (batchBytes) starts the writer, which writes the whole batch with one positional write per segment
// touched and one fdatasync, then saves cursors.json if a cursor moved (temp file + fsync + rename +
// directory fsync). One writer runs at a time, so there are never two writes in flight; the event
// loop never waits on the disk. A failed write leaves the batch in memory and is retried with a
// back-off up to 5 s (the retry writes at the same offset, so a partial write is overwritten). A
// run of failures (a full disk) is reported through onError once, when it starts or its error
// changes, counted in `writeErrors`, and its end through onRecovered: no log line per retry.
//
// The backlog. Records appended but not yet written (a full disk, a stalled one) stay in memory, up
// to maxBacklogBytes (default 16 MiB, some 30,000 events of ~500 bytes: minutes of a busy node's
// events, far beyond any healthy fdatasync). Past it, new events are dropped, not old ones: every
// record in memory already has its seq, which readers may have seen (the NATS export reads the live
// tail from memory and acks by seq) and which the file must hold without gaps (a gap reads as
// damage on open), so a record can leave the backlog only by being written. Half of the bound is
// kept for `essential` events (the caller's choice: vigil's state transitions): others are
// dropped once the backlog holds half of it, so a flood of reports cannot crowd out a transition;
// essential ones are dropped only when the whole bound is used. A drop is never silent: counted in
// stats (`droppedBacklog`, `droppedBacklogEssential`), reported through onError when the dropping
// starts (and when it reaches essential events), and once more with the totals when the backlog
// has room again; onRecovered then carries the counts, by event type, for a summary event.
//
// Opening. Every record of every segment is checked. In the last segment the first torn or corrupt
// record ends the log: the file is truncated there (what a crash mid-write leaves; the records cut
// were never acknowledged by a flush). In an older segment a corrupt record can only be damage: it
// is skipped, and reading resumes at the next record whose checksum holds. Both are counted in
// `skippedOnOpen` and reported through onError; opening never throws for what it finds on disk.
//
// Rotation. A batch starts a new segment when the next record would take the active one past
// segmentBytes; after each batch, the oldest segments are deleted while the total exceeds maxBytes.
// Records deleted before some cursor passed them are counted in `droppedUnacked` (bounded disk beats
// unbounded growth, and the loss is visible).
//
// Not handled: two processes on one directory (no lock file; the daemon is single-instance), and
// fsync failure semantics beyond a retry (after EIO Linux may have dropped the dirty pages; the
// retry's fdatasync can then succeed without the data; PostgreSQL panics there — we report).
import type { FileHandle } from 'node:fs/promises';
import { mkdir, open, readdir, readFile, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { JournalError } from './errors.js';
import { decodeFrame, decodePayload, encodeRecord, HEADER_BYTES, MAX_RECORD_BYTES } from './frame.js';
import type { Journal, JournalEntry, JournalOptions, JournalStats, ReadOptions } from './types.js';

export interface FileJournalOptions extends JournalOptions {
  /** writes succeed again after a run of failures, or the backlog has room again after drops */
  readonly onRecovered?: (info: JournalRecovery) => void;
  /** write at once (not waiting for the timer) when this many bytes are buffered (default 256 KiB) */
  readonly batchBytes?: number;
  /** largest payload accepted by append() and on open (default 1 MiB) */
  readonly maxRecordBytes?: number;
  /** bound on records appended but not yet written; past it new ones are dropped (default 16 MiB) */
  readonly maxBacklogBytes?: number;
  /**
   * events that may use the second half of the backlog bound (default: all): the others are dropped
   * once the backlog holds half of it
   */
  readonly essential?: (event: unknown) => boolean;
}

/** The end of a run of failed writes or of backlog drops: what onRecovered reports. */
export interface JournalRecovery {
  /** failed write attempts in the run (0: the disk was slow, not failing) */
  readonly failures: number;
  /** from the first failure or drop to the successful write */
  readonly ms: number;
  /** events dropped by the backlog bound in the run, never written */
  readonly dropped: number;
  /** of which essential */
  readonly droppedEssential: number;
  /** dropped events by their `type` field ('unknown' without one) */
  readonly droppedByType: Readonly<Record<string, number>>;
}

export const JOURNAL_DEFAULTS = {
  syncIntervalMs: 50,
  segmentBytes: 16 << 20,
  maxBytes: 256 << 20,
  batchBytes: 256 << 10,
  maxRecordBytes: MAX_RECORD_BYTES,
  maxBacklogBytes: 16 << 20,
} as const;

/** distinct event types counted apart in a run's drops; the rest are counted as 'other' */
const MAX_DROP_TYPES = 64;

const SEGMENT_RE = /^journal-(\d{16})\.log$/;
const CURSORS = 'cursors.json';
/** a sparse index entry (seq → byte offset) every this many bytes, so a read can start mid-segment */
const INDEX_EVERY = 64 << 10;
const READ_CHUNK = 256 << 10;
const MAX_RETRY_MS = 5_000;

export const segmentName = (firstSeq: number): string => `journal-${String(firstSeq).padStart(16, '0')}.log`;

interface Segment {
  readonly first: number;
  readonly path: string;
  bytes: number;
  /** sparse index: idxSeq[k] starts at byte idxOff[k] (idxSeq[0] = first at 0 when non-empty) */
  readonly idxSeq: number[];
  readonly idxOff: number[];
}

/** Open (creating it if needed) the journal in directory `dir`; see the file comment. */
export async function openJournal(dir: string, opts: FileJournalOptions = {}): Promise<FileJournal> {
  const j = new FileJournal(dir, opts);
  await j.load();
  return j;
}

export class FileJournal implements Journal {
  private readonly o: Required<Omit<FileJournalOptions, 'onError' | 'onRecovered' | 'essential'>>;
  private readonly onError: (err: Error) => void;
  private readonly onRecovered: (info: JournalRecovery) => void;
  private readonly essential: (event: unknown) => boolean;
  private segments: Segment[] = [];
  private fh: FileHandle | null = null;
  private nextSeq = 1;
  /** records up to here are in segment files (maybe not yet fsynced) */
  private writtenSeq = 0;
  private syncedSeq = 0;
  /** encoded records writtenSeq+1, writtenSeq+2, … not yet written */
  private mem: Buffer[] = [];
  private memBytes = 0;
  private totalBytes = 0;
  private readonly cursors = new Map<string, number>();
  private cursorsDirty = false;
  /** bumped by every ack that moves a cursor; savedEpoch: the last one cursors.json holds */
  private ackEpoch = 0;
  private savedEpoch = 0;
  private timer: NodeJS.Timeout | null = null;
  private retryMs = 0;
  /** failed write attempts, ever; and the error of the current run of them (reported once) */
  private writeErrors = 0;
  private failingWith: string | null = null;
  /**
   * the run of failures and drops onRecovered will report: from the first failed write or dropped
   * event until a write succeeds with the backlog under half its bound
   */
  private trouble: { since: number; failures: number; dropped: number; essential: number; byType: Map<string, number> } | null = null;
  private droppedBacklog = 0;
  private droppedBacklogEssential = 0;
  private writer: Promise<void> | null = null;
  private flushWaiters: { target: number; epoch: number; resolve: () => void; reject: (e: Error) => void }[] = [];
  private readonly listeners = new Set<(lastSeq: number) => void>();
  private readonly wakers = new Set<() => void>();
  private notifyQueued = false;
  private closed = false;
  private closing: Promise<void> | null = null;
  private skippedOnOpen = 0;
  private droppedUnacked = 0;
  /** fdatasync/fsync calls made (segments, cursors.json, directory); for the benchmark */
  fsyncs = 0;

  constructor(
    readonly dir: string,
    opts: FileJournalOptions,
  ) {
    this.o = {
      syncIntervalMs: opts.syncIntervalMs ?? JOURNAL_DEFAULTS.syncIntervalMs,
      segmentBytes: opts.segmentBytes ?? JOURNAL_DEFAULTS.segmentBytes,
      maxBytes: opts.maxBytes ?? JOURNAL_DEFAULTS.maxBytes,
      batchBytes: opts.batchBytes ?? JOURNAL_DEFAULTS.batchBytes,
      maxRecordBytes: opts.maxRecordBytes ?? JOURNAL_DEFAULTS.maxRecordBytes,
      maxBacklogBytes: opts.maxBacklogBytes ?? JOURNAL_DEFAULTS.maxBacklogBytes,
    };
    this.onError = opts.onError ?? (() => {});
    this.onRecovered = opts.onRecovered ?? (() => {});
    this.essential = opts.essential ?? (() => true);
  }

  get lastSeq(): number {
    return this.nextSeq - 1;
  }

  // ---- appending ----------------------------------------------------------------------------

  append(id: string, event: unknown): number {
    if (this.closed) throw new JournalError('CLOSED', 'append() after close()');
    const essential = this.essential(event);
    const room = this.backlogLimit(essential);
    // full already: dropped before paying for its encoding (a flood arrives this way)
    if (this.memBytes >= room) return this.drop(event, essential);
    let json: string;
    try {
      json = JSON.stringify({ id, event });
    } catch (cause) {
      throw new JournalError('BAD_EVENT', `event ${id} cannot be encoded as JSON`, { cause });
    }
    const bytes = Buffer.byteLength(json);
    if (bytes > this.o.maxRecordBytes) {
      throw new JournalError('BAD_EVENT', `event ${id} is ${bytes} bytes (limit ${this.o.maxRecordBytes})`);
    }
    if (this.memBytes + HEADER_BYTES + bytes > room) return this.drop(event, essential);
    const seq = this.nextSeq++;
    const rec = encodeRecord(seq, json, bytes);
    this.mem.push(rec);
    this.memBytes += rec.length;
    if (this.memBytes >= this.o.batchBytes) this.startWriter();
    else this.arm(this.o.syncIntervalMs);
    this.notify();
    return seq;
  }

  /** how far the backlog may grow for an event of this class (see the file comment) */
  private backlogLimit(essential: boolean): number {
    return essential ? this.o.maxBacklogBytes : this.o.maxBacklogBytes / 2;
  }

  /** Count a dropped event (it gets no seq); report the start of the dropping, and its reaching essential events. */
  private drop(event: unknown, essential: boolean): 0 {
    this.droppedBacklog++;
    if (essential) this.droppedBacklogEssential++;
    const t = this.troubleRun();
    const type = typeof (event as { type?: unknown } | null)?.type === 'string' ? (event as { type: string }).type : 'unknown';
    const key = t.byType.has(type) || t.byType.size < MAX_DROP_TYPES ? type : 'other';
    t.byType.set(key, (t.byType.get(key) ?? 0) + 1);
    const first = t.dropped++ === 0;
    const firstEssential = essential && t.essential++ === 0;
    if (first || firstEssential) {
      const what = essential ? 'every new event, state transitions included,' : `new events that are not essential (${type} …)`;
      this.onError(
        new JournalError('BACKLOG_FULL', `${this.memBytes} bytes of events not yet written (limit ${this.o.maxBacklogBytes}): ${what} dropped and counted until the journal catches up`),
      );
    }
    return 0;
  }

  private troubleRun(): NonNullable<FileJournal['trouble']> {
    return (this.trouble ??= { since: Date.now(), failures: 0, dropped: 0, essential: 0, byType: new Map() });
  }

  /** After a successful write: a run of failures or drops is over once the backlog has room for every event. */
  private recovered(): void {
    const t = this.trouble;
    if (!t || this.memBytes >= this.backlogLimit(false)) return;
    this.trouble = null;
    const droppedByType = Object.fromEntries(t.byType);
    if (t.dropped) {
      const types = Object.entries(droppedByType).map(([k, n]) => `${n} ${k}`).join(', ');
      this.onError(new JournalError('BACKLOG_FULL', `${t.dropped} events were dropped, never written, while the backlog was full (${t.essential} essential): ${types}`));
    }
    this.onRecovered({ failures: t.failures, ms: Date.now() - t.since, dropped: t.dropped, droppedEssential: t.essential, droppedByType });
  }

  flush(): Promise<void> {
    const target = this.lastSeq;
    if (this.syncedSeq >= target && !this.cursorsDirty && !this.writer) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.flushWaiters.push({ target, epoch: this.ackEpoch, resolve, reject });
      this.startWriter();
    });
  }

  /** Start the writer after `ms` unless it runs or is already due. */
  private arm(ms: number): void {
    if (this.timer || this.writer || this.closed) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.startWriter();
    }, ms);
  }

  private startWriter(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (this.writer) return; // it loops while someone waits or a full batch is buffered
    // `.finally` runs after the assignment, even when writeLoop finds nothing to do
    this.writer = this.writeLoop().finally(() => {
      this.writer = null;
      if (this.retryMs) return; // writeLoop armed the retry
      if (this.flushWaiters.length || this.memBytes >= this.o.batchBytes) this.startWriter();
      else if (this.mem.length || this.cursorsDirty) this.arm(this.o.syncIntervalMs);
    });
  }

  private async writeLoop(): Promise<void> {
    try {
      for (;;) {
        if (this.mem.length) await this.writeBatch(this.mem.length);
        if (this.cursorsDirty) await this.saveCursors();
        this.settleWaiters();
        if (!this.mem.length && !this.cursorsDirty) break;
        if (!this.flushWaiters.length && this.memBytes < this.o.batchBytes) break;
      }
      this.retryMs = 0;
      this.failingWith = null;
      this.recovered();
    } catch (cause) {
      const err = cause instanceof JournalError ? cause : new JournalError('IO', `journal write failed: ${(cause as Error).message}`, { cause });
      this.writeErrors++;
      // a retry failing the same way is counted, not reported again
      if (this.failingWith !== err.message) this.onError(err);
      this.failingWith = err.message;
      this.troubleRun().failures++;
      for (const w of this.flushWaiters.splice(0)) w.reject(err);
      this.retryMs = Math.min(Math.max(this.retryMs * 2, this.o.syncIntervalMs, 10), MAX_RETRY_MS);
      if (!this.closed) {
        this.timer = setTimeout(() => {
          this.timer = null;
          this.startWriter(); // retryMs stays set (the back-off) until a loop succeeds

        }, this.retryMs);
      }
    }
  }

  private settleWaiters(): void {
    if (!this.flushWaiters.length) return;
    const done = this.flushWaiters.filter((w) => w.target <= this.syncedSeq && w.epoch <= this.savedEpoch);
    if (!done.length) return;
    this.flushWaiters = this.flushWaiters.filter((w) => !done.includes(w));
    for (const w of done) w.resolve();
  }

  /** Write mem[0, n) (splitting it at segment boundaries), fdatasync, apply retention. */
  private async writeBatch(n: number): Promise<void> {
    let touched = false;
    while (n > 0) {
      let seg = this.segments.at(-1)!;
      const firstLen = this.mem[0]!.length;
      if (seg.bytes > 0 && seg.bytes + firstLen > this.o.segmentBytes) seg = await this.rotate(this.writtenSeq + 1);
      // as many records as fit in this segment (at least one: an empty segment takes any record)
      let k = 0;
      let size = 0;
      while (k < n && (k === 0 || seg.bytes + size + this.mem[k]!.length <= this.o.segmentBytes)) size += this.mem[k++]!.length;
      // gathered by the kernel, not copied into one buffer: a backlog of megabytes retried on a full
      // disk would otherwise allocate its whole size again at every attempt
      await writeAll(this.fh!, this.mem.slice(0, k), seg.bytes);
      touched = true;
      // index and bookkeeping only once the bytes are in the file (a failed write changes nothing)
      let off = seg.bytes;
      let lastIdx = seg.idxOff.at(-1) ?? -INDEX_EVERY;
      for (let i = 0; i < k; i++) {
        if (off - lastIdx >= INDEX_EVERY) {
          seg.idxSeq.push(this.writtenSeq + 1 + i);
          seg.idxOff.push(off);
          lastIdx = off;
        }
        off += this.mem[i]!.length;
      }
      seg.bytes += size;
      this.totalBytes += size;
      this.writtenSeq += k;
      this.mem.splice(0, k);
      this.memBytes -= size;
      n -= k;
    }
    if (touched) {
      await this.fh!.datasync();
      this.fsyncs++;
      this.syncedSeq = this.writtenSeq;
    }
    await this.applyRetention();
  }

  /** Make a new active segment starting at `first` (the old one is fsynced and closed). */
  private async rotate(first: number): Promise<Segment> {
    const path = join(this.dir, segmentName(first));
    // 'w', not 'wx': a previous attempt may have created it before failing; nothing is in it yet
    const fh = await open(path, 'w');
    try {
      await this.syncDir();
      await this.fh!.datasync();
      this.fsyncs++;
    } catch (err) {
      await fh.close().catch(() => {});
      throw err;
    }
    this.syncedSeq = this.writtenSeq;
    await this.fh!.close().catch(() => {});
    this.fh = fh;
    const seg: Segment = { first, path, bytes: 0, idxSeq: [], idxOff: [] };
    this.segments.push(seg);
    return seg;
  }

  private async applyRetention(): Promise<void> {
    while (this.totalBytes > this.o.maxBytes && this.segments.length > 1) {
      const old = this.segments[0]!;
      const last = this.segments[1]!.first - 1;
      await unlink(old.path).catch((e: NodeJS.ErrnoException) => {
        if (e.code !== 'ENOENT') throw e;
      });
      this.segments.shift();
      this.totalBytes -= old.bytes;
      if (this.cursors.size) {
        const slowest = Math.min(...this.cursors.values());
        const lost = last - Math.max(slowest, old.first - 1);
        if (lost > 0) {
          this.droppedUnacked += lost;
          this.onError(new JournalError('OVERFLOW', `rotation deleted ${lost} records (seq ${old.first}..${last}) not yet acknowledged by every cursor (slowest at ${slowest})`));
        }
      }
    }
  }

  private async syncDir(): Promise<void> {
    const d = await open(this.dir, 'r');
    try {
      await d.sync();
      this.fsyncs++;
    } finally {
      await d.close();
    }
  }

  // ---- cursors ------------------------------------------------------------------------------

  cursor(name: string): number {
    return this.cursors.get(name) ?? 0;
  }

  ack(name: string, seq: number): void {
    if (!Number.isSafeInteger(seq) || seq <= 0) return;
    const v = Math.min(seq, this.lastSeq);
    if (v <= this.cursor(name)) return;
    this.cursors.set(name, v);
    this.cursorsDirty = true;
    this.ackEpoch++;
    this.arm(this.o.syncIntervalMs);
  }

  private async saveCursors(): Promise<void> {
    // never persist a cursor past what is durable: after a crash it would point past the log's end
    let clamped = false;
    const cursors: Record<string, number> = {};
    for (const [k, v] of this.cursors) {
      cursors[k] = Math.min(v, this.syncedSeq);
      clamped ||= v > this.syncedSeq;
    }
    const epoch = this.ackEpoch;
    this.cursorsDirty = false;
    try {
      const tmp = join(this.dir, `${CURSORS}.tmp`);
      const fh = await open(tmp, 'w');
      try {
        await fh.writeFile(JSON.stringify({ v: 1, cursors }) + '\n');
        await fh.datasync();
        this.fsyncs++;
      } finally {
        await fh.close();
      }
      await rename(tmp, join(this.dir, CURSORS));
      await this.syncDir();
    } catch (err) {
      this.cursorsDirty = true;
      throw err;
    }
    this.savedEpoch = epoch;
    if (clamped) this.cursorsDirty = true; // the rest goes with the next batch
  }

  // ---- listeners and readers ----------------------------------------------------------------

  onAppend(fn: (lastSeq: number) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** One microtask per burst of appends: wakes following readers, then calls the listeners. */
  private notify(): void {
    if (this.notifyQueued) return;
    this.notifyQueued = true;
    queueMicrotask(() => {
      this.notifyQueued = false;
      this.wake();
      const last = this.lastSeq;
      for (const fn of this.listeners) {
        try {
          fn(last);
        } catch (cause) {
          this.onError(new JournalError('LISTENER', 'an onAppend listener threw', { cause }));
        }
      }
    });
  }

  private wake(): void {
    const ws = [...this.wakers];
    this.wakers.clear();
    for (const w of ws) w();
  }

  private waitForAppend(signal: AbortSignal | undefined): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        this.wakers.delete(done);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      this.wakers.add(done);
      signal?.addEventListener('abort', done, { once: true });
    });
  }

  read(after = 0, opts: ReadOptions = {}): AsyncIterable<JournalEntry> {
    return this.iterate(Number.isFinite(after) ? Math.max(0, Math.floor(after)) : 0, opts);
  }

  private async *iterate(after: number, { follow = false, signal }: ReadOptions): AsyncGenerator<JournalEntry> {
    let next = after + 1;
    let rd = null as SegmentReader | null;
    try {
      for (;;) {
        if (signal?.aborted) return;
        if (next > this.lastSeq) {
          if (!follow || this.closed) return;
          await this.waitForAppend(signal);
          continue;
        }
        next = Math.max(next, this.segments[0]?.first ?? 1); // rotation deleted the ones before
        if (next > this.writtenSeq) {
          // not written yet: straight from the batch (decoded like a disk record, so the same values)
          const buf = this.mem[next - this.writtenSeq - 1]!;
          const p = decodePayload(buf, 0, buf.length)!;
          yield entry(next++, p);
          continue;
        }
        // on disk: the segment holding `next`
        const si = this.findSegment(next);
        const seg = this.segments[si]!;
        if (rd?.first !== seg.first) {
          await rd?.close();
          rd = null;
          const r: SegmentReader | null = await SegmentReader.open(seg.path, seg.first, offsetFor(seg, next), this.o.maxRecordBytes).catch(() => null);
          if (!r) continue; // deleted by rotation meanwhile: look again
          rd = r;
        }
        const limit = this.writtenSeq;
        const f = await rd.next();
        if (f.kind === 'record') {
          if (f.seq < next) continue;
          const p = decodePayload(f.buf, 0, f.buf.length);
          if (!p) {
            rd.skipTo(f.offset + 1);
            continue;
          }
          next = f.seq + 1;
          yield entry(f.seq, p);
        } else if (f.kind === 'invalid') {
          rd.skipTo(f.offset + 1); // damage in an older segment (counted on open): resynchronise
        } else {
          const following = this.segments[si + 1];
          await rd.close();
          rd = null;
          if (following) next = Math.max(next, following.first);
          else if (next <= limit) {
            // the active segment ends before what was written: damaged since open; do not spin
            this.onError(new JournalError('CORRUPT_RECORD', `records ${next}..${limit} unreadable in ${seg.path}`));
            next = limit + 1;
          }
        }
      }
    } finally {
      await rd?.close();
    }
  }

  /** index of the last segment whose first seq is <= seq (segments is sorted, never empty) */
  private findSegment(seq: number): number {
    let lo = 0;
    let hi = this.segments.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.segments[mid]!.first <= seq) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  // ---- stats and closing --------------------------------------------------------------------

  stats(): JournalStats {
    return {
      lastSeq: this.lastSeq,
      unsynced: this.lastSeq - this.syncedSeq,
      bytes: this.totalBytes,
      segments: this.segments.length,
      skippedOnOpen: this.skippedOnOpen,
      droppedUnacked: this.droppedUnacked,
      writeErrors: this.writeErrors,
      backlogBytes: this.memBytes,
      droppedBacklog: this.droppedBacklog,
      droppedBacklogEssential: this.droppedBacklogEssential,
    };
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      this.closed = true; // append() now throws; no more timers
      // a final flush; failures were reported through onError and are not thrown from close()
      await this.flush().catch(() => {});
      if (this.timer) clearTimeout(this.timer);
      this.timer = null;
      await this.writer;
      await this.fh?.close().catch(() => {});
      this.fh = null;
      this.wake(); // following readers end
    })();
    return this.closing;
  }

  // ---- opening ------------------------------------------------------------------------------

  /** Scan and verify every segment, truncate a torn tail, load cursors. Called once by openJournal. */
  async load(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    const names = (await readdir(this.dir)).filter((n) => SEGMENT_RE.test(n)).sort();
    let expect = 1;
    for (const [i, name] of names.entries()) {
      const first = Number(SEGMENT_RE.exec(name)![1]);
      const seg: Segment = { first, path: join(this.dir, name), bytes: 0, idxSeq: [], idxOff: [] };
      if (i > 0 && first > expect) {
        this.skip('CORRUPT_RECORD', first - expect, `records ${expect}..${first - 1} missing before ${name}`);
      }
      expect = Math.max(expect, first);
      if (i === names.length - 1) expect = await this.scanLast(seg, expect);
      else expect = await this.scanOlder(seg, expect);
      this.segments.push(seg);
      this.totalBytes += seg.bytes;
    }
    this.nextSeq = expect;
    this.writtenSeq = this.syncedSeq = expect - 1;
    if (!this.segments.length) {
      const seg: Segment = { first: 1, path: join(this.dir, segmentName(1)), bytes: 0, idxSeq: [], idxOff: [] };
      this.fh = await open(seg.path, 'w');
      await this.syncDir();
      this.segments.push(seg);
    } else {
      this.fh = await open(this.segments.at(-1)!.path, 'r+');
    }
    await this.loadCursors();
  }

  private skip(code: 'TORN_TAIL' | 'CORRUPT_RECORD', records: number, message: string): void {
    this.skippedOnOpen += records;
    this.onError(new JournalError(code, message));
  }

  /** Older segment: keep every record that checks out, skip (and count) damage. Returns the next seq. */
  private async scanOlder(seg: Segment, expect: number): Promise<number> {
    const rd = await SegmentReader.open(seg.path, seg.first, 0, this.o.maxRecordBytes);
    try {
      for (;;) {
        const f = await rd.next();
        if (f.kind === 'end') break;
        if (f.kind === 'invalid' || f.seq < expect) {
          // damage (or, while resynchronising, an old record's bytes): try the next byte
          rd.skipTo(f.offset + 1);
          continue;
        }
        if (f.seq > expect) this.skip('CORRUPT_RECORD', f.seq - expect, `records ${expect}..${f.seq - 1} corrupt in ${seg.path}, skipped`);
        index(seg, f.seq, f.offset);
        expect = f.seq + 1;
      }
      seg.bytes = rd.size;
    } finally {
      await rd.close();
    }
    return expect;
  }

  /** Last segment: the first torn or corrupt record ends the log; the file is truncated there. */
  private async scanLast(seg: Segment, expect: number): Promise<number> {
    const rd = await SegmentReader.open(seg.path, seg.first, 0, this.o.maxRecordBytes);
    let end = 0;
    let bad: string | null = null;
    try {
      for (;;) {
        const f = await rd.next();
        if (f.kind === 'end') {
          if (f.trailing) bad = `${f.trailing} trailing bytes`;
          break;
        }
        if (f.kind === 'invalid' || f.seq !== expect) {
          bad = f.kind === 'invalid' ? f.code : `seq ${f.seq} where ${expect} was due`;
          break;
        }
        index(seg, f.seq, f.offset);
        expect++;
        end = f.offset + f.buf.length;
      }
    } finally {
      await rd.close();
    }
    seg.bytes = end;
    if (bad !== null) {
      const fh = await open(seg.path, 'r+');
      try {
        await fh.truncate(end);
        await fh.datasync();
        this.fsyncs++;
      } finally {
        await fh.close();
      }
      this.skip('TORN_TAIL', 1, `torn or corrupt record after seq ${expect - 1} in ${seg.path} (${bad}); truncated at byte ${end} of ${rd.size}`);
    }
    return expect;
  }

  private async loadCursors(): Promise<void> {
    let text: string;
    try {
      text = await readFile(join(this.dir, CURSORS), 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') this.onError(new JournalError('CURSORS', 'cannot read cursors.json', { cause: e }));
      return;
    }
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch (cause) {
      this.onError(new JournalError('CURSORS', 'cursors.json is not JSON; cursors restart at 0', { cause }));
      return;
    }
    const cs = (doc as { cursors?: unknown } | null)?.cursors;
    if (typeof cs !== 'object' || cs === null) {
      this.onError(new JournalError('CURSORS', 'cursors.json has no cursors object; cursors restart at 0'));
      return;
    }
    for (const [k, v] of Object.entries(cs)) {
      if (!Number.isSafeInteger(v) || (v as number) < 0) {
        this.onError(new JournalError('CURSORS', `cursor ${k}: bad value ${JSON.stringify(v)}; restarts at 0`));
        continue;
      }
      if ((v as number) > this.lastSeq) {
        // only if records it had passed were lost (damage): it must not skip the seqs reused next
        this.onError(new JournalError('CURSORS', `cursor ${k} at ${v} is past the journal's end ${this.lastSeq}; moved back`));
      }
      this.cursors.set(k, Math.min(v as number, this.lastSeq));
    }
  }
}

/** a read's entry; `json` only when the payload had it (an optional property stays absent, not undefined) */
function entry(seq: number, p: { id: string; event: unknown; json?: string }): JournalEntry {
  return p.json === undefined ? { seq, id: p.id, event: p.event } : { seq, id: p.id, event: p.event, json: p.json };
}

function index(seg: Segment, seq: number, off: number): void {
  const last = seg.idxOff.at(-1);
  if (last === undefined || off - last >= INDEX_EVERY) {
    seg.idxSeq.push(seq);
    seg.idxOff.push(off);
  }
}

/** byte offset of the last indexed record at or before `seq` (0 = segment start) */
function offsetFor(seg: Segment, seq: number): number {
  let off = 0;
  for (let k = 0; k < seg.idxSeq.length && seg.idxSeq[k]! <= seq; k++) off = seg.idxOff[k]!;
  return off;
}

/** Write `bufs` back to back at `position` (pwritev), continuing after short writes. */
async function writeAll(fh: FileHandle, bufs: Buffer[], position: number): Promise<void> {
  let rest = bufs;
  for (let at = position; rest.length; ) {
    const { bytesWritten } = await fh.writev(rest, at);
    // libuv returns a short count, not the error, when a write stops part way (ENOSPC): the next
    // call reports it; a write that makes no progress at all must not spin
    if (bytesWritten <= 0) throw new Error(`write at offset ${at} made no progress`);
    at += bytesWritten;
    rest = after(rest, bytesWritten);
  }
}

/** `bufs` without their first `n` bytes (no copy: the buffer cut in two is a view) */
function after(bufs: Buffer[], n: number): Buffer[] {
  let i = 0;
  for (; i < bufs.length && n >= bufs[i]!.length; i++) n -= bufs[i]!.length;
  return n > 0 ? [bufs[i]!.subarray(n), ...bufs.slice(i + 1)] : bufs.slice(i);
}

type ReadFrame =
  | { readonly kind: 'record'; readonly seq: number; readonly offset: number; readonly buf: Buffer }
  | { readonly kind: 'invalid'; readonly offset: number; readonly code: string }
  /** end of the file; `trailing` bytes (fewer than a header) were left over */
  | { readonly kind: 'end'; readonly offset: number; readonly trailing: number };

/** Sequential, chunked reads of one segment file, frame by frame. */
class SegmentReader {
  private buf: Buffer = Buffer.alloc(0);
  /** file offset of buf[0] */
  private base: number;
  private pos = 0;

  private constructor(
    private readonly fh: FileHandle,
    readonly first: number,
    start: number,
    readonly size: number,
    private readonly maxPayload: number,
  ) {
    this.base = start;
  }

  static async open(path: string, first: number, start: number, maxPayload: number): Promise<SegmentReader> {
    const fh = await open(path, 'r');
    const { size } = await fh.stat();
    return new SegmentReader(fh, first, start, size, maxPayload);
  }

  async next(): Promise<ReadFrame> {
    for (;;) {
      const offset = this.base + this.pos;
      const f = decodeFrame(this.buf, this.pos, this.maxPayload);
      if (f.kind === 'record') {
        const buf = this.buf.subarray(this.pos, this.pos + f.size);
        this.pos += f.size;
        return { kind: 'record', seq: f.seq, offset, buf };
      }
      if (f.kind === 'invalid') return { kind: 'invalid', offset, code: f.code };
      // short: read more; a file that ends first has a torn record (or, under a header, trailing bytes)
      if (!(await this.fill(f.need))) {
        const left = this.buf.length - this.pos;
        if (left >= HEADER_BYTES) return { kind: 'invalid', offset, code: 'TRUNCATED' };
        return { kind: 'end', offset, trailing: left };
      }
    }
  }

  /** continue at file offset `offset` (>= the current record's) */
  skipTo(offset: number): void {
    const rel = offset - this.base;
    if (rel >= 0 && rel <= this.buf.length) this.pos = rel;
    else {
      this.buf = Buffer.alloc(0);
      this.base = offset;
      this.pos = 0;
    }
  }

  /** make at least `need` bytes available from pos; false at end of file */
  private async fill(need: number): Promise<boolean> {
    const keep = this.buf.subarray(this.pos);
    const want = Math.max(need, READ_CHUNK);
    const next = Buffer.allocUnsafe(want);
    keep.copy(next, 0);
    const from = this.base + this.pos + keep.length;
    const { bytesRead } = await this.fh.read(next, keep.length, want - keep.length, from);
    this.base += this.pos;
    this.pos = 0;
    this.buf = next.subarray(0, keep.length + bytesRead);
    return bytesRead > 0;
  }

  close(): Promise<void> {
    return this.fh.close().catch(() => {});
  }
}
