// What every LoadBalancer must do, run against the in-memory fake (test/unit/lb-fake.test.ts), the
// IPVS driver on a fake kernel (test/unit/ipvs-driver.test.ts), the nftables driver in a network
// namespace (test/netns/lb-nftables.test.ts) and IPVS on a real kernel where it has ip_vs
// (test/netns/lb-ipvs.test.ts).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { LbError } from '../../adapters/lb/errors.js';
import { normalizeTable } from '../../adapters/lb/table.js';
import type { LbChange, LbDestination, LbKind, LbService, LbTable, LoadBalancer } from '../../adapters/lb/types.js';

export interface LbHarness {
  /** a new adapter on the same data plane */
  create(): Promise<LoadBalancer>;
  /** what the data plane holds, read without the adapter under test (e.g. after its close()) */
  dataplane(): Promise<LbTable>;
  /** remove everything behind the adapters' backs, as `ipvsadm -C` or `nft flush ruleset` */
  flushBehindBack(): Promise<void>;
  /** forwarding methods the driver carries (the others must be rejected with UNSUPPORTED) */
  readonly kinds: readonly LbKind[];
  teardown(): Promise<void>;
}

const dest = (address: string, weight: number, port = 80, kind: LbKind = 'NAT'): LbDestination => ({ address, port, weight, kind });

const web: LbService = {
  match: { kind: 'address', address: '10.77.0.100', port: 80, protocol: 'TCP' },
  family: 4,
  algo: 'wrr',
  persistence: { timeoutS: 300, prefix: 24 },
  destinations: [dest('10.77.1.1', 1), dest('10.77.1.2', 1), dest('10.77.1.3', 2, 8080)],
};
const dns6: LbService = {
  match: { kind: 'address', address: 'fd77::100', port: 53, protocol: 'UDP' },
  family: 6,
  algo: 'sh',
  flags: ['flag-2'],
  destinations: [dest('fd77::1:1', 5, 53), dest('fd77::1:2', 1, 5353)],
};
const marked: LbService = {
  match: { kind: 'fwmark', fwmark: 7 },
  family: 4,
  algo: 'rr',
  sorry: { address: '10.77.2.9', port: 0, kind: 'NAT' },
  destinations: [dest('10.77.1.1', 1, 0), dest('10.77.1.4', 3, 0)],
};
const base: LbTable = { services: [web, dns6, marked] };

const withService = (t: LbTable, key: LbService['match'], f: (s: LbService) => LbService): LbTable => ({
  services: t.services.map((s) => (JSON.stringify(s.match) === JSON.stringify(key) ? f(s) : s)),
});

const kinds = (changes: readonly LbChange[]) => changes.map((c) => c.kind).sort();

