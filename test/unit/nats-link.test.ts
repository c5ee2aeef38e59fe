// machines/nats-link.machine.ts with SimulatedClock and hand-driven fake actors (no NATS here;
// test/integration/nats-export.test.ts runs the real adapter against nats-server).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createActor, fromCallback, fromPromise, SimulatedClock } from 'xstate';
import {
  backoffDelay, natsLink, type ConnectOutput, type FinalDrainInput, type NatsLinkEmitted, type NatsLinkInput, type PumpCommand,
} from '../../machines/nats-link.machine.js';

class StreamMismatchError extends Error {
  override readonly name = 'StreamMismatchError';
}

function start(input: NatsLinkInput = {}) {
  const clock = new SimulatedClock();
  const emitted: NatsLinkEmitted[] = [];
  const commands: PumpCommand['type'][] = [];
  const errors: unknown[] = [];
  let pumps = 0;
  let connects: { resolve: (o: ConnectOutput) => void; reject: (e: Error) => void }[] = [];
  let finalInput: FinalDrainInput | null = null;
  const actor = createActor(
    natsLink.provide({
      actors: {
        connect: fromPromise<ConnectOutput>(() => new Promise((resolve, reject) => connects.push({ resolve, reject }))),
        pump: fromCallback<PumpCommand>(({ receive }) => {
          pumps++;
          receive((c) => commands.push(c.type));
        }),
        finalDrain: fromPromise<void, FinalDrainInput>(async ({ input }) => { finalInput = input; }),
      },
    }),
    { clock, input: { backoff: { initialMs: 100, maxMs: 1000, jitter: 0 }, stallAfterMs: 500, mismatchRetryMs: 5000, ...input } },
  );
  actor.on('*', (e) => emitted.push(e));
  actor.subscribe({ error: (e) => errors.push(e) });
  actor.start();
  const state = () => actor.getSnapshot().context.state;
  const connect = () => {
    const c = connects.shift();
    assert.ok(c, 'a connect attempt is running');
    return c;
  };
  const transitions = () => emitted.map((e) => `${e.from}>${e.to}`);
  return {
    clock, actor, emitted, commands, errors, state, connect, transitions,
    pumps: () => pumps, connectsWaiting: () => connects.length, finalInput: () => finalInput,
    reset: () => { emitted.length = 0; connects = []; },
  };
}

/** promise actors settle in microtasks */
const settle = () => new Promise((r) => setImmediate(r));

async function toIdle(t: ReturnType<typeof start>) {
  t.actor.send({ type: 'link.up' });
  t.connect().resolve({ pending: 3, detail: 'stream VIGIL ok' });
  await settle();
  assert.equal(t.state(), 'draining');
  t.actor.send({ type: 'outbox.caughtUp' });
  assert.equal(t.state(), 'idle');
}

