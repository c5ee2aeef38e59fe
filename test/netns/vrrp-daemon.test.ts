// `vigil run` on real raw sockets in network namespaces: hosts 1 and 2 run vigil for one VIP,
// host 3 pings it. Failover on crash and on graceful stop, preemption and nopreempt, interface down
// → FAULT, unicast peers, IPv6, v2 with PASS authentication. Fast timers (v3, 0.1 s) where the
// protocol allows, so the file takes seconds.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Lab, netnsSkipReason } from './lab.js';
import { addresses, cleanup, eventually, ping, startVigil, tempDir, vigilBuilt, type Daemon } from './daemons.js';

const skip = netnsSkipReason() ?? vigilBuilt();
if (skip) console.log(`# skipping vrrp-daemon: ${skip}`);

interface Opts {
  priority: number;
  version?: 2 | 3;
  advert?: string;
  extra?: string;
  vip?: string;
  auth?: boolean;
}

function conf(o: Opts): string {
  const v = o.version ?? 3;
  return `global_defs {
  router_id node${o.priority}
  vrrp_garp_master_delay 0
}
vrrp_instance VI_1 {
  state BACKUP
  interface eth0
  virtual_router_id 51
  priority ${o.priority}
  advert_int ${o.advert ?? (v === 3 ? '0.1' : '1')}
  version ${v}
${o.auth ? '  authentication {\n    auth_type PASS\n    auth_pass secret1\n  }\n' : ''}${o.extra ?? ''}
  virtual_ipaddress {
    ${o.vip ?? '10.99.0.100/24'}
  }
}
`;
}

