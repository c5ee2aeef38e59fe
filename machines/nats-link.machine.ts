// The NATS export's connectivity as a statechart. Pure: the connection, the stream check and the
// publishing pipeline are actors the adapter provides (adapters/nats/export.ts); the timers are
// named delays.
//
//   disconnected ──link up──▶ connecting ──stream ok──▶ connected ─┬─ draining  (outbox behind)
//        ▲  (backoff after a failure)   │                          ├─ idle      (caught up)
//        └──────── link lost ───────────┴── stream-mismatch        └─ stalled   (acks stopped)
//   any ──close──▶ closing (one last drain, short) ──▶ closed
//
// Why the link is watched rather than dialled here: nats.js reconnects by itself (maxReconnect-
// Attempts -1) and drops whatever it had buffered when it does (peers.md §5.5), so the machine only
// needs to know "up" or "down"; the durable outbox is the journal, and after every (re)connect the
// pipeline restarts from the journal's cursor, re-sending with the same Nats-Msg-Id so JetStream
// drops what it already stored.
//
// A wedged server (SIGSTOP, overload) keeps the TCP connection open, so nats.js reports nothing:
// `stallAfter` without an ack while behind moves to `stalled`, which pauses the pipeline (in-flight
// publishes are abandoned, memory stays bounded) and retries after a backoff.
import { assign, enqueueActions, fromCallback, fromPromise, sendTo, setup, type EventObject } from 'xstate';

export type NatsLinkState =
  | 'disconnected' | 'connecting' | 'stream-mismatch'
  | 'draining' | 'idle' | 'stalled'
  | 'closing' | 'closed';

export interface BackoffInput {
  /** first retry delay (default 100 ms) */
  readonly initialMs?: number;
  /** cap (default 30 s) */
  readonly maxMs?: number;
  /** 0..1: a retry waits between (1 - jitter) × and 1 × the exponential delay (default 0.2) */
  readonly jitter?: number;
}

export interface NatsLinkInput {
  readonly backoff?: BackoffInput;
  /** no ack for this long while behind ⇒ stalled (default 2000 ms) */
  readonly stallAfterMs?: number;
  /** how often a stream mismatch is checked again, in case an operator fixed it (default 30 s) */
  readonly mismatchRetryMs?: number;
  /** [0, 1) source for the jitter; the adapter passes Math.random, tests a fixed sequence */
  readonly random?: () => number;
}

/** What the `connect` actor resolves with once the stream is there and fits. */
export interface ConnectOutput {
  /** outbox records not yet acknowledged by JetStream */
  readonly pending: number;
  /** e.g. 'created stream VIGIL' or 'stream VIGIL ok' */
  readonly detail: string;
}

export type PublishFailure = 'timeout' | 'no-stream' | 'error';

export type NatsLinkEvent =
  /** link watcher: nats.js is connected (first connect or reconnect) */
  | { type: 'link.up' }
  /** link watcher: nats.js lost the connection (it reconnects by itself) */
  | { type: 'link.lost'; cause: string }
  /** pipeline: records are waiting (sent when it leaves the caught-up condition) */
  | { type: 'outbox.behind'; pending: number }
  /** pipeline: the acked prefix grew (throttled by the adapter) */
  | { type: 'outbox.progress'; pending: number }
  /** pipeline: nothing in flight and the cursor is at the journal's end */
  | { type: 'outbox.caughtUp' }
  /** pipeline: a publish failed; it has stopped and waits for `resume` */
  | { type: 'publish.failed'; reason: PublishFailure; cause: string }
  | { type: 'close' };

export interface FinalDrainInput {
  readonly linkUp: boolean;
  /** the stream had been checked (closing from draining, idle or stalled) */
  readonly connected: boolean;
}

/** What the machine tells its pipeline child. */
export type PumpCommand = { type: 'pause' } | { type: 'resume' };

export type NatsLinkEmitted = {
  type: 'nats.state';
  from: NatsLinkState;
  to: NatsLinkState;
  cause: string;
  pending: number;
  /** retries since the last progress */
  attempt: number;
};

