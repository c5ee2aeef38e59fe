// Reloads on real sockets: host 1 runs vigil as MASTER, host 2 as BACKUP, host 3 pings the VIPs
// every 10 ms through each reload. The reload matrix of issue #8: unchanged config, VIP added,
// priority changed, instance added, VIP moved between instances, invalid config (the old one keeps
// running, `vigil reload` exits 4 with the diagnostics), instance removed by SIGHUP. The VIP
// unavailability of each case (lost pings × 10 ms) is printed; the cases that keep a VIP must lose
// none of its pings, and host 2 must never see a reason to move (no priority 0, no transition).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Lab, netnsSkipReason } from './lab.js';
import { addresses, cleanup, eventually, ping, startVigil, tempDir, VIGIL_BIN, vigilBuilt, vipSettled, type Daemon } from './daemons.js';

const skip = netnsSkipReason() ?? vigilBuilt();
if (skip) console.log(`# skipping reload: ${skip}`);

interface Inst {
  name: string;
  vrid: number;
  vips: string[];
}

const conf = (node: string, prio: number, insts: Inst[]) =>
  `global_defs {\n  router_id ${node}\n  vrrp_garp_master_delay 0\n}\n` +
  insts
    .map(
      (i) => `vrrp_instance ${i.name} {
  state BACKUP
  interface eth0
  virtual_router_id ${i.vrid}
  priority ${prio}
  advert_int 0.1
  version 3
  virtual_ipaddress {
${i.vips.map((v) => `    ${v}/24\n`).join('')}  }
}
`,
    )
    .join('');

/** `vigil CMD ARGS` → exit code and output */
function vigil(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [VIGIL_BIN, ...args], (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }));
  });
}

