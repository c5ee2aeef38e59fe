// HTTP_GET and SSL_GET (keepalived/check/check_http.c, check_ssl.c, lib/html.c), and the fetch
// `vigil genhash` prints the digest of, so that the digest it prints is the one the checker
// computes.
//
// Raw sockets (node:net, node:tls), not node:http, because keepalived's digests must match:
// - keepalived sends its own request bytes: `GET path HTTP/1.0` (1.1 for `http_protocol 1.1`),
//   `User-Agent: KeepAliveClient`, `Connection: close` for 1.0C and 1.1, then `Host`. node:http
//   cannot send an HTTP/1.0 request line and adds headers of its own.
// - the digest is the MD5 of the bytes after the header, as received: up to Content-Length when
//   there is one, else to the end of the connection, with no chunked decoding (a chunked reply is
//   hashed with its chunk framing, as keepalived and its genhash do). node:http decodes chunks, so
//   a digest taken by keepalived's genhash would not match.
// - keepalived accepts what a strict parser refuses (no reason phrase, odd header lines); it only
//   needs the status code and the blank line.
// The body is never buffered: it is hashed as it arrives, whatever its size; only the first
// `keepBody` bytes are kept (for `regex`). The header may be at most MAX_HEADER bytes.
//
// Differences from keepalived, on purpose:
// - all urls are fetched in one probe, back to back (keepalived checks one url per delay_loop
//   unless fast_recovery); the probe fails at the first url that fails;
// - the read ends once Content-Length bytes have arrived (keepalived waits for the server to close;
//   a server that keeps the connection open after the body would fail there, by timeout);
// - Content-Length is matched case-insensitively and only in the header (keepalived: strstr of
//   `Content-Length:` anywhere in the first buffer);
// - a status line without a reason phrase (`HTTP/1.1 200\r\n`) is read as 200 (keepalived: 0);
// - regex: JavaScript regular expressions on the first REGEX_BODY_LIMIT bytes of the body (read as
//   latin1, or UTF-8 with `regex_options utf`); options caseless, multiline, dotall, utf/ucp map to
//   flags i, m, s, u, the other PCRE2 options have no equivalent and are not applied.
// As keepalived: SSL_GET checks no certificate (SSL_VERIFY_NONE); `tls_compliant` sends
// close_notify before closing, otherwise the connection is just closed (SSL_set_quiet_shutdown);
// with `enable_sni` the name is sni_name, else the url's, checker's, real server's or virtual
// server's virtualhost (keepalived skips the real server's here; vigil uses one order for both).
import { createHash } from 'node:crypto';
import { isIP } from 'node:net';
import type { Socket } from 'node:net';
import * as tls from 'node:tls';
import type { HttpChecker, UrlSpec } from '../config/model.js';
import { connectTcp, destination, errorDetail, requirePort, type Destination, type LocalBind } from './net.js';
import { scoped, toResult, type Outcome, type Scope, type Verdict } from './scope.js';
import type { ProbeOptions, ProbeResult, ProbeTarget } from './types.js';

export type HttpProtocol = '1.0' | '1.0C' | '1.1';

/** the longest response header read before giving up */
export const MAX_HEADER = 16 * 1024;
/** the part of a body a `regex` is matched against */
export const REGEX_BODY_LIMIT = 1024 * 1024;
/** keepalived's default when a url has no status_code */
const DEFAULT_STATUS = [{ from: 200, to: 299 }] as const;

export interface HttpRequest extends LocalBind {
  readonly address: string;
  readonly port: number;
  readonly family: 4 | 6;
  readonly path: string;
  /** the Host header; absent: address:port, an IPv6 address in brackets (keepalived) */
  readonly virtualhost?: string;
  /** default '1.0', keepalived's */
  readonly protocol?: HttpProtocol;
  /** SSL_GET */
  readonly tls?: { readonly servername?: string; readonly compliant?: boolean; readonly secureContext?: tls.SecureContext };
}

export interface HttpResponse {
  /** the status code, 0 when the status line has none */
  readonly status: number;
  /** the header as received, up to and including the blank line */
  readonly header: Buffer;
  /** MD5 of the body (hex), the `digest` keepalived compares */
  readonly md5: string;
  /** body bytes hashed */
  readonly bodyBytes: number;
  readonly contentLength?: number;
  /** the first `keepBody` bytes of the body */
  readonly body: Buffer;
}

export interface FetchOptions extends ProbeOptions {
  /** body bytes to keep in the response (default 0) */
  readonly keepBody?: number;
  /** the header once complete, then every body chunk as hashed (genhash -v dumps them) */
  readonly onHeader?: (header: Buffer) => void;
  readonly onBody?: (chunk: Buffer) => void;
}

/** keepalived's request_template / request_template_ipv6. */
export function requestText(req: HttpRequest): string {
  const protocol = req.protocol ?? '1.0';
  const host = req.virtualhost ?? (req.family === 6 ? `[${req.address}]:${req.port}` : `${req.address}:${req.port}`);
  return `GET ${req.path} HTTP/1.${protocol === '1.1' ? 1 : 0}\r\n`
    + 'User-Agent: KeepAliveClient\r\n'
    + (protocol === '1.0' ? '' : 'Connection: close\r\n')
    + `Host: ${host}\r\n\r\n`;
}

