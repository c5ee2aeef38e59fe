// The in-memory IpNet passes the IpNet contract, and its test controls do what the lead's unit
// tests rely on (announcements recorded, injected failures, link removal).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AddressEvent, LinkInfo } from '../../adapters/ip/types.js';
import { runIpNetContract } from '../contract/ipNet.contract.js';
import { FakeIpNet } from '../fakes/ipNet.js';

runIpNetContract('in-memory fake', async () => {
  const net = new FakeIpNet();
  return {
    net,
    dev: 'eth0',
    setLinkUp: async (up) => net.setLinkUp('eth0', up),
    deleteBehindBack: async (spec) => void net.deleteBehindBack(spec),
    teardown: () => net.close(),
  };
});

describe('FakeIpNet controls', () => {
  it('records announcements with the MAC they would carry', async () => {
    const net = new FakeIpNet([{ name: 'eth0', mac: '02:aa:bb:cc:dd:ee' }]);
    await net.announce('eth0', ['10.0.0.1', 'fd00:0::1']);
    await net.announce('eth0', ['10.0.0.1'], { vmacSrc: '00:00:5E:00:01:07' });
    assert.deepEqual(net.announcements, [
      { dev: 'eth0', address: '10.0.0.1', family: 4, mac: '02:aa:bb:cc:dd:ee' },
      { dev: 'eth0', address: 'fd00::1', family: 6, mac: '02:aa:bb:cc:dd:ee' },
      { dev: 'eth0', address: '10.0.0.1', family: 4, mac: '00:00:5e:00:01:07' },
    ]);
  });

  it('fails an announcement on a down interface, as sendto() does', async () => {
    const net = new FakeIpNet([{ name: 'eth0', up: false }]);
    assert.deepEqual((await net.announce('eth0', ['10.0.0.1'])).map((r) => r.error), ['ENETDOWN']);
    assert.equal(net.announcements.length, 0);
  });

  it('injects one failure per address', async () => {
    const net = new FakeIpNet();
    net.failNext.set('10.0.0.1', 'EPERM');
    const spec = { address: '10.0.0.1', prefix: 24, family: 4 as const, dev: 'eth0' };
    assert.deepEqual((await net.addAddresses([spec])).map((r) => r.error), ['EPERM']);
    assert.deepEqual((await net.addAddresses([spec])).map((r) => r.ok), [true]);
  });

  it('removing a link removes its addresses and reports it deleted', async () => {
    const net = new FakeIpNet();
    const links: LinkInfo[] = [];
    const addrs: AddressEvent[] = [];
    net.watchLinks((l) => links.push(l));
    net.watchAddresses((e) => addrs.push(e));
    await net.addAddresses([{ address: '10.0.0.1', prefix: 24, family: 4, dev: 'eth0' }]);
    net.removeLink('eth0');
    assert.deepEqual(links.map((l) => [l.name, l.up, l.deleted]), [['eth0', false, true]]);
    assert.deepEqual(addrs.map((e) => [e.address, e.added]), [['10.0.0.1', true], ['10.0.0.1', false]]);
    assert.equal(await net.hasAddress({ address: '10.0.0.1', family: 4, dev: 'eth0' }), false);
  });

  it('creates a VMAC macvlan once', async () => {
    const net = new FakeIpNet();
    const spec = { name: 'vrrp.51', parent: 'eth0', mac: '00:00:5e:00:01:33' };
    assert.equal((await net.createMacvlan(spec)).ok, true);
    assert.equal((await net.createMacvlan(spec)).ok, true);
    const v = (await net.links()).filter((l) => l.name === 'vrrp.51');
    assert.deepEqual(v.map((l) => [l.kind, l.mac]), [['macvlan', '00:00:5e:00:01:33']]);
    assert.equal((await net.createMacvlan({ ...spec, name: 'x', parent: 'nosuch' })).error, 'ENODEV');
  });
});
