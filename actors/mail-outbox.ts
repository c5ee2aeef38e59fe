// The notifier's mail side: every mail owed is an outbox entry (adapters/mail/outbox.ts) until an
// SMTP server accepts it; the delivery loop is machines/mail-outbox.machine.ts.
//
// Guarantees:
// - Durable: an entry is stored (fsynced) as it is owed, keyed by the id of the event it tells of,
//   and removed only once a server accepted it (or refused it for good). After a crash or a restart
//   every entry left is sent. A crash between the server's acceptance and the removal sends that
//   mail once more after the restart: delivery is at least once, and the Message-ID (made from the
//   event id) is the same both times, so a duplicate is recognisable.
// - In order: one mail at a time, oldest first; while the server is down the head is retried with
//   backoff (1 s doubling to 5 min) and the rest wait behind it.
// - Burst control: more than `limit` mails about one thing (an instance, a group, a virtual server)
//   within `windowMs` of the first: the rest are held (stored, marked held) and sent as one digest
//   mail when the window ends; the digest replaces them. Held entries found at start (the window
//   ended while vigil was down) become a digest at once.
// - Bounded: a mail older than `maxAgeMs` (default one day) is given up, reported, not kept for ever.
// Every attempt is reported through `publish` (notify.mail-sent / notify.mail-failed).
import { createActor, fromPromise, type Actor } from 'xstate';
import type { MailMessage, MailTransport, OutboxEntry, OutboxStore } from '../adapters/mail/types.js';
import { mailOutbox, type DeliverOutput, type MailOutboxEmitted } from '../machines/mail-outbox.machine.js';
import type { BackoffInput } from '../machines/nats-link.machine.js';
import { Ulid } from './bus.js';
import type { Clock } from './clock.js';
import type { NotifyMailFailed, NotifyMailSent } from './event-types.js';
import type { Logger } from './log.js';

export interface BurstOptions {
  /** mails about one thing passed through per window (default 10) */
  readonly limit?: number;
  /** the window, from the first mail (default 60 s) */
  readonly windowMs?: number;
}

export interface MailOutboxOptions {
  readonly store: OutboxStore;
  /** the transport now (it changes when a reload changes the SMTP settings); undefined: no server configured */
  readonly transport: () => MailTransport | undefined;
  readonly log: Logger;
  /** one event per attempt; `entry` is the mail it concerns */
  readonly publish: (entry: OutboxEntry, e: { type: 'notify.mail-sent'; data: NotifyMailSent } | { type: 'notify.mail-failed'; data: NotifyMailFailed }) => void;
  readonly burst?: BurstOptions;
  readonly backoff?: BackoffInput;
  /** give a mail up after this long undelivered (default 24 h) */
  readonly maxAgeMs?: number;
  /** at close, how long to go on trying what is owed (default 3 s) */
  readonly finalDrainMs?: number;
  readonly now?: () => number;
  /** XState clock for the backoff (a SimulatedClock in tests) */
  readonly clock?: Clock;
}

export interface MailOutboxStats {
  /** owed and queued (digests included) */
  readonly pending: number;
  /** held by burst control, waiting for their window's digest */
  readonly held: number;
  readonly delivered: number;
  /** given up: refused for good, or too old */
  readonly refused: number;
  readonly failedAttempts: number;
  /** mails folded into digests */
  readonly coalesced: number;
  /** digests made */
  readonly digests: number;
  /** the store could not write or remove an entry (it stays in memory) */
  readonly storeErrors: number;
  readonly state: string;
}

interface Window {
  readonly start: number;
  passed: number;
  readonly held: OutboxEntry[];
  timer?: NodeJS.Timeout;
}

const firstLine = (text: string) => text.split('\n', 1)[0] ?? '';

export class MailOutbox {
  private readonly queue: OutboxEntry[] = [];
  /** ids queued or held: an event's mail is owed once */
  private readonly known = new Set<string>();
  /** attempts made per entry (reported with each outcome) */
  private readonly attempts = new Map<string, number>();
  /** store writes and removals not finished yet (close waits for them) */
  private readonly storeOps = new Set<Promise<void>>();
  private readonly windows = new Map<string, Window>();
  private readonly ulid = new Ulid();
  private actor: Actor<typeof mailOutbox> | undefined;
  private inFlight: Promise<unknown> | undefined;
  private closing: Promise<void> | undefined;
  private readonly now: () => number;
  private readonly limit: number;
  private readonly windowMs: number;
  private readonly maxAgeMs: number;
  private readonly counts = { delivered: 0, refused: 0, failedAttempts: 0, coalesced: 0, digests: 0, storeErrors: 0 };

  constructor(private readonly opts: MailOutboxOptions) {
    this.now = opts.now ?? Date.now;
    this.limit = opts.burst?.limit ?? 10;
    this.windowMs = opts.burst?.windowMs ?? 60_000;
    this.maxAgeMs = opts.maxAgeMs ?? 86_400_000;
  }

