// The HTTP listener (adapters/http/server.ts) on 127.0.0.1, a real server and real sockets, with a
// stub control handler that records what it was asked.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import type { ControlReply, ControlRequest } from '../../adapters/control/types.js';
import { MAX_REQUEST_BYTES } from '../../adapters/control/types.js';
import { HttpSetupError } from '../../adapters/http/errors.js';
import { parseListen, serveHttp, type HttpServer, type HttpServerOptions } from '../../adapters/http/server.js';

const TOKEN = 'tok-0123456789abcdef-test';
const silent = { info() {}, warn() {} };

function stub() {
  const calls: { req: ControlRequest; peer: string }[] = [];
  let ready = false;
  const handler = async (req: ControlRequest, peer: string): Promise<ControlReply> => {
    calls.push({ req, peer });
    switch (req.cmd) {
      case 'status':
        return { ok: true, status: { instances: [] } };
      case 'reload':
        return req.file === 'bad.conf' ? { ok: false, error: 'the new configuration has errors', exitCode: 4, diagnostics: ['x'] } : { ok: true, report: {} };
      case 'config-test':
        return { ok: true, exitCode: req.file === 'bad.conf' ? 4 : 0, diagnostics: [] };
      case 'priority':
        if (req.instance === 'boom') throw new Error('kaboom');
        return req.instance === 'VI_1' ? { ok: true } : { ok: false, error: 'no such instance' };
      default:
        return { ok: false, error: 'unknown' };
    }
  };
  const opts = (extra: Partial<HttpServerOptions> = {}): HttpServerOptions => ({
    listen: '127.0.0.1:0',
    handler,
    metrics: async () => '# TYPE up gauge\nup 1\n',
    metricsContentType: 'text/plain; version=0.0.4; charset=utf-8',
    health: () => ({ live: true, ready, detail: { phase: ready ? 'running' : 'starting' } }),
    log: silent,
    ...extra,
  });
  return {
    calls,
    opts,
    setReady: (r: boolean) => (ready = r),
  };
}

async function withServer<T>(o: HttpServerOptions, f: (base: string, s: HttpServer) => Promise<T>): Promise<T> {
  const s = await serveHttp(o);
  try {
    return await f(`http://${s.address}`, s);
  } finally {
    await s.close();
  }
}

const auth = (token = TOKEN) => ({ authorization: `Bearer ${token}` });
const post = (body: string, headers: Record<string, string> = auth()) => ({ method: 'POST', body, headers: { 'content-type': 'application/json', ...headers } });

/** one raw exchange: write `chunks`, collect everything until the server closes the socket */
function raw(address: string, chunks: (string | Buffer)[], guardMs = 5000): Promise<{ text: string; closedByServer: boolean }> {
  const [host, port] = address.split(':') as [string, string];
  return new Promise((resolve, reject) => {
    const sock = net.connect(Number(port), host);
    let text = '';
    const guard = setTimeout(() => {
      sock.destroy();
      resolve({ text, closedByServer: false });
    }, guardMs);
    sock.on('data', (d) => (text += d.toString('latin1')));
    sock.on('error', (err: NodeJS.ErrnoException) => (err.code === 'ECONNRESET' || err.code === 'EPIPE' ? undefined : reject(err)));
    sock.on('close', () => {
      clearTimeout(guard);
      resolve({ text, closedByServer: true });
    });
    sock.on('connect', () => {
      for (const c of chunks) sock.write(c);
    });
  });
}

