// The event journal end to end: `vigil run --journal DIR` writes every event; `vigil events` and
// `vigil history` (separate processes, read-only) read them back, also live with --follow; a second
// daemon on the same journal is refused.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Lab, netnsSkipReason } from './lab.js';
import { cleanup, startVigil, tempDir, VIGIL_BIN, vigilBuilt, type Daemon } from './daemons.js';

const run = promisify(execFile);
const skip = netnsSkipReason() ?? vigilBuilt();
if (skip) console.log(`# skipping events: ${skip}`);

const CONF = (prio: number) => `global_defs {
  router_id node${prio}
}
vrrp_script chk {
  script "/bin/true"
  interval 1
  weight 10
}
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 51
  priority ${prio}
  advert_int 0.1
  version 3
  track_script {
    chk
  }
  virtual_ipaddress {
    10.99.0.100/24
  }
}
`;

describe('the journal and vigil events/history', { skip }, () => {
  let lab: Lab;
  let dir: string;
  const running: Daemon[] = [];
  before(async () => {
    lab = await Lab.create({ hosts: 1, tag: 'evt' });
    dir = tempDir('evt');
  });
  after(async () => {
    await Promise.all(running.map((d) => d.stop('SIGKILL')));
    await lab.destroy();
    cleanup(dir);
  });

  test('every transition is in the journal, in order, and vigil events prints it', async (t) => {
    const journal = join(dir, 'j1');
    // a follower started before the daemon sees the events live
    const follower = spawn(process.execPath, [VIGIL_BIN, 'events', '--journal', journal, '--follow', '--json'], { stdio: 'pipe' });
    // a failed assertion below must not leave it running (the test file would never end)
    t.after(() => follower.kill('SIGKILL'));
    let live = '';
    follower.stdout.on('data', (d) => (live += String(d)));
    const a = startVigil(lab, 1, CONF(150), dir, ['--journal', journal]);
    running.push(a);
    await a.waitFor(/Entering MASTER STATE/, 3000);
    // a second daemon on the same journal is refused, naming the owner
    const b = startVigil(lab, 1, CONF(100), dir, ['--journal', journal]);
    assert.equal(await b.exited, 3);
    assert.ok(b.lines.some((l) => /in use by another vigil \(pid \d+\)/.test(l)), b.lines.join('\n'));
    assert.equal(await a.stop('SIGTERM'), 0);

    const { stdout } = await run(process.execPath, [VIGIL_BIN, 'events', '--journal', journal, '--json']);
    const events = stdout.trim().split('\n').map((l) => JSON.parse(l) as { type: string; id: string; data: Record<string, unknown> });
    const types = events.map((e) => (e.type === 'vrrp.state' ? `${e.type}:${e.data['to']}` : e.type));
    assert.deepEqual(types.filter((t) => t.startsWith('vrrp.state')), ['vrrp.state:BACKUP', 'vrrp.state:MASTER', 'vrrp.state:STOP']);
    const at = (t: string) => types.indexOf(t);
    assert.ok(at('daemon.started') >= 0 && at('daemon.started') < at('daemon.stopping') && at('daemon.stopping') < at('vrrp.state:STOP'), types.join(' '));
    assert.ok(types.includes('track.state') && types.includes('vrrp.priority'), types.join(' '));
    const ids = events.map((e) => e.id);
    assert.deepEqual([...ids].sort(), ids, 'ULIDs in journal order');
    assert.equal(new Set(ids).size, ids.length);

    // the live follower saw the same events
    await new Promise((r) => setTimeout(r, 600));
    const exited = follower.exitCode !== null ? Promise.resolve() : new Promise((r) => follower.once('exit', r));
    follower.kill('SIGINT');
    await exited;
    assert.deepEqual(live.trim().split('\n').map((l) => (JSON.parse(l) as { id: string }).id), ids);

    // text lines and filters
    const text = (await run(process.execPath, [VIGIL_BIN, 'events', '--journal', journal, '--type', 'vrrp.state'])).stdout;
    assert.match(text, /node150 vrrp\/VI_1 vrrp\.state INIT → BACKUP \(startup, priority 150\)/);
    assert.match(text, /BACKUP → MASTER \(master-down-timeout, priority 160\)/);
    assert.doesNotMatch(text, /track\.state/);

    // history: the tracker's first result, the priority it raised, in the instance's chain
    const hist = (await run(process.execPath, [VIGIL_BIN, 'history', 'VI_1', '--journal', journal])).stdout;
    assert.match(hist, /track\/chk track\.state ok/);
    assert.match(hist, /vrrp\.priority priority 150 → 160/);
  });

  test('restarted on the same journal, track scripts resume from their last state', async () => {
    const journal = join(dir, 'j2');
    const a = startVigil(lab, 1, CONF(150), dir, ['--journal', journal]);
    running.push(a);
    await a.waitFor(/VRRP_Script\(chk\) succeeded/, 3000);
    await new Promise((r) => setTimeout(r, 300)); // the journal's group commit (milliseconds) is done
    assert.equal(await a.stop('SIGKILL'), 'SIGKILL');
    const b = startVigil(lab, 1, CONF(150), dir, ['--journal', journal]);
    running.push(b);
    await b.waitFor(/resuming 1 track script\(s\) from the journal/, 3000);
    await b.waitFor(/Entering MASTER STATE/, 3000);
    assert.equal(await b.stop('SIGTERM'), 0);
    const { stdout } = await run(process.execPath, [VIGIL_BIN, 'events', '--journal', journal, '--type', 'track.state', '--json']);
    const causes = stdout.trim().split('\n').map((l) => (JSON.parse(l) as { data: { cause: string } }).data.cause);
    assert.deepEqual(causes, ['exit 0', 'resumed']);
    // the resumed tracker's weight applies from the start: no INIT → BACKUP at the base priority
    const states = (await run(process.execPath, [VIGIL_BIN, 'events', '--journal', journal, '--type', 'vrrp.state'])).stdout.trim().split('\n');
    assert.match(states.at(-3) ?? '', /INIT → BACKUP \(startup, priority 160\)/);
  });

  test('vigil events on a missing journal says where it looked', async () => {
    await assert.rejects(run(process.execPath, [VIGIL_BIN, 'events', '--journal', join(dir, 'nothing')]), (err: { code: number; stderr: string }) => {
      assert.equal(err.code, 3);
      assert.match(err.stderr, /no journal at/);
      return true;
    });
  });
});
