// The dashboard's history: an event log (the local journal, or the cluster's NATS stream) folded
// into a WorldFold as it grows, with a copy of the fold kept every N events. The state at any past
// moment is the nearest earlier copy plus the events after it (never a replay from zero); event
// queries page through the log from the copies' positions.
//
// Memory is bounded: at most `maxSnapshots` copies; when there would be more, every other one is
// dropped and N doubles, so a long log costs more replay per query (at most N events), never more
// copies. Event times are taken as non-decreasing in log order (one node's clock, or JetStream's
// arrival order); "the state at T" is the fold up to the first event later than T.
import type { BusEvent } from '../bus.js';
import { matches } from '../format-event.js';
import { WorldFold, type WorldView } from './world.js';

/** One record of a log: its position (increasing, not necessarily contiguous) and the event. */
export interface LogEntry {
  readonly seq: number;
  readonly event: unknown;
}

/** The log port: the journal (journalLog) or a NATS stream (adapters/nats/history.ts). */
export interface EventLog {
  /** records with seq > after, oldest first; with follow, then new ones until `signal` aborts */
  read(after: number, opts?: { follow?: boolean; signal?: AbortSignal }): AsyncIterable<LogEntry>;
  /** the seq of the last record (0: empty) */
  lastSeq(): number | Promise<number>;
}

/** The journal port (adapters/journal/types.ts) as an EventLog. */
export const journalLog = (j: { read(after?: number, opts?: { follow?: boolean; signal?: AbortSignal }): AsyncIterable<LogEntry>; readonly lastSeq: number }): EventLog => ({
  read: (after, opts) => j.read(after, opts),
  lastSeq: () => j.lastSeq,
});

/**
 * The last `capacity` events in memory: the history when the daemon runs without a journal
 * (`--no-journal`). Fed by `append` (a bus subscriber).
 */
export class MemoryLog implements EventLog {
  private readonly ring: LogEntry[] = [];
  private seq = 0;
  private readonly waiters = new Set<() => void>();

  constructor(private readonly capacity = 10_000) {}

  append(event: unknown): void {
    this.ring.push({ seq: ++this.seq, event });
    if (this.ring.length > this.capacity) this.ring.shift();
    for (const w of [...this.waiters]) w();
  }

  lastSeq(): number {
    return this.seq;
  }

  async *read(after: number, opts: { follow?: boolean; signal?: AbortSignal } = {}): AsyncIterable<LogEntry> {
    let next = after + 1;
    for (;;) {
      if (opts.signal?.aborted) return;
      const first = this.ring[0]?.seq ?? this.seq + 1;
      if (next <= this.seq) {
        const e = this.ring[Math.max(next, first) - first]!;
        next = e.seq + 1;
        yield e;
        continue;
      }
      if (!opts.follow) return;
      await new Promise<void>((resolve) => {
        const done = () => {
          this.waiters.delete(done);
          opts.signal?.removeEventListener('abort', done);
          resolve();
        };
        this.waiters.add(done);
        opts.signal?.addEventListener('abort', done, { once: true });
      });
    }
  }
}

/** The envelope's fields the dashboard relies on; anything else in a log is skipped and counted. */
export function isBusEvent(x: unknown): x is BusEvent {
  if (typeof x !== 'object' || x === null) return false;
  const e = x as Record<string, unknown>;
  return (
    typeof e['id'] === 'string' &&
    typeof e['time'] === 'string' &&
    !Number.isNaN(Date.parse(e['time'])) &&
    typeof e['node'] === 'string' &&
    typeof e['kind'] === 'string' &&
    typeof e['name'] === 'string' &&
    typeof e['type'] === 'string' &&
    typeof e['correlation'] === 'string' &&
    typeof e['data'] === 'object' &&
    e['data'] !== null
  );
}

