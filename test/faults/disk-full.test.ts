// Fault: the journal's disk fills up. Host 1's journal lives on a 256 KiB tmpfs mounted for the
// test; a filler file takes the rest of it. While the disk is full, host 1 keeps doing VRRP
// (handovers by operator priority both ways), logs the journal error once rather than once per
// retry, keeps the events in memory (nothing is lost: adapters/journal/file.ts retries the batch
// with a back-off up to 5 s) and, when the filler is removed, writes them all: the journal then
// holds every transition host 1 logged, in order.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Lab, netnsSkipReason } from '../netns/lab.js';
import { addresses, cleanup, eventually, startVigil, tempDir, vigilBuilt, type Daemon } from '../netns/daemons.js';
import { assertAlive, assertJournalHasTransitions, controlSock, journalEvents, nextLine, sleep, Timeline, vigilCli, vrrpConf } from './helpers.js';

const skip = netnsSkipReason() ?? vigilBuilt();
if (skip) console.log(`# skipping faults/disk-full: ${skip}`);

const VIP = '10.99.0.100';

describe('fault: the journal\'s disk is full', { skip, timeout: 60_000 }, () => {
  let lab: Lab;
  let dir: string;
  let mnt: string;
  let mounted = false;
  const d: Daemon[] = [];
  const tl = new Timeline();
  const journal = () => join(mnt, 'journal');
  const filler = () => join(mnt, 'filler');
  const journalErrors = () => d[1]!.lines.filter((l) => l.startsWith(`journal ${journal()}: `));

  /** one handover each way by operator priority on host 1 */
  async function failovers() {
    for (const [prio, to] of [['1', 2], ['restore', 1]] as const) {
      const took = nextLine(d[to]!, /\(VI_1\) Entering MASTER STATE/, 5000);
      const r = await vigilCli(['priority', 'VI_1', prio, '--control', controlSock(dir, 1)]);
      assert.equal(r.code, 0, r.stderr);
      await took;
      await eventually(async () => (await addresses(lab, to)).includes(VIP), 2000, `VIP on host ${to}`);
    }
  }

  before(async () => {
    lab = await Lab.create({ hosts: 2, tag: 'fdsk' });
    dir = tempDir('fdsk');
    mnt = join(dir, 'mnt');
    mkdirSync(mnt);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', mnt]);
    mounted = true;
    d[2] = startVigil(lab, 2, vrrpConf({ node: 'h2', prio: 100 }), dir);
    d[1] = startVigil(lab, 1, vrrpConf({ node: 'h1', prio: 150 }), dir, ['--journal', journal()]);
    for (const i of [1, 2]) tl.watch(d[i]!);
    await d[1]!.waitFor(/Entering MASTER STATE/, 5000);
    await eventually(() => tl.masters('VI_1').join() === '1', 5000, 'host 1 the only MASTER');
  });
  after(async () => {
    await Promise.all(d.filter(Boolean).map((x) => x.stop('SIGKILL')));
    if (mounted) execFileSync('umount', ['-l', mnt]);
    await lab?.destroy();
    if (dir) cleanup(dir);
  });

  test('disk full: VRRP goes on, one error line, nothing lost; space freed: the journal catches up', async () => {
    // fill the tmpfs to the last block
    const free = () => { const s = statfsSync(mnt); return s.bavail * s.bsize; };
    writeFileSync(filler(), Buffer.alloc(free()));
    assert.equal(free(), 0, 'the disk is full');

    await failovers();
    await failovers();
    await sleep(3000); // the writer retries meanwhile (back-off 10 ms, 20 ms … 5 s)
    const errs = journalErrors();
    console.log(`# disk full: ${errs.length} journal error line(s) in ~4 s of retries: ${errs[0] ?? ''}`);
    assert.ok(errs.length >= 1, 'the failure is reported');
    assert.match(errs[0]!, /ENOSPC|no space/i);
    assert.equal(errs.length, 1, `reported once, not per retry:\n${errs.join('\n')}`);
    assert.deepEqual(tl.masters('VI_1'), [1], 'VRRP unaffected');
    await assertAlive(d[1]!, controlSock(dir, 1));
    // (what fitted in the segment's last allocated page was written; the rest waits in memory)

    rmSync(filler());
    const freed = Date.now();
    // everything held in memory is written within the retry back-off (at most 5 s)
    await eventually(async () => (await journalEvents(journal())).filter((e) => e.type === 'vrrp.state').length >= tl.count('VI_1', 'MASTER', 0, 1) + tl.count('VI_1', 'BACKUP', 0, 1), 8000, 'the journal caught up');
    console.log(`# space freed: the journal caught up within ${Date.now() - freed} ms`);
    await failovers(); // and appends go on as usual
  });

  test('the journal holds every transition host 1 logged, before, during and after the full disk', async () => {
    assert.equal(await d[1]!.stop(), 0);
    await assertJournalHasTransitions([d[1]!], journal());
  });
});
