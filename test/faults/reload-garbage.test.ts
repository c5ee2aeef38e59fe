// Fault: the config file is replaced by garbage, then `vigil reload`. Host 1 (MASTER) and host 2
// (BACKUP) run VI_1; host 3 pings the VIP every 10 ms through each reload. Each kind of garbage
// (random bytes, random text, a 10 MB file, an executable, a directory, a symlink loop) is refused:
// `vigil reload` exits 3 (cannot read it) or 4 (errors) with a diagnostic naming the file, the
// running config stays (no transition anywhere, no ping lost), and a good file reloads afterwards.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Lab, netnsSkipReason } from '../netns/lab.js';
import { cleanup, eventually, ping, startVigil, tempDir, vigilBuilt, vipSettled, type Daemon } from '../netns/daemons.js';
import { assertAlive, controlSock, explained, labState, sleep, status, Timeline, vigilCli, vrrpConf } from './helpers.js';

const skip = netnsSkipReason() ?? vigilBuilt();
if (skip) console.log(`# skipping faults/reload-garbage: ${skip}`);

const VIP = '10.99.0.100';
const GOOD = vrrpConf({ node: 'h1', prio: 150 });

/** printable junk with braces, quotes and newlines, no NUL: it reaches the parser */
function junkText(bytes: number): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz_0123456789 {}"#!$@~\n\t.,/';
  const r = randomBytes(bytes);
  let s = '';
  for (const b of r) s += alphabet[b % alphabet.length];
  return s;
}

describe('fault: the config file replaced by garbage before a reload', { skip, timeout: 120_000 }, () => {
  let lab: Lab;
  let dir: string;
  let h1: Daemon;
  let h2: Daemon;
  const tl = new Timeline();
  const file = () => join(dir, 'vigil-h1.conf');

  /** ping the VIP from host 3 every 10 ms while `during` runs; the pings lost */
  async function probe(during: () => Promise<void>): Promise<{ sent: number; lost: number }> {
    const p = lab.spawn(3, 'ping', ['-i', '0.01', '-W', '1', VIP]);
    let out = '';
    p.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    await sleep(200);
    await during();
    await sleep(200);
    p.kill('SIGINT');
    await new Promise((r) => p.on('exit', r));
    const m = /(\d+) packets transmitted, (\d+) received/.exec(out);
    assert.ok(m, out);
    return { sent: Number(m[1]), lost: Number(m[1]) - Number(m[2]) };
  }

  const replace = (make: (f: string) => void) => {
    rmSync(file(), { recursive: true, force: true });
    make(file());
  };

  // the 10 MB file last: it is a known bug (below) whose failover would disturb the cases after it
  const cases: [string, (f: string) => void, number[], string?][] = [
    ['random bytes', (f) => writeFileSync(f, randomBytes(4096)), [3]],
    ['random text', (f) => writeFileSync(f, junkText(8192)), [4]],
    ['an executable', (f) => copyFileSync(process.execPath, f), [3]],
    ['a directory', (f) => mkdirSync(f), [3]],
    ['a symlink loop', (f) => symlinkSync(f, f), [3]],
    // parsing 10 MB of junk held the event loop ~3 s (host 2 took over): files over 4 MiB are refused unread
    ['a 10 MB file', (f) => writeFileSync(f, junkText(10 << 20)), [3]],
  ];

  before(async () => {
    lab = await Lab.create({ hosts: 3, tag: 'fgrb' });
    dir = tempDir('fgrb');
    h2 = startVigil(lab, 2, vrrpConf({ node: 'h2', prio: 100 }), dir);
    h1 = startVigil(lab, 1, GOOD, dir);
    tl.watch(h1);
    tl.watch(h2);
    await explained(lab, [h1, h2], async () => {
      await h1.waitFor(/Entering MASTER STATE/, 5000);
      await eventually(() => tl.masters('VI_1').join() === '1', 5000, 'host 1 the only MASTER');
      await vipSettled(lab, 1, [2], VIP);
      await eventually(() => ping(lab, 3, VIP), 5000, 'VIP reachable');
    });
  });
  after(async () => {
    await Promise.all([h1?.stop(), h2?.stop()]);
    await lab?.destroy();
    if (dir) cleanup(dir);
  });

  for (const [what, make, codes, todo] of cases) {
    test(`${what}: refused with a diagnostic naming the file; the old config runs on, no ping lost`, { ...(todo ? { todo } : {}) }, async () => {
      replace(make);
      await eventually(() => tl.masters('VI_1').join() === '1', 5000, 'host 1 the only MASTER');
      const n = tl.changes.length;
      let r = { code: -1, stdout: '', stderr: '' };
      let ms = 0;
      const loss = await probe(async () => {
        const t0 = performance.now();
        r = await vigilCli(['reload', '--control', controlSock(dir, 1)]);
        ms = performance.now() - t0;
      });
      const first = r.stderr.split('\n')[0] ?? '';
      console.log(`# ${what}: reload exit ${r.code} in ${ms.toFixed(0)} ms, ${r.stderr.split('\n').length - 1} stderr lines (${(r.stderr.length / 1024).toFixed(0)} KiB), ` +
        `${loss.lost} of ${loss.sent} pings lost; first: ${first.slice(0, 160)}`);
      assert.ok(codes.includes(r.code), `exit ${r.code}: ${r.stderr.slice(0, 2000)}`);
      assert.ok(r.stderr.includes(file()), `the diagnostics name ${file()}: ${r.stderr.slice(0, 2000)}`);
      if (loss.lost) assert.fail(`${loss.lost} of ${loss.sent} pings lost\n--- lab state ---\n${await labState(lab, [h1, h2])}`);
      assert.deepEqual(tl.changes.slice(n), [], 'no transition anywhere');
      const st = (await status(controlSock(dir, 1))).instances;
      assert.deepEqual(st.map((i) => [i.instance, i.state, i.priority]), [['VI_1', 'MASTER', 150]]);
      await assertAlive(h1, controlSock(dir, 1));
    });
  }

  test('a good file again reloads', async () => {
    replace((f) => writeFileSync(f, GOOD.replace('priority 150', 'priority 160')));
    const r = await vigilCli(['reload', '--control', controlSock(dir, 1)]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /changed in place: VI_1 \(priority\)/);
    const failed = h1.lines.filter((l) => /Reload refused/.test(l)).length;
    assert.equal(failed, cases.length, 'each refusal logged');
  });
});
