// The built CLI as a child process: exit codes, output shapes, --help. (npm test builds first.)
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, test } from 'node:test';

const root = path.resolve(import.meta.dirname, '../..');
const bin = path.join(root, 'bin/vigil.js');
const vigil = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { cwd: root, encoding: 'utf8' });
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-cli-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('vigil config-test', () => {
  test('exit 0 on a valid config, with a summary line', () => {
    const r = vigil('config-test', '--no-host', '-f', 'infra/examples/lvs-nat-http.conf');
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /lvs-nat-http\.conf: OK \(1 vrrp_instance, 2 virtual_servers, 5 real_servers; 0 errors, 0 warnings; exit 0\)/);
  });

  test('exit 4 with file:line:col, the line, a caret and a hint', () => {
    const r = vigil('config-test', '--no-host', '-f', 'infra/examples/broken/typo-keyword.conf');
    assert.equal(r.status, 4);
    assert.match(r.stderr, /^infra\/examples\/broken\/typo-keyword\.conf:6:5: error: unknown keyword 'virtual_ipadress' in vrrp_instance/m);
    assert.match(r.stderr, /^ {5}6 \| {5}virtual_ipadress \{\n {7}\| {5}\^$/m);
    assert.match(r.stderr, /hint: did you mean 'virtual_ipaddress'\?/);
  });

  test('exit 3 when the file cannot be read', () => {
    const r = vigil('config-test', '-f', path.join(tmp, 'nope.conf'));
    assert.equal(r.status, 3);
    assert.match(r.stderr, /cannot read configuration file/);
  });

  test('exit 5 for a script writable by a non-root user (real files, real stat)', () => {
    const dir = path.join(tmp, 'scripts');
    fs.mkdirSync(dir);
    const script = path.join(dir, 'chk.sh');
    fs.writeFileSync(script, '#!/bin/sh\nexit 0\n');
    fs.chmodSync(script, 0o777);
    const conf = path.join(tmp, 'k.conf');
    fs.writeFileSync(conf, `vrrp_script chk {\n script "${script}"\n}\nvrrp_instance VI_1 {\n interface lo\n virtual_router_id 1\n virtual_ipaddress {\n 10.0.0.1\n }\n track_script {\n chk\n }\n}\n`);
    const r = vigil('config-test', '-f', conf);
    assert.equal(r.status, 5, r.stderr + r.stdout);
    assert.match(r.stderr, /error\[script-security\]: vrrp_script 'chk': '.*chk\.sh' is writable by a non-root user/);
    fs.chmodSync(script, 0o755);
    fs.chmodSync(dir, 0o755);
    fs.chmodSync(tmp, 0o700);
    const ok = vigil('config-test', '-f', conf);
    // as root every directory above is root-owned; as another user the file itself is not root's
    if (process.getuid?.() === 0) assert.equal(ok.status, 0, ok.stderr);
    else assert.equal(ok.status, 5, ok.stderr);
  });

  test('--json gives the same diagnostics for tools', () => {
    const r = vigil('config-test', '--no-host', '--json', '-f', 'infra/examples/broken/duplicate-vip.conf');
    assert.equal(r.status, 4);
    const j = JSON.parse(r.stdout) as { exitCode: number; ok: boolean; errors: number; diagnostics: { code: string; line: number; col: number; related?: { line: number }[] }[] };
    assert.deepEqual([j.exitCode, j.ok, j.errors], [4, false, 1]);
    assert.deepEqual(j.diagnostics.map((d) => [d.code, d.line, d.col, d.related?.[0]?.line]), [['duplicate-vip', 18, 9, 8]]);
  });

  test('--config-id selects @id lines', () => {
    const a = JSON.parse(vigil('config-test', '--no-host', '--json', '--dump', '-i', 'node1', '-f', 'infra/examples/language-features.conf').stdout);
    const b = JSON.parse(vigil('config-test', '--no-host', '--json', '--dump', '-i', 'node2', '-f', 'infra/examples/language-features.conf').stdout);
    assert.notDeepEqual(a.config.instances.map((i: { priority: number }) => i.priority), b.config.instances.map((i: { priority: number }) => i.priority));
  });

  test('bad options: exit 2 with a pointer to --help', () => {
    const r = vigil('config-test', '--bogus');
    assert.equal(r.status, 2);
    assert.match(r.stderr, /--help/);
  });
});

describe('vigil', () => {
  test('every contract subcommand has --help', () => {
    for (const cmd of ['run', 'config-test', 'status', 'reload', 'events', 'history', 'replay', 'chart', 'genhash']) {
      const r = vigil(cmd, '--help');
      assert.equal(r.status, 0, cmd);
      assert.match(r.stdout, new RegExp(`^Usage: vigil ${cmd}`), cmd);
    }
  });
  test('no command: usage and exit 2; unknown command: exit 2', () => {
    assert.equal(vigil().status, 2);
    assert.equal(vigil('frobnicate').status, 2);
  });
  test('package.json maps the vigil binary to the launcher', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
    assert.equal(pkg.bin.vigil, 'bin/vigil.js');
  });
});
