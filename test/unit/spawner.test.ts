// adapters/exec/spawner.ts: the ScriptRunner contract of script.ts through the spawn server (real
// processes, no network; user switching needs root), plus what only the spawner has: the server
// dying mid-run, restarting, and exiting with its parent.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createActor, waitFor } from 'xstate';
import { runScriptActor } from '../../adapters/exec/scriptActor.js';
import { parseRequest } from '../../adapters/exec/spawn-server.js';
import { createSpawnerRunner } from '../../adapters/exec/spawner.js';
import { trackScript, type TrackScriptEmitted } from '../../machines/track-script.machine.js';

const runner = createSpawnerRunner({ killGraceMs: 300 });
const isRoot = process.getuid?.() === 0;
let dir = '';
before(async () => { dir = await mkdtemp(join(tmpdir(), 'vigil-spawner-')); });
after(async () => { runner.killAll(); runner.close(); await rm(dir, { recursive: true, force: true }); });

/** gone, or a zombie nobody has reaped yet: either way not running */
async function gone(pid: number, withinMs = 3000): Promise<boolean> {
  const until = Date.now() + withinMs;
  for (;;) {
    let state: string | undefined;
    try { state = (await readFile(`/proc/${pid}/stat`, 'utf8')).replace(/^.*\) /s, '')[0]; } catch { return true; }
    if (state === 'Z' || state === 'X') return true;
    if (Date.now() > until) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
}
async function pidFrom(file: string): Promise<number> {
  for (let i = 0; i < 150; i++) {
    const pid = Number(await readFile(file, 'utf8').catch(() => '0'));
    if (pid > 0) return pid;
    await new Promise((r) => setTimeout(r, 20));
  }
  return 0;
}

