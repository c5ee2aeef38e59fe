// The file journal (adapters/journal/file.ts) on real files in temp directories: the Journal
// contract, torn and corrupt tails, damage in an older segment, a SIGKILLed writer, rotation.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { cp, mkdtemp, readdir, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { crc32c } from '../../adapters/journal/crc.js';
import { decodePayload, encodeRecord, HEADER_BYTES } from '../../adapters/journal/frame.js';
import type { JournalError } from '../../adapters/journal/errors.js';
import { openJournal, segmentName, type FileJournalOptions, type JournalRecovery } from '../../adapters/journal/file.js';
import type { Journal, JournalEntry } from '../../adapters/journal/types.js';
import { runJournalContract } from '../contract/journal.contract.js';

const dirs: string[] = [];
const tempDir = async (): Promise<string> => {
  const d = await mkdtemp(join(tmpdir(), 'vigil-journal-'));
  dirs.push(d);
  return d;
};
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

const all = async (j: Journal, after = 0): Promise<JournalEntry[]> => {
  const out: JournalEntry[] = [];
  for await (const e of j.read(after)) out.push(e);
  return out;
};
const segments = async (dir: string): Promise<string[]> => (await readdir(dir)).filter((n) => n.startsWith('journal-')).sort();

runJournalContract('file', async () => {
  const dir = await tempDir();
  return { open: () => openJournal(dir, { syncIntervalMs: 5 }), teardown: () => rm(dir, { recursive: true, force: true }) };
});

describe('crc32c', () => {
  it('matches the check value and a bitwise reference, split anywhere', () => {
    assert.equal(crc32c(Buffer.from('123456789')), 0xe3069283);
    const ref = (b: Uint8Array): number => {
      let c = ~0;
      for (const x of b) {
        c ^= x;
        for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
      }
      return ~c >>> 0;
    };
    const b = Buffer.from(Array.from({ length: 100 }, (_, i) => (i * 37 + 11) & 0xff));
    for (let n = 0; n <= 100; n++) {
      assert.equal(crc32c(b, 0, n), ref(b.subarray(0, n)));
      assert.equal(crc32c(b, n, 100, crc32c(b, 0, n)), ref(b));
    }
  });
});

