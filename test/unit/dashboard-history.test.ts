// The dashboard's history (actors/dashboard/history.ts): the state at any past moment, rebuilt from
// the nearest snapshot, must equal the fold of every event from the start up to that moment; event
// queries page through the log in both directions with their filters.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Bus, type BusEvent } from '../../actors/bus.js';
import { History, journalLog, MemoryLog, ulidTime } from '../../actors/dashboard/history.js';
import { WorldFold } from '../../actors/dashboard/world.js';
import { memoryJournal } from '../fakes/memoryJournal.js';

const T0 = Date.parse('2026-11-25T10:00:00Z');

/** a node's events on a journal: VRRP flapping, trackers, a checker and its virtual server */
function scenario(n: number) {
  const clock = { t: T0 };
  const bus = new Bus('lb1', () => clock.t);
  const journal = memoryJournal();
  const events: BusEvent[] = [];
  bus.subscribe((e) => {
    journal.append(e.id, e);
    events.push(e);
  });
  const states = ['BACKUP', 'MASTER'] as const;
  for (let i = 0; i < n; i++) {
    // several events share a millisecond now and then
    clock.t += i % 7 === 0 ? 0 : 10;
    const inst = i % 3 === 0 ? 'VI_2' : 'VI_1';
    switch (i % 5) {
      case 0: {
        const track = bus.publish('track', 'chk', 'track.state', { type: 'track.state', tracker: 'chk', kind: 'script', state: i % 2 ? 'ok' : 'failed', previous: i % 2 ? 'failed' : 'ok', cause: 'exit 1', consecutive: 1, weight: -20, reverse: false });
        const prio = bus.publish('vrrp', inst, 'vrrp.priority', { type: 'vrrp.priority', instance: inst, from: 100, to: 80 + (i % 40) }, { cause: track.id, correlation: track.correlation });
        bus.publish('vrrp', inst, 'vrrp.state', { type: 'vrrp.state', instance: inst, vrid: inst === 'VI_1' ? 51 : 52, from: states[i % 2]!, to: states[(i + 1) % 2]!, cause: 'higher-priority-advert', priority: 80 + (i % 40) }, { cause: prio.id, correlation: prio.correlation });
        break;
      }
      case 1:
        bus.publish('checker', '10.0.0.100:80/tcp 10.0.0.1:80 TCP_CHECK#0', 'checker.state', { type: 'checker.state', checker: '10.0.0.100:80/tcp 10.0.0.1:80 TCP_CHECK#0', from: i % 2 ? 'up' : 'down', to: i % 2 ? 'down' : 'up', cause: 'x', first: i === 1, attempts: 1, consecutive: 1, detail: null, latencyMs: 3 });
        break;
      case 2:
        bus.publish('vs', '10.0.0.100:80/tcp', 'vs.quorum', { type: 'vs.quorum', vs: '10.0.0.100:80/tcp', state: i % 2 ? 'up' : 'down', weight: i % 4, quorum: 1, hysteresis: 0, threshold: 1, initial: false, cause: 'x' });
        break;
      case 3:
        bus.publish('vs', '10.0.0.100:80/tcp', 'vs.rs', { type: 'vs.rs', vs: '10.0.0.100:80/tcp', rs: '10.0.0.1:80', address: '10.0.0.1', port: 80, state: i % 2 ? 'up' : 'down', cause: 'x', initial: false, weight: i % 9 });
        break;
      default:
        bus.publish('nats', 'export', 'nats.state', { from: 'draining', to: i % 2 ? 'idle' : 'draining', cause: 'x', pending: i });
    }
  }
  return { bus, journal, events, clock };
}

/** the reference: every event from the start, up to the first one later than `at` */
function foldUpTo(events: readonly BusEvent[], stop: (e: BusEvent, seq: number) => boolean, at: number) {
  const f = WorldFold.empty();
  events.every((e, i) => (stop(e, i + 1) ? false : (f.add(e, i + 1), true)));
  return f.view(at);
}

test('the state at any moment equals the fold from the start; snapshots stay bounded', async () => {
  const { journal, events } = scenario(400);
  const h = new History(journalLog(journal), { snapshotEvery: 16, maxSnapshots: 8 });
  await h.start();
  const b = h.bounds();
  assert.equal(b.events, events.length);
  assert.ok(b.snapshots <= 8 && b.snapshots >= 4, `snapshots: ${b.snapshots}`);
  assert.ok(b.snapshotEvery > 16, 'thinned: fewer, further apart');
  const first = Date.parse(events[0]!.time);
  const last = Date.parse(events.at(-1)!.time);
  // before anything, on event times (shared milliseconds among them), between them, after the end
  const times = [first - 1, first, last, last + 5000];
  for (let i = 0; i < 60; i++) times.push(first + Math.floor(((last - first) * i) / 59) + (i % 3) - 1);
  for (const at of times) {
    const got = await h.stateAt({ at });
    assert.deepEqual(got, foldUpTo(events, (e) => Date.parse(e.time) > at, at), `at ${new Date(at).toISOString()}`);
  }
  for (const seq of [0, 1, 17, 128, 129, events.length, events.length + 10]) {
    const got = await h.stateAt({ seq });
    const ref = foldUpTo(events, (_, s) => s > seq, 0);
    assert.deepEqual({ ...got, at: '' }, { ...ref, at: '' }, `seq ${seq}`);
  }
  h.close();
});

