// `vigil run --nats` end to end in namespaces: two vigil nodes (hosts 1, 2) export their journals to
// a nats-server running INSIDE the lab (host 3, 10.99.0.13; one on the host's loopback is not
// reachable from a namespace). While NATS is frozen (SIGSTOP 3 s) the master is SIGKILLed: the
// backup takes over within the protocol bound anyway, and afterwards — the killed node restarted on
// the same journal, so its outbox survives — the stream holds every event of both journals once.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { Lab, netnsSkipReason } from './lab.js';
import { addresses, cleanup, eventually, startVigil, tempDir, VIGIL_BIN, vigilBuilt, type Daemon } from './daemons.js';
import { natsServerPath } from '../../adapters/nats/server.js';

const NATS_BIN = natsServerPath();
const skip = netnsSkipReason() ?? vigilBuilt() ?? (NATS_BIN ? undefined : 'nats-server is not installed');
if (skip) console.log(`# skipping nats-e2e: ${skip}`);

const VIP = '10.99.0.100';
const URL = 'nats://10.99.0.13:4222';

const CONF = (node: string, prio: number, flag: string) => `global_defs {
  router_id ${node}
}
vrrp_script chk {
  script "/usr/bin/test -e ${flag}"
  interval 1
  weight 10
}
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 61
  priority ${prio}
  advert_int 0.1
  version 3
  track_script {
    chk
  }
  virtual_ipaddress {
    ${VIP}/24
  }
}
`;

interface Ev { id: string; node: string; kind: string; name: string; type: string }

