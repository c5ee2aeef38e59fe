// Health checks and the load balancer end to end: `vigil run` on a director (h2) with a
// virtual_server over the nftables driver, three real servers (h3..h5) running small HTTP servers
// on their own subnet routed through the director (LVS-NAT), a client (h1). A killed real server
// leaves the pool within delay_loop × (retry + 1) plus one check and comes back when it answers
// again; losing the quorum switches to the sorry server; `vigil drain` quiesces a server; the
// status and the events tell the story. At stop the service goes, or with `-I` stays and serves
// while no vigil runs, and the next vigil takes it over; lvs_flush empties it at start.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { Lab, netnsSkipReason, sh } from './lab.js';
import { cleanup, startVigil, tempDir, VIGIL_BIN, vigilBuilt, type Daemon } from './daemons.js';

const skip = netnsSkipReason() ?? vigilBuilt();
if (skip) console.log(`# skipping lvs: ${skip}`);

const VIP = '10.99.0.100';
const rs = (i: 1 | 2 | 3) => `10.98.0.${12 + i}`;
const real = (i: 1 | 2 | 3, check: string) => `  real_server ${rs(i)} 80 {
    weight 1
    ${check} {
      connect_timeout 1
      retry 1
      delay_before_retry 1
${check === 'HTTP_GET' ? '      url {\n        path /\n        status_code 200\n      }\n' : ''}    }
  }
`;
const CONF = `global_defs {
  router_id director
  lb_driver nftables
}
virtual_server ${VIP} 80 {
  delay_loop 1
  lb_algo wrr
  lb_kind NAT
  protocol TCP
  quorum 2
  sorry_server ${rs(3)} 8081
${real(1, 'TCP_CHECK')}${real(2, 'HTTP_GET')}${real(3, 'TCP_CHECK')}}
`;

const SERVER = `
const [name, port] = process.argv.slice(1);
const s = require('http').createServer((q, r) => r.end(name));
s.listen(Number(port), '0.0.0.0', () => console.log('ready'));
`;
/** n requests from the client, each on a new connection: answers by server name */
const CLIENT = `
const [url, n] = process.argv.slice(1);
const http = require('http');
const one = () => new Promise((res) => {
  const q = http.get(url, { agent: false, timeout: 2000 }, (r) => { let b = ''; r.on('data', (d) => (b += d)); r.on('end', () => res(b)); });
  q.on('timeout', () => q.destroy(new Error('timeout')));
  q.on('error', () => res('FAILED'));
});
(async () => { const out = {}; for (let i = 0; i < Number(n); i++) { const b = await one(); out[b] = (out[b] || 0) + 1; } console.log(JSON.stringify(out)); })();
`;

function vigil(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [VIGIL_BIN, ...args], (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }));
  });
}

