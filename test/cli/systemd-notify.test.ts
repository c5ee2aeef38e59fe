// `vigil run` in the foreground as systemd's Type=notify runs it: the built CLI with NOTIFY_SOCKET
// and WATCHDOG_USEC pointing at a real unix datagram socket (a python3 receiver stands in for
// systemd), in a network namespace of its own. READY=1 once the instances run, watchdog pings,
// RELOADING=1 + MONOTONIC_USEC then READY=1 around a SIGHUP reload, STOPPING=1 on SIGTERM, exit 0.
import assert from 'node:assert/strict';
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { loadPacketAddon } from '../../adapters/ip/packet.js';

const root = resolve(import.meta.dirname, '../..');
const addon = loadPacketAddon();
const skip =
  process.getuid?.() !== 0
    ? 'needs root (a network namespace, raw sockets)'
    : !existsSync(join(root, 'dist/actors/cli/main.js'))
      ? 'dist/ is not built (npm run build)'
      : spawnSync('python3', ['-c', 'import socket; socket.AF_UNIX']).status !== 0
        ? 'python3 is not installed: no unix datagram receiver'
        : !addon.ok || !addon.addon.sendUnixDgram
          ? 'the native addon with sendUnixDgram is not built (bash adapters/ip/native/build.sh)'
          : false;
if (skip) console.log(`# skipping vigil run under a NOTIFY_SOCKET: ${skip}`);

const RECEIVER = `
import json, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
print(json.dumps('bound'), flush=True)
while True:
    print(json.dumps(s.recv(65536).decode()), flush=True)
`;

const ns = `vgsn${process.pid % 10000}`;
const dir = mkdtempSync(join(tmpdir(), 'vigil-sdnotify-'));
const ip = (...a: string[]) => promisify(execFile)('ip', a);
const procs: ChildProcess[] = [];

describe('vigil run under systemd (Type=notify)', { skip }, () => {
  before(async () => {
    await ip('netns', 'add', ns);
    await ip('-n', ns, 'link', 'set', 'lo', 'up');
    await ip('-n', ns, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth0p');
    await ip('-n', ns, 'link', 'set', 'eth0p', 'up');
    await ip('-n', ns, 'link', 'set', 'eth0', 'up');
  });
  after(async () => {
    for (const p of procs) p.kill('SIGKILL');
    await ip('netns', 'del', ns).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });

  test('READY, WATCHDOG, RELOADING/READY on SIGHUP, STOPPING on SIGTERM', { timeout: 20_000 }, async () => {
    const sock = join(dir, 'notify.sock');
    const py = spawn('python3', ['-c', RECEIVER, sock], { stdio: ['ignore', 'pipe', 'inherit'] });
    procs.push(py);
    const lines = createInterface({ input: py.stdout })[Symbol.asyncIterator]();
    const line = async (): Promise<string> => {
      const r = await lines.next();
      assert.ok(!r.done, 'the receiver exited');
      return JSON.parse(r.value) as string;
    };
    /** the next message that is not a watchdog ping */
    const next = async (): Promise<string> => {
      for (;;) {
        const m = await line();
        if (m !== 'WATCHDOG=1') return m;
      }
    };
    assert.equal(await line(), 'bound');

    const conf = join(dir, 'keepalived.conf');
    writeFileSync(conf, 'vrrp_instance VI_SN {\n  interface eth0\n  virtual_router_id 52\n  priority 100\n  virtual_ipaddress {\n    10.78.0.100/24\n  }\n}\n');
    const vigil = spawn('ip', ['netns', 'exec', ns, process.execPath, join(root, 'bin/vigil.js'), 'run', '-f', conf, '--control', join(dir, 'c.sock'), '--journal', join(dir, 'journal')], {
      env: { ...process.env, NOTIFY_SOCKET: sock, WATCHDOG_USEC: '200000' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    procs.push(vigil);
    let stderr = '';
    vigil.stderr.on('data', (d: Buffer) => (stderr += d));
    const exited = new Promise<number | null>((res) => vigil.on('exit', (code) => res(code)));

    assert.match(await next(), /^READY=1\nSTATUS=1 VRRP instance\(s\) running$/);
    // idle now: the only thing systemd hears is the watchdog, every 100 ms
    assert.equal(await line(), 'WATCHDOG=1');
    vigil.kill('SIGHUP'); // ip netns exec execs node: the pid is vigil's
    assert.match(await next(), /^RELOADING=1\nMONOTONIC_USEC=\d+\nSTATUS=reloading /);
    assert.match(await next(), /^READY=1\nSTATUS=reloaded /);
    vigil.kill('SIGTERM');
    assert.match(await next(), /^STOPPING=1\nSTATUS=stopping on SIGTERM$/);
    assert.equal(await exited, 0, stderr);
  });
});
