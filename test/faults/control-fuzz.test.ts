// Bad input: the control API fuzzed, against a real serveControl and the daemon's handler (a
// Daemon over the fakes, as test/integration/control.test.ts, which covers a malformed line, an
// oversized one and the socket's mode). Here: seeded binary junk, commands with arguments of every
// wrong type, half-closed and idle connections, 200 concurrent clients, 5,000 pipelined requests,
// and the CLI run as an unprivileged user. Every reply is a JSON object saying ok or why not, no
// request reaches the handler's "internal error" path (that would be a bug), and the daemon answers
// `ping` after each.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SimulatedClock } from 'xstate';
import { Bus } from '../../actors/bus.js';
import { Control } from '../../actors/control.js';
import { Daemon } from '../../actors/daemon.js';
import { silentLogger } from '../../actors/log.js';
import { loadConfig } from '../../adapters/config/index.js';
import { MAX_REQUEST_BYTES } from '../../adapters/control/types.js';
import { requestControl, serveControl, type ControlServer } from '../../adapters/control/unix.js';
import { VIGIL_BIN } from '../netns/daemons.js';
import { createMemoryLan } from '../fakes/vrrpNet.js';
import { FakeIpNet } from '../fakes/ipNet.js';
import { rng } from './helpers.js';

const SEED = Number(process.env.VIGIL_FUZZ_SEED ?? 11);
const CONF = `global_defs {
  router_id n1
}
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 51
  priority 100
  advert_int 1
  virtual_ipaddress {
    10.0.0.100/24
  }
}
`;


/** write `data` on one connection (optionally half-closing), collect the reply lines until the server closes, `want` arrive or `until` a line */
function converse(sock: string, data: string | Buffer, o: { want?: number; until?: (line: string) => boolean; halfClose?: boolean; timeoutMs?: number } = {}): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const c = net.connect(sock);
    let buf = '';
    const done = () => {
      clearTimeout(t);
      c.destroy();
      resolve(buf.split('\n').filter(Boolean));
    };
    const t = setTimeout(done, o.timeoutMs ?? 5000);
    c.setEncoding('utf8');
    c.on('data', (d: string) => {
      buf += d;
      const lines = buf.split('\n').filter(Boolean);
      if ((o.want !== undefined && lines.length >= o.want) || (o.until && buf.endsWith('\n') && o.until(lines.at(-1)!))) done();
    });
    c.on('close', done);
    c.on('error', (e: NodeJS.ErrnoException) => (e.code === 'EPIPE' || e.code === 'ECONNRESET' ? done() : reject(e)));
    c.on('connect', () => (o.halfClose ? c.end(data) : c.write(data)));
  });
}

