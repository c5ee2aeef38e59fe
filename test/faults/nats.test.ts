// Fault: the NATS server under `vigil run --nats` goes away. Two vigil nodes (hosts 1, 2) export
// to a nats-server inside the lab (host 3). Three outages, each with failovers made meanwhile by
// the operator (`vigil priority VI_1 1`, then `restore`): the server stopped and started again on
// its store, frozen (SIGSTOP) and continued, and stopped then started with its store wiped.
// VRRP is unaffected (each handover within Master_Down plus slack, one MASTER after each), and
// after each recovery the stream holds every event of both journals exactly once; after the wipe,
// exactly the events the journals still owed (appended since the last ack), once, the stream
// being recreated. (test/netns/nats-e2e.test.ts covers a freeze with a SIGKILLed master.)
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { natsServerPath } from '../../adapters/nats/server.js';
import type { BusEvent } from '../../actors/bus.js';
import { Lab, netnsSkipReason } from '../netns/lab.js';
import { addresses, cleanup, eventually, startVigil, tempDir, vigilBuilt, type Daemon } from '../netns/daemons.js';
import { assertAlive, controlSock, journalDir, journalEvents, nextLine, sleep, Timeline, vigilCli } from './helpers.js';

const NATS_BIN = natsServerPath();
const skip = netnsSkipReason() ?? vigilBuilt() ?? (NATS_BIN ? undefined : 'nats-server is not installed');
if (skip) console.log(`# skipping faults/nats: ${skip}`);

const VIP = '10.99.0.100';
const URL = 'nats://10.99.0.13:4222';
const CONF = (node: string, prio: number) => `global_defs {
  router_id ${node}
  vrrp_garp_master_delay 0
}
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 61
  priority ${prio}
  advert_int 0.1
  version 3
  virtual_ipaddress {
    ${VIP}/24
  }
}
`;