  /** Load what is owed from the store and start delivering. */
  async open(): Promise<void> {
    const { log, store } = this.opts;
    const { entries, skipped } = await store.load();
    if (skipped) log.warn(`notify outbox ${store.where}: ${skipped} unreadable entr${skipped === 1 ? 'y' : 'ies'} skipped`);
    // a digest written just before a crash may still have the entries it replaces next to it
    const covered = new Set(entries.flatMap((e) => e.covers ?? []));
    const held = new Map<string, OutboxEntry[]>();
    for (const e of entries) {
      if (covered.has(e.id)) { this.storeOp(store.remove(e.id)); continue; }
      this.known.add(e.id);
      if (e.held) held.set(e.key, [...(held.get(e.key) ?? []), e]);
      else this.queue.push(e);
    }
    // their window ended while vigil was down
    for (const [key, list] of held) this.coalesce(key, list);
    if (this.queue.length) log.info(`notify outbox ${store.where}: ${this.queue.length} mail(s) still owed from before, sending`);
    const actor = createActor(
      mailOutbox.provide({
        actors: {
          deliver: fromPromise<DeliverOutput>(() => this.track(this.deliver())),
          finalDrain: fromPromise<void>(() => this.finalDrain()),
        },
      }),
      {
        input: { pending: this.queue.length, random: Math.random, ...(this.opts.backoff ? { backoff: this.opts.backoff } : {}) },
        ...(this.opts.clock ? { clock: this.opts.clock } : {}),
      },
    );
    actor.on('mail.link', (e: MailOutboxEmitted) => {
      if (e.to === 'retry-wait') log.warn({ pending: e.pending, attempt: e.attempt, error: e.error }, `SMTP delivery failed (${e.error}); ${e.pending} mail(s) owed, retrying with backoff`);
      else if (e.from === 'retry-wait' && e.to === 'sending') log.info({ pending: e.pending, attempt: e.attempt }, `SMTP: retrying (attempt ${e.attempt + 1})`);
    });
    actor.subscribe({ error: (err) => log.error({ err }, 'notify mail outbox: machine error') });
    this.actor = actor;
    actor.start();
  }

  /** Owe one mail about `key` (burst control may hold it for a digest). Never throws, never waits. */
  add(key: string, event: { id: string; correlation: string }, message: MailMessage): void {
    if (this.closing || this.known.has(event.id)) return;
    const entry: OutboxEntry = { id: event.id, key, event: event.id, correlation: event.correlation, createdAt: this.now(), message };
    this.known.add(entry.id);
    const now = this.now();
    let w = this.windows.get(key);
    if (!w || now >= w.start + this.windowMs) {
      // the old window's digest, if its timer has not fired yet
      if (w) this.flushWindow(key, w);
      w = { start: now, passed: 0, held: [] };
      this.windows.set(key, w);
    }
    if (w.passed < this.limit) {
      w.passed++;
      this.storeOp(this.opts.store.put(entry));
      this.enqueue(entry);
      return;
    }
    const heldEntry: OutboxEntry = { ...entry, held: true };
    w.held.push(heldEntry);
    this.storeOp(this.opts.store.put(heldEntry));
    if (!w.timer) {
      const win = w;
      w.timer = setTimeout(() => this.flushWindow(key, win), Math.max(0, w.start + this.windowMs - now));
      w.timer.unref?.();
    }
  }

  /** the SMTP settings changed: try the head again now rather than after the backoff */
  retryNow(): void {
    this.actor?.send({ type: 'retry' });
  }

  stats(): MailOutboxStats {
    let held = 0;
    for (const w of this.windows.values()) held += w.held.length;
    return { pending: this.queue.length, held, ...this.counts, state: this.actor?.getSnapshot().context.state ?? 'not started' };
  }

  /** Fold held mails into digests, try what is owed for `finalDrainMs`, stop. What is left stays stored. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      for (const [key, w] of this.windows) this.flushWindow(key, w);
      const actor = this.actor;
      if (!actor) return;
      await new Promise<void>((resolve) => {
        actor.subscribe({ complete: () => resolve(), error: () => resolve() });
        actor.send({ type: 'close' });
      });
      // what is on disk is what the next start finds: let it settle
      await Promise.all([...this.storeOps]);
    })();
    return this.closing;
  }

  private enqueue(entry: OutboxEntry): void {
    this.queue.push(entry);
    this.actor?.send({ type: 'outbox.added', pending: this.queue.length });
  }

  private flushWindow(key: string, w: Window): void {
    if (w.timer) clearTimeout(w.timer);
    w.timer = undefined;
    if (this.windows.get(key) === w) this.windows.delete(key);
    if (w.held.length) this.coalesce(key, w.held.splice(0));
  }

  /** One digest mail for `held`: stored first, then the held entries it replaces are removed. */
  private coalesce(key: string, held: OutboxEntry[]): void {
    if (!held.length) return;
    const first = held[0]!;
    const last = held.at(-1)!;
    const minutes = Math.max(1, Math.round((last.createdAt - first.createdAt) / 60_000));
    const lines = [
      `=> ${held.length} notifications about ${key} within ${minutes} min, coalesced into this mail (burst control); the latest says: <=`,
      firstLine(last.message.text),
      '',
      ...held.flatMap((h) => [`${h.message.date}  ${h.message.subject}`, `    ${firstLine(h.message.text)}`, `    vigil event ${h.event}`]),
    ];
    const message: MailMessage = {
      ...last.message,
      messageId: first.message.messageId.replace(/^</, '<digest.'),
      subject: `${last.message.subject} (digest of ${held.length})`,
      text: lines.join('\n'),
      headers: { ...last.message.headers, 'X-Vigil-Digest': String(held.length) },
    };
    const digest: OutboxEntry = {
      id: this.ulid.next(this.now()), key, event: first.event, ...(first.correlation ? { correlation: first.correlation } : {}),
      createdAt: first.createdAt, message, covers: held.map((h) => h.id),
    };
    this.known.add(digest.id);
    this.counts.coalesced += held.length;
    this.counts.digests++;
    const { store } = this.opts;
    // ordered by the store: the digest is durable before the entries it replaces disappear
    this.storeOp(store.put(digest));
    for (const h of held) {
      this.known.delete(h.id);
      this.storeOp(store.remove(h.id));
    }
    this.enqueue(digest);
  }

