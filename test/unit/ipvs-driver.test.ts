// The IPVS driver on a fake kernel (test/fakes/ipvsKernel.ts, which speaks bytes and enforces the
// kernel's full-entry rules): the LoadBalancer contract, then what only IPVS does: one SET_DEST with
// the whole field set for a weight change, foreign services left alone, the sorry server switched
// without an empty moment, kernel refusals named, and a kernel without ip_vs.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { LbError } from '../../adapters/lb/errors.js';
import { openLoadBalancer } from '../../adapters/lb/index.js';
import { createIpvsLb, detectIpvs } from '../../adapters/lb/ipvs.js';
import type { LbService } from '../../adapters/lb/types.js';
import { runLbContract } from '../contract/lb.contract.js';
import { FakeIpvsKernel } from '../fakes/ipvsKernel.js';

runLbContract('IPVS driver on a fake kernel', async () => {
  const shared = new FakeIpvsKernel();
  return {
    create: () => createIpvsLb({ socket: shared }),
    dataplane: async () => (await createIpvsLb({ socket: shared })).read(),
    flushBehindBack: async () => shared.flush(),
    kinds: ['NAT', 'DR', 'TUN'],
    teardown: async () => {},
  };
});

const web = (weights: number[], extra: Partial<LbService> = {}): LbService => ({
  match: { kind: 'address', address: '10.0.0.100', port: 80, protocol: 'TCP' },
  family: 4,
  algo: 'wlc',
  persistence: { timeoutS: 60 },
  destinations: weights.map((weight, i) => ({ address: `10.0.0.${i + 1}`, port: 80, weight, kind: 'NAT' as const })),
  ...extra,
});

