// The dashboard's server-sent events (actors/dashboard/sse.ts): a slow browser is dropped and
// counted, never slowing the publisher; a resume with Last-Event-ID gets what it missed once, in
// order, then the live events; a resume the history cannot serve gets a `reset`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { Bus, type BusEvent } from '../../actors/bus.js';
import { History, journalLog } from '../../actors/dashboard/history.js';
import { SseHub, type SseSink } from '../../actors/dashboard/sse.js';
import { memoryJournal } from '../fakes/memoryJournal.js';

/** A response whose socket takes everything, or nothing (`stalled`: bytes pile up in its buffer). */
class Sink extends EventEmitter implements SseSink {
  text = '';
  writableLength = 0;
  destroyed = false;
  ended = false;
  constructor(public stalled = false) {
    super();
  }
  write(chunk: string): boolean {
    this.text += chunk;
    if (this.stalled) this.writableLength += Buffer.byteLength(chunk);
    return !this.stalled;
  }
  end(): void {
    this.ended = true;
    this.emit('close');
  }
  destroy(): void {
    this.destroyed = true;
    this.emit('close');
  }
  /** the socket caught up */
  drain(): void {
    this.stalled = false;
    this.writableLength = 0;
    this.emit('drain');
  }
  /** the events received, by id */
  ids(type = 'bus'): string[] {
    return [...this.text.matchAll(/(?:^|\n)(?:id: (\S+)\n)?event: (\w+)\n/g)].filter((m) => m[2] === type).map((m) => m[1] ?? '');
  }
}

function node() {
  const bus = new Bus('lb1');
  const journal = memoryJournal();
  bus.subscribe((e) => void journal.append(e.id, e));
  let subscribers = 0;
  const subscribe = (fn: (e: BusEvent) => void) => {
    subscribers++;
    const off = bus.subscribe(fn);
    return () => {
      subscribers--;
      off();
    };
  };
  const history = new History(journalLog(journal));
  const backlog = { end: () => journal.lastSeq, seqOf: (id: string) => history.seqOf(id), range: (a: number, b: number) => history.range(a, b) };
  const publish = (i: number) => bus.publish('vrrp', 'VI_1', 'vrrp.priority', { type: 'vrrp.priority', instance: 'VI_1', from: i, to: i + 1 });
  return { bus, journal, history, backlog, subscribe, publish, subscribers: () => subscribers };
}

test('a slow client is dropped and counted; the others get every event; the publisher never waits', async () => {
  const n = node();
  const hub = new SseHub(n.subscribe, n.backlog, { maxBufferedBytes: 4096 });
  const fast = new Sink();
  const slow = new Sink(true);
  await hub.connect(fast);
  await hub.connect(slow);
  assert.equal(hub.size, 2);
  const sent: string[] = [];
  // synchronous: publish returns with every frame handed over, whatever the slow socket does
  for (let i = 0; i < 500; i++) sent.push(n.publish(i).id);
  assert.deepEqual(fast.ids(), sent);
  assert.equal(slow.destroyed, true);
  assert.ok(slow.ids().length < 50, `${slow.ids().length} frames went to the slow client before it was dropped`);
  assert.equal(hub.dropped, 1);
  assert.equal(hub.size, 1);
  // the last one leaving ends the bus subscription (and the heartbeat timer)
  fast.end();
  assert.equal(hub.size, 0);
  assert.equal(n.subscribers(), 0);
  hub.close();
});

test('a resume: what was missed from the history, once and in order, then the live events', async () => {
  const n = node();
  const all: string[] = [];
  for (let i = 0; i < 30; i++) all.push(n.publish(i).id);
  const hub = new SseHub(n.subscribe, n.backlog);
  const sink = new Sink(true); // the backlog is paced by the socket: it waits for drains
  const resumed = hub.connect(sink, all[9]);
  // events published while the backlog is being read
  for (let i = 30; i < 35; i++) all.push(n.publish(i).id);
  const pump = setInterval(() => sink.drain(), 1);
  await resumed;
  clearInterval(pump);
  sink.drain();
  for (let i = 35; i < 40; i++) all.push(n.publish(i).id);
  assert.deepEqual(sink.ids(), all.slice(10));
  assert.equal(hub.resumes, 1);
  hub.close();
});

test('a resume the history cannot serve is a reset: an unknown id, or too much missed', async () => {
  const n = node();
  const ids: string[] = [];
  for (let i = 0; i < 20; i++) ids.push(n.publish(i).id);
  const hub = new SseHub(n.subscribe, n.backlog, { maxBacklog: 5 });
  const unknown = new Sink();
  await hub.connect(unknown, '01ARZ3NDEKTSV4RRFFQ69G5FAV');
  const many = new Sink();
  await hub.connect(many, ids[2]);
  for (const s of [unknown, many]) {
    assert.equal(s.ids('reset').length, 1);
    assert.deepEqual(s.ids(), []);
  }
  assert.match(many.text, /17 events missed/);
  assert.equal(hub.resets, 2);
  // after the reset, live events flow
  const next = n.publish(99).id;
  assert.deepEqual(many.ids(), [next]);
  hub.close();
  assert.equal(many.ended, true);
});

test('a client that stalls while held frames pile up during its backlog is dropped too', async () => {
  const n = node();
  const first = n.publish(0).id;
  for (let i = 1; i < 3; i++) n.publish(i);
  const hub = new SseHub(n.subscribe, n.backlog, { maxBufferedBytes: 2048 });
  const sink = new Sink(true); // never drains: the backlog waits, live frames are held
  const resumed = hub.connect(sink, first);
  for (let i = 0; i < 100; i++) n.publish(i);
  await resumed;
  assert.equal(sink.destroyed, true);
  assert.equal(hub.dropped, 1);
  assert.equal(hub.size, 0);
});