describe('natsLink', () => {
  test('starts disconnected, connects when the link is up, drains, then idles', async () => {
    const t = start();
    assert.equal(t.state(), 'disconnected');
    assert.equal(t.emitted.length, 0, 'no event for the initial state');
    assert.equal(t.connectsWaiting(), 0, 'no stream check before the link is up');
    await toIdle(t);
    t.actor.send({ type: 'outbox.behind', pending: 7 });
    assert.equal(t.state(), 'draining');
    // draining ⇄ idle is not announced (it would feed back: nats.state events are exported too)
    assert.deepEqual(t.transitions(), ['disconnected>connecting', 'connecting>draining']);
    assert.deepEqual(t.emitted[1], {
      type: 'nats.state', from: 'connecting', to: 'draining', cause: 'stream VIGIL ok', pending: 3, attempt: 0,
    });
    assert.equal(t.actor.getSnapshot().context.pending, 7);
    assert.equal(t.pumps(), 1, 'one pipeline for the whole connected period');
    assert.deepEqual(t.errors, []);
  });

  test('no ack for stallAfter while draining ⇒ stalled: pipeline paused, resumed after an exponential backoff', async () => {
    const t = start();
    await toIdle(t);
    t.actor.send({ type: 'outbox.behind', pending: 10 });
    // acks keep coming: every progress re-arms the stall timer
    for (let i = 0; i < 5; i++) {
      t.clock.increment(400);
      t.actor.send({ type: 'outbox.progress', pending: 10 - i });
    }
    assert.equal(t.state(), 'draining');
    t.clock.increment(499);
    assert.equal(t.state(), 'draining');
    t.clock.increment(1);
    assert.equal(t.state(), 'stalled');
    assert.deepEqual(t.commands, ['pause']);
    // backoff 100 ms (attempt 0) → draining, pipeline resumed
    t.clock.increment(100);
    assert.equal(t.state(), 'draining');
    assert.deepEqual(t.commands, ['pause', 'resume']);
    // still no ack: stalled again, and this time the retry waits 200 ms, then 400, 800, 1000 (cap)
    const waits: number[] = [];
    for (let round = 0; round < 4; round++) {
      t.clock.increment(500);
      assert.equal(t.state(), 'stalled');
      let waited = 0;
      while (t.state() === 'stalled') { t.clock.increment(10); waited += 10; }
      waits.push(waited);
    }
    assert.deepEqual(waits, [200, 400, 800, 1000]);
    assert.equal(t.emitted.at(-1)!.attempt, 5);
    // an ack resets the attempt count
    t.actor.send({ type: 'outbox.progress', pending: 1 });
    t.clock.increment(500);
    assert.equal(t.state(), 'stalled');
    assert.equal(t.emitted.at(-1)!.attempt, 0);
    assert.equal(t.pumps(), 1, 'stalls pause the same pipeline, they do not restart it');
  });

  test('a publish timeout stalls at once; a missing stream goes back to the stream check', async () => {
    const t = start();
    await toIdle(t);
    t.actor.send({ type: 'outbox.behind', pending: 1 });
    t.actor.send({ type: 'publish.failed', reason: 'timeout', cause: 'TIMEOUT' });
    assert.equal(t.state(), 'stalled');
    assert.equal(t.actor.getSnapshot().context.error, 'TIMEOUT');
    t.clock.increment(100);
    assert.equal(t.state(), 'draining');
    t.actor.send({ type: 'publish.failed', reason: 'no-stream', cause: 'no stream answers' });
    assert.equal(t.state(), 'disconnected');
    assert.equal(t.connectsWaiting(), 0, 'waits a backoff first');
    t.clock.increment(200);
    assert.equal(t.state(), 'connecting');
    t.connect().resolve({ pending: 1, detail: 'created stream VIGIL' });
    await settle();
    assert.equal(t.state(), 'draining');
    assert.equal(t.pumps(), 2, 'a fresh pipeline after reconnecting, restarting from the cursor');
  });

  test('link lost from any connected state ⇒ disconnected; back to connecting when nats.js reconnects', async () => {
    const t = start();
    await toIdle(t);
    t.actor.send({ type: 'link.lost', cause: 'disconnect 127.0.0.1:4222' });
    assert.equal(t.state(), 'disconnected');
    assert.equal(t.emitted.at(-1)!.cause, 'disconnect 127.0.0.1:4222');
    t.clock.increment(60_000);
    assert.equal(t.state(), 'disconnected', 'no stream check while the link is down');
    t.actor.send({ type: 'link.up' });
    assert.equal(t.state(), 'connecting');
    t.actor.send({ type: 'link.lost', cause: 'again' });
    assert.equal(t.state(), 'disconnected');
  });

  test('connect errors back off; a stream mismatch is its own state, checked again later', async () => {
    const t = start();
    t.actor.send({ type: 'link.up' });
    t.connect().reject(new Error('JetStream not enabled'));
    await settle();
    assert.equal(t.state(), 'disconnected');
    t.clock.increment(99);
    assert.equal(t.connectsWaiting(), 0);
    t.clock.increment(1);
    assert.equal(t.state(), 'connecting');
    t.connect().reject(new StreamMismatchError("stream VIGIL subjects [other.>] do not cover 'vigil.prod.>'"));
    await settle();
    assert.equal(t.state(), 'stream-mismatch');
    assert.match(t.actor.getSnapshot().context.error!, /do not cover 'vigil\.prod\.>'/);
    assert.match(t.emitted.at(-1)!.cause, /do not cover/);
    assert.equal(t.pumps(), 0, 'no publishing on a mismatch');
    t.clock.increment(5000);
    assert.equal(t.state(), 'connecting');
  });

  test('close ⇒ closing (final drain, told whether the link is up) ⇒ closed, from any state', async () => {
    const t = start();
    await toIdle(t);
    t.actor.send({ type: 'close' });
    assert.equal(t.state(), 'closing');
    t.actor.send({ type: 'close' });
    t.actor.send({ type: 'link.lost', cause: 'closing' });
    await settle();
    assert.equal(t.state(), 'closed');
    assert.equal(t.actor.getSnapshot().status, 'done');
    assert.deepEqual(t.finalInput(), { linkUp: true, connected: true });
    assert.deepEqual(t.transitions().slice(-2), ['idle>closing', 'closing>closed']);

    const u = start();
    u.actor.send({ type: 'close' });
    await settle();
    assert.equal(u.state(), 'closed');
    assert.deepEqual(u.finalInput(), { linkUp: false, connected: false });
  });
});

describe('backoffDelay', () => {
  const b = { initialMs: 100, maxMs: 30_000, jitter: 0.2 };
  test('doubles from initialMs, capped at maxMs', () => {
    assert.deepEqual([0, 1, 2, 3, 9, 50, 5000].map((a) => backoffDelay(b, a, 0)), [100, 200, 400, 800, 30_000, 30_000, 30_000]);
  });
  test('jitter takes up to `jitter` of the delay off, never more, never below 1 ms', () => {
    assert.equal(backoffDelay(b, 3, 1), 640);
    assert.equal(backoffDelay(b, 3, 0.5), 720);
    assert.equal(backoffDelay(b, 3, 7), 640, 'random outside [0,1) is clamped');
    assert.equal(backoffDelay({ initialMs: 0, maxMs: 0, jitter: 1 }, 0, 0.99), 1);
  });
});
