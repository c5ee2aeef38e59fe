// Server-sent events for the dashboard: every bus event as it happens, to every connected browser.
//
// The bus delivers synchronously inside the publisher (VRRP's timers among them), so a client
// never makes it wait: a frame is handed to the socket's buffer and that is all. A client whose
// buffer holds more than `maxBufferedBytes` (it reads slower than events come) is disconnected and
// counted; its browser reconnects with Last-Event-ID and gets what it missed from the history
// (the journal), so a drop loses nothing but the slow client's time.
//
// Resume: with a Last-Event-ID, the client is registered (live frames held back) before the
// history's end is read, then given the history after that id up to that end, then the held
// frames; every event arrives once, in order. A history too long to resend (or an id it no longer
// has) gets a `reset` frame instead: the page reloads its state.
import type { BusEvent } from '../bus.js';

/** The part of http.ServerResponse a client writes to. */
export interface SseSink {
  write(chunk: string): boolean;
  end(): void;
  destroy(): void;
  /** bytes written but not yet taken by the socket */
  readonly writableLength: number;
  readonly destroyed: boolean;
  once(event: 'close' | 'drain', fn: () => void): unknown;
}

/** Where a resume reads the events after an id (History, through actors/dashboard/routes.ts). */
export interface SseBacklog {
  /** seq of the last record of the log now */
  end(): number | Promise<number>;
  /** seq of the event with this id, or undefined when the log no longer has it */
  seqOf(id: string): Promise<number | undefined>;
  range(after: number, upto: number): AsyncIterable<{ seq: number; event: BusEvent }>;
}

export interface SseOptions {
  /** a client with more than this waiting in its socket buffer is dropped (default 256 KiB) */
  readonly maxBufferedBytes?: number;
  /** at most this many clients at once (default 16) */
  readonly maxClients?: number;
  /** a resume resends at most this many events, else `reset` (default 5000) */
  readonly maxBacklog?: number;
  /** a comment line this often keeps proxies from closing an idle stream (default 15 s) */
  readonly heartbeatMs?: number;
  /** the browser's reconnection delay (the `retry` field; default 1000 ms) */
  readonly retryMs?: number;
}

/** One SSE frame; JSON has no raw newlines, so `data` is one line. */
export const frame = (event: string, data: unknown, id?: string) => `${id ? `id: ${id}\n` : ''}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;

/** the socket took the buffer, or the client went */
const drained = (res: SseSink) =>
  new Promise<void>((resolve) => {
    res.once('drain', resolve);
    res.once('close', resolve);
  });

class Client {
  /** frames held while the backlog is sent: [id, frame] */
  held: [string | undefined, string][] | undefined;
  heldBytes = 0;

  constructor(
    readonly res: SseSink,
    private readonly hub: SseHub,
  ) {}

  /** hand a frame to the socket, or drop the client whose buffer is full */
  send(f: string, id?: string): void {
    if (this.res.destroyed) return;
    if (this.held) {
      this.held.push([id, f]);
      this.heldBytes += f.length;
      if (this.heldBytes > this.hub.maxBuffered) this.hub.drop(this);
      return;
    }
    this.res.write(f);
    if (this.res.writableLength > this.hub.maxBuffered) this.hub.drop(this);
  }
}

export class SseHub {
  private readonly clients = new Set<Client>();
  private heartbeat: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void) | undefined;
  readonly maxBuffered: number;
  /** clients disconnected for being too slow */
  dropped = 0;
  /** connections served, resumes among them, and resets sent instead of a resume */
  connections = 0;
  resumes = 0;
  resets = 0;

  constructor(
    private readonly subscribe: (fn: (e: BusEvent) => void) => () => void,
    private readonly backlog: SseBacklog | undefined,
    private readonly o: SseOptions = {},
  ) {
    this.maxBuffered = o.maxBufferedBytes ?? 256 * 1024;
  }

  get size(): number {
    return this.clients.size;
  }

  /** true when another client would be one too many */
  full(): boolean {
    return this.clients.size >= (this.o.maxClients ?? 16);
  }

  /** Stream to `res` from now on (after `lastEventId`'s event when given). */
  async connect(res: SseSink, lastEventId?: string): Promise<void> {
    const c = new Client(res, this);
    this.connections++;
    this.clients.add(c);
    res.once('close', () => this.remove(c));
    this.unsubscribe ??= this.subscribe((e) => this.broadcast(frame('bus', e, e.id), e.id));
    this.heartbeat ??= setInterval(() => this.broadcast(': ping\n\n'), this.o.heartbeatMs ?? 15_000).unref();
    res.write(`retry: ${this.o.retryMs ?? 1000}\n: vigil events\n\n`);
    if (!lastEventId || !this.backlog) return;
    c.held = [];
    const end = await this.backlog.end();
    const from = await this.backlog.seqOf(lastEventId);
    let last = lastEventId;
    if (from === undefined || end - from > (this.o.maxBacklog ?? 5000)) {
      this.resets++;
      res.write(frame('reset', { reason: from === undefined ? `event ${lastEventId} is not in the history any more` : `${end - from} events missed: too many to resend` }));
    } else {
      this.resumes++;
      for await (const { event } of this.backlog.range(from, end)) {
        if (res.destroyed) return;
        // paced by the socket: the backlog is bounded, and waits for a slow reader instead of dropping it
        if (!res.write(frame('bus', event, event.id))) await drained(res);
        last = event.id;
      }
    }
    const held = c.held;
    c.held = undefined;
    // a live frame that was also in the backlog (ids grow with time on one node): sent once
    for (const [id, f] of held) if (!id || id > last) c.send(f, id);
  }

  /** a frame for every client (`actor` changes; bus events come through the subscription) */
  broadcast(f: string, id?: string): void {
    for (const c of this.clients) c.send(f, id);
  }

  drop(c: Client): void {
    this.dropped++;
    this.remove(c);
    c.res.destroy();
  }

  private remove(c: Client): void {
    if (!this.clients.delete(c) || this.clients.size) return;
    // nobody listens: no subscription, no timer
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    clearInterval(this.heartbeat);
    this.heartbeat = undefined;
  }

  close(): void {
    for (const c of [...this.clients]) {
      this.remove(c);
      c.res.end();
    }
  }
}