export interface NatsLinkContext {
  state: NatsLinkState;
  linkUp: boolean;
  attempt: number;
  pending: number;
  /** the last failure (stream mismatch detail, connect error, publish error) */
  error: string | null;
  /** the state `close` arrived in */
  closedFrom: NatsLinkState | null;
  readonly backoff: Required<BackoffInput>;
  readonly stallAfterMs: number;
  readonly mismatchRetryMs: number;
  readonly random: () => number;
}

const errorText = (e: unknown) => (e instanceof Error ? e.message : String(e));

/** A human cause for the event that moved the machine. */
function causeOf(event: { type: string; [k: string]: unknown }): string {
  if (typeof event.cause === 'string') return event.cause;
  if (event.type === 'publish.failed' || event.type === 'link.lost') return event.type;
  if (event.type.startsWith('xstate.error.actor.')) return errorText(event.error);
  if (event.type.startsWith('xstate.done.actor.')) {
    const out = event.output as Partial<ConnectOutput> | undefined;
    return out?.detail ?? event.type.slice('xstate.done.actor.'.length);
  }
  // xstate.after.<delay>.<state id>
  if (event.type.startsWith('xstate.after.')) return `after ${event.type.split('.')[2]}`;
  return event.type;
}

/**
 * draining ⇄ idle flips with every burst of events and is not announced: a `nats.state` event is
 * itself journaled and exported, so announcing these would wake the exporter forever.
 */
const QUIET: ReadonlySet<NatsLinkState> = new Set(['draining', 'idle']);

/** Exponential backoff: initial × 2^attempt, capped, minus up to `jitter` of itself. */
export function backoffDelay(b: Required<BackoffInput>, attempt: number, r: number): number {
  const base = Math.min(b.maxMs, b.initialMs * 2 ** Math.min(attempt, 30));
  return Math.max(1, Math.round(base * (1 - b.jitter * Math.min(Math.max(r, 0), 1))));
}

