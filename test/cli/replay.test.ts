// `vigil replay`: a scripted run of two daemons (simulated clock, memory LAN, fake prober and IP,
// the real journal writer) is recorded, then replayed offline through the pure machines. Every
// recorded machine decision must be compared and match; one tampered event must be reported as
// the mismatch (exit 1); bad input gives a clear error and an exit code, never a crash.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { SimulatedClock } from 'xstate';
import { Bus, type BusEvent } from '../../actors/bus.js';
import { replayCommand } from '../../actors/cli/replay.js';
import { Daemon } from '../../actors/daemon.js';
import { silentLogger } from '../../actors/log.js';
import { openJournal } from '../../adapters/journal/file.js';
import { readJournal } from '../../adapters/journal/reader.js';
import { FakeIpNet } from '../fakes/ipNet.js';
import { FakeProber } from '../fakes/prober.js';
import { fakeRunner } from '../fakes/runner.js';
import { createMemoryLan } from '../fakes/vrrpNet.js';
import { parse } from '../helpers.js';

const root = path.resolve(import.meta.dirname, '../..');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-replay-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

// ---------------------------------------------------------------- the recorded run

const vrrpConf = (prio: number, vi3 = prio) => `global_defs {
  router_id n${prio}
}
vrrp_script chk {
  script "/usr/bin/true"
  interval 1
  weight 0
}
vrrp_sync_group G1 {
  group {
    VI_1
    VI_2
  }
}
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 51
  priority ${prio}
  advert_int 1
  virtual_ipaddress {
    10.0.0.100/24
  }
}
vrrp_instance VI_2 {
  interface eth0
  virtual_router_id 52
  priority ${prio}
  advert_int 1
  virtual_ipaddress {
    10.0.0.101/24
  }
}
vrrp_instance VI_3 {
  interface eth0
  virtual_router_id 53
  priority ${vi3}
  advert_int 1
  virtual_ipaddress {
    10.0.0.103/24
  }
  track_script {
    chk
  }
}
`;

/** `extra`: the reload's change, a second checker on 10.0.1.3 (the virtual server is replaced) */
const lvsConf = (extra: boolean) => `virtual_server 10.0.0.100 80 {
  delay_loop 1
  lb_algo rr
  lb_kind NAT
  protocol TCP
  quorum 2
  sorry_server 10.0.9.9 80
  real_server 10.0.1.1 80 {
    weight 1
    TCP_CHECK {
      connect_timeout 1
      retry 1
      delay_before_retry 1
    }
  }
  real_server 10.0.1.2 80 {
    weight 2
    alpha
    slow_start 2
    TCP_CHECK {
      connect_timeout 1
      retry 0
    }
  }
  real_server 10.0.1.3 80 {
    weight 1
    MISC_CHECK {
      misc_path "/usr/bin/true"
      misc_dynamic
    }${extra ? `
    TCP_CHECK {
      connect_timeout 1
    }` : ''}
  }
}
virtual_server 10.0.0.101 80 {
  delay_loop 1
  lb_algo rr
  lb_kind NAT
  protocol TCP
  ha_suspend
  real_server 10.0.2.1 80 {
    weight 1
    TCP_CHECK {
      connect_timeout 1
    }
  }
}
`;

interface Node {
  readonly name: string;
  readonly daemon: Daemon;
  readonly ip: FakeIpNet;
  readonly journal: Awaited<ReturnType<typeof openJournal>>;
  readonly dir: string;
  readonly conf: string;
}

/**
 * Two nodes, a (priority 150, virtual servers) and b (100): start, a real server failing after a
 * retry and recovering, an alpha server coming up with slow start, a dynamic weight, a drain, the
 * track script failing (VI_3 FAULT on a, b takes over) and recovering, a reload (VI_3's priority in
 * place, a virtual server replaced), a's link down and up (the sync group's FAULT cascade), a
 * stopping first (b hears priority 0), then b.
 */
