// Property tests (fast-check): random and mutated configs never throw, never hang, and always give
// a model plus diagnostics whose places are real and whose exit code matches their severities.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { exitCodeFor, loadConfig } from '../../adapters/config/index.js';
import { memoryFs } from '../fakes/memoryFs.js';

const MAIN = '/etc/keepalived/keepalived.conf';

const word = fc.constantFrom(
  'vrrp_instance', 'VI_1', 'interface', 'eth0', 'virtual_router_id', '51', 'priority', '100', '300', 'state', 'MASTER',
  'virtual_ipaddress', '10.0.0.1/24', 'fe80::1', 'track_script', 'chk', 'vrrp_script', 'script', '"/bin/true x"',
  'global_defs', 'router_id', 'virtual_server', '10.0.0.9', '80', 'real_server', 'HTTP_GET', 'url', 'path', '/',
  'TCP_CHECK', 'include', 'sub.conf', '*.conf', '{a,b}.conf', '$X', '${X}', '${_RANDOM 1 2}', '${_ENV HOME}',
  '@node1', '@^node1', '~SEQ(i, 1, 3)', '~LST(x, a, b)', '$i', '{', '}', '"', "'", '#', '!', '\\', 'nopreempt',
  'authentication', 'auth_type', 'PASS', 'auth_pass', 'unicast_peer', 'vrrp_sync_group', 'group', 'advert_int', '0.015',
);
const line = fc.oneof(
  fc.array(word, { minLength: 0, maxLength: 7 }).map((ws) => ws.join(' ')),
  fc.constantFrom('$X=vrrp_instance', '$M= \\', '  interface eth0 \\', '}', '$M', '$X=$X $X', '~SEQ(i, 1, 100000) x'),
  fc.string({ maxLength: 40 }),
);
const config = fc.array(line, { maxLength: 40 }).map((ls) => ls.join('\n'));

const VALID = `global_defs {\n router_id r\n}\nvrrp_script chk {\n script "/bin/true"\n}\nvrrp_instance VI_1 {\n state BACKUP\n interface eth0\n virtual_router_id 51\n priority 100\n virtual_ipaddress {\n  10.0.0.1/24\n }\n track_script {\n  chk\n }\n}\nvirtual_server 10.0.0.9 80 {\n real_server 10.0.0.10 80 {\n  HTTP_GET {\n   url {\n    path /\n   }\n  }\n }\n}\n`;

function run(text: string, sub: string) {
  const t0 = performance.now();
  const r = loadConfig(MAIN, {
    fs: memoryFs({ [MAIN]: text, '/etc/keepalived/sub.conf': sub, '/etc/keepalived/a.conf': text }),
    configId: 'node1', env: { HOME: '/root' }, random: () => 0.5, maxLines: 50_000,
  });
  const ms = performance.now() - t0;
  assert.ok(ms < 5_000, `took ${ms} ms`);
  assert.ok(r.config && Array.isArray(r.config.instances));
  assert.equal(r.exitCode, exitCodeFor(r.diagnostics));
  for (const d of r.diagnostics) {
    assert.ok(d.message.length > 0 && d.code.length > 0);
    assert.ok(d.loc.line >= 0 && d.loc.col >= 0, JSON.stringify(d));
    assert.ok(r.config.files.includes(d.loc.file) || d.code === 'config-not-found', `diagnostic in an unread file: ${d.loc.file}`);
    if (d.loc.line > 0) assert.ok(d.loc.col >= 1, JSON.stringify(d));
  }
  return r;
}

test('random configs from keepalived words never throw or hang', () => {
  fc.assert(fc.property(config, config, (a, b) => { run(a, b); }), { numRuns: 400 });
});

test('a valid config stays free of crashes under byte-level mutation', () => {
  const mutation = fc.array(fc.tuple(fc.nat(VALID.length), fc.nat(4), fc.string({ maxLength: 3 })), { minLength: 1, maxLength: 6 });
  fc.assert(fc.property(mutation, (muts) => {
    let t = VALID;
    for (const [at, del, ins] of muts) t = t.slice(0, at) + ins + t.slice(at + del);
    run(t, t);
  }), { numRuns: 400 });
});

test('the unmutated valid config is accepted (the property above starts from a real config)', () => {
  const r = run(VALID, '');
  assert.deepEqual(r.diagnostics.filter((d) => d.severity !== 'warning'), []);
  assert.equal(r.config.instances.length, 1);
});
