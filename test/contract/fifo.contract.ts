// What every notify FIFO writer must do, run against the fake (test/unit/fifo-fake.test.ts) and
// against real FIFOs (test/integration/notifier-smtp.test.ts).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { OpenFifo } from '../../adapters/fifo/types.js';

export interface FifoHarness {
  readonly openFifo: OpenFifo;
  /** a path nothing exists at yet */
  path(name: string): string;
  /** start reading `path`: the lines read so far */
  read(path: string): { lines(): string[]; stop(): Promise<void> };
  teardown(): Promise<void>;
}

const BOUND = { timeout: 10_000 };

async function until(what: string, cond: () => boolean): Promise<void> {
  const end = Date.now() + 5000;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

export function runFifoContract(name: string, setup: () => Promise<FifoHarness>): void {
  describe(`FIFO contract: ${name}`, () => {
    let h: FifoHarness;
    before(async () => { h = await setup(); });
    after(async () => { await h?.teardown(); });

    it('lines written reach the reader whole and in order', BOUND, async () => {
      const path = h.path('ordered');
      const w = await h.openFifo(path);
      const r = h.read(path);
      const want = Array.from({ length: 50 }, (_, i) => `INSTANCE "VI_${i}" MASTER ${i}\n`);
      for (const line of want) assert.equal(w.write(line), true);
      await until('50 lines', () => r.lines().length === 50);
      assert.deepEqual(r.lines(), want.map((l) => l.trimEnd()));
      assert.deepEqual(w.stats(), { written: 50, dropped: 0 });
      await r.stop();
      await w.close();
    });

    it('nobody reading: writes never wait; what does not fit is dropped and counted', BOUND, async () => {
      const w = await h.openFifo(h.path('unread'));
      let dropped = 0;
      for (let i = 0; i < 100_000 && dropped === 0; i++) if (!w.write(`INSTANCE "VI_1" BACKUP ${i}\n`)) dropped++;
      assert.equal(dropped, 1);
      const s = w.stats();
      assert.ok(s.written > 0);
      assert.equal(s.dropped, 1);
      assert.match(s.lastError ?? '', /full/);
      await w.close();
    });

    it('close is idempotent; a write after it is dropped', BOUND, async () => {
      const w = await h.openFifo(h.path('closed'));
      await w.close();
      await w.close();
      assert.equal(w.write('x\n'), false);
      assert.equal(w.stats().dropped, 1);
    });
  });
}
