// The scripted fake prober passes the same contract as the real one, and records its calls.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FakeProber } from '../fakes/prober.js';
import { runProberContract } from '../contract/prober.contract.js';

const accepting = { address: '192.0.2.1', port: 80, family: 4 as const };
const refusing = { address: '192.0.2.2', port: 80, family: 4 as const };
const silent = { address: '192.0.2.3', port: 80, family: 4 as const };

runProberContract('scripted fake', async () => {
  const prober = new FakeProber().set(accepting, { ok: true, detail: 'connected' }).set(silent, 'silent');
  return { prober, accepting, refusing, silent, teardown: async () => {} };
});

test('the fake records calls and answers by destination, connect_ip first', async () => {
  const p = new FakeProber({ ok: true }).set({ address: '10.0.0.9', port: 8080 }, { ok: false, detail: 'status 500 not in 200-299' });
  const loc = { file: 't', line: 1, col: 1 };
  const r = await p.probe({ type: 'HTTP_GET', loc, urls: [], connectIp: '10.0.0.9', connectPort: 8080 }, accepting, { timeoutMs: 100 });
  assert.deepEqual([r.ok, r.detail], [false, 'status 500 not in 200-299']);
  const m = await p.probe({ type: 'MISC_CHECK', loc, dynamic: true }, { address: '10.0.0.1', family: 4 }, { timeoutMs: 100 });
  assert.equal(m.ok, true);
  assert.equal(p.calls.length, 2);
  assert.equal(p.inFlight, 0);
});
