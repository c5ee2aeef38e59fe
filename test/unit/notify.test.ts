// sd_notify: what reaches a real unix datagram socket (a python3 receiver: neither Node nor the
// test can bind one otherwise), the watchdog's period on injected timers, and the no-op cases.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, describe, test } from 'node:test';
import { loadPacketAddon } from '../../adapters/ip/packet.js';
import { createNotifier } from '../../adapters/service/notify.js';

// prints one JSON line per datagram: `sent`, the kernel's timestamp of the sendto() (µs, realtime
// clock: immune to the receiver being scheduled late), and `t`, when the receiver read it (µs,
// CLOCK_MONOTONIC)
const RECEIVER = `
import json, socket, struct, sys, time
a = sys.argv[1]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, getattr(socket, 'SO_TIMESTAMPNS', 35), 1)  # 35 on Linux; some builds lack the name
s.bind('\\0' + a[1:] if a.startswith('@') else a)
print(json.dumps({'bound': True}), flush=True)
while True:
    m, anc, _, _ = s.recvmsg(65536, 64)
    sec, nsec = struct.unpack('qq', anc[0][2][:16])
    t = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
    print(json.dumps({'sent': sec * 1000000 + nsec // 1000, 't': t, 'msg': m.decode()}), flush=True)
`;

interface Datagram { sent: number; t: number; msg: string }

async function receiver(addr: string): Promise<{ next(): Promise<Datagram>; close(): void }> {
  const py: ChildProcess = spawn('python3', ['-c', RECEIVER, addr], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = createInterface({ input: py.stdout! })[Symbol.asyncIterator]();
  const next = async () => {
    const r = await lines.next();
    if (r.done) throw new Error('the receiver exited');
    return JSON.parse(r.value) as Datagram & { bound?: boolean };
  };
  assert.equal((await next()).bound, true);
  return { next, close: () => py.kill() };
}

const noPython = spawnSync('python3', ['-c', 'import socket; socket.AF_UNIX'], { encoding: 'utf8' }).status !== 0;
const addon = loadPacketAddon();
const skipReal = noPython
  ? 'python3 is not installed: no unix datagram receiver for the test'
  : !addon.ok || !addon.addon.sendUnixDgram
    ? 'the native addon with sendUnixDgram is not built (bash adapters/ip/native/build.sh)'
    : false;
if (skipReal) console.log(`# skipping the real-socket notify tests: ${skipReal}`);

const dir = mkdtempSync(join(tmpdir(), 'vigil-notify-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function recordingLog() {
  const warnings: string[] = [];
  return { warnings, log: { warn: (_: object, msg: string) => void warnings.push(msg) } };
}

/** Timers driven by hand: the interval asked for, and a tick. */
function manualTimers() {
  const t = { ms: undefined as number | undefined, fn: undefined as (() => void) | undefined, unrefed: false, cleared: false };
  return {
    t,
    deps: {
      setInterval: (fn: () => void, ms: number) => {
        t.fn = fn;
        t.ms = ms;
        return { unref: () => void (t.unrefed = true) };
      },
      clearInterval: () => void (t.cleared = true),
    },
  };
}

describe('createNotifier without systemd', () => {
  test('no NOTIFY_SOCKET: every call is a no-op, no watchdog even with WATCHDOG_USEC', () => {
    const sent: string[] = [];
    const { t, deps } = manualTimers();
    const n = createNotifier({ WATCHDOG_USEC: '1000000' }, undefined, { ...deps, send: (_, d) => void sent.push(Buffer.from(d).toString()) });
    assert.equal(n.enabled, false);
    n.ready('x');
    n.reloading();
    n.stopping();
    n.status('y');
    n.close();
    assert.deepEqual(sent, []);
    assert.equal(t.fn, undefined);
  });

  test('a NOTIFY_SOCKET that is not a unix socket: a warning, then no-ops', () => {
    const { warnings, log } = recordingLog();
    const sent: string[] = [];
    const n = createNotifier({ NOTIFY_SOCKET: 'vsock:2:1234' }, log, { send: (_, d) => void sent.push(Buffer.from(d).toString()) });
    n.ready();
    assert.equal(n.enabled, false);
    assert.deepEqual(sent, []);
    assert.match(warnings.join('\n'), /NOTIFY_SOCKET=vsock:2:1234 is not a unix socket path/);
  });

  test('without the native addon: one warning saying Type=notify will time out, never a throw', () => {
    const { warnings, log } = recordingLog();
    const saved = process.env['VIGIL_PACKET_ADDON'];
    process.env['VIGIL_PACKET_ADDON'] = join(dir, 'missing.node');
    try {
      const n = createNotifier({ NOTIFY_SOCKET: join(dir, 'notify.sock'), WATCHDOG_USEC: '1000000' }, log);
      n.ready();
      n.close();
      assert.equal(n.enabled, false);
    } finally {
      if (saved === undefined) delete process.env['VIGIL_PACKET_ADDON'];
      else process.env['VIGIL_PACKET_ADDON'] = saved;
    }
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /Type=notify will time out\): packet addon not loaded/);
  });

  test('the variables are removed from the environment, so spawned scripts cannot notify as vigil', () => {
    const env: NodeJS.ProcessEnv = { NOTIFY_SOCKET: '/run/systemd/notify', WATCHDOG_USEC: '1000', WATCHDOG_PID: '1', PATH: '/bin' };
    createNotifier(env, undefined, { send: () => undefined }).close();
    assert.deepEqual(env, { PATH: '/bin' });
  });
});