describe('IPVS driver specifics', () => {
  it('a weight change is one SET_DEST carrying the whole field set; re-applying sends nothing', async () => {
    const kernel = new FakeIpvsKernel();
    const lb = await createIpvsLb({ socket: kernel });
    await lb.apply({ services: [web([1, 1, 2])] });
    assert.deepEqual(kernel.log.filter((l) => !l.cmd.startsWith('GET')).map((l) => [l.cmd, l.full]), [
      ['NEW_SERVICE', true],
      ['NEW_DEST', true],
      ['NEW_DEST', true],
      ['NEW_DEST', true],
    ]);
    kernel.log.length = 0;
    await lb.apply({ services: [web([1, 5, 2])] });
    assert.deepEqual(kernel.log.filter((l) => !l.cmd.startsWith('GET')), [{ cmd: 'SET_DEST', service: true, dest: true, full: true }]);
    kernel.log.length = 0;
    assert.deepEqual((await lb.apply({ services: [web([1, 5, 2])] })).changes, []);
    assert.deepEqual(kernel.log.map((l) => l.cmd), ['GET_SERVICE', 'GET_DEST']);
  });

  it('leaves services it did not make alone, and close() removes only its own', async () => {
    const kernel = new FakeIpvsKernel();
    const other = await createIpvsLb({ socket: kernel });
    const foreign: LbService = { ...web([1]), match: { kind: 'fwmark', fwmark: 99 } };
    await other.apply({ services: [foreign] });
    const lb = await createIpvsLb({ socket: kernel });
    const r = await lb.apply({ services: [web([1, 1])] });
    assert.ok(!r.changes.some((c) => c.kind === 'service.removed'), JSON.stringify(r.changes));
    assert.equal((await lb.read()).services.length, 2, 'read() shows the whole kernel');
    await lb.apply({ services: [] });
    await lb.close();
    assert.deepEqual([...kernel.services.keys()], ['2 fwmark 99']);
  });

  it('flush() and close({ all: true }) are one IPVS_CMD_FLUSH each, foreign services included (lvs_flush, lvs_flush_on_stop)', async () => {
    const kernel = new FakeIpvsKernel();
    const other = await createIpvsLb({ socket: kernel });
    const foreign: LbService = { ...web([1]), match: { kind: 'fwmark', fwmark: 99 } };
    await other.apply({ services: [foreign] });
    const lb = await createIpvsLb({ socket: kernel });
    await lb.apply({ services: [web([1, 1])] });
    kernel.log.length = 0;
    await lb.flush();
    assert.deepEqual(kernel.log.map((l) => l.cmd), ['FLUSH']);
    assert.equal(kernel.services.size, 0);
    // no longer owned: an apply without it does not try to delete it
    await other.apply({ services: [foreign] });
    kernel.log.length = 0;
    assert.deepEqual((await lb.apply({ services: [] })).changes, []);
    await lb.close({ all: true });
    assert.deepEqual(kernel.log.filter((l) => !l.cmd.startsWith('GET')).map((l) => l.cmd), ['FLUSH']);
    assert.equal(kernel.services.size, 0, 'the foreign service went too');
  });

  it('lvs_timeouts: GET_CONFIG once for what was there, SET_CONFIG with absent values from it; put back on undefined and on close', async () => {
    const kernel = new FakeIpvsKernel();
    kernel.timeouts.udp = 60; // an operator's earlier `ipvsadm --set`
    const lb = await createIpvsLb({ socket: kernel });
    await lb.setTimeouts!({ tcp: 7200, tcpFin: 30 });
    assert.deepEqual({ ...kernel.timeouts }, { tcp: 7200, tcpFin: 30, udp: 60 });
    await lb.setTimeouts!({ udp: 10 }); // a reload: tcp and tcpfin no longer set, so back to what was found
    assert.deepEqual({ ...kernel.timeouts }, { tcp: 900, tcpFin: 120, udp: 10 });
    assert.deepEqual(kernel.log.map((l) => l.cmd), ['GET_CONFIG', 'SET_CONFIG', 'SET_CONFIG']);
    await lb.setTimeouts!(undefined);
    assert.deepEqual({ ...kernel.timeouts }, { tcp: 900, tcpFin: 120, udp: 60 });
    await lb.setTimeouts!({ tcp: 100 });
    await lb.close();
    assert.deepEqual({ ...kernel.timeouts }, { tcp: 900, tcpFin: 120, udp: 60 }, 'close puts them back');
    const kept = await createIpvsLb({ socket: kernel });
    await kept.setTimeouts!({ tcp: 100 });
    await kept.close({ keep: true });
    assert.equal(kernel.timeouts.tcp, 100, '-I leaves them');
  });

  it('lvs_sync_daemon: an earlier run\'s daemons stopped first; backup, then master on MASTER and back; close stops it', async () => {
    const kernel = new FakeIpvsKernel();
    kernel.daemons.set('master', { ifname: 'eth9', syncId: 3 }); // left by an earlier run
    const lb = await createIpvsLb({ socket: kernel });
    const d = { ifname: 'eth0', syncId: 51, maxlen: 1400, port: 8850, ttl: 2, group: '224.0.0.82' };
    await lb.syncDaemon!('backup', d);
    assert.deepEqual([...kernel.daemons], [['backup', { ifname: 'eth0', syncId: 51, maxlen: 1400, port: 8850, ttl: 2, group: [224, 0, 0, 82] }]]);
    kernel.log.length = 0;
    await lb.syncDaemon!('master', d);
    assert.deepEqual(kernel.log.map((l) => l.cmd), ['DEL_DAEMON', 'NEW_DAEMON']);
    assert.deepEqual([...kernel.daemons.keys()], ['master']);
    kernel.log.length = 0;
    await lb.syncDaemon!('master', d);
    assert.deepEqual(kernel.log, [], 'already running: nothing sent');
    await lb.syncDaemon!('backup', { ...d, group: 'ff02::81' });
    assert.deepEqual([...kernel.daemons.keys()], ['backup']);
    assert.equal(kernel.daemons.get('backup')?.group?.length, 16, 'an IPv6 group as in6_addr');
    await lb.close();
    assert.equal(kernel.daemons.size, 0);
  });

  it('switches to the sorry server by adding it before removing the rest, and back', async () => {
    const kernel = new FakeIpvsKernel();
    const lb = await createIpvsLb({ socket: kernel });
    const sorry = { address: '10.0.0.9', port: 80, kind: 'NAT' as const };
    await lb.apply({ services: [web([1, 1], { sorry })] });
    kernel.log.length = 0;
    const down = await lb.apply({ services: [web([], { sorry })] });
    assert.deepEqual(kernel.log.filter((l) => !l.cmd.startsWith('GET')).map((l) => l.cmd), ['NEW_DEST', 'DEL_DEST', 'DEL_DEST']);
    assert.deepEqual(down.changes.map((c) => c.kind).sort(), ['destination.removed', 'destination.removed', 'service.changed']);
    assert.deepEqual((await lb.read()).services[0]?.sorry, sorry);
    kernel.log.length = 0;
    await lb.apply({ services: [web([1], { sorry })] });
    assert.deepEqual(kernel.log.filter((l) => !l.cmd.startsWith('GET')).map((l) => l.cmd), ['NEW_DEST', 'DEL_DEST']);
    assert.equal((await lb.read()).services[0]?.sorry, undefined);
  });

  it('names what the kernel refused', async () => {
    const kernel = new FakeIpvsKernel();
    const lb = await createIpvsLb({ socket: kernel });
    kernel.failNext = { cmd: 'NEW_DEST', errno: 22 };
    await assert.rejects(lb.apply({ services: [web([1])] }), (e: unknown) => {
      assert.ok(e instanceof LbError);
      assert.equal(e.code, 'KERNEL_REJECTED');
      assert.equal(e.message, 'NEW_DEST 10.0.0.1:80 in TCP 10.0.0.100:80: EINVAL');
      assert.deepEqual(e.detail, { service: 'TCP 10.0.0.100:80', destination: '10.0.0.1:80', errno: 'EINVAL' });
      return true;
    });
    // the next apply carries on from what the kernel holds
    const r = await lb.apply({ services: [web([1])] });
    assert.deepEqual(r.changes.map((c) => c.kind), ['destination.added']);
  });

  it('a socket failure is NETLINK, naming the request', async () => {
    const kernel = new FakeIpvsKernel();
    const lb = await createIpvsLb({ socket: kernel });
    kernel.close();
    await assert.rejects(lb.read(), (e: unknown) => e instanceof LbError && e.code === 'NETLINK' && e.message.startsWith('GET_SERVICE'));
  });

  it('without ip_vs: createIpvsLb rejects NO_IPVS and detectIpvs says why', async () => {
    const kernel = new FakeIpvsKernel();
    kernel.present = false;
    await assert.rejects(createIpvsLb({ socket: kernel }), (e: unknown) => e instanceof LbError && e.code === 'NO_IPVS');
    assert.deepEqual(await detectIpvs(() => kernel), { available: false, reason: 'kernel has no IPVS (ip_vs module absent)' });
    assert.deepEqual(await detectIpvs(() => new FakeIpvsKernel()), { available: true });
    assert.deepEqual(await detectIpvs(() => { throw new Error('EPERM'); }), { available: false, reason: 'cannot open a generic netlink socket: EPERM' });
  });
});

