// adapters/exec/trackFile.ts: keepalived's strtol parsing, and a real watched file in a temp dir.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rename, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parseTrackFileValue, readTrackFile, watchTrackFile, type TrackFileWatch } from '../../adapters/exec/trackFile.js';

const enc = (s: string) => Buffer.from(s, 'latin1');

describe('parseTrackFileValue (strtol(buf, NULL, 0), keepalived range checks)', () => {
  const table: [string, number | null][] = [
    ['5\n', 5], ['  -12abc', -12], ['+7', 7], ['\t\n\v\f\r 3', 3],
    ['0x1f', 31], ['0X1F\n', 31], ['0x', 0], ['0xg', 0], ['010', 8], ['08', 0], ['0', 0],
    ['abc', 0], ['', 0], ['-', 0], ['- 5', 0], ['12 34', 12],
    ['2147483647', 2147483647], ['2147483648', 2147483648], ['2147483649', null],
    ['-2147483648', -2147483648], ['-2147483649', null],
    ['9223372036854775807', null], ['99999999999999999999999', null], ['-9223372036854775809', null],
    ['\u0000 5', 0], ['4\u00009', 4],
  ];
  for (const [text, want] of table) {
    test(JSON.stringify(text), () => assert.equal(parseTrackFileValue(enc(text)), want));
  }
  test('only the first 127 bytes are read', () => {
    assert.equal(parseTrackFileValue(enc(`${' '.repeat(126)}7`)), 7);
    assert.equal(parseTrackFileValue(enc(`${' '.repeat(127)}7`)), 0);
  });
});

describe('watchTrackFile', () => {
  let dir = '';
  const open: TrackFileWatch[] = [];
  before(async () => { dir = await mkdtemp(join(tmpdir(), 'vigil-trackfile-')); });
  after(async () => { for (const w of open) w.close(); await rm(dir, { recursive: true, force: true }); });

  async function start(name: string, extra: Parameters<typeof watchTrackFile>[0] extends infer O ? Partial<O> : never = {}) {
    const changes: { value: number; previous: number }[] = [];
    const warnings: string[] = [];
    let wake: (() => void) | undefined;
    const r = await watchTrackFile({ path: join(dir, name), settleMs: 10, onWarning: (m) => warnings.push(m), ...extra }, (c) => {
      changes.push(c);
      wake?.();
    });
    assert.ok(r.ok, r.ok ? '' : r.error);
    open.push(r.watch);
    /** wait until `n` changes have been seen */
    const seen = async (n: number, ms = 2000) => {
      const until = Date.now() + ms;
      while (changes.length < n && Date.now() < until) await new Promise<void>((res) => { wake = res; setTimeout(res, 50); });
      assert.equal(changes.length, n, JSON.stringify(changes));
    };
    return { w: r.watch, changes, warnings, seen };
  }

  test('missing file is 0; writes, garbage, atomic replace and delete are followed', async () => {
    const { w, changes, seen } = await start('a');
    assert.equal(w.value, 0);
    await writeFile(join(dir, 'a'), '5\n');
    await seen(1);
    assert.deepEqual(changes[0], { value: 5, previous: 0 });
    await writeFile(join(dir, 'a'), 'garbage\n'); // no digits: 0, as keepalived
    await seen(2);
    assert.equal(w.value, 0);
    await writeFile(join(dir, 'a.tmp'), '-20\n');
    await rename(join(dir, 'a.tmp'), join(dir, 'a'));
    await seen(3);
    assert.equal(w.value, -20);
    await unlink(join(dir, 'a'));
    await seen(4);
    assert.deepEqual(changes.map((c) => c.value), [5, 0, -20, 0]);
  });

  test('an out-of-range number is ignored, the value stays; unchanged values are not reported', async () => {
    await writeFile(join(dir, 'b'), '3');
    const { w, changes, warnings, seen } = await start('b');
    assert.equal(w.value, 3);
    await writeFile(join(dir, 'b'), '99999999999');
    await writeFile(join(dir, 'other'), '1'); // another file in the same directory
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(w.value, 3);
    assert.equal(changes.length, 0);
    assert.equal(warnings.length, 1);
    await writeFile(join(dir, 'b'), '3\n');
    await writeFile(join(dir, 'b'), '0x10');
    await seen(1);
    assert.deepEqual(changes, [{ value: 16, previous: 3 }]);
  });

  test('init_file writes the value when missing, overwrites only when asked, never on reload', async () => {
    const a = await start('init1', { init: { value: 7, overwrite: false } });
    assert.equal(a.w.value, 7);
    assert.equal(await readFile(join(dir, 'init1'), 'utf8'), '7\n');
    await writeFile(join(dir, 'init2'), '1\n');
    const b = await start('init2', { init: { value: -3, overwrite: false } });
    assert.equal(b.w.value, 1);
    const c = await start('init2', { init: { value: -3, overwrite: true } });
    assert.equal(c.w.value, -3);
    const d = await start('init3', { init: { value: 9, overwrite: true }, reload: true });
    assert.equal(d.w.value, 0);
    assert.equal(await readTrackFile(join(dir, 'init3')), 0);
  });

  test('a missing directory or a non-regular file to overwrite is an error value, not a throw', async () => {
    const r = await watchTrackFile({ path: join(dir, 'no-such-dir', 'x') }, () => {});
    assert.equal(r.ok, false);
    await mkdir(join(dir, 'adir'));
    const r2 = await watchTrackFile({ path: join(dir, 'adir'), init: { value: 1, overwrite: true } }, () => {});
    assert.equal(r2.ok, false);
  });

  test('a FIFO in place of the file does not hang the read', async () => {
    const { execFileSync } = await import('node:child_process');
    execFileSync('mkfifo', [join(dir, 'fifo')]);
    assert.equal(await readTrackFile(join(dir, 'fifo')), 0);
  });
});
