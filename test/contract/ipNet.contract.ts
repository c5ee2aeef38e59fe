// What every IpNet must do, run against the in-memory fake (test/unit/ipNet-fake.test.ts) and against
// the netlink adapter inside a network namespace (test/netns/ip.test.ts).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { AddressEvent, IpNet, LinkInfo, VipSpec } from '../../adapters/ip/types.js';

export interface IpNetHarness {
  readonly net: IpNet;
  /** an Ethernet interface, up, that the suite may add addresses to and set down and up */
  readonly dev: string;
  /** set `dev` administratively down / up (returns once done; the event may come later) */
  setLinkUp(up: boolean): Promise<void>;
  /** delete an address behind the adapter's back, as `ip addr del` would */
  deleteBehindBack(spec: VipSpec): Promise<void>;
  /** wait until subscriptions made so far are live (an RPC round trip for a remote adapter) */
  settle?(): Promise<void>;
  teardown(): Promise<void>;
}

/** Collects events; `next(pred)` resolves with the first matching one not yet taken. */
export class Events<T> {
  private readonly seen: T[] = [];
  private readonly waiting = new Set<{ pred: (e: T) => boolean; resolve: (e: T) => void }>();
  readonly push = (e: T): void => {
    for (const w of this.waiting) {
      if (w.pred(e)) { this.waiting.delete(w); w.resolve(e); return; }
    }
    this.seen.push(e);
  };
  next(pred: (e: T) => boolean, timeoutMs = 3000, what = 'event'): Promise<T> {
    const i = this.seen.findIndex(pred);
    if (i >= 0) return Promise.resolve(this.seen.splice(i, 1)[0] as T);
    return new Promise((resolve, reject) => {
      const w = { pred, resolve: (e: T) => { clearTimeout(t); resolve(e); } };
      const t = setTimeout(() => { this.waiting.delete(w); reject(new Error(`timed out waiting for ${what}`)); }, timeoutMs);
      this.waiting.add(w);
    });
  }
  get count(): number {
    return this.seen.length;
  }
  clear(): void {
    this.seen.length = 0;
  }
}