/** The status code of the status line (`HTTP/1.0 200 OK`), 0 when there is none. */
export function statusCode(header: Buffer): number {
  const line = header.subarray(0, Math.max(0, header.indexOf('\r\n'))).toString('latin1');
  const m = /^[^ ]* (\d{3})(?: |$)/.exec(line);
  return m ? Number(m[1]) : 0;
}

/** Content-Length from the header lines, undefined when absent or not a plain number. */
export function contentLength(header: Buffer): number | undefined {
  const m = /\r\ncontent-length:[ \t]*(\d+)[ \t]*\r\n/i.exec(header.toString('latin1'));
  return m ? Number(m[1]) : undefined;
}

/** One GET, on its own connection: the status, the header and the MD5 of the body. */
export function httpFetch(req: HttpRequest, opts: FetchOptions): Promise<Outcome<HttpResponse>> {
  return scoped<HttpResponse>(opts, (s) => {
    const dst = { address: req.address, port: req.port, family: req.family } as const;
    connectTcp(s, dst, req, (sock, release) => {
      if (!req.tls) { exchange(s, sock, req, opts); return; }
      s.wait('in the TLS handshake');
      const servername = req.tls.servername && !isIP(req.tls.servername) ? req.tls.servername : undefined;
      const secure = tls.connect({ socket: sock, rejectUnauthorized: false, ...(servername ? { servername } : {}), ...(req.tls.secureContext ? { secureContext: req.tls.secureContext } : {}) });
      release(); // closing the TLS socket closes the TCP one
      s.defer(() => (req.tls?.compliant ? closeNotify(secure) : secure.destroy()));
      secure.on('error', (err) => s.fail(`TLS: ${err.message}`));
      secure.once('secureConnect', () => exchange(s, secure, req, opts));
    });
  });
}

/** tls_compliant: send close_notify, then close; a peer that never lets go is cut after a second. */
function closeNotify(secure: tls.TLSSocket): void {
  if (secure.destroyed) return;
  const t = setTimeout(() => secure.destroy(), 1000);
  t.unref();
  secure.once('close', () => clearTimeout(t));
  secure.on('error', () => {}); // the probe has settled: late errors have no one to tell
  secure.end();
}

/** Send the request, read the header, hash the body. */
function exchange(s: Scope<HttpResponse>, sock: Socket, req: HttpRequest, opts: FetchOptions): void {
  if (s.settled) return;
  const keep = opts.keepBody ?? 0;
  const md5 = createHash('md5');
  let head: Buffer = Buffer.alloc(0);
  let header: Buffer | undefined;
  let length: number | undefined;
  let status = 0;
  let bodyBytes = 0;
  const kept: Buffer[] = [];
  let keptBytes = 0;

  const finish = () => {
    if (s.settled) return; // the digest can be taken once
    s.succeed({
      status, header: header as Buffer, md5: md5.digest('hex'), bodyBytes,
      ...(length !== undefined ? { contentLength: length } : {}), body: Buffer.concat(kept),
    });
  };
  const feed = (chunk: Buffer) => {
    const part = length === undefined ? chunk : chunk.subarray(0, Math.max(0, length - bodyBytes));
    if (part.length) {
      md5.update(part);
      bodyBytes += part.length;
      if (keptBytes < keep) {
        const k = part.subarray(0, keep - keptBytes);
        kept.push(Buffer.from(k));
        keptBytes += k.length;
      }
      opts.onBody?.(part);
    }
    if (length !== undefined && bodyBytes >= length) finish();
  };

  sock.on('data', (chunk: Buffer) => {
    if (s.settled) return;
    s.wait('waiting for the response');
    if (header) { feed(chunk); return; }
    head = head.length ? Buffer.concat([head, chunk]) : chunk;
    const end = head.indexOf('\r\n\r\n');
    if (end < 0) {
      if (head.length > MAX_HEADER) s.fail(`response header longer than ${MAX_HEADER} bytes`);
      return;
    }
    // the same limit however the header arrived (in one read or many)
    if (end + 4 > MAX_HEADER) { s.fail(`response header longer than ${MAX_HEADER} bytes`); return; }
    header = Buffer.from(head.subarray(0, end + 4));
    status = statusCode(header);
    length = contentLength(header);
    opts.onHeader?.(header);
    const rest = head.subarray(end + 4);
    head = Buffer.alloc(0);
    feed(rest);
  });
  sock.on('end', () => {
    if (header) finish();
    else s.fail(head.length ? 'connection closed before the end of the response header' : 'no data received');
  });
  // an error after a complete header still fails the probe, as keepalived's "Read error"
  sock.on('error', (err) => s.fail(errorDetail(err)));
  s.wait('waiting for the response');
  sock.write(requestText(req));
}

// ---------------------------------------------------------------------------------------------
// The checker