  private track<T>(p: Promise<T>): Promise<T> {
    this.inFlight = p;
    return p;
  }

  /** the delivery loop's step: the mail at the head */
  private deliver(): Promise<DeliverOutput> {
    const entry = this.queue[0];
    return entry ? this.send(entry) : Promise.resolve({ outcome: 'empty', remaining: 0 });
  }

  /** One attempt at `entry`, its outcome recorded and reported. */
  private async send(entry: OutboxEntry, signal?: AbortSignal): Promise<DeliverOutput> {
    const { log, publish } = this.opts;
    const attempt = (this.attempts.get(entry.id) ?? 0) + 1;
    this.attempts.set(entry.id, attempt);
    const base = { mail: entry.id, event: entry.event, subject: entry.message.subject, attempt };
    const age = this.now() - entry.createdAt;
    if (age > this.maxAgeMs) {
      const error = `undelivered for ${Math.round(age / 60_000)} min; given up`;
      this.drop(entry);
      this.counts.refused++;
      log.error({ mail: entry.id, subject: entry.message.subject }, `notify mail ${entry.id} given up: ${error}`);
      publish(entry, { type: 'notify.mail-failed', data: { ...base, error, permanent: true } });
      return { outcome: 'refused', remaining: this.queue.length, error };
    }
    const transport = this.opts.transport();
    const r = transport
      ? await transport.send(entry.message, signal)
      : ({ ok: false, error: 'no smtp_server or notification_email configured', permanent: false } as const);
    if (r.ok) {
      this.drop(entry);
      this.counts.delivered++;
      publish(entry, {
        type: 'notify.mail-sent',
        data: {
          ...base, to: [...entry.message.to], response: r.response,
          ...(r.rejected.length ? { rejected: [...r.rejected] } : {}),
          ...(entry.covers ? { coalesced: entry.covers.length } : {}),
          delayMs: Math.max(0, this.now() - entry.createdAt),
        },
      });
      return { outcome: 'delivered', remaining: this.queue.length };
    }
    publish(entry, { type: 'notify.mail-failed', data: { ...base, error: r.error, permanent: r.permanent } });
    if (r.permanent) {
      this.drop(entry);
      this.counts.refused++;
      log.error({ mail: entry.id, subject: entry.message.subject, error: r.error }, `notify mail refused by the SMTP server: ${r.error}`);
      return { outcome: 'refused', remaining: this.queue.length, error: r.error };
    }
    // the entry stays stored and at the head: retried after the backoff, also after a restart
    this.counts.failedAttempts++;
    return { outcome: 'failed', remaining: this.queue.length, error: r.error };
  }

  /** the entry left the queue for good: forget it on disk too */
  private drop(entry: OutboxEntry): void {
    const i = this.queue.indexOf(entry);
    if (i >= 0) this.queue.splice(i, 1);
    this.attempts.delete(entry.id);
    this.known.delete(entry.id);
    this.storeOp(this.opts.store.remove(entry.id));
  }

  /** at close: let the attempt in flight finish, then try the rest until one fails or time is up */
  private async finalDrain(): Promise<void> {
    const deadline = this.now() + (this.opts.finalDrainMs ?? 3000);
    await this.inFlight?.catch(() => undefined);
    while (this.queue.length && this.now() < deadline) {
      const out = await this.send(this.queue[0]!, AbortSignal.timeout(Math.max(1, deadline - this.now())));
      if (out.outcome === 'failed') break;
    }
    if (this.queue.length) this.opts.log.warn(`notify outbox ${this.opts.store.where}: ${this.queue.length} mail(s) still owed at stop; they are sent at the next start`);
  }

  private storeOp(p: Promise<void>): void {
    const op = p.catch((err: Error) => {
      this.counts.storeErrors++;
      this.opts.log.error({ err }, `notify outbox ${this.opts.store.where}: ${err.message} (the mail is kept in memory only)`);
    });
    this.storeOps.add(op);
    void op.then(() => this.storeOps.delete(op));
  }
}
