// The packet addon's probe engine (adapters/ip/native/probe.c through adapters/checkers/native.ts)
// against real servers on loopback, side by side with the JavaScript probes it stands in for
// (tcp.ts, http.ts): for every case the same verdict and the same words, and the same request
// bytes on the wire. Then what only the engine does: watching (only results that differ are
// reported, delay_loop after each result, nothing after the cancel) and its bookkeeping.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { execFileSync } from 'node:child_process';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { createProber } from '../../adapters/checkers/index.js';
import { loadProbeEngine, type NativeProbes } from '../../adapters/checkers/native.js';
import type { Checker, HttpChecker } from '../../adapters/config/model.js';
import type { ProbeTarget } from '../../adapters/checkers/types.js';
import { unwatchedCheckers } from '../../actors/lvs.js';
import { parse } from '../helpers.js';

const engine = loadProbeEngine();
const skip = engine ? false : 'the packet addon with the probe engine is not built (bash adapters/ip/native/build.sh)';

const loc = { file: 't', line: 1, column: 1 };
const tcp = (extra: Partial<Checker> = {}) => ({ loc, type: 'TCP_CHECK', ...extra }) as unknown as Checker;
const http = (urls: { path: string; status?: [number, number][]; digest?: string; regex?: string }[], extra: Partial<HttpChecker> = {}) => ({
  loc, type: 'HTTP_GET',
  urls: urls.map((u) => ({ loc, path: u.path, statusCodes: (u.status ?? []).map(([from, to]) => ({ from, to })), regexNoMatch: false, ...(u.digest ? { digest: u.digest } : {}), ...(u.regex ? { regex: u.regex } : {}) })),
  ...extra,
}) as unknown as Checker;

interface Served extends Server { port: number; requests: Buffer[]; peers: string[]; connections: number }

/** A server whose every connection runs `on` (with the request bytes received so far, captured). */
async function serve(on: (c: Socket, path: string) => void, host = '127.0.0.1'): Promise<Served> {
  const requests: Buffer[] = [];
  const peers: string[] = [];
  const s = createServer((c) => {
    srv.connections++;
    peers.push(c.remoteAddress ?? '');
    c.on('error', () => {});
    let got = Buffer.alloc(0);
    let seen = false;
    c.on('data', (d) => {
      got = Buffer.concat([got, d]);
      if (!seen && got.includes('\r\n\r\n')) {
        seen = true;
        requests.push(got);
        on(c, /^GET (\S+)/.exec(got.toString('latin1'))?.[1] ?? '');
      }
    });
  });
  const srv = Object.assign(s, { port: 0, requests, peers, connections: 0 });
  await new Promise<void>((res) => s.listen(0, host, res));
  srv.port = (s.address() as AddressInfo).port;
  return srv;
}

async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const reply = (status: string, body = 'hello', headers = '') => (c: Socket) => c.end(`HTTP/1.0 ${status}\r\nContent-Type: text/plain\r\n${headers}\r\n${body}`);

