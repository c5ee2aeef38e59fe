// adapters/exec/trackProcess.ts: matching and connector decoding on hand-built inputs, then real
// processes (copies of sleep and sh under unique names in a temp dir), through the proc connector
// when we are root and through the polling stopgap.
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmod, copyFile, mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { TrackProcess } from '../../adapters/config/model.js';
import {
  decodeProcEvent, matches, parseStat, processSpecFromConfig, trackProcesses,
  type ProcessSpec, type QuorumChange,
} from '../../adapters/exec/trackProcess.js';

const spec = (p: Partial<ProcessSpec>): ProcessSpec => ({
  name: 't', process: 'x', args: [], paramMatch: 'none', fullCommand: false, quorum: 1,
  quorumMax: Number.MAX_SAFE_INTEGER, forkDelayMs: 0, terminateDelayMs: 0, ...p,
});
const cmd = (...argv: string[]) => Buffer.from(argv.map((a) => `${a}\0`).join(''));

describe('matching (keepalived check_params)', () => {
  test('comm: exact name, zombies never count', () => {
    const s = spec({ process: 'nginx' });
    assert.equal(matches(s, { comm: 'nginx', zombie: false, cmdline: null }), true);
    assert.equal(matches(s, { comm: 'nginx', zombie: true, cmdline: null }), false);
    assert.equal(matches(s, { comm: 'nginx2', zombie: false, cmdline: null }), false);
  });
  test('full command: argv[0], then exact / partial / initial arguments', () => {
    const exact = spec({ process: '/usr/sbin/app', args: ['-c', 'conf'], paramMatch: 'exact', fullCommand: true });
    assert.equal(matches(exact, { comm: null, zombie: false, cmdline: cmd('/usr/sbin/app', '-c', 'conf') }), true);
    assert.equal(matches(exact, { comm: null, zombie: false, cmdline: cmd('/usr/sbin/app', '-c', 'conf', '-d') }), false);
    assert.equal(matches(exact, { comm: null, zombie: false, cmdline: cmd('/usr/sbin/app', '-c', 'con') }), false);
    assert.equal(matches(exact, { comm: null, zombie: false, cmdline: cmd('app', '-c', 'conf') }), false);
    const noArgs = spec({ process: '/usr/sbin/app', paramMatch: 'exact', fullCommand: true });
    assert.equal(matches(noArgs, { comm: null, zombie: false, cmdline: cmd('/usr/sbin/app') }), true);
    assert.equal(matches(noArgs, { comm: null, zombie: false, cmdline: cmd('/usr/sbin/app', 'x') }), false);
    const partial = spec({ ...exact, paramMatch: 'partial' });
    assert.equal(matches(partial, { comm: null, zombie: false, cmdline: cmd('/usr/sbin/app', '-c', 'conf', '-d') }), true);
    assert.equal(matches(partial, { comm: null, zombie: false, cmdline: cmd('/usr/sbin/app', '-c', 'config') }), false);
    const initial = spec({ ...exact, paramMatch: 'initial' });
    assert.equal(matches(initial, { comm: null, zombie: false, cmdline: cmd('/usr/sbin/app', '-c', 'config') }), true);
    assert.equal(matches(initial, { comm: null, zombie: false, cmdline: cmd('/usr/sbin/app', '-C', 'config') }), false);
    const any = spec({ process: '/usr/sbin/app', fullCommand: true });
    assert.equal(matches(any, { comm: null, zombie: false, cmdline: cmd('/usr/sbin/app', 'whatever') }), true);
    assert.equal(matches(any, { comm: null, zombie: false, cmdline: Buffer.alloc(0) }), false, 'a zombie has no cmdline');
  });
  test('parseStat: a name with ") (" in it', () => {
    assert.deepEqual(parseStat('42 (a) (b) S 1 42 42 0'), { comm: 'a) (b', state: 'S' });
    assert.deepEqual(parseStat('7 (zed) Z 1'), { comm: 'zed', state: 'Z' });
    assert.equal(parseStat('garbage'), null);
  });
  test('from the config model: arguments imply full_command and exact, delay sets both delays', () => {
    const base: TrackProcess = {
      loc: { file: 'k', line: 1, col: 1 } as TrackProcess['loc'], name: 'p', process: '/bin/app', args: ['-x'], weight: 0,
      reverse: false, quorum: 2, fullCommand: false, delayMs: 500,
    };
    assert.deepEqual(processSpecFromConfig(base), {
      name: 'p', process: '/bin/app', args: ['-x'], paramMatch: 'exact', fullCommand: true, quorum: 2,
      quorumMax: Number.MAX_SAFE_INTEGER, forkDelayMs: 500, terminateDelayMs: 500,
    });
    const plain = processSpecFromConfig({ ...base, args: [], delayMs: undefined, forkDelayMs: 100 });
    assert.equal(plain?.fullCommand, false);
    assert.equal(plain?.paramMatch, 'none');
    assert.equal(plain?.forkDelayMs, 100);
    assert.equal(plain?.terminateDelayMs, 0);
    assert.equal(processSpecFromConfig({ ...base, process: undefined }), undefined);
  });
});