describe('virtual server with health checks over nftables', { skip }, () => {
  let lab: Lab;
  let dir: string;
  let director: Daemon;
  const later: Daemon[] = [];
  const servers = new Map<string, ChildProcess>();

  async function serve(host: number, name: string, port: number) {
    const p = lab.spawn(host, process.execPath, ['-e', SERVER, name, String(port)]);
    await new Promise<void>((resolve, reject) => {
      p.once('exit', (code) => reject(new Error(`${name} exited ${code}`)));
      p.stdout?.once('data', () => resolve());
    });
    servers.set(name, p);
  }
  function kill(name: string) {
    servers.get(name)?.kill('SIGKILL');
    servers.delete(name);
  }
  async function requests(n: number): Promise<Record<string, number>> {
    return JSON.parse(await lab.exec(1, process.execPath, ['-e', CLIENT, `http://${VIP}/`, String(n)])) as Record<string, number>;
  }
  const sock = () => join(dir, 'control-h2.sock');

  before(async () => {
    if (skip) return;
    lab = await Lab.create({ hosts: 5, tag: 'lvs' });
    dir = tempDir('lvs');
    const ip = (i: number, ...a: string[]) => sh('ip', ['-n', lab.ns(i), ...a]);
    await ip(2, 'addr', 'add', `${VIP}/24`, 'dev', 'eth0');
    await ip(2, 'addr', 'add', '10.98.0.1/24', 'dev', 'eth0');
    await lab.exec(2, 'sysctl', ['-qw', 'net.ipv4.conf.all.send_redirects=0', 'net.ipv4.conf.eth0.send_redirects=0']);
    for (const i of [1, 2, 3] as const) {
      await ip(i + 2, 'addr', 'flush', 'dev', 'eth0');
      await ip(i + 2, 'addr', 'add', `${rs(i)}/24`, 'dev', 'eth0');
      await ip(i + 2, 'route', 'add', 'default', 'via', '10.98.0.1');
      await serve(i + 2, `r${i}`, 80);
    }
    await serve(5, 'sorry', 8081);
    director = startVigil(lab, 2, CONF, dir);
    // TCP_CHECK and HTTP_GET without a digest: all in the native probe engine, so on the main thread
    await director.waitFor(/health checks on the main thread: every check runs in the native probe engine/);
    await director.waitFor(/destination 10\.98\.0\.15:80 added/);
    // every checker's first result comes within its warmup (delay_loop, 1 s): after it, a failure
    // is retried before the server goes down (the first result decides on its own, as keepalived)
    await new Promise((r) => setTimeout(r, 1500));
  });
  after(async () => {
    if (skip) return;
    await director?.stop();
    for (const d of later) await d.stop();
    for (const p of servers.values()) p.kill('SIGKILL');
    await lab.destroy();
    cleanup(dir);
  });

  test('all up: wrr spreads new connections evenly over the three', async () => {
    // the first checks succeed within a delay_loop; the table is there from the start
    const got = await requests(30);
    assert.deepEqual(got, { r1: 10, r2: 10, r3: 10 });
  });

  test('a dead real server leaves the pool within delay_loop × (retry + 1) plus a check, and comes back', async () => {
    kill('r2');
    const t0 = Date.now();
    await director.waitFor(/Removing service 10\.98\.0\.14:80 from VS 10\.99\.0\.100:80\/tcp/, 8000);
    console.log(`# r2 removed ${Date.now() - t0} ms after it died (bound: delay_loop 1 s × (retry 1 + 1) + connect_timeout 1 s + one check)`);
    const got = await requests(20);
    assert.deepEqual(got, { r1: 10, r3: 10 });
    await serve(4, 'r2', 80);
    await director.waitFor(/Adding service 10\.98\.0\.14:80 to VS/, 8000);
    assert.deepEqual(await requests(30), { r1: 10, r2: 10, r3: 10 });
  });

  test('vigil status shows the virtual server; vigil drain quiesces a real server, restore brings it back', async () => {
    const st = await vigil(['status', '--control', sock(), '--json']);
    assert.equal(st.code, 0, st.stderr);
    const s = JSON.parse(st.stdout) as { virtualServers: { virtualServer: string; quorum: string; realServers: { realServer: string; alive: boolean }[] }[]; loadBalancer: { driver: string } };
    assert.equal(s.loadBalancer.driver, 'nftables');
    assert.deepEqual(s.virtualServers.map((v) => [v.virtualServer, v.quorum, v.realServers.filter((r) => r.alive).length]), [['10.99.0.100:80/tcp', 'up', 3]]);
    const d = await vigil(['drain', '10.99.0.100:80/tcp', '10.98.0.13:80', '--control', sock()]);
    assert.equal(d.code, 0, d.stderr);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal((await requests(20)).r1, undefined);
    const bad = await vigil(['drain', '10.99.0.100:80/tcp', '10.98.0.99:80', '--control', sock()]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /has no real_server '10\.98\.0\.99:80'/);
    assert.equal((await vigil(['restore', '10.99.0.100:80/tcp', '10.98.0.13:80', '--control', sock()])).code, 0);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal((await requests(30)).r1, 10);
  });

  test('quorum lost: the sorry server answers; regained: the real servers again', async () => {
    kill('r2');
    kill('r3');
    await director.waitFor(/Lost quorum/, 10_000);
    assert.deepEqual(await requests(10), { sorry: 10 });
    await serve(4, 'r2', 80);
    await director.waitFor(/Gained quorum/, 10_000);
    const got = await requests(20);
    assert.deepEqual(Object.keys(got).sort(), ['r1', 'r2']);
  });

  test('drift: a table deleted behind the daemon\'s back is back within the 5 s reconcile (seen through the ruleset generation)', async () => {
    await lab.exec(2, 'nft', ['delete', 'table', 'inet', 'vigil_lb']);
    const t0 = Date.now();
    await director.waitFor(/repaired drift/, 8000);
    console.log(`# the deleted table was restored ${Date.now() - t0} ms later`);
    assert.match(await lab.exec(2, 'nft', ['list', 'tables']), /vigil_lb/);
    assert.deepEqual(Object.keys(await requests(20)).sort(), ['r1', 'r2']);
  });

  test('SIGTERM removes the virtual service from the data plane', async () => {
    assert.equal(await director.stop(), 0);
    const tables = await lab.exec(2, 'nft', ['list', 'tables']);
    assert.ok(!tables.includes('vigil_lb'), tables);
  });

  const SERVICE_ADDED = /load balancer \(nftables\): service TCP 10\.99\.0\.100:80 added/;
  const hasTable = async () => (await lab.exec(2, 'nft', ['list', 'tables'])).includes('vigil_lb');
  const startDirector = async (conf: string, args: string[] = []) => {
    const d = startVigil(lab, 2, conf, dir, args);
    later.push(d);
    await d.waitFor(/destination 10\.98\.0\.13:80 added|health checks on/, 8000);
    return d;
  };

  test('-I: SIGTERM leaves the service serving while no vigil runs; the next vigil takes it over without re-adding it', async () => {
    const d1 = await startDirector(CONF, ['-I']);
    await d1.waitFor(SERVICE_ADDED, 8000);
    // r3 is dead since the quorum test: its check takes it out (retry 1, delay_before_retry 1 s)
    await d1.waitFor(/Removing service 10\.98\.0\.15:80/, 10_000);
    assert.equal(await d1.stop(), 0);
    assert.ok(d1.lines.some((l) => /entries kept \(--dont-release-ipvs\)/.test(l)), 'says it kept them');
    assert.ok(!d1.lines.some((l) => /Removing service 10\.98\.0\.1[34]:80/.test(l)), 'no omega DOWN for the servers still served');
    assert.ok(await hasTable(), 'the table stays');
    assert.deepEqual(Object.keys(await requests(20)).sort(), ['r1', 'r2'], 'served with no vigil running');
    // the next vigil: its first table is the kept one but for r3 (up until its first check fails)
    const d2 = startVigil(lab, 2, CONF, dir);
    later.push(d2);
    await d2.waitFor(/destination 10\.98\.0\.15:80 added/, 8000);
    assert.ok(!d2.lines.some((l) => SERVICE_ADDED.test(l)), 'the service was taken over, not added again');
    assert.equal(await d2.stop(), 0);
    assert.ok(!(await hasTable()), 'without -I the next stop removes it');
  });

  test('lvs_flush: what an earlier run left is flushed at start, and the service made anew', async () => {
    const d1 = await startDirector(CONF, ['-I']);
    await d1.waitFor(SERVICE_ADDED, 8000);
    assert.equal(await d1.stop(), 0);
    assert.ok(await hasTable());
    const d2 = startVigil(lab, 2, CONF.replace('global_defs {', 'global_defs {\n  lvs_flush'), dir);
    later.push(d2);
    await d2.waitFor(/load balancer \(nftables\): flushed at start \(lvs_flush\)/, 8000);
    await d2.waitFor(SERVICE_ADDED, 8000);
    assert.equal(await d2.stop(), 0);
    assert.ok(!(await hasTable()));
  });
});