export const natsLink = setup({
  types: {
    input: {} as NatsLinkInput,
    context: {} as NatsLinkContext,
    events: {} as NatsLinkEvent,
    emitted: {} as NatsLinkEmitted,
  },
  actors: {
    // All provided by the adapter. The defaults never answer.
    /** reports link.up / link.lost for the whole life of the export */
    watchLink: fromCallback<EventObject>(() => {}),
    /** checks (or creates) the stream; rejects with an error named 'StreamMismatchError' on a misfit */
    connect: fromPromise<ConnectOutput>(() => new Promise<never>(() => {})),
    /** the publishing pipeline: drains the outbox from its cursor, obeys pause/resume */
    pump: fromCallback<PumpCommand>(() => {}),
    /** one last bounded drain and the connection's close */
    finalDrain: fromPromise<void, FinalDrainInput>(async () => {}),
  },
  actions: {
    announce: enqueueActions(({ context, event, enqueue }, params: { to: NatsLinkState }) => {
      if (context.state === params.to) return;
      if (QUIET.has(context.state) && QUIET.has(params.to)) {
        enqueue.assign({ state: params.to });
        return;
      }
      enqueue.emit({
        type: 'nats.state', from: context.state, to: params.to, cause: causeOf(event),
        pending: context.pending, attempt: context.attempt,
      });
      enqueue.assign({ state: params.to });
    }),
    retry: assign({ attempt: ({ context }) => context.attempt + 1 }),
    progress: assign(({ context, event }) => ({
      attempt: 0,
      error: null,
      pending: event.type === 'outbox.progress' || event.type === 'outbox.behind' ? event.pending
        : event.type === 'outbox.caughtUp' ? 0 : context.pending,
    })),
    failed: assign({ error: ({ event }) => causeOf(event) }),
    pause: sendTo('pump', { type: 'pause' } satisfies PumpCommand),
    resume: sendTo('pump', { type: 'resume' } satisfies PumpCommand),
    up: assign({ linkUp: true }),
    down: assign({ linkUp: false }),
  },
  guards: {
    linkUp: ({ context }) => context.linkUp,
    mismatch: ({ event }) =>
      event.type.startsWith('xstate.error.actor.') &&
      (event as { error?: { name?: unknown } }).error?.name === 'StreamMismatchError',
    noStream: ({ event }) => event.type === 'publish.failed' && event.reason === 'no-stream',
  },
  delays: {
    backoff: ({ context }) => backoffDelay(context.backoff, context.attempt, context.random()),
    stallAfter: ({ context }) => context.stallAfterMs,
    mismatchRetry: ({ context }) => context.mismatchRetryMs,
  },
}).createMachine({
  id: 'natsLink',
  context: ({ input }) => ({
    state: 'disconnected',
    linkUp: false,
    attempt: 0,
    pending: 0,
    error: null,
    closedFrom: null,
    backoff: { initialMs: 100, maxMs: 30_000, jitter: 0.2, ...input.backoff },
    stallAfterMs: input.stallAfterMs ?? 2000,
    mismatchRetryMs: input.mismatchRetryMs ?? 30_000,
    random: input.random ?? (() => 0),
  }),
  invoke: { id: 'watch', src: 'watchLink' },
  on: {
    'link.up': { actions: 'up' },
    'link.lost': { actions: 'down', target: '.disconnected' },
    // remember where we closed from: the final drain only makes sense with a checked stream
    close: { target: '.closing', actions: assign({ closedFrom: ({ context }) => context.state }) },
  },
  initial: 'disconnected',
  states: {
    disconnected: {
      entry: { type: 'announce', params: { to: 'disconnected' } },
      initial: 'ready',
      states: {
        // after a failure with the link up: wait before checking the stream again
        backoff: { after: { backoff: { target: 'ready', actions: 'retry' } } },
        ready: {
          always: { guard: 'linkUp', target: '#natsLink.connecting' },
          on: { 'link.up': { actions: 'up', target: '#natsLink.connecting' } },
        },
      },
    },
    connecting: {
      entry: { type: 'announce', params: { to: 'connecting' } },
      invoke: {
        id: 'connect',
        src: 'connect',
        onDone: {
          target: 'connected',
          actions: assign({ pending: ({ event }) => event.output.pending, error: null }),
        },
        onError: [
          { guard: 'mismatch', target: 'streamMismatch', actions: 'failed' },
          { target: 'disconnected.backoff', actions: 'failed' },
        ],
      },
    },
    streamMismatch: {
      // No publishing: the operator must fix the stream (or our config). Checked again now and then.
      entry: { type: 'announce', params: { to: 'stream-mismatch' } },
      after: { mismatchRetry: 'connecting' },
    },
    connected: {
      invoke: { id: 'pump', src: 'pump' },
      on: {
        // the stream vanished (wiped store, deleted): check it again, which recreates it
        'publish.failed': { guard: 'noStream', target: '#natsLink.disconnected.backoff', actions: 'failed' },
      },
      initial: 'draining',
      states: {
        draining: {
          entry: { type: 'announce', params: { to: 'draining' } },
          on: {
            'outbox.caughtUp': { target: 'idle', actions: 'progress' },
            'publish.failed': [
              { guard: 'noStream', target: '#natsLink.disconnected.backoff', actions: 'failed' },
              { target: 'stalled', actions: 'failed' },
            ],
          },
          initial: 'waiting',
          states: {
            // stall detection: re-armed by every ack
            waiting: {
              after: { stallAfter: '#natsLink.connected.stalled' },
              on: { 'outbox.progress': { target: 'waiting', reenter: true, actions: 'progress' } },
            },
          },
        },
        idle: {
          entry: { type: 'announce', params: { to: 'idle' } },
          on: { 'outbox.behind': { target: 'draining', actions: 'progress' } },
        },
        stalled: {
          entry: [{ type: 'announce', params: { to: 'stalled' } }, 'pause'],
          after: { backoff: { target: 'draining', actions: ['retry', 'resume'] } },
        },
      },
    },
    closing: {
      entry: { type: 'announce', params: { to: 'closing' } },
      on: { close: {}, 'link.lost': { actions: 'down' } },
      invoke: {
        id: 'finalDrain',
        src: 'finalDrain',
        input: ({ context }): FinalDrainInput => ({
          linkUp: context.linkUp,
          connected: context.closedFrom === 'draining' || context.closedFrom === 'idle' || context.closedFrom === 'stalled',
        }),
        onDone: 'closed',
        onError: { target: 'closed', actions: 'failed' },
      },
    },
    closed: {
      type: 'final',
      entry: { type: 'announce', params: { to: 'closed' } },
    },
  },
});
