// Fault: SIGKILL mid-failover. Host 1 (MASTER, 150) is SIGKILLed: no priority-0 advert, and its VIP
// stays on its interface (nobody removes it). Host 2 (BACKUP, 100) starts counting its
// Master_Down_Interval and is SIGKILLed in the middle of it, before it can take over. Then both are
// restarted on their journals: host 1 first removes the VIP its crash left (as keepalived does at
// start; seen with `ip monitor address`), the pair converges to one MASTER holding the only copy of
// the VIP, and each journal holds every transition of both lives of its daemon.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { Lab, netnsSkipReason } from '../netns/lab.js';
import { addresses, cleanup, eventually, startVigil, tempDir, vigilBuilt, type Daemon } from '../netns/daemons.js';
import { assertAlive, assertJournalHasTransitions, controlSock, journalDir, masterDownMs, sleep, Timeline, vrrpConf } from './helpers.js';

const skip = netnsSkipReason() ?? vigilBuilt();
if (skip) console.log(`# skipping faults/crash: ${skip}`);

const VIP = '10.99.0.100';

describe('fault: SIGKILL mid-failover, then restart', { skip, timeout: 60_000 }, () => {
  let lab: Lab;
  let dir: string;
  const lives: Daemon[][] = [[], [], []];
  const tl = new Timeline();
  const start = (i: 1 | 2) => {
    const d = startVigil(lab, i, vrrpConf({ node: `h${i}`, prio: i === 1 ? 150 : 100 }), dir);
    tl.watch(d);
    lives[i]!.push(d);
    return d;
  };
  const last = (i: 1 | 2) => lives[i]!.at(-1)!;

  before(async () => {
    lab = await Lab.create({ hosts: 2, tag: 'fcrs' });
    dir = tempDir('fcrs');
    start(2);
    start(1);
    await last(1).waitFor(/Entering MASTER STATE/, 5000);
    await eventually(() => tl.masters('VI_1').join() === '1', 5000, 'host 1 the only MASTER');
  });
  after(async () => {
    await Promise.all(lives.flat().map((d) => d.stop('SIGKILL')));
    await lab?.destroy();
    if (dir) cleanup(dir);
  });

  test('both killed mid-failover: the restarted MASTER removes the VIP its crash left, one MASTER again', async () => {
    await sleep(200);
    assert.equal(await last(1).stop('SIGKILL'), 'SIGKILL');
    const killed = Date.now();
    assert.ok((await addresses(lab, 1)).includes(VIP), 'the crash left the VIP on host 1');
    // host 2 heard its last advert at most one interval before the kill: it is counting down now
    const masterDown = masterDownMs(100, 0.1);
    await sleep(masterDown / 2 - (Date.now() - killed));
    const at = Date.now() - killed;
    assert.equal(await last(2).stop('SIGKILL'), 'SIGKILL');
    console.log(`# host 2 SIGKILLed ${at} ms into its ${masterDown.toFixed(1)} ms Master_Down_Interval`);
    assert.equal(tl.count('VI_1', 'MASTER', killed, 2), 0, 'host 2 never took over');
    assert.ok(!(await addresses(lab, 2)).includes(VIP));

    // host 1 restarts alone: the stale VIP goes before anything else happens
    const mon: ChildProcess = lab.spawn(1, 'ip', ['-o', 'monitor', 'address']);
    let events = '';
    mon.stdout!.on('data', (b: Buffer) => (events += b.toString()));
    await sleep(200);
    const h1 = start(1);
    await h1.waitFor(/\(VI_1\) Entering BACKUP STATE/, 5000);
    await h1.waitFor(/\(VI_1\) Entering MASTER STATE/, 5000);
    await sleep(200);
    mon.kill();
    const ev = events.split('\n').filter((l) => l.includes(`${VIP}/24`));
    assert.match(ev[0] ?? '', /^Deleted /, `the stale VIP removed first:\n${events}`);
    assert.ok(ev.slice(1).some((l) => !l.startsWith('Deleted')), `then added back as MASTER:\n${events}`);

    const h2 = start(2);
    await h2.waitFor(/\(VI_1\) Entering BACKUP STATE/, 5000);
    await sleep(1000);
    assert.deepEqual(tl.masters('VI_1'), [1], 'one MASTER');
    assert.equal(tl.count('VI_1', 'MASTER', killed, 2), 0, 'host 2 never MASTER: it found host 1 advertising');
    assert.ok((await addresses(lab, 1)).includes(VIP));
    assert.ok(!(await addresses(lab, 2)).includes(VIP));
    await assertAlive(h1, controlSock(dir, 1));
    await assertAlive(h2, controlSock(dir, 2));
  });

  test('each journal holds every transition of both lives', async () => {
    assert.equal(await last(1).stop(), 0);
    assert.equal(await last(2).stop(), 0);
    await assertJournalHasTransitions(lives[1]!, journalDir(dir, 1));
    await assertJournalHasTransitions(lives[2]!, journalDir(dir, 2));
  });
});