const B32 = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/** The millisecond time in a ULID's first 10 characters (undefined if it is not one). */
export function ulidTime(id: string): number | undefined {
  if (!/^[0-9A-HJKMNP-TV-Z]{26}$/i.test(id)) return undefined;
  let t = 0;
  for (const c of id.slice(0, 10).toUpperCase()) t = t * 32 + B32.indexOf(c);
  return t;
}

export interface EventQuery {
  /** forward paging: records with seq > after */
  readonly after?: number;
  /** backward paging: records with seq < before (the default is the newest records) */
  readonly before?: number;
  /** ms since the epoch */
  readonly since?: number;
  readonly until?: number;
  readonly node?: string;
  /** the actor's name, or data.instance (an instance's tracker and operator events) */
  readonly instance?: string;
  /** a type, or a prefix before a dot: `vrrp` is every vrrp.* */
  readonly type?: string;
  /** one correlation chain: the events whose correlation (or id) is this */
  readonly chain?: string;
  /** default 200 */
  readonly limit?: number;
}

export interface EventPage {
  /** oldest first */
  readonly events: { readonly seq: number; readonly event: BusEvent }[];
  /** more, older: ask again with before = this */
  readonly older?: number;
  /** more, newer: ask again with after = this */
  readonly newer?: number;
  /** records read to answer */
  readonly scanned: number;
}

export interface HistoryOptions {
  /** a copy of the fold every this many events, at first (default 1000) */
  readonly snapshotEvery?: number;
  /** at most this many copies (default 256) */
  readonly maxSnapshots?: number;
  /** one query reads at most this many records (default 50,000), then returns a cursor */
  readonly scanLimit?: number;
  /** the log failed while being followed (it is read again from where it stopped, 1 s later) */
  readonly onError?: (err: Error) => void;
  /** each event folded once the fold has caught up with the log (not the backlog at start) */
  readonly onEvent?: (e: BusEvent, seq: number) => void;
}

export const MAX_PAGE = 1000;

/**
 * Long reads let the event loop breathe every this many records: a read served from memory is a
 * chain of microtasks, which would hold VRRP's timers back (tens of ms over 50,000 records).
 */
const BREATHE_EVERY = 256;
const breathe = (n: number) => (n % BREATHE_EVERY === 0 ? new Promise<void>((r) => setImmediate(r)) : undefined);

interface Snapshot {
  readonly seq: number;
  /** ms of its last event */
  readonly time: number;
  readonly fold: WorldFold;
}

export class History {
  private head = WorldFold.empty();
  private headSeq = 0;
  private snaps: Snapshot[] = [];
  private every: number;
  private sinceSnap = 0;
  private first: { seq: number; id: string; time: string } | undefined;
  private running: Promise<void> | undefined;
  private caughtUp = false;
  private readonly stop = new AbortController();
  private readonly waiters = new Set<{ seq: number; resolve: () => void }>();
  /** records that are not events (skipped) */
  malformed = 0;

  constructor(
    private readonly log: EventLog,
    private readonly o: HistoryOptions = {},
  ) {
    this.every = Math.max(1, o.snapshotEvery ?? 1000);
  }

  /** Start following the log (once); resolves when the records there at the start are folded. */
  start(): Promise<void> {
    this.running ??= (async () => {
      void this.follow();
      let target: number;
      try {
        target = await this.log.lastSeq();
      } catch (err) {
        // the log is unreachable (NATS down): queries say so, the follower keeps trying
        this.o.onError?.(err as Error);
        this.caughtUp = true;
        return;
      }
      await this.reached(target);
      this.caughtUp = true;
    })();
    return this.running;
  }

  private async follow(): Promise<void> {
    while (!this.stop.signal.aborted) {
      try {
        let n = 0;
        for await (const { seq, event } of this.log.read(this.headSeq, { follow: true, signal: this.stop.signal })) {
          this.fold(seq, event);
          await breathe(++n);
        }
      } catch (err) {
        this.o.onError?.(err as Error);
        // whoever waits for the fold gets what there is (queries read the log and report its error)
        this.release();
      }
      if (!this.stop.signal.aborted) await new Promise((r) => setTimeout(r, 1000).unref());
    }
  }