describe('control API fuzzing', () => {
  let dir: string;
  let sock: string;
  let server: ControlServer;
  let daemon: Daemon;
  const internal: Error[] = [];

  const alive = async () => assert.equal((await requestControl(sock, { cmd: 'ping' }, 2000)).ok, true, 'the daemon still answers');
  const isReply = (line: string) => {
    const r = JSON.parse(line) as { ok?: unknown; error?: unknown };
    assert.equal(typeof r.ok, 'boolean', line);
    if (r.ok === false) assert.equal(typeof r.error, 'string', line);
    assert.doesNotMatch(String(r.error ?? ''), /internal error/, line);
    return r;
  };

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'vigil-cfuzz-'));
    chmodSync(dir, 0o755);
    const file = path.join(dir, 'keepalived.conf');
    writeFileSync(file, CONF);
    const load = (f: string) => loadConfig(f, { configId: 'n1' });
    const clock = new SimulatedClock();
    const bus = new Bus('n1', () => clock.now());
    daemon = new Daemon(load(file).config, { net: createMemoryLan().net('n1', { eth0: ['10.0.0.1'] }), ip: new FakeIpNet(), log: silentLogger(), bus, clock, configFile: file });
    await daemon.start();
    const control = new Control({ daemon, load, log: silentLogger(), version: 'test' });
    sock = path.join(dir, 'control.sock');
    server = await serveControl(sock, control.handle, { onError: (e) => internal.push(e) });
  });
  after(async () => {
    await server?.close();
    await daemon?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test(`binary junk (seed ${SEED}): replies are JSON errors or the connection is cut; never a crash`, async () => {
    const r = rng(SEED);
    let replies = 0;
    let cut = 0;
    for (let i = 0; i < 100; i++) {
      const len = r.pick([1, 16, 512, 4096, MAX_REQUEST_BYTES + 1]);
      // mostly bytes, some JSON punctuation, a line feed now and then
      const junk = Buffer.from(Array.from({ length: len }, () => (r.next() < 0.02 ? 0x0a : r.pick([r.int(256), 0x7b, 0x7d, 0x22, 0x00, 0xff]))));
      // then a ping: its reply ends the conversation, unless the server cut it (an oversized line)
      const lines = await converse(sock, Buffer.concat([junk, Buffer.from('\n{"cmd":"ping"}\n')]), { until: (l) => l === '{"ok":true}', timeoutMs: 10_000 });
      for (const l of lines) isReply(l);
      if (lines.at(-1) !== '{"ok":true}') {
        cut++;
        assert.match(lines.at(-1) ?? '', /longer than/, 'only an oversized line ends a conversation early');
      }
      replies += lines.length;
    }
    console.log(`# control fuzz: 100 junk connections, ${replies} replies, all JSON; ${cut} cut for an oversized line`);
    await alive();
  });

  // 64 KiB of junk lines (~9,000) once held the event loop, VRRP included, for ~2 s: each cost a
  // JSON.parse exception (~0.2 ms) and all were answered in one run of microtasks. Lines that are
  // not objects are now refused before parsing, and the server yields every 64 lines.
  test('64 KiB of junk lines is answered within 500 ms', async () => {
    const junk = Buffer.from(Array.from({ length: 65_000 }, (_, i) => (i % 7 === 0 ? 0x0a : 0x41 + (i % 26))));
    const t0 = performance.now();
    const lines = await converse(sock, Buffer.concat([junk, Buffer.from('\n{"cmd":"ping"}\n')]), { until: (l) => l === '{"ok":true}', timeoutMs: 20_000 });
    const ms = performance.now() - t0;
    console.log(`# control fuzz: ${lines.length} replies to 64 KiB of junk lines in ${ms.toFixed(0)} ms`);
    assert.ok(ms < 500, `${ms.toFixed(0)} ms`);
  });

  test('every command with arguments of every wrong type: an answer, never an internal error', async () => {
    const values = [null, true, 0, -1, 2.5, 1e309, 'x', '', 'VI_1', '../../etc/passwd', '\u0000', [], [1], {}, { cmd: 'ping' }, 'a'.repeat(10_000)];
    const cmds = ['status', 'reload', 'config-test', 'priority', 'drain', 'restore', 'ping', 'nope', '__proto__', 'constructor', 'toString'];
    const args = ['file', 'instance', 'priority', 'virtualServer', 'realServer', '__proto__'];
    const r = rng(SEED + 1);
    const reqs: string[] = [];
    for (const cmd of cmds) {
      for (let k = 0; k < 40; k++) {
        const req: Record<string, unknown> = { cmd };
        for (const a of args) if (r.next() < 0.5) req[a] = r.pick(values);
        reqs.push(JSON.stringify(req));
      }
    }
    // a reload or config-test of `file` reads that path: point the string ones somewhere harmless
    const lines = await converse(sock, reqs.map((q) => q.replace('"file":"../../etc/passwd"', `"file":"${dir}/nonexistent"`)).join('\n') + '\n', { want: reqs.length, timeoutMs: 20_000 });
    assert.equal(lines.length, reqs.length, 'one reply per request, in order');
    const oks = lines.map(isReply).filter((x) => x.ok).length;
    console.log(`# control fuzz: ${reqs.length} typed requests, ${oks} ok, ${reqs.length - oks} refused with a reason`);
    assert.deepEqual(internal, [], 'no handler threw');
    assert.equal(daemon.status()[0]!.state !== undefined, true);
    await alive();
  });

  test('a half-closed connection still gets its reply (echo … | socat - UNIX-CONNECT:sock)', async () => {
    const lines = await converse(sock, '{"cmd":"ping"}\n', { halfClose: true });
    assert.equal(lines.length, 1, 'the reply to a request sent before the client half-closed');
    isReply(lines[0]!);
    await alive();
  });

  test('200 idle and 200 slow (half a line) connections do not stop a real client', async () => {
    const idle: net.Socket[] = [];
    for (let i = 0; i < 400; i++) {
      const c = net.connect(sock);
      c.on('error', () => undefined);
      if (i % 2) c.on('connect', () => c.write('{"cmd":"sta'));
      idle.push(c);
    }
    await new Promise((res) => setTimeout(res, 200));
    const t0 = performance.now();
    await alive();
    const ms = performance.now() - t0;
    for (const c of idle) c.destroy();
    console.log(`# control fuzz: ping answered in ${ms.toFixed(1)} ms beside 400 idle/slow connections`);
  });

  test('200 concurrent clients each get their status', async () => {
    const t0 = performance.now();
    const replies = await Promise.all(Array.from({ length: 200 }, () => requestControl(sock, { cmd: 'status' }, 10_000)));
    const ms = performance.now() - t0;
    assert.equal(replies.filter((x) => x.ok).length, 200);
    console.log(`# control fuzz: 200 concurrent status requests answered in ${ms.toFixed(0)} ms`);
    await alive();
  });

  test('5,000 pipelined requests on one connection: 5,000 replies, in order', async () => {
    const n = 5000;
    const text = Array.from({ length: n }, (_, i) => (i % 2 ? '{"cmd":"ping"}' : '{"cmd":"nope"}')).join('\n') + '\n';
    const lines = await converse(sock, text, { want: n, timeoutMs: 20_000 });
    assert.equal(lines.length, n);
    lines.forEach((l, i) => assert.equal(isReply(l).ok, i % 2 === 1));
    await alive();
  });

  test('an unprivileged user gets "permission denied" from the CLI, not a crash', { skip: process.getuid?.() !== 0 ? 'needs root (to run the CLI as nobody)' : false }, () => {
    for (const cmd of [['status'], ['reload'], ['priority', 'VI_1', '1']]) {
      const r = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, VIGIL_BIN, ...cmd, '--control', sock], { encoding: 'utf8' });
      assert.equal(r.status, 3, `${cmd.join(' ')}: ${r.stdout}${r.stderr}`);
      assert.match(r.stderr, /permission denied \(the control socket is root only\)/, r.stderr);
    }
  });
});
