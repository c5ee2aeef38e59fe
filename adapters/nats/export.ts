// The NATS export: drains the journal (the durable outbox) into a JetStream stream, in order.
//
// The connectivity is machines/nats-link.machine.ts; this file provides its I/O:
//   watchLink   nats.js connection status → link.up / link.lost
//   connect     check the stream (create it when absent; a misfit is a StreamMismatchError)
//   pump        the publishing pipeline (below)
//   finalDrain  one bounded drain attempt at close, then the connection's drain/close
//
// The pipeline publishes journal records from `journal.cursor('nats') + 1` on, each with
// Nats-Msg-Id = the event id and CloudEvents `ce-*` headers, keeping at most `maxInFlight`
// publishes awaiting their PubAck. Acks are applied in send order: the cursor only advances over
// the contiguous acked prefix, so after any failure (timeout, disconnect) the pipeline restarts
// from the cursor and re-sends what may already be stored; JetStream drops those as duplicates
// (PubAck.duplicate, counted) as long as the re-send falls inside the stream's duplicate_window.
// nats.js itself drops everything it had buffered when it reconnects (peers.md §5.5), which is why
// nothing here trusts its buffer: the journal is the only outbox.
//
// Order: one connection, published in seq order; the server stores what it reads from a socket in
// order, and a connection loss only loses a suffix of what was sent, which the restart re-sends.
// So the stream holds each node's events in journal order (re-sends land as duplicates, not out of
// order). A stream wiped on the server side (store deleted) is recreated and filled from the
// cursor on: records acked before the wipe are NOT re-sent — the journal had handed them over.
//
// Nothing here blocks the appender: onAppend only schedules a microtask, and no call into this
// module throws (failures are states, logged, and counted in stats()).
import { readFile } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import {
  connect, createInbox, credsAuthenticator, MsgHdrsImpl, nanos, nkeyAuthenticator,
  type Authenticator, type ConnectionOptions, type Msg, type NatsConnection, type Subscription,
} from '@nats-io/transport-node';
import {
  jetstreamManager, JetStreamApiError, type JetStreamManager, type StreamInfo,
} from '@nats-io/jetstream';
import { createActor, fromCallback, fromPromise, toPromise, type EventObject } from 'xstate';
import type { Logger } from 'pino';
import { clusterSubjects, cloudEventHeaders, subjectFor } from '../../actors/events.js';
import type { BusEvent } from '../../actors/bus.js';
import type { Journal, JournalEntry } from '../journal/types.js';
import {
  natsLink, type BackoffInput, type ConnectOutput, type NatsLinkEmitted, type NatsLinkEvent,
  type NatsLinkState, type PublishFailure, type PumpCommand, type FinalDrainInput,
} from '../../machines/nats-link.machine.js';
import { StreamMismatchError } from './errors.js';

export { StreamMismatchError };
export type { NatsLinkState };

/** The journal cursor the export owns. */
export const CURSOR = 'nats';

export interface NatsExportOptions {
  readonly servers: string[];
  /** JetStream stream name, e.g. 'VIGIL' */
  readonly stream: string;
  /** first subject token after `vigil.` (actors/events.ts) */
  readonly cluster: string;
  /** subjects for a stream we create (default `vigil.<cluster>.>`); an existing one must cover ours */
  readonly subjects?: string[];
  readonly credsFile?: string;
  /** a file holding an nkey seed (SU…) */
  readonly nkeyFile?: string;
  readonly tls?: { ca?: string; cert?: string; key?: string };
  /**
   * duplicate_window of a stream we create (default 1 h). Re-sends after an outage are deduped
   * only inside it, so it bounds the outage after which the ≤ maxInFlight records that were in
   * flight when the link broke could be stored twice. The server keeps every msg id of the window
   * in memory and refuses a window longer than max_age, so it is clamped to maxAgeMs.
   */
  readonly duplicateWindowMs?: number;
  /** max_age of a stream we create (default 0: unlimited) */
  readonly maxAgeMs?: number;
  /** num_replicas of a stream we create (default 1) */
  readonly replicas?: number;
  /** publishes awaiting their PubAck at once (default 64) */
  readonly maxInFlight?: number;
  /** PubAck timeout per publish (default 2000 ms) */
  readonly ackTimeoutMs?: number;
  /** no ack for this long while behind ⇒ stalled (default 2000 ms) */
  readonly stallAfterMs?: number;
  readonly backoff?: BackoffInput;
  /** nats.js reconnectTimeWait (default 1000 ms) */
  readonly reconnectTimeWaitMs?: number;
  /** the final drain's budget at close (default 1000 ms) */
  readonly closeTimeoutMs?: number;
  readonly log?: Logger;
  readonly onState?: (s: NatsStateChange) => void;
}

