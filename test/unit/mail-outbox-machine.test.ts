// machines/mail-outbox.machine.ts with SimulatedClock and a hand-driven deliver actor (no SMTP
// here; test/integration/notifier-smtp.test.ts runs the real transport against smtp-server).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createActor, fromPromise, SimulatedClock } from 'xstate';
import { mailOutbox, type DeliverOutput, type MailOutboxEmitted, type MailOutboxInput } from '../../machines/mail-outbox.machine.js';

/** promise actors settle in microtasks */
const settle = () => new Promise((r) => setImmediate(r));

function start(input: MailOutboxInput = {}) {
  const clock = new SimulatedClock();
  const emitted: MailOutboxEmitted[] = [];
  const calls: { resolve: (o: DeliverOutput) => void; reject: (e: Error) => void }[] = [];
  let drains = 0;
  const actor = createActor(
    mailOutbox.provide({
      actors: {
        deliver: fromPromise<DeliverOutput>(() => new Promise((resolve, reject) => calls.push({ resolve, reject }))),
        finalDrain: fromPromise<void>(async () => { drains++; }),
      },
    }),
    { clock, input: { backoff: { initialMs: 1000, maxMs: 8000, jitter: 0 }, ...input } },
  );
  actor.on('*', (e) => emitted.push(e));
  actor.start();
  const deliver = () => {
    const c = calls.shift();
    assert.ok(c, 'a delivery is running');
    return c;
  };
  return {
    clock, actor, emitted, deliver,
    state: () => actor.getSnapshot().context.state,
    waiting: () => calls.length,
    drains: () => drains,
  };
}

describe('mail outbox machine', () => {
  test('idle until a mail is owed; one delivery at a time until none is left', async () => {
    const t = start();
    assert.equal(t.state(), 'idle');
    assert.equal(t.waiting(), 0);
    t.actor.send({ type: 'outbox.added', pending: 2 });
    assert.equal(t.state(), 'sending');
    assert.equal(t.waiting(), 1);
    t.deliver().resolve({ outcome: 'delivered', remaining: 1 });
    await settle();
    assert.equal(t.state(), 'sending');
    t.deliver().resolve({ outcome: 'delivered', remaining: 0 });
    await settle();
    assert.equal(t.state(), 'idle');
    assert.equal(t.waiting(), 0);
    // idle ⇄ sending is not announced: the mails themselves are events
    assert.deepEqual(t.emitted, []);
  });

  test('a mail added while a delivery runs is not lost when that delivery reports none left', async () => {
    const t = start({ pending: 1 });
    // the add reaches the machine before the done event of a delivery that looked earlier
    t.actor.send({ type: 'outbox.added', pending: 2 });
    t.deliver().resolve({ outcome: 'delivered', remaining: 0 });
    await settle();
    assert.equal(t.state(), 'sending');
    t.deliver().resolve({ outcome: 'empty', remaining: 0 });
    await settle();
    assert.equal(t.state(), 'idle');
  });

  test('mails owed at start are sent at once', () => {
    const t = start({ pending: 3 });
    assert.equal(t.state(), 'sending');
    assert.equal(t.waiting(), 1);
  });

  test('a failed attempt waits the backoff (doubling, capped), then retries the head', async () => {
    const t = start({ pending: 1 });
    const backoffs: number[] = [];
    for (let i = 0; i < 5; i++) {
      t.deliver().resolve({ outcome: 'failed', remaining: 1, error: 'ECONNREFUSED' });
      await settle();
      assert.equal(t.state(), 'retry-wait');
      // find when the retry fires: the delay the machine armed
      let waited = 0;
      while (t.state() === 'retry-wait') { t.clock.increment(250); waited += 250; }
      backoffs.push(waited);
      assert.equal(t.state(), 'sending');
    }
    assert.deepEqual(backoffs, [1000, 2000, 4000, 8000, 8000]);
    t.deliver().resolve({ outcome: 'delivered', remaining: 0 });
    await settle();
    assert.equal(t.state(), 'idle');
    assert.equal(t.actor.getSnapshot().context.attempt, 0, 'a success resets the backoff');
    const moves = t.emitted.map((e) => `${e.from}>${e.to}`);
    assert.equal(moves[0], 'sending>retry-wait');
    assert.equal(t.emitted[0]!.error, 'ECONNREFUSED');
    assert.equal(moves.filter((m) => m === 'retry-wait>sending').length, 5);
  });

  test('a mail refused for good does not stop the queue', async () => {
    const t = start({ pending: 2 });
    t.deliver().resolve({ outcome: 'refused', remaining: 1, error: '550 no such user' });
    await settle();
    assert.equal(t.state(), 'sending');
    assert.equal(t.waiting(), 1);
  });

  test('mails added during a retry wait do not cut the backoff short', async () => {
    const t = start({ pending: 1 });
    t.deliver().resolve({ outcome: 'failed', remaining: 1 });
    await settle();
    t.actor.send({ type: 'outbox.added', pending: 2 });
    assert.equal(t.state(), 'retry-wait');
    assert.equal(t.waiting(), 0);
    t.actor.send({ type: 'retry' });
    assert.equal(t.state(), 'sending', 'an explicit retry (new SMTP settings) does');
  });

  test('a deliver actor that throws counts as a failed attempt', async () => {
    const t = start({ pending: 1 });
    t.deliver().reject(new Error('bug'));
    await settle();
    assert.equal(t.state(), 'retry-wait');
    assert.equal(t.actor.getSnapshot().context.error, 'bug');
  });

  test('close: one final drain, then closed', async () => {
    const t = start({ pending: 1 });
    t.actor.send({ type: 'close' });
    await settle();
    assert.equal(t.drains(), 1);
    assert.equal(t.state(), 'closed');
    assert.equal(t.actor.getSnapshot().status, 'done');
  });
});
