// The control API end to end on one host: a Daemon over the fakes, the Control handler, the real
// unix socket. Reload refused on a bad file (the old config keeps running), applied on a good one;
// malformed and oversized requests; the socket's permissions against a non-root user.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SimulatedClock } from 'xstate';
import { Bus, type BusEvent } from '../../actors/bus.js';
import { Control } from '../../actors/control.js';
import { Daemon } from '../../actors/daemon.js';
import { silentLogger } from '../../actors/log.js';
import { loadConfig } from '../../adapters/config/index.js';
import { MAX_REQUEST_BYTES } from '../../adapters/control/types.js';
import { ControlSocketInUse, requestControl, serveControl } from '../../adapters/control/unix.js';
import { createMemoryLan } from '../fakes/vrrpNet.js';
import { FakeIpNet } from '../fakes/ipNet.js';

const conf = (prio: number, more = '') => `global_defs {
  router_id n1
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
${more}`;

async function setup(t: { after(fn: () => unknown): void }) {
  const dir = mkdtempSync(path.join(tmpdir(), 'vigil-control-'));
  chmodSync(dir, 0o755); // only the socket's own mode keeps other users out
  const file = path.join(dir, 'keepalived.conf');
  writeFileSync(file, conf(100));
  const load = (f: string) => loadConfig(f, { configId: 'n1' });
  const clock = new SimulatedClock();
  const bus = new Bus('n1', () => clock.now());
  const events: BusEvent[] = [];
  bus.subscribe((e) => events.push(e));
  const daemon = new Daemon(load(file).config, { net: createMemoryLan().net('n1', { eth0: ['10.0.0.1'] }), ip: new FakeIpNet(), log: silentLogger(), bus, clock, configFile: file });
  await daemon.start();
  const control = new Control({ daemon, load, log: silentLogger(), version: 'test' });
  const sock = path.join(dir, 'run', 'control.sock');
  const server = await serveControl(sock, control.handle);
  t.after(async () => {
    await server.close();
    await daemon.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  return { dir, file, sock, daemon, events, clock };
}

/** raw lines in, raw lines out, on one connection */
function converse(sock: string, text: string, replies: number): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const c = net.connect(sock);
    let buf = '';
    c.setEncoding('utf8');
    c.on('data', (d: string) => {
      buf += d;
      const lines = buf.split('\n').filter(Boolean);
      if (lines.length >= replies) {
        c.destroy();
        resolve(lines);
      }
    });
    c.on('close', () => resolve(buf.split('\n').filter(Boolean)));
    c.on('error', reject);
    c.write(text);
  });
}

test('status over the socket', async (t) => {
  const s = await setup(t);
  const r = await requestControl(s.sock, { cmd: 'status' });
  assert.equal(r.ok, true);
  const st = r.status as { node: string; configFile: string; instances: { instance: string; vrid: number; basePriority: number }[] };
  assert.equal(st.node, 'n1');
  assert.equal(st.configFile, s.file);
  assert.deepEqual(st.instances.map((i) => [i.instance, i.vrid, i.basePriority]), [['VI_1', 51, 100]]);
});

test('a reload of a broken file is refused with its diagnostics; the running config is untouched', async (t) => {
  const s = await setup(t);
  writeFileSync(s.file, conf(100).replace('priority 100', 'priority 300'));
  const r = await requestControl(s.sock, { cmd: 'reload' });
  assert.equal(r.ok, false);
  assert.equal(r.exitCode, 4);
  const diags = r.diagnostics as string[];
  assert.ok(diags.some((d) => d.startsWith(`${s.file}:7:12:`) && /priority/.test(d)), diags.join('\n'));
  assert.equal(s.daemon.status()[0]!.basePriority, 100);
  const failed = s.events.find((e) => e.type === 'daemon.reload-failed');
  assert.equal(failed?.data.exitCode, 4);
  // then a good one applies
  writeFileSync(s.file, conf(120));
  const ok = await requestControl(s.sock, { cmd: 'reload' });
  assert.equal(ok.ok, true, JSON.stringify(ok));
  assert.deepEqual((ok.report as { changed: unknown }).changed, [{ instance: 'VI_1', fields: ['priority'] }]);
  assert.equal(s.daemon.status()[0]!.basePriority, 120);
});