describe('vigil run --nats in namespaces', { skip }, () => {
  let lab: Lab;
  let dir: string;
  let nats: ChildProcess;
  let natsPid = 0;
  const running: Daemon[] = [];
  const journal = (i: number) => join(dir, `journal-h${i}`);
  const flag = (i: number) => join(dir, `ok-h${i}`);
  const vigil = (i: number, prio: number) => {
    const d = startVigil(lab, i, CONF(`node${i}`, prio, flag(i)), dir, ['--nats', URL, '--cluster', 'lab', '--journal', journal(i)]);
    running.push(d);
    return d;
  };
  /** `vigil events` in host 1's namespace (NATS is only reachable inside the lab) */
  const events = async (args: string[]): Promise<string> => lab.exec(1, process.execPath, [VIGIL_BIN, 'events', ...args]);
  const json = (out: string): Ev[] => out.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Ev);

  before(async () => {
    lab = await Lab.create({ hosts: 3, tag: 'nxe' });
    dir = tempDir('nxe');
    const conf = join(dir, 'nats.conf');
    // pid_file: `ip netns exec` may fork, so the child's pid need not be nats-server's
    writeFileSync(conf, `listen: "10.99.0.13:4222"\npid_file: ${JSON.stringify(join(dir, 'nats.pid'))}\n` +
      `jetstream { store_dir: ${JSON.stringify(join(dir, 'js'))} }\n`);
    nats = lab.spawn(3, NATS_BIN!, ['-c', conf]);
    // ready once host 1 can open a TCP connection to it
    await eventually(() => lab.exec(1, 'bash', ['-c', 'exec 3<>/dev/tcp/10.99.0.13/4222']).then(() => true, () => false), 10_000, 'nats-server in host 3');
    natsPid = Number(readFileSync(join(dir, 'nats.pid'), 'utf8'));
  });
  after(async () => {
    if (natsPid) try { process.kill(natsPid, 'SIGCONT'); } catch { /* gone */ }
    nats?.kill('SIGKILL');
    await Promise.all(running.map((d) => d.stop('SIGKILL')));
    await lab?.destroy();
    if (dir) cleanup(dir);
  });

  test('every journal event is in the stream once, through a NATS freeze and a SIGKILLed master', async () => {
    writeFileSync(flag(1), '');
    writeFileSync(flag(2), '');
    const a = vigil(1, 150);
    const b = vigil(2, 100);
    await a.waitFor(/Entering MASTER STATE/, 5000);
    await b.waitFor(/Entering BACKUP STATE/, 5000);
    await a.waitFor(/NATS export .*-> (draining|idle)/, 5000);
    await b.waitFor(/NATS export .*-> (draining|idle)/, 5000);

    // both nodes' state changes on the stream, subjects vigil.lab.<node>.vrrp.VI_1.state
    await eventually(async () => {
      const es = json(await events(['--nats', URL, '--json', '--type', 'vrrp.state']));
      return es.some((e) => e.node === 'node1') && es.some((e) => e.node === 'node2');
    }, 5000, 'vrrp.state of both nodes in the stream');
    const text = await events(['--nats', URL, '--type', 'vrrp.state']);
    assert.match(text, /node1 vrrp\/VI_1 vrrp\.state .*BACKUP → MASTER/);
    assert.match(text, /node2 vrrp\/VI_1 vrrp\.state INIT → BACKUP/);
    assert.doesNotMatch(text, /track\.state/);

    // NATS frozen: node1's tracker fails (events into its outbox only), then node1 is SIGKILLed
    process.kill(natsPid, 'SIGSTOP');
    const frozenAt = Date.now();
    rmSync(flag(1));
    await a.waitFor(/VRRP_Script\(chk\) failed/, 3000);
    await new Promise((r) => setTimeout(r, 100)); // past the journal's 50 ms fsync window
    const killedAt = Date.now();
    await a.stop('SIGKILL');
    await b.waitFor(/Entering MASTER STATE/, 2000);
    // master down interval 3 × 0.1 s + skew (RFC 5798 §6.1) plus the daemon's reaction time
    const takeover = Date.now() - killedAt;
    assert.ok(takeover < 1000, `backup took ${takeover} ms to take over`);
    await eventually(async () => (await addresses(lab, 2)).includes(VIP), 2000, 'VIP on host 2');
    await new Promise((r) => setTimeout(r, Math.max(0, 3000 - (Date.now() - frozenAt))));
    process.kill(natsPid, 'SIGCONT');

    // node1's outbox: its tracker failure is in its journal past its NATS cursor (never acked; the
    // PUBs may still sit in the frozen server's socket buffer and be stored on SIGCONT — then the
    // re-send after the restart must land as a duplicate, not a second copy)
    const cursor = (JSON.parse(readFileSync(join(journal(1), 'cursors.json'), 'utf8')) as { cursors: { nats?: number } }).cursors.nats ?? 0;
    const j1 = json(await events(['--journal', journal(1), '--json']));
    const unacked = j1.slice(cursor); // seqs 1, 2, … in journal order (no rotation in this test)
    assert.ok(unacked.some((e) => e.type === 'track.state'), `node1 events past its cursor ${cursor}: [${unacked.map((e) => e.type).join(' ')}]`);

    // restarted on the same journal: the outbox drains; node1 (150) preempts again
    const a2 = vigil(1, 150);
    await a2.waitFor(/Entering MASTER STATE/, 5000);

    let last = '';
    await eventually(async () => {
      const stream = json(await events(['--nats', URL, '--json']));
      const ids = stream.map((e) => e.id);
      const want = [...json(await events(['--journal', journal(1), '--json'])), ...json(await events(['--journal', journal(2), '--json']))].map((e) => e.id);
      last = `stream ${ids.length} (${new Set(ids).size} distinct), journals ${want.length}`;
      assert.equal(new Set(ids).size, ids.length, `duplicates in the stream: ${last}`);
      return ids.length === want.length && want.every((id) => ids.includes(id));
    }, 15_000, 'the stream equal to both journals').catch((e: Error) => assert.fail(`${e.message}: ${last}`));

    // raw subjects, read in the lab with nats.js
    const script = `import { connect } from '@nats-io/transport-node'; import { jetstream } from '@nats-io/jetstream';
      const nc = await connect({ servers: '${URL}' }); const c = await jetstream(nc).consumers.get('VIGIL');
      const out = []; for await (const m of await c.fetch({ max_messages: 10000, expires: 1000 })) { out.push(m.subject); if (m.info.pending === 0) break; }
      console.log(JSON.stringify(out)); await nc.close();`;
    const subjects = JSON.parse(await lab.exec(1, process.execPath, ['--input-type=module', '-e', script])) as string[];
    assert.ok(subjects.length > 0);
    for (const s of subjects) assert.match(s, /^vigil\.lab\.node[12]\.[a-z-]+\.[\w-]+\.[\w-]+$/);
    assert.ok(subjects.includes('vigil.lab.node1.vrrp.VI_1.state') && subjects.includes('vigil.lab.node2.vrrp.VI_1.state'), subjects.join(' '));
    console.log(`# nats-e2e: takeover ${takeover} ms with NATS frozen; ${unacked.length} node1 events unacked over the SIGKILL; ${last}`);
    assert.ok(existsSync(join(journal(1), 'cursors.json')));
  });
});