test('with a token: every route, its status code and what the handler is given', async () => {
  const s = stub();
  await withServer(s.opts({ token: TOKEN }), async (base) => {
    // probes need no token
    let r = await fetch(`${base}/healthz`);
    assert.equal(r.status, 200);
    assert.deepEqual(await r.json(), { ok: true, live: true });
    r = await fetch(`${base}/readyz`);
    assert.equal(r.status, 503);
    assert.deepEqual(await r.json(), { ok: false, ready: false, phase: 'starting' });
    s.setReady(true);
    r = await fetch(`${base}/readyz`);
    assert.equal(r.status, 200);
    assert.deepEqual(await r.json(), { ok: true, ready: true, phase: 'running' });
    r = await fetch(`${base}/healthz`, { method: 'HEAD' });
    assert.equal(r.status, 200);
    assert.equal(await r.text(), '');

    // everything else does
    for (const [path, init] of [
      ['/metrics', {}],
      ['/api/status', {}],
      ['/api/reload', post('{}', {})],
      ['/api/config-test', post('{}', {})],
      ['/api/priority', post('{}', {})],
    ] as const) {
      for (const headers of [{}, auth('wrong-token-0123456789'), { authorization: TOKEN }, { authorization: `Basic ${TOKEN}` }]) {
        const res = await fetch(`${base}${path}`, { ...init, headers: { ...(init as { headers?: object }).headers, ...headers } });
        assert.equal(res.status, 401, `${path} with ${JSON.stringify(headers)}`);
        assert.equal(res.headers.get('www-authenticate'), 'Bearer realm="vigil"');
      }
    }
    assert.equal(s.calls.length, 0, 'the handler never saw an unauthenticated request');

    r = await fetch(`${base}/metrics`, { headers: { authorization: `bearer ${TOKEN}` } });
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('content-type'), 'text/plain; version=0.0.4; charset=utf-8');
    assert.equal(await r.text(), '# TYPE up gauge\nup 1\n');

    r = await fetch(`${base}/api/status?verbose=1`, { headers: auth() });
    assert.equal(r.status, 200);
    assert.deepEqual(await r.json(), { ok: true, status: { instances: [] } });
    assert.deepEqual(s.calls.at(-1), { req: { cmd: 'status' }, peer: 'http:127.0.0.1' });

    const api = async (path: string, body: string) => {
      const res = await fetch(`${base}${path}`, post(body));
      return { status: res.status, json: (await res.json()) as Record<string, unknown> };
    };
    assert.equal((await api('/api/reload', '')).status, 200);
    assert.deepEqual(s.calls.at(-1)?.req, { cmd: 'reload' });
    assert.equal((await api('/api/reload', '{"file":"/etc/keepalived/new.conf"}')).status, 200);
    assert.deepEqual(s.calls.at(-1)?.req, { cmd: 'reload', file: '/etc/keepalived/new.conf' });
    const refused = await api('/api/reload', '{"file":"bad.conf"}');
    assert.equal(refused.status, 422);
    assert.equal(refused.json.exitCode, 4);
    assert.equal((await api('/api/config-test', '{"file":"bad.conf"}')).status, 422);
    assert.equal((await api('/api/config-test', '{}')).status, 200);
    assert.equal((await api('/api/priority', '{"instance":"VI_1","priority":50}')).status, 200);
    assert.deepEqual(s.calls.at(-1), { req: { cmd: 'priority', instance: 'VI_1', priority: 50 }, peer: 'http:127.0.0.1' });
    assert.equal((await api('/api/priority', '{"instance":"VI_1","priority":null}')).status, 200);
    assert.deepEqual(s.calls.at(-1)?.req, { cmd: 'priority', instance: 'VI_1', priority: null });
    assert.equal((await api('/api/priority', '{"instance":"VI_9","priority":50}')).status, 422);
    const boom = await api('/api/priority', '{"instance":"boom"}');
    assert.equal(boom.status, 500);
    assert.match(String(boom.json.error), /kaboom/);

    // malformed: never reaches the handler
    const n = s.calls.length;
    for (const [body, why] of [
      ['{"file":', /malformed JSON/],
      ['[1]', /must be a JSON object/],
      ['null', /must be a JSON object/],
      ['"x"', /must be a JSON object/],
      ['{"fiel":"x"}', /unknown field "fiel" \(accepted: file\)/],
      ['{"cmd":"status"}', /unknown field "cmd"/],
    ] as const) {
      const res = await api('/api/reload', body);
      assert.equal(res.status, 400, body);
      assert.match(String(res.json.error), why);
    }
    assert.equal(s.calls.length, n);

    r = await fetch(`${base}/nope`, { headers: auth() });
    assert.equal(r.status, 404);
    r = await fetch(`${base}/metrics/`, { headers: auth() });
    assert.equal(r.status, 404);
    r = await fetch(`${base}/api/reload`, { headers: auth() });
    assert.equal(r.status, 405);
    assert.equal(r.headers.get('allow'), 'POST');
    r = await fetch(`${base}/metrics`, post('{}'));
    assert.equal(r.status, 405);
    assert.equal(r.headers.get('allow'), 'GET, HEAD');
    r = await fetch(`${base}/api/status`, { method: 'DELETE', headers: auth() });
    assert.equal(r.status, 405);
  });
});