describe('file journal', () => {
  it('append() only buffers: nothing reaches the file until the batch is written', async () => {
    const dir = await tempDir();
    const j = await openJournal(dir, { syncIntervalMs: 10_000 });
    const seg = join(dir, segmentName(1));
    j.append('a', { x: 1 });
    assert.equal((await stat(seg)).size, 0);
    assert.equal(j.stats().unsynced, 1);
    await j.flush();
    assert.ok((await stat(seg)).size > 16);
    assert.equal(j.stats().unsynced, 0);
    // the timer writes without a flush()
    const k = await openJournal(await tempDir(), { syncIntervalMs: 5 });
    k.append('a', 1);
    await new Promise((r) => setTimeout(r, 60));
    assert.equal(k.stats().unsynced, 0);
    await Promise.all([j.close(), k.close()]);
  });

  it('gives each record its event JSON as stored (json), from the in-memory tail and from disk alike', async () => {
    const dir = await tempDir();
    const j = await openJournal(dir, { syncIntervalMs: 10_000 });
    const events: unknown[] = [
      { type: 'vrrp.state', to: 'MASTER', when: new Date(0) }, // stored as JSON: the Date as its ISO string
      'a string with "quotes", \\ and é ✓',
      0,
      [1, { a: null }],
      { text: 'ends in a brace }' },
    ];
    events.forEach((e, i) => j.append(i === 2 ? 'id "quoted"' : `id${i}`, e));
    j.append('no-event', undefined); // `{"id":"no-event"}`: nothing to give as JSON
    const check = (got: JournalEntry[], where: string) => {
      assert.equal(got.length, events.length + 1, where);
      events.forEach((e, i) => {
        assert.equal(got[i]!.json, JSON.stringify(e), `${where}: record ${i + 1}`);
        assert.deepEqual(JSON.parse(got[i]!.json!), got[i]!.event, `${where}: record ${i + 1} json and event agree`);
      });
      assert.equal(got.at(-1)!.event, undefined);
      assert.ok(!('json' in got.at(-1)!), `${where}: no json for an undefined event`);
    };
    check(await all(j), 'memory');
    await j.close();
    const k = await openJournal(dir);
    check(await all(k), 'disk');
    await k.close();
  });

  it('gives no json for a payload append() would not write (extra fields), but still the event', () => {
    const rec = (payload: string) => decodePayload(encodeRecord(1, payload), 0, HEADER_BYTES + Buffer.byteLength(payload));
    assert.deepEqual(rec('{"id":"a","event":{"k":"}"}}'), { id: 'a', event: { k: '}' }, json: '{"k":"}"}' });
    assert.deepEqual(rec('{"id":"a","event":1,"x":2}'), { id: 'a', event: 1 });
    assert.deepEqual(rec('{"event":1,"id":"a"}'), { id: 'a', event: 1 });
    assert.deepEqual(rec('{ "id": "a", "event": 1 }'), { id: 'a', event: 1 });
    assert.equal(rec('{"id":1,"event":1}'), null);
  });

  it('persists cursors in cursors.json, replaced atomically', async () => {
    const dir = await tempDir();
    const j = await openJournal(dir);
    j.append('a', 1);
    j.append('b', 2);
    j.ack('nats', 2);
    await j.flush();
    assert.deepEqual(JSON.parse(await readFile(join(dir, 'cursors.json'), 'utf8')), { v: 1, cursors: { nats: 2 } });
    assert.ok(!(await readdir(dir)).includes('cursors.json.tmp'));
    await j.close();
    // a damaged cursors.json is reported, and the cursors start again at 0
    await writeFile(join(dir, 'cursors.json'), '{"v":1,"cursors":{"nats":');
    const errors: JournalError[] = [];
    const k = await openJournal(dir, { onError: (e) => errors.push(e as JournalError) });
    assert.equal(k.cursor('nats'), 0);
    assert.deepEqual(errors.map((e) => e.code), ['CURSORS']);
    await k.close();
  });

  describe('a torn or corrupt last record', async () => {
    // five records; then every way of damaging the fifth
    const base = await tempDir();
    const j = await openJournal(base);
    for (let i = 1; i <= 5; i++) j.append(`e${i}`, { i, text: 'ünïcode' });
    await j.close();
    const file = segmentName(1);
    const size = (await stat(join(base, file))).size;
    const lastLen = 16 + Buffer.byteLength(JSON.stringify({ id: 'e5', event: { i: 5, text: 'ünïcode' } }));
    const lastStart = size - lastLen;

    async function recover(damage: (path: string) => Promise<void>): Promise<void> {
      const dir = await tempDir();
      await cp(base, dir, { recursive: true });
      await damage(join(dir, file));
      const errors: JournalError[] = [];
      let j = await openJournal(dir, { onError: (e) => errors.push(e as JournalError) });
      assert.equal(j.lastSeq, 4);
      assert.equal(j.stats().skippedOnOpen, 1);
      assert.deepEqual(errors.map((e) => e.code), ['TORN_TAIL']);
      assert.deepEqual((await all(j)).map((e) => e.id), ['e1', 'e2', 'e3', 'e4']);
      assert.equal((await stat(join(dir, file))).size, lastStart); // truncated
      assert.equal(j.append('new5', 5), 5);
      await j.close();
      j = await openJournal(dir);
      assert.equal(j.stats().skippedOnOpen, 0);
      assert.deepEqual((await all(j)).map((e) => `${e.seq}:${e.id}`), ['1:e1', '2:e2', '3:e3', '4:e4', '5:new5']);
      await j.close();
      await rm(dir, { recursive: true, force: true });
    }

    it('cut at every byte offset inside it', async () => {
      for (let cut = lastStart + 1; cut < size; cut++) await recover((p) => truncate(p, cut));
    });

    it('one byte flipped anywhere in it', async () => {
      for (let at = lastStart; at < size; at++) {
        await recover(async (p) => {
          const b = await readFile(p);
          b[at] = b[at]! ^ 0x40;
          await writeFile(p, b);
        });
      }
    });

    it('zeros after it (a file extended but never written)', () =>
      recover(async (p) => {
        const b = await readFile(p);
        b.fill(0, lastStart);
        await writeFile(p, Buffer.concat([b, Buffer.alloc(4096)]));
      }));
  });

  it('skips and counts a corrupt record in an older segment, keeping the ones after it', async () => {
    const dir = await tempDir();
    let j = await openJournal(dir, { segmentBytes: 400 });
    for (let i = 1; i <= 30; i++) j.append(`e${i}`, { i });
    await j.close();
    const segs = await segments(dir);
    assert.ok(segs.length >= 3, segs.join());
    // damage the second record of the first segment
    const p = join(dir, segs[0]!);
    const b = await readFile(p);
    const first = b.readUInt32BE(0) + 16;
    b[first + 20] = b[first + 20]! ^ 1;
    await writeFile(p, b);
    const errors: JournalError[] = [];
    j = await openJournal(dir, { segmentBytes: 400, onError: (e) => errors.push(e as JournalError) });
    assert.equal(j.stats().skippedOnOpen, 1);
    assert.deepEqual(errors.map((e) => e.code), ['CORRUPT_RECORD']);
    const seqs = (await all(j)).map((e) => e.seq);
    assert.deepEqual(seqs, Array.from({ length: 30 }, (_, i) => i + 1).filter((s) => s !== 2));
    assert.equal(j.lastSeq, 30);
    await j.close();
  });

  it('rotates segments, deletes the oldest above maxBytes and counts unacknowledged drops', async () => {
    const dir = await tempDir();
    const errors: JournalError[] = [];
    const opts: FileJournalOptions = { segmentBytes: 1000, maxBytes: 4000, onError: (e) => errors.push(e as JournalError) };
    let j = await openJournal(dir, opts);
    const pad = 'p'.repeat(50);
    for (let i = 1; i <= 40; i++) j.append(`e${i}`, { i, pad });
    await j.flush();
    j.ack('nats', 10);
    for (let i = 41; i <= 200; i++) {
      j.append(`e${i}`, { i, pad });
      if (i % 10 === 0) await j.flush();
    }
    await j.flush();
    const s = j.stats();
    assert.ok(s.bytes <= 4000, `bytes ${s.bytes}`);
    assert.equal(s.segments, (await segments(dir)).length);
    assert.ok(s.segments >= 4 && s.segments <= 5, `segments ${s.segments}`);
    const got = await all(j);
    const firstKept = got[0]!.seq;
    assert.deepEqual(got.map((e) => e.seq), Array.from({ length: 201 - firstKept }, (_, i) => firstKept + i));
    assert.equal((await segments(dir))[0], segmentName(firstKept));
    // every record deleted past the cursor (11 .. firstKept-1) is counted, and reported
    assert.equal(s.droppedUnacked, firstKept - 1 - 10);
    assert.ok(errors.length > 0 && errors.every((e) => e.code === 'OVERFLOW'));
    // a read from before the oldest segment starts at it
    assert.equal((await all(j, 3))[0]!.seq, firstKept);
    await j.close();
    j = await openJournal(dir, opts);
    assert.equal(j.lastSeq, 200);
    assert.equal(j.stats().skippedOnOpen, 0);
    assert.equal(j.cursor('nats'), 10);
    await j.close();
    // with no cursor at all nothing counts as dropped
    const k = await openJournal(await tempDir(), { segmentBytes: 1000, maxBytes: 2000 });
    for (let i = 1; i <= 100; i++) k.append(`e${i}`, { i, pad });
    await k.flush();
    assert.ok(k.stats().segments <= 3);
    assert.equal(k.stats().droppedUnacked, 0);
    await k.close();
  });

  it('reads from the middle of a large segment via its index, across segments', async () => {
    const dir = await tempDir();
    const j = await openJournal(dir, { segmentBytes: 300_000 });
    for (let i = 1; i <= 5000; i++) j.append(`e${i}`, { i, pad: 'x'.repeat(100) });
    await j.flush();
    for (const from of [0, 1, 2345, 2900, 4999]) {
      const got = await all(j, from);
      assert.equal(got.length, 5000 - from);
      assert.equal(got[0]!.seq, from + 1);
      assert.deepEqual(got[0]!.event, { i: from + 1, pad: 'x'.repeat(100) });
    }
    assert.ok(j.stats().segments >= 2);
    await j.close();
  });

  it('bounds the backlog: past half of it only essential events, past all of it none; every drop counted and reported', async () => {
    // appends in one synchronous run: the writer cannot write meanwhile, as on a stalled disk
    const dir = await tempDir();
    const errors: JournalError[] = [];
    const recoveries: JournalRecovery[] = [];
    const LIMIT = 64 << 10;
    const opts: FileJournalOptions = {
      maxBacklogBytes: LIMIT,
      essential: (e) => (e as { type: string }).type === 'state',
      onError: (e) => errors.push(e as JournalError),
      onRecovered: (r) => recoveries.push(r),
    };
    const j = await openJournal(dir, opts);
    const pad = 'x'.repeat(200);
    const kept: string[] = [];
    let maxBacklog = 0;
    const append = (id: string, type: string) => {
      const seq = j.append(id, { type, pad });
      if (seq) {
        assert.equal(seq, kept.length + 1, 'kept records have consecutive seqs');
        kept.push(id);
      }
      maxBacklog = Math.max(maxBacklog, j.stats().backlogBytes);
      return seq;
    };
    for (let i = 0; i < 1000; i++) append(`i${i}`, 'info');
    const infoKept = kept.length;
    assert.ok(j.stats().backlogBytes <= LIMIT / 2, 'reports stop at half the bound');
    assert.ok(infoKept > 100 && infoKept < 1000, `${infoKept} reports kept`);
    for (let i = 0; i < 1000; i++) append(`s${i}`, 'state');
    const stateKept = kept.length - infoKept;
    assert.ok(stateKept > 100 && stateKept < 1000, `${stateKept} transitions kept in the reserved half`);
    assert.ok(maxBacklog <= LIMIT, `backlog ${maxBacklog} bytes, limit ${LIMIT}`);
    assert.ok(maxBacklog > LIMIT - 300, 'the bound is used');
    const s = j.stats();
    assert.deepEqual([s.droppedBacklog, s.droppedBacklogEssential], [2000 - kept.length, 1000 - stateKept]);
    // reported when reports start to drop, and when transitions do; not per drop
    assert.deepEqual(errors.map((e) => e.code), ['BACKLOG_FULL', 'BACKLOG_FULL']);
    assert.match(errors[0]!.message, /not essential \(info/);
    assert.match(errors[1]!.message, /state transitions included/);
    assert.equal(recoveries.length, 0);
    // the writer catches up: the totals, once
    await j.flush();
    assert.equal(j.stats().backlogBytes, 0);
    assert.deepEqual(recoveries.map((r) => ({ ...r, ms: 0 })), [
      { failures: 0, ms: 0, dropped: 2000 - kept.length, droppedEssential: 1000 - stateKept, droppedByType: { info: 1000 - infoKept, state: 1000 - stateKept } },
    ]);
    assert.equal(errors.length, 3);
    assert.match(errors[2]!.message, new RegExp(`^${2000 - kept.length} events were dropped`));
    // room again: appends are kept
    assert.equal(j.append('after', { type: 'info', pad }), kept.length + 1);
    kept.push('after');
    await j.close();
    // on disk: exactly the kept ones, no gap (a gap would read as damage)
    const k = await openJournal(dir);
    assert.equal(k.stats().skippedOnOpen, 0);
    assert.deepEqual((await all(k)).map((e) => e.id), kept);
    await k.close();
  });

  it('survives SIGKILL: every flushed record is there, in order, no gap, no duplicate', async () => {
    const script = fileURLToPath(new URL('../fixtures/journal-writer.ts', import.meta.url));
    for (const killAt of [3000, 7000]) {
      const dir = await tempDir();
      const child = spawn(process.execPath, ['--import', 'tsx', script, dir, '10000'], { stdio: ['ignore', 'pipe', 'inherit'] });
      let flushed = 0;
      let out = '';
      await new Promise<void>((resolve, reject) => {
        child.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          for (const m of out.matchAll(/flushed (\d+)/g)) flushed = Math.max(flushed, Number(m[1]));
          if (flushed >= killAt && child.exitCode === null && !child.killed) child.kill('SIGKILL');
        });
        child.on('exit', () => resolve());
        child.on('error', reject);
      });
      assert.ok(!out.includes('done'), `the writer finished before the kill (flushed ${flushed})`);
      const j = await openJournal(dir);
      const got = await all(j);
      assert.ok(j.lastSeq >= flushed, `lastSeq ${j.lastSeq} < flushed ${flushed}`);
      assert.ok(j.stats().skippedOnOpen <= 1);
      assert.equal(got.length, j.lastSeq);
      got.forEach((e, k) => {
        assert.equal(e.seq, k + 1);
        assert.equal(e.id, `e${k + 1}`);
        assert.deepEqual(e.event, { i: k + 1, pad: 'x'.repeat((k + 1) % 97) });
      });
      await j.close();
    }
  });
});