export function runIpNetContract(name: string, setup: () => Promise<IpNetHarness>): void {
  describe(`IpNet contract: ${name}`, () => {
    let h: IpNetHarness;
    let dev: string;
    const v4 = (address: string, o: Partial<VipSpec> = {}): VipSpec => ({ address, prefix: 24, family: 4, dev, ...o });
    const v6 = (address: string, o: Partial<VipSpec> = {}): VipSpec => ({ address, prefix: 64, family: 6, dev, ...o });

    before(async () => {
      h = await setup();
      dev = h.dev;
    });
    after(async () => {
      await h?.teardown();
    });

    it('adds, finds and removes IPv4 and IPv6 addresses, idempotently', async () => {
      const list = [v4('10.77.0.1'), v6('fd77::1')];
      for (let round = 0; round < 2; round++) {
        const added = await h.net.addAddresses(list);
        assert.deepEqual(added.map((r) => [r.spec.address, r.ok]), [['10.77.0.1', true], ['fd77::1', true]], `add round ${round}`);
      }
      assert.equal(await h.net.hasAddress({ address: '10.77.0.1', family: 4, dev }), true);
      assert.equal(await h.net.hasAddress({ address: 'fd77:0::1', family: 6, dev }), true, 'non-canonical text matches');
      assert.equal(await h.net.hasAddress({ address: '10.77.0.1', family: 4, dev: 'lo' }), false, 'other interface');
      assert.equal(await h.net.hasAddress({ address: '10.77.0.9', family: 4, dev }), false);
      const listed = await h.net.addresses(dev);
      assert.ok(listed.some((a) => a.address === '10.77.0.1' && a.prefix === 24 && a.family === 4 && a.dev === dev));
      assert.ok(listed.some((a) => a.address === 'fd77::1' && a.prefix === 64 && a.family === 6));
      for (let round = 0; round < 2; round++) {
        const removed = await h.net.removeAddresses(list);
        assert.deepEqual(removed.map((r) => r.ok), [true, true], `remove round ${round}`);
      }
      assert.equal(await h.net.hasAddress({ address: '10.77.0.1', family: 4, dev }), false);
      assert.equal(await h.net.hasAddress({ address: 'fd77::1', family: 6, dev }), false);
    });

    it('removes whatever the prefix: a VIP is identified by address and interface', async () => {
      await h.net.addAddresses([v4('10.77.0.5', { prefix: 32 }), v6('fd77::5', { prefix: 128 })]);
      const r = await h.net.removeAddresses([v4('10.77.0.5', { prefix: 24 }), v6('fd77::5', { prefix: 64 })]);
      assert.deepEqual(r.map((x) => x.ok), [true, true]);
      assert.equal(await h.net.hasAddress({ address: '10.77.0.5', family: 4, dev }), false);
      assert.equal(await h.net.hasAddress({ address: 'fd77::5', family: 6, dev }), false);
    });

    it('honours label, scope and peer', async () => {
      const specs = [
        v4('10.77.0.2', { label: `${dev}:vg` }),
        v4('10.77.6.3', { scope: 'link' }), // another subnet: secondaries must share the primary's scope
        v4('10.77.1.1', { prefix: 32, peer: '10.77.1.2' }),
      ];
      const added = await h.net.addAddresses(specs);
      assert.deepEqual(added.map((r) => r.ok), [true, true, true], JSON.stringify(added));
      const listed = await h.net.addresses(dev);
      const get = (a: string) => listed.find((x) => x.address === a);
      assert.equal(get('10.77.0.2')?.label, `${dev}:vg`);
      assert.equal(get('10.77.6.3')?.label, dev, 'IPv4 label defaults to the interface name');
      assert.equal(get('10.77.6.3')?.scope, 253);
      assert.equal(get('10.77.0.2')?.scope, 0);
      assert.equal(get('10.77.1.1')?.peer, '10.77.1.2');
      assert.equal(get('10.77.1.1')?.prefix, 32);
      assert.deepEqual((await h.net.removeAddresses(specs)).map((r) => r.ok), [true, true, true]);
      assert.equal((await h.net.addresses(dev)).some((a) => a.address.startsWith('10.77.')), false);
    });

    it('reports failures per item, in input order', async () => {
      const r = await h.net.addAddresses([
        v4('10.77.0.4'),
        v4('10.77.0.4', { dev: 'nosuch0' }),
        v4('10.77.0.300'),
        v6('fd77::4', { prefix: 129 }),
      ]);
      assert.deepEqual(r.map((x) => [x.ok, x.error]), [[true, undefined], [false, 'ENODEV'], [false, 'EINVAL'], [false, 'EINVAL']]);
      assert.equal(r[2]?.spec.address, '10.77.0.300');
      const gone = await h.net.removeAddresses([v4('10.77.0.4'), v4('10.77.0.4', { dev: 'nosuch0' })]);
      assert.deepEqual(gone.map((x) => x.ok), [true, true], 'no interface, no address: removed');
    });

    it('adds and removes 50 addresses in one call', async () => {
      const list = Array.from({ length: 50 }, (_, i) => v4(`10.77.2.${i + 1}`, { prefix: 32 }));
      assert.ok((await h.net.addAddresses(list)).every((r) => r.ok));
      const have = new Set((await h.net.addresses(dev)).map((a) => a.address));
      assert.ok(list.every((s) => have.has(s.address)));
      assert.ok((await h.net.removeAddresses(list)).every((r) => r.ok));
      assert.equal((await h.net.addresses(dev)).filter((a) => a.address.startsWith('10.77.2.')).length, 0);
    });

    it('adds and removes routes idempotently, refusing unsafe words', async () => {
      await h.net.addAddresses([v4('10.77.3.1'), v6('fd77:3::1')]); // a connected route for the gateway
      const routes = [
        { words: ['10.78.0.0/24', 'via', '10.77.3.254', 'dev', dev, 'no_track'], family: 4 as const },
        { words: ['fd78::/64', 'via', 'fd77:3::fe', 'dev', dev], family: 6 as const },
      ];
      for (let round = 0; round < 2; round++) {
        assert.deepEqual((await h.net.addRoutes(routes)).map((r) => [r.ok, r.error]), [[true, undefined], [true, undefined]], `add ${round}`);
      }
      for (let round = 0; round < 2; round++) {
        assert.deepEqual((await h.net.removeRoutes(routes)).map((r) => [r.ok, r.error]), [[true, undefined], [true, undefined]], `remove ${round}`);
      }
      const bad = await h.net.addRoutes([
        { words: ['10.79.0.0/24', 'dev', 'nosuch0'], family: 4 },
        { words: ['10.79.1.0/24', 'dev', `${dev}\nroute flush all`], family: 4 },
        { words: ['10.79.2.0/24', 'dev', dev, '#'], family: 4 },
      ]);
      assert.deepEqual(bad.map((r) => [r.ok, r.error]), [[false, 'ENODEV'], [false, 'EINVAL'], [false, 'EINVAL']]);
      await h.net.removeAddresses([v4('10.77.3.1'), v6('fd77:3::1')]);
    });

    it('lists links: the test interface is up, with an index and a MAC', async () => {
      const links = await h.net.links();
      const l = links.find((x) => x.name === dev);
      assert.ok(l, `${dev} listed`);
      assert.equal(l.up, true);
      assert.ok(l.index > 0);
      assert.match(l.mac ?? '', /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
      assert.equal(new Set(links.map((x) => x.index)).size, links.length, 'indexes are unique');
    });

    it('announces: one result per address', async () => {
      await h.net.addAddresses([v4('10.77.4.1'), v6('fd77:4::1')]);
      const r = await h.net.announce(dev, ['10.77.4.1', 'fd77:4::1', 'nonsense']);
      assert.deepEqual(r.map((x) => [x.spec, x.ok, x.error]), [['10.77.4.1', true, undefined], ['fd77:4::1', true, undefined], ['nonsense', false, 'EINVAL']]);
      const vmac = await h.net.announce(dev, ['10.77.4.1'], { vmacSrc: '00:00:5e:00:01:33' });
      assert.equal(vmac[0]?.ok, true);
      const none = await h.net.announce('nosuch0', ['10.77.4.1', 'fd77:4::1']);
      assert.deepEqual(none.map((x) => x.error), ['ENODEV', 'ENODEV']);
      await h.net.removeAddresses([v4('10.77.4.1'), v6('fd77:4::1')]);
    });

    it('reports address changes, ours and those made behind our back', async () => {
      const ev = new Events<AddressEvent>();
      const stop = h.net.watchAddresses(ev.push);
      await h.settle?.();
      const spec = v4('10.77.5.1');
      await h.net.addAddresses([spec]);
      const added = await ev.next((e) => e.address === '10.77.5.1' && e.added, 3000, 'added');
      assert.equal(added.dev, dev);
      assert.equal(added.prefix, 24);
      await h.deleteBehindBack(spec);
      const removed = await ev.next((e) => e.address === '10.77.5.1' && !e.added, 3000, 'deleted');
      assert.equal(removed.dev, dev);
      stop();
      await h.settle?.();
      ev.clear();
      await h.net.addAddresses([spec]);
      await h.net.removeAddresses([spec]);
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(ev.count, 0, 'nothing after unsubscribe');
    });

    it('reports the interface going down and up, and stops after unsubscribe', async () => {
      const ev = new Events<LinkInfo>();
      const stop = h.net.watchLinks(ev.push);
      await h.settle?.();
      try {
        await h.setLinkUp(false);
        const down = await ev.next((l) => l.name === dev && !l.up, 3000, `${dev} down`);
        assert.ok(down.index > 0);
        await h.setLinkUp(true);
        await ev.next((l) => l.name === dev && l.up, 3000, `${dev} up`);
      } finally {
        await h.setLinkUp(true);
      }
      stop();
      await h.settle?.();
      ev.clear();
      await h.setLinkUp(false);
      await h.setLinkUp(true);
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(ev.count, 0, 'nothing after unsubscribe');
    });
  });
}