describe('fault: NATS stopped, frozen, wiped under vigil run --nats', { skip, timeout: 120_000 }, () => {
  let lab: Lab;
  let dir: string;
  let nats: ChildProcess | undefined;
  let natsPid = 0;
  const d: Daemon[] = [];
  const tl = new Timeline();
  const store = () => join(dir, 'js');

  async function startNats() {
    const conf = join(dir, 'nats.conf');
    writeFileSync(conf, `listen: "10.99.0.13:4222"\npid_file: ${JSON.stringify(join(dir, 'nats.pid'))}\njetstream { store_dir: ${JSON.stringify(store())} }\n`);
    rmSync(join(dir, 'nats.pid'), { force: true });
    nats = lab.spawn(3, NATS_BIN!, ['-c', conf]);
    await eventually(() => lab.exec(1, 'bash', ['-c', 'exec 3<>/dev/tcp/10.99.0.13/4222']).then(() => true, () => false), 10_000, 'nats-server in host 3');
    // pid_file: `ip netns exec` may fork, so the child's pid need not be nats-server's
    natsPid = Number(readFileSync(join(dir, 'nats.pid'), 'utf8'));
  }
  async function stopNats() {
    process.kill(natsPid, 'SIGTERM');
    await new Promise((r) => nats!.once('exit', r));
    natsPid = 0;
  }
  /** the whole stream, read in the lab (NATS is only reachable inside it) */
  const stream = async (): Promise<BusEvent[]> => {
    const r = await vigilCli(['events', '--nats', URL, '--json'], { lab, host: 1 });
    // a wiped server has no stream until an export recreates it
    if (r.code === 3 && /stream not found/.test(r.stderr)) return [];
    assert.equal(r.code, 0, r.stderr);
    return r.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as BusEvent);
  };
  const journals = async () => [...(await journalEvents(journalDir(dir, 1))), ...(await journalEvents(journalDir(dir, 2)))];

  /** host 1 hands the VIP to host 2 and takes it back, by operator priority; returns both handover times */
  async function failovers(): Promise<number[]> {
    const times: number[] = [];
    for (const [prio, to] of [['1', 2], ['restore', 1]] as const) {
      const took = nextLine(d[to]!, /\(VI_1\) Entering MASTER STATE/, 5000);
      const t0 = Date.now();
      const r = await vigilCli(['priority', 'VI_1', prio, '--control', controlSock(dir, 1)]);
      assert.equal(r.code, 0, r.stderr);
      await took;
      times.push(Date.now() - t0);
      await eventually(() => tl.masters('VI_1').join() === String(to), 3000, `host ${to} the only MASTER`);
      await eventually(async () => (await addresses(lab, to)).includes(VIP), 2000, `VIP on host ${to}`);
    }
    return times;
  }

  /** the stream equals `want` (ids), each once */
  async function streamIs(want: () => Promise<string[]>, what: string) {
    let last = '';
    await eventually(async () => {
      const ids = (await stream()).map((e) => e.id);
      const w = await want();
      last = `stream ${ids.length} (${new Set(ids).size} distinct), owed ${w.length}`;
      assert.equal(new Set(ids).size, ids.length, `${what}: a duplicate in the stream: ${last}`);
      return ids.length === w.length && w.every((id) => ids.includes(id));
    }, 20_000, `${what}: the stream equal to the journals`).catch((e: Error) => assert.fail(`${e.message}: ${last}`));
    return last;
  }

  before(async () => {
    lab = await Lab.create({ hosts: 3, tag: 'fnat' });
    dir = tempDir('fnat');
    await startNats();
    for (const [i, prio] of [[2, 100], [1, 150]] as const) {
      d[i] = startVigil(lab, i, CONF(`node${i}`, prio), dir, ['--nats', URL, '--cluster', 'lab']);
      tl.watch(d[i]!);
    }
    await d[1]!.waitFor(/Entering MASTER STATE/, 5000);
    for (const i of [1, 2]) await d[i]!.waitFor(/NATS export .*-> (draining|idle)/, 5000);
    await eventually(() => tl.masters('VI_1').join() === '1', 5000, 'host 1 the only MASTER');
  });
  after(async () => {
    if (natsPid) try { process.kill(natsPid, 'SIGCONT'); } catch { /* gone */ }
    nats?.kill('SIGKILL');
    await Promise.all(d.filter(Boolean).map((x) => x.stop('SIGKILL')));
    await lab?.destroy();
    if (dir) cleanup(dir);
  });

  test('stopped: failovers as usual; after the restart the stream is both journals, once', async () => {
    await stopNats();
    await Promise.all([1, 2].map((i) => d[i]!.waitFor(/NATS export .*-> (disconnected|connecting)/, 5000)));
    const times = await failovers();
    await sleep(500);
    await startNats();
    const got = await streamIs(async () => (await journals()).map((e) => e.id), 'after a stop');
    console.log(`# NATS stopped: handovers ${times.join(', ')} ms; after the restart ${got}`);
    for (const t of times) assert.ok(t < 2000, `handover ${t} ms with NATS down`);
  });

  test('frozen (SIGSTOP 3 s): failovers as usual; after SIGCONT the stream is both journals, once', async () => {
    process.kill(natsPid, 'SIGSTOP');
    const t0 = Date.now();
    const times = await failovers();
    await sleep(Math.max(0, 3000 - (Date.now() - t0)));
    process.kill(natsPid, 'SIGCONT');
    const got = await streamIs(async () => (await journals()).map((e) => e.id), 'after a freeze');
    console.log(`# NATS frozen: handovers ${times.join(', ')} ms; after SIGCONT ${got}`);
    for (const t of times) assert.ok(t < 2000, `handover ${t} ms with NATS frozen`);
  });

  test('restarted with its store wiped: the events owed since the last ack arrive once, in a new stream', async () => {
    // everything so far is acknowledged (the previous test waited for it); what is journaled from
    // here on is owed to the new stream
    const acked = new Set((await journals()).map((e) => e.id));
    await stopNats();
    rmSync(store(), { recursive: true, force: true });
    const times = await failovers();
    await startNats();
    const got = await streamIs(async () => (await journals()).map((e) => e.id).filter((id) => !acked.has(id)), 'after a wipe');
    const s = await stream();
    assert.ok(s.some((e) => e.type === 'vrrp.state' && e.node === 'node1') && s.some((e) => e.type === 'vrrp.state' && e.node === 'node2'), 'both nodes\' failovers in the new stream');
    console.log(`# NATS wiped: handovers ${times.join(', ')} ms; after the restart ${got} (${acked.size} acked before the wipe are gone with it)`);
    for (const i of [1, 2]) await assertAlive(d[i]!, controlSock(dir, i));
  });
});
