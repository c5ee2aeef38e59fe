// The notifier's mail delivery as a statechart. Pure: the outbox (the mails owed, on disk) and the
// SMTP transport are behind the `deliver` actor the notifier provides (actors/mail-outbox.ts);
// backoff is a named delay.
//
//   idle ──outbox.added──▶ sending ──delivered / refused, more left──▶ sending
//     ▲                     │  │
//     └──── none left ──────┘  └──failed (server down, timeout, 4xx)──▶ retry-wait ──backoff──▶ sending
//   any ──close──▶ closing (one last bounded drain) ──▶ closed
//
// One mail at a time, oldest first, so mails arrive in the order of the events they tell of. A
// failure that is the server's state (unreachable, timeout, 4xx) stops the whole queue for a
// backoff, 1 s doubling to 5 min: the mail at the head is retried, and the others wait behind it
// instead of hammering a server that is down. A mail the server refuses for good (5xx) is given up
// by `deliver` (and reported), and the queue moves on at once.
import { assign, enqueueActions, fromPromise, setup } from 'xstate';
import { backoffDelay, type BackoffInput } from './nats-link.machine.js';

export type MailOutboxState = 'idle' | 'sending' | 'retry-wait' | 'closing' | 'closed';

export interface MailOutboxInput {
  /** default: 1 s doubling to 5 min, 20 % jitter */
  readonly backoff?: BackoffInput;
  /** [0, 1) source for the jitter; the adapter passes Math.random, tests a fixed value */
  readonly random?: () => number;
  /** mails already owed at start (loaded from the outbox) */
  readonly pending?: number;
}

/**
 * What one `deliver` did with the mail at the head of the outbox:
 * - delivered: a server accepted it (it left the outbox);
 * - refused: a server refused it for good, or it was too old to keep trying (it left the outbox);
 * - failed: not accepted, to be retried (it stays at the head);
 * - empty: there was nothing to send.
 */
export type DeliverOutcome = 'delivered' | 'refused' | 'failed' | 'empty';

export interface DeliverOutput {
  readonly outcome: DeliverOutcome;
  /** mails still owed after this attempt */
  readonly remaining: number;
  readonly error?: string;
}

export type MailOutboxEvent =
  /** a mail was added to the outbox (`pending`: how many are owed now) */
  | { type: 'outbox.added'; pending: number }
  /** try the head again now (the SMTP settings changed at a reload) */
  | { type: 'retry' }
  | { type: 'close' };

export type MailOutboxEmitted = {
  type: 'mail.link';
  from: MailOutboxState;
  to: MailOutboxState;
  cause: string;
  pending: number;
  attempt: number;
  error: string | null;
};

export interface MailOutboxContext {
  state: MailOutboxState;
  pending: number;
  /**
   * a mail was added since the running delivery looked at the outbox: its `remaining` may not
   * count it (the done event can arrive after the add), so another round is due
   */
  dirty: boolean;
  attempt: number;
  error: string | null;
  readonly backoff: Required<BackoffInput>;
  readonly random: () => number;
}

/** idle ⇄ sending flips with every mail and is not announced (the mails themselves are events). */
const QUIET: ReadonlySet<MailOutboxState> = new Set(['idle', 'sending']);

const outputOf = (event: { type: string; output?: unknown }): DeliverOutput | undefined =>
  event.type.startsWith('xstate.done.actor.') ? (event.output as DeliverOutput) : undefined;

function causeOf(event: { type: string; output?: unknown; error?: unknown }): string {
  const out = outputOf(event);
  if (out) return out.error ?? out.outcome;
  if (event.type.startsWith('xstate.error.actor.')) return event.error instanceof Error ? event.error.message : String(event.error);
  if (event.type.startsWith('xstate.after.')) return 'after backoff';
  return event.type;
}

export const mailOutbox = setup({
  types: {
    input: {} as MailOutboxInput,
    context: {} as MailOutboxContext,
    events: {} as MailOutboxEvent,
    emitted: {} as MailOutboxEmitted,
  },
  actors: {
    // Provided by the notifier. The defaults never answer.
    /** sends the mail at the head of the outbox, records the outcome, resolves with it */
    deliver: fromPromise<DeliverOutput>(() => new Promise<never>(() => {})),
    /** at close: the attempt in flight, then what else is owed, within a short deadline */
    finalDrain: fromPromise<void>(async () => {}),
  },
  actions: {
    announce: enqueueActions(({ context, event, enqueue }, params: { to: MailOutboxState }) => {
      if (context.state === params.to) return;
      if (QUIET.has(context.state) && QUIET.has(params.to)) {
        enqueue.assign({ state: params.to });
        return;
      }
      enqueue.emit({
        type: 'mail.link', from: context.state, to: params.to, cause: causeOf(event),
        pending: context.pending, attempt: context.attempt, error: context.error,
      });
      enqueue.assign({ state: params.to });
    }),
    added: assign({ pending: ({ context, event }) => (event.type === 'outbox.added' ? event.pending : context.pending), dirty: true }),
    looking: assign({ dirty: false }),
    progress: assign(({ event }) => ({ attempt: 0, error: null, pending: outputOf(event)?.remaining ?? 0 })),
    failed: assign(({ context, event }) => ({
      error: causeOf(event),
      pending: outputOf(event)?.remaining ?? context.pending,
    })),
    retry: assign({ attempt: ({ context }) => context.attempt + 1 }),
  },
  guards: {
    failed: ({ event }) => outputOf(event)?.outcome === 'failed',
    moreLeft: ({ context, event }) => context.dirty || (outputOf(event)?.remaining ?? 0) > 0,
    pending: ({ context }) => context.pending > 0,
  },
  delays: {
    backoff: ({ context }) => backoffDelay(context.backoff, context.attempt, context.random()),
  },
}).createMachine({
  id: 'mailOutbox',
  context: ({ input }) => ({
    state: 'idle',
    pending: input.pending ?? 0,
    dirty: false,
    attempt: 0,
    error: null,
    backoff: { initialMs: 1000, maxMs: 300_000, jitter: 0.2, ...input.backoff },
    random: input.random ?? (() => 0),
  }),
  on: {
    'outbox.added': { actions: 'added' },
    close: '.closing',
  },
  initial: 'idle',
  states: {
    idle: {
      entry: { type: 'announce', params: { to: 'idle' } },
      always: { guard: 'pending', target: 'sending' },
      on: { 'outbox.added': { target: 'sending', actions: 'added' } },
    },
    sending: {
      entry: [{ type: 'announce', params: { to: 'sending' } }, 'looking'],
      invoke: {
        src: 'deliver',
        onDone: [
          { guard: 'failed', target: 'retryWait', actions: 'failed' },
          { guard: 'moreLeft', target: 'sending', reenter: true, actions: 'progress' },
          { target: 'idle', actions: 'progress' },
        ],
        // a bug in the provided actor: treated as a failed attempt, never a wedged queue
        onError: { target: 'retryWait', actions: 'failed' },
      },
    },
    retryWait: {
      entry: { type: 'announce', params: { to: 'retry-wait' } },
      after: { backoff: { target: 'sending', actions: 'retry' } },
      on: { retry: 'sending' },
    },
    closing: {
      entry: { type: 'announce', params: { to: 'closing' } },
      on: { close: {} },
      invoke: { src: 'finalDrain', onDone: 'closed', onError: 'closed' },
    },
    closed: {
      type: 'final',
      entry: { type: 'announce', params: { to: 'closed' } },
    },
  },
});
