// `vigil run --daemon`: the built CLI as an operator runs it on a host without systemd, inside a
// network namespace of its own with one instance on a veth pair (this kernel may lack dummy).
// Exit 0 once ready, a pidfile naming the live daemon, `vigil status` answering, SIGTERM removing
// the pidfile; a second --daemon refused (exit 3) and a bad config refused before detaching (exit 4).
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';

const root = resolve(import.meta.dirname, '../..');
const bin = join(root, 'bin/vigil.js');
const skip =
  process.getuid?.() !== 0
    ? 'needs root (a network namespace, raw sockets)'
    : !existsSync(join(root, 'dist/actors/cli/main.js'))
      ? 'dist/ is not built (npm run build)'
      : false;
if (skip) console.log(`# skipping vigil run --daemon: ${skip}`);

const ns = `vgdm${process.pid % 10000}`;
const dir = mkdtempSync(join(tmpdir(), 'vigil-daemon-'));
const ip = (...a: string[]) => promisify(execFile)('ip', a);

/** `vigil ARGS` in the namespace, to completion. */
function vigil(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((res) => {
    const p = spawn('ip', ['netns', 'exec', ns, process.execPath, bin, ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
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

async function until(what: string, cond: () => boolean, ms = 10_000): Promise<void> {
  for (const end = Date.now() + ms; !cond(); await sleep(50)) if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
}

/** Processes whose command line mentions `needle` (a path unique to this test). */
function processesWith(needle: string): number[] {
  const out: number[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e) || Number(e) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${e}/cmdline`, 'utf8').includes(needle)) out.push(Number(e));
    } catch {
      /* exited meanwhile */
    }
  }
  return out;
}

const conf = join(dir, 'keepalived.conf');
const badConf = join(dir, 'bad.conf');
const pidfile = join(dir, 'vigil.pid');
const started: number[] = [];

describe('vigil run --daemon', { skip }, () => {
  before(async () => {
    await ip('netns', 'add', ns);
    await ip('-n', ns, 'link', 'set', 'lo', 'up');
    await ip('-n', ns, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth0p');
    await ip('-n', ns, 'addr', 'add', '10.77.0.1/24', 'dev', 'eth0');
    await ip('-n', ns, 'link', 'set', 'eth0p', 'up');
    await ip('-n', ns, 'link', 'set', 'eth0', 'up');
    writeFileSync(conf, 'vrrp_instance VI_DM {\n  state BACKUP\n  interface eth0\n  virtual_router_id 51\n  priority 100\n  advert_int 1\n  virtual_ipaddress {\n    10.77.0.100/24\n  }\n}\n');
    writeFileSync(badConf, 'vrrp_instance VI_BAD {\n  interface eth0\n  virtual_router_id 300\n}\n');
  });
  after(async () => {
    for (const pid of [...started, ...processesWith(dir)]) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* stopped by its test */
      }
    }
    await ip('netns', 'del', ns).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });

  const daemonArgs = (n: string) => ['run', '--daemon', '-f', conf, '--control', join(dir, `${n}.sock`), '--journal', join(dir, `journal-${n}`), '--pidfile', pidfile];

  test('detaches once ready; pidfile, status, a second --daemon refused, SIGTERM', { timeout: 30_000 }, async () => {
    const log = join(dir, 'vigil.log');
    const r = await vigil(...daemonArgs('a'), '--log-file', log);
    assert.equal(r.code, 0, r.stderr);
    const pid = Number(readFileSync(pidfile, 'utf8'));
    started.push(pid);
    assert.ok(alive(pid), `pid ${pid} from the pidfile is not running`);
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    assert.ok(cmdline.some((a) => a.endsWith('bin/vigil.js')) && !cmdline.includes('--daemon'), cmdline.join(' '));

    const st = await vigil('status', '--json', '--control', join(dir, 'a.sock'));
    assert.equal(st.code, 0, st.stderr);
    const s = JSON.parse(st.stdout) as { pid: number; instances: { instance: string }[] };
    assert.equal(s.pid, pid);
    assert.deepEqual(s.instances.map((i) => i.instance), ['VI_DM']);
    // the daemon's pino lines go to --log-file
    assert.match(readFileSync(log, 'utf8'), /"msg":"VRRP started"/);

    // same pidfile, otherwise separate: refused because of the pidfile, naming the live pid
    const second = await vigil(...daemonArgs('b'));
    assert.equal(second.code, 3, second.stderr);
    assert.match(second.stderr, new RegExp(`vigil\\.pid: another vigil is running as pid ${pid}`));
    assert.equal(readFileSync(pidfile, 'utf8'), `${pid}\n`);

    process.kill(pid, 'SIGTERM');
    await until('the daemon to exit', () => !alive(pid));
    assert.equal(existsSync(pidfile), false, 'the pidfile outlived the daemon');
  });

  test('umask: global_defs umask makes the pidfile, journal and log file; -u wins over it', { timeout: 30_000 }, async () => {
    const mode = (f: string) => statSync(f).mode & 0o777;
    const files = (n: string) => [join(dir, `${n}.pid`), join(dir, `${n}.log`), ...readdirSync(join(dir, `journal-${n}`)).filter((f) => !f.endsWith('.lock')).map((f) => join(dir, `journal-${n}`, f)).filter((f) => statSync(f).isFile())];
    const withUmask = join(dir, 'umask.conf');
    writeFileSync(withUmask, `global_defs {\n  umask IRWXG|IRWXO\n}\n${readFileSync(conf, 'utf8')}`);
    for (const [n, extra, want] of [['u1', [] as string[], 0o600], ['u2', ['-u', '0027'], 0o640]] as const) {
      const r = await vigil('run', '--daemon', '-f', withUmask, '--control', join(dir, `${n}.sock`), '--journal', join(dir, `journal-${n}`), '--pidfile', join(dir, `${n}.pid`), '--log-file', join(dir, `${n}.log`), ...extra);
      assert.equal(r.code, 0, r.stderr);
      const pid = Number(readFileSync(join(dir, `${n}.pid`), 'utf8'));
      started.push(pid);
      try {
        const list = files(n);
        assert.ok(list.length >= 3, list.join(' '));
        assert.deepEqual(list.map((f) => [f, mode(f).toString(8)]), list.map((f) => [f, want.toString(8)]));
        const log = readFileSync(join(dir, `${n}.log`), 'utf8');
        if (extra.length) assert.match(log, /umask command line option specified, ignoring config option \(start\)/);
        else assert.match(log, /umask 0077 \(start\)/);
      } finally {
        process.kill(pid, 'SIGTERM');
        await until('the daemon to exit', () => !alive(pid));
      }
    }
    // a bad value is refused before anything starts
    const bad = await vigil('run', '-f', conf, '-u', '0999', '--control', join(dir, 'u3.sock'), '--journal', join(dir, 'journal-u3'));
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--umask 0999: invalid umask value 0999/);
  });

  test('one virtual router per host: a second vigil with a running VRID is refused, at start and at reload', { timeout: 40_000 }, async () => {
    const vr = (name: string, vrid: number) => `vrrp_instance ${name} {\n  state BACKUP\n  interface eth0\n  virtual_router_id ${vrid}\n  priority 100\n  advert_int 1\n  virtual_ipaddress {\n    10.77.0.${vrid}/24\n  }\n}\n`;
    const confA = join(dir, 'a.conf');
    const confB = join(dir, 'b.conf');
    writeFileSync(confA, vr('VI_A', 61));
    writeFileSync(confB, vr('VI_B', 61));
    const args = (n: string, conf: string) => ['run', '-f', conf, '--control', join(dir, `${n}.sock`), '--journal', join(dir, `journal-${n}`)];
    const a = await vigil(...args('va', confA), '--daemon', '--pidfile', join(dir, 'va.pid'));
    assert.equal(a.code, 0, a.stderr);
    const pidA = Number(readFileSync(join(dir, 'va.pid'), 'utf8'));
    try {
      const b = await vigil(...args('vb', confB));
      assert.equal(b.code, 3, b.stderr);
      assert.match(b.stderr, new RegExp(`VI_B: VRID 61 on eth0 \\(IPv4\\) is run by another vigil \\(pid ${pidA}, instance VI_A\\)`));
      // another VRID runs beside it; then a reload of the first that takes that VRID is refused
      writeFileSync(confB, vr('VI_B', 62));
      const bProc = spawn('ip', ['netns', 'exec', ns, process.execPath, bin, ...args('vb', confB)], { cwd: root, stdio: 'ignore' });
      try {
        await until('the second daemon up', () => existsSync(join(dir, 'vb.sock')));
        writeFileSync(confA, vr('VI_A', 61) + vr('VI_A2', 62));
        const r = await vigil('reload', '--control', join(dir, 'va.sock'));
        assert.equal(r.code, 3, `${r.stdout}\n${r.stderr}`);
        assert.match(r.stdout + r.stderr, /VI_A2: VRID 62 on eth0 \(IPv4\) is run by another vigil/);
        const st = await vigil('status', '--control', join(dir, 'va.sock'), '--json');
        assert.deepEqual((JSON.parse(st.stdout) as { instances: { instance?: string; name?: string }[] }).instances.map((i) => i.instance ?? i.name), ['VI_A'], 'the running configuration is kept');
      } finally {
        bProc.kill('SIGTERM');
        await new Promise((res) => bProc.once('exit', res));
      }
      // the second one gone, its VRID is free: the same reload is applied
      const r2 = await vigil('reload', '--control', join(dir, 'va.sock'));
      assert.equal(r2.code, 0, `${r2.stdout}\n${r2.stderr}`);
    } finally {
      process.kill(pidA, 'SIGTERM');
      await until('the first daemon to exit', () => !alive(pidA));
    }
  });

  test('a bad config: diagnostics, exit 4, nothing detached', { timeout: 10_000 }, async () => {
    const r = await vigil('run', '--daemon', '-f', badConf, '--control', join(dir, 'c.sock'), '--journal', join(dir, 'journal-c'), '--pidfile', join(dir, 'c.pid'));
    assert.equal(r.code, 4, r.stderr);
    assert.match(r.stderr, /bad\.conf:3:\d+: error: /);
    assert.deepEqual(processesWith(badConf), []);
    assert.equal(existsSync(join(dir, 'c.pid')), false);
  });
});
