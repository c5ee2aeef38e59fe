// The behaviour every VrrpNet must have, run against the memory fake (test/unit/vrrpNet-fake.test.ts)
// and against raw sockets in network namespaces (test/netns/vrrp-socket.test.ts), like libp2p's
// interface-compliance-tests. Each test opens its own endpoints with its own VRIDs, so the tests of
// one pair do not see each other's adverts.
//
// "Nothing arrives" is checked with a sentinel: after the packet that must not be delivered, A sends
// one that must be, through the same sockets, and the check is made once the sentinel is in (packets
// between two hosts on one link keep their order).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { DropReason, EndpointHandlers, EndpointSpec, ReceivedAdvert, VrrpNet, VrrpNetStats } from '../../adapters/vrrp/types.js';

export interface VrrpNetPair {
  a: VrrpNet;
  b: VrrpNet;
  /** base specs of each side: same interface name on one link, multicast, v3, 1 s (other fields are set per test) */
  specA: EndpointSpec;
  specB: EndpointSpec;
  /** the source address each side's adverts carry (what the other side sees) */
  addrA: string;
  addrB: string;
  /** an address on the link that neither side has (sending to it must not fail) */
  stranger: string;
  /** a net's stats; async so that a net in another process can answer */
  stats(side: 'a' | 'b'): Promise<VrrpNetStats>;
  cleanup(): Promise<void>;
}

export interface ContractOptions {
  /** how long to wait for something that must happen (default 3000 ms) */
  timeoutMs?: number;
}