test('bodies over MAX_REQUEST_BYTES: 413, by Content-Length or counted while chunked, and the connection closed', async () => {
  const s = stub();
  await withServer(s.opts({ token: TOKEN }), async (base, srv) => {
    const big = JSON.stringify({ file: 'x'.repeat(MAX_REQUEST_BYTES) });
    const r = await fetch(`${base}/api/reload`, post(big));
    assert.equal(r.status, 413);
    assert.equal(r.headers.get('connection'), 'close');

    // chunked, no length announced: cut once the count passes the limit
    const head = `POST /api/reload HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${TOKEN}\r\nTransfer-Encoding: chunked\r\n\r\n`;
    const chunk = 'x'.repeat(16 * 1024);
    const chunks = [head, ...Array.from({ length: 6 }, () => `${chunk.length.toString(16)}\r\n${chunk}\r\n`)];
    const res = await raw(srv.address, chunks);
    assert.match(res.text, /^HTTP\/1\.1 413 /);
    assert.ok(res.closedByServer, 'the server closed the connection');
    assert.equal(s.calls.length, 0);

    // just under the limit is read and parsed
    const fits = JSON.stringify({ file: 'y'.repeat(MAX_REQUEST_BYTES - 20) });
    assert.ok(Buffer.byteLength(fits) <= MAX_REQUEST_BYTES);
    assert.equal((await fetch(`${base}/api/reload`, post(fits))).status, 200);
  });
});

test('without a token on loopback: reads open, privileged routes refused, DNS-rebinding Host refused', async () => {
  const s = stub();
  await withServer(s.opts(), async (base, srv) => {
    assert.equal((await fetch(`${base}/metrics`)).status, 200);
    assert.equal((await fetch(`${base}/api/status`)).status, 200);
    for (const path of ['/api/reload', '/api/config-test', '/api/priority']) {
      const r = await fetch(`${base}${path}`, post('{}', {}));
      assert.equal(r.status, 403, path);
      assert.match(String(((await r.json()) as { error: string }).error), /needs a token/);
    }
    assert.deepEqual(
      s.calls.map((c) => c.req.cmd),
      ['status'],
    );
    const get = (path: string, host: string) => raw(srv.address, [`GET ${path} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`]);
    assert.match((await get('/api/status', 'attacker.example:8080')).text, /^HTTP\/1\.1 403 /);
    assert.match((await get('/metrics', 'attacker.example')).text, /^HTTP\/1\.1 403 /);
    assert.match((await get('/healthz', 'attacker.example')).text, /^HTTP\/1\.1 200 /);
    assert.match((await get('/metrics', 'localhost:9650')).text, /^HTTP\/1\.1 200 /);
    assert.match((await get('/metrics', '[::1]:9650')).text, /^HTTP\/1\.1 200 /);
  });
});

test('an address other than loopback needs a token; --http values are checked', async () => {
  const s = stub();
  for (const listen of ['0.0.0.0:0', '[::]:0', '192.0.2.1:9650', '[2001:db8::1]:9650']) {
    await assert.rejects(serveHttp(s.opts({ listen })), (err: unknown) => err instanceof HttpSetupError && err.code === 'TOKEN_REQUIRED' && /needs a token/.test(err.message), listen);
  }
  for (const [listen, why] of [
    ['127.0.0.1', /not HOST:PORT/],
    ['99999', /out of range/],
    ['127.0.0.1:65536', /out of range/],
    ['host.example:80', /not an IPv4 address or localhost/],
    ['[127.0.0.1]:80', /not an IPv6 address/],
    ['::1:80', /not HOST:PORT/],
    [':9650', /not HOST:PORT/],
  ] as const) {
    assert.throws(() => parseListen(listen), (err: unknown) => err instanceof HttpSetupError && err.code === 'BAD_LISTEN' && why.test(err.message), listen);
  }
  assert.deepEqual(parseListen('[::1]:9650'), { host: '::1', port: 9650 });
  assert.deepEqual(parseListen('localhost:0'), { host: 'localhost', port: 0 });
  assert.deepEqual(parseListen('9650'), { host: '127.0.0.1', port: 9650 }, 'a bare port is on loopback');
  // the port is taken: a clear error, not a crash
  await withServer(s.opts(), async (_base, srv) => {
    await assert.rejects(serveHttp(s.opts({ listen: srv.address })), (err: unknown) => err instanceof HttpSetupError && err.code === 'LISTEN' && /EADDRINUSE/.test(err.message));
  });
});

