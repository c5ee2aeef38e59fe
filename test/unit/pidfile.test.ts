// The pidfile: claimed whole, refused while a vigil holds it, stale ones replaced, released only
// while it is still ours. Real processes, real /proc.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, describe, test } from 'node:test';
import { ServiceError } from '../../adapters/service/errors.js';
import { claimPidfile, inspectPid, isVigilArgv } from '../../adapters/service/pidfile.js';

const root = resolve(import.meta.dirname, '../..');
const dir = mkdtempSync(join(tmpdir(), 'vigil-pidfile-'));
const children: ChildProcess[] = [];
after(() => {
  for (const c of children) c.kill();
  rmSync(dir, { recursive: true, force: true });
});

let n = 0;
const fresh = () => join(dir, `p${++n}`, 'vigil.pid');

function recordingLog() {
  const warnings: string[] = [];
  return { warnings, log: { warn: (_: object, msg: string) => void warnings.push(msg) } };
}

/** A pid that has just exited (the kernel does not hand it out again this soon). */
function deadPid(): number {
  const r = spawnSync('true');
  assert.ok(r.pid > 0);
  return r.pid;
}

describe('isVigilArgv', () => {
  test('vigil as launched: the bin through node, tsx, or a launcher named vigil', () => {
    assert.equal(isVigilArgv(['node', '/usr/local/bin/vigil', 'run', '-f', '/etc/keepalived/keepalived.conf']), true);
    assert.equal(isVigilArgv(['/usr/bin/node', '/work/main/bin/vigil.js', 'run', '--daemon']), true);
    assert.equal(isVigilArgv(['/usr/bin/node', '--import', 'tsx', 'bin/vigil.js', 'run']), true);
    assert.equal(isVigilArgv(['/usr/local/bin/vigil', 'run']), true);
  });

  test('other programs, even ones naming vigil in their arguments', () => {
    assert.equal(isVigilArgv(['vim', 'bin/vigil.js']), false);
    assert.equal(isVigilArgv(['/usr/bin/node', 'server.js']), false);
    assert.equal(isVigilArgv(['sleep', '30']), false);
    assert.equal(isVigilArgv([]), false);
  });
});

describe('claimPidfile', () => {
  test('writes our pid, leaves no temporary file, release() removes it', async () => {
    const path = fresh();
    const p = await claimPidfile(path);
    assert.equal(readFileSync(path, 'utf8'), `${process.pid}\n`);
    assert.deepEqual(readdirSync(join(path, '..')), ['vigil.pid']);
    p.release();
    assert.equal(existsSync(path), false);
    p.release(); // idempotent
  });

  test('a running vigil (a real `vigil events --follow`) holds it: refused, naming the pid, file untouched', { skip: existsSync(join(root, 'dist/actors/cli/main.js')) ? false : 'dist/ is not built (npm run build)' }, async () => {
    const journal = mkdtempSync(join(dir, 'journal-'));
    const other = spawn(process.execPath, [join(root, 'bin/vigil.js'), 'events', '--follow', '--journal', journal], { stdio: 'ignore' });
    children.push(other);
    const path = fresh();
    await claimPidfile(path, { pid: other.pid! }); // as that vigil would have
    await assert.rejects(claimPidfile(path), (err: unknown) => {
      assert.ok(err instanceof ServiceError);
      assert.equal(err.code, 'PIDFILE_IN_USE');
      assert.match(err.message, new RegExp(`another vigil is running as pid ${other.pid} \\(command line: .*bin/vigil\\.js events --follow`));
      return true;
    });
    assert.equal(readFileSync(path, 'utf8'), `${other.pid}\n`);
    assert.deepEqual(readdirSync(join(path, '..')), ['vigil.pid']);
    other.kill();
  });

  test('a dead pid is stale: replaced, with a warning', async () => {
    const path = fresh();
    const dead = deadPid();
    await claimPidfile(path, { pid: dead });
    const { warnings, log } = recordingLog();
    const p = await claimPidfile(path, { log });
    assert.equal(readFileSync(path, 'utf8'), `${process.pid}\n`);
    assert.deepEqual(warnings, [`replacing the stale pidfile ${path}: pid ${dead} is not running`]);
    p.release();
  });

  test('a pid reused by another program is stale too', async () => {
    const sleeper = spawn('sleep', ['30'], { stdio: 'ignore' });
    children.push(sleeper);
    const path = fresh();
    await claimPidfile(path, { pid: sleeper.pid! });
    const { warnings, log } = recordingLog();
    const p = await claimPidfile(path, { log });
    assert.equal(readFileSync(path, 'utf8'), `${process.pid}\n`);
    assert.match(warnings[0]!, new RegExp(`pid ${sleeper.pid} is now another program: sleep 30$`));
    p.release();
    sleeper.kill();
  });

  test('garbage, or our own pid left by an earlier process: replaced', async () => {
    for (const [content, why] of [['', /it holds no pid/], ['12ab\n', /it holds no pid \("12ab\\n"\)/], [`${process.pid}\n`, /it holds our own pid/]] as const) {
      const path = fresh();
      await claimPidfile(path, { pid: deadPid() });
      writeFileSync(path, content);
      const { warnings, log } = recordingLog();
      const p = await claimPidfile(path, { log });
      assert.equal(readFileSync(path, 'utf8'), `${process.pid}\n`);
      assert.match(warnings[0]!, why);
      p.release();
    }
  });

  test('a live process whose command line cannot be read is assumed to be vigil', async () => {
    const path = fresh();
    await claimPidfile(path, { pid: 4242 });
    await assert.rejects(
      claimPidfile(path, { inspect: async () => ({ kind: 'unknown', reason: 'its command line is unreadable: EACCES' }) }),
      /another vigil is running as pid 4242 \(alive, and its command line is unreadable: EACCES\)/,
    );
  });

  test('release() leaves a pidfile another vigil has since written', async () => {
    const path = fresh();
    const p = await claimPidfile(path);
    writeFileSync(path, '4242\n');
    p.release();
    assert.equal(readFileSync(path, 'utf8'), '4242\n');
  });

  test('an unwritable place is a PIDFILE_IO error naming the path', async () => {
    const file = join(dir, 'a-file');
    writeFileSync(file, '');
    await assert.rejects(claimPidfile(join(file, 'vigil.pid')), (err: unknown) => {
      assert.ok(err instanceof ServiceError);
      assert.equal(err.code, 'PIDFILE_IO');
      assert.match(err.message, /a-file\/vigil\.pid: cannot be written: /);
      return true;
    });
  });
});

describe('inspectPid', () => {
  test('this process is not vigil; a dead pid is dead', async () => {
    const me = await inspectPid(process.pid);
    assert.equal(me.kind, 'other');
    assert.deepEqual(await inspectPid(deadPid()), { kind: 'dead' });
  });
});
