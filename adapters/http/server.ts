// The optional HTTP listener (`vigil run --http HOST:PORT`): Prometheus `/metrics`, the `/healthz`
// and `/readyz` probes, and the control API as JSON through the same handler as the control socket
// (actors/control.ts), so both transports answer alike and every operator command is audited.
//
// Security:
// - an address other than loopback needs a token: serveHttp refuses to start without one. With a
//   token, every route but the two probes needs `Authorization: Bearer <token>`, compared in
//   constant time;
// - on loopback without a token the read routes (metrics, status) are open, and the privileged
//   ones (reload, config-test, priority) are refused: any local user could otherwise do over TCP
//   what the root-only control socket keeps from them (config-test is one of them: it reads any
//   file as root and quotes its lines in the diagnostics);
// - on loopback without a token the Host header must be an IP address or localhost, so a web page
//   cannot read the API through DNS rebinding;
// - a browser cannot put the token in a header for every request (EventSource cannot at all), so
//   `POST /api/session {"token"}` checks it and sets a session cookie (HttpOnly: scripts cannot
//   read it; SameSite=Strict: another site's page cannot make the browser send it). The cookie
//   holds a hash of the token, not the token, and opens the read routes only: privileged ones
//   still need the Authorization header, so a stolen cookie cannot reload or change priorities;
// - bounded: a client slow to send its headers or its request is cut (timeouts), bodies are at most
//   MAX_REQUEST_BYTES, at most `maxConnections` sockets are open. None of it touches VRRP: the
//   listener only shares the event loop, and every handler is short or awaits.
//
// Routes are a table (method × exact path → handler); the dashboard (issue #9) adds its own through
// `routes`.
import http from 'node:http';
import { BlockList, isIP, type AddressInfo } from 'node:net';
import { createHash, timingSafeEqual } from 'node:crypto';
import { MAX_REQUEST_BYTES, type ControlHandler, type ControlReply } from '../control/types.js';
import { HttpSetupError } from './errors.js';

/** What /healthz and /readyz report. */
export interface HealthReport {
  /** the process answers (false: /healthz says 503) */
  readonly live: boolean;
  /** started and not stopping (false: /readyz says 503) */
  readonly ready: boolean;
  /** shown by /readyz */
  readonly detail?: Readonly<Record<string, unknown>>;
}

/** A pino-like logger; pino's Logger fits. */
export interface HttpLog {
  warn(obj: object, msg: string): void;
}

export type HttpReply = { readonly headers?: Readonly<Record<string, string>>; readonly status: number } & (
  | { readonly json: unknown }
  | { readonly text: string | Uint8Array; readonly contentType: string }
  /**
   * a long-lived response (server-sent events): the status and headers are sent at once, then
   * `stream` owns the response until it ends it or the client goes (its 'close' event)
   */
  | { readonly stream: (res: http.ServerResponse) => void; readonly contentType: string }
);

export interface RouteContext {
  /** `http:<remote address>`, for the audit */
  readonly peer: string;
  /** POST: the JSON object sent (fields checked against `Route.fields`); GET: empty */
  readonly body: Readonly<Record<string, unknown>>;
  /** the query string's parameters */
  readonly query: URLSearchParams;
  /** the request's headers, names in lower case (e.g. `last-event-id`, `if-none-match`) */
  readonly headers: Readonly<http.IncomingHttpHeaders>;
}

export interface Route {
  readonly method: 'GET' | 'POST';
  /** matched exactly, without the query string */
  readonly path: string;
  /**
   * open: never needs the token (probes, the login, the dashboard's page and scripts, which hold no
   * data); read: needs it when one is set (or the session cookie); privileged: needs it,
   * and is refused when no token is set
   */
  readonly access: 'open' | 'read' | 'privileged';
  /** POST: the body fields accepted; any other is refused (a typo must not reload the wrong file) */
  readonly fields?: readonly string[];
  handle(ctx: RouteContext): HttpReply | Promise<HttpReply>;
}