const compiled = new WeakMap<UrlSpec, RegExp | string>();

/** The url's regex as a JavaScript RegExp, or why it does not compile. */
function urlRegex(url: UrlSpec): RegExp | string {
  let re = compiled.get(url);
  if (re === undefined) {
    const o = new Set(url.regexOptions ?? []);
    const flags = (o.has('caseless') ? 'i' : '') + (o.has('multiline') ? 'm' : '') + (o.has('dotall') ? 's' : '')
      + (o.has('utf') || o.has('ucp') ? 'u' : '');
    try {
      re = new RegExp(url.regex as string, flags);
    } catch (err) {
      re = `invalid regex: ${(err as Error).message}`;
    }
    compiled.set(url, re);
  }
  return re;
}

const sticky = new WeakMap<RegExp, RegExp>();

/**
 * Whether the url's regex matches the body; with regex_min_offset / regex_max_offset the match must
 * start within those bytes (keepalived's check_http.c: the search starts at the minimum, which a
 * lookbehind may look before, and a first match past the maximum does not count).
 */
function regexFound(url: UrlSpec, re: RegExp, body: Buffer, text: string): boolean {
  const min = url.regexMinOffset;
  const max = url.regexMaxOffset;
  if (min === undefined && max === undefined) return re.test(text);
  // byte offsets into the body as string indexes (one per byte unless the regex reads UTF-8)
  const at = (bytes: number) => (re.unicode ? body.subarray(0, bytes).toString('utf8').length : bytes);
  let g = sticky.get(re);
  if (!g) sticky.set(re, (g = new RegExp(re.source, `${re.flags}g`)));
  g.lastIndex = min === undefined ? 0 : Math.min(at(min), text.length + 1);
  const m = g.exec(text);
  return m !== null && (max === undefined || m.index <= at(max));
}

const ranges = (codes: readonly { from: number; to: number }[]) =>
  codes.map((c) => (c.from === c.to ? `${c.from}` : `${c.from}-${c.to}`)).join(',');

/** Why a url's response fails the check (keepalived's order: status, digest, regex), or undefined. */
export function judgeUrl(url: UrlSpec, r: HttpResponse): string | undefined {
  const codes = url.statusCodes.length ? url.statusCodes : DEFAULT_STATUS;
  if (!codes.some((c) => r.status >= c.from && r.status <= c.to)) return `status ${r.status} not in ${ranges(codes)}`;
  if (url.digest && url.digest.toLowerCase() !== r.md5) return `digest mismatch: ${r.md5}, expected ${url.digest.toLowerCase()}`;
  if (url.regex !== undefined) {
    const re = urlRegex(url);
    if (typeof re === 'string') return re;
    const text = r.body.toString(re.unicode ? 'utf8' : 'latin1');
    if (regexFound(url, re, r.body, text) === url.regexNoMatch) return url.regexNoMatch ? `regex /${re.source}/ matched (regex_no_match)` : `regex /${re.source}/ did not match`;
  }
  return undefined;
}

/** `secureContext`: SSL_GET's, from the `SSL { }` block (ssl.ts) */
export async function probeHttp(checker: HttpChecker, target: ProbeTarget, opts: ProbeOptions, secureContext?: tls.SecureContext): Promise<ProbeResult> {
  return toResult(await scoped<Verdict>(opts, async (s) => {
    const dst: Destination = destination(checker, target);
    if (!requirePort(s, dst)) return;
    // keepalived: a checker without urls enables the server without checking
    if (!checker.urls.length) { s.succeed({ detail: 'no url to check' }); return; }
    const ssl = checker.type === 'SSL_GET';
    let last = 0;
    for (const url of checker.urls) {
      const path = url.path ?? '/';
      const vhost = url.virtualhost ?? checker.virtualhost ?? target.virtualhost;
      const res = await httpFetch({
        address: dst.address, port: dst.port, family: dst.family, path,
        ...(vhost !== undefined ? { virtualhost: vhost } : {}),
        ...(checker.httpProtocol ? { protocol: checker.httpProtocol } : {}),
        ...(checker.bindTo !== undefined ? { bindTo: checker.bindTo } : {}),
        ...(checker.bindPort !== undefined ? { bindPort: checker.bindPort } : {}),
        ...(ssl ? {
          tls: {
            ...(checker.enableSni && (checker.sniName ?? vhost) ? { servername: (checker.sniName ?? vhost) as string } : {}),
            ...(checker.tlsCompliant ? { compliant: true } : {}),
            ...(secureContext ? { secureContext } : {}),
          },
        } : {}),
      }, { ...opts, keepBody: url.regex !== undefined ? REGEX_BODY_LIMIT : 0 });
      if (s.settled) return;
      if (!res.ok) { s.fail(`${path}: ${res.detail}`); return; }
      const why = judgeUrl(url, res.value);
      if (why) { s.fail(`${path}: ${why}`); return; }
      last = res.value.status;
    }
    s.succeed({ detail: checker.urls.length === 1 ? `status ${last}` : `${checker.urls.length} urls ok` });
  }));
}