describe('decodeProcEvent (bytes built by hand, <linux/cn_proc.h>)', () => {
  // nlmsghdr (16) | cn_msg: idx, val, seq, ack, len u16, flags u16 (20) | what, cpu, ts u64 | data
  function msg(what: number, data: number[], idx = 1, comm?: string): Buffer {
    const b = Buffer.alloc(16 + 20 + 16 + Math.max(24, data.length * 4));
    b.writeUInt32LE(b.length, 0);
    b.writeUInt32LE(idx, 16); b.writeUInt32LE(1, 20);
    b.writeUInt32LE(what, 36);
    data.forEach((v, i) => b.writeUInt32LE(v, 52 + i * 4));
    if (comm) b.write(comm, 60, 'latin1');
    return b;
  }
  test('fork, exec, comm, exit, ack; others and garbage', () => {
    assert.deepEqual(decodeProcEvent(msg(1, [10, 10, 11, 11]), true), { what: 'fork', parentTgid: 10, childPid: 11, childTgid: 11 });
    assert.deepEqual(decodeProcEvent(msg(2, [12, 12]), true), { what: 'exec', pid: 12, tgid: 12 });
    assert.deepEqual(decodeProcEvent(msg(0x200, [13, 13], 1, 'newname'), true), { what: 'comm', pid: 13, tgid: 13, comm: 'newname' });
    assert.deepEqual(decodeProcEvent(msg(0x80000000, [14, 14, 0, 17]), true), { what: 'exit', pid: 14, tgid: 14 });
    assert.deepEqual(decodeProcEvent(msg(0, [0]), true), { what: 'ack', err: 0 });
    assert.deepEqual(decodeProcEvent(msg(4, [1, 1]), true), { what: 'other' });
    assert.equal(decodeProcEvent(msg(2, [1, 1], 7), true), null, 'another connector');
    assert.equal(decodeProcEvent(Buffer.alloc(40), true), null, 'too short');
    assert.equal(decodeProcEvent(msg(1, [1, 1, 2, 2]).subarray(0, 60), true), null, 'truncated fork');
  });
});