test('IPv6 loopback: [::1] needs no token, the address is given back in brackets', async (t) => {
  const s = stub();
  let srv: HttpServer;
  try {
    srv = await serveHttp(s.opts({ listen: '[::1]:0' }));
  } catch (err) {
    if (err instanceof HttpSetupError && /EADDRNOTAVAIL|EAFNOSUPPORT/.test(err.message)) return t.skip('no IPv6 loopback on this host');
    throw err;
  }
  try {
    assert.match(srv.address, /^\[::1\]:\d+$/);
    assert.equal((await fetch(`http://${srv.address}/api/status`)).status, 200);
    assert.equal(s.calls[0]?.peer, 'http:::1');
  } finally {
    await srv.close();
  }
});

test('a slow client is cut: headers never finished, or a body that stalls', async () => {
  const s = stub();
  await withServer(s.opts({ token: TOKEN, timeouts: { headersMs: 150, requestMs: 300 } }), async (_base, srv) => {
    const [headers, body] = await Promise.all([
      raw(srv.address, ['GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ']),
      raw(srv.address, [`POST /api/reload HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Length: 100\r\n\r\n{"fi`]),
    ]);
    assert.ok(headers.closedByServer, 'headers that never end');
    assert.ok(body.closedByServer, 'a body that stalls');
    assert.match(headers.text, /^(HTTP\/1\.1 408 |$)/);
    assert.equal(s.calls.length, 0);
  });
});

test('requests are served concurrently: a slow handler does not hold the others', async () => {
  const s = stub();
  const N = 12;
  let arrived = 0;
  let open!: () => void;
  const gate = new Promise<void>((r) => (open = r));
  const handler = async (req: ControlRequest): Promise<ControlReply> => {
    if (++arrived === N) open();
    // each reply waits until all N requests are in the handler at once
    await gate;
    return { ok: true, n: req.instance };
  };
  await withServer({ ...s.opts({ token: TOKEN }), handler }, async (base) => {
    const replies = await Promise.all(Array.from({ length: N }, (_, i) => fetch(`${base}/api/priority`, post(JSON.stringify({ instance: i }))).then((r) => r.json() as Promise<{ n: number }>)));
    assert.deepEqual(
      replies.map((r) => r.n),
      Array.from({ length: N }, (_, i) => i),
    );
    // probes answer while a reload is stuck in the handler
    let release!: () => void;
    const stuck = new Promise<void>((r) => (release = r));
    await withServer({ ...s.opts({ token: TOKEN }), handler: async () => (await stuck, { ok: true }) }, async (b2) => {
      const pending = fetch(`${b2}/api/reload`, post('{}'));
      assert.equal((await fetch(`${b2}/healthz`)).status, 200);
      release();
      assert.equal((await pending).status, 200);
    });
  });
});

test('more routes through `routes` (the dashboard); a route defined twice is an error', async () => {
  const s = stub();
  const page = { method: 'GET', path: '/ui', access: 'read', handle: () => ({ status: 200, text: '<h1>vigil</h1>', contentType: 'text/html; charset=utf-8' }) } as const;
  await withServer(s.opts({ token: TOKEN, routes: [page] }), async (base) => {
    assert.equal((await fetch(`${base}/ui`)).status, 401);
    const r = await fetch(`${base}/ui`, { headers: auth() });
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('content-type'), 'text/html; charset=utf-8');
    assert.equal(await r.text(), '<h1>vigil</h1>');
  });
  await assert.rejects(serveHttp(s.opts({ routes: [{ ...page, path: '/metrics' }] })), /GET \/metrics is defined twice/);
});