describe('driver choice', () => {
  it('IPVS when the kernel has it, else nftables with the reason; lb_driver forces one', async () => {
    const infos: string[] = [];
    const log = pino({}, { write: (line: string) => void infos.push((JSON.parse(line) as { msg: string }).msg) });
    const auto = await openLoadBalancer({ ipvs: { socket: new FakeIpvsKernel() }, log });
    assert.equal(auto.lb.driver, 'ipvs');
    const absent = new FakeIpvsKernel();
    absent.present = false;
    const fallback = await openLoadBalancer({ ipvs: { socket: absent }, log });
    assert.equal(fallback.lb.driver, 'nftables');
    assert.equal(fallback.reason, 'kernel has no IPVS (ip_vs module absent); using nftables');
    assert.equal((await openLoadBalancer({ driver: 'nftables', ipvs: { socket: new FakeIpvsKernel() } })).lb.driver, 'nftables');
    await assert.rejects(openLoadBalancer({ driver: 'ipvs', ipvs: { socket: absent } }), (e: unknown) => e instanceof LbError && e.code === 'NO_IPVS');
    assert.deepEqual(infos, [
      'load balancer: ipvs (the kernel has IPVS)',
      'load balancer: nftables (kernel has no IPVS (ip_vs module absent); using nftables)',
    ]);
  });
});
