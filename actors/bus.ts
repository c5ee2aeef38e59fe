// The in-process event bus: every domain event of every actor goes through here, to local
// subscribers first, synchronously and with no I/O on the path (VRRP timing never waits on a
// consumer). The durable journal and the NATS export (issue #5) subscribe like anyone else.
import { randomBytes } from 'node:crypto';
import type { EventMap, EventType } from './event-types.js';

/** The envelope every event travels in. Version 1; issue #5 publishes the schema. */
export interface BusEvent<T extends Record<string, unknown> = Record<string, unknown>> {
  readonly v: 1;
  /** ULID: time-ordered and unique; also the NATS Nats-Msg-Id */
  readonly id: string;
  /** ISO 8601 with milliseconds */
  readonly time: string;
  /** router_id of this node */
  readonly node: string;
  /** actor kind: 'vrrp', 'sync-group', 'track', 'daemon', ... */
  readonly kind: string;
  /** actor name: instance, group, tracker */
  readonly name: string;
  /** e.g. 'vrrp.state' */
  readonly type: string;
  /** id of the event that caused this one, when known */
  readonly cause?: string;
  /** id of the first event of the chain this one belongs to */
  readonly correlation: string;
  readonly data: T;
}

export type Subscriber = (e: BusEvent) => void;

const B32 = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/** Monotonic ULIDs (https://github.com/ulid/spec): 48-bit ms time + 80 random bits, incremented within one ms. */
export class Ulid {
  private lastMs = -1;
  private rand = new Uint8Array(10);

  next(ms: number): string {
    if (ms <= this.lastMs) {
      ms = this.lastMs;
      for (let i = 9; i >= 0; i--) {
        this.rand[i] = (this.rand[i]! + 1) & 0xff;
        if (this.rand[i] !== 0) break;
      }
    } else {
      this.lastMs = ms;
      this.rand = new Uint8Array(randomBytes(10));
    }
    let t = '';
    for (let i = 0, x = ms; i < 10; i++, x = Math.floor(x / 32)) t = B32[x % 32]! + t;
    let r = '';
    let bits = 0;
    let acc = 0;
    for (const b of this.rand) {
      acc = (acc << 8) | b;
      bits += 8;
      while (bits >= 5) {
        bits -= 5;
        r += B32[(acc >> bits) & 31];
      }
      acc &= (1 << bits) - 1;
    }
    return t + r;
  }
}

export class Bus {
  private readonly subs = new Set<Subscriber>();
  private readonly ulid = new Ulid();
  /** events delivered to a subscriber that threw (the subscriber's bug, counted, never propagated) */
  subscriberErrors = 0;

  constructor(
    readonly node: string,
    private readonly now: () => number = Date.now,
  ) {}

  subscribe(fn: Subscriber): () => void {
    this.subs.add(fn);
    return () => this.subs.delete(fn);
  }

  /** Deliver one event to every subscriber, synchronously; `type` and `data` are checked against event-types.ts. */
  publish<K extends EventType>(
    kind: string,
    name: string,
    type: K,
    data: EventMap[K],
    link: { cause?: string; correlation?: string } = {},
  ): BusEvent<EventMap[K] & Record<string, unknown>> {
    type T = EventMap[K] & Record<string, unknown>;
    const ms = this.now();
    const id = this.ulid.next(ms);
    const event: BusEvent<T> = {
      v: 1,
      id,
      time: new Date(ms).toISOString(),
      node: this.node,
      kind,
      name,
      type,
      ...(link.cause ? { cause: link.cause } : {}),
      correlation: link.correlation ?? link.cause ?? id,
      data: data as T,
    };
    this.deliver(event);
    return event;
  }

  /**
   * Deliver an event made by another bus of this node (the health-check thread's, actors/lvs-remote.ts),
   * as it is: its id, time and links were given where it happened.
   */
  forward(event: BusEvent): void {
    this.deliver(event);
  }

  private deliver(event: BusEvent): void {
    for (const fn of this.subs) {
      try {
        fn(event);
      } catch {
        this.subscriberErrors++;
      }
    }
  }
}
