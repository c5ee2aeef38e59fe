// adapters/vrrp/socket.ts without sockets: what happens before one is opened. The sockets themselves
// are tested in namespaces (test/netns/vrrp-socket.test.ts).
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { createRawVrrpNet, VrrpSocketError } from '../../adapters/vrrp/socket.js';
import type { EndpointSpec } from '../../adapters/vrrp/types.js';

const spec: EndpointSpec = {
  instance: 'VI_1', iface: 'nosuch0', family: 4, version: 3, vrid: 1, intervalCs: 100,
  addresses: ['10.0.0.100'], mcastGroup: '224.0.0.18', unicastPeers: [],
};
const handlers = { onAdvert() {}, onDrop() {} };

it('refuses an interface that does not exist, before opening any socket', () => {
  const net = createRawVrrpNet({ interfaces: () => ({ eth0: [] }) });
  assert.throws(() => net.open(spec, handlers), (e: unknown) => e instanceof VrrpSocketError && e.code === 'NO_INTERFACE' && e.name === 'VrrpSocketError');
  assert.deepEqual(net.stats().endpoints, {});
});

it('looks the interface index up by name, falling back to the link-local scope id', () => {
  const asked: string[] = [];
  const net = createRawVrrpNet({
    ifindex: (name) => (asked.push(name), undefined),
    interfaces: () => ({}),
  });
  assert.throws(() => net.open({ ...spec, iface: 'eth7' }, handlers), /no interface eth7/);
  assert.deepEqual(asked, ['eth7']);
});

it('close is idempotent and a closed net opens nothing', async () => {
  const net = createRawVrrpNet();
  await net.close();
  await net.close();
  assert.throws(() => net.open(spec, handlers), (e: unknown) => e instanceof VrrpSocketError && e.code === 'CLOSED');
});