describe('reload in namespaces', { skip }, () => {
  let lab: Lab;
  let dir: string;
  let h1: Daemon;
  let h2: Daemon;
  const file1 = () => join(dir, 'vigil-h1.conf');
  const sock1 = () => join(dir, 'control-h1.sock');
  const transitions = (d: Daemon) => d.lines.filter((l) => /Entering|Stopped$/.test(l)).length;

  /** ping `vip` from host 3 every 10 ms while `during` runs; the pings lost */
  async function probe(vip: string, during: () => Promise<void>): Promise<{ sent: number; lost: number }> {
    const p = lab.spawn(3, 'ping', ['-i', '0.01', '-W', '1', vip]);
    let out = '';
    p.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    await new Promise((r) => setTimeout(r, 300));
    await during();
    await new Promise((r) => setTimeout(r, 300));
    p.kill('SIGINT');
    await new Promise((r) => p.on('exit', r));
    const m = /(\d+) packets transmitted, (\d+) received/.exec(out);
    assert.ok(m, out);
    return { sent: Number(m[1]), lost: Number(m[1]) - Number(m[2]) };
  }

  async function reload(insts: Inst[], expectCode = 0) {
    writeFileSync(file1(), conf('h1', 200, insts));
    const r = await vigil(['reload', '--control', sock1()]);
    assert.equal(r.code, expectCode, r.stdout + r.stderr);
    return r;
  }

  const A: Inst = { name: 'VI_1', vrid: 51, vips: ['10.99.0.100'] };
  const B: Inst = { name: 'VI_2', vrid: 52, vips: ['10.99.0.102'] };

  before(async () => {
    if (skip) return;
    lab = await Lab.create({ hosts: 3, tag: 'rld' });
    dir = tempDir('reload');
    // host 2 runs both instances host 1 will have, so it is a BACKUP for each
    // (never a VIP of host 1's VI_1 in host 2's VI_2: two MASTERs of different VRIDs would share it)
    h2 = startVigil(lab, 2, conf('h2', 100, [A, B]), dir);
    await h2.waitFor(/VRRP started/);
    h1 = startVigil(lab, 1, conf('h1', 200, [A]), dir);
    await h1.waitFor(/\(VI_1\) Entering MASTER/);
    await vipSettled(lab, 1, [2], '10.99.0.100');
    await eventually(() => ping(lab, 3, '10.99.0.100'), 5000, 'VIP reachable');
  });
  after(async () => {
    if (skip) return;
    await Promise.all([h1?.stop(), h2?.stop()]);
    await lab.destroy();
    cleanup(dir);
  });

  test('unchanged config: no transition anywhere, no lost ping', async () => {
    const t1 = transitions(h1);
    const t2 = transitions(h2);
    let out = '';
    const r = await probe('10.99.0.100', async () => {
      out = (await reload([A])).stdout;
    });
    console.log(`# reload unchanged: ${r.lost} of ${r.sent} pings lost (${r.lost * 10} ms)`);
    assert.match(out, /unchanged: 1/);
    assert.equal(r.lost, 0);
    assert.equal(transitions(h1), t1);
    assert.equal(transitions(h2), t2);
  });

  test('a VIP added: the old one never absent, the new one answers', async () => {
    const t2 = transitions(h2);
    const r = await probe('10.99.0.100', () => reload([{ ...A, vips: ['10.99.0.100', '10.99.0.101'] }]).then(() => undefined));
    console.log(`# reload VIP added: ${r.lost} of ${r.sent} pings lost (${r.lost * 10} ms)`);
    assert.equal(r.lost, 0);
    assert.ok(await ping(lab, 3, '10.99.0.101'));
    assert.equal(transitions(h2), t2);
  });

  test('priority changed: applied in place, MASTER stays', async () => {
    const t1 = transitions(h1);
    writeFileSync(file1(), conf('h1', 180, [{ ...A, vips: ['10.99.0.100', '10.99.0.101'] }]));
    let out = '';
    const r = await probe('10.99.0.100', async () => {
      const x = await vigil(['reload', '--control', sock1()]);
      assert.equal(x.code, 0, x.stderr);
      out = x.stdout;
    });
    console.log(`# reload priority changed: ${r.lost} of ${r.sent} pings lost (${r.lost * 10} ms)`);
    assert.match(out, /changed in place: VI_1 \(priority\)/);
    assert.equal(r.lost, 0);
    assert.equal(transitions(h1), t1);
    const st = JSON.parse((await vigil(['status', '--control', sock1(), '--json'])).stdout) as { instances: { priority: number; state: string }[] };
    assert.deepEqual([st.instances[0]!.priority, st.instances[0]!.state], [180, 'MASTER']);
  });

  test('an instance added, then a VIP moved to it from another instance', async () => {
    await reload([{ ...A, vips: ['10.99.0.100', '10.99.0.101'] }, B]);
    await h1.waitFor(/\(VI_2\) Entering MASTER/);
    let movedLost = -1;
    const r = await probe('10.99.0.100', async () => {
      const moved = await probe('10.99.0.101', () => reload([A, { ...B, vips: ['10.99.0.101', '10.99.0.102'] }]).then(() => undefined));
      console.log(`# reload VIP moved between instances: ${moved.lost} of ${moved.sent} pings to the moved VIP lost (${moved.lost * 10} ms)`);
      movedLost = moved.lost;
    });
    assert.equal(r.lost, 0, 'the VIP that stays is never absent');
    assert.equal(movedLost, 0, 'both instances are MASTER here: the moved VIP is handed over in place');
    assert.ok(await ping(lab, 3, '10.99.0.101'));
    const mine = await addresses(lab, 1);
    assert.ok(['10.99.0.100', '10.99.0.101', '10.99.0.102'].every((a) => mine.includes(a)), mine.join(' '));
  });

  test('an invalid config: refused with the diagnostics, exit 4, the old one keeps running', async () => {
    const t1 = transitions(h1);
    writeFileSync(file1(), conf('h1', 200, [A]).replace('virtual_router_id 51', 'virtual_router_id 300'));
    let res = { code: 0, stdout: '', stderr: '' };
    const r = await probe('10.99.0.100', async () => {
      res = await vigil(['reload', '--control', sock1()]);
    });
    assert.equal(res.code, 4, res.stdout + res.stderr);
    assert.match(res.stderr, new RegExp(`${file1()}:\\d+:\\d+: error: .*virtual_router_id`));
    assert.equal(r.lost, 0);
    assert.equal(transitions(h1), t1);
    assert.ok(await ping(lab, 3, '10.99.0.102'), 'VI_2 still runs');
  });

  test('SIGHUP reloads too: an instance removed stops with priority 0, the backup takes over at once', async () => {
    writeFileSync(file1(), conf('h1', 200, [A]));
    const r = await probe('10.99.0.102', async () => {
      h1.proc.kill('SIGHUP');
      await h1.waitFor(/Reload applied: 0 added, 1 removed/);
      await h2.waitFor(/\(VI_2\) Entering MASTER/);
    });
    // the removed VIP moves to host 2 within Skew_Time (priority 0 received), not Master_Down
    console.log(`# reload instance removed (VIP moves to the backup): ${r.lost} of ${r.sent} pings lost (${r.lost * 10} ms)`);
    assert.ok(!(await addresses(lab, 1)).includes('10.99.0.102'));
    assert.ok(h2.lines.some((l) => /\(VI_2\) Entering MASTER/.test(l)));
    assert.ok(await ping(lab, 3, '10.99.0.102'));
  });

  test('concurrent reloads are serialised: each one is answered', async () => {
    const all = await Promise.all([1, 2, 3].map(() => vigil(['reload', '--control', sock1(), '--json'])));
    for (const x of all) assert.equal(x.code, 0, x.stderr);
    const reports = all.map((x) => JSON.parse(x.stdout) as { ok: boolean; report: { unchanged: number } });
    assert.deepEqual(reports.map((x) => [x.ok, x.report.unchanged]), [[true, 1], [true, 1], [true, 1]]);
  });
});