export interface HttpTimeouts {
  /** the whole header block must arrive within this (slowloris) */
  readonly headersMs: number;
  /** the whole request, body included, must arrive within this; not ≤ headersMs */
  readonly requestMs: number;
  /** an idle keep-alive connection is closed after this */
  readonly keepAliveMs: number;
}

export const DEFAULT_HTTP_TIMEOUTS: HttpTimeouts = { headersMs: 10_000, requestMs: 30_000, keepAliveMs: 5_000 };
export const DEFAULT_HTTP_MAX_CONNECTIONS = 64;

export interface HttpServerOptions {
  /** HOST:PORT, [V6]:PORT or PORT (127.0.0.1); HOST an IP address or localhost; port 0 picks a free one */
  readonly listen: string;
  /** required unless `listen` is a loopback address */
  readonly token?: string;
  readonly handler: ControlHandler;
  /** the Prometheus exposition text */
  readonly metrics: () => Promise<string>;
  readonly metricsContentType: string;
  readonly health: () => HealthReport;
  readonly log: HttpLog;
  /** more routes (the dashboard's); a method and path already taken is an error */
  readonly routes?: readonly Route[];
  readonly timeouts?: Partial<HttpTimeouts>;
  readonly maxConnections?: number;
}

export interface HttpServer {
  /** the bound address, HOST:PORT or [V6]:PORT (the real port when 0 was asked) */
  readonly address: string;
  /** stop listening and drop every connection; idempotent */
  close(): Promise<void>;
}

/**
 * Split `--http`'s value: HOST:PORT, [V6]:PORT, or a bare PORT on 127.0.0.1 (loopback unless said
 * otherwise). Throws HttpSetupError('BAD_LISTEN') naming what is wrong.
 */
export function parseListen(listen: string): { host: string; port: number } {
  const bad = (why: string) => new HttpSetupError('BAD_LISTEN', `--http ${listen}: ${why} (expected HOST:PORT or PORT, e.g. 127.0.0.1:9650, [::1]:9650, 9650)`);
  const full = /^\d{1,5}$/.test(listen) ? `127.0.0.1:${listen}` : listen;
  const v6 = /^\[([^\]]+)\]:(\d{1,5})$/.exec(full);
  const m = v6 ?? /^([^:[\]]+):(\d{1,5})$/.exec(full);
  if (!m) throw bad('not HOST:PORT');
  const host = m[1]!;
  const port = Number(m[2]);
  if (port > 65535) throw bad(`port ${port} is out of range`);
  if (v6 && isIP(host) !== 6) throw bad(`'${host}' in brackets is not an IPv6 address`);
  if (!v6 && isIP(host) !== 4 && host !== 'localhost') throw bad(`'${host}' is not an IPv4 address or localhost (IPv6 goes in brackets)`);
  return { host, port };
}

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');
LOOPBACK.addSubnet('::ffff:127.0.0.0', 104, 'ipv6');

export function isLoopback(host: string): boolean {
  if (host === 'localhost') return true;
  const family = isIP(host);
  return family !== 0 && LOOPBACK.check(host, family === 4 ? 'ipv4' : 'ipv6');
}

/** The Host header names an address or localhost, not a DNS name a web page controls. */
function literalHost(header: string | undefined): boolean {
  if (header === undefined) return true;
  const name = header.startsWith('[') ? header.slice(1, header.indexOf(']')) : header.replace(/:\d*$/, '');
  return name.toLowerCase() === 'localhost' || isIP(name) !== 0;
}

const sha256 = (s: string) => createHash('sha256').update(s).digest();

/** `Authorization: Bearer <token>` → the token */
function bearer(header: string | undefined): string | undefined {
  return /^Bearer[ \t]+([\x21-\x7e]+)[ \t]*$/i.exec(header ?? '')?.[1];
}

/** The browser session's cookie (set by POST /api/session). */
export const SESSION_COOKIE = 'vigil_session';