describe('the ScriptRunner contract through the server', () => {
  test('exit codes, signals, words passed as they are, env scrubbing', async () => {
    assert.equal((await runner.run({ argv: ['true'] })).exitCode, 0);
    const r = await runner.run({ argv: ['/bin/sh', '-c', 'exit 3'] });
    assert.equal(r.exitCode, 3);
    assert.ok(r.pid && r.pid > 0 && r.pid !== runner.serverPid);
    assert.equal((await runner.run({ argv: ['echo', '$HOME', '*'] })).stdout, '$HOME *\n');
    const seg = await runner.run({ argv: ['/bin/sh', '-c', 'kill -SEGV $$'] });
    assert.equal(seg.signal, 'SIGSEGV');
    assert.equal(seg.exitCode, null);
    const env = await runner.run({
      argv: ['/bin/sh', '-c', 'echo "${LD_PRELOAD-unset} $FOO"'], env: { FOO: 'bar', LD_PRELOAD: '/x.so' },
    });
    assert.equal(env.stdout, 'unset bar\n');
    assert.equal((await runner.run({ argv: ['</etc/passwd'] })).exitCode, 0, 'keepalived\'s `<` shell form');
    assert.notEqual((await runner.run({ argv: ['</nonexistent/file'] })).exitCode, 0);
  });

  test('ENOENT is 127, an empty argv too; never throws', async () => {
    const missing = await runner.run({ argv: ['/nonexistent/check.sh'] });
    assert.equal(missing.exitCode, 127);
    assert.match(missing.error ?? '', /ENOENT/);
    assert.equal((await runner.run({ argv: [] })).exitCode, 127);
  });

  test('a timeout kills the process group, a TERM-proof grandchild included', async () => {
    const t0 = performance.now();
    const r = await runner.run({
      argv: ['/bin/sh', '-c', `sh -c "trap '' TERM; exec sleep 100" & echo $!; sleep 100`], timeoutMs: 200,
    });
    assert.equal(r.timedOut, true);
    assert.equal(r.signal, 'SIGTERM');
    assert.ok(performance.now() - t0 < 2000);
    const grandchild = Number(r.stdout.trim());
    assert.ok(grandchild > 0, JSON.stringify(r.stdout));
    assert.ok(await gone(grandchild), `grandchild ${grandchild} still running`);
  });

  test('a leader that ignores SIGTERM is SIGKILLed after the grace period', async () => {
    const t0 = performance.now();
    const r = await runner.run({ argv: ['/bin/sh', '-c', "trap '' TERM; sleep 100 & wait; sleep 100"], timeoutMs: 100 });
    const took = performance.now() - t0;
    assert.equal(r.signal, 'SIGKILL');
    assert.ok(took >= 100 + 300 - 20 && took < 3000, `took ${took} ms`);
  });

  test('abort terminates', async () => {
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 100);
    const r = await runner.run({ argv: ['sleep', '100'] }, ac.signal);
    assert.equal(r.signal, 'SIGTERM');
    assert.equal(r.timedOut, false);
  });

  test('output is capped per stream', async () => {
    const capped = createSpawnerRunner({ outputCap: 1000 });
    try {
      const r = await capped.run({ argv: ['/bin/sh', '-c', 'head -c 3000000 /dev/zero | tr "\\0" x; echo err >&2; exit 5'] });
      assert.equal(r.exitCode, 5);
      assert.equal(r.stdout.length, 1000);
      assert.match(r.stdout, /^x+$/);
      assert.equal(r.stderr, 'err\n');
      assert.equal(r.truncated, true);
    } finally { capped.close(); }
  });

  test('killAll terminates every running script', async () => {
    const a = runner.start({ argv: ['sleep', '100'] });
    const b = runner.start({ argv: ['sleep', '100'] });
    await new Promise((r) => setTimeout(r, 100));
    runner.killAll();
    const [ra, rb] = await Promise.all([a.result, b.result]);
    assert.equal(ra.signal, 'SIGTERM');
    assert.equal(rb.signal, 'SIGTERM');
  });

  test('runs as nobody', { skip: isRoot ? false : 'needs root to switch user' }, async () => {
    const r = await runner.run({ argv: ['/bin/sh', '-c', 'id -u; id -g; id -G'], user: 'nobody' });
    assert.equal(r.exitCode, 0, r.stderr);
    assert.deepEqual(r.stdout.trim().split('\n'), ['65534', '65534', '65534']);
    assert.equal((await runner.run({ argv: ['id', '-g'], user: 'nobody', group: 'root' })).stdout.trim(), '0');
    const unknown = await runner.run({ argv: ['true'], user: 'vigil-no-such-user' });
    assert.equal(unknown.exitCode, null);
    assert.match(unknown.error ?? '', /does not exist/);
  });

  test('the tracker machine: a hung script times out and its group is gone', async () => {
    const pidFile = join(dir, 'hung.pid');
    const emitted: TrackScriptEmitted[] = [];
    const actor = createActor(trackScript.provide({
      actors: { runScript: runScriptActor(runner, { argv: ['/bin/sh', '-c', `sleep 100 & echo $! > ${pidFile}; sleep 100`] }) },
    }), { input: { name: 'h', intervalMs: 1000, timeoutMs: 150, rise: 1, fall: 1, initFail: false, weight: 0, reverse: false } });
    actor.on('*', (e) => emitted.push(e));
    actor.start();
    await waitFor(actor, () => emitted.some((e) => e.type === 'track.state'), { timeout: 3000 });
    actor.stop();
    const st = emitted.find((e) => e.type === 'track.state');
    assert.ok(st?.type === 'track.state' && st.state === 'failed' && st.cause === 'timeout', JSON.stringify(st));
    assert.ok(await gone(await pidFrom(pidFile)));
  });
});

