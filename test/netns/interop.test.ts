// vigil and Debian's keepalived 2.2.7 as one VRRP pair: the right master is elected and the VIP
// fails over both ways, for v2 with PASS authentication, v3 multicast and v3 unicast. tshark
// decodes vigil's adverts as valid VRRP (no malformed packet, no bad checksum).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Lab, netnsSkipReason, sh } from './lab.js';
import { addresses, cleanup, eventually, keepalivedAvailable, ping, startKeepalived, startVigil, tempDir, vigilBuilt, type Daemon } from './daemons.js';

const skip = netnsSkipReason() ?? vigilBuilt() ?? keepalivedAvailable();
if (skip) console.log(`# skipping interop: ${skip}`);

interface Mode {
  version: 2 | 3;
  advert: string;
  unicast?: boolean;
}

function conf(lab: Lab, me: number, peer: number, priority: number, m: Mode): string {
  return `global_defs {
  router_id h${me}
  vrrp_garp_master_delay 0
}
vrrp_instance VI_1 {
  state BACKUP
  interface eth0
  virtual_router_id 51
  priority ${priority}
  advert_int ${m.advert}
  version ${m.version}
${m.version === 2 ? '  authentication {\n    auth_type PASS\n    auth_pass secret1\n  }\n' : ''}${
    m.unicast ? `  unicast_src_ip ${lab.addr(me)}\n  unicast_peer {\n    ${lab.addr(peer)}\n  }\n` : ''
  }  virtual_ipaddress {
    10.99.0.100/24
  }
}
`;
}

const MODES: Array<[string, Mode]> = [
  ['v2 PASS, 1 s, multicast', { version: 2, advert: '1' }],
  ['v3, 0.1 s, multicast', { version: 3, advert: '0.1' }],
  ['v3, 0.1 s, unicast', { version: 3, advert: '0.1', unicast: true }],
];

describe('interop with keepalived 2.2.7', { skip }, () => {
  let lab: Lab;
  let dir: string;
  const running: Daemon[] = [];
  const track = (d: Daemon) => (running.push(d), d);

  before(async () => {
    lab = await Lab.create({ hosts: 3, tag: 'iop' });
    dir = tempDir('iop');
  });
  after(async () => {
    await Promise.all(running.map((d) => d.stop('SIGKILL')));
    await lab.destroy();
    cleanup(dir);
  });
  const stopAll = () => Promise.all(running.splice(0).map((d) => d.stop('SIGKILL')));
  const vipOn = (i: number) => eventually(async () => (await addresses(lab, i)).includes('10.99.0.100'), 3000, `VIP on host ${i}`);

  for (const [name, m] of MODES) {
    const slow = m.version === 2 ? 5000 : 2000;

    test(`${name}: keepalived master, vigil backup, then the other way round`, async () => {
      // keepalived (150) is master; vigil (100) accepts it
      const k = track(startKeepalived(lab, 1, conf(lab, 1, 2, 150, m), dir));
      await k.waitFor(/Entering MASTER STATE/, slow + 2000);
      const v = track(startVigil(lab, 2, conf(lab, 2, 1, 100, m), dir));
      await v.waitFor(/Entering BACKUP STATE/);
      await new Promise((r) => setTimeout(r, m.version === 2 ? 4500 : 800)); // longer than vigil's Master_Down
      assert.ok(!v.lines.some((l) => /MASTER/.test(l)), `vigil must accept keepalived's adverts:\n${v.lines.join('\n')}`);
      // keepalived dies: vigil takes over
      await k.stop('SIGKILL');
      await v.waitFor(/Entering MASTER STATE/, slow);
      await vipOn(2);
      await eventually(() => ping(lab, 3, '10.99.0.100'), 2000, 'VIP answers from vigil');
      // keepalived comes back with the higher priority and preempts vigil
      const k2 = track(startKeepalived(lab, 1, conf(lab, 1, 2, 150, m), dir));
      await k2.waitFor(/Entering MASTER STATE/, slow + 2000);
      await v.waitFor(/Entering BACKUP STATE$/, slow);
      await vipOn(1);
      await stopAll();
    });

    test(`${name}: vigil master, keepalived backup; graceful stop hands over`, async () => {
      const v = track(startVigil(lab, 1, conf(lab, 1, 2, 150, m), dir));
      await v.waitFor(/Entering MASTER STATE/, slow);
      const k = track(startKeepalived(lab, 2, conf(lab, 2, 1, 100, m), dir));
      await k.waitFor(/Entering BACKUP STATE/, 3000);
      await new Promise((r) => setTimeout(r, m.version === 2 ? 4500 : 800));
      assert.ok(!k.lines.some((l) => /Entering MASTER/.test(l)), `keepalived must accept vigil's adverts:\n${k.lines.join('\n')}`);
      assert.ok(!k.lines.some((l) => /invalid|mismatch|bad|wrong/i.test(l)), `keepalived complained:\n${k.lines.join('\n')}`);
      assert.equal(await v.stop('SIGTERM'), 0);
      // priority 0 → keepalived takes over after Skew_Time, not Master_Down_Interval
      await k.waitFor(/Entering MASTER STATE/, m.version === 2 ? 1500 : 500);
      await vipOn(2);
      await stopAll();
    });
  }

  test('tshark decodes vigil’s v2 and v3 adverts as VRRP without warnings', async () => {
    for (const m of [MODES[0]![1], MODES[1]![1]]) {
      const pcap = join(dir, `v${m.version}.pcap`);
      const cap = lab.spawn('sw', 'tcpdump', ['-i', 'br0', '--immediate-mode', '-U', '-w', pcap, 'ip proto 112']);
      await new Promise((r) => setTimeout(r, 300));
      const v = track(startVigil(lab, 1, conf(lab, 1, 2, 150, m), dir));
      await v.waitFor(/Entering MASTER STATE/, 5000);
      await new Promise((r) => setTimeout(r, m.version === 2 ? 2200 : 500));
      await v.stop('SIGTERM');
      await new Promise((r) => setTimeout(r, 200));
      cap.kill('SIGINT');
      await new Promise((r) => cap.once('exit', r));
      const out = await sh('tshark', ['-r', pcap, '-V', '-o', 'vrrp.v3_checksum_as_in_v2:FALSE']);
      const packets = (out.match(/^Frame \d+:/gm) ?? []).length;
      assert.ok(packets >= 3, `captured ${packets} packets`);
      assert.equal((out.match(/Virtual Router Redundancy Protocol/g) ?? []).length, packets);
      assert.ok(!/Malformed|incorrect|Expert Info \(Warning|Expert Info \(Error/i.test(out), out.slice(0, 3000));
      assert.match(out, /Priority: 0 \(Current Master has stopped participating in VRRP\)/);
      assert.match(out, new RegExp(`VRRP protocol version: ${m.version}`));
      assert.match(out, /Checksum Status: Good/);
      await stopAll();
    }
  });
});
