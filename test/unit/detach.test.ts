// --daemon's detach: a real parent and a real detached child (test/fixtures/daemon-child.ts), the
// exit code the operator gets, what of the child's stderr reaches them, and where the daemon's
// output goes afterwards.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, describe, test } from 'node:test';
import { loadPacketAddon } from '../../adapters/ip/packet.js';
import { DAEMON_ENV, daemonChild, withoutDaemonFlag } from '../../adapters/service/detach.js';

const root = resolve(import.meta.dirname, '../..');
const fixture = join(root, 'test/fixtures/daemon-child.ts');
const dir = mkdtempSync(join(tmpdir(), 'vigil-detach-'));
const daemons: number[] = [];
after(() => {
  for (const pid of daemons) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* stopped by its test */
    }
  }
  rmSync(dir, { recursive: true, force: true });
});

/** Runs the fixture as `cmd --daemon`, like an operator at a shell. */
function runParent(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((res) => {
    const p = spawn(process.execPath, [...process.execArgv.filter((a) => a !== '--test'), fixture, ...args], {
      cwd: root,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d));
    p.stderr.on('data', (d: Buffer) => (stderr += d));
    p.on('close', (code) => res({ code, stdout, stderr }));
  });
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** Waits (bounded) for a condition the daemon brings about on its own schedule. */
async function until(what: string, cond: () => boolean, ms = 5000): Promise<void> {
  for (const end = Date.now() + ms; !cond(); await sleep(20)) if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
}

const addon = loadPacketAddon();
const hasDup2 = addon.ok && typeof addon.addon.dup2 === 'function';

describe('withoutDaemonFlag', () => {
  test('drops --daemon, but not after --', () => {
    assert.deepEqual(withoutDaemonFlag(['run', '--daemon', '-f', 'k.conf']), ['run', '-f', 'k.conf']);
    assert.deepEqual(withoutDaemonFlag(['run', '-f', 'k.conf', '--', '--daemon']), ['run', '-f', 'k.conf', '--', '--daemon']);
    assert.deepEqual(withoutDaemonFlag(['run']), ['run']);
  });
});

describe('daemonChild', () => {
  test('undefined outside a detached child; in one, the marker leaves the environment', () => {
    assert.equal(daemonChild({}), undefined);
    const env: NodeJS.ProcessEnv = { [DAEMON_ENV]: '1', PATH: '/bin' };
    assert.ok(daemonChild(env));
    assert.deepEqual(env, { PATH: '/bin' });
  });
});

describe('detach', { concurrency: true }, () => {
  test('ready: exit 0, early stderr relayed, the daemon runs in its own session without --daemon', async () => {
    const log = join(dir, 'ready.log');
    const r = await runParent(['ready', '--daemon', '-x'], { LOG_FILE: log });
    assert.equal(r.code, 0, r.stderr);
    const pid = Number(/^ready (\d+)$/m.exec(r.stdout)?.[1]);
    assert.ok(pid > 0, r.stdout);
    daemons.push(pid);
    assert.match(r.stderr, /starting: a warning the operator should see/);
    // with dup2 stderr leaves the pipe before the ready message; without, a write right after it may still be relayed
    if (hasDup2) assert.doesNotMatch(r.stderr, /stderr after ready/);
    assert.ok(alive(pid));
    // setsid(): the daemon leads its own session
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    assert.equal(Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[3]), pid);
    assert.doesNotMatch(readFileSync(`/proc/${pid}/cmdline`, 'utf8'), /--daemon/);
    // its stdout goes to the log file, and once ready its stderr too ("2>&1" through the addon)
    await until('the daemon to log it is running', () => readFileSync(log, 'utf8').includes('log: running'));
    const text = readFileSync(log, 'utf8');
    assert.match(text, /^log: started$/m);
    assert.match(text, /^log: running with args \["ready","-x"\] and no marker$/m);
    if (hasDup2) await until('stderr to reach the log', () => readFileSync(log, 'utf8').includes('stderr after ready'));
    process.kill(pid, 'SIGTERM');
    await until('the daemon to stop', () => !alive(pid));
  });

  test('the child fails before it is ready: its exit code, its stderr shown', async () => {
    const r = await runParent(['fail', '--daemon']);
    assert.equal(r.code, 4);
    assert.match(r.stderr, /keepalived\.conf:3:1: error: unknown keyword/);
    assert.equal(r.stdout, '');
  });

  test('the child is killed before it is ready: exit 3, saying so', async () => {
    const r = await runParent(['killed', '--daemon']);
    assert.equal(r.code, 3);
    assert.match(r.stderr, /vigil run: the daemon \(pid \d+\) was killed by SIGKILL before it was ready/);
  });

  test('never ready: stopped after the timeout, exit 3', async () => {
    const r = await runParent(['hang', '--daemon'], { READY_TIMEOUT_MS: '300' });
    assert.equal(r.code, 3);
    const pid = Number(/the daemon \(pid (\d+)\) is not ready after 0\.3 s; stopping it/.exec(r.stderr)?.[1]);
    assert.ok(pid > 0, r.stderr);
    // SIGTERM may land before the child has installed its handler: exited, or killed by it
    assert.match(r.stderr, /(exited|was killed by SIGTERM) before it was ready/);
    assert.equal(alive(pid), false);
  });
});