export interface NatsStateChange extends NatsLinkEmitted {
  /** the last failure's text (the mismatch detail in 'stream-mismatch') */
  readonly error: string | null;
}

export interface NatsExportStats {
  /** records stored by JetStream (first time) */
  readonly published: number;
  /** records JetStream already had (re-sends after a failure, deduped by Nats-Msg-Id) */
  readonly duplicates: number;
  /** publishes that failed (timeout, no stream, connection) */
  readonly errors: number;
  /** records whose event is not a bus event; skipped (acked) and counted */
  readonly malformed: number;
  /** records appended but not acked by JetStream */
  readonly pending: number;
  readonly inFlight: number;
  readonly lastAckedSeq: number;
}

export interface NatsExport {
  state(): NatsLinkState;
  /** the last failure's text, e.g. the stream mismatch detail */
  error(): string | null;
  stats(): NatsExportStats;
  /** final drain attempt (closeTimeoutMs), then close the connection; idempotent, never rejects */
  close(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// Stream check

/** Does stream subject `pattern` match every subject `filter` can match? (NATS wildcard rules) */
export function subjectCovers(pattern: string, filter: string): boolean {
  const p = pattern.split('.');
  const f = filter.split('.');
  for (let i = 0; i < p.length; i++) {
    const pt = p[i]!;
    if (pt === '>') return f.length > i; // '>' needs at least one more token
    const ft = f[i];
    if (ft === undefined) return false;
    if (pt === '*') { if (ft === '>') return false; continue; }
    if (ft !== pt) return false; // a literal never covers a wildcard
  }
  return p.length === f.length;
}

const MIN = 60_000;

interface StreamWant {
  readonly name: string;
  readonly subjects: string[];
  /** what we publish to: must be covered */
  readonly ours: string;
  readonly duplicateWindowMs: number;
  readonly maxAgeMs: number;
  readonly replicas: number;
}

function streamWant(o: NatsExportOptions): StreamWant {
  const ours = clusterSubjects(o.cluster);
  const maxAgeMs = o.maxAgeMs ?? 0;
  let duplicateWindowMs = o.duplicateWindowMs ?? 60 * MIN;
  // nats-server checkStreamCfg: "duplicates window can not be larger then max age"
  if (maxAgeMs > 0) duplicateWindowMs = Math.min(duplicateWindowMs, maxAgeMs);
  return { name: o.stream, subjects: o.subjects ?? [ours], ours, duplicateWindowMs, maxAgeMs, replicas: o.replicas ?? 1 };
}

const isNotFound = (e: unknown) =>
  (e instanceof Error && e.name === 'StreamNotFoundError') ||
  (e instanceof JetStreamApiError && e.code === 10059);

/** Create the stream, or check the one there. Resolves with a detail line; rejects on a misfit. */
async function ensureStream(jsm: JetStreamManager, want: StreamWant, log: Logger | undefined): Promise<string> {
  let info: StreamInfo | null = null;
  try {
    info = await jsm.streams.info(want.name);
  } catch (e) {
    if (!isNotFound(e)) throw e;
  }
  if (!info) {
    try {
      await jsm.streams.add({
        name: want.name, subjects: want.subjects, retention: 'limits', storage: 'file',
        num_replicas: want.replicas, max_age: nanos(want.maxAgeMs), duplicate_window: nanos(want.duplicateWindowMs),
      } as Parameters<JetStreamManager['streams']['add']>[0]);
    } catch (e) {
      // err_code 10065: "subjects overlap with an existing stream"
      if (e instanceof JetStreamApiError && (e.code === 10065 || /overlap/i.test(e.message))) {
        throw new StreamMismatchError(
          `cannot create stream ${want.name} with subjects [${want.subjects.join(', ')}]: ${e.message}`, { cause: e });
      }
      throw e;
    }
    return `created stream ${want.name} [${want.subjects.join(', ')}]`;
  }
  const have = info.config.subjects ?? [];
  if (!have.some((s) => subjectCovers(s, want.ours))) {
    throw new StreamMismatchError(
      `stream ${want.name} has subjects [${have.join(', ')}], which do not cover '${want.ours}': ` +
      `vigil's events would not be stored. Add '${want.ours}' to the stream or configure another stream name`);
  }
  const dw = (info.config.duplicate_window ?? 0) / 1e6;
  if (dw < want.duplicateWindowMs) {
    log?.warn({ stream: want.name, duplicateWindowMs: dw },
      'stream duplicate_window is shorter than configured: re-sends after a longer outage may be stored twice');
  }
  if (info.config.retention !== 'limits') {
    log?.warn({ stream: want.name, retention: info.config.retention }, 'stream retention is not "limits": events may be removed once consumed');
  }
  return `stream ${want.name} ok`;
}

// ---------------------------------------------------------------------------------------------
// The pipeline

interface Counters {
  published: number;
  duplicates: number;
  errors: number;
  malformed: number;
  inFlight: number;
}

interface Slot {
  readonly seq: number;
  /** performance.now() when published: the ack deadline runs from here */
  readonly at: number;
  done: boolean;
}

const isBusEvent = (e: unknown): e is BusEvent => {
  if (typeof e !== 'object' || e === null) return false;
  const r = e as Record<string, unknown>;
  return typeof r.id === 'string' && typeof r.node === 'string' && typeof r.kind === 'string' &&
    typeof r.name === 'string' && typeof r.type === 'string' && typeof r.time === 'string' &&
    typeof r.correlation === 'string';
};

/** A PubAck as JetStream sends it (jsapi_types.ts PubAck / ApiError). */
interface PubAckJson {
  stream?: string;
  seq?: number;
  duplicate?: boolean;
  error?: { code?: number; err_code?: number; description?: string };
}

const PROGRESS_EVERY_MS = 50;
/**
 * How long the pipeline must stay caught up before it reports it. Each report is a pair of
 * statechart transitions (draining → idle, and back to draining at the next event, re-arming the
 * stall timer), some 40 µs each while they are not hot in the JIT: with a burst of events every
 * millisecond (bench/nats.ts sends so) that pair per burst was about 8 % of a core, at 1,000 and at
 * 10,000 events/s alike. A steady stream now stays in `draining` (progress keeps its stall timer
 * armed) and `idle` means "nothing to send for this long".
 */
const CAUGHT_UP_AFTER_MS = 100;
const decoder = new TextDecoder();
const CR_LF = /[\r\n]/;

/**
 * The NATS headers of one record: Nats-Msg-Id and the CloudEvents `ce-*` set, put straight into
 * nats.js' header map. `headers().set()` validates the name of every header and scans the keys
 * already set, twice, on each call: 4.5 µs a record for these nine, against 2 µs this way. Our
 * names are constants; the values are checked here as nats.js checks them (no CR or LF, which
 * would end the header block on the wire; trimmed), and a value that fails is not a throw from
 * inside the publishing loop (it was: an uncaught exception) but null: the record is skipped as
 * malformed and counted, never sent half-built.
 */
function natsHeaders(id: string, ce: Record<string, string>): MsgHdrsImpl | null {
  const h = new MsgHdrsImpl();
  if (CR_LF.test(id)) return null;
  h.headers.set('Nats-Msg-Id', [id.trim()]);
  for (const k in ce) {
    const v = ce[k]!;
    if (CR_LF.test(v)) return null;
    h.headers.set(k, [v.trim()]);
  }
  return h;
}

/**
 * Publishes the outbox in order with a bounded window; reports to the machine through `report`.
 * `pause()` abandons the window (late acks are ignored); `resume()` restarts from the cursor.
 *
 * Why not `js.publish`: it is `nc.request` per message, which costs a timer, a mux entry, two
 * Error objects with stack traces (nats.js RequestOne builds a TimeoutError up front and a
 * "cancelled" RequestError on every success) and an await per record; at 10,000 events/s that
 * and one socket write per record were most of the exporter's CPU (bench/nats.ts). Here it is what
 * js.publish does on the wire — PUB with headers (Nats-Msg-Id, so JetStream's dedupe is
 * unchanged) and a reply subject — with the replies on ONE wildcard subscription
 * (`<inbox>.<gen>.<seq>`), ONE timer for the oldest unacked publish, and records published in
 * batches: everything the journal yields in one turn goes out before nats.js' flush microtask, so
 * it is one socket write. The body is the event's JSON as the journal stored it (JournalEntry.json,
 * no second JSON.stringify), and the acks of one socket read are applied together (one cursor
 * move and one timer per read, not per ack).
 */
class Pump {
  private gen = 0;
  private paused = false;
  private stopped = false;
  private window: Slot[] = [];
  private readonly bySeq = new Map<number, Slot>();
  /** the last seq read from the journal (published, or queued to be) */
  private sentSeq: number;
  /** read, not yet published: flushed in one go on the next macrotask */
  private queue: JournalEntry[] = [];
  private flushScheduled = false;
  /** an advance() is queued for the end of the current burst of acks */
  private advanceScheduled = false;
  private abort: AbortController | null = null;
  /** wakes the reader when the window has room again (or the generation ends) */
  private room: (() => void) | null = null;
  private behind = true;
  /** the caught-up report, due CAUGHT_UP_AFTER_MS after the pipeline last caught up */
  private caughtUpTimer: NodeJS.Timeout | null = null;
  private lastProgress = 0;
  private timer: NodeJS.Timeout | null = null;
  private readonly inbox: string;
  private readonly sub: Subscription;

  constructor(
    private readonly journal: Journal,
    private readonly nc: NatsConnection,
    private readonly cluster: string,
    private readonly maxInFlight: number,
    private readonly ackTimeoutMs: number,
    private readonly c: Counters,
    private readonly report: (e: NatsLinkEvent) => void,
    private readonly log: Logger | undefined,
  ) {
    this.sentSeq = journal.cursor(CURSOR);
    this.inbox = createInbox();
    this.sub = nc.subscribe(`${this.inbox}.*.*`, { callback: (err, m) => { if (!err) this.onReply(m); } });
    void this.readLoop(this.gen);
  }

  get pending(): number {
    return Math.max(0, this.journal.lastSeq - this.journal.cursor(CURSOR));
  }

  pause(): void {
    this.abandon();
    this.paused = true;
  }

  resume(): void {
    if (this.stopped) return;
    this.abandon();
    this.paused = false;
    this.behind = true; // the machine is draining: it waits for caughtUp
    void this.readLoop(this.gen);
  }

  stop(): void {
    this.pause();
    this.stopped = true;
    this.sub.unsubscribe();
  }

  /** drop the window, the queue and the reader; replies to abandoned publishes are ignored by generation */
  private abandon(): void {
    this.gen++;
    this.c.inFlight -= this.window.length;
    this.window = [];
    this.bySeq.clear();
    this.queue = [];
    this.sentSeq = this.journal.cursor(CURSOR);
    this.abort?.abort();
    this.abort = null;
    this.wakeReader();
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.caughtUpTimer) clearTimeout(this.caughtUpTimer);
    this.caughtUpTimer = null;
  }

  private wakeReader(): void {
    const r = this.room;
    this.room = null;
    r?.();
  }

  /**
   * One following read of the journal per generation, from the cursor on. A journal whose read
   * ends anyway (one without `follow`) is read again after its next append.
   */
  private async readLoop(gen: number): Promise<void> {
    if (this.paused || this.stopped) return;
    const ac = new AbortController();
    this.abort = ac;
    this.settle(); // nothing to send: caught up at once
    try {
      while (this.gen === gen) {
        for await (const entry of this.journal.read(this.sentSeq, { follow: true, signal: ac.signal })) {
          if (this.gen !== gen) return;
          if (entry.seq <= this.sentSeq) continue;
          this.sentSeq = entry.seq;
          this.queue.push(entry);
          if (!this.flushScheduled) {
            this.flushScheduled = true;
            setImmediate(() => this.flush(gen));
          }
          // the window counts what is queued too: never more than maxInFlight unacked
          while (this.window.length + this.queue.length >= this.maxInFlight && this.gen === gen) {
            await new Promise<void>((r) => { this.room = r; });
          }
          if (this.gen !== gen) return;
        }
        if (this.gen !== gen) return;
        this.settle();
        if (this.sentSeq >= this.journal.lastSeq) {
          await new Promise<void>((r) => {
            const off = this.journal.onAppend(() => { off(); ac.signal.removeEventListener('abort', done); r(); });
            const done = () => { off(); r(); };
            ac.signal.addEventListener('abort', done, { once: true });
          });
        }
      }
    } catch (err) {
      // a journal read failure: counted, retried like a failed publish
      if (this.gen === gen) this.fail('error', `journal read: ${err instanceof Error ? err.message : String(err)}`, err);
    }
  }

  /** publish everything queued, in order (one socket write: nats.js flushes on a microtask) */
  private flush(gen: number): void {
    this.flushScheduled = false;
    if (this.gen !== gen) return;
    const batch = this.queue;
    this.queue = [];
    const now = performance.now();
    for (const entry of batch) {
      const slot: Slot = { seq: entry.seq, at: now, done: false };
      this.window.push(slot);
      this.c.inFlight++;
      const e = entry.event;
      const h = isBusEvent(e) ? natsHeaders(entry.id, cloudEventHeaders(e, this.cluster)) : null;
      if (!h) {
        this.c.malformed++;
        this.log?.warn({ seq: entry.seq, id: entry.id }, 'journal record is not a bus event (or has a header value with CR/LF); skipped');
        slot.done = true;
        continue;
      }
      this.bySeq.set(entry.seq, slot);
      try {
        this.nc.publish(subjectFor(e as BusEvent, this.cluster), entry.json ?? JSON.stringify(e), { headers: h, reply: `${this.inbox}.${gen}.${entry.seq}` });
      } catch (err) {
        // closed or draining connection, bad subject: the pipeline stops until the machine retries
        this.fail('error', err instanceof Error ? err.message : String(err), err);
        return;
      }
    }
    if (batch.length && !this.behind) {
      this.behind = true;
      this.report({ type: 'outbox.behind', pending: this.pending });
    }
    this.armTimer();
    this.advance();
  }

  /** a reply on `<inbox>.<gen>.<seq>`: a PubAck, a JetStream error, or a no-responders status */
  private onReply(m: Msg): void {
    const dot = m.subject.lastIndexOf('.');
    const gen = Number(m.subject.slice(this.inbox.length + 1, dot));
    if (gen !== this.gen) return; // an abandoned publish
    const slot = this.bySeq.get(Number(m.subject.slice(dot + 1)));
    if (!slot || slot.done) return;
    // no stream listens on the subject (wiped, deleted): the server answers 503 with no body
    if (m.data.length === 0 && m.headers?.code === 503) return this.fail('no-stream', 'no responders: no stream for the subject');
    let ack: PubAckJson | null = null;
    try {
      ack = JSON.parse(decoder.decode(m.data)) as PubAckJson;
    } catch {
      /* below */
    }
    if (!ack || ack.error || !ack.stream) {
      const d = ack?.error ? `${ack.error.description ?? 'error'} (${ack.error.err_code ?? ack.error.code})` : 'invalid ack response';
      return this.fail('error', `publish of seq ${slot.seq}: ${d}`);
    }
    if (ack.duplicate) this.c.duplicates++;
    else this.c.published++;
    slot.done = true;
    this.bySeq.delete(slot.seq);
    // nats.js delivers every ack of one socket read synchronously: apply them once, after the read
    if (slot === this.window[0] && !this.advanceScheduled) {
      this.advanceScheduled = true;
      queueMicrotask(() => {
        this.advanceScheduled = false;
        this.advance();
      });
    }
  }

  /** apply acks in order: the cursor moves over the contiguous acked prefix only */
  private advance(): void {
    let n = 0;
    while (n < this.window.length && this.window[n]!.done) n++;
    if (n === 0) return;
    const last = this.window[n - 1]!.seq;
    this.window.splice(0, n);
    this.c.inFlight -= n;
    this.journal.ack(CURSOR, last);
    this.armTimer();
    this.wakeReader();
    this.settle();
  }

  /** one timer for the whole window: the oldest unacked publish's deadline */
  private armTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const oldest = this.window[0];
    if (!oldest) return;
    const gen = this.gen;
    this.timer = setTimeout(() => {
      this.timer = null;
      if (this.gen !== gen || this.window[0] !== oldest) return;
      if (oldest.done) return this.advance();
      this.fail('timeout', `no PubAck for seq ${oldest.seq} within ${this.ackTimeoutMs} ms`);
    }, Math.max(1, oldest.at + this.ackTimeoutMs - performance.now()));
  }