export function runVrrpNetContract(name: string, makePair: () => Promise<VrrpNetPair>, opts: ContractOptions = {}): void {
  const timeoutMs = opts.timeoutMs ?? 3000;

  describe(`VrrpNet contract: ${name}`, () => {
    let p: VrrpNetPair;
    before(async () => {
      p = await makePair();
    });
    after(async () => {
      await p?.cleanup();
    });

    const eventually = async (what: string, check: () => boolean | Promise<boolean>) => {
      const end = Date.now() + timeoutMs;
      while (!(await check())) {
        if (Date.now() > end) assert.fail(`timed out after ${timeoutMs} ms waiting for: ${what}`);
        await new Promise((r) => setTimeout(r, 5));
      }
    };

    /**
     * Open an endpoint on side a or b with the base spec plus `over`, and wait until it is open: a
     * net in another process answers `open` later, and reports `srcIp` once it has.
     */
    const open = async (side: 'a' | 'b', over: Partial<EndpointSpec> & { vrid: number }) => {
      const base = side === 'a' ? p.specA : p.specB;
      const spec: EndpointSpec = { ...base, ...over, instance: `${side}-${over.vrid}-${over.instance ?? ''}` };
      const rec = recorder();
      const ep = (side === 'a' ? p.a : p.b).open(spec, rec.handlers);
      await eventually(`${spec.instance} open`, () => ep.srcIp !== undefined);
      return Object.assign(rec, { ep, spec });
    };

    const fam = () => p.specA.family;
    const v2only = (fn: () => Promise<void>) => async (t: { skip(msg: string): void }) => {
      // VRRPv2 (and its authentication and fixed interval) is IPv4 only in keepalived
      if (fam() !== 4) return t.skip('VRRPv2 is IPv4 only');
      await fn();
    };

    it('delivers an advert from A to B with its fields, and counts it on both sides', async () => {
      const a = await open('a', { vrid: 11 });
      const b = await open('b', { vrid: 11 });
      assert.equal(a.ep.srcIp, p.addrA);
      a.ep.send(150);
      await eventually('B receives the advert', () => b.adverts.length === 1);
      const rx = b.adverts[0] as ReceivedAdvert;
      assert.equal(rx.src, p.addrA);
      if (fam() === 4) assert.equal(rx.dst, p.specB.mcastGroup);
      else assert.ok(rx.dst === undefined || rx.dst === p.specB.mcastGroup, `dst ${rx.dst}`);
      assert.equal(rx.addressMismatch, false);
      assert.deepEqual({ ...rx.advert }, {
        version: 3, vrid: 11, priority: 150, intervalCs: p.specA.intervalCs, addresses: [...p.specA.addresses], authType: 0,
      });
      assert.deepEqual(b.drops, []);
      const [sa, sb] = [await p.stats('a'), await p.stats('b')];
      assert.equal(sa.endpoints[a.spec.instance]?.tx, 1);
      assert.equal(sb.endpoints[b.spec.instance]?.rx, 1);
      assert.ok(sb.net.rx >= 1);
      a.ep.close();
      b.ep.close();
    });

    it('delivers priority 0 (the master leaving) and a v3 interval other than ours', async () => {
      const a = await open('a', { vrid: 12 });
      const b = await open('b', { vrid: 12, intervalCs: 200 });
      a.ep.send(0);
      a.ep.send(100, 50); // v3: a backup adopts the master's interval, so a mismatch is not dropped
      await eventually('B receives both adverts', () => b.adverts.length === 2);
      assert.deepEqual(b.adverts.map((x) => [x.advert.priority, x.advert.intervalCs]), [[0, 100], [100, 50]]);
      a.ep.close();
      b.ep.close();
    });

    it('counts an advert for a VRID nobody has as unknown-vrid on the receiving net', async () => {
      const a13 = await open('a', { vrid: 13 });
      const a14 = await open('a', { vrid: 14 });
      const b14 = await open('b', { vrid: 14 });
      const before = (await p.stats('b')).net['unknown-vrid'];
      a13.ep.send(100);
      a14.ep.send(100);
      await eventually('the sentinel arrives', () => b14.adverts.length === 1);
      await eventually('unknown-vrid counted', async () => (await p.stats('b')).net['unknown-vrid'] === before + 1);
      assert.deepEqual(b14.drops, []);
      for (const x of [a13, a14, b14]) x.ep.close();
    });

    it('drops a PASS password mismatch as auth-failure and a missing one as auth-type-mismatch', v2only(async () => {
      const v2 = { version: 2 as const };
      const a = await open('a', { ...v2, vrid: 15, auth: { type: 'PASS', pass: 'alpha' } });
      const aNone = await open('a', { ...v2, vrid: 16 });
      const b = await open('b', { ...v2, vrid: 15, auth: { type: 'PASS', pass: 'bravo' } });
      const bPass = await open('b', { ...v2, vrid: 16, auth: { type: 'PASS', pass: 'alpha' } });
      a.ep.send(100);
      aNone.ep.send(100);
      await eventually('both dropped', () => b.drops.length === 1 && bPass.drops.length === 1);
      assert.deepEqual(b.drops.map((d) => [d.reason, d.src]), [['auth-failure', p.addrA]]);
      assert.deepEqual(bPass.drops.map((d) => [d.reason, d.src]), [['auth-type-mismatch', p.addrA]]);
      assert.equal(b.adverts.length + bPass.adverts.length, 0);
      const st = (await p.stats('b')).endpoints;
      assert.equal(st[b.spec.instance]?.['auth-failure'], 1);
      assert.equal(st[b.spec.instance]?.rx, 0);
      for (const x of [a, aNone, b, bPass]) x.ep.close();
    }));

    it('accepts a PASS advert with the right password, and AH (IP protocol 51) with the right key only', v2only(async () => {
      const v2 = { version: 2 as const };
      const a = await open('a', { ...v2, vrid: 17, auth: { type: 'PASS', pass: 'secret1' } });
      const b = await open('b', { ...v2, vrid: 17, auth: { type: 'PASS', pass: 'secret1' } });
      const aAh = await open('a', { ...v2, vrid: 18, auth: { type: 'AH', pass: 'k3y' } });
      const bAh = await open('b', { ...v2, vrid: 18, auth: { type: 'AH', pass: 'k3y' } });
      const aBad = await open('a', { ...v2, vrid: 19, auth: { type: 'AH', pass: 'wrong' } });
      const bAh2 = await open('b', { ...v2, vrid: 19, auth: { type: 'AH', pass: 'k3y' } });
      a.ep.send(120);
      aAh.ep.send(130);
      aAh.ep.send(131); // the AH sequence number must grow
      aBad.ep.send(140);
      await eventually('PASS and AH adverts arrive', () => b.adverts.length === 1 && bAh.adverts.length === 2 && bAh2.drops.length === 1);
      assert.equal(b.adverts[0]?.advert.authType, 1);
      assert.deepEqual([...(b.adverts[0]?.advert.authData ?? [])], [...Buffer.from('secret1\0')]);
      assert.deepEqual(bAh.adverts.map((x) => [x.advert.priority, x.advert.authType]), [[130, 2], [131, 2]]);
      assert.equal(bAh2.drops[0]?.reason, 'auth-failure');
      for (const x of [a, b, aAh, bAh, aBad, bAh2]) x.ep.close();
    }));

    it('drops a VRRPv2 advert with another interval as interval-mismatch', v2only(async () => {
      const a = await open('a', { version: 2, vrid: 20, intervalCs: 100 });
      const b = await open('b', { version: 2, vrid: 20, intervalCs: 200 });
      a.ep.send(100);
      await eventually('dropped', () => b.drops.length === 1);
      assert.equal(b.drops[0]?.reason, 'interval-mismatch');
      assert.equal(b.adverts.length, 0);
      a.ep.close();
      b.ep.close();
    }));

    it('sends unicast to each peer; with checkUnicastSrc a non-peer is dropped as unknown-peer', async () => {
      const a = await open('a', { vrid: 21, unicastPeers: [{ address: p.addrB }, { address: p.stranger }] });
      const b = await open('b', { vrid: 21, unicastPeers: [{ address: p.addrA }], checkUnicastSrc: true });
      const a2 = await open('a', { vrid: 22, unicastPeers: [{ address: p.addrB }] });
      const b2 = await open('b', { vrid: 22, unicastPeers: [{ address: p.stranger }], checkUnicastSrc: true });
      a.ep.send(100);
      a2.ep.send(100);
      await eventually('the peer receives, the non-peer drops', () => b.adverts.length === 1 && b2.drops.length === 1);
      if (fam() === 4) assert.equal(b.adverts[0]?.dst, p.addrB);
      assert.equal(b.adverts[0]?.src, p.addrA);
      assert.deepEqual(b2.drops.map((d) => [d.reason, d.src]), [['unknown-peer', p.addrA]]);
      assert.equal((await p.stats('a')).endpoints[a.spec.instance]?.tx, 2, 'one packet per peer');
      for (const x of [a, b, a2, b2]) x.ep.close();
    });

    it('tells apart two unicast endpoints with one VRID by the sender', async () => {
      const a = await open('a', { vrid: 23, unicastPeers: [{ address: p.addrB }] });
      const bOther = await open('b', { vrid: 23, instance: 'other', unicastPeers: [{ address: p.stranger }] });
      const bA = await open('b', { vrid: 23, instance: 'fromA', unicastPeers: [{ address: p.addrA }] });
      a.ep.send(100);
      await eventually('the endpoint peering with A receives it', () => bA.adverts.length === 1);
      assert.equal(bOther.adverts.length + bOther.drops.length, 0);
      for (const x of [a, bOther, bA]) x.ep.close();
    });

    it('IPv4: drops a multicast advert on a unicast endpoint (mode-mismatch) and checks a peer TTL range', async (t) => {
      // IPv6 raw sockets report neither destination nor hop limit (see adapters/vrrp/socket.ts)
      if (fam() !== 4) return t.skip('IPv4 only');
      const keepJoined = await open('b', { vrid: 24 }); // B listens to the group
      const a = await open('a', { vrid: 25 });
      const b = await open('b', { vrid: 25, unicastPeers: [{ address: p.addrA }] });
      const aTtl = await open('a', { vrid: 26, unicastPeers: [{ address: p.addrB }], unicastTtl: 64 });
      const bTtl = await open('b', { vrid: 26, unicastPeers: [{ address: p.addrA, minTtl: 250 }] });
      a.ep.send(100);
      aTtl.ep.send(100);
      await eventually('both dropped', () => b.drops.length === 1 && bTtl.drops.length === 1);
      assert.equal(b.drops[0]?.reason, 'mode-mismatch');
      assert.equal(bTtl.drops[0]?.reason, 'bad-ttl');
      for (const x of [keepJoined, a, b, aTtl, bTtl]) x.ep.close();
    });

    it('flags a different address list but delivers the advert', async () => {
      const other = fam() === 4 ? '10.99.0.222' : 'fe80::222';
      const a = await open('a', { vrid: 27, addresses: [other] });
      const b = await open('b', { vrid: 27 });
      a.ep.send(100);
      await eventually('delivered', () => b.adverts.length === 1);
      assert.equal(b.adverts[0]?.addressMismatch, true);
      assert.deepEqual(b.adverts[0]?.advert.addresses, [other]);
      a.ep.close();
      b.ep.close();
    });

    it('close is idempotent, stops delivery, and a send after close is an error, not a throw', async () => {
      const a28 = await open('a', { vrid: 28 });
      const a29 = await open('a', { vrid: 29 });
      const b28 = await open('b', { vrid: 28 });
      const b29 = await open('b', { vrid: 29 });
      a28.ep.send(100);
      await eventually('delivered while open', () => b28.adverts.length === 1);
      b28.ep.close();
      b28.ep.close();
      const before = (await p.stats('b')).net['unknown-vrid'];
      a28.ep.send(101);
      a29.ep.send(100);
      await eventually('the sentinel arrives', () => b29.adverts.length === 1);
      await eventually('the closed VRID counted as unknown', async () => (await p.stats('b')).net['unknown-vrid'] === before + 1);
      assert.equal(b28.adverts.length, 1);
      assert.equal((await p.stats('b')).endpoints[b28.spec.instance], undefined);
      a29.ep.close();
      a29.ep.close();
      assert.doesNotThrow(() => a29.ep.send(100));
      await eventually('send after close reported', () => a29.sendErrors.length === 1);
      assert.equal(a29.sendErrors[0]?.name, 'VrrpSocketError');
      for (const x of [a28, b29]) x.ep.close();
    });

    it('net close is idempotent', async () => {
      const a = await open('a', { vrid: 30 });
      await p.a.close();
      await p.a.close();
      assert.doesNotThrow(() => a.ep.close());
    });
  });
}

interface Recorder {
  adverts: ReceivedAdvert[];
  drops: { reason: DropReason; src: string | undefined; detail: string | undefined }[];
  sendErrors: Error[];
  handlers: EndpointHandlers & { onSendError(err: Error): void };
}

export function recorder(): Recorder {
  const r: Recorder = {
    adverts: [],
    drops: [],
    sendErrors: [],
    handlers: {
      onAdvert: (rx) => void r.adverts.push(rx),
      onDrop: (reason, src, detail) => void r.drops.push({ reason, src, detail }),
      onSendError: (err) => void r.sendErrors.push(err),
    },
  };
  return r;
}

