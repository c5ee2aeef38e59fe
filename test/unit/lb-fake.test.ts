// The in-memory LoadBalancer passes the LoadBalancer contract, and its controls do what the actor's
// unit tests rely on.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { LbError } from '../../adapters/lb/errors.js';
import { runLbContract } from '../contract/lb.contract.js';
import { FakeLoadBalancer, type FakeDataplane } from '../fakes/lb.js';

runLbContract('in-memory fake', async () => {
  const store: FakeDataplane = { table: { services: [] } };
  return {
    create: async () => new FakeLoadBalancer(store),
    dataplane: async () => store.table,
    flushBehindBack: async () => void (store.table = { services: [] }),
    kinds: ['NAT', 'DR', 'TUN'],
    teardown: async () => {},
  };
});

it('FakeLoadBalancer.failNextApply rejects once, leaving the data plane as it was', async () => {
  const lb = new FakeLoadBalancer();
  const t = {
    services: [{ match: { kind: 'fwmark', fwmark: 1 }, family: 4, algo: 'rr', destinations: [{ address: '10.0.0.1', port: 0, weight: 1, kind: 'NAT' }] }],
  } as const;
  lb.failNextApply();
  await assert.rejects(lb.apply(t), (e: unknown) => e instanceof LbError && e.code === 'NFT_FAILED');
  assert.deepEqual(await lb.read(), { services: [] });
  assert.equal((await lb.apply(t)).changes.length, 2);
  assert.equal(lb.applies, 1);
});
