// The `SSL { }` block (keepalived's SSL_GET client context) against a real HTTPS server that
// demands a client certificate signed by its CA: without the block the check fails in the
// handshake, with it the check passes and the server sees our certificate. The same loading in
// config-test: a wrong password, a key that is not the certificate's, a missing file are errors
// naming the keyword's line (keepalived's checker process terminates on them at start).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as https from 'node:https';
import type * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { after, before, describe, test } from 'node:test';
import { createProber, proberOptionsFor } from '../../adapters/checkers/index.js';
import { loadSslContext } from '../../adapters/checkers/ssl.js';
import { nodeHost } from '../../adapters/config/host.js';
import { ExitCode, loadConfig } from '../../adapters/config/index.js';
import type { HttpChecker } from '../../adapters/config/model.js';

const hasOpenssl = spawnSync('openssl', ['version']).status === 0;
const skip = hasOpenssl ? false : 'openssl is not installed (the certificates are made with it at test time)';
if (skip) console.log(`# skipping ssl-client: ${skip}`);

const loc = { file: 'ssl-client.test.ts', line: 1, col: 1 };
const checker: HttpChecker = { type: 'SSL_GET', loc, urls: [{ loc, path: '/', statusCodes: [], regexNoMatch: false }] };

describe('SSL { }: SSL_GET with a client certificate', { skip }, () => {
  let dir: string;
  let server: https.Server;
  let port = 0;
  const peers: string[] = [];
  const f = (name: string) => join(dir, name);
  const openssl = (...args: string[]) => {
    const r = spawnSync('openssl', args, { encoding: 'utf8' });
    assert.equal(r.status, 0, `openssl ${args.join(' ')}: ${r.stderr}`);
  };
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1'];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'vigil-ssl-'));
    // a CA, a client certificate it signs (key encrypted with "s3cret"), a server certificate, and a stranger's key
    openssl('req', '-x509', ...ec, '-nodes', '-keyout', f('ca.key'), '-out', f('ca.pem'), '-days', '1', '-subj', '/CN=vigil-test-ca');
    openssl('req', ...ec, '-passout', 'pass:s3cret', '-keyout', f('client.key'), '-out', f('client.csr'), '-subj', '/CN=vigil-checker');
    openssl('x509', '-req', '-in', f('client.csr'), '-CA', f('ca.pem'), '-CAkey', f('ca.key'), '-CAcreateserial', '-out', f('client.pem'), '-days', '1');
    openssl('req', '-x509', ...ec, '-nodes', '-keyout', f('server.key'), '-out', f('server.pem'), '-days', '1', '-subj', '/CN=real-server');
    openssl('genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-out', f('other.key'));
    writeFileSync(f('garbage.pem'), 'not a certificate\n');
    server = https.createServer({ key: readFileSync(f('server.key')), cert: readFileSync(f('server.pem')), ca: readFileSync(f('ca.pem')), requestCert: true, rejectUnauthorized: true }, (req, res) => {
      peers.push(String((req.socket as TLSSocket).getPeerCertificate().subject?.CN ?? ''));
      res.end('ok');
    });
    server.on('tlsClientError', () => {});
    port = await new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port)));
  });
  after(async () => {
    server?.closeAllConnections();
    await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const target = () => ({ address: '127.0.0.1', family: 4 as const, port });
  const conf = (ssl: string) => `SSL {\n${ssl}}\nvirtual_server 127.0.0.1 ${port} {\n  protocol TCP\n  real_server 127.0.0.1 ${port} {\n    SSL_GET {\n      url {\n        path /\n      }\n    }\n  }\n}\n`;
  const good = () => `  ca ${f('ca.pem')}\n  certificate ${f('client.pem')}\n  key ${f('client.key')}\n  password s3cret\n`;
  const load = (text: string) => {
    writeFileSync(f('keepalived.conf'), text);
    return loadConfig(f('keepalived.conf'), { host: nodeHost });
  };

  test('without the block the server refuses the handshake: the check fails', async () => {
    const prober = createProber({ native: false });
    const r = await prober.probe(checker, target(), { timeoutMs: 2000 });
    await prober.close();
    assert.equal(r.ok, false);
    assert.match(r.detail, /^\/: /);
  });

  test('with the block (an encrypted key and its password) the check passes, presenting our certificate', async () => {
    const cfg = load(conf(good()));
    assert.equal(cfg.exitCode, ExitCode.ok, JSON.stringify(cfg.diagnostics));
    const prober = createProber({ ...proberOptionsFor(cfg.config), native: false });
    const r = await prober.probe(checker, target(), { timeoutMs: 2000 });
    await prober.close();
    assert.equal(r.ok, true, r.detail);
    assert.equal(peers.at(-1), 'vigil-checker');
  });

  test('loadSslContext names the file at fault', () => {
    const cases: [Record<string, string>, string, RegExp][] = [
      [{ certificate: f('client.pem'), key: f('client.key'), password: 'wrong' }, 'key', /client\.key: cannot decrypt the key \(wrong password\?\)/],
      [{ certificate: f('client.pem'), key: f('client.key') }, 'key', /client\.key: /],
      [{ certificate: f('client.pem'), key: f('other.key') }, 'key', /other\.key: .*(mismatch|values)/i],
      [{ certificate: f('garbage.pem'), key: f('other.key') }, 'certificate', /garbage\.pem: /],
      [{ ca: f('garbage.pem') }, 'ca', /garbage\.pem: /],
      [{ ca: f('missing.pem') }, 'ca', /cannot read .*missing\.pem: ENOENT/],
    ];
    for (const [spec, keyword, message] of cases) {
      const r = loadSslContext(spec);
      assert.equal(r.ok, false, JSON.stringify(spec));
      if (r.ok) continue;
      assert.equal(r.keyword, keyword, JSON.stringify(spec));
      assert.match(r.message, message);
    }
    assert.equal(loadSslContext({ ca: f('ca.pem'), certificate: f('client.pem'), key: f('client.key'), password: 's3cret' }).ok, true);
  });

  test('config-test: a wrong password is an error at the key\'s line (exit 4); an unused SSL block only warns', () => {
    const cfg = load(conf(good().replace('password s3cret', 'password nope')));
    assert.equal(cfg.exitCode, ExitCode.errors);
    const d = cfg.diagnostics.find((x) => x.code === 'ssl-context');
    assert.equal(d?.severity, 'error');
    assert.equal(d?.loc.line, 4, 'the key keyword\'s line');
    assert.match(d?.message ?? '', /^SSL key: .*wrong password/);
    const unused = load(`SSL {\n  certificate ${f('client.pem')}\n  key ${f('other.key')}\n}\n`);
    assert.equal(unused.exitCode, ExitCode.ok);
    assert.equal(unused.diagnostics.find((x) => x.code === 'ssl-context')?.severity, 'warning');
    const half = load(conf(`  certificate ${f('client.pem')}\n`));
    assert.equal(half.exitCode, ExitCode.errors);
    assert.match(half.diagnostics.find((x) => x.code === 'ssl-context')?.message ?? '', /without its key/);
  });

  test('at run time a context that cannot be made fails every SSL_GET with the reason, and nothing throws', async () => {
    const prober = createProber({ ssl: { loc, locs: {}, certificate: f('client.pem'), key: f('client.key'), password: 'wrong' }, native: false });
    const r = await prober.probe(checker, target(), { timeoutMs: 2000 });
    await prober.close();
    assert.equal(r.ok, false);
    assert.match(r.detail, /^SSL key: .*wrong password/);
  });
});