describe('tracking real processes', () => {
  let dir = '';
  let sleepBin = '';
  let shBin = '';
  const tag = `v${process.pid % 100000}`;
  const children: ChildProcess[] = [];
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vigil-tproc-'));
    sleepBin = join(dir, `${tag}slp`);
    shBin = join(dir, `${tag}sh`);
    await copyFile('/bin/sleep', sleepBin);
    await copyFile('/bin/sh', shBin);
    await chmod(sleepBin, 0o755);
    await chmod(shBin, 0o755);
  });
  after(async () => {
    // each child leads its own group: this also reaches a subshell a failed test left behind
    for (const c of children) try { process.kill(-c.pid!, 'SIGKILL'); } catch { /* gone */ }
    await rm(dir, { recursive: true, force: true });
  });
  const run = (bin: string, args: string[], stdin: 'ignore' | 'pipe' = 'ignore') => {
    const c = spawn(bin, args, { stdio: [stdin, 'ignore', 'ignore'], detached: true });
    children.push(c);
    return c;
  };
  const stop = (c: ChildProcess) => new Promise<void>((r) => { c.once('exit', () => r()); c.kill('SIGKILL'); });
  async function until(cond: () => boolean, ms = 3000) {
    const end = Date.now() + ms;
    while (!cond() && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
    return cond();
  }
  const isRoot = process.getuid?.() === 0;

  for (const source of ['auto', 'poll'] as const) {
    test(`quorum and quorum_max follow starts and exits (${source})`, async () => {
      const a = run(sleepBin, ['1000']);
      const changes: QuorumChange[] = [];
      const t = await trackProcesses([
        spec({ name: 'two', process: `${tag}slp`, quorum: 2 }),
        spec({ name: 'atmost2', process: `${tag}slp`, quorum: 1, quorumMax: 2 }),
      ], (c) => changes.push(c), { source, pollMs: 50 });
      try {
        if (source === 'auto' && isRoot) assert.equal(t.source, 'connector');
        assert.deepEqual(changes, [
          { tracker: 'two', up: false, count: 1, initial: true },
          { tracker: 'atmost2', up: true, count: 1, initial: true },
        ]);
        const b = run(sleepBin, ['1000']);
        assert.ok(await until(() => t.status('two')?.up === true));
        const c = run(sleepBin, ['1000']);
        assert.ok(await until(() => t.status('atmost2')?.up === false), 'three is above quorum_max');
        assert.equal(t.status('two')?.count, 3);
        await stop(c);
        await stop(b);
        assert.ok(await until(() => t.status('two')?.up === false));
        assert.deepEqual(changes.slice(2).map((x) => `${x.tracker}:${x.up}:${x.count}`),
          ['two:true:2', 'atmost2:false:3', 'atmost2:true:2', 'two:false:1']);
        await stop(a);
        assert.ok(await until(() => t.status('atmost2')?.up === false));
      } finally {
        t.close();
      }
    });
  }

  test('full command with arguments: exact / partial / initial', async () => {
    const p = run(sleepBin, ['1000', '1']);
    const t = await trackProcesses([
      spec({ name: 'exact', process: sleepBin, args: ['1000'], paramMatch: 'exact', fullCommand: true }),
      spec({ name: 'exact2', process: sleepBin, args: ['1000', '1'], paramMatch: 'exact', fullCommand: true }),
      spec({ name: 'partial', process: sleepBin, args: ['1000'], paramMatch: 'partial', fullCommand: true }),
      spec({ name: 'initial', process: sleepBin, args: ['10'], paramMatch: 'initial', fullCommand: true }),
    ], () => {}, { source: 'poll', pollMs: 50 });
    try {
      await until(() => t.status('exact2')?.up === true, 1000);
      assert.deepEqual(['exact', 'exact2', 'partial', 'initial'].map((n) => t.status(n)?.up), [false, true, true, true]);
    } finally {
      t.close();
      await stop(p);
    }
  });

  test('a fork of a counted process counts; a rename uncounts (connector)', { skip: isRoot ? false : 'the proc connector needs root' }, async () => {
    const t = await trackProcesses([spec({ name: 'sh', process: `${tag}sh` })], () => {}, { source: 'auto' });
    try {
      assert.equal(t.source, 'connector');
      assert.equal(t.status('sh')?.count, 0);
      // the subshell ( ... ) is a fork that does not exec: it keeps the parent's name. (A background
      // job's stdin is /dev/null, so the subshell waits on a FIFO instead.)
      const fifo = join(dir, 'fifo');
      execFileSync('mkfifo', [fifo]);
      const p = run(shBin, ['-c', `(exec 0<${fifo}; read a; printf renamed > /proc/self/comm; read b) & read c`], 'pipe');
      // our copied sh is counted once its exec is seen, the subshell by its fork
      assert.ok(await until(() => t.status('sh')?.count === 2), `count ${t.status('sh')?.count}`);
      const w = await open(fifo, 'w');
      await w.write('go\n');
      // the subshell renames itself: a comm event uncounts it
      assert.ok(await until(() => t.status('sh')?.count === 1), `count ${t.status('sh')?.count}`);
      await w.close();
      p.stdin?.end();
      assert.ok(await until(() => t.status('sh')?.count === 0), `count ${t.status('sh')?.count}`);
      assert.equal(t.status('sh')?.up, false);
    } finally {
      t.close();
    }
  });

  test('terminate_delay: a loss is reported only if it lasts', async () => {
    const a = run(sleepBin, ['1000']);
    const changes: QuorumChange[] = [];
    const t = await trackProcesses([spec({ name: 'd', process: `${tag}slp`, terminateDelayMs: 400 })],
      (c) => changes.push(c), { source: 'poll', pollMs: 30 });
    try {
      assert.equal(t.status('d')?.up, true);
      await stop(a);
      assert.ok(await until(() => t.status('d')?.count === 0));
      assert.equal(t.status('d')?.up, true, 'still up within terminate_delay');
      // back before the delay ran out: no report at all
      const b = run(sleepBin, ['1000']);
      assert.ok(await until(() => t.status('d')?.count === 1));
      await new Promise((r) => setTimeout(r, 500));
      assert.equal(changes.length, 1, JSON.stringify(changes));
      await stop(b);
      assert.ok(await until(() => t.status('d')?.up === false, 2000));
      assert.equal(changes.length, 2);
    } finally {
      t.close();
    }
  });
});
