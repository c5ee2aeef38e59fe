// The vigil extension `slow_start SECS` on real_server and virtual_server (the real servers'
// default), parsed into RealServer/VirtualServer.slowStartMs.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { codes, parse } from '../helpers.js';

test('slow_start on virtual_server and real_server, in seconds with fractions', () => {
  const r = parse(`virtual_server 10.0.0.100 80 {\n slow_start 30\n real_server 10.0.0.1 80 {\n  slow_start 2.5\n }\n real_server 10.0.0.2 80 {\n }\n}\n` +
    `virtual_server 10.0.0.101 80 {\n real_server 10.0.0.1 80 {\n  slow_start 0\n }\n}\n`);
  assert.deepEqual(codes(r, 'error'), []);
  const [a, b] = r.config.virtualServers;
  assert.equal(a!.slowStartMs, 30_000);
  assert.deepEqual(a!.realServers.map((rs) => rs.slowStartMs), [2500, undefined]);
  assert.equal(b!.slowStartMs, undefined);
  assert.equal(b!.realServers[0]!.slowStartMs, 0, '0 turns it off for this server');
});

test('slow_start: a bad value is an error, an extra value a warning; it belongs to no checker', () => {
  const r = parse(`virtual_server 10.0.0.100 80 {\n slow_start soon\n real_server 10.0.0.1 80 {\n  slow_start 1 2\n  TCP_CHECK {\n   slow_start 3\n  }\n }\n}\n`);
  assert.deepEqual(codes(r), ['2:13 invalid-time', '4:16 extra-value', '6:4 unknown-keyword']);
  const vs = r.config.virtualServers[0]!;
  assert.equal(vs.slowStartMs, undefined);
  assert.equal(vs.realServers[0]!.slowStartMs, 1000);
});
