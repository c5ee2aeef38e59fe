// adapters/exec/script.ts with real child processes (no network; user switching needs root).
import assert from 'node:assert/strict';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import v8 from 'node:v8';
import vm from 'node:vm';
import { after, before, describe, test } from 'node:test';
import { createActor, waitFor } from 'xstate';
import { createScriptRunner, needsShell, shellCommand } from '../../adapters/exec/script.js';
import { runScriptActor } from '../../adapters/exec/scriptActor.js';
import { parseGroup, parsePasswd, UserResolver } from '../../adapters/exec/users.js';
import { trackScript, type TrackScriptEmitted } from '../../machines/track-script.machine.js';

const runner = createScriptRunner({ killGraceMs: 300 });
const isRoot = process.getuid?.() === 0;
let dir = '';
before(async () => { dir = await mkdtemp(join(tmpdir(), 'vigil-exec-')); });
after(async () => { runner.killAll(); await rm(dir, { recursive: true, force: true }); });

/** gone, or a zombie nobody has reaped yet (a container's pid 1 may not reap): either way not running */
async function gone(pid: number, withinMs = 2000): Promise<boolean> {
  const until = Date.now() + withinMs;
  for (;;) {
    let state: string | undefined;
    try { state = (await readFile(`/proc/${pid}/stat`, 'utf8')).replace(/^.*\) /s, '')[0]; } catch { return true; }
    if (state === 'Z' || state === 'X') return true;
    if (Date.now() > until) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
}
function alive(pid: number): boolean {
  try { process.kill(pid, 0); return true; } catch { return false; }
}

describe('exit status', () => {
  test('exit codes, a PATH lookup for a bare name, no shell', async () => {
    assert.equal((await runner.run({ argv: ['true'] })).exitCode, 0);
    const r = await runner.run({ argv: ['/bin/sh', '-c', 'exit 3'] });
    assert.equal(r.exitCode, 3);
    assert.equal(r.signal, null);
    assert.equal(r.timedOut, false);
    assert.ok(r.pid && r.pid > 0);
    assert.ok(r.durationMs >= 0 && r.durationMs < 5000);
    const echo = await runner.run({ argv: ['echo', '$HOME', '*', "a'b"] });
    assert.equal(echo.stdout, "$HOME * a'b\n", 'words reach the program as they are');
  });

  test('death by a signal is reported as the signal', async () => {
    const r = await runner.run({ argv: ['/bin/sh', '-c', 'kill -SEGV $$'] });
    assert.equal(r.exitCode, null);
    assert.equal(r.signal, 'SIGSEGV');
  });

  test('ENOENT, not executable and an empty argv are results, never throws', async () => {
    const missing = await runner.run({ argv: ['/nonexistent/check.sh', 'x'] });
    assert.equal(missing.exitCode, 127);
    assert.match(missing.error ?? '', /ENOENT/);
    const bare = await runner.run({ argv: ['vigil-no-such-command-here'] });
    assert.equal(bare.exitCode, 127);
    const file = join(dir, 'not-exec.sh');
    await writeFile(file, '#!/bin/sh\nexit 0\n');
    await chmod(file, 0o644);
    const noexec = await runner.run({ argv: [file] });
    assert.equal(noexec.exitCode, 126);
    assert.match(noexec.error ?? '', /EACCES/);
    assert.equal((await runner.run({ argv: [] })).exitCode, 127);
    const badCwd = await runner.run({ argv: ['true'], cwd: join(dir, 'no-such-dir') });
    assert.notEqual(badCwd.exitCode, 0);
  });

  test('a script without #! runs under /bin/sh (keepalived: system() for a non-executable format)', async () => {
    const file = join(dir, 'plain.sh');
    await writeFile(file, 'echo plain\nexit 4\n');
    await chmod(file, 0o755);
    const r = await runner.run({ argv: [file] });
    assert.equal(r.exitCode, 4);
    assert.equal(r.stdout, 'plain\n');
  });

  test('`</path` is keepalived\'s shell case: /bin/sh -c with the words quoted', async () => {
    assert.equal(needsShell(['</etc/passwd']), true);
    assert.equal(needsShell(['< \t/etc/passwd']), true);
    assert.equal(needsShell(['<', '/etc/passwd']), false);
    assert.equal(needsShell(['/bin/true']), false);
    assert.equal(shellCommand(['</dev/tcp/127.0.0.1/80', "it's"]), "</dev/tcp/127.0.0.1/80 'it'\\''s'");
    assert.equal((await runner.run({ argv: ['</etc/passwd'] })).exitCode, 0);
    assert.notEqual((await runner.run({ argv: ['</nonexistent/file'] })).exitCode, 0);
  });

  test('environment: ours plus env, without IFS/LD_PRELOAD/LD_LIBRARY_PATH', async () => {
    const r = await runner.run({
      argv: ['/bin/sh', '-c', 'echo "${LD_LIBRARY_PATH-unset} ${IFS_CHECK-} $FOO ${PATH:+path}"'],
      env: { FOO: 'bar', LD_LIBRARY_PATH: '/tmp/x', IFS_CHECK: 'ok' },
    });
    assert.equal(r.stdout, 'unset ok bar path\n');
  });
});

