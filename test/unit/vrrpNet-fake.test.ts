// The memory LAN (test/fakes/vrrpNet.ts): the VrrpNet contract, then what only the fake has
// (partitions, fault hooks, manual flushing) and the properties the VRRP property tests rely on.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { EndpointSpec, Family } from '../../adapters/vrrp/types.js';
import { recorder, runVrrpNetContract } from '../contract/vrrpNet.contract.js';
import { createMemoryLan, type LanFrame } from '../fakes/vrrpNet.js';
import * as bytes from '../fixtures/vrrpBytes.js';

const ADDR = { A: { 4: '10.99.0.11', 6: 'fe80::a' }, B: { 4: '10.99.0.12', 6: 'fe80::b' }, C: { 4: '10.99.0.13', 6: 'fe80::c' } };

function baseSpec(family: Family, over: Partial<EndpointSpec> = {}): EndpointSpec {
  return {
    instance: 'VI_1', iface: 'eth0', family, version: 3, vrid: 1, intervalCs: 100,
    addresses: family === 4 ? ['10.99.0.100'] : ['fe80::100'], mcastGroup: family === 4 ? '224.0.0.18' : 'ff02::12',
    unicastPeers: [], ...over,
  };
}

const host = (h: keyof typeof ADDR) => ({ eth0: [ADDR[h][4], 'fd99::1' + h, ADDR[h][6]] });

for (const family of [4, 6] as const) {
  runVrrpNetContract(`memory LAN, IPv${family}`, async () => {
    const lan = createMemoryLan();
    const a = lan.net('A', host('A'));
    const b = lan.net('B', host('B'));
    return {
      a, b, specA: baseSpec(family), specB: baseSpec(family), addrA: ADDR.A[family], addrB: ADDR.B[family],
      stranger: family === 4 ? '192.0.2.1' : '2001:db8::1', // RFC 5737 / RFC 3849 documentation addresses
      stats: async (side) => (side === 'a' ? a : b).stats(),
      cleanup: async () => {
        await a.close();
        await b.close();
      },
    };
  }, { timeoutMs: 500 });
}

