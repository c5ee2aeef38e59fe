// What every Journal (adapters/journal/types.ts) must do, run against the in-memory fake
// (test/unit/journal-memory.test.ts) and the file journal (test/unit/journal-file.test.ts).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Journal, JournalEntry } from '../../adapters/journal/types.js';

/** One durable place: every open() sees what earlier, closed journals of the same store left. */
export interface JournalPlace {
  open(): Promise<Journal>;
  teardown(): Promise<void>;
}

async function collect(it: AsyncIterable<JournalEntry>, max = Infinity): Promise<JournalEntry[]> {
  const out: JournalEntry[] = [];
  for await (const e of it) {
    out.push(e);
    if (out.length >= max) break;
  }
  return out;
}

const ev = (i: number) => ({ v: 1, type: 'vrrp.state', data: { i, to: i % 2 ? 'MASTER' : 'BACKUP', when: new Date(0) } });

export function runJournalContract(name: string, newPlace: () => Promise<JournalPlace>): void {
  describe(`Journal contract: ${name}`, () => {
    async function withPlace(fn: (p: JournalPlace) => Promise<void>): Promise<void> {
      const p = await newPlace();
      try {
        await fn(p);
      } finally {
        await p.teardown();
      }
    }

    it('appends with seqs 1, 2, 3 … and reads them back in order, as JSON values', () =>
      withPlace(async (p) => {
        const j = await p.open();
        assert.equal(j.lastSeq, 0);
        for (let i = 1; i <= 5; i++) assert.equal(j.append(`id${i}`, ev(i)), i);
        assert.equal(j.lastSeq, 5);
        const all = await collect(j.read());
        assert.deepEqual(all.map((e) => e.seq), [1, 2, 3, 4, 5]);
        assert.deepEqual(all.map((e) => e.id), ['id1', 'id2', 'id3', 'id4', 'id5']);
        // stored as JSON: the Date comes back as its ISO string, before and after a flush
        assert.deepEqual(all[2]!.event, JSON.parse(JSON.stringify(ev(3))));
        await j.flush();
        assert.deepEqual((await collect(j.read(3))).map((e) => [e.seq, e.event]), [[4, JSON.parse(JSON.stringify(ev(4)))], [5, JSON.parse(JSON.stringify(ev(5)))]]);
        assert.deepEqual(await collect(j.read(5)), []);
        assert.equal(j.stats().lastSeq, 5);
        assert.equal(j.stats().unsynced, 0);
        await j.close();
      }));

    it('continues the seqs across close and reopen, with every record kept', () =>
      withPlace(async (p) => {
        let j = await p.open();
        j.append('a', 1);
        j.append('b', 2);
        j.append('c', 3);
        await j.close();
        await j.close(); // idempotent
        assert.throws(() => j.append('x', 0), { name: 'JournalError', code: 'CLOSED' });
        j = await p.open();
        assert.equal(j.lastSeq, 3);
        assert.equal(j.append('d', 4), 4);
        await j.close();
        j = await p.open();
        assert.deepEqual((await collect(j.read())).map((e) => `${e.seq}${e.id}${String(e.event)}`), ['1a1', '2b2', '3c3', '4d4']);
        await j.close();
      }));

    it('keeps cursors across reopen; they never move back nor past lastSeq', () =>
      withPlace(async (p) => {
        let j = await p.open();
        for (let i = 1; i <= 10; i++) j.append(`e${i}`, i);
        assert.equal(j.cursor('nats'), 0);
        j.ack('nats', 4);
        j.ack('nats', 2);
        j.ack('nats', -1);
        j.ack('nats', Number.NaN);
        j.ack('replay', 99);
        assert.equal(j.cursor('nats'), 4);
        assert.equal(j.cursor('replay'), 10);
        await j.flush();
        j.ack('nats', 7);
        await j.close();
        j = await p.open();
        assert.equal(j.cursor('nats'), 7);
        assert.equal(j.cursor('replay'), 10);
        assert.equal(j.cursor('other'), 0);
        j.ack('nats', 5);
        assert.equal(j.cursor('nats'), 7);
        await j.close();
      }));

    it('a plain read includes records appended while it runs, then ends once caught up', () =>
      withPlace(async (p) => {
        const j = await p.open();
        j.append('a', 1);
        j.append('b', 2);
        const seen: number[] = [];
        for await (const e of j.read()) {
          seen.push(e.seq);
          if (e.seq === 1) j.append('c', 3);
        }
        assert.deepEqual(seen, [1, 2, 3]);
        await j.close();
      }));

    it('a following read yields the live tail and ends on abort or on close', () =>
      withPlace(async (p) => {
        const j = await p.open();
        j.append('a', 1);
        await j.flush();
        const ac = new AbortController();
        const seen: number[] = [];
        const reader = (async () => {
          for await (const e of j.read(0, { follow: true, signal: ac.signal })) {
            seen.push(e.seq);
            if (e.seq === 4) ac.abort();
          }
        })();
        await new Promise((r) => setTimeout(r, 20));
        assert.deepEqual(seen, [1]);
        j.append('b', 2);
        await j.flush(); // one on disk, …
        j.append('c', 3);
        j.append('d', 4); // … two not yet
        j.append('e', 5);
        await reader;
        assert.deepEqual(seen, [1, 2, 3, 4]);

        const tail: number[] = [];
        const second = (async () => {
          for await (const e of j.read(4, { follow: true })) tail.push(e.seq);
        })();
        await new Promise((r) => setTimeout(r, 10));
        j.append('f', 6);
        await j.close();
        await second; // ends with the journal, after yielding everything
        assert.deepEqual(tail, [5, 6]);
      }));

    it('calls onAppend listeners later, never inside append(), once per burst', () =>
      withPlace(async (p) => {
        const j = await p.open();
        const calls: number[] = [];
        const off = j.onAppend((last) => calls.push(last));
        j.append('a', 1);
        j.append('b', 2);
        assert.deepEqual(calls, []);
        await Promise.resolve();
        await Promise.resolve();
        assert.deepEqual(calls, [2]);
        off();
        j.append('c', 3);
        await new Promise((r) => setImmediate(r));
        assert.deepEqual(calls, [2]);
        await j.close();
      }));

    it('refuses an event JSON cannot encode, with a typed error and no seq used', () =>
      withPlace(async (p) => {
        const j = await p.open();
        assert.throws(() => j.append('big', { n: 1n }), { name: 'JournalError', code: 'BAD_EVENT' });
        assert.equal(j.append('ok', 1), 1);
        await j.close();
      }));
  });
}