export function runLbContract(name: string, setup: () => Promise<LbHarness>): void {
  describe(`LoadBalancer contract: ${name}`, () => {
    let h: LbHarness;
    let lb: LoadBalancer;
    const readBack = async (desired: LbTable) => assert.deepEqual(await lb.read(), normalizeTable(desired));

    before(async () => {
      h = await setup();
      lb = await h.create();
    });
    after(async () => {
      await lb?.close().catch(() => undefined);
      await h?.teardown();
    });

    it('applies a table and reads it back; applying it again changes nothing', async () => {
      const r = await lb.apply(base);
      assert.deepEqual(kinds(r.changes), [
        ...Array(7).fill('destination.added'),
        ...Array(3).fill('service.added'),
      ]);
      await readBack(base);
      assert.deepEqual((await lb.apply(base)).changes, []);
      // the same table written differently (order, non-canonical addresses) is the same table
      const shuffled: LbTable = { services: [marked, { ...dns6, match: { ...dns6.match, address: 'FD77:0::100' } as LbService['match'] }, web] };
      assert.deepEqual((await lb.apply(shuffled)).changes, []);
    });

    it('changes one weight and reports exactly that', async () => {
      await lb.apply(base);
      const t = withService(base, web.match, (s) => ({ ...s, destinations: [dest('10.77.1.1', 1), dest('10.77.1.2', 4), dest('10.77.1.3', 2, 8080)] }));
      const r = await lb.apply(t);
      assert.deepEqual(r.changes, [
        { kind: 'destination.changed', service: 'TCP 10.77.0.100:80', destination: '10.77.1.2:80', weight: 4, previousWeight: 1, fields: ['weight'] },
      ]);
      await readBack(t);
    });

    it('quiesces a destination with weight 0 (kept, reported with weight 0)', async () => {
      await lb.apply(base);
      const t = withService(base, web.match, (s) => ({ ...s, destinations: [dest('10.77.1.1', 0), dest('10.77.1.2', 1), dest('10.77.1.3', 2, 8080)] }));
      const r = await lb.apply(t);
      assert.deepEqual(r.changes.map((c) => [c.kind, 'destination' in c ? c.destination : '']), [['destination.changed', '10.77.1.1:80']]);
      await readBack(t);
    });

    it('removes a destination and adds one', async () => {
      await lb.apply(base);
      const t = withService(base, web.match, (s) => ({ ...s, destinations: [dest('10.77.1.2', 1), dest('10.77.1.5', 1)] }));
      const r = await lb.apply(t);
      assert.deepEqual(
        r.changes.map((c) => [c.kind, 'destination' in c ? c.destination : '']).sort(),
        [['destination.added', '10.77.1.5:80'], ['destination.removed', '10.77.1.1:80'], ['destination.removed', '10.77.1.3:8080']],
      );
      await readBack(t);
    });

    it('changes service settings (scheduler, persistence)', async () => {
      await lb.apply(base);
      const t = withService(base, web.match, (s) => ({ ...s, algo: 'wlc', persistence: { timeoutS: 600 } }));
      const r = await lb.apply(t);
      assert.deepEqual(r.changes, [{ kind: 'service.changed', service: 'TCP 10.77.0.100:80', fields: ['algo', 'persistence'] }]);
      await readBack(t);
    });

    it('switches to the sorry server when no destination has a positive weight, and back', async () => {
      const quiesced = withService(base, marked.match, (s) => ({ ...s, destinations: s.destinations.map((d) => ({ ...d, weight: 0 })) }));
      await lb.apply(quiesced);
      const sorryOf = async () => (await lb.read()).services.find((s) => s.match.kind === 'fwmark')?.sorry;
      assert.deepEqual(await sorryOf(), { address: '10.77.2.9', port: 0, kind: 'NAT' }, 'all quiesced: sorry server in use');
      await readBack(quiesced);
      const empty = withService(base, marked.match, (s) => ({ ...s, destinations: [] }));
      await lb.apply(empty);
      assert.deepEqual(await sorryOf(), { address: '10.77.2.9', port: 0, kind: 'NAT' }, 'no destinations: sorry server in use');
      await readBack(empty);
      const r = await lb.apply(base);
      assert.ok(r.changes.some((c) => c.kind === 'service.changed' && c.fields.includes('sorry')), JSON.stringify(r.changes));
      assert.equal(await sorryOf(), undefined, 'destinations back: sorry server out');
      await readBack(base);
    });

    it('repairs drift: after an external flush read() is empty and apply() restores the table', async () => {
      await lb.apply(base);
      await h.flushBehindBack();
      assert.deepEqual(await lb.read(), { services: [] });
      const r = await lb.apply(base);
      assert.equal(r.changes.filter((c) => c.kind === 'service.added').length, 3, JSON.stringify(r.changes));
      await readBack(base);
    });

    it('rejects a malformed table without touching the data plane', async () => {
      const bad: LbTable[] = [
        { services: [{ ...web, destinations: [dest('10.77.1.1', -1)] }] },
        { services: [{ ...web, destinations: [dest('fd77::1', 1)] }] },
        { services: [web, web] },
        { services: [{ ...web, algo: 'fastest' as LbService['algo'] }] },
        { services: [{ ...web, match: { kind: 'address', address: '10.77.0.300', port: 80, protocol: 'TCP' } }] },
      ];
      for (const t of bad) {
        await assert.rejects(lb.apply(t), (e: unknown) => e instanceof LbError && e.code === 'INVALID_TABLE', JSON.stringify(t.services[0]?.destinations));
      }
      await readBack(base);
    });

    it('carries the forwarding methods it supports and rejects the others by name', async () => {
      for (const kind of ['DR', 'TUN'] as const) {
        const t = withService(base, web.match, (s) => ({ ...s, destinations: [dest('10.77.1.1', 1, 80, kind), dest('10.77.1.2', 1)] }));
        if (h.kinds.includes(kind)) {
          await lb.apply(t);
          await readBack(t);
        } else {
          await assert.rejects(lb.apply(t), (e: unknown) => e instanceof LbError && e.code === 'UNSUPPORTED' && e.message.includes(kind));
          await readBack(base);
        }
      }
      await lb.apply(base);
    });

    it('flush() empties the data plane, entries another adapter left included (lvs_flush)', async () => {
      await lb.apply(base);
      const left = await h.create();
      await left.apply(withService(base, web.match, (s) => ({ ...s, algo: 'rr' })));
      await left.close({ keep: true });
      const fresh = await h.create();
      await fresh.flush();
      assert.deepEqual(await h.dataplane(), { services: [] });
      assert.deepEqual(await fresh.read(), { services: [] });
      // and it goes on working: the next apply starts from the empty data plane
      assert.deepEqual(kinds((await fresh.apply({ services: [web] })).changes).filter((k) => !k.startsWith('destination')), ['service.added']);
      assert.deepEqual(await h.dataplane(), normalizeTable({ services: [web] }));
      await fresh.close();
      assert.deepEqual(kinds((await lb.apply(base)).changes).filter((k) => !k.startsWith('destination')), ['service.added', 'service.added', 'service.added']);
      await readBack(base);
    });

    it('close({ all: true }) removes entries another adapter made as well (lvs_flush_on_stop)', async () => {
      const fresh = await h.create();
      await fresh.apply({ services: [dns6] });
      await fresh.close({ all: true });
      assert.deepEqual(await h.dataplane(), { services: [] }, 'the entries only `lb` applied are gone too');
      await assert.rejects(fresh.apply(base), (e: unknown) => e instanceof LbError && e.code === 'CLOSED');
      await lb.apply(base);
      await readBack(base);
    });

    it('close() removes everything it made; close({ keep: true }) leaves it', async () => {
      const other = await h.create();
      await other.apply(base);
      await other.close({ keep: true });
      assert.deepEqual(await h.dataplane(), normalizeTable(base), 'kept');
      await lb.close();
      await lb.close(); // idempotent
      assert.deepEqual(await h.dataplane(), { services: [] });
      await assert.rejects(lb.apply(base), (e: unknown) => e instanceof LbError && e.code === 'CLOSED');
    });
  });
}