  private fold(seq: number, event: unknown): void {
    this.headSeq = seq;
    if (isBusEvent(event)) {
      this.first ??= { seq, id: event.id, time: event.time };
      this.head.add(event, seq);
      if (++this.sinceSnap >= this.every) this.snapshot(seq, event);
      if (this.caughtUp) this.o.onEvent?.(event, seq);
    } else this.malformed++;
    for (const w of this.waiters) {
      if (w.seq <= seq) {
        this.waiters.delete(w);
        w.resolve();
      }
    }
  }

  private snapshot(seq: number, e: BusEvent): void {
    this.sinceSnap = 0;
    this.snaps.push({ seq, time: Date.parse(e.time), fold: this.head.clone() });
    if (this.snaps.length > (this.o.maxSnapshots ?? 256)) {
      this.snaps = this.snaps.filter((_, i) => i % 2 === 1);
      this.every *= 2;
    }
  }

  /** resolves once the fold has reached `seq` */
  private reached(seq: number): Promise<void> {
    if (this.headSeq >= seq) return Promise.resolve();
    return new Promise((resolve) => this.waiters.add({ seq, resolve }));
  }

  /** Wait (at most `ms`) until everything in the log now is folded: a live view then includes it. */
  async settle(ms = 1000): Promise<void> {
    await this.start();
    const target = await this.log.lastSeq();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.reached(target), new Promise<void>((r) => (timer = setTimeout(r, ms)))]);
    clearTimeout(timer);
  }

  /** The fold's view now. */
  now(atMs = Date.now()): WorldView {
    return this.head.view(atMs);
  }

  /** the first and last events folded, and how many */
  bounds(): { first?: { seq: number; id: string; time: string }; last?: { seq?: number; id: string; time: string }; events: number; snapshots: number; snapshotEvery: number } {
    const last = this.head.last;
    return {
      ...(this.first ? { first: this.first } : {}),
      ...(last ? { last: { seq: last.seq, id: last.id, time: last.time } } : {}),
      events: this.head.count,
      snapshots: this.snaps.length,
      snapshotEvery: this.every,
    };
  }

  /** the last copy before the point (by time or seq), or undefined (start from empty) */
  private base(before: (s: Snapshot) => boolean): Snapshot | undefined {
    let lo = 0;
    let hi = this.snaps.length - 1;
    let found: Snapshot | undefined;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (before(this.snaps[mid]!)) {
        found = this.snaps[mid];
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found;
  }

  /**
   * The state at a past moment: `at` (ms; the fold up to the last event at or before it) or `seq`
   * (the fold up to that record included). Beyond the end: the state now.
   */
  async stateAt(q: { at: number } | { seq: number }): Promise<WorldView> {
    await this.start();
    const end = this.headSeq;
    const base = 'at' in q ? this.base((s) => s.time <= q.at) : this.base((s) => s.seq <= q.seq);
    const fold = base ? base.fold.clone() : WorldFold.empty();
    const limit = 'seq' in q ? Math.min(q.seq, end) : end;
    let lastTime = base?.time;
    if ((base?.seq ?? 0) < limit) {
      let n = 0;
      for await (const { seq, event } of this.log.read(base?.seq ?? 0)) {
        if (seq > limit) break;
        await breathe(++n);
        if (!isBusEvent(event)) continue;
        const t = Date.parse(event.time);
        if ('at' in q && t > q.at) break;
        fold.add(event, seq);
        lastTime = t;
      }
    }
    return fold.view('at' in q ? q.at : (lastTime ?? Date.now()));
  }

  /** the seq from which a forward scan for events at or after `ms` can start */
  private seqBefore(ms: number): number {
    return this.base((s) => s.time < ms)?.seq ?? 0;
  }

  /** The seq of event `id` (for an SSE resume), or undefined when the log no longer has it. */
  async seqOf(id: string): Promise<number | undefined> {
    await this.start();
    const t = ulidTime(id);
    if (t === undefined) return undefined;
    let scanned = 0;
    const scanLimit = this.o.scanLimit ?? 50_000;
    for await (const { seq, event } of this.log.read(this.seqBefore(t))) {
      if (seq > this.headSeq || ++scanned > scanLimit) return undefined;
      await breathe(scanned);
      if (!isBusEvent(event)) continue;
      if (event.id === id) return seq;
      // ids are minted from the same clock as times: past this, it is not there
      if (Date.parse(event.time) > t + 1000) return undefined;
    }
    return undefined;
  }

  /** Records after `after` up to `upto` included (an SSE client's backlog). */
  async *range(after: number, upto: number): AsyncIterable<{ seq: number; event: BusEvent }> {
    if (after >= upto) return;
    let n = 0;
    for await (const { seq, event } of this.log.read(after)) {
      if (seq > upto) return;
      await breathe(++n);
      if (isBusEvent(event)) yield { seq, event };
    }
  }

  async events(q: EventQuery): Promise<EventPage> {
    await this.start();
    const limit = Math.min(Math.max(1, q.limit ?? 200), MAX_PAGE);
    const keep = (e: BusEvent) =>
      matches(e, { ...(q.node ? { node: q.node } : {}), ...(q.type ? { type: q.type } : {}), ...(q.since !== undefined ? { since: q.since } : {}) }) &&
      (q.until === undefined || Date.parse(e.time) <= q.until) &&
      (!q.instance || e.name === q.instance || e.data['instance'] === q.instance) &&
      (!q.chain || e.correlation === q.chain || e.id === q.chain);
    const chainStart = q.chain ? ulidTime(q.chain) : undefined;
    if (q.after !== undefined || q.since !== undefined || chainStart !== undefined) {
      const from = q.after ?? this.seqBefore(q.since ?? chainStart!);
      return this.forward(from, limit, keep, q.until);
    }
    return this.backward(q.before ?? this.headSeq + 1, limit, keep);
  }

  private async forward(after: number, limit: number, keep: (e: BusEvent) => boolean, until?: number): Promise<EventPage> {
    const scanLimit = this.o.scanLimit ?? 50_000;
    const events: EventPage['events'][number][] = [];
    let scanned = 0;
    const end = this.headSeq;
    for await (const { seq, event } of this.log.read(after)) {
      if (seq > end) break;
      await breathe(++scanned);
      if (isBusEvent(event)) {
        if (until !== undefined && Date.parse(event.time) > until) break;
        if (keep(event)) events.push({ seq, event });
      }
      // a full page, or enough reading for one request: the caller goes on from here
      if ((events.length >= limit || scanned >= scanLimit) && seq < end) return { events, newer: seq, scanned };
    }
    return { events, scanned };
  }

  private async backward(before: number, limit: number, keep: (e: BusEvent) => boolean): Promise<EventPage> {
    const scanLimit = this.o.scanLimit ?? 50_000;
    let found: EventPage['events'][number][] = [];
    let scanned = 0;
    let end = before;
    let chunk = Math.max(256, limit * 2);
    while (found.length < limit && end > 1 && scanned < scanLimit) {
      const lo = Math.max(0, end - chunk);
      const window: EventPage['events'][number][] = [];
      for await (const { seq, event } of this.log.read(lo)) {
        if (seq >= end) break;
        await breathe(++scanned);
        if (isBusEvent(event) && keep(event)) window.push({ seq, event });
      }
      found = [...window, ...found];
      end = lo + 1;
      chunk *= 2;
    }
    const more = found.length > limit || end > 1;
    if (found.length > limit) found = found.slice(found.length - limit);
    return { events: found, ...(more && found.length ? { older: found[0]!.seq } : more ? { older: end } : {}), scanned };
  }

  private release(): void {
    for (const w of this.waiters) w.resolve();
    this.waiters.clear();
  }

  close(): void {
    this.stop.abort();
    this.release();
  }
}