describe('the native probe engine', { skip }, () => {
  const js = createProber({ native: false });
  const native = engine as NativeProbes;
  const servers: Served[] = [];
  const target = (s: Served | number, address = '127.0.0.1'): ProbeTarget => ({ address, port: typeof s === 'number' ? s : s.port, family: address.includes(':') ? 6 : 4 });
  const add = async (s: Promise<Served>) => { const x = await s; servers.push(x); return x; };

  before(() => {});
  after(async () => {
    native.close();
    await js.close();
    for (const s of servers) s.close();
  });

  /** both probes of the same checker: the same verdict and detail; the native one is returned */
  async function same(checker: Checker, t: ProbeTarget, timeoutMs = 1000) {
    assert.ok(native.handles(checker, t), 'the engine takes this checker');
    const a = await js.probe(checker, t, { timeoutMs });
    const b = await native.probe(checker, t, { timeoutMs })!;
    assert.deepEqual({ ok: b.ok, detail: b.detail }, { ok: a.ok, detail: a.detail });
    assert.ok(b.latencyMs >= 0 && b.latencyMs < timeoutMs + 500, `latency ${b.latencyMs}`);
    return b;
  }

  test('TCP_CHECK: connected, refused, IPv6', async () => {
    const s = await add(serve(() => {}));
    const open = createServer((c) => c.destroy());
    await new Promise<void>((res) => open.listen(0, '127.0.0.1', res));
    const port = (open.address() as AddressInfo).port;
    assert.equal((await same(tcp(), target(port))).detail, 'connected');
    await new Promise((res) => open.close(res));
    assert.equal((await same(tcp(), target(port))).detail, 'connect ECONNREFUSED');
    const v6 = await add(serve(() => {}, '::1'));
    assert.equal((await same(tcp(), target(v6, '::1'))).ok, true);
    assert.equal((await same(tcp({ connectPort: port } as Partial<Checker>), target(s))).detail, 'connect ECONNREFUSED', 'connect_port overrides the real server\'s');
  });

  test('HTTP_GET: status in and out of the ranges, every url, the same request bytes', async () => {
    const s = await add(serve((c, path) => (path === '/bad' ? reply('503 Unavailable')(c) : path === '/none' ? reply('404 Not Found')(c) : reply('200 OK')(c))));
    const t = { ...target(s), virtualhost: 'www.example.com' };
    assert.equal((await same(http([{ path: '/' }]), t)).detail, 'status 200');
    assert.equal((await same(http([{ path: '/bad' }]), t)).detail, '/bad: status 503 not in 200-299');
    assert.equal((await same(http([{ path: '/bad', status: [[500, 599], [200, 200]] }]), t)).detail, 'status 503');
    assert.equal((await same(http([{ path: '/' }, { path: '/none' }]), t)).detail, '/none: status 404 not in 200-299');
    assert.equal((await same(http([{ path: '/' }, { path: '/a' }]), t)).detail, '2 urls ok');
    assert.equal((await same(http([{ path: '/' }], { httpProtocol: '1.1' } as Partial<HttpChecker>), t)).ok, true);
    // every request twice, JavaScript's and the engine's, byte for byte the same
    assert.ok(s.requests.length >= 12);
    const counts = new Map<string, number>();
    for (const r of s.requests) counts.set(r.toString('latin1'), (counts.get(r.toString('latin1')) ?? 0) + 1);
    for (const [text, n] of counts) assert.equal(n % 2, 0, `sent ${n} times: ${JSON.stringify(text)}`);
    assert.ok(counts.size >= 4, 'distinct requests: paths, protocol');
    assert.match(s.requests[0]!.toString(), /^GET \/ HTTP\/1\.0\r\nUser-Agent: KeepAliveClient\r\nHost: www\.example\.com\r\n\r\n$/);
  });

  test('HTTP_GET: how a response can go wrong', async () => {
    const cases: [string, (c: Socket) => void][] = [
      ['nothing, then close', (c) => c.end()],
      ['half a header, then close', (c) => c.end('HTTP/1.0 200 OK\r\nContent-')],
      ['no reason phrase', (c) => c.end('HTTP/1.1 200\r\n\r\n')],
      ['no status code', (c) => c.end('garbage\r\n\r\nbody')],
      ['a header byte by byte', (c) => {
        const text = 'HTTP/1.0 200 OK\r\nX: y\r\n\r\nbody';
        let i = 0;
        const tick = () => { if (i < text.length) { c.write(text[i++]!); setTimeout(tick, 1); } else c.end(); };
        tick();
      }],
      ['Content-Length, then the connection kept open', (c) => c.write('HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhello')],
      ['Content-Length 0, kept open', (c) => c.write('HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n')],
      ['a header longer than 16 KB', (c) => c.end(`HTTP/1.0 200 OK\r\nX: ${'a'.repeat(17_000)}\r\n\r\n`)],
      ['a reset', (c) => c.resetAndDestroy()],
      ['silence', () => {}],
      ['a body cut short of Content-Length, kept open', (c) => c.write('HTTP/1.0 200 OK\r\nContent-Length: 100\r\n\r\nshort')],
    ];
    for (const [what, on] of cases) {
      const s = await add(serve((c) => on(c)));
      const r = await same(http([{ path: '/' }]), target(s), 300).catch((err: Error) => { throw new Error(`${what}: ${err.message}`); });
      assert.ok(typeof r.detail === 'string' && r.detail.length > 0, what);
    }
  });

  test('bindto and bind_port: the server sees the checker\'s source', async () => {
    const s = await add(serve(reply('200 OK')));
    const r = await native.probe(http([{ path: '/' }], { bindTo: '127.0.0.2' } as Partial<HttpChecker>), target(s), { timeoutMs: 1000 })!;
    assert.equal(r.ok, true);
    assert.equal(s.peers.at(-1), '127.0.0.2');
    const refused = await native.probe(tcp({ bindTo: '127.0.0.2' } as Partial<Checker>), target(1), { timeoutMs: 1000 })!;
    assert.equal(refused.detail, 'connect ECONNREFUSED');
  });

  test('what stays in JavaScript', () => {
    const t = target(80);
    assert.equal(native.handles(tcp(), t), true);
    assert.equal(native.handles({ ...(http([{ path: '/' }]) as object), type: 'SSL_GET' } as unknown as Checker, t), false);
    assert.equal(native.handles(http([{ path: '/', digest: '0123456789abcdef0123456789abcdef' }]), t), false);
    assert.equal(native.handles(http([{ path: '/', regex: 'ok' }]), t), false);
    assert.equal(native.handles(http([]), t), false, 'no url: http.ts enables the server without a check');
    assert.equal(native.handles(tcp({ bindTo: '::1' } as Partial<Checker>), t), false, 'a bindto of the other family: tcp.ts words the refusal');
    assert.equal(native.handles(tcp(), { address: '127.0.0.1', family: 4 }), false, 'no port');
    assert.equal(native.handles({ loc, type: 'MISC_CHECK' } as unknown as Checker, t), false);
  });

  test('the daemon\'s choice of thread: the checks that would cost JavaScript, by type', async () => {
    const conf = (checkers: string) => parse(`virtual_server 10.0.0.1 80 {
  delay_loop 5
  lb_algo rr
  lb_kind NAT
  protocol TCP
  real_server 10.0.0.2 80 {
${checkers}
  }
}
`).config;
    const prober = createProber();
    try {
      assert.deepEqual(unwatchedCheckers(conf('    TCP_CHECK {\n    }\n    HTTP_GET {\n      url {\n        path /\n      }\n    }'), prober), new Map());
      const mixed = conf('    TCP_CHECK {\n    }\n    SSL_GET {\n      url {\n        path /\n      }\n    }\n    HTTP_GET {\n      url {\n        path /\n        digest 0123456789abcdef0123456789abcdef\n      }\n    }');
      assert.deepEqual([...unwatchedCheckers(mixed, prober)], [['SSL_GET', 1], ['HTTP_GET', 1]]);
      assert.deepEqual([...unwatchedCheckers(mixed, createProber({ native: false }))], [['TCP_CHECK', 1], ['SSL_GET', 1], ['HTTP_GET', 1]], 'no engine: nothing is watched');
    } finally {
      await prober.close();
    }
  });

  test('an aborted probe settles at once and leaves nothing registered', async () => {
    const s = await add(serve(() => {}));
    const ac = new AbortController();
    const p = native.probe(http([{ path: '/' }]), target(s), { timeoutMs: 5000, signal: ac.signal })!;
    setTimeout(() => ac.abort(), 50);
    const r = await p;
    assert.deepEqual({ ok: r.ok, detail: r.detail }, { ok: false, detail: 'aborted' });
    assert.equal(native.size, 0);
  });

  test('watch: checks every interval after the result, reports only what differs, stops on cancel', async () => {
    let healthy = true;
    const s = await add(serve((c) => (healthy ? reply('200 OK')(c) : reply('500 Oops')(c))));
    const got = [] as { ok: boolean; detail: string; at: number }[];
    const t0 = Date.now();
    const cancel = native.watch(http([{ path: '/' }]), target(s), { timeoutMs: 500, intervalMs: 100, expectOk: true }, (r) => got.push({ ok: r.ok, detail: r.detail, at: Date.now() - t0 }))!;
    await new Promise((r) => setTimeout(r, 550));
    assert.equal(got.length, 0, 'healthy: nothing reported');
    const checks = s.connections;
    assert.ok(checks >= 3 && checks <= 6, `about one check per 100 ms: ${checks} in 550 ms`);
    healthy = false;
    await new Promise((r) => setTimeout(r, 350));
    assert.ok(got.length >= 2, 'each failed check is reported while the watch expects success');
    assert.ok(got.every((g) => !g.ok && g.detail === '/: status 500 not in 200-299'));
    cancel();
    const after = s.connections;
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(s.connections, after, 'no check after the cancel');
    assert.equal(native.size, 0);
  });

  test('watch expecting failure reports the first success', async () => {
    const closed = createServer((c) => c.destroy());
    await new Promise<void>((res) => closed.listen(0, '127.0.0.1', res));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((res) => closed.close(res));
    const got: boolean[] = [];
    const cancel = native.watch(tcp(), target(port), { timeoutMs: 500, intervalMs: 50, firstMs: 0, expectOk: false }, (r) => got.push(r.ok))!;
    await new Promise((r) => setTimeout(r, 200));
    assert.deepEqual(got, []);
    const back = createServer((c) => c.destroy());
    await new Promise<void>((res) => back.listen(port, '127.0.0.1', res));
    await new Promise((r) => setTimeout(r, 200));
    cancel();
    back.close();
    assert.ok(got.length >= 1 && got.every((x) => x), `successes reported: ${got.join(',')}`);
  });

  test('TCP_CHECK half-open: the server\'s application never sees a check, and a kept socket reports no stale error', async () => {
    // The engine holds the handshake's last ACK back and ends the check with a reset, so the
    // listener's accept queue never gets the connection; the socket is then disconnected and kept
    // for the next check, whose connect must not report the reset the last one ended with.
    const s = await add(serve(() => {}));
    const failures: string[] = [];
    const up = native.watch(tcp(), target(s), { timeoutMs: 500, intervalMs: 20, firstMs: 0, expectOk: true }, (r) => failures.push(r.detail))!;
    let ok = 0;
    const counted = native.watch(tcp(), target(s), { timeoutMs: 500, intervalMs: 20, firstMs: 0, expectOk: false }, (r) => { if (r.ok) ok++; })!;
    await new Promise((r) => setTimeout(r, 400));
    up();
    counted();
    assert.deepEqual(failures, [], 'no check of a listening server failed');
    assert.ok(ok >= 8, `successful checks: ${ok}`);
    assert.equal(s.connections, 0, 'no connection reached the application');
    // the JavaScript probe completes the handshake (node cannot hold the ACK back): the server sees it
    assert.equal((await js.probe(tcp(), target(s), { timeoutMs: 500 })).ok, true);
    await until(() => s.connections === 1, 1000, 'the JavaScript probe\'s connection accepted');
  });

  test('TCP_CHECK on a kept socket follows the server: up, refusing, up again', async () => {
    const first = createServer((c) => c.destroy());
    await new Promise<void>((res) => first.listen(0, '127.0.0.1', res));
    const port = (first.address() as AddressInfo).port;
    const seen: boolean[] = [];
    let last: boolean | undefined;
    const record = (ok: boolean) => { if (ok !== last) seen.push(ok); last = ok; };
    // expecting success reports failures, expecting failure reports successes: both, every check
    const a = native.watch(tcp(), target(port), { timeoutMs: 300, intervalMs: 15, firstMs: 0, expectOk: true }, (r) => record(r.ok))!;
    const b = native.watch(tcp(), target(port), { timeoutMs: 300, intervalMs: 15, firstMs: 0, expectOk: false }, (r) => record(r.ok))!;
    await new Promise((r) => setTimeout(r, 150));
    await new Promise((res) => first.close(res));
    await new Promise((r) => setTimeout(r, 150));
    const again = createServer((c) => c.destroy());
    await new Promise<void>((res) => again.listen(port, '127.0.0.1', res));
    await new Promise((r) => setTimeout(r, 150));
    a();
    b();
    again.close();
    assert.deepEqual(seen, [true, false, true]);
  });

  test('HTTP_GET on a kept socket: every check passes, the server sees each one, and no TIME_WAIT is left on either side', async () => {
    // The response's Content-Length ends the check before the server closes (it waits 30 ms), so
    // the engine ends the connection first: a FIN would leave a TIME_WAIT on the checker's side,
    // the reset it sends leaves none, and the socket is disconnected and reused for the next check
    // (the second url of a check included), whose connect must not report that reset.
    const s = await add(serve((c) => {
      c.write('HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello');
      setTimeout(() => c.end(), 30);
    }));
    const failures: string[] = [];
    const up = native.watch(http([{ path: '/' }]), target(s), { timeoutMs: 500, intervalMs: 20, firstMs: 0, expectOk: true }, (r) => failures.push(r.detail))!;
    let ok = 0;
    const counted = native.watch(http([{ path: '/a' }, { path: '/b' }]), target(s), { timeoutMs: 500, intervalMs: 20, firstMs: 0, expectOk: false }, (r) => { if (r.ok) ok++; })!;
    await new Promise((r) => setTimeout(r, 500));
    up();
    counted();
    assert.deepEqual(failures, [], 'no check of a healthy server failed');
    assert.ok(ok >= 8, `successful two-url checks: ${ok}`);
    const paths = s.requests.map((q) => /^GET (\S+)/.exec(q.toString('latin1'))?.[1]);
    assert.ok(paths.filter((p) => p === '/b').length >= ok, 'each two-url check asked for both urls');
    assert.equal(s.connections, s.requests.length, 'one connection per url checked');
    await new Promise((r) => setTimeout(r, 100)); // the server's last delayed closes
    const tw = execFileSync('ss', ['-Htan', 'state', 'time-wait', `( dport = :${s.port} or sport = :${s.port} )`], { encoding: 'utf8' }).trim();
    assert.equal(tw, '', `TIME_WAIT sockets after ${s.connections} checks:\n${tw}`);
  });

  test('close stops every probe; a closed engine opens again on the next probe', async () => {
    const s = await add(serve(reply('200 OK')));
    const fresh = loadProbeEngine()!;
    let checks = 0; // a watch expecting failure reports every success: one per check
    fresh.watch(tcp(), target(s), { timeoutMs: 500, intervalMs: 30, expectOk: false }, () => checks++);
    await new Promise((r) => setTimeout(r, 100));
    fresh.close();
    const n = checks;
    assert.ok(n >= 2, `checks before the close: ${n}`);
    await new Promise((r) => setTimeout(r, 150));
    assert.equal(checks, n);
    assert.equal((await fresh.probe(tcp(), target(s), { timeoutMs: 500 })!).ok, true);
    fresh.close();
  });
});