test('the fold follows the log as it grows; settle() waits for what is there', async () => {
  const s = scenario(50);
  const h = new History(journalLog(s.journal), { snapshotEvery: 10 });
  await h.start();
  assert.equal(h.now().events, s.events.length);
  s.clock.t += 1000;
  s.bus.publish('daemon', 'lb1', 'daemon.stopping', { version: '1', instances: 2, syncGroups: 0 });
  await h.settle();
  const v = h.now();
  assert.equal(v.events, s.events.length);
  assert.equal(v.nodes[0]?.status, 'stopping');
  assert.equal(v.last?.seq, s.events.length);
  // the stopped node's MASTERs no longer count in the cluster view
  assert.ok(v.cluster.instances.every((i) => i.state !== 'MASTER'));
  h.close();
});

test('what the fold shows per actor: states, priorities, real servers with their checkers', async () => {
  const { journal } = scenario(40);
  const h = new History(journalLog(journal));
  await h.start();
  const v = h.now();
  const vi1 = v.actors.find((a) => a.key === 'lb1/vrrp/VI_1')!;
  assert.equal(vi1.machine, 'vrrp');
  assert.deepEqual(vi1.ids, [vi1.state === 'MASTER' ? 'master' : 'backup']);
  assert.equal(typeof vi1.detail['priority'], 'number');
  const vs = v.virtualServers.find((x) => x.name === '10.0.0.100:80/tcp')!;
  assert.deepEqual(vs.realServers['10.0.0.1:80']?.checkers, ['lb1/checker/10.0.0.100:80/tcp 10.0.0.1:80 TCP_CHECK#0']);
  assert.ok(['up', 'down'].includes(vs.quorum!));
  const nats = v.actors.find((a) => a.kind === 'nats')!;
  assert.deepEqual(nats.ids[0], 'connected');
  h.close();
});

test('event pages: newest first by default, older and newer cursors, filters, chains', async () => {
  const { journal, events } = scenario(300);
  const h = new History(journalLog(journal), { snapshotEvery: 32 });
  const ids = (p: { events: { event: BusEvent }[] }) => p.events.map((x) => x.event.id);

  // the newest page, then older pages until the start: every event once, in order
  let page = await h.events({ limit: 50 });
  assert.deepEqual(ids(page), events.slice(-50).map((e) => e.id));
  const all = [...page.events];
  while (page.older !== undefined) {
    page = await h.events({ before: page.older, limit: 50 });
    all.unshift(...page.events);
  }
  assert.deepEqual(all.map((x) => x.event.id), events.map((e) => e.id));
  assert.deepEqual(all.map((x) => x.seq), events.map((_, i) => i + 1));

  // forward from a time, page by page
  const since = Date.parse(events[100]!.time);
  const want = events.filter((e) => Date.parse(e.time) >= since && e.type === 'vrrp.state').map((e) => e.id);
  const got: string[] = [];
  let fwd = await h.events({ since, type: 'vrrp.state', limit: 7 });
  got.push(...ids(fwd));
  while (fwd.newer !== undefined) {
    fwd = await h.events({ after: fwd.newer, since, type: 'vrrp.state', limit: 7 });
    got.push(...ids(fwd));
  }
  assert.deepEqual(got, want);

  // a type prefix, an instance (by name or data.instance), a window
  const until = Date.parse(events[200]!.time);
  const vrrp = await h.events({ since, until, type: 'vrrp', instance: 'VI_2', limit: 1000 });
  assert.deepEqual(ids(vrrp), events.filter((e) => e.type.startsWith('vrrp.') && e.data['instance'] === 'VI_2' && Date.parse(e.time) >= since && Date.parse(e.time) <= until).map((e) => e.id));

  // a chain: the tracker event, the priority change and the state change it caused
  const root = events.find((e) => e.type === 'track.state' && Date.parse(e.time) > since)!;
  const chain = await h.events({ chain: root.correlation });
  assert.deepEqual(chain.events.map((x) => x.event.type), ['track.state', 'vrrp.priority', 'vrrp.state']);
  assert.equal(chain.events[2]!.event.cause, chain.events[1]!.event.id);
  assert.equal(ulidTime(root.id), Date.parse(root.time));

  // a bounded read: a cursor to go on
  const hb = new History(journalLog(journal), { scanLimit: 40 });
  const partial = await hb.events({ type: 'nope', after: 0 });
  assert.equal(partial.events.length, 0);
  assert.equal(partial.newer, 40);
  assert.equal(partial.scanned, 40);
  h.close();
  hb.close();
});

test('resume support: an id to its seq, a range; records that are not events are skipped and counted', async () => {
  const { journal, events } = scenario(120);
  journal.append('junk', { not: 'an event' });
  const h = new History(journalLog(journal), { snapshotEvery: 16 });
  await h.start();
  assert.equal(h.malformed, 1);
  assert.equal(await h.seqOf(events[77]!.id), 78);
  assert.equal(await h.seqOf('01ZZZZZZZZZZZZZZZZZZZZZZZZ'), undefined);
  assert.equal(await h.seqOf('not-a-ulid'), undefined);
  const got: number[] = [];
  for await (const { seq } of h.range(78, 90)) got.push(seq);
  assert.deepEqual(got, [79, 80, 81, 82, 83, 84, 85, 86, 87, 88, 89, 90]);
  h.close();
});

test('without a journal: the last events in memory', async () => {
  const log = new MemoryLog(5);
  for (let i = 1; i <= 8; i++) log.append({ i });
  const seqs: number[] = [];
  for await (const e of log.read(0)) seqs.push(e.seq);
  assert.deepEqual(seqs, [4, 5, 6, 7, 8]);
  // a follower gets what comes next
  const ac = new AbortController();
  const it = log.read(8, { follow: true, signal: ac.signal })[Symbol.asyncIterator]();
  const next = it.next();
  log.append({ i: 9 });
  assert.equal((await next).value?.seq, 9);
  ac.abort();
  assert.equal((await it.next()).done, true);
});
