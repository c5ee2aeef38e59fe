// `vigil genhash` as a child process (the built CLI; npm test builds first) against HTTP(S)
// servers in this process: the digest it prints is the MD5 of the body, usage and exit codes are
// genhash's, and, where keepalived's own genhash is installed, both print the same digest.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import type { AddressInfo, Server } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';

const root = path.resolve(import.meta.dirname, '../..');
const bin = path.join(root, 'bin/vigil.js');

/** Run a command without blocking this process's event loop (the servers live here). */
function run(cmd: string, args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd: root });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}
const vigil = (...args: string[]) => run(process.execPath, [bin, 'genhash', ...args]);
const md5 = (b: Buffer | string) => createHash('md5').update(b).digest('hex');
const listen = (s: Server) => new Promise<number>((r) => s.listen(0, '127.0.0.1', () => r((s.address() as AddressInfo).port)));

const body = randomBytes(100_000);
const handler = (req: http.IncomingMessage, res: http.ServerResponse) => {
  if (req.url === '/chunked') { res.write('hello '); res.end('world'); return; }
  if (req.url === '/host') { res.end(req.headers.host); return; }
  res.setHeader('Content-Length', body.length);
  res.end(body);
};

describe('vigil genhash', () => {
  let server: http.Server;
  let port = 0;
  before(async () => {
    server = http.createServer(handler);
    port = await listen(server);
  });
  after(() => new Promise<void>((r) => server.close(() => r())));

  test('prints the MD5 of the body, as genhash does, and exits 0', async () => {
    const r = await vigil('-s', '127.0.0.1', '-p', String(port), '-u', '/');
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, `${md5(body)}\n`);
  });

  test('long options, and -V sets the Host header', async () => {
    const r = await vigil('--server', '127.0.0.1', `--port=${port}`, '--url', '/host', '--use-virtualhost', 'www.example.test');
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, `${md5('www.example.test')}\n`);
  });

  test('-v dumps the header and body, then the digest and the response time', async () => {
    const r = await vigil('-v', '-s', '127.0.0.1', '-p', String(port), '-u', '/host');
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^-{23}\[ {4}HTTP Header Buffer {4}\]-{23}\n0000  48 54 54 50 2f 31 2e 31 - /);
    assert.match(r.stdout, /\[ HTTP Header Ascii Buffer \]-+\nHTTP\/1\.1 200 OK\r\n/);
    assert.match(r.stdout, new RegExp(`\\[ HTML hash final resulting \\]-+\\n${md5(`127.0.0.1:${port}`)}\\n\\nGlobal response time for \\[/host\\] = \\d+ usecs\\n$`));
  });

  test('--help: the usage on stdout, exit 0', async () => {
    const r = await vigil('--help');
    assert.equal(r.status, 0);
    assert.match(r.stdout, /^Usage: vigil genhash /);
    for (const flag of ['--server', '--port', '--url', '--use-ssl', '--use-sni', '--use-virtualhost', '--protocol', '--timeout', '--verbose']) {
      assert.ok(r.stdout.includes(flag), flag);
    }
  });

  test('a bad flag, a missing -u, a name for -s: the usage on stderr, exit 1 (genhash\'s)', async () => {
    for (const args of [['--bogus'], ['-s', '127.0.0.1', '-p', String(port)], ['-s', 'localhost', '-p', '80', '-u', '/'], ['-s', '127.0.0.1', '-p', '0', '-u', '/'], ['-s', '127.0.0.1', '-p', '80', '-u', '/', '-P', '2']]) {
      const r = await vigil(...args);
      assert.equal(r.status, 1, args.join(' '));
      assert.equal(r.stdout, '');
      assert.match(r.stderr, /^vigil genhash: .*\nUsage: vigil genhash /, args.join(' '));
    }
  });

  test('a refused connection: the reason on stderr, exit 1', async () => {
    const s = http.createServer();
    const closed = await listen(s);
    await new Promise<void>((r) => s.close(() => r()));
    const r = await vigil('-s', '127.0.0.1', '-p', String(closed), '-u', '/');
    assert.equal(r.status, 1);
    assert.equal(r.stdout, '');
    assert.equal(r.stderr, 'vigil genhash: connect ECONNREFUSED\n');
  });

  const keepalivedGenhash = ['/usr/bin/genhash', '/usr/sbin/genhash'].find((p) => fs.existsSync(p));
  test('the same digest as keepalived\'s genhash, chunk framing included (HTTP/1.1)', { skip: keepalivedGenhash ? false : "keepalived's genhash is not installed" }, async () => {
    const args = ['-s', '127.0.0.1', '-p', String(port), '-u', '/chunked', '-P', '1.1'];
    const [ours, theirs] = await Promise.all([vigil(...args), run(keepalivedGenhash as string, args)]);
    assert.equal(ours.status, 0, ours.stderr);
    assert.equal(ours.stdout, theirs.stdout);
    assert.equal(ours.stdout, `${md5('6\r\nhello \r\n5\r\nworld\r\n0\r\n\r\n')}\n`);
  });

  test('-S: the same digest over TLS', { skip: spawnSync('openssl', ['version']).status === 0 ? false : 'openssl is not installed' }, async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-genhash-'));
    try {
      const key = path.join(dir, 'key.pem');
      const cert = path.join(dir, 'cert.pem');
      const g = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
        '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=vigil-test'], { encoding: 'utf8' });
      assert.equal(g.status, 0, g.stderr);
      const s = https.createServer({ key: fs.readFileSync(key), cert: fs.readFileSync(cert) }, handler);
      const tlsPort = await listen(s);
      const r = await vigil('-S', '-s', '127.0.0.1', '-p', String(tlsPort), '-u', '/');
      s.closeAllConnections();
      await new Promise<void>((res) => s.close(() => res()));
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stdout, `${md5(body)}\n`);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
