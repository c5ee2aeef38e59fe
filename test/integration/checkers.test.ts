// adapters/checkers against real servers on loopback, started here: HTTP and HTTPS (a certificate
// made by openssl at test time), SMTP (smtp-server), DNS and UDP (node:dgram), MISC scripts and
// FILE_CHECK files in a temp dir, PING to 127.0.0.1 and ::1 (root), and the Prober contract.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as dgram from 'node:dgram';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { SMTPServer } from 'smtp-server';
import { decodeMessage, encodeMessage, type DnsMessage } from '../../adapters/checkers/dns-codec.js';
import { createProber } from '../../adapters/checkers/index.js';
import type { Prober, ProbeTarget } from '../../adapters/checkers/types.js';
import type { Checker, FileChecker, HttpChecker, UdpChecker, UrlSpec } from '../../adapters/config/model.js';
import { runProberContract } from '../contract/prober.contract.js';

const loc = { file: 'checkers.test.ts', line: 1, col: 1 };
const url = (path: string, o: Partial<UrlSpec> = {}): UrlSpec => ({ loc, path, statusCodes: [], regexNoMatch: false, ...o });
const v4 = (port?: number): ProbeTarget => ({ address: '127.0.0.1', family: 4, ...(port ? { port } : {}) });
const md5 = (b: Buffer | string) => createHash('md5').update(b).digest('hex');
const BOUND = { timeout: 15_000 };
const isRoot = process.getuid?.() === 0;

const listen = (server: net.Server, host = '127.0.0.1') =>
  new Promise<number>((resolve) => server.listen(0, host, () => resolve((server.address() as net.AddressInfo).port)));
const close = (server: net.Server) => new Promise<void>((resolve) => server.close(() => resolve()));

/** A server that sends `text` to each client and closes (reading what it gets, so that it sees the client's close). */
const sayAndClose = (text = '') => net.createServer((c) => c.on('error', () => {}).resume().end(text));

/** A port nothing listens on (listened on, then closed). */
async function refusedPort(): Promise<number> {
  const s = net.createServer();
  const port = await listen(s);
  await close(s);
  return port;
}

/**
 * A TCP port whose connect never completes: a listener (backlog 1) in a stopped child process, its
 * accept queue filled, so the kernel drops further SYNs.
 */
async function tarpit(): Promise<{ port: number; stop(): void }> {
  const child: ChildProcess = spawn(process.execPath, ['-e',
    "const s=require('net').createServer();s.listen({port:0,host:'127.0.0.1',backlog:1},()=>process.stdout.write(s.address().port+'\\n'))"],
  { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve) => child.stdout?.once('data', (d) => resolve(Number(String(d)))));
  child.kill('SIGSTOP');
  const fillers = [0, 1, 2].map(() => net.connect(port, '127.0.0.1').on('error', () => {}));
  await Promise.all(fillers.slice(0, 2).map((f) => new Promise((r) => f.once('connect', r))));
  return { port, stop: () => { for (const f of fillers) f.destroy(); child.kill('SIGKILL'); } };
}

/** 32 MiB in 64 KiB chunks, each byte a function of its offset: larger than any buffer we keep. */
const BIG_CHUNK = 64 * 1024;
const BIG_CHUNKS = 512;
const bigChunk = (i: number) => Buffer.alloc(BIG_CHUNK, i & 0xff);

const seen: { url: string; version: string; headers: http.IncomingHttpHeaders }[] = [];
/** the last request the servers saw for `path` */
const last = (path: string) => seen.filter((s) => s.url === path).at(-1);
function handler(req: http.IncomingMessage, res: http.ServerResponse): void {
  seen.push({ url: req.url ?? '', version: req.httpVersion, headers: req.headers });
  switch (req.url) {
    case '/ok': res.end('hello world\n'); return;
    case '/500': res.statusCode = 500; res.end('oops'); return;
    case '/503': res.statusCode = 503; res.end('busy'); return;
    case '/host': res.end(req.headers.host); return;
    case '/slow': return; // never answers
    case '/big': {
      res.setHeader('Content-Length', BIG_CHUNK * BIG_CHUNKS);
      let i = 0;
      const more = () => { while (i < BIG_CHUNKS) if (!res.write(bigChunk(i++))) { res.once('drain', more); return; } res.end(); };
      more();
      return;
    }
    default: res.statusCode = 404; res.end('not found');
  }
}