describe('vigil run in namespaces', { skip }, () => {
  let lab: Lab;
  let dir: string;
  const running: Daemon[] = [];
  const vigil = (i: number, o: Opts) => {
    const d = startVigil(lab, i, conf(o), dir);
    running.push(d);
    return d;
  };

  before(async () => {
    lab = await Lab.create({ hosts: 3, tag: 'dmn', ipv6: true });
    dir = tempDir('dmn');
  });
  after(async () => {
    await Promise.all(running.map((d) => d.stop('SIGKILL')));
    await lab.destroy();
    cleanup(dir);
  });
  const stopAll = async () => {
    await Promise.all(running.splice(0).map((d) => d.stop('SIGKILL')));
  };

  test('crash of the master: the backup takes the VIP, which keeps answering pings', async () => {
    const b = vigil(2, { priority: 100 });
    await b.waitFor(/Entering BACKUP STATE/);
    const a = vigil(1, { priority: 150 });
    await a.waitFor(/Entering MASTER STATE/);
    await eventually(async () => (await addresses(lab, 1)).includes('10.99.0.100'), 2000, 'VIP on host 1');
    await eventually(() => ping(lab, 3, '10.99.0.100'), 2000, 'the VIP answers (GARP updated host 3)');
    assert.ok(!(await addresses(lab, 2)).includes('10.99.0.100'));
    await a.stop('SIGKILL');
    await b.waitFor(/Entering MASTER STATE/, 3000);
    await eventually(async () => (await addresses(lab, 2)).includes('10.99.0.100'), 2000, 'VIP on host 2');
    await eventually(() => ping(lab, 3, '10.99.0.100'), 2000, 'the VIP answers from host 2');
    await stopAll();
  });

  test('graceful stop: priority 0, VIP removed, exit 0; the backup takes over; the master preempts back', async () => {
    const a = vigil(1, { priority: 150 });
    const b = vigil(2, { priority: 100 });
    await a.waitFor(/Entering MASTER STATE/);
    await b.waitFor(/Entering BACKUP STATE/);
    assert.equal(await a.stop('SIGTERM'), 0);
    assert.ok(!(await addresses(lab, 1)).includes('10.99.0.100'), 'VIP removed on stop');
    await b.waitFor(/Entering MASTER STATE/, 2000);
    // the MASTER line is logged before the address is added (as keepalived does): allow a few ms
    await eventually(() => ping(lab, 3, '10.99.0.100'), 3000, 'ping the VIP on host 2');
    // host 1 comes back with the higher priority: it preempts, host 2 gives the VIP up
    const a2 = vigil(1, { priority: 150 });
    await a2.waitFor(/Entering MASTER STATE/, 3000);
    await b.waitFor(/Entering BACKUP STATE$/, 2000);
    await eventually(async () => !(await addresses(lab, 2)).includes('10.99.0.100'), 2000, 'VIP gone from host 2');
    await eventually(() => ping(lab, 3, '10.99.0.100'), 2000, 'the VIP answers (GARP updated host 3)');
    await stopAll();
  });

  test('startup_script runs before any instance starts and is waited for; shutdown_script after every instance has stopped', async () => {
    const { readFileSync } = await import('node:fs');
    const out = `${dir}/lifecycle.log`;
    const global = `  startup_script "/bin/sh -c 'echo startup >> ${out}; sleep 0.4; echo startup-done >> ${out}'"\n  shutdown_script "/bin/sh -c 'echo shutdown >> ${out}'"\n`;
    const text = conf({ priority: 150 }).replace('global_defs {\n', `global_defs {\n${global}`);
    const d = startVigil(lab, 1, text, dir);
    running.push(d);
    await d.waitFor(/Entering MASTER STATE/, 5000);
    const at = (re: RegExp) => d.lines.findIndex((l) => re.test(l));
    assert.ok(at(/Running startup script/) >= 0 && at(/startup script succeeded/) > at(/Running startup script/), d.lines.join('\n'));
    assert.ok(at(/Starting VRRP/) > at(/startup script succeeded/), 'no instance starts before the startup script is done');
    assert.deepEqual(readFileSync(out, 'utf8').split('\n').filter(Boolean), ['startup', 'startup-done']);
    assert.equal(await d.stop('SIGTERM'), 0);
    assert.ok(at(/Running shutdown script/) > at(/^Stopped$/), 'the shutdown script runs once the instances have stopped');
    assert.ok(at(/shutdown script succeeded/) > at(/Running shutdown script/));
    assert.deepEqual(readFileSync(out, 'utf8').split('\n').filter(Boolean), ['startup', 'startup-done', 'shutdown']);
    await stopAll();
  });

  test('startup_script_timeout: a startup script that hangs is terminated and vigil starts anyway', async () => {
    const text = conf({ priority: 150 }).replace('global_defs {\n', `global_defs {\n  startup_script "/bin/sleep 30"\n  startup_script_timeout 1\n`);
    const d = startVigil(lab, 1, text, dir);
    running.push(d);
    const t0 = Date.now();
    await d.waitFor(/startup script timed out after 1 s \(startup_script_timeout\) and was terminated/, 5000);
    await d.waitFor(/Entering MASTER STATE/, 5000);
    assert.ok(Date.now() - t0 >= 900, 'waited for the timeout');
    const ps = await lab.exec(1, 'ps', ['-eo', 'args']).catch(() => '');
    assert.ok(!/^\/bin\/sleep 30$/m.test(ps), 'the script is gone');
    await stopAll();
  });

  test('SIGTERM while the startup script runs: the script is terminated, nothing starts, exit 0', async () => {
    const text = conf({ priority: 150 }).replace('global_defs {\n', `global_defs {\n  startup_script "/bin/sleep 30"\n`);
    const d = startVigil(lab, 1, text, dir);
    running.push(d);
    await d.waitFor(/Running startup script/, 5000);
    const t0 = Date.now();
    assert.equal(await d.stop('SIGTERM'), 0);
    assert.ok(Date.now() - t0 < 4000, `stopped in ${Date.now() - t0} ms, not after the script's 10 s timeout`);
    assert.ok(!d.lines.some((l) => /Starting VRRP|Entering/.test(l)), d.lines.join('\n'));
    const ps = await lab.exec(1, 'ps', ['-eo', 'args']).catch(() => '');
    assert.ok(!/^\/bin\/sleep 30$/m.test(ps), 'the script is gone');
    await stopAll();
  });

  test('nopreempt: the returning higher-priority node stays BACKUP', async () => {
    const b = vigil(2, { priority: 100, extra: '  nopreempt\n' });
    await b.waitFor(/Entering MASTER STATE/, 3000);
    const a = vigil(1, { priority: 150, extra: '  nopreempt\n' });
    await a.waitFor(/Entering BACKUP STATE/);
    await new Promise((r) => setTimeout(r, 1500)); // > 3 × Master_Down_Interval
    assert.ok(!a.lines.some((l) => /Entering MASTER STATE/.test(l)), a.lines.join('\n'));
    assert.ok((await addresses(lab, 2)).includes('10.99.0.100'));
    await stopAll();
  });

  test('interface down → FAULT (priority 0 sent, VIP removed); up again → BACKUP, then MASTER', async () => {
    const a = vigil(1, { priority: 150 });
    const b = vigil(2, { priority: 100 });
    await a.waitFor(/Entering MASTER STATE/);
    await lab.exec(1, 'ip', ['link', 'set', 'eth0', 'down']);
    await a.waitFor(/Entering FAULT STATE/, 2000);
    await b.waitFor(/Entering MASTER STATE/, 2000);
    await eventually(() => ping(lab, 3, '10.99.0.100'), 2000, 'the VIP answers from host 2');
    await lab.exec(1, 'ip', ['link', 'set', 'eth0', 'up']);
    await eventually(() => a.lines.filter((l) => /Entering MASTER STATE/.test(l)).length === 2, 5000, 'host 1 MASTER again');
    assert.ok(a.lines.some((l) => /Entering BACKUP STATE/.test(l)));
    await stopAll();
  });

  test('track_script: a failing check lowers the priority and moves the VIP; recovery moves it back', async () => {
    const { writeFileSync, rmSync } = await import('node:fs');
    const flag = `${dir}/healthy`;
    writeFileSync(flag, '');
    const script = `vrrp_script chk_flag {\n  script "/usr/bin/test -f ${flag}"\n  interval 1\n  weight -60\n}\n`;
    const track = '  track_script {\n    chk_flag\n  }\n';
    const a = startVigil(lab, 1, script + conf({ priority: 150, extra: track }), dir);
    running.push(a);
    await a.waitFor(/Entering MASTER STATE/, 3000);
    const b = vigil(2, { priority: 100 });
    await b.waitFor(/Entering BACKUP STATE/);
    rmSync(flag);
    await a.waitFor(/VRRP_Script\(chk_flag\) failed/, 3000);
    await a.waitFor(/Changing effective priority from 150 to 90/, 1000);
    await b.waitFor(/Entering MASTER STATE/, 2000);
    await a.waitFor(/Entering BACKUP STATE$/, 2000);
    await eventually(() => ping(lab, 3, '10.99.0.100'), 2000, 'the VIP answers from host 2');
    writeFileSync(flag, '');
    await a.waitFor(/VRRP_Script\(chk_flag\) succeeded/, 3000);
    await eventually(() => a.lines.filter((l) => /Entering MASTER STATE/.test(l)).length === 2, 3000, 'host 1 MASTER again');
    await stopAll();
  });

  test('a VIP deleted behind the MASTER’s back: priority 0, BACKUP, MASTER again with the VIP restored', async () => {
    const a = vigil(1, { priority: 150 });
    await a.waitFor(/Entering MASTER STATE/, 3000);
    await eventually(async () => (await addresses(lab, 1)).includes('10.99.0.100'), 2000, 'VIP on host 1');
    await lab.exec(1, 'ip', ['addr', 'del', '10.99.0.100/24', 'dev', 'eth0']);
    await a.waitFor(/removed from eth0 behind our back/, 2000);
    await a.waitFor(/Entering BACKUP STATE/, 1000);
    await eventually(() => a.lines.filter((l) => /Entering MASTER STATE/.test(l)).length === 2, 3000, 'MASTER again');
    await eventually(async () => (await addresses(lab, 1)).includes('10.99.0.100'), 2000, 'VIP restored');
    await stopAll();
  });

  test('unicast peers: failover without multicast', async () => {
    const uni = (me: number, peer: number) => `  unicast_src_ip ${lab.addr(me)}\n  unicast_peer {\n    ${lab.addr(peer)}\n  }\n`;
    const a = vigil(1, { priority: 150, extra: uni(1, 2) });
    await a.waitFor(/Entering MASTER STATE/);
    const b = vigil(2, { priority: 100, extra: uni(2, 1) });
    await b.waitFor(/Entering BACKUP STATE/);
    await new Promise((r) => setTimeout(r, 800)); // the backup keeps accepting unicast adverts
    assert.ok(!b.lines.some((l) => /MASTER/.test(l)), b.lines.join('\n'));
    await a.stop('SIGKILL');
    await b.waitFor(/Entering MASTER STATE/, 2000);
    await eventually(() => ping(lab, 3, '10.99.0.100'), 2000, 'the VIP answers from host 2');
    await stopAll();
  });

  test('IPv6: the VIP moves and answers ping -6', async () => {
    const a = vigil(1, { priority: 150, vip: 'fd99::100/64' });
    const b = vigil(2, { priority: 100, vip: 'fd99::100/64' });
    await a.waitFor(/Entering MASTER STATE/);
    await b.waitFor(/Entering BACKUP STATE/);
    await eventually(() => ping(lab, 3, 'fd99::100'), 3000, 'ping -6 the VIP on host 1');
    await a.stop('SIGKILL');
    await b.waitFor(/Entering MASTER STATE/, 2000);
    await eventually(() => ping(lab, 3, 'fd99::100'), 3000, 'ping -6 the VIP on host 2');
    await stopAll();
  });

  test('v2 with PASS authentication, 1 s adverts', async () => {
    const a = vigil(1, { priority: 150, version: 2, auth: true });
    const b = vigil(2, { priority: 100, version: 2, auth: true });
    await a.waitFor(/Entering MASTER STATE/, 6000);
    await b.waitFor(/Entering BACKUP STATE/);
    assert.equal(await a.stop('SIGTERM'), 0);
    await b.waitFor(/Entering MASTER STATE/, 2000);
    await stopAll();
  });

  test('use_vmac: the VIP keeps its virtual MAC across a failover, so no neighbour needs an update', async () => {
    const vmac = '00:00:5e:00:01:33'; // VRID 51
    const a = vigil(1, { priority: 150, extra: '  use_vmac\n' });
    await a.waitFor(/Entering MASTER STATE/, 3000);
    const b = vigil(2, { priority: 100, extra: '  use_vmac\n' });
    await b.waitFor(/Entering BACKUP STATE/, 3000);
    await new Promise((r) => setTimeout(r, 600));
    assert.ok(!b.lines.some((l) => /Entering MASTER/.test(l)), `the backup hears the master through its VMAC:\n${b.lines.join('\n')}`);
    const onVmac = async (i: number) => (await lab.exec(i, 'ip', ['-o', 'addr', 'show', 'dev', 'vrrp.51'])).includes('10.99.0.100');
    await eventually(() => onVmac(1), 2000, 'VIP on host 1 vrrp.51');
    await eventually(() => ping(lab, 3, '10.99.0.100'), 2000, 'ping the VIP');
    const neigh = async () => (await lab.exec(3, 'ip', ['neigh', 'show', '10.99.0.100'])).toLowerCase();
    assert.match(await neigh(), new RegExp(vmac), a.lines.join('\n'));
    await a.stop('SIGKILL');
    await lab.exec(1, 'ip', ['link', 'del', 'vrrp.51']); // the crashed host's VMAC goes with it
    await b.waitFor(/Entering MASTER STATE/, 2000);
    await eventually(() => onVmac(2), 2000, 'VIP on host 2 vrrp.51');
    await eventually(() => ping(lab, 3, '10.99.0.100'), 2000, 'ping the VIP on host 2');
    assert.match(await neigh(), new RegExp(vmac));
    assert.equal(await b.stop('SIGTERM'), 0);
    await assert.rejects(lab.exec(2, 'ip', ['link', 'show', 'vrrp.51']), 'the VMAC is deleted on stop');
    await stopAll();
  });

  test('an interface that does not exist yet: FAULT until it appears, then the instance runs', async () => {
    const text = conf({ priority: 150 }).replace('interface eth0', 'interface eth7').replace('10.99.0.100/24', '10.77.0.100/24');
    const a = startVigil(lab, 1, text, dir);
    running.push(a);
    await a.waitFor(/Entering FAULT STATE/, 3000);
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(a.proc.exitCode, null, 'still running with no socket open');
    await lab.exec(1, 'ip', ['link', 'add', 'eth7', 'type', 'veth', 'peer', 'name', 'eth7p']);
    await lab.exec(1, 'ip', ['addr', 'add', '10.77.0.1/24', 'dev', 'eth7']);
    await lab.exec(1, 'ip', ['link', 'set', 'eth7p', 'up']);
    await lab.exec(1, 'ip', ['link', 'set', 'eth7', 'up']);
    await a.waitFor(/Entering MASTER STATE/, 3000);
    await eventually(async () => (await lab.exec(1, 'ip', ['-o', 'addr', 'show', 'dev', 'eth7'])).includes('10.77.0.100'), 2000, 'VIP on eth7');
    await stopAll();
    await lab.exec(1, 'ip', ['link', 'del', 'eth7']);
  });

  test('vrrp_strict without accept: the MASTER holds the VIP but drops its traffic (keepalived’s rule); accept lets it answer', async () => {
    const strict = (extra = '') => conf({ priority: 150, extra }).replace('vrrp_garp_master_delay 0', 'vrrp_garp_master_delay 0\n  vrrp_strict');
    const a = startVigil(lab, 1, strict(), dir);
    running.push(a);
    await a.waitFor(/Entering MASTER STATE/, 3000);
    await eventually(async () => (await addresses(lab, 1)).includes('10.99.0.100'), 2000, 'VIP on host 1');
    assert.ok(await ping(lab, 3, lab.addr(1)), 'the host itself answers');
    assert.equal(await ping(lab, 3, '10.99.0.100'), false, 'the VIP does not');
    assert.match(await lab.exec(1, 'nft', ['list', 'set', 'inet', 'vigil', 'vips4']), /10\.99\.0\.100/);
    assert.equal(await a.stop('SIGTERM'), 0);
    await assert.rejects(lab.exec(1, 'nft', ['list', 'table', 'inet', 'vigil']), 'the table is removed on stop');
    const b = startVigil(lab, 1, strict('  accept\n'), dir);
    running.push(b);
    await b.waitFor(/Entering MASTER STATE/, 3000);
    await eventually(() => ping(lab, 3, '10.99.0.100'), 2000, 'with accept the VIP answers');
    await stopAll();
  });

  test('a config with errors is refused with config-test’s exit code', async () => {
    const bad = vigil(1, { priority: 150, extra: '  virtual_router_id 300\n' });
    assert.equal(await bad.exited, 4);
    assert.ok(bad.lines.some((l) => /virtual_router_id/.test(l)), bad.lines.join('\n'));
  });
});
