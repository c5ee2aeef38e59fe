// vigil run -V (--dont-release-vrrp), keepalived's -V, on real sockets: host 1 is MASTER of VI_1
// with host 2 its BACKUP. Stopped with -V, host 1 sends no priority-0 advert (host 2 takes over
// only when its Master_Down timer runs out, not after Skew_Time) and keeps the VIP; the next vigil
// on host 1 removes that leftover at start. Stopped without -V, the priority 0 goes out and the
// VIP goes at once: the contrast.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Lab, netnsSkipReason } from './lab.js';
import { addresses, cleanup, eventually, startVigil, tempDir, vigilBuilt, type Daemon } from './daemons.js';
import { journalDir, journalEvents, nextLine, vrrpConf } from '../faults/helpers.js';

const skip = netnsSkipReason() ?? vigilBuilt();
if (skip) console.log(`# skipping dont-release: ${skip}`);

const VIP = '10.99.0.100';

describe('vigil run -V: no priority 0 and the VIPs kept at stop', { skip, timeout: 60_000 }, () => {
  let lab: Lab;
  let dir: string;
  let h2: Daemon;
  const h1conf = vrrpConf({ node: 'h1', prio: 150 });

  before(async () => {
    lab = await Lab.create({ hosts: 2, tag: 'dnrl' });
    dir = tempDir('dnrl');
    h2 = startVigil(lab, 2, vrrpConf({ node: 'h2', prio: 100 }), dir);
    await h2.waitFor(/VRRP started/, 5000);
  });
  after(async () => {
    await h2?.stop();
    await lab?.destroy();
    if (dir) cleanup(dir);
  });

  /** host 1 MASTER (with `extra` flags), then stopped: how host 2 took over, and host 1's addresses after */
  async function stopMaster(extra: string[]): Promise<{ cause: string; vipKept: boolean; log: string[] }> {
    const h1 = startVigil(lab, 1, h1conf, dir, extra);
    await h1.waitFor(/\(VI_1\) Entering MASTER STATE/, 5000);
    await nextLine(h2, /\(VI_1\) Entering BACKUP STATE/, 5000).catch(() => undefined);
    await eventually(async () => !(await addresses(lab, 2)).includes(VIP), 3000, 'host 2 without the VIP');
    const took = nextLine(h2, /\(VI_1\) Entering MASTER STATE/, 5000);
    assert.equal(await h1.stop(), 0);
    await took;
    // why host 2 took over, from its journal: a priority-0 advert, or its Master_Down timer
    let cause = '';
    await eventually(async () => {
      const last = (await journalEvents(journalDir(dir, 2))).filter((e) => e.type === 'vrrp.state' && e.data['to'] === 'MASTER').at(-1);
      cause = String(last?.data['cause'] ?? '');
      return cause !== '';
    }, 3000, "host 2's MASTER transition journaled");
    return { cause, vipKept: (await addresses(lab, 1)).includes(VIP), log: h1.lines };
  }

  test('with -V: host 2 waits out its Master_Down timer; host 1 keeps the VIP until the next vigil starts and removes it', async () => {
    const t0 = Date.now();
    const r = await stopMaster(['-V']);
    console.log(`# -V: host 2 MASTER ${Date.now() - t0} ms after host 1 started; host 1 kept the VIP: ${r.vipKept}`);
    assert.equal(r.vipKept, true, 'the VIP stays on host 1');
    assert.equal(r.cause, 'master-down-timeout', 'no priority-0 advert: host 2 waited out its timer');
    assert.ok(r.log.some((l) => l.includes('virtual addresses, routes and VMACs kept (--dont-release-vrrp)')));
    // the next vigil on host 1 (no -V) clears the leftover before it runs: at a priority below
    // host 2's it stays BACKUP, so the VIP is gone from host 1 for good, and host 2 keeps it
    const h1 = startVigil(lab, 1, vrrpConf({ node: 'h1', prio: 50 }), dir);
    await h1.waitFor(/\(VI_1\) Entering BACKUP STATE/, 5000);
    await eventually(async () => !(await addresses(lab, 1)).includes(VIP), 3000, 'the leftover VIP removed from host 1');
    assert.ok((await addresses(lab, 2)).includes(VIP), 'host 2 still holds the VIP');
    assert.equal(await h1.stop(), 0);
  });

  test('without -V: the priority 0 makes host 2 MASTER after Skew_Time, and host 1 releases the VIP', async () => {
    await eventually(async () => (await addresses(lab, 2)).includes(VIP), 5000, 'host 2 MASTER again');
    const r = await stopMaster([]);
    assert.equal(r.vipKept, false);
    assert.equal(r.cause, 'priority-0-received');
  });
});