  private caughtUp(): boolean {
    return this.window.length === 0 && this.queue.length === 0 && this.sentSeq >= this.journal.lastSeq;
  }

  /** report caught-up (once it has lasted CAUGHT_UP_AFTER_MS), or (throttled) progress */
  private settle(): void {
    if (this.paused || this.stopped) return;
    if (this.caughtUp()) {
      if (this.behind && !this.caughtUpTimer) {
        const gen = this.gen;
        this.caughtUpTimer = setTimeout(() => {
          this.caughtUpTimer = null;
          // still caught up (more may have come and gone meanwhile: that is fine); else a later settle re-arms
          if (this.gen !== gen || this.paused || this.stopped || !this.behind || !this.caughtUp()) return;
          this.behind = false;
          this.report({ type: 'outbox.caughtUp' });
        }, CAUGHT_UP_AFTER_MS);
      }
      return;
    }
    const now = Date.now();
    if (now - this.lastProgress >= PROGRESS_EVERY_MS) {
      this.lastProgress = now;
      this.report({ type: 'outbox.progress', pending: this.pending });
    }
  }

  private fail(reason: PublishFailure, cause: string, err?: unknown): void {
    if (this.paused || this.stopped) return;
    this.c.errors++;
    this.log?.debug({ err, reason, cause }, 'publish failed; pipeline stopped until retry');
    this.pause();
    this.report({ type: 'publish.failed', reason, cause: `${reason}: ${cause}` });
  }