describe('server failures', () => {
  test('SIGKILLed mid-run: pending runs fail at once, new runs work on a restarted server', async () => {
    const s = createSpawnerRunner({ killGraceMs: 300 });
    const pidFile = join(dir, 'orphan.pid');
    try {
      const a = s.start({ argv: ['/bin/sh', '-c', `echo $$ > ${pidFile}; exec sleep 100`] });
      const b = s.start({ argv: ['/bin/sh', '-c', `echo $$ > ${pidFile}2; exec sleep 100`] });
      const orphans = [await pidFrom(pidFile), await pidFrom(`${pidFile}2`)];
      // the server reports each script's group once it runs; a kill before that report (a loaded
      // machine) leaves nothing the parent could know to kill
      for (let i = 0; s.groups().length < 2; i++) {
        assert.ok(i < 250, 'the server never reported the scripts\' process groups');
        await new Promise((r) => setTimeout(r, 20));
      }
      assert.deepEqual(s.groups().sort(), [...orphans].sort(), 'each script leads its own group');
      const first = s.serverPid;
      assert.ok(first);
      process.kill(first, 'SIGKILL');
      const [ra, rb] = await Promise.all([a.result, b.result]);
      for (const r of [ra, rb]) {
        assert.equal(r.exitCode, null);
        assert.equal(r.error, 'spawner died');
      }
      a.terminate(); // after the answer: a no-op, no throw
      const again = await s.run({ argv: ['/bin/sh', '-c', 'exit 7'] });
      assert.equal(again.exitCode, 7);
      assert.ok(s.serverPid && s.serverPid !== first);
      // a second quick death: still answered, the restart waits out the back-off
      process.kill(s.serverPid, 'SIGKILL');
      await new Promise((r) => setTimeout(r, 50));
      const t0 = performance.now();
      assert.equal((await s.run({ argv: ['true'] })).exitCode, 0);
      assert.ok(performance.now() - t0 >= 50, 'restarted after a back-off');
      // the SIGKILLed server could not clean up: the parent killed its scripts' process groups
      for (const pid of orphans) assert.ok(await gone(pid), `script ${pid} left running`);
    } finally { s.close(); }
  });

  test('a server that cannot start fails every run instead of hanging', async () => {
    const s = createSpawnerRunner({ serverPath: join(dir, 'no-such-server.js'), maxBackoffMs: 50 });
    try {
      const r = await s.run({ argv: ['true'] });
      assert.equal(r.error, 'spawner died');
      assert.equal((await s.run({ argv: ['true'] })).error, 'spawner died');
    } finally { s.close(); }
  });

  test('the server exits, killing its scripts, when its parent dies', async () => {
    const pidFile = join(dir, 'parent.pid');
    const code = `
      import { createSpawnerRunner } from ${JSON.stringify(new URL('../../adapters/exec/spawner.ts', import.meta.url).href)};
      const s = createSpawnerRunner({ killGraceMs: 200 });
      s.start({ argv: ['/bin/sh', '-c', "trap '' TERM; echo $$ > ${pidFile}; sleep 100 & wait; sleep 100"] });
      setInterval(() => process.stdout.write(String(s.serverPid) + '\\n'), 50);`;
    const parent = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    parent.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    const script = await pidFrom(pidFile);
    const server = Number(out.trim().split('\n').at(-1));
    assert.ok(script > 0 && server > 0, `script ${script}, server ${server}`);
    parent.kill('SIGKILL');
    assert.ok(await gone(server, 3000), 'server outlived its parent');
    assert.ok(await gone(script, 3000), 'a TERM-proof script outlived the server');
  });
});

test('parseRequest: only well-formed requests', () => {
  assert.deepEqual(parseRequest('{"op":"killAll"}'), { op: 'killAll' });
  assert.deepEqual(parseRequest('{"id":3,"op":"terminate"}'), { id: 3, op: 'terminate' });
  assert.deepEqual(parseRequest('{"id":1,"op":"start","spec":{"argv":["true"]}}'), { id: 1, op: 'start', spec: { argv: ['true'] } });
  for (const bad of ['', 'null', '[]', '{"op":"start","spec":{"argv":["x"]}}', '{"id":1,"op":"start","spec":{"argv":[1]}}',
    '{"id":1.5,"op":"terminate"}', '{"id":1,"op":"nope"}', '{"id":1,"op":"start"}']) {
    assert.equal(parseRequest(bad), undefined, bad);
  }
});