describe('the watchdog (injected timers)', () => {
  const sock = { NOTIFY_SOCKET: '/run/systemd/notify' };

  test('WATCHDOG=1 every WATCHDOG_USEC/2, on an unref()ed timer, stopped by close()', () => {
    const sent: string[] = [];
    const { t, deps } = manualTimers();
    const n = createNotifier({ ...sock, WATCHDOG_USEC: '10000000' }, undefined, { ...deps, send: (_, d) => void sent.push(Buffer.from(d).toString()) });
    assert.equal(n.watchdogUsec, 10_000_000);
    assert.equal(t.ms, 5000);
    assert.equal(t.unrefed, true);
    t.fn!();
    t.fn!();
    assert.deepEqual(sent, ['WATCHDOG=1', 'WATCHDOG=1']);
    n.close();
    assert.equal(t.cleared, true);
  });

  test('WATCHDOG_PID naming another process: not ours, no pings; naming us: pings', () => {
    const other = manualTimers();
    const n1 = createNotifier({ ...sock, WATCHDOG_USEC: '2000000', WATCHDOG_PID: '1' }, undefined, { ...other.deps, send: () => undefined, pid: 4242 });
    assert.equal(n1.watchdogUsec, undefined);
    assert.equal(other.t.fn, undefined);
    const ours = manualTimers();
    const n2 = createNotifier({ ...sock, WATCHDOG_USEC: '2000000', WATCHDOG_PID: '4242' }, undefined, { ...ours.deps, send: () => undefined, pid: 4242 });
    assert.equal(n2.watchdogUsec, 2_000_000);
    assert.equal(ours.t.ms, 1000);
  });

  test('a bad WATCHDOG_USEC is ignored', () => {
    for (const v of ['', 'abc', '0', '-5', '1.5']) {
      const { t, deps } = manualTimers();
      const n = createNotifier({ ...sock, WATCHDOG_USEC: v }, undefined, { ...deps, send: () => undefined });
      assert.equal(n.watchdogUsec, undefined, v);
      assert.equal(t.fn, undefined, v);
    }
  });

  test('a failing send is logged once until one succeeds again', () => {
    const { warnings, log } = recordingLog();
    let fail = true;
    const n = createNotifier(sock, log, {
      send: () => {
        if (fail) throw Object.assign(new Error('sendto: Connection refused'), { code: 'ECONNREFUSED' });
      },
    });
    n.status('a');
    n.status('b');
    n.status('c');
    assert.equal(warnings.length, 1);
    fail = false;
    n.status('d');
    fail = true;
    n.status('e');
    assert.equal(warnings.length, 2);
    assert.match(warnings[0]!, /cannot notify systemd at \/run\/systemd\/notify: sendto: Connection refused/);
  });
});

