// adapters/service/trim.ts: malloc_trim through the packet addon, every few seconds; nothing at
// all without the addon. The real call runs too (glibc: it returns whether memory was released).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadPacketAddon } from '../../adapters/ip/packet.js';
import { startMallocTrim } from '../../adapters/service/trim.js';

test('trims periodically through the addon, counts the trims that released memory', async () => {
  let calls = 0;
  const t = startMallocTrim({ everyMs: 20, load: () => ({ ok: true, addon: { open: () => 0, send: () => 0, close: () => {}, mallocTrim: () => ++calls % 2 === 0 } }) });
  await new Promise((r) => setTimeout(r, 130));
  t.stop();
  const n = calls;
  assert.ok(n >= 3, `trimmed ${n} times in 130 ms`);
  assert.equal(t.runs, n);
  assert.equal(t.released, Math.floor(n / 2));
  await new Promise((r) => setTimeout(r, 60));
  assert.equal(calls, n, 'nothing after stop');
});

test('without the addon (or one without mallocTrim) nothing runs and nothing throws', async () => {
  const none = startMallocTrim({ everyMs: 10, load: () => ({ ok: false, error: 'not built' }) });
  const old = startMallocTrim({ everyMs: 10, load: () => ({ ok: true, addon: { open: () => 0, send: () => 0, close: () => {} } }) });
  await new Promise((r) => setTimeout(r, 40));
  assert.equal(none.runs + old.runs, 0);
  none.stop();
  old.stop();
});

const addon = loadPacketAddon();
test('the real malloc_trim answers (a smoke test: whether it frees depends on the heap)', { skip: addon.ok && addon.addon.mallocTrim ? false : 'the packet addon is not built (bash adapters/ip/native/build.sh)' }, () => {
  // garbage outside V8's heap: Buffers over the pool size are malloc'd
  let keep: Buffer[] = Array.from({ length: 200 }, () => Buffer.alloc(64 * 1024, 1));
  assert.equal(keep.length, 200);
  keep = [];
  const r = (addon as { addon: { mallocTrim(): boolean } }).addon.mallocTrim();
  assert.equal(typeof r, 'boolean');
});