describe('timeouts kill the whole process group', () => {
  test('SIGTERM to the group: the leader and a backgrounded grandchild both die', async () => {
    const t0 = performance.now();
    const r = await runner.run({ argv: ['/bin/sh', '-c', 'sleep 100 & echo $!; sleep 100'], timeoutMs: 200 });
    assert.equal(r.timedOut, true);
    assert.equal(r.signal, 'SIGTERM');
    assert.ok(performance.now() - t0 < 2000, 'answered without waiting for the grandchild');
    const grandchild = Number(r.stdout.trim());
    assert.ok(grandchild > 0, `grandchild pid in ${JSON.stringify(r.stdout)}`);
    assert.ok(await gone(grandchild), `grandchild ${grandchild} still running`);
  });

  test('a grandchild that ignores SIGTERM gets the SIGKILL that follows the leader\'s death', async () => {
    const r = await runner.run({
      argv: ['/bin/sh', '-c', `sh -c "trap '' TERM; exec sleep 100" & echo $!; sleep 100`], timeoutMs: 200,
    });
    assert.equal(r.signal, 'SIGTERM');
    const grandchild = Number(r.stdout.trim());
    assert.ok(grandchild > 0);
    assert.ok(await gone(grandchild), `TERM-proof grandchild ${grandchild} still running`);
  });

  test('a leader that ignores SIGTERM is SIGKILLed after the grace period', async () => {
    const t0 = performance.now();
    const r = await runner.run({ argv: ['/bin/sh', '-c', "trap '' TERM; sleep 100 & wait; sleep 100"], timeoutMs: 100 });
    const took = performance.now() - t0;
    assert.equal(r.timedOut, true);
    assert.equal(r.signal, 'SIGKILL');
    assert.ok(took >= 100 + 300 - 20 && took < 3000, `took ${took} ms`);
  });

  test('abort signal terminates (not a timeout)', async () => {
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 100);
    const r = await runner.run({ argv: ['sleep', '100'] }, ac.signal);
    assert.equal(r.signal, 'SIGTERM');
    assert.equal(r.timedOut, false);
    const pre = await runner.run({ argv: ['sleep', '100'] }, AbortSignal.abort());
    assert.notEqual(pre.exitCode, 0);
  });

  test('a backgrounded child holding stdout open does not delay the result', async () => {
    const t0 = performance.now();
    const r = await runner.run({ argv: ['/bin/sh', '-c', 'sleep 30 & echo $!; exit 0'] });
    assert.equal(r.exitCode, 0);
    assert.ok(performance.now() - t0 < 1500);
    const bg = Number(r.stdout.trim());
    assert.ok(alive(bg), 'keepalived does not kill what a successful script left behind');
    process.kill(-r.pid!, 'SIGKILL');
    assert.ok(await gone(bg));
  });

  test('killAll terminates every running script', async () => {
    const a = runner.start({ argv: ['sleep', '100'] });
    const b = runner.start({ argv: ['sleep', '100'] });
    await new Promise((r) => setTimeout(r, 50));
    runner.killAll();
    const [ra, rb] = await Promise.all([a.result, b.result]);
    assert.equal(ra.signal, 'SIGTERM');
    assert.equal(rb.signal, 'SIGTERM');
  });
});

test('output is capped per stream, the rest drained and dropped', async () => {
  const capped = createScriptRunner({ outputCap: 1000 });
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc') as () => void;
  // Buffers are freed a little after the collection that finds them dead: settle, then measure
  const held = async () => {
    gc();
    await new Promise((r) => setTimeout(r, 150));
    gc();
    const m = process.memoryUsage();
    return m.heapUsed + m.arrayBuffers;
  };
  const before = await held();
  const r = await capped.run({ argv: ['/bin/sh', '-c', 'head -c 30000000 /dev/zero | tr "\\0" x; echo err >&2; exit 5'] });
  const grown = (await held()) - before;
  assert.equal(r.exitCode, 5, 'the flooding script ran to its end (never blocked on a full pipe)');
  assert.equal(r.stdout.length, 1000);
  assert.match(r.stdout, /^x+$/);
  assert.equal(r.stderr, 'err\n');
  assert.equal(r.truncated, true);
  assert.ok(grown < 5_000_000, `30 MB of output went through; ${grown} bytes are still held`);
});