test('an id freed while a batch is delivered is not reused before the batch ends (fake engine)', async () => {
  const { NativeProbes } = await import('../../adapters/checkers/native.js');
  let deliver: (r: Int32Array) => void = () => {};
  const added: number[] = [];
  const fake = {
    probeOpen: (cb: (r: Int32Array) => void) => { deliver = cb; return {}; },
    probeAdd: (_e: unknown, id: number) => { added.push(id); },
    probeRemove: () => {},
    probeClose: () => {},
  };
  const np = new NativeProbes(fake);
  const t: ProbeTarget = { address: '127.0.0.1', port: 80, family: 4 };
  const seen: string[] = [];
  let cancelA: (() => void) | undefined;
  cancelA = np.watch(tcp(), t, { timeoutMs: 100, intervalMs: 1000, expectOk: true }, () => seen.push('A'));
  np.watch(tcp(), t, { timeoutMs: 100, intervalMs: 1000, expectOk: true }, () => {
    seen.push('B');
    // B's result makes the wiring drop A and start C in the same batch
    cancelA?.();
    cancelA = undefined;
    np.watch(tcp(), t, { timeoutMs: 100, intervalMs: 1000, expectOk: true }, () => seen.push('C'));
  });
  assert.deepEqual(added, [0, 1]);
  const rec = (id: number) => [id, 0, 10, 111, 3, 0, 0];
  deliver(Int32Array.from([...rec(1), ...rec(0)]));
  assert.deepEqual(seen, ['B'], 'A was removed; its record must not reach C');
  assert.equal(added[2], 2, 'C got a fresh id during the batch');
  np.watch(tcp(), t, { timeoutMs: 100, intervalMs: 1000, expectOk: true }, () => {});
  assert.equal(added[3], 0, 'after the batch, the freed id is reused');
});
