// track_src_ip on real sockets and netlink: host 1 runs VI_1 as a unicast MASTER from a secondary
// address (unicast_src_ip 10.99.0.21) with track_src_ip. Deleting that address with `ip addr del`
// puts the instance in FAULT (its VIP released); adding it back makes it MASTER again.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Lab, netnsSkipReason } from './lab.js';
import { addresses, cleanup, eventually, startVigil, tempDir, vigilBuilt, type Daemon } from './daemons.js';
import { controlSock, nextLine, status, vrrpConf } from '../faults/helpers.js';

const skip = netnsSkipReason() ?? vigilBuilt();
if (skip) console.log(`# skipping track-src: ${skip}`);

const VIP = '10.99.0.100';
const SRC = '10.99.0.21';

describe('track_src_ip: the configured source address deleted and re-added', { skip, timeout: 60_000 }, () => {
  let lab: Lab;
  let dir: string;
  let h1: Daemon;

  before(async () => {
    lab = await Lab.create({ hosts: 2, tag: 'tsrc' });
    dir = tempDir('tsrc');
    await lab.exec(1, 'ip', ['addr', 'add', `${SRC}/24`, 'dev', 'eth0']);
    h1 = startVigil(lab, 1, vrrpConf({ node: 'h1', prio: 150, extra: `  unicast_src_ip ${SRC}\n  track_src_ip\n  unicast_peer {\n    10.99.0.12\n  }\n` }), dir);
    await h1.waitFor(/\(VI_1\) Entering MASTER STATE/, 5000);
    await eventually(async () => (await addresses(lab, 1)).includes(VIP), 2000, 'the VIP on host 1');
  });
  after(async () => {
    await h1?.stop();
    await lab?.destroy();
    if (dir) cleanup(dir);
  });

  test('deleted: FAULT and the VIP released; re-added: MASTER again', async () => {
    const fault = nextLine(h1, /\(VI_1\) Entering FAULT STATE/, 3000);
    const t0 = Date.now();
    await lab.exec(1, 'ip', ['addr', 'del', `${SRC}/24`, 'dev', 'eth0']);
    await fault;
    const faultMs = Date.now() - t0;
    await eventually(async () => !(await addresses(lab, 1)).includes(VIP), 2000, 'the VIP released');
    const st = (await status(controlSock(dir, 1))).instances[0]!;
    assert.deepEqual([st.state, st.faults], ['FAULT', [`src-ip:${SRC}`]]);
    assert.ok(h1.lines.some((l) => l.includes(`source address ${SRC} is no longer on the host (track_src_ip)`)));
    const master = nextLine(h1, /\(VI_1\) Entering MASTER STATE/, 5000);
    await lab.exec(1, 'ip', ['addr', 'add', `${SRC}/24`, 'dev', 'eth0']);
    await master;
    await eventually(async () => (await addresses(lab, 1)).includes(VIP), 2000, 'the VIP back');
    console.log(`# track_src_ip: FAULT ${faultMs} ms after the address was deleted; MASTER again after it came back`);
  });
});
