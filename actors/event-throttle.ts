// Rate limit for per-packet informational events (issue #10: an advert flood amplified into durable
// events). A MASTER hearing lower-priority adverts reports each one (keepalived logs every one and
// runs notify_master_rx_lower_pri); a foreign router flooding 4,000 adverts/s made that 4,000 events/s
// in the journal and on NATS. Per key (here: event type and sender):
//
//   - the first event is published at once, so a genuine one is never delayed;
//   - the ones that follow within `intervalMs` are folded: counted, the latest one kept;
//   - when the interval ends, the latest folded one is published with `suppressed` = how many were
//     folded (it included), and a new interval starts; a key quiet for a whole interval starts over.
//
// Every event is thus either published on its own or counted in exactly one summary's `suppressed`:
// events seen = events published with suppressed 0 + the sum of `suppressed`.
//
// So a key yields at most one event per interval after its first, and every folded event is
// accounted for within one interval (no trailing count waits for a next packet that may never come,
// as the 10 s drop counter in actors/vrrp.ts does). Keys are bounded: beyond `maxKeys` senders
// tracked at once (a flood with spoofed sources), new ones share one overflow key, whose events name
// the sender of the event they carry.
//
// Time comes from the clock given (the VRRP actor's: a SimulatedClock in tests), never from globals.

export interface ThrottleClock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(id: unknown): void;
}

export interface ThrottleOptions {
  /** after a key's first event, at most one event per this many ms (default 1000) */
  readonly intervalMs?: number;
  /** keys tracked apart; beyond, new keys share the overflow key (default 8) */
  readonly maxKeys?: number;
}

/** 1 s: keepalived's default advert_int (see the VRRP actor for why) */
export const THROTTLE_DEFAULTS = { intervalMs: 1000, maxKeys: 8 } as const;

interface Slot<T> {
  /** end of the current interval */
  until: number;
  /** events folded in it, and the latest of them */
  suppressed: number;
  last: T | undefined;
  timer: unknown;
}

export class EventThrottle<T> {
  /** events folded into a later one, by the first part of their key (`type|sender` → type) */
  readonly suppressedByKind = new Map<string, number>();
  private readonly slots = new Map<string, Slot<T>>();
  private readonly intervalMs: number;
  private readonly maxKeys: number;

  constructor(
    private readonly clock: ThrottleClock,
    /** publish one event; `suppressed` of its kind were folded into it (0: published on its own) */
    private readonly emit: (data: T, suppressed: number) => void,
    opts: ThrottleOptions = {},
  ) {
    this.intervalMs = opts.intervalMs ?? THROTTLE_DEFAULTS.intervalMs;
    this.maxKeys = opts.maxKeys ?? THROTTLE_DEFAULTS.maxKeys;
  }

  /** An event of `kind` from `sender`: published now, or folded into the next one of its key. */
  offer(kind: string, sender: string, data: T): void {
    const now = this.clock.now();
    const key = this.keyFor(kind, sender, now);
    const slot = this.slots.get(key);
    if (!slot || (now >= slot.until && slot.suppressed === 0)) {
      this.slots.set(key, { until: now + this.intervalMs, suppressed: 0, last: undefined, timer: undefined });
      this.emit(data, 0);
      return;
    }
    slot.suppressed++;
    slot.last = data;
    this.suppressedByKind.set(kind, (this.suppressedByKind.get(kind) ?? 0) + 1);
    slot.timer ??= this.clock.setTimeout(() => this.due(key), Math.max(0, slot.until - now));
  }

  /**
   * Publish every pending summary now and start every key over: before a state change (a summary
   * of what a MASTER heard must not follow its step down) and at shutdown (no count is lost).
   */
  flush(): void {
    const pending = [...this.slots.values()];
    this.slots.clear();
    for (const s of pending) {
      if (s.timer !== undefined) this.clock.clearTimeout(s.timer);
      if (s.suppressed > 0) this.emit(s.last as T, s.suppressed);
    }
  }

  /** total folded, all kinds */
  get suppressed(): number {
    let n = 0;
    for (const v of this.suppressedByKind.values()) n += v;
    return n;
  }

  private due(key: string): void {
    const slot = this.slots.get(key);
    if (!slot) return;
    slot.timer = undefined;
    if (slot.suppressed === 0) return;
    const { last, suppressed } = slot;
    // a new interval starts with the summary: what comes in it is folded into the next one
    slot.until = this.clock.now() + this.intervalMs;
    slot.suppressed = 0;
    slot.last = undefined;
    this.emit(last as T, suppressed);
  }

  /** the sender's own key while there is room (quiet keys are forgotten first), else the overflow key */
  private keyFor(kind: string, sender: string, now: number): string {
    const key = `${kind}|${sender}`;
    if (this.slots.has(key) || this.slots.size < this.maxKeys) return key;
    for (const [k, s] of this.slots) if (now >= s.until && s.suppressed === 0) this.slots.delete(k);
    return this.slots.size < this.maxKeys ? key : `${kind}|*`;
  }
}