test('config-test of the running file, and of another one', async (t) => {
  const s = await setup(t);
  const r = await requestControl(s.sock, { cmd: 'config-test' });
  assert.deepEqual([r.ok, r.exitCode], [true, 0]);
  const other = path.join(s.dir, 'other.conf');
  writeFileSync(other, 'vrrp_instance X {\n  virtual_router_id 999\n}\n');
  const r2 = await requestControl(s.sock, { cmd: 'config-test', file: other });
  assert.equal(r2.exitCode, 4);
});

test('operator priority: applied through the machine, audited, validated', async (t) => {
  const s = await setup(t);
  const r = await requestControl(s.sock, { cmd: 'priority', instance: 'VI_1', priority: 7 });
  assert.equal(r.ok, true, JSON.stringify(r));
  assert.equal(s.daemon.status()[0]!.priority, 7);
  const change = s.events.find((e) => e.type === 'vrrp.priority');
  assert.deepEqual([change?.data.from, change?.data.to], [100, 7]);
  for (const bad of [{ instance: 'VI_9', priority: 7 }, { instance: 'VI_1', priority: 0 }, { instance: 'VI_1', priority: 2.5 }, { instance: 1 }]) {
    const x = await requestControl(s.sock, { cmd: 'priority', ...bad });
    assert.equal(x.ok, false, JSON.stringify(bad));
  }
  const restored = await requestControl(s.sock, { cmd: 'priority', instance: 'VI_1', priority: null });
  assert.equal(restored.ok, true);
  assert.equal(s.daemon.status()[0]!.priority, 100);
  const audit = s.events.filter((e) => e.type === 'operator.command').map((e) => e.data.ok);
  assert.deepEqual(audit, [true, false, false, false, false, true]);
});

test('malformed requests get an error reply and the connection stays usable; oversized ones are cut', async (t) => {
  const s = await setup(t);
  const replies = await converse(s.sock, 'not json\n[1]\n{"cmd":""}\n{"cmd":"nope"}\n{"cmd":"ping"}\n', 5);
  const parsed = replies.map((l) => JSON.parse(l) as { ok: boolean; error?: string });
  assert.deepEqual(parsed.map((p) => p.ok), [false, false, false, false, true]);
  assert.match(parsed[0]!.error!, /malformed request/);
  assert.match(parsed[3]!.error!, /unknown command 'nope'/);
  const huge = await converse(s.sock, '{"cmd":"status","pad":"' + 'x'.repeat(MAX_REQUEST_BYTES + 10), 1);
  assert.match(JSON.parse(huge[0]!).error, /longer than/);
  // the daemon is still there
  assert.equal((await requestControl(s.sock, { cmd: 'ping' })).ok, true);
});

test('a second daemon on the same socket is refused; a stale socket file is replaced', async (t) => {
  const s = await setup(t);
  await assert.rejects(serveControl(s.sock, async () => ({ ok: true })), ControlSocketInUse);
  const stale = path.join(s.dir, 'stale.sock');
  const srv = net.createServer().listen(stale);
  await new Promise((r) => srv.once('listening', r));
  // a process that died leaves its socket file behind: simulated by closing without unlinking
  (srv as unknown as { _handle: { close(): void } })._handle.close();
  const again = await serveControl(stale, async () => ({ ok: true, fresh: true }));
  assert.equal((await requestControl(stale, { cmd: 'x' })).fresh, true);
  await again.close();
});

test('the socket is mode 0600: a non-root user cannot connect', { skip: process.getuid?.() !== 0 ? 'needs root (to run a client as nobody)' : false }, async (t) => {
  const s = await setup(t);
  assert.equal(statSync(s.sock).mode & 0o777, 0o600);
  const client = `require('net').connect(${JSON.stringify(s.sock)}).on('connect',()=>{console.log('connected');process.exit(0)}).on('error',e=>{console.log(e.code);process.exit(0)})`;
  const r = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, '-e', client], { encoding: 'utf8' });
  assert.equal(r.stdout.trim(), 'EACCES', r.stderr);
});
