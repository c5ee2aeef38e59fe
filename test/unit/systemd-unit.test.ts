// infra/vigil.service: accepted by systemd-analyze verify without a single warning (it exits 0 even
// on unknown keys, so its stderr is what counts), and the choices the unit's comments justify.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, describe, test } from 'node:test';

const unitFile = resolve(import.meta.dirname, '../../infra/vigil.service');
const hasAnalyze = spawnSync('systemd-analyze', ['--version'], { encoding: 'utf8' }).status === 0;
const skip = hasAnalyze ? false : 'systemd-analyze is not installed (Debian package systemd)';
if (skip) console.log(`# skipping systemd-analyze verify: ${skip}`);

const dir = mkdtempSync(join(tmpdir(), 'vigil-unit-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function verify(text?: string) {
  const sub = mkdtempSync(join(dir, 'u-'));
  const file = join(sub, 'vigil.service'); // verify wants the unit's own name
  if (text === undefined) copyFileSync(unitFile, file);
  else writeFileSync(file, text);
  return spawnSync('systemd-analyze', ['verify', file], { encoding: 'utf8' });
}

/** The [Service] assignments (the last one wins, as in systemd). */
function service(text: string): Map<string, string> {
  const out = new Map<string, string>();
  let section = '';
  for (const line of text.split('\n')) {
    const s = /^\[(\w+)\]$/.exec(line.trim());
    if (s) section = s[1]!;
    const kv = /^(\w+)=(.*)$/.exec(line);
    if (kv && section === 'Service') out.set(kv[1]!, kv[2]!);
  }
  return out;
}

describe('infra/vigil.service', () => {
  const text = readFileSync(unitFile, 'utf8');
  const svc = service(text);

  test('systemd-analyze verify: no errors, no warnings', { skip }, () => {
    const r = verify();
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stderr.trim(), '', 'verify printed warnings');
  });

  test('the check itself notices a broken unit (a misspelled key, a bad value)', { skip }, () => {
    const r = verify(text.replace('WatchdogSec=', 'WatchdogSecs=').replace('KillMode=mixed', 'KillMode=mixd'));
    assert.match(r.stderr, /Unknown key 'WatchdogSecs'/);
    assert.match(r.stderr, /kill mode.*mixd/i);
  });

  test('readiness, reload and stop as vigil implements them', () => {
    assert.equal(svc.get('Type'), 'notify'); // notify-reload needs systemd 253; Debian 12 has 252
    assert.equal(svc.get('NotifyAccess'), 'main');
    assert.match(svc.get('ExecStart') ?? '', /^\/usr\/bin\/env vigil run -f \/etc\/keepalived\/keepalived\.conf/);
    assert.equal(svc.get('ExecReload'), '/usr/bin/env vigil reload');
    assert.ok(svc.get('WatchdogSec'));
    // restarting cannot fix a refused config (config-test's 4 and 5) or bad options (2)
    assert.equal(svc.get('Restart'), 'on-failure');
    assert.deepEqual(svc.get('RestartPreventExitStatus')?.split(' '), ['2', '4', '5']);
    // SIGTERM to vigil alone, which stops its scripts; SIGKILL for what is left
    assert.equal(svc.get('KillMode'), 'mixed');
  });

  test('hardening that would break vigil is absent', () => {
    assert.equal(svc.get('MemoryDenyWriteExecute'), undefined, "V8's JIT needs W+X memory");
    assert.equal(svc.get('ProtectKernelTunables'), undefined, 'vigil writes /proc/sys/net sysctls');
    assert.equal(svc.get('PrivateTmp'), undefined, 'dumps and track_file flags live in the host /tmp');
    assert.deepEqual(svc.get('CapabilityBoundingSet')?.split(' ').sort(), ['CAP_KILL', 'CAP_NET_ADMIN', 'CAP_NET_RAW', 'CAP_SETGID', 'CAP_SETUID']);
    assert.deepEqual(svc.get('RestrictAddressFamilies')?.split(' ').sort(), ['AF_INET', 'AF_INET6', 'AF_NETLINK', 'AF_PACKET', 'AF_UNIX']);
    // the journal and the control socket's directories
    assert.equal(svc.get('StateDirectory'), 'vigil');
    assert.equal(svc.get('RuntimeDirectory'), 'vigil');
  });
});