/** The cookie's value for a token: a hash, so the cookie cannot be turned back into the token. */
const sessionValue = (token: string) => createHash('sha256').update(`vigil-session\0${token}`).digest('hex');

/** One cookie's value from a Cookie header. */
function cookie(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** Rate-limited logging without timers: the 1st, 2nd, 4th, 8th… occurrence. */
const worthLogging = (n: number) => (n & (n - 1)) === 0;

const fail = (status: number, error: string, headers?: Record<string, string>): HttpReply => ({ status, json: { ok: false, error }, ...(headers ? { headers } : {}) });

/** The client went away (or was cut by a timeout) while we read its body: nobody to answer. */
class ClientGone extends Error {}

function readBody(req: http.IncomingMessage, max: number): Promise<Buffer | 'too-large'> {
  return new Promise((resolve, reject) => {
    if (Number(req.headers['content-length']) > max) return resolve('too-large');
    const chunks: Buffer[] = [];
    let n = 0;
    const done = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('close', onClose);
    };
    const onData = (c: Buffer) => {
      n += c.length;
      if (n <= max) return void chunks.push(c);
      done();
      req.pause();
      resolve('too-large');
    };
    const onEnd = () => {
      done();
      resolve(Buffer.concat(chunks));
    };
    const onClose = () => {
      done();
      reject(new ClientGone());
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('close', onClose);
  });
}

/** A POST body: empty means `{}`; otherwise one JSON object with known fields only. */
function parseBody(buf: Buffer, fields: readonly string[]): { body: Record<string, unknown> } | { refused: HttpReply } {
  const text = buf.toString('utf8');
  if (!text.trim()) return { body: {} };
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    return { refused: fail(400, `malformed JSON body: ${(err as Error).message}`) };
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return { refused: fail(400, 'the body must be a JSON object') };
  const unknown = Object.keys(v).filter((k) => !fields.includes(k));
  if (unknown.length) {
    const list = unknown.map((k) => JSON.stringify(k)).join(', ');
    return { refused: fail(400, `unknown field${unknown.length > 1 ? 's' : ''} ${list} (accepted: ${fields.join(', ') || 'none'})`) };
  }
  return { body: v as Record<string, unknown> };
}

function builtinRoutes(o: HttpServerOptions, login: (token: unknown, peer: string) => HttpReply): Route[] {
  /** a control command: the body's fields are its arguments; 422 when it is refused */
  const control =
    (cmd: string, succeeded: (r: ControlReply) => boolean = (r) => r.ok): Route['handle'] =>
    async ({ peer, body }) => {
      const reply = await o.handler({ ...body, cmd }, peer);
      return { status: succeeded(reply) ? 200 : 422, json: reply };
    };
  return [
    {
      method: 'GET',
      path: '/healthz',
      access: 'open',
      handle: () => {
        const { live } = o.health();
        return { status: live ? 200 : 503, json: { ok: live, live } };
      },
    },
    {
      method: 'GET',
      path: '/readyz',
      access: 'open',
      handle: () => {
        const { ready, detail } = o.health();
        return { status: ready ? 200 : 503, json: { ...detail, ok: ready, ready } };
      },
    },
    { method: 'GET', path: '/metrics', access: 'read', handle: async () => ({ status: 200, text: await o.metrics(), contentType: o.metricsContentType }) },
    { method: 'GET', path: '/api/status', access: 'read', handle: control('status') },
    { method: 'POST', path: '/api/reload', access: 'privileged', fields: ['file'], handle: control('reload') },
    // the check ran, but a config with errors is still a refusal
    { method: 'POST', path: '/api/config-test', access: 'privileged', fields: ['file'], handle: control('config-test', (r) => r.ok && r.exitCode === 0) },
    { method: 'POST', path: '/api/priority', access: 'privileged', fields: ['instance', 'priority'], handle: control('priority') },
    // open: it is where a browser proves it has the token
    { method: 'POST', path: '/api/session', access: 'open', fields: ['token'], handle: ({ body, peer }) => login(body['token'], peer) },
  ];
}

export async function serveHttp(opts: HttpServerOptions): Promise<HttpServer> {
  const { host, port } = parseListen(opts.listen);
  if (!opts.token && !isLoopback(host)) {
    throw new HttpSetupError('TOKEN_REQUIRED', `--http ${opts.listen}: an address other than loopback needs a token (--http-token-file FILE or $VIGIL_HTTP_TOKEN)`);
  }
  const digest = opts.token ? sha256(opts.token) : undefined;
  const session = opts.token ? sha256(sessionValue(opts.token)) : undefined;
  const t = { ...DEFAULT_HTTP_TIMEOUTS, ...opts.timeouts };

  let authFailures = 0;
  const refused = (peer: string, what: string) => {
    if (worthLogging(++authFailures)) opts.log.warn({ peer, count: authFailures }, `HTTP ${what}: missing or wrong token (${authFailures} refused so far)`);
  };
  // both sides hashed to 32 bytes: the comparison takes the same time whatever the given length
  const tokenMatches = (given: string) => timingSafeEqual(sha256(given), digest!);

  const login = (token: unknown, peer: string): HttpReply => {
    if (!digest) return { status: 200, json: { ok: true, session: false, note: 'no token is set: the read routes are open on loopback' } };
    if (typeof token !== 'string' || !tokenMatches(token)) {
      refused(peer, 'POST /api/session');
      return fail(401, 'wrong token');
    }
    return {
      status: 200,
      json: { ok: true, session: true },
      headers: { 'Set-Cookie': `${SESSION_COOKIE}=${sessionValue(opts.token!)}; HttpOnly; SameSite=Strict; Path=/` },
    };
  };

  const table = new Map<string, Map<string, Route>>();
  for (const r of [...builtinRoutes(opts, login), ...(opts.routes ?? [])]) {
    const byMethod = table.get(r.path) ?? new Map<string, Route>();
    if (byMethod.has(r.method)) throw new Error(`HTTP route ${r.method} ${r.path} is defined twice`);
    table.set(r.path, byMethod.set(r.method, r));
  }

  const authorized = (req: http.IncomingMessage, peer: string, access: Route['access']): boolean => {
    const given = bearer(req.headers.authorization);
    if (given !== undefined && tokenMatches(given)) return true;
    const s = access === 'read' ? cookie(req.headers.cookie, SESSION_COOKIE) : undefined;
    if (s !== undefined && timingSafeEqual(sha256(s), session!)) return true;
    refused(peer, `${req.method} ${req.url?.slice(0, 200)}`);
    return false;
  };

  const route = async (req: http.IncomingMessage, peer: string, consumed: () => void): Promise<HttpReply> => {
    const [path = '/', search = ''] = (req.url ?? '/').split(/\?(.*)/s, 2);
    const byMethod = table.get(path);
    if (!byMethod) return fail(404, `no such path: ${path.slice(0, 200)}`);
    const r = byMethod.get(req.method === 'HEAD' ? 'GET' : (req.method ?? ''));
    if (!r) {
      const allow = [...byMethod.keys()].flatMap((m) => (m === 'GET' ? ['GET', 'HEAD'] : [m])).join(', ');
      return fail(405, `${req.method} is not allowed on ${path} (allowed: ${allow})`, { Allow: allow });
    }
    if (r.access !== 'open') {
      if (digest) {
        if (!authorized(req, peer, r.access)) return fail(401, 'missing or wrong token (Authorization: Bearer <token>)', { 'WWW-Authenticate': 'Bearer realm="vigil"' });
      } else if (r.access === 'privileged') {
        return fail(403, `${path} needs a token: start vigil with --http-token-file FILE or $VIGIL_HTTP_TOKEN, or use the control socket`);
      } else if (!literalHost(req.headers.host)) {
        return fail(403, 'without a token, the Host header must be an IP address or localhost');
      }
    }
    let body: Readonly<Record<string, unknown>> = {};
    if (r.method === 'POST') {
      const buf = await readBody(req, MAX_REQUEST_BYTES);
      if (buf === 'too-large') return fail(413, `request body longer than ${MAX_REQUEST_BYTES} bytes`);
      consumed();
      const parsed = parseBody(buf, r.fields ?? []);
      if ('refused' in parsed) return parsed.refused;
      body = parsed.body;
    }
    return r.handle({ peer, body, query: new URLSearchParams(search), headers: req.headers });
  };

  const answer = async (req: http.IncomingMessage, res: http.ServerResponse) => {
    const peer = `http:${req.socket.remoteAddress ?? 'unknown'}`;
    // a request whose body we did not read: the connection closes after the reply, rather than
    // Node reading and discarding whatever the client still sends
    let bodyRead = req.headers['transfer-encoding'] === undefined && (req.headers['content-length'] ?? '0') === '0';
    let reply: HttpReply;
    try {
      reply = await route(req, peer, () => (bodyRead = true));
    } catch (err) {
      if (err instanceof ClientGone) return;
      opts.log.warn({ err, peer }, `HTTP ${req.method} ${req.url?.slice(0, 200)}: ${(err as Error).message}`);
      reply = fail(500, `internal error: ${(err as Error).message}`);
    }
    if (res.headersSent || res.destroyed) return;
    try {
      send(res, reply, !bodyRead);
    } catch (err) {
      // a reply that cannot be serialised (a handler's bug): the client gets a 500, never a hang
      opts.log.warn({ err, peer }, `HTTP ${req.method} ${req.url?.slice(0, 200)}: cannot send the reply: ${(err as Error).message}`);
      if (!res.headersSent) send(res, fail(500, 'internal error: the reply could not be serialised'), true);
    }
  };

  const server = http.createServer(
    {
      headersTimeout: t.headersMs,
      requestTimeout: t.requestMs,
      // how often Node looks for connections past those timeouts (30 s by default)
      connectionsCheckingInterval: Math.max(10, Math.floor(Math.min(t.headersMs, t.requestMs) / 4)),
    },
    (req, res) => void answer(req, res),
  );
  server.keepAliveTimeout = t.keepAliveMs;
  server.maxConnections = opts.maxConnections ?? DEFAULT_HTTP_MAX_CONNECTIONS;
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host, port, exclusive: true }, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (err) {
    throw new HttpSetupError('LISTEN', `--http ${opts.listen}: ${(err as Error).message}`, { cause: err });
  }
  server.on('error', (err) => opts.log.warn({ err }, `HTTP listener: ${err.message}`));
  const a = server.address() as AddressInfo;
  let closed: Promise<void> | undefined;
  return {
    address: a.family === 'IPv6' ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`,
    close: () =>
      (closed ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      })),
  };
}

function send(res: http.ServerResponse, reply: HttpReply, close: boolean): void {
  if ('stream' in reply) {
    res.statusCode = reply.status;
    res.setHeader('Content-Type', reply.contentType);
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('X-Content-Type-Options', 'nosniff');
    for (const [k, v] of Object.entries(reply.headers ?? {})) res.setHeader(k, v);
    if (res.req.method === 'HEAD') return void res.end();
    res.flushHeaders();
    reply.stream(res);
    return;
  }
  const body = 'json' in reply ? JSON.stringify(reply.json) + '\n' : reply.text;
  res.statusCode = reply.status;
  res.setHeader('Content-Type', 'json' in reply ? 'application/json; charset=utf-8' : reply.contentType);
  res.setHeader('Content-Length', Buffer.byteLength(body));
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('X-Content-Type-Options', 'nosniff');
  for (const [k, v] of Object.entries(reply.headers ?? {})) res.setHeader(k, v);
  if (close) res.setHeader('Connection', 'close');
  res.end(body);
}