describe('users', () => {
  test('passwd/group parsing skips malformed lines', () => {
    const p = parsePasswd('root:x:0:0:root:/root:/bin/bash\nbad line\nweb:x:33:34::/:/x\nneg:x:-1:0::/:\n+nis\n');
    assert.deepEqual([...p], [['root', { uid: 0, gid: 0 }], ['web', { uid: 33, gid: 34 }]]);
    const g = parseGroup('root:x:0:\nwww:x:34:web\n::\nx:y:z:\n');
    assert.deepEqual([...g], [['root', 0], ['www', 34]]);
  });

  test('resolve: primary gid, a named group, `:group`, unknown names', async () => {
    await writeFile(join(dir, 'passwd'), 'app:x:1001:1002::/:/bin/sh\n');
    await writeFile(join(dir, 'group'), 'apps:x:1002:\nops:x:2000:app\n');
    const u = new UserResolver({ passwd: join(dir, 'passwd'), group: join(dir, 'group') });
    assert.deepEqual(await u.resolve('app'), { ok: true, uid: 1001, gid: 1002 });
    assert.deepEqual(await u.resolve('app', 'ops'), { ok: true, uid: 1001, gid: 2000 });
    const sup = await u.resolve('app', ':ops');
    assert.ok(sup.ok && sup.gid === 2000 && sup.note);
    assert.equal((await u.resolve('nobody2')).ok, false);
    assert.equal((await u.resolve('app', 'nogroup2')).ok, false);
    // a user added later is found (the cache follows the file)
    await writeFile(join(dir, 'passwd'), 'app:x:1001:1002::/:/bin/sh\nlate:x:1003:1002::/:/bin/sh\n');
    assert.deepEqual(await u.resolve('late'), { ok: true, uid: 1003, gid: 1002 });
    const broken = new UserResolver({ passwd: join(dir, 'missing'), group: join(dir, 'missing') });
    assert.equal((await broken.resolve('x')).ok, false);
  });

  test('runs as another user and group', { skip: isRoot ? false : 'needs root to switch user' }, async () => {
    const r = await runner.run({ argv: ['/bin/sh', '-c', 'id -u; id -g; id -G'], user: 'nobody' });
    assert.equal(r.exitCode, 0, r.stderr);
    const [uid, gid, groups] = r.stdout.trim().split('\n');
    assert.equal(uid, '65534');
    assert.equal(gid, '65534');
    assert.equal(groups, '65534', 'no supplementary groups inherited from root');
    const g = await runner.run({ argv: ['id', '-g'], user: 'nobody', group: 'root' });
    assert.equal(g.stdout.trim(), '0');
    const unknown = await runner.run({ argv: ['true'], user: 'vigil-no-such-user' });
    assert.equal(unknown.exitCode, null);
    assert.match(unknown.error ?? '', /does not exist/);
  });
});

describe('the tracker machine on real scripts and real time', () => {
  async function track(argv: string[], timeoutMs: number) {
    const emitted: TrackScriptEmitted[] = [];
    const actor = createActor(trackScript.provide({ actors: { runScript: runScriptActor(runner, { argv }) } }), {
      input: { name: 'real', intervalMs: 1000, timeoutMs, rise: 1, fall: 1, initFail: false, weight: 0, reverse: false },
    });
    actor.on('*', (e) => emitted.push(e));
    actor.start();
    await waitFor(actor, () => emitted.some((e) => e.type === 'track.state'), { timeout: 3000 });
    actor.stop();
    return emitted.find((e) => e.type === 'track.state');
  }

  test('exit 0 → ok, a hung script → failed (timeout) and its group is gone', async () => {
    const ok = await track(['true'], 500);
    assert.ok(ok?.type === 'track.state' && ok.state === 'ok' && ok.cause === 'exit 0');
    const pidFile = join(dir, 'hung.pid');
    const hung = await track(['/bin/sh', '-c', `sleep 100 & echo $! > ${pidFile}; sleep 100`], 150);
    assert.ok(hung?.type === 'track.state' && hung.state === 'failed' && hung.cause === 'timeout', JSON.stringify(hung));
    assert.ok(await gone(Number(await readFile(pidFile, 'utf8'))));
  });

  test('stopping the tracker kills the running script', async () => {
    const pidFile = join(dir, 'stop.pid');
    const actor = createActor(trackScript.provide({
      actors: { runScript: runScriptActor(runner, { argv: ['/bin/sh', '-c', `echo $$ > ${pidFile}; sleep 100`] }) },
    }), { input: { name: 's', intervalMs: 10_000, timeoutMs: 10_000, rise: 1, fall: 1, initFail: false, weight: 0, reverse: false } });
    actor.start();
    let pid = 0;
    for (let i = 0; i < 100 && !pid; i++) {
      await new Promise((r) => setTimeout(r, 20));
      pid = Number(await readFile(pidFile, 'utf8').catch(() => '0'));
    }
    assert.ok(pid > 0);
    actor.stop();
    assert.ok(await gone(pid));
  });
});