describe('checkers against loopback servers', () => {
  let prober: Prober;
  let tmp: string;
  let httpPort: number;
  let httpServer: http.Server;
  let pit: { port: number; stop(): void };

  before(async () => {
    prober = createProber();
    tmp = mkdtempSync(join(tmpdir(), 'vigil-checkers-'));
    httpServer = http.createServer(handler);
    httpPort = await listen(httpServer);
    pit = await tarpit();
  });
  after(async () => {
    await prober.close();
    httpServer.closeAllConnections();
    await close(httpServer);
    pit.stop();
    rmSync(tmp, { recursive: true, force: true });
  });

  describe('HTTP_GET', () => {
    const get = (urls: UrlSpec[], o: Partial<HttpChecker> = {}, timeoutMs = 2000) =>
      prober.probe({ type: 'HTTP_GET', loc, urls, ...o }, v4(httpPort), { timeoutMs });

    test('200 is a success; the request is keepalived\'s (HTTP/1.0, KeepAliveClient, Host ip:port)', BOUND, async () => {
      const r = await get([url('/ok')]);
      assert.equal(r.ok, true, r.detail);
      const req = last('/ok');
      assert.equal(req?.version, '1.0');
      assert.equal(req?.headers['user-agent'], 'KeepAliveClient');
      assert.equal(req?.headers.host, `127.0.0.1:${httpPort}`);
      assert.equal(req?.headers.connection, undefined);
    });

    test('http_protocol 1.1 sends HTTP/1.1 with Connection: close', BOUND, async () => {
      const r = await get([url('/ok')], { httpProtocol: '1.1' });
      assert.equal(r.ok, true, r.detail);
      const req = last('/ok');
      assert.deepEqual([req?.version, req?.headers.connection], ['1.1', 'close']);
    });

    test('a status outside status_code (default 200-299) fails, a range may admit it', BOUND, async () => {
      const bad = await get([url('/500')]);
      assert.deepEqual([bad.ok, bad.detail], [false, '/500: status 500 not in 200-299']);
      const ranged = await get([url('/503', { statusCodes: [{ from: 200, to: 200 }, { from: 500, to: 599 }] })]);
      assert.equal(ranged.ok, true, ranged.detail);
      const notFound = await get([url('/404', { statusCodes: [{ from: 500, to: 599 }] })]);
      assert.equal(notFound.detail, '/404: status 404 not in 500-599');
    });

    test('digest: the MD5 of the body must match', BOUND, async () => {
      const good = await get([url('/ok', { digest: md5('hello world\n') })]);
      assert.equal(good.ok, true, good.detail);
      const bad = await get([url('/ok', { digest: md5('something else') })]);
      assert.equal(bad.ok, false);
      assert.match(bad.detail, /^\/ok: digest mismatch: 6f5902ac237024bdd0c176cb93063dc4, expected /);
    });

    test('every url must pass, the first failure is reported', BOUND, async () => {
      const r = await get([url('/ok'), url('/500'), url('/ok')]);
      assert.equal(r.detail, '/500: status 500 not in 200-299');
      assert.equal((await get([url('/ok'), url('/503', { statusCodes: [{ from: 503, to: 503 }] })])).ok, true);
    });

    test('virtualhost: the url\'s, then the checker\'s, then the target\'s', BOUND, async () => {
      await get([url('/host', { virtualhost: 'url.example.test' })], { virtualhost: 'checker.example.test' });
      assert.equal(last('/host')?.headers.host, 'url.example.test');
      await get([url('/host')], { virtualhost: 'checker.example.test' });
      assert.equal(last('/host')?.headers.host, 'checker.example.test');
      await prober.probe({ type: 'HTTP_GET', loc, urls: [url('/host')] }, { ...v4(httpPort), virtualhost: 'rs.example.test' }, { timeoutMs: 2000 });
      assert.equal(last('/host')?.headers.host, 'rs.example.test');
    });

    test('regex and regex_no_match on the body', BOUND, async () => {
      assert.equal((await get([url('/ok', { regex: 'hel+o W', regexOptions: ['caseless'] })])).ok, true);
      assert.equal((await get([url('/ok', { regex: 'hel+o W' })])).detail, '/ok: regex /hel+o W/ did not match');
      assert.equal((await get([url('/ok', { regex: 'error', regexNoMatch: true })])).ok, true);
      assert.equal((await get([url('/ok', { regex: 'world', regexNoMatch: true })])).ok, false);
    });

    test('a server that never answers fails at the timeout', BOUND, async () => {
      const r = await get([url('/slow')], {}, 200);
      assert.deepEqual([r.ok, r.detail], [false, '/slow: timeout after 200 ms waiting for the response']);
    });

    test('a refused connection fails', BOUND, async () => {
      const r = await prober.probe({ type: 'HTTP_GET', loc, urls: [url('/ok')] }, v4(await refusedPort()), { timeoutMs: 2000 });
      assert.deepEqual([r.ok, r.detail], [false, '/ok: connect ECONNREFUSED']);
    });

    test('a 32 MiB body is hashed as it streams', BOUND, async () => {
      const h = createHash('md5');
      for (let i = 0; i < BIG_CHUNKS; i++) h.update(bigChunk(i));
      const want = h.digest('hex');
      const r = await get([url('/big', { digest: want })], {}, 5000);
      assert.equal(r.ok, true, r.detail);
      assert.equal((await get([url('/big', { digest: md5('x') })], {}, 5000)).ok, false);
    });

    test('a response that stops before the end of its header fails', BOUND, async () => {
      const s = sayAndClose('HTTP/1.0 200 OK\r\nX: y\r\n');
      const port = await listen(s);
      const r = await prober.probe({ type: 'HTTP_GET', loc, urls: [url('/')] }, v4(port), { timeoutMs: 2000 });
      await close(s);
      assert.deepEqual([r.ok, r.detail], [false, '/: connection closed before the end of the response header']);
    });
  });

  describe('SSL_GET', () => {
    const hasOpenssl = spawnSync('openssl', ['version']).status === 0;
    const skip = hasOpenssl ? false : 'openssl is not installed (a certificate is made with it at test time)';
    let server: https.Server | undefined;
    let port = 0;
    const names: (string | false)[] = [];

    before(async () => {
      if (skip) return;
      const key = join(tmp, 'key.pem');
      const cert = join(tmp, 'cert.pem');
      const r = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
        '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=vigil-test'], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      server = https.createServer({ key: readFileSync(key), cert: readFileSync(cert) }, handler);
      server.on('secureConnection', (s) => names.push((s as unknown as { servername: string | false }).servername));
      port = await listen(server);
    });
    after(async () => {
      if (!server) return;
      server.closeAllConnections();
      await close(server);
    });

    test('a self-signed server passes (keepalived verifies no certificate)', { ...BOUND, skip }, async () => {
      const r = await prober.probe({ type: 'SSL_GET', loc, urls: [url('/ok', { digest: md5('hello world\n') })] }, v4(port), { timeoutMs: 2000 });
      assert.equal(r.ok, true, r.detail);
      assert.equal(names.at(-1), false); // no SNI unless enable_sni
    });

    test('enable_sni sends the virtualhost (or sni_name) as SNI', { ...BOUND, skip }, async () => {
      await prober.probe({ type: 'SSL_GET', loc, urls: [url('/ok')], enableSni: true, virtualhost: 'www.example.test' }, v4(port), { timeoutMs: 2000 });
      assert.equal(names.at(-1), 'www.example.test');
      await prober.probe({ type: 'SSL_GET', loc, urls: [url('/ok')], enableSni: true, sniName: 'sni.example.test', virtualhost: 'www.example.test', tlsCompliant: true }, v4(port), { timeoutMs: 2000 });
      assert.equal(names.at(-1), 'sni.example.test');
    });

    test('a plain-HTTP server on the port is a TLS failure', { ...BOUND, skip }, async () => {
      const r = await prober.probe({ type: 'SSL_GET', loc, urls: [url('/ok')] }, v4(httpPort), { timeoutMs: 2000 });
      assert.equal(r.ok, false);
      assert.match(r.detail, /^\/ok: TLS: /);
    });

    test('wrong status over TLS fails like HTTP', { ...BOUND, skip }, async () => {
      const r = await prober.probe({ type: 'SSL_GET', loc, urls: [url('/500')] }, v4(port), { timeoutMs: 2000 });
      assert.equal(r.detail, '/500: status 500 not in 200-299');
    });
  });

  describe('SMTP_CHECK', () => {
    let smtp: SMTPServer;
    let port = 0;
    const helos: string[] = [];
    before(async () => {
      smtp = new SMTPServer({ disabledCommands: ['AUTH', 'STARTTLS'], logger: false, onConnect: (_s, cb) => cb() });
      smtp.on('error', () => {});
      port = await listen(smtp.server);
      // what the client sent, read beside smtp-server's own reader
      smtp.server.on('connection', (c: net.Socket) => c.on('data', (d) => { const m = /^HELO (\S+)/m.exec(String(d)); if (m) helos.push(m[1] as string); }));
    });
    after(() => new Promise<void>((r) => smtp.close(() => r())));

    test('banner 220, HELO 250, QUIT: success, with the helo_name sent', BOUND, async () => {
      const r = await prober.probe({ type: 'SMTP_CHECK', loc, heloName: 'checker.example.test' }, v4(port), { timeoutMs: 2000 });
      assert.equal(r.ok, true, r.detail);
      assert.deepEqual(helos, ['checker.example.test']);
    });

    test('a banner other than 220 fails', BOUND, async () => {
      const s = sayAndClose('554 no service here\r\n');
      const p = await listen(s);
      const r = await prober.probe({ type: 'SMTP_CHECK', loc, heloName: 'x' }, v4(p), { timeoutMs: 2000 });
      await close(s);
      assert.deepEqual([r.ok, r.detail], [false, "expected 220 in the banner, got '554 no service here'"]);
    });

    test('a multi-line banner is read to its last line', BOUND, async () => {
      const s = net.createServer((c) => {
        c.on('error', () => {});
        c.write('220-first\r\n220 last\r\n');
        c.on('data', (d) => c.write(String(d).startsWith('HELO') ? '250 hi\r\n' : '221 bye\r\n'));
      });
      const p = await listen(s);
      const r = await prober.probe({ type: 'SMTP_CHECK', loc, heloName: 'x' }, v4(p), { timeoutMs: 2000 });
      await close(s);
      assert.equal(r.ok, true, r.detail);
    });
  });

  describe('DNS_CHECK', () => {
    let server: dgram.Socket;
    let port = 0;
    const questions: string[] = [];
    before(async () => {
      server = dgram.createSocket('udp4');
      server.on('message', (msg, rinfo) => {
        const q = decodeMessage(msg);
        if (!q.ok) return;
        const question = q.value.questions[0];
        if (!question) return;
        questions.push(`${question.name} ${question.type} rd=${q.value.header.rd}`);
        if (question.name === 'silent.test') return;
        const found = question.name === 'ok.test' || question.name === 'empty.test';
        const answers = question.name === 'ok.test'
          ? [{ name: question.name, type: 1, class: 1, ttl: 60, data: Uint8Array.of(10, 0, 0, 1) }] : [];
        const reply: DnsMessage = {
          header: { ...q.value.header, qr: true, ra: true, rcode: found ? 0 : 3, ancount: answers.length, nscount: 0, arcount: 0 },
          questions: q.value.questions, answers, authorities: [], additionals: [],
        };
        // first a stray reply with another id, which must be ignored
        const stray = encodeMessage({ ...reply, header: { ...reply.header, id: (reply.header.id + 1) & 0xffff, rcode: 2 } });
        server.send(stray, rinfo.port, rinfo.address);
        server.send(encodeMessage(reply), rinfo.port, rinfo.address);
      });
      port = await new Promise<number>((r) => server.bind(0, '127.0.0.1', () => r(server.address().port)));
    });
    after(() => new Promise<void>((r) => server.close(() => r())));
    const dns = (name: string, queryType = 'A', o: Partial<Checker> = {}): Checker => ({ type: 'DNS_CHECK', loc, queryType, name, ...o }) as Checker;

    test('NOERROR with an answer: success (the stray id before it is ignored)', BOUND, async () => {
      const r = await prober.probe(dns('ok.test'), v4(port), { timeoutMs: 2000 });
      assert.deepEqual([r.ok, r.detail], [true, 'NOERROR, 1 answer']);
      assert.equal(questions.at(-1), 'ok.test 1 rd=true');
    });

    test('NOERROR without an answer: success, as keepalived', BOUND, async () => {
      const r = await prober.probe(dns('empty.test', 'SOA'), v4(port), { timeoutMs: 2000 });
      assert.deepEqual([r.ok, r.detail], [true, 'NOERROR, 0 answers']);
      assert.equal(questions.at(-1), 'empty.test 6 rd=true');
    });

    test('NXDOMAIN fails', BOUND, async () => {
      const r = await prober.probe(dns('missing.test'), v4(port), { timeoutMs: 2000 });
      assert.deepEqual([r.ok, r.detail], [false, 'rcode NXDOMAIN']);
    });

    test('no reply: fails at the timeout', BOUND, async () => {
      const r = await prober.probe(dns('silent.test'), v4(port), { timeoutMs: 200 });
      assert.deepEqual([r.ok, r.detail], [false, 'timeout after 200 ms waiting for the reply']);
    });

    test('concurrent queries on the shared socket each get their own reply', BOUND, async () => {
      const names = Array.from({ length: 30 }, (_, i) => ['ok.test', 'missing.test', 'empty.test'][i % 3] as string);
      const rs = await Promise.all(names.map((n) => prober.probe(dns(n), v4(port), { timeoutMs: 2000 })));
      assert.deepEqual(rs.map((r) => r.ok), names.map((n) => n !== 'missing.test'));
    });

    test('bindto: a socket of its own, which sees the ICMP error of a closed port', BOUND, async () => {
      const ok = await prober.probe(dns('ok.test', 'A', { bindTo: '127.0.0.1' }), v4(port), { timeoutMs: 2000 });
      assert.equal(ok.ok, true, ok.detail);
      const closed = await prober.probe(dns('ok.test', 'A', { bindTo: '127.0.0.1' }), v4(await refusedPort()), { timeoutMs: 2000 });
      assert.deepEqual([closed.ok, closed.detail], [false, 'ICMP port unreachable (ECONNREFUSED)']);
    });
  });

  describe('UDP_CHECK', () => {
    let echo: dgram.Socket;
    let silent: dgram.Socket;
    let echoPort = 0;
    let silentPort = 0;
    before(async () => {
      echo = dgram.createSocket('udp4').on('message', (m, r) => echo.send(m, r.port, r.address));
      silent = dgram.createSocket('udp4');
      echoPort = await new Promise<number>((r) => echo.bind(0, '127.0.0.1', () => r(echo.address().port)));
      silentPort = await new Promise<number>((r) => silent.bind(0, '127.0.0.1', () => r(silent.address().port)));
    });
    after(async () => {
      await new Promise<void>((r) => echo.close(() => r()));
      await new Promise<void>((r) => silent.close(() => r()));
    });
    const udp = (o: Partial<UdpChecker> = {}): Checker =>
      ({ type: 'UDP_CHECK', loc, minReplyLength: 0, maxReplyLength: 255, ...o });

    test('echo: require_reply with wildcard nibbles matches the reply', BOUND, async () => {
      const r = await prober.probe(udp({ payload: 'cafe01', requireReply: 'caXe' }), v4(echoPort), { timeoutMs: 2000 });
      assert.deepEqual([r.ok, r.detail], [true, 'reply of 3 bytes']);
    });

    test('a reply that differs from require_reply, or is too long, fails', BOUND, async () => {
      const r = await prober.probe(udp({ payload: 'cafe01', requireReply: 'beef' }), v4(echoPort), { timeoutMs: 2000 });
      assert.deepEqual([r.ok, r.detail], [false, 'reply differs from require_reply at byte 0']);
      const long = await prober.probe(udp({ payload: 'cafe01', requireReply: 'ca', maxReplyLength: 2 }), v4(echoPort), { timeoutMs: 2000 });
      assert.deepEqual([long.ok, long.detail], [false, 'reply of 3 bytes, not within 0..2']);
    });

    test('a closed port answers ICMP port unreachable: failure', BOUND, async () => {
      const r = await prober.probe(udp(), v4(await refusedPort()), { timeoutMs: 2000 });
      assert.deepEqual([r.ok, r.detail], [false, 'ICMP port unreachable (ECONNREFUSED)']);
    });

    test('silence is success without require_reply, failure with it', BOUND, async () => {
      const quiet = await prober.probe(udp(), v4(silentPort), { timeoutMs: 150 });
      assert.deepEqual([quiet.ok, quiet.detail], [true, 'no reply and no ICMP error within 150 ms']);
      const required = await prober.probe(udp({ requireReply: '' }), v4(silentPort), { timeoutMs: 150 });
      assert.deepEqual([required.ok, required.detail], [false, 'timeout after 150 ms waiting for a reply']);
    });
  });

  describe('PING_CHECK', () => {
    const skip = isRoot ? false : 'needs root (a raw ICMP socket)';
    test('127.0.0.1 and ::1 answer', { ...BOUND, skip }, async () => {
      const ping: Checker = { type: 'PING_CHECK', loc };
      const rs = await Promise.all([
        prober.probe(ping, v4(), { timeoutMs: 2000 }),
        prober.probe(ping, { address: '::1', family: 6 }, { timeoutMs: 2000 }),
        prober.probe(ping, v4(), { timeoutMs: 2000 }),
      ]);
      assert.deepEqual(rs.map((r) => [r.ok, r.detail]), [[true, 'echo reply'], [true, 'echo reply'], [true, 'echo reply']]);
    });
  });

  describe('MISC_CHECK', () => {
    const script = (name: string, body: string) => {
      const p = join(tmp, name);
      writeFileSync(p, `#!/bin/sh\n${body}\n`);
      chmodSync(p, 0o755);
      return p;
    };
    const misc = (argv: string[], dynamic = false): Checker =>
      ({ type: 'MISC_CHECK', loc, dynamic, script: { loc, command: argv.join(' '), argv } });

    test('exit 0 up, exit 1 down', BOUND, async () => {
      assert.deepEqual(await prober.probe(misc([script('ok.sh', 'exit 0')]), v4(), { timeoutMs: 5000 }).then((r) => [r.ok, r.detail, r.weight]), [true, 'exit 0', undefined]);
      assert.deepEqual(await prober.probe(misc([script('down.sh', 'exit 1')]), v4(), { timeoutMs: 5000 }).then((r) => [r.ok, r.detail]), [false, 'exit 1']);
    });

    test('misc_dynamic: exit 2..255 is up with weight exit − 2, exit 0 resets it; without it, exit 5 is down', BOUND, async () => {
      const five = script('five.sh', 'exit "$1"');
      const r = await prober.probe(misc([five, '5'], true), v4(), { timeoutMs: 5000 });
      assert.deepEqual([r.ok, r.weight], [true, { mode: 'set', value: 3 }]);
      const zero = await prober.probe(misc([five, '0'], true), v4(), { timeoutMs: 5000 });
      assert.deepEqual([zero.ok, zero.weight], [true, { mode: 'add', value: 0 }]);
      const one = await prober.probe(misc([five, '1'], true), v4(), { timeoutMs: 5000 });
      assert.deepEqual([one.ok, one.weight], [false, undefined]);
      const plain = await prober.probe(misc([five, '5']), v4(), { timeoutMs: 5000 });
      assert.deepEqual([plain.ok, plain.detail], [false, 'exit 5']);
    });

    test('a script that outlives misc_timeout is killed and fails', BOUND, async () => {
      const r = await prober.probe(misc([script('slow.sh', 'sleep 30')]), v4(), { timeoutMs: 200 });
      assert.deepEqual([r.ok, r.detail], [false, 'timed out after 200 ms']);
    });

    test('a missing script fails with why', BOUND, async () => {
      const r = await prober.probe(misc([join(tmp, 'nope.sh')]), v4(), { timeoutMs: 5000 });
      assert.equal(r.ok, false);
      assert.match(r.detail, /^cannot run .*nope\.sh: /);
    });
  });

  describe('FILE_CHECK', () => {
    test('weight and reverse from the checker, else from the track_file', BOUND, async () => {
      const file = join(tmp, 'weight');
      const p = createProber({ trackFiles: [{ loc, name: 'tf', file, weight: 0, reverse: false }] });
      const check = (o: Partial<FileChecker> = {}): Checker =>
        ({ type: 'FILE_CHECK', loc, trackFile: 'tf', dynamic: false, reverse: false, ...o });
      const run = async (value: string, c: Checker) => { writeFileSync(file, value); const r = await p.probe(c, v4(), { timeoutMs: 1000 }); return [r.ok, r.weight?.value]; };
      assert.deepEqual(await run('0\n', check()), [true, 0]); // weight 0: up while 0
      assert.deepEqual(await run('3\n', check()), [false, undefined]);
      assert.deepEqual(await run('3\n', check({ weight: 0, reverse: true })), [true, 0]);
      assert.deepEqual(await run('3\n', check({ weight: 10 })), [true, 30]);
      assert.deepEqual(await run('3\n', check({ weight: 10, reverse: true })), [true, -30]);
      assert.deepEqual(await run('-2147483648\n', check({ weight: 1 })), [false, undefined]); // keepalived's FAULT value
      assert.deepEqual(await run('9999999999\n', check({ weight: 1 })), [false, undefined]); // out of range: previous value kept
      const missing = await p.probe(check({ trackFile: 'nope' }), v4(), { timeoutMs: 1000 });
      assert.deepEqual([missing.ok, missing.detail], [false, "track_file 'nope' is not defined"]);
      await p.close();
    });
  });

  describe('IPv6', () => {
    test('HTTP to ::1 (Host [::1]:port) and DNS over the shared IPv6 socket', BOUND, async () => {
      const h6 = http.createServer(handler);
      const p6 = await listen(h6, '::1');
      const dns6 = dgram.createSocket({ type: 'udp6', ipv6Only: true });
      dns6.on('message', (msg, rinfo) => {
        const q = decodeMessage(msg);
        if (!q.ok) return;
        dns6.send(encodeMessage({ ...q.value, header: { ...q.value.header, qr: true } }), rinfo.port, rinfo.address);
      });
      const d6 = await new Promise<number>((r) => dns6.bind(0, '::1', () => r(dns6.address().port)));
      try {
        const web = await prober.probe({ type: 'HTTP_GET', loc, urls: [url('/host', { digest: md5(`[::1]:${p6}`) })] }, { address: '::1', port: p6, family: 6 }, { timeoutMs: 2000 });
        assert.equal(web.ok, true, web.detail);
        // connect_ip written long-hand still matches the reply's source, ::1
        const dns = await prober.probe({ type: 'DNS_CHECK', loc, queryType: 'AAAA', name: 'v6.test', connectIp: '0:0:0:0:0:0:0:1' } as Checker, { address: '::1', port: d6, family: 6 }, { timeoutMs: 2000 });
        assert.deepEqual([dns.ok, dns.detail], [true, 'NOERROR, 0 answers']);
      } finally {
        h6.closeAllConnections();
        await close(h6);
        await new Promise<void>((r) => dns6.close(() => r()));
      }
    });
  });

  describe('sockets and timers are released', () => {
    test('no TCP socket, UDP socket or timer is left after probes settle, however they end', BOUND, async () => {
      const count = () => {
        const m = new Map<string, number>();
        for (const r of process.getActiveResourcesInfo()) m.set(r, (m.get(r) ?? 0) + 1);
        return m;
      };
      const settle = async () => { for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r)); };
      await settle();
      const before = count();
      const refused = await refusedPort();
      const ac = new AbortController();
      const aborted = prober.probe({ type: 'HTTP_GET', loc, urls: [url('/slow')] }, v4(httpPort), { timeoutMs: 60_000, signal: ac.signal });
      const udp: Checker = { type: 'UDP_CHECK', loc, minReplyLength: 0, maxReplyLength: 255, requireReply: '' };
      const all = Promise.all([
        prober.probe({ type: 'TCP_CHECK', loc }, v4(pit.port), { timeoutMs: 100 }),
        prober.probe({ type: 'TCP_CHECK', loc }, v4(refused), { timeoutMs: 1000 }),
        prober.probe({ type: 'HTTP_GET', loc, urls: [url('/ok')] }, v4(httpPort), { timeoutMs: 1000 }),
        prober.probe({ type: 'HTTP_GET', loc, urls: [url('/slow')] }, v4(httpPort), { timeoutMs: 100 }),
        prober.probe(udp, v4(refused), { timeoutMs: 1000 }),
        prober.probe({ type: 'DNS_CHECK', loc, queryType: 'A', name: 'x.test' } as Checker, v4(refused), { timeoutMs: 100 }),
      ]);
      setTimeout(() => ac.abort(), 50);
      await aborted;
      await all;
      await settle();
      const now = count();
      for (const kind of ['TCPSocketWrap', 'UDPWrap', 'Timeout']) {
        assert.ok((now.get(kind) ?? 0) <= (before.get(kind) ?? 0), `${kind}: ${now.get(kind) ?? 0} now, ${before.get(kind) ?? 0} before`);
      }
    });
  });
});

describe('Prober contract on loopback', () => {
  let pit: { port: number; stop(): void } | undefined;
  let server: net.Server | undefined;
  runProberContract('real prober, loopback', async () => {
    server = sayAndClose();
    const port = await listen(server);
    pit = await tarpit();
    return {
      prober: createProber(),
      accepting: v4(port),
      refusing: v4(await refusedPort()),
      silent: v4(pit.port),
      teardown: async () => { pit?.stop(); if (server) await close(server); },
    };
  });
});
