// Property test of the file journal (fast-check): random sequences of append / flush / reopen /
// torn tail / corrupt tail / crash (the directory copied while the writer runs, as SIGKILL leaves
// it) never lose a flushed record and never yield a record that differs from what was appended.
import assert from 'node:assert/strict';
import { cp, mkdtemp, readdir, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import fc from 'fast-check';
import { openJournal, type FileJournal } from '../../adapters/journal/file.js';

type Op =
  | { op: 'append'; n: number; size: number }
  | { op: 'flush' }
  | { op: 'reopen' }
  | { op: 'tear'; cut: number }
  | { op: 'flip'; back: number; bit: number }
  | { op: 'crash' };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ op: fc.constant('append' as const), n: fc.integer({ min: 1, max: 40 }), size: fc.integer({ min: 0, max: 300 }) }) },
  { weight: 2, arbitrary: fc.constant({ op: 'flush' as const }) },
  { weight: 1, arbitrary: fc.constant({ op: 'reopen' as const }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('tear' as const), cut: fc.integer({ min: 1, max: 2000 }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('flip' as const), back: fc.integer({ min: 1, max: 2000 }), bit: fc.integer({ min: 0, max: 7 }) }) },
  { weight: 1, arbitrary: fc.constant({ op: 'crash' as const }) },
);

interface Rec {
  id: string;
  event: unknown;
}

test('the file journal never loses a flushed record nor yields a corrupt one', async () => {
  const root = await mkdtemp(join(tmpdir(), 'vigil-journal-prop-'));
  let runs = 0;
  try {
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 25 }), async (ops) => {
        let dir = join(root, `r${runs++}`);
        const opts = { segmentBytes: 3000, maxBytes: 1 << 30, syncIntervalMs: 2 };
        let j: FileJournal = await openJournal(dir, opts);
        const model: Rec[] = []; // model[seq - 1]
        let durable = 0; // records 1..durable must survive anything below
        const size = (r: Rec): number => 16 + Buffer.byteLength(JSON.stringify(r));

        // records present after a reopen must be a prefix of the model, at least `durable` long
        const recovered = async (): Promise<void> => {
          assert.ok(j.lastSeq >= durable, `lastSeq ${j.lastSeq} < durable ${durable}`);
          assert.ok(j.lastSeq <= model.length);
          model.length = j.lastSeq;
          durable = j.lastSeq;
        };
        // damage only bytes of records past `durable` in the last segment (what a crash can tear)
        const damageable = async (): Promise<{ path: string; size: number; from: number } | null> => {
          const segs = (await readdir(dir)).filter((n) => n.startsWith('journal-')).sort();
          const last = segs.at(-1)!;
          const first = Number(last.slice(8, 24));
          const path = join(dir, last);
          const fileSize = (await stat(path)).size;
          let tail = 0;
          for (let s = Math.max(durable + 1, first); s <= model.length; s++) tail += size(model[s - 1]!);
          return tail > 0 ? { path, size: fileSize, from: fileSize - tail } : null;
        };

        for (const o of ops) {
          switch (o.op) {
            case 'append':
              for (let k = 0; k < o.n; k++) {
                const r: Rec = { id: `id${model.length + 1}`, event: { n: model.length + 1, s: 'é'.repeat(k % 3) + 'x'.repeat(o.size) } };
                assert.equal(j.append(r.id, r.event), model.length + 1);
                model.push(r);
              }
              break;
            case 'flush':
              await j.flush();
              durable = model.length;
              break;
            case 'reopen':
              await j.close();
              durable = model.length;
              j = await openJournal(dir, opts);
              assert.equal(j.stats().skippedOnOpen, 0);
              await recovered();
              break;
            case 'tear':
            case 'flip': {
              await j.close(); // everything is written; now pretend the records past `durable` were torn
              const d = await damageable();
              if (d) {
                if (o.op === 'tear') await truncate(d.path, Math.max(d.from, d.size - o.cut));
                else {
                  const b = await readFile(d.path);
                  const at = Math.max(d.from, d.size - o.back);
                  b[at] = b[at]! ^ (1 << o.bit);
                  await writeFile(d.path, b);
                }
              }
              j = await openJournal(dir, opts);
              assert.ok(j.stats().skippedOnOpen <= 1);
              await recovered();
              break;
            }
            case 'crash': {
              // copy the files while the writer may be mid-batch: the page cache as SIGKILL leaves it
              const copy = join(root, `r${runs++}`);
              await cp(dir, copy, { recursive: true });
              await j.close();
              dir = copy;
              j = await openJournal(dir, opts);
              assert.ok(j.stats().skippedOnOpen <= 1);
              await recovered();
              break;
            }
          }
          // whatever happened, reading yields exactly the model's records, in order
          let seq = 0;
          for await (const e of j.read()) {
            seq++;
            assert.equal(e.seq, seq);
            assert.deepEqual({ id: e.id, event: e.event }, model[seq - 1]);
          }
          assert.equal(seq, model.length);
        }
        await j.close();
      }),
      { numRuns: 60 },
    );
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
