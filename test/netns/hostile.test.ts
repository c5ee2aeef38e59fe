// Hostile packets on the lab LAN against a running vigil MASTER: forged higher-priority adverts that
// fail one check each (TTL, checksum, length, password, v2 interval), an unknown VRID and a flood.
// Each is dropped and counted; none changes state. A control advert that passes every check does
// make the MASTER yield, so the injection path is proven to reach vigil.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createInterface } from 'node:readline';
import * as vb from '../fixtures/vrrpBytes.js';
import { Lab, netnsSkipReason } from './lab.js';
import { cleanup, startVigil, tempDir, vigilBuilt, type Daemon } from './daemons.js';

const skip = netnsSkipReason() ?? vigilBuilt();
if (skip) console.log(`# skipping hostile: ${skip}`);

const CONF = `vrrp_instance VI_3 {
  interface eth0
  virtual_router_id 51
  priority 150
  advert_int 0.1
  version 3
  virtual_ipaddress {
    10.99.0.100/24
  }
}
vrrp_instance VI_2 {
  interface eth0
  virtual_router_id 52
  priority 150
  advert_int 1
  version 2
  authentication {
    auth_type PASS
    auth_pass secret1
  }
  virtual_ipaddress {
    10.99.0.101/24
  }
}
`;

describe('hostile packets against a vigil MASTER', { skip }, () => {
  let lab: Lab;
  let dir: string;
  let v: Daemon;
  let send: (pkt: Uint8Array, count?: number) => Promise<number>;

  before(async () => {
    lab = await Lab.create({ hosts: 3, tag: 'hst' });
    dir = tempDir('hst');
    v = startVigil(lab, 1, CONF, dir, ['-l', 'debug']);
    await v.waitFor(/\(VI_3\) Entering MASTER STATE/, 5000);
    await v.waitFor(/\(VI_2\) Entering MASTER STATE/, 6000);
    // the hostile host sends to the VRRP group without joining it: give it a multicast route
    await lab.exec(3, 'ip', ['route', 'add', '224.0.0.0/4', 'dev', 'eth0']);
    const inj = lab.spawn(3, process.execPath, ['--import', 'tsx', 'test/netns/inject.ts'], { cwd: process.cwd() });
    const replies = createInterface({ input: inj.stdout! })[Symbol.asyncIterator]();
    send = async (pkt, count = 1) => {
      inj.stdin!.write(`${JSON.stringify({ dst: vb.GROUP, hex: Buffer.from(pkt).toString('hex'), count })}\n`);
      const r = await replies.next();
      return (JSON.parse(r.value as string) as { sent: number }).sent;
    };
  });
  after(async () => {
    await v?.stop('SIGKILL');
    await lab.destroy();
    cleanup(dir);
  });

  const src = '10.99.0.13';
  const v3 = (f: vb.Fields = {}) =>
    vb.vrrp({ version: 3, vrid: 51, priority: 254, interval: 10, pseudo: { src, dst: vb.GROUP }, ...f });
  const v2 = (f: vb.Fields = {}) => vb.vrrp({ version: 2, vrid: 52, priority: 254, interval: 1, pass: 'secret1', addresses: ['10.99.0.101'], ...f });
  const dropped = (instance: string, reason: string) =>
    v.waitFor(new RegExp(`\\(${instance}\\) advert dropped: ${reason} from ${src.replaceAll('.', '\\.')}`), 2000);

  test('each bad packet is dropped for its own reason, and nothing changes state', async () => {
    assert.equal(await send(vb.ipv4(v3(), { src, ttl: 64 })), 1);
    await dropped('VI_3', 'bad-ttl');
    await send(vb.ipv4(v3({ checksum: 0xbeef }), { src }));
    await dropped('VI_3', 'bad-checksum');
    // too short for its own address count: unreadable before any instance is matched, so the
    // socket counts it (and logs it at debug level), not VI_3
    await send(vb.ipv4(v3({ count: 3 }), { src }));
    await v.waitFor(/too short for 3 addresses/, 2000);
    await send(vb.ipv4(v2({ pass: 'guess' }), { src }));
    await dropped('VI_2', 'auth-failure');
    await send(vb.ipv4(v2({ interval: 3 }), { src }));
    await dropped('VI_2', 'interval-mismatch');
    await send(vb.ipv4(v3({ vrid: 99 }), { src }));
    await v.waitFor(/VRID 99/, 2000);
    // a flood of forged adverts with a bad checksum
    assert.equal(await send(vb.ipv4(v3({ checksum: 0x1234 }), { src }), 5000), 5000);
    await new Promise((r) => setTimeout(r, 500));
    assert.ok(!v.lines.some((l) => /Entering BACKUP STATE$|Entering FAULT/.test(l)), v.lines.join('\n'));
    assert.equal(v.proc.exitCode, null, 'vigil still running');
  });

  test('control: the same forged advert with every field right does take the VIP away', async () => {
    await send(vb.ipv4(v3(), { src }));
    await v.waitFor(/\(VI_3\) Entering BACKUP STATE$/, 1000);
  });
});
