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

it('reads the interfaces\' addresses again only after addressesChanged() (no polling at every advert)', { skip: process.getuid?.() === 0 ? false : 'needs root: opens a raw socket (nothing is sent)' }, async () => {
  let address = '10.1.1.1';
  let reads = 0;
  const net = createRawVrrpNet({
    interfaces: () => {
      reads++;
      return { lo: [{ address, netmask: '255.255.255.0', family: 'IPv4', mac: '00:00:00:00:00:00', internal: true, cidr: `${address}/24` }] };
    },
    ifindex: () => 1,
    addressMaxAgeMs: 60_000,
  });
  try {
    const ep = net.open({ ...spec, iface: 'lo' }, handlers);
    assert.equal(ep.srcIp, '10.1.1.1');
    const after = reads;
    address = '10.1.1.2';
    for (let i = 0; i < 10; i++) assert.equal(ep.srcIp, '10.1.1.1', 'the read is kept');
    assert.equal(reads, after);
    net.addressesChanged();
    assert.equal(ep.srcIp, '10.1.1.2', 'a change is read at the next advert');
    assert.equal(reads, after + 1);
  } finally {
    await net.close();
  }
});
