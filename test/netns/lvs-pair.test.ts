// A VRRP pair of directors in front of the real servers (LVS-NAT as it is deployed): h2 and h6
// run vigil with one vrrp_instance holding both the virtual address (10.99.0.100, client side)
// and the real servers' gateway (10.98.0.1), and the same virtual_server over nftables. The
// client (h1) keeps reaching the service when the MASTER director is killed: the BACKUP takes
// both addresses and its load balancer is already in place.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Lab, netnsSkipReason, sh } from './lab.js';
import { cleanup, eventually, startVigil, tempDir, vigilBuilt, type Daemon } from './daemons.js';

const skip = netnsSkipReason() ?? vigilBuilt();
if (skip) console.log(`# skipping lvs-pair: ${skip}`);

const VIP = '10.99.0.100';
const rs = (i: 1 | 2 | 3) => `10.98.0.${12 + i}`;
const conf = (name: string, prio: number) => `global_defs {
  router_id ${name}
  lb_driver nftables
  vrrp_garp_master_delay 0
}
vrrp_instance VI_1 {
  state BACKUP
  interface eth0
  virtual_router_id 61
  priority ${prio}
  advert_int 0.1
  version 3
  virtual_ipaddress {
    ${VIP}/24
    10.98.0.1/24
  }
}
virtual_server ${VIP} 80 {
  delay_loop 1
  lb_algo rr
  lb_kind NAT
  protocol TCP
${[1, 2, 3].map((i) => `  real_server ${rs(i as 1 | 2 | 3)} 80 {\n    weight 1\n    TCP_CHECK {\n      connect_timeout 1\n    }\n  }\n`).join('')}}
`;

const SERVER = `require('http').createServer((q, r) => r.end(process.argv[1])).listen(80, () => console.log('ready'));`;
const CLIENT = `
const http = require('http');
const one = () => new Promise((res) => {
  const q = http.get('http://${VIP}/', { agent: false, timeout: 3000 }, (r) => { let b = ''; r.on('data', (d) => (b += d)); r.on('end', () => res(b)); });
  q.on('timeout', () => q.destroy(new Error('timeout')));
  q.on('error', () => res('FAILED'));
});
(async () => { const out = {}; for (let i = 0; i < Number(process.argv[1]); i++) { const b = await one(); out[b] = (out[b] || 0) + 1; } console.log(JSON.stringify(out)); })();
`;

describe('a VRRP pair of directors', { skip }, () => {
  let lab: Lab;
  let dir: string;
  let d1: Daemon;
  let d2: Daemon;
  const requests = async (n: number) => JSON.parse(await lab.exec(1, process.execPath, ['-e', CLIENT, String(n)])) as Record<string, number>;

  before(async () => {
    if (skip) return;
    lab = await Lab.create({ hosts: 6, tag: 'lvp' });
    dir = tempDir('lvs-pair');
    for (const h of [2, 6]) {
      await sh('ip', ['-n', lab.ns(h), 'addr', 'add', `10.98.0.${h}/24`, 'dev', 'eth0']);
      await lab.exec(h, 'sysctl', ['-qw', 'net.ipv4.conf.all.send_redirects=0', 'net.ipv4.conf.eth0.send_redirects=0']);
    }
    for (const i of [1, 2, 3] as const) {
      const ip = (...a: string[]) => sh('ip', ['-n', lab.ns(i + 2), ...a]);
      await ip('addr', 'flush', 'dev', 'eth0');
      await ip('addr', 'add', `${rs(i)}/24`, 'dev', 'eth0');
      await ip('route', 'add', 'default', 'via', '10.98.0.1');
      const p = lab.spawn(i + 2, process.execPath, ['-e', SERVER, `r${i}`]);
      await new Promise<void>((resolve, reject) => {
        p.once('exit', (c) => reject(new Error(`r${i} exited ${c}`)));
        p.stdout?.once('data', () => resolve());
      });
    }
    d1 = startVigil(lab, 2, conf('d1', 150), dir);
    d2 = startVigil(lab, 6, conf('d2', 100), dir);
    await d1.waitFor(/\(VI_1\) Entering MASTER/);
    await d2.waitFor(/\(VI_1\) Entering BACKUP/);
    await d2.waitFor(/destination 10\.98\.0\.15:80 added/);
  });
  after(async () => {
    if (skip) return;
    await Promise.all([d1?.stop('SIGKILL'), d2?.stop()]);
    await lab.destroy();
    cleanup(dir);
  });

  test('the service answers through the MASTER director', async () => {
    await eventually(async () => (await requests(3)).FAILED === undefined, 5000, 'service reachable');
    assert.deepEqual(await requests(30), { r1: 10, r2: 10, r3: 10 });
  });

  test('the MASTER director dies: the BACKUP takes both addresses and serves at once', async () => {
    const mark = d2.lines.length;
    // the director host dies, not only its daemon: a SIGKILLed vigil leaves its addresses and its
    // NAT table in place (as keepalived does), and that half-alive director would go on answering
    // ARP for the virtual address and serving through its own round-robin count until the
    // clients and real servers heard the new MASTER's gratuitous ARP (a split like 11/10/9)
    await d1.stop('SIGKILL');
    await sh('ip', ['-n', lab.ns(2), 'link', 'set', 'eth0', 'down']);
    await d2.waitFor(/\(VI_1\) Entering MASTER/, 5000);
    // new connections only (conntrack is not synchronised between directors, as with plain keepalived)
    await eventually(async () => (await requests(3)).FAILED === undefined, 5000, 'service reachable through the backup');
    const got = await requests(30);
    // round robin restarts its count when its rule is rewritten: say whether the new MASTER's data plane changed
    const lb = d2.lines.slice(mark).filter((l) => /load balancer|Removing service|Adding service/.test(l));
    assert.deepEqual(got, { r1: 10, r2: 10, r3: 10 }, `d2's data-plane changes since d1 died: ${lb.length ? `\n${lb.join('\n')}` : 'none'}`);
  });
});