  /** resolves once caught up (true) or when `ms` pass / the pipeline fails (false) */
  async drainFor(ms: number): Promise<boolean> {
    const idle = () => !this.paused && this.caughtUp();
    const deadline = Date.now() + ms;
    while (Date.now() < deadline && !this.paused) {
      if (!this.behind && idle()) return true;
      await new Promise((r) => setTimeout(r, 5));
    }
    return idle();
  }
}

// ---------------------------------------------------------------------------------------------
// The export

/** credentials for a connection: a creds file or an nkey seed file (shared with adapters/nats/history.ts) */
export async function authenticator(o: Pick<NatsExportOptions, 'credsFile' | 'nkeyFile'>): Promise<Authenticator | undefined> {
  if (o.credsFile) return credsAuthenticator(await readFile(o.credsFile));
  if (o.nkeyFile) return nkeyAuthenticator(new TextEncoder().encode((await readFile(o.nkeyFile, 'utf8')).trim()));
  return undefined;
}

export function startNatsExport(journal: Journal, opts: NatsExportOptions): NatsExport {
  const log = opts.log;
  const want = streamWant(opts);
  const counters: Counters = { published: 0, duplicates: 0, errors: 0, malformed: 0, inFlight: 0 };
  const maxInFlight = Math.max(1, opts.maxInFlight ?? 64);
  const ackTimeoutMs = opts.ackTimeoutMs ?? 2000;
  const closeTimeoutMs = opts.closeTimeoutMs ?? 1000;

  let nc: NatsConnection | null = null;
  let jsm: JetStreamManager | null = null;
  let linkUp = false;
  let closing = false;
  const linkListeners = new Set<(e: NatsLinkEvent) => void>();
  const setLink = (up: boolean, cause = '') => {
    if (up === linkUp) return;
    linkUp = up;
    const e: NatsLinkEvent = up ? { type: 'link.up' } : { type: 'link.lost', cause };
    for (const fn of linkListeners) fn(e);
  };

  // One nats.js connection for the export's life: nats.js reconnects forever by itself.
  async function open(): Promise<void> {
    let delay = 500;
    while (!closing) {
      try {
        const o: ConnectionOptions = {
          servers: opts.servers,
          name: `vigil-export-${opts.cluster}`,
          maxReconnectAttempts: -1,
          waitOnFirstConnect: true,
          reconnectTimeWait: opts.reconnectTimeWaitMs ?? 1000,
        };
        const auth = await authenticator(opts);
        if (auth) o.authenticator = auth;
        if (opts.tls) {
          o.tls = {
            ...(opts.tls.ca ? { caFile: opts.tls.ca } : {}),
            ...(opts.tls.cert ? { certFile: opts.tls.cert } : {}),
            ...(opts.tls.key ? { keyFile: opts.tls.key } : {}),
          };
        }
        nc = await connect(o);
        break;
      } catch (err) {
        // bad credentials file, TLS files, auth refused: retried, visible in the log
        log?.error({ err }, 'NATS connection failed');
        await new Promise((r) => setTimeout(r, delay));
        delay = Math.min(delay * 2, 30_000);
      }
    }
    const conn = nc;
    if (!conn) return;
    if (closing) { await conn.close().catch(() => {}); return; }
    jsm = await jetstreamManager(conn, { checkAPI: false, timeout: ackTimeoutMs });
    setLink(true);
    for await (const s of conn.status()) {
      if (s.type === 'disconnect') setLink(false, `disconnected from ${s.server}`);
      else if (s.type === 'reconnect') setLink(true);
      else if (s.type === 'close') break;
    }
    setLink(false, 'connection closed');
  }

  let pump: Pump | null = null;
  const logic = natsLink.provide({
    actors: {
      watchLink: fromCallback<EventObject>(({ sendBack }) => {
        const fn = (e: NatsLinkEvent) => sendBack(e);
        linkListeners.add(fn);
        if (linkUp) sendBack({ type: 'link.up' });
        return () => { linkListeners.delete(fn); };
      }),
      connect: fromPromise<ConnectOutput>(async () => {
        if (!jsm) throw new Error('not connected');
        const detail = await ensureStream(jsm, want, log);
        return { detail, pending: Math.max(0, journal.lastSeq - journal.cursor(CURSOR)) };
      }),
      pump: fromCallback<PumpCommand>(({ sendBack, receive }) => {
        const conn = nc;
        if (!conn || !jsm) {
          sendBack({ type: 'publish.failed', reason: 'error', cause: 'not connected' } satisfies NatsLinkEvent);
          return;
        }
        const p = new Pump(journal, conn, opts.cluster, maxInFlight, ackTimeoutMs, counters, sendBack, log);
        pump = p;
        receive((c) => (c.type === 'pause' ? p.pause() : p.resume()));
        return () => { p.stop(); if (pump === p) pump = null; };
      }),
      finalDrain: fromPromise<void, FinalDrainInput>(async ({ input }) => {
        closing = true;
        const conn = nc;
        if (input.linkUp && input.connected && conn) {
          const p = new Pump(journal, conn, opts.cluster, maxInFlight, Math.min(ackTimeoutMs, closeTimeoutMs), counters, () => {}, log);
          const done = await p.drainFor(closeTimeoutMs);
          p.stop();
          if (!done) log?.warn({ pending: p.pending }, 'NATS export closed with events not yet in JetStream (they stay in the journal)');
        }
        if (conn) await conn.close().catch(() => {});
      }),
    },
  });

  const actor = createActor(logic, {
    input: { backoff: opts.backoff, stallAfterMs: opts.stallAfterMs ?? 2000, random: Math.random },
  });
  actor.on('nats.state', (e) => {
    const error = actor.getSnapshot().context.error;
    const lvl = e.to === 'stream-mismatch' ? 'error' : e.to === 'stalled' || e.to === 'disconnected' ? 'warn' : 'info';
    log?.[lvl]({ from: e.from, to: e.to, cause: e.cause, pending: e.pending, ...(error ? { error } : {}) }, `NATS export ${e.to}`);
    try {
      opts.onState?.({ ...e, error });
    } catch (err) {
      log?.error({ err }, 'onState listener threw');
    }
  });
  actor.subscribe({ error: (err) => log?.error({ err }, 'NATS export machine failed (bug)') });
  actor.start();
  void open().catch((err: unknown) => log?.error({ err }, 'NATS connection loop failed'));

  let closed: Promise<void> | null = null;
  return {
    state: () => actor.getSnapshot().context.state,
    error: () => actor.getSnapshot().context.error,
    stats: () => ({
      ...counters,
      pending: Math.max(0, journal.lastSeq - journal.cursor(CURSOR)),
      lastAckedSeq: journal.cursor(CURSOR),
    }),
    close() {
      closed ??= (async () => {
        closing = true;
        actor.send({ type: 'close' });
        await toPromise(actor).catch(() => {});
        if (nc && !nc.isClosed()) await nc.close().catch(() => {});
      })();
      return closed;
    },
  };
}
