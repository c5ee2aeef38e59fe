// Fault: a director running a virtual server is SIGKILLed and restarted. Host 2 directs
// 10.99.0.100:80 (nftables driver, LVS-NAT) to two real servers (hosts 3, 4, routed through it);
// host 1 is the client. The kill leaves the data plane behind (table `inet vigil_lb` stays: nobody
// removed it), and the service keeps working on it meanwhile. The restarted vigil reconciles that
// table instead of adding a second one or duplicating rules: one `vigil_lb` table, the same rules
// as before the kill, the service answering from both real servers, and SIGTERM removes it.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { Lab, netnsSkipReason, sh } from '../netns/lab.js';
import { cleanup, startVigil, tempDir, vigilBuilt, type Daemon } from '../netns/daemons.js';
import { assertAlive, controlSock, sleep } from './helpers.js';

const skip = netnsSkipReason() ?? vigilBuilt();
if (skip) console.log(`# skipping faults/director: ${skip}`);

const VIP = '10.99.0.100';
const rs = (i: 1 | 2) => `10.98.0.${12 + i}`;
const CONF = `global_defs {
  router_id director
  lb_driver nftables
}
virtual_server ${VIP} 80 {
  delay_loop 1
  lb_algo rr
  lb_kind NAT
  protocol TCP
${([1, 2] as const).map((i) => `  real_server ${rs(i)} 80 {\n    weight 1\n    TCP_CHECK {\n      connect_timeout 1\n    }\n  }\n`).join('')}}
`;
const SERVER = `require('http').createServer((q, r) => r.end(process.argv[1])).listen(80, '0.0.0.0', () => console.log('ready'));`;
/** n requests, each on a new connection: answers by server name */
const CLIENT = `
const [url, n, gap] = process.argv.slice(1);
const http = require('http');
const one = () => new Promise((res) => {
  const q = http.get(url, { agent: false, timeout: 2000 }, (r) => { let b = ''; r.on('data', (d) => (b += d)); r.on('end', () => res(b)); });
  q.on('timeout', () => q.destroy(new Error('timeout')));
  q.on('error', () => res('FAILED'));
});
(async () => { const out = {}; for (let i = 0; i < Number(n); i++) { const b = await one(); out[b] = (out[b] || 0) + 1; await new Promise((r) => setTimeout(r, Number(gap || 0))); } console.log(JSON.stringify(out)); })();
`;

/** the table without handles and counters: what must be the same across the restart */
const rulesOf = (listing: string) =>
  listing
    .split('\n')
    .map((l) => l.replace(/\s*# handle \d+/, '').replace(/counter packets \d+ bytes \d+/, 'counter').trimEnd())
    .filter(Boolean)
    .join('\n');

describe('fault: a director SIGKILLed and restarted', { skip, timeout: 60_000 }, () => {
  let lab: Lab;
  let dir: string;
  let d: Daemon;
  const servers: ChildProcess[] = [];
  /** n requests from the client, `gapMs` apart: answers by server name */
  const requests = async (n: number, gapMs = 0) =>
    JSON.parse(await lab.exec(1, process.execPath, ['-e', CLIENT, `http://${VIP}/`, String(n), String(gapMs)])) as Record<string, number>;
  const nft = (...a: string[]) => lab.exec(2, 'nft', a);

  before(async () => {
    lab = await Lab.create({ hosts: 4, tag: 'fdir' });
    dir = tempDir('fdir');
    const ip = (i: number, ...a: string[]) => sh('ip', ['-n', lab.ns(i), ...a]);
    await ip(2, 'addr', 'add', `${VIP}/24`, 'dev', 'eth0');
    await ip(2, 'addr', 'add', '10.98.0.1/24', 'dev', 'eth0');
    await lab.exec(2, 'sysctl', ['-qw', 'net.ipv4.conf.all.send_redirects=0', 'net.ipv4.conf.eth0.send_redirects=0']);
    for (const i of [1, 2] as const) {
      await ip(i + 2, 'addr', 'flush', 'dev', 'eth0');
      await ip(i + 2, 'addr', 'add', `${rs(i)}/24`, 'dev', 'eth0');
      await ip(i + 2, 'route', 'add', 'default', 'via', '10.98.0.1');
      const p = lab.spawn(i + 2, process.execPath, ['-e', SERVER, `r${i}`]);
      await new Promise((r) => p.stdout!.once('data', r));
      servers.push(p);
    }
    d = startVigil(lab, 2, CONF, dir);
    await d.waitFor(/destination 10\.98\.0\.14:80 added/, 10_000);
    await sleep(1500); // the checkers' first results (warmup: delay_loop)
  });
  after(async () => {
    await d?.stop('SIGKILL');
    for (const p of servers) p.kill('SIGKILL');
    await lab?.destroy();
    if (dir) cleanup(dir);
  });

  test('the table a killed director left is reconciled on restart, not duplicated; the service works throughout', async () => {
    assert.deepEqual(await requests(10), { r1: 5, r2: 5 });
    const before = rulesOf(await nft('-a', 'list', 'table', 'inet', 'vigil_lb'));
    assert.equal(await d.stop('SIGKILL'), 'SIGKILL');
    // the data plane outlives the process: connections keep being balanced meanwhile
    assert.match(await nft('list', 'tables'), /inet vigil_lb/);
    assert.deepEqual(await requests(4), { r1: 2, r2: 2 });

    // requests all through the restart: a restarted director must not empty the table it finds
    // while its checkers have not reported yet
    const during = requests(80, 40); // ~4 s
    d = startVigil(lab, 2, CONF, dir);
    await d.waitFor(/VRRP started|control socket/, 10_000);
    await sleep(2500); // the checkers' first results and one apply
    const served = await during;
    console.log(`# director restart: ${JSON.stringify(served)} over the restart`);
    assert.equal((served.r1 ?? 0) + (served.r2 ?? 0), 80, `requests failed during the restart: ${JSON.stringify(served)}`);
    const tables = (await nft('list', 'tables')).split('\n').filter((l) => l.includes('vigil_lb'));
    assert.deepEqual(tables, ['table inet vigil_lb'], 'one table');
    const afterRestart = rulesOf(await nft('-a', 'list', 'table', 'inet', 'vigil_lb'));
    assert.equal(afterRestart, before, 'the same rules as before the kill');
    assert.deepEqual(await requests(10), { r1: 5, r2: 5 });
    const errors = d.lines.filter((l) => /lb\.error|cannot apply|failed to apply/i.test(l));
    assert.deepEqual(errors, [], 'no apply error on a table left behind');
    await assertAlive(d, controlSock(dir, 2));

    assert.equal(await d.stop(), 0);
    assert.doesNotMatch(await nft('list', 'tables'), /vigil_lb/, 'SIGTERM removes the table');
  });
});