describe('createNotifier to a real unix datagram socket', { skip: skipReal }, () => {
  test('READY, RELOADING with MONOTONIC_USEC, STOPPING, STATUS, MAINPID to a socket path', async () => {
    const path = join(dir, 'notify.sock');
    const rx = await receiver(path);
    try {
      const n = createNotifier({ NOTIFY_SOCKET: path });
      assert.equal(n.enabled, true);
      n.ready('running 2 instances');
      assert.equal((await rx.next()).msg, 'READY=1\nSTATUS=running 2 instances');
      n.reloading('reloading\n/etc/keepalived/keepalived.conf');
      const r = await rx.next();
      const m = /^RELOADING=1\nMONOTONIC_USEC=(\d+)\nSTATUS=reloading \/etc\/keepalived\/keepalived\.conf$/.exec(r.msg);
      assert.ok(m, r.msg);
      // the same clock as systemd's: not after the arrival, and not long before it
      const usec = Number(m[1]);
      assert.ok(usec <= r.t && usec > r.t - 10_000_000, `MONOTONIC_USEC=${usec}, arrived at ${r.t}`);
      n.ready();
      assert.equal((await rx.next()).msg, 'READY=1');
      n.status('MASTER on VI_1');
      assert.equal((await rx.next()).msg, 'STATUS=MASTER on VI_1');
      n.stopping();
      assert.equal((await rx.next()).msg, 'STOPPING=1');
      n.ready('detached', 12345);
      assert.equal((await rx.next()).msg, 'READY=1\nMAINPID=12345\nSTATUS=detached');
      n.close();
    } finally {
      rx.close();
    }
  });

  test('an abstract socket (@name)', async () => {
    const name = `@vigil-notify-test-${process.pid}-${Math.random().toString(36).slice(2)}`;
    const rx = await receiver(name);
    try {
      const n = createNotifier({ NOTIFY_SOCKET: name });
      n.ready();
      assert.equal((await rx.next()).msg, 'READY=1');
      n.close();
    } finally {
      rx.close();
    }
  });

  test('watchdog pings arrive, never closer together than WATCHDOG_USEC/2', async () => {
    const path = join(dir, 'watchdog.sock');
    const rx = await receiver(path);
    try {
      const n = createNotifier({ NOTIFY_SOCKET: path, WATCHDOG_USEC: '100000' }); // ping every 50 ms
      const got = [await rx.next(), await rx.next(), await rx.next()];
      n.close();
      assert.deepEqual(got.map((g) => g.msg), ['WATCHDOG=1', 'WATCHDOG=1', 'WATCHDOG=1']);
      // an interval never fires early (1 ms of rounding aside) and re-arms from when it ran, so a
      // late ping only widens a gap; the kernel's send times do not depend on the receiver's luck
      for (let i = 1; i < got.length; i++) assert.ok(got[i]!.sent - got[i - 1]!.sent >= 49_000, `gap ${got[i]!.sent - got[i - 1]!.sent} µs`);
    } finally {
      rx.close();
    }
  });

  test('no receiver: the send fails, is logged, and nothing throws', () => {
    const { warnings, log } = recordingLog();
    const n = createNotifier({ NOTIFY_SOCKET: join(dir, 'nobody-listens.sock') }, log);
    n.ready();
    n.stopping();
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /cannot notify systemd at .*nobody-listens\.sock: sendto: No such file or directory/);
  });
});