describe('memory LAN', () => {
  const three = (opts: Parameters<typeof createMemoryLan>[0] = {}) => {
    const lan = createMemoryLan(opts);
    const nets = { A: lan.net('A', host('A')), B: lan.net('B', host('B')), C: lan.net('C', host('C')) };
    const open = (h: keyof typeof nets, over: Partial<EndpointSpec> = {}) => {
      const r = recorder();
      return Object.assign(r, { ep: nets[h].open(baseSpec(4, { instance: h, ...over }), r.handlers) });
    };
    return { lan, nets, open };
  };

  it('delivers in a microtask, not inside send() and without timers', async () => {
    const { open } = three();
    const a = open('A'), b = open('B'), c = open('C');
    a.ep.send(100);
    assert.equal(b.adverts.length, 0, 'not inside send()');
    await null; // one microtask turn: a timer-based delivery would not have run yet
    assert.equal(b.adverts.length, 1);
    assert.equal(c.adverts.length, 1);
    assert.equal(a.adverts.length, 0, 'no multicast loop back to the sender');
  });

  it('with autoFlush off, delivers only on flush(), in send order, answers included', async () => {
    const { lan, open } = three({ autoFlush: false });
    const a = open('A'), b = open('B');
    // B answers every advert from A at once, as a master does on a lower priority
    b.handlers.onAdvert = (rx) => {
      b.adverts.push(rx);
      if (rx.advert.priority > 0) b.ep.send(200);
    };
    a.ep.send(1);
    a.ep.send(2);
    await null;
    assert.equal(lan.pending, 2, 'A → B twice (C has no endpoint, so no socket)');
    assert.equal(b.adverts.length, 0);
    assert.equal(lan.flush(), 4, '2 from A, then B answers each');
    assert.deepEqual(b.adverts.map((x) => x.advert.priority), [1, 2]);
    assert.deepEqual(a.adverts.map((x) => x.advert.priority), [200, 200]);
    assert.equal(lan.pending, 0);
  });

  it('partitions and heals pairs of hosts', async () => {
    const { lan, open } = three();
    const a = open('A'), b = open('B'), c = open('C');
    lan.partition('A', 'B');
    a.ep.send(100);
    b.ep.send(101);
    await null;
    assert.equal(b.adverts.length, 0);
    assert.equal(a.adverts.length, 0);
    assert.deepEqual(c.adverts.map((x) => x.advert.priority), [100, 101]);
    lan.heal('B', 'A');
    a.ep.send(102);
    await null;
    assert.deepEqual(b.adverts.map((x) => x.advert.priority), [102]);
  });

  it('applies the fault hook per receiver: drop, duplicate', async () => {
    const { lan, open } = three();
    const seen: LanFrame[] = [];
    lan.fault = (f) => {
      seen.push(f);
      return f.to === 'B' ? 'drop' : 'duplicate';
    };
    const a = open('A'), b = open('B'), c = open('C');
    a.ep.send(100);
    await null;
    assert.deepEqual(seen.map((f) => [f.from, f.to, f.src, f.dst, f.proto]), [
      ['A', 'B', '10.99.0.11', '224.0.0.18', 112],
      ['A', 'C', '10.99.0.11', '224.0.0.18', 112],
    ]);
    assert.equal(b.adverts.length, 0);
    assert.equal(c.adverts.length, 2);
    assert.equal(lan.sent, 2);
    void a;
  });

  it('runs the same checks as the socket: hostile frames are counted, not thrown', () => {
    // bytes from the independent builder, as if sent by a host that is not on the LAN
    const { lan, nets, open } = three({ autoFlush: false });
    const b = open('B', { vrid: 51 });
    const inject = (pkt: Uint8Array) =>
      lan.inject('X', { iface: 'eth0', family: 4, proto: 112, src: bytes.SRC, dst: bytes.GROUP, bytes: pkt });
    inject(bytes.ipv4(bytes.vrrp({ version: 3, vrid: 51 }), { ttl: 64 }));
    inject(bytes.ipv4(bytes.vrrp({ version: 3, vrid: 51, checksum: 0x1234 })));
    inject(bytes.ipv4(bytes.vrrp({ version: 3, vrid: 51 })).subarray(0, 25));
    inject(bytes.ipv4(bytes.vrrp({ version: 3, vrid: 52 })));
    inject(bytes.ipv4(bytes.vrrp({ version: 3, vrid: 51 })));
    assert.equal(lan.flush(), 5, 'only B has joined the group');
    assert.deepEqual(b.drops.map((d) => d.reason), ['bad-ttl', 'bad-checksum']);
    assert.deepEqual(b.adverts.map((x) => x.src), [bytes.SRC]);
    const st = nets.B.stats();
    assert.deepEqual([st.net.rx, st.net.truncated, st.net['unknown-vrid']], [5, 1, 1]);
    assert.deepEqual([st.endpoints['B']?.rx, st.endpoints['B']?.['bad-ttl'], st.endpoints['B']?.['bad-checksum']], [1, 1, 1]);
  });

  it('a flush that never goes quiet throws instead of hanging', () => {
    const { lan, open } = three({ autoFlush: false, maxDeliveriesPerFlush: 50 });
    const a = open('A'), b = open('B');
    a.handlers.onAdvert = () => a.ep.send(100);
    b.handlers.onAdvert = () => b.ep.send(100);
    a.ep.send(100);
    assert.throws(() => lan.flush(), /more than 50 deliveries/);
  });

  it('is deterministic: the same sends give the same deliveries', async () => {
    const run = async () => {
      const { lan, open } = three({ autoFlush: false });
      const log: string[] = [];
      lan.fault = (f) => (log.push(`${f.from}>${f.to}`), 'deliver');
      const eps = (['A', 'B', 'C'] as const).map((h) => open(h));
      eps.forEach((e, i) => e.ep.send(100 + i));
      lan.flush();
      return [log, eps.map((e) => e.adverts.map((x) => `${x.src}:${x.advert.priority}`))];
    };
    assert.deepEqual(await run(), await run());
  });
});