async function record(): Promise<Node[]> {
  const clock = new SimulatedClock();
  const lan = createMemoryLan();
  const prober = new FakeProber({ ok: true });
  prober.set({ address: '10.0.1.2', port: 80 }, { ok: false, detail: 'connect ECONNREFUSED' });
  const runner = fakeRunner();
  let chkExit = 0;
  const nodes: Node[] = [];
  for (const [name, prio, addr] of [['a', 150, '10.0.0.1'], ['b', 100, '10.0.0.2']] as const) {
    const text = vrrpConf(prio) + (name === 'a' ? lvsConf(false) : '');
    const conf = path.join(tmp, `${name}.conf`);
    fs.writeFileSync(conf, text);
    const loaded = parse(text);
    assert.equal(loaded.exitCode, 0, JSON.stringify(loaded.diagnostics));
    const bus = new Bus(name, () => clock.now());
    const dir = path.join(tmp, `journal-${name}`);
    const journal = await openJournal(dir, { syncIntervalMs: 5 });
    bus.subscribe((e) => void journal.append(e.id, e));
    const ip = new FakeIpNet();
    const daemon = new Daemon(loaded.config, {
      net: lan.net(name, { eth0: [addr] }), ip, log: silentLogger(), bus, version: 'test', clock, prober, configFile: conf,
      // only a's track script runs (b's VI_3 tracks it too, and it never fails there)
      ...(name === 'a' ? { runner: runner.runner } : { runner: fakeRunner({ autoExit: { exitCode: 0 } }).runner }),
    });
    await daemon.start();
    nodes.push({ name, daemon, ip, journal, dir, conf });
  }
  const [a, b] = nodes as [Node, Node];
  const settle = () => new Promise((r) => setImmediate(r));
  const step = async (ms: number) => {
    for (let t = 0; t < ms; t += 10) {
      clock.increment(10);
      for (const s of runner.runs) if (!s.exited) s.exit({ exitCode: chkExit });
      await settle();
    }
  };
  // the track script's interval runs on real timers (TrackerSet has no clock): wait for its verdict
  const trackScript = async (exit: number, state: 'ok' | 'failed') => {
    chkExit = exit;
    const seen = () => (a.daemon.status().find((i) => i.instance === 'VI_3')?.trackers ?? []).some((t) => t.name === 'chk' && t.status === state);
    for (let i = 0; i < 100 && !seen(); i++) {
      for (const s of runner.runs) if (!s.exited) s.exit({ exitCode: chkExit });
      await new Promise((r) => setTimeout(r, 30));
    }
    assert.ok(seen(), `the track script never reported ${state}`);
  };
  await step(5000);
  prober.set({ address: '10.0.1.1', port: 80 }, { ok: false, detail: 'connect ETIMEDOUT' });
  prober.set({ address: '10.0.2.1', port: 80 }, { ok: false, detail: 'connect ECONNREFUSED' });
  await step(4000);
  prober.set({ address: '10.0.1.1', port: 80 }, { ok: true });
  prober.set({ address: '10.0.1.2', port: 80 }, { ok: true });
  await step(4000);
  prober.set({ address: '10.0.1.3' }, { ok: true, weight: { mode: 'set', value: 3 } });
  await step(3000);
  assert.equal(a.daemon.lvs!.drain('10.0.0.100:80/tcp', '10.0.1.2:80', true), undefined);
  await step(1000);
  assert.equal(a.daemon.lvs!.drain('10.0.0.100:80/tcp', '10.0.1.2:80', false), undefined);
  await step(1000);
  await trackScript(1, 'failed');
  await step(5000);
  await trackScript(0, 'ok');
  await step(6000);
  const reloaded = vrrpConf(150, 160) + lvsConf(true);
  fs.writeFileSync(a.conf, reloaded);
  await a.daemon.reload(parse(reloaded).config, a.conf);
  await step(5000);
  a.ip.setLinkUp('eth0', false);
  await step(3000);
  a.ip.setLinkUp('eth0', true);
  await step(6000);
  await a.daemon.stop();
  await step(5000);
  await b.daemon.stop();
  for (const n of nodes) await n.journal.close();
  return nodes;
}

// ---------------------------------------------------------------- running the command

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

/** `vigil replay ARGS` in this process, its output captured */
async function replay(...args: string[]): Promise<Result> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await replayCommand(args, { out: (t) => void out.push(t), err: (t) => void err.push(t) });
  return { code, stdout: out.join(''), stderr: err.join('') };
}

interface JsonStep {
  index: number;
  actor: string;
  type: string;
  verdict: string;
  event: BusEvent;
  moves: { actor: string; event: string; provenance: string; before: string; after: string }[];
  checks: { actor: string; type: string; ok: boolean; recordedId?: string; diff?: string[]; note?: string }[];
  unreplayable?: string;
}

function steps(r: Result): { steps: JsonStep[]; summary: Record<string, number> } {
  const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  const summary = lines.pop()!['summary'] as Record<string, number>;
  return { steps: lines as unknown as JsonStep[], summary };
}

async function events(dir: string): Promise<BusEvent[]> {
  const out: BusEvent[] = [];
  for await (const e of readJournal(dir)) out.push(e.event as BusEvent);
  return out;
}

const writeLines = (file: string, list: readonly unknown[]) => fs.writeFileSync(file, list.map((x) => JSON.stringify(x)).join('\n') + '\n');

/** the recorded decisions of the machines the replay runs (rx-lower-priority is a rate-limited report) */
const DECISIONS: Record<string, readonly string[]> = {
  vrrp: ['vrrp.state', 'vrrp.priority', 'vrrp.conflict'],
  'sync-group': ['sync.state'],
  vs: ['vs.rs', 'vs.weight', 'vs.quorum', 'vs.table', 'vs.drain'],
  checker: ['checker.state', 'checker.weight'],
};
const isDecision = (e: BusEvent) => DECISIONS[e.kind]?.includes(e.type) ?? false;

// ---------------------------------------------------------------- tests

describe('vigil replay', () => {
  let nodes: Node[];
  let recordedA: BusEvent[];
  before(async () => {
    nodes = await record();
    recordedA = await events(nodes[0]!.dir);
  });

  for (const name of ['a', 'b']) {
    test(`node ${name}: every recorded decision is replayed and matches`, async () => {
      const n = nodes.find((x) => x.name === name)!;
      const r = await replay('--from', n.dir, '-f', n.conf, '--json');
      assert.equal(r.code, 0, r.stdout + r.stderr);
      const { steps: list, summary } = steps(r);
      assert.equal(summary['mismatch'], 0);
      assert.equal(summary['unreplayable'], 0, JSON.stringify(list.filter((s) => s.verdict === 'unreplayable')));
      // each recorded decision was compared, once, and matched: none skipped silently
      const decisions = (await events(n.dir)).filter(isDecision).map((e) => e.id);
      const compared = list.flatMap((s) => s.checks.filter((c) => c.ok).map((c) => c.recordedId));
      assert.deepEqual([...compared].sort(), [...decisions].sort());
      assert.ok(decisions.length > (name === 'a' ? 60 : 15), `only ${decisions.length} decisions recorded`);
    });
  }

  test('the steps say what was fed, from where, and the states before and after', async () => {
    const n = nodes[0]!;
    const { steps: list } = steps(await replay('--from', n.dir, '-f', n.conf, '--json'));
    const moves = list.flatMap((s) => s.moves);
    // the track script's failure is fed from the record, as a fault flag of VI_3
    const tracked = moves.find((m) => m.actor === 'vrrp/VI_3' && m.event === 'fault.set track:script:chk');
    assert.equal(tracked?.provenance, 'recorded');
    assert.match(tracked!.before, /^master/);
    assert.equal(tracked!.after, 'fault');
    // a Master_Down timer that ran out is inferred; the group's commands to its members are derived
    assert.ok(moves.some((m) => m.actor === 'vrrp/VI_3' && m.event === 'timer masterDown' && m.provenance === 'inferred' && m.after.startsWith('master')));
    assert.ok(moves.some((m) => m.actor === 'vrrp/VI_2' && m.event === 'sync.master' && m.provenance === 'derived'));
    // virtual servers hear their checkers' recorded events; ha_suspend follows the recorded VRRP states
    assert.ok(moves.some((m) => m.actor === 'vs/10.0.0.100:80/tcp' && m.event.startsWith('checker.state') && m.provenance === 'recorded'));
    assert.ok(moves.some((m) => m.actor === 'vs/10.0.0.101:80/tcp' && m.event === 'vrrp.master' && m.before.includes('checks.suspended') && m.after.includes('checks.active')));
    assert.ok(moves.some((m) => m.actor.startsWith('checker/10.0.0.101') && m.event === 'resume' && m.provenance === 'derived'));
    // the slow start's silent steps come before the table they lead to
    assert.ok(moves.filter((m) => m.event === 'rs.ramp 10.0.1.2:80').length >= 2);
    // and the text form shows the same steps
    const text = await replay('--from', n.dir, '-f', n.conf);
    assert.equal(text.code, 0);
    assert.match(text.stdout, /^#\d+ \S+ track\/chk track\.state failed \(exit 1\)\n {4}fed vrrp\/VI_3: fault\.set track:script:chk \[recorded: tracker chk is failed\]\n {8}master\(.*\) → fault\n {4}ok {2}vrrp\/VI_3 vrrp\.state MASTER → FAULT \(fault track:script:chk, priority 150\)$/m);
    assert.match(text.stdout, /note: configuration reloaded \(changed in place: VI_3 \(priority\); virtual servers replaced: 10\.0\.0\.100:80\/tcp\)/);
    assert.match(text.stdout, /\n\d+ step\(s\): \d+ match, 0 MISMATCH, 0 not replayable/);
  });

  test('--actor and --instance show only that actor\'s steps; --since and --until a window', async () => {
    const n = nodes[0]!;
    const vi3 = steps(await replay('--from', n.dir, '-f', n.conf, '--json', '--instance', 'VI_3'));
    assert.ok(vi3.steps.length >= 5);
    for (const s of vi3.steps) assert.ok(s.actor === 'vrrp/VI_3' || s.moves.some((m) => m.actor === 'vrrp/VI_3') || s.checks.some((c) => c.actor === 'vrrp/VI_3'), JSON.stringify(s));
    const checker = steps(await replay('--from', n.dir, '-f', n.conf, '--json', '--actor', 'checker:10.0.0.100:80/tcp 10.0.1.1:80 TCP_CHECK#0'));
    assert.deepEqual(checker.steps.flatMap((s) => s.checks.filter((c) => c.actor.startsWith('checker/')).map((c) => c.ok)), [true, true]);
    const window = steps(await replay('--from', n.dir, '-f', n.conf, '--json', '--since', '1970-01-01T00:00:05Z', '--until', '1970-01-01T00:00:10Z'));
    assert.ok(window.steps.length > 0);
    for (const s of window.steps) assert.ok(s.event.time >= '1970-01-01T00:00:05' && s.event.time <= '1970-01-01T00:00:10.000Z', s.event.time);
  });

  test('a tampered virtual server decision is the one mismatch reported (exit 1)', async () => {
    const file = path.join(tmp, 'tampered-table.jsonl');
    const list = structuredClone(recordedA);
    // the table after 10.0.1.1 failed: the virtual server's input (its checker's event) is unchanged
    const target = list.find((e) => e.type === 'vs.table' && (e.data as { sorry?: boolean }).sorry === true)!;
    (target.data as { entries: { weight: number }[] }).entries[0]!.weight = 7;
    writeLines(file, list);
    const r = await replay('--from', file, '-f', nodes[0]!.conf, '--json');
    assert.equal(r.code, 1);
    const bad = steps(r).steps.filter((s) => s.verdict === 'mismatch');
    assert.equal(bad.length, 1, JSON.stringify(bad));
    const check = bad[0]!.checks.find((c) => !c.ok)!;
    assert.equal(check.recordedId, target.id);
    assert.deepEqual(check.diff?.map((d) => d.split(':')[0]), ['entries']);
    // in words too
    const text = await replay('--from', file, '-f', nodes[0]!.conf);
    assert.match(text.stdout, /MISMATCH vs\/10\.0\.0\.100:80\/tcp vs\.table\n {6}recorded table \[10\.0\.9\.9:80 w7 sorry\]\n {6}replayed table \[10\.0\.9\.9:80 w1 sorry\]/);
    assert.match(text.stdout, /1 MISMATCH/);
  });

  test('a tampered VRRP decision is reported, and its machine is not replayed after it', async () => {
    const file = path.join(tmp, 'tampered-vrrp.jsonl');
    const list = structuredClone(recordedA);
    const target = list.find((e) => e.type === 'vrrp.state' && (e.data as { cause?: string }).cause === 'master-down-timeout')!;
    (target.data as { priority: number }).priority = 99;
    writeLines(file, list);
    const r = await replay('--from', file, '-f', nodes[0]!.conf, '--json');
    assert.equal(r.code, 1);
    const { steps: list2 } = steps(r);
    const bad = list2.filter((s) => s.verdict === 'mismatch');
    assert.equal(bad.length, 1);
    assert.equal(bad[0]!.checks.find((c) => !c.ok)!.recordedId, target.id);
    assert.deepEqual(bad[0]!.checks.find((c) => !c.ok)!.diff, ['priority: recorded 99, replayed 150']);
    const later = list2.filter((s) => s.index > bad[0]!.index && s.actor === 'vrrp/VI_3');
    assert.ok(later.length > 0);
    for (const s of later) assert.match(s.unreplayable ?? '', /diverged at #\d+/);
  });

  test('a record that starts after the machines started: their events are not replayed, and said so', async () => {
    const file = path.join(tmp, 'late.jsonl');
    // from the first checker result on: the instances', the group's and the virtual servers' starts are gone
    writeLines(file, recordedA.slice(recordedA.findIndex((e) => e.kind === 'checker')));
    const r = await replay('--from', file, '-f', nodes[0]!.conf, '--json');
    assert.equal(r.code, 0, r.stderr);
    const { steps: list, summary } = steps(r);
    assert.ok(summary['unreplayable']! > 0);
    const vi1 = list.find((s) => s.actor === 'vrrp/VI_1')!;
    assert.equal(vi1.verdict, 'unreplayable');
    assert.match(vi1.unreplayable!, /the record starts after it started/);
  });

  test('a crash then a restart in one record: the new process starts afresh, nothing carried over', async () => {
    const file = path.join(tmp, 'crash.jsonl');
    // the first process dies before it stops (no daemon.stopping, no STOP); a second one runs the same scenario
    const crashed = recordedA.slice(0, recordedA.findIndex((e) => e.type === 'daemon.stopping'));
    writeLines(file, [...crashed, ...recordedA]);
    const r = await replay('--from', file, '-f', nodes[0]!.conf, '--json');
    assert.equal(r.code, 0, r.stdout);
    const { steps: list, summary } = steps(r);
    assert.equal(summary['unreplayable'], 0);
    const compared = list.flatMap((s) => s.checks.filter((c) => c.ok).map((c) => c.recordedId));
    assert.equal(compared.length, [...crashed, ...recordedA].filter(isDecision).length);
    // the second process's virtual server starts from the configuration: 10.0.1.2 (alpha) is not carried over as up
    const restart = list.find((s) => s.index > crashed.length && s.actor === 'vs/10.0.0.100:80/tcp')!;
    assert.deepEqual(restart.moves[0], { actor: 'vs/10.0.0.100:80/tcp', event: 'start', provenance: 'inferred', why: 'it started', before: 'running(quorum.up, checks.active)', after: 'running(quorum.up, checks.active)' });
  });

  test('several nodes in one record: --node chooses, without it exit 2', async () => {
    const file = path.join(tmp, 'both.jsonl');
    writeLines(file, [...recordedA, ...(await events(nodes[1]!.dir))]);
    const r = await replay('--from', file, '-f', nodes[1]!.conf);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /the record holds 2 nodes \(a, b\): choose one with --node/);
    const b = await replay('--from', file, '-f', nodes[1]!.conf, '--node', 'b', '--json');
    assert.equal(b.code, 0, b.stderr);
    assert.equal(steps(b).summary['mismatch'], 0);
  });

  test('bad input: a clear error and an exit code, never a crash', async () => {
    const conf = nodes[0]!.conf;
    const noStack = (r: Result) => assert.doesNotMatch(r.stderr, /\n\s+at /);
    // a journal of garbage
    const junk = path.join(tmp, 'junk-journal');
    fs.mkdirSync(junk);
    fs.writeFileSync(path.join(junk, 'journal-0000000000000001.log'), Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) % 251)));
    let r = await replay('--from', junk, '-f', conf);
    assert.equal(r.code, 3);
    assert.match(r.stderr, /corrupt record.*skipped/);
    assert.match(r.stderr, /no events in the journal/);
    noStack(r);
    // JSON lines with garbage: each bad line named file:line:col, the good ones replayed
    const lines = path.join(tmp, 'mixed.jsonl');
    fs.writeFileSync(lines, `not json\n${JSON.stringify(recordedA[0])}\n{"v":2,"id":"x"}\n{"type": oops}\n`);
    r = await replay('--from', lines, '-f', conf);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, new RegExp(`${lines.replace(/[.]/g, '\\.')}:1:1: not JSON`));
    assert.match(r.stderr, /mixed\.jsonl:3:1: not a vigil event envelope/);
    assert.match(r.stderr, /mixed\.jsonl:4:10: not JSON/);
    fs.writeFileSync(lines, 'garbage\n\u0000\u0001\n');
    r = await replay('--from', lines, '-f', conf);
    assert.equal(r.code, 3);
    assert.match(r.stderr, /no vigil events in .*mixed\.jsonl/);
    noStack(r);
    // an actor the record and the configuration do not have
    r = await replay('--from', nodes[0]!.dir, '-f', conf, '--actor', 'vrrp:VI_9');
    assert.equal(r.code, 2);
    assert.match(r.stderr, /no actor vrrp\/VI_9 in the record or in .*a\.conf \(vrrp: vrrp\/VI_1, vrrp\/VI_2, vrrp\/VI_3\)/);
    r = await replay('--from', nodes[0]!.dir, '-f', conf, '--actor', 'VI_1');
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--actor 'VI_1': expected KIND:NAME/);
    // no record, a segment instead of its directory, no configuration, a broken configuration
    r = await replay('--from', path.join(tmp, 'nothing-here'), '-f', conf);
    assert.equal(r.code, 3);
    assert.match(r.stderr, /cannot read the record .*nothing-here: no such file or directory/);
    r = await replay('--from', path.join(junk, 'journal-0000000000000001.log'), '-f', conf);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /one segment of a journal: give its directory/);
    r = await replay('--from', nodes[0]!.dir, '-f', path.join(tmp, 'missing.conf'));
    assert.equal(r.code, 3);
    assert.match(r.stderr, /the configuration .*missing\.conf cannot drive the machines/);
    const broken = path.join(tmp, 'broken.conf');
    fs.writeFileSync(broken, 'vrrp_instance VI_1 {\n  priority many\n');
    r = await replay('--from', nodes[0]!.dir, '-f', broken);
    assert.equal(r.code, 3);
    assert.match(r.stderr, /broken\.conf:2:\d+:/);
    // bad flags
    r = await replay('--since', 'yesterday-ish', '--from', nodes[0]!.dir);
    assert.equal(r.code, 2);
    r = await replay('--bogus');
    assert.equal(r.code, 2);
    assert.match(r.stderr, /see vigil replay --help/);
  });

  test('an input the record cannot hold is reported as not replayable, not as a mismatch', async () => {
    // VI_1 of node a yields to an equal priority and a higher address: the tie-break needs our own
    // advert source address, which neither the record nor this configuration holds
    const file = path.join(tmp, 'tie.jsonl');
    const base = { v: 1, node: 'a', kind: 'vrrp', name: 'VI_3', correlation: 'c' };
    const ev = (n: number, data: Record<string, unknown>) => ({ ...base, id: `01J0000000000000000000000${n}`, time: `2026-01-01T00:00:0${n}.000Z`, type: 'vrrp.state', data: { type: 'vrrp.state', instance: 'VI_3', vrid: 53, priority: 150, ...data } });
    writeLines(file, [
      ev(1, { from: 'INIT', to: 'BACKUP', cause: 'startup' }),
      ev(2, { from: 'BACKUP', to: 'MASTER', cause: 'master-down-timeout' }),
      ev(3, { from: 'MASTER', to: 'BACKUP', cause: 'equal-priority-higher-address', master: '10.0.0.9' }),
      ev(4, { from: 'BACKUP', to: 'MASTER', cause: 'master-down-timeout' }),
    ]);
    const r = await replay('--from', file, '-f', nodes[0]!.conf, '--json');
    assert.equal(r.code, 0, r.stdout);
    const verdicts = steps(r).steps.map((s) => s.verdict);
    assert.deepEqual(verdicts, ['match', 'match', 'unreplayable', 'unreplayable']);
    assert.match(steps(r).steps[2]!.unreplayable!, /advert source address/);
  });

  test('the command is registered: vigil replay --help, and a run through the CLI', () => {
    const vigil = (...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e',
      `import { main } from ${JSON.stringify(path.join(root, 'actors/cli/main.ts'))}; main(process.argv.slice(1)).then((c) => { process.exitCode = c; });`, '--', ...args], { cwd: root, encoding: 'utf8' });
    const help = vigil('replay', '--help');
    assert.equal(help.status, 0, help.stderr);
    assert.match(help.stdout, /^Usage: vigil replay /);
    assert.match(help.stdout, /inferred/);
    const list = vigil('--help');
    assert.match(list.stdout, /\n {2}replay +feed recorded events back through the state machines/);
    const r = vigil('replay', '--from', nodes[1]!.dir, '-f', nodes[1]!.conf);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /0 MISMATCH, 0 not replayable/);
  });
});
