// The VRRP actor wiring (actors/vrrp.ts, actors/daemon.ts) on fakes: two nodes on the in-memory
// LAN with fake IP stacks and one simulated clock. Config in, VIPs, GARPs, faults, trackers and
// bus events out.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SimulatedClock } from 'xstate';
import { Bus, type BusEvent } from '../../actors/bus.js';
import { silentLogger } from '../../actors/log.js';
import { resolveAll, resolveInstance, VrrpInstanceActor } from '../../actors/vrrp.js';
import { createMemoryLan } from '../fakes/vrrpNet.js';
import { FakeIpNet } from '../fakes/ipNet.js';
import { parse } from '../helpers.js';

const conf = (prio: number, extra = '', global = '') => `
global_defs {
  router_id n${prio}
${global}}
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 51
  priority ${prio}
  advert_int 1
${extra}  virtual_ipaddress {
    10.0.0.100/24
    10.0.0.101/24 dev eth0 label eth0:1 no_track
  }
}
`;

async function node(lan: ReturnType<typeof createMemoryLan>, clock: SimulatedClock, name: string, addr: string, text: string) {
  const r = parse(text);
  assert.deepEqual(r.diagnostics.filter((d) => d.severity !== 'warning'), []);
  const ip = new FakeIpNet();
  const bus = new Bus(name, () => clock.now());
  const events: BusEvent[] = [];
  bus.subscribe((e) => events.push(e));
  const inst = new VrrpInstanceActor(resolveAll(r.config)[0]!, {
    net: lan.net(name, { eth0: [addr] }),
    ip,
    bus,
    log: silentLogger(),
    clock,
  });
  await inst.start();
  return { inst, ip, events, vips: async () => (await ip.addresses('eth0')).map((a) => a.address).sort() };
}

/** step the clock 10 ms at a time, letting promises (fake netlink) settle in between */
async function advance(clock: SimulatedClock, ms: number) {
  for (let t = 0; t < ms; t += 10) {
    clock.increment(10);
    await new Promise((r) => setImmediate(r));
  }
}

test('config → machine input and wire spec: global defaults, overrides, strict mode', () => {
  const r = parse(`global_defs {
  vrrp_garp_master_repeat 3
  vrrp_garp_master_refresh 60
  vrrp_strict
}
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 51
  priority 255
  advert_int 0.5
  version 3
  garp_master_delay 2
  unicast_src_ip 10.0.0.1
  virtual_ipaddress {
    10.0.0.100/24
  }
}
`);
  const x = resolveInstance(r.config.instances[0]!, r.config.global);
  assert.equal(x.input.advertIntervalCs, 50);
  assert.deepEqual(
    { repeat: x.input.garp.masterRepeat, delay: x.input.garp.masterDelayMs, refresh: x.input.garp.masterRefreshMs },
    { repeat: 3, delay: 2000, refresh: 60_000 },
  );
  // strict: lower_prio_no_advert forced, an owner ignores adverts
  assert.equal(x.input.lowerPrioNoAdvert, true);
  assert.equal(x.endpoint.ownerIgnoreAdverts, true);
  assert.equal(x.endpoint.mcastGroup, '224.0.0.18');
  assert.equal(x.endpoint.srcIp, undefined, 'unicast_src_ip only applies with unicast peers');
  assert.deepEqual(x.trackedInterfaces, [{ name: 'eth0', weight: 0, reverse: false, own: true }]);
});

test('garp_lower_prio_repeat/_delay: unset, the global master repeat and delay (keepalived), 0 in strict mode; vrrp_min_garp', () => {
  const inst = (name: string, vrid: number, extra = '') =>
    `vrrp_instance ${name} {\n  interface eth0\n  virtual_router_id ${vrid}\n  priority 100\n  garp_master_repeat 2\n${extra}  virtual_ipaddress {\n    10.0.0.${vrid}/24\n  }\n}\n`;
  const lower = (text: string) => {
    const r = parse(text);
    assert.deepEqual(r.diagnostics.filter((d) => d.severity === 'error'), []);
    return r.config.instances.map((i) => {
      const g = resolveInstance(i, r.config.global).input.garp;
      return [i.name, g.masterRepeat, g.masterDelayMs, g.lowerPrioRepeat, g.lowerPrioDelayMs];
    });
  };
  // defaults: a MASTER answers a lower-priority advert with 5 GARPs and 5 more after 5 s (the
  // instance's own garp_master_repeat does not count: keepalived takes the global one)
  assert.deepEqual(lower(inst('A', 1) + inst('B', 2, '  garp_lower_prio_repeat 3\n  garp_lower_prio_delay 1\n') + inst('C', 3, '  strict_mode\n')), [
    ['A', 2, 5000, 5, 5000],
    ['B', 2, 5000, 3, 1000],
    ['C', 2, 5000, 0, 0],
  ]);
  assert.deepEqual(lower(`global_defs {\n  vrrp_garp_master_repeat 4\n  vrrp_garp_master_delay 2\n}\n${inst('A', 1)}`), [['A', 2, 2000, 4, 2000]]);
  assert.deepEqual(lower(`global_defs {\n  vrrp_garp_lower_prio_repeat 1\n}\n${inst('A', 1)}`), [['A', 2, 5000, 1, 5000]]);
  // vrrp_min_garp: one GARP, no second burst, for the instances that do not set their own
  const min = (g: string) => {
    const r = parse(`global_defs {\n${g}}\n${inst('A', 1).replace('  garp_master_repeat 2\n', '')}`);
    assert.deepEqual(r.diagnostics.filter((d) => d.code === 'not-acted-on' || d.severity === 'error'), []);
    const x = resolveInstance(r.config.instances[0]!, r.config.global).input.garp;
    return [x.masterRepeat, x.masterDelayMs, x.masterRefreshMs, x.lowerPrioRepeat, x.lowerPrioDelayMs];
  };
  assert.deepEqual(min(''), [5, 5000, 0, 5, 5000]);
  assert.deepEqual(min('  vrrp_min_garp\n'), [1, 0, 0, 1, 0]);
  assert.deepEqual(min('  vrrp_min_garp false\n'), [5, 5000, 0, 5, 5000]);
  // what is set to something else stays, before or after it
  assert.deepEqual(min('  vrrp_garp_master_repeat 3\n  vrrp_min_garp\n'), [3, 0, 0, 3, 0]);
  assert.deepEqual(min('  vrrp_min_garp\n  vrrp_garp_master_delay 1\n'), [1, 1000, 0, 1, 1000]);
});

test('check_unicast_src and owner_ignore_adverts: the instance\'s keyword, else the global one', () => {
  const inst = (name: string, extra: string) => `vrrp_instance ${name} {\n  interface eth0\n  virtual_router_id ${name === 'A' ? 1 : 2}\n  priority 255\n${extra}  unicast_peer {\n    10.0.0.2\n  }\n  virtual_ipaddress {\n    10.0.0.${name === 'A' ? 100 : 101}/24\n  }\n}\n`;
  const r = parse(`global_defs {\n  vrrp_owner_ignore_adverts\n}\n${inst('A', '  check_unicast_src\n')}${inst('B', '  owner_ignore_adverts off\n')}`);
  assert.deepEqual(r.diagnostics.filter((d) => d.code === 'not-acted-on'), []);
  const [a, b] = r.config.instances.map((i) => resolveInstance(i, r.config.global));
  assert.equal(a!.endpoint.checkUnicastSrc, true);
  assert.equal(a!.endpoint.ownerIgnoreAdverts, true, 'the global keyword');
  assert.equal(b!.endpoint.checkUnicastSrc, false);
  assert.equal(b!.endpoint.ownerIgnoreAdverts, false, "the instance's own wins");
});

test('unicast_fault_no_peer with no peers: FAULT from the start and for good, nothing sent; config-test says so; with a peer it runs', async () => {
  const clock = new SimulatedClock();
  const lan = createMemoryLan();
  const text = conf(150, '  unicast_src_ip 10.0.0.1\n  unicast_fault_no_peer\n');
  const w = parse(text).diagnostics.filter((d) => d.code === 'no-unicast-peers');
  assert.equal(w.length, 1);
  assert.match(w[0]!.message, /'VI_1' has unicast_fault_no_peer and no unicast peers: it stays in FAULT/);
  const a = await node(lan, clock, 'a', '10.0.0.1', text);
  await advance(clock, 5000);
  assert.equal(a.inst.state(), 'FAULT');
  assert.deepEqual(a.inst.status().faults, ['no-unicast-peers']);
  assert.equal(a.inst.status().counters?.tx ?? 0, 0, 'no advert, unicast or multicast');
  assert.deepEqual(await a.vips(), []);
  // a tracker change recomputes the faults: the config's stays
  a.inst.setTracker({ kind: 'script', name: 'chk', weight: 0, reverse: false, status: 'ok' });
  await advance(clock, 5000);
  assert.equal(a.inst.state(), 'FAULT');
  await a.inst.shutdown();
  // the same with a peer: no fault, MASTER, adverts to the peer
  const b = await node(lan, clock, 'b', '10.0.0.1', conf(150, '  unicast_src_ip 10.0.0.1\n  unicast_fault_no_peer\n  unicast_peer {\n    10.0.0.2\n  }\n'));
  await advance(clock, 5000);
  assert.equal(b.inst.state(), 'MASTER');
  assert.ok((b.inst.status().counters?.tx ?? 0) > 0);
  // adding the peers on reload replaces the instance (it is a different one), not an in-place change
  const r0 = resolveAll(parse(text).config)[0]!;
  assert.equal(b.inst.reconfigure(r0), undefined);
  await b.inst.shutdown();
});

test('track_src_ip: FAULT while the configured source address is not on the host, back when it returns; without it the address is not watched', async () => {
  const clock = new SimulatedClock();
  const lan = createMemoryLan();
  const src = { address: '10.0.0.1', prefix: 24, family: 4 as const, dev: 'eth0' };
  const start = async (host: string, extra: string) => {
    const r = parse(conf(150, `  unicast_src_ip 10.0.0.1\n${extra}  unicast_peer {\n    10.0.0.2\n  }\n`));
    assert.deepEqual(r.diagnostics.filter((d) => d.code === 'not-acted-on' || d.severity === 'error'), []);
    const ip = new FakeIpNet();
    const inst = new VrrpInstanceActor(resolveAll(r.config)[0]!, { net: lan.net(host, { eth0: ['10.0.0.1'] }), ip, bus: new Bus(host, () => clock.now()), log: silentLogger(), clock });
    return { ip, inst };
  };
  // the address missing at start: FAULT from the start
  const a = await start('a', '  track_src_ip\n');
  await a.inst.start();
  await advance(clock, 5000);
  assert.equal(a.inst.state(), 'FAULT');
  assert.deepEqual(a.inst.status().faults, ['src-ip:10.0.0.1']);
  // added: BACKUP, then MASTER (nobody else)
  await a.ip.addAddresses([src]);
  await advance(clock, 5000);
  assert.equal(a.inst.state(), 'MASTER');
  assert.deepEqual(a.inst.status().faults ?? [], []);
  // deleted behind our back: FAULT, the VIPs go
  await a.ip.removeAddresses([src]);
  await advance(clock, 100);
  assert.equal(a.inst.state(), 'FAULT');
  assert.deepEqual((await a.ip.addresses('eth0')).map((x) => x.address), []);
  // another address coming and going changes nothing
  await a.ip.addAddresses([{ ...src, address: '10.0.0.9' }]);
  await advance(clock, 100);
  assert.equal(a.inst.state(), 'FAULT');
  await a.inst.shutdown();
  // no configured source: nothing to track (keepalived clears it), config-test says so
  const w = parse(conf(150, '  track_src_ip\n')).diagnostics.filter((d) => d.code === 'track-src-ip-unused');
  assert.match(w[0]?.message ?? '', /track_src_ip has no effect without mcast_src_ip/);
  assert.equal(resolveAll(parse(conf(150, '  track_src_ip\n')).config)[0]!.trackedSrc, undefined);
  // without track_src_ip: the same start runs (keepalived sends from the configured address regardless)
  const b = await start('b', '');
  await b.inst.start();
  await advance(clock, 5000);
  assert.equal(b.inst.state(), 'MASTER');
  await b.inst.shutdown();
});

test('two nodes: the higher priority holds both VIPs (label kept) and announces them; the other holds none', async () => {
  const clock = new SimulatedClock();
  const lan = createMemoryLan();
  const a = await node(lan, clock, 'a', '10.0.0.1', conf(150));
  const b = await node(lan, clock, 'b', '10.0.0.2', conf(100));
  await advance(clock, 4000);
  assert.equal(a.inst.state(), 'MASTER');
  assert.equal(b.inst.state(), 'BACKUP');
  assert.deepEqual(await a.vips(), ['10.0.0.100', '10.0.0.101']);
  assert.deepEqual(await b.vips(), []);
  assert.equal((await a.ip.addresses('eth0')).find((x) => x.address === '10.0.0.101')?.label, 'eth0:1');
  // garp_master_repeat 5 (default) × 2 addresses at once
  assert.equal(a.ip.announcements.length, 10);
  const state = a.events.filter((e) => e.type === 'vrrp.state').map((e) => `${e.data['to']}`);
  assert.deepEqual(state, ['BACKUP', 'MASTER']);
  await a.inst.shutdown();
  await b.inst.shutdown();
});

test('the MASTER advertises every advert_int with its current priority, and its BACKUP never takes over', async () => {
  const clock = new SimulatedClock();
  const lan = createMemoryLan();
  const fromA: { at: number; priority: number }[] = [];
  // an IPv4 VRRP frame: the priority is the third byte after the 20-byte IP header
  lan.fault = (f) => ((f.from === 'a' && f.proto === 112 && fromA.push({ at: clock.now(), priority: f.bytes[22]! })), 'deliver');
  const a = await node(lan, clock, 'a', '10.0.0.1', conf(150));
  const b = await node(lan, clock, 'b', '10.0.0.2', conf(100));
  await advance(clock, 4000);
  assert.equal(a.inst.state(), 'MASTER');
  const first = fromA.length;
  await advance(clock, 10_000); // nearly three of b's Master_Down_Intervals (3.6 s)
  assert.equal(b.inst.state(), 'BACKUP');
  const steady = fromA.slice(first);
  assert.equal(steady.length, 10, 'one advert per second');
  assert.deepEqual(steady.slice(1).map((x, i) => x.at - steady[i]!.at), Array(9).fill(1000));
  assert.ok(steady.every((x) => x.priority === 150));
  // a tracker lowers the priority while MASTER (still above b's): the next adverts carry it
  a.inst.setTracker({ kind: 'script', name: 'chk', weight: -20, reverse: false, status: 'failed' });
  const lowered = fromA.length;
  await advance(clock, 3000);
  assert.equal(a.inst.state(), 'MASTER');
  assert.equal(b.inst.state(), 'BACKUP');
  assert.ok(fromA.length - lowered >= 3);
  assert.deepEqual(fromA.slice(lowered).map((x) => x.priority), Array(fromA.length - lowered).fill(130));
  await a.inst.shutdown();
  await b.inst.shutdown();
});

test('a BACKUP accepts its master\'s steady adverts without a machine step; a new priority goes through the machine; silence still ends in MASTER one Master_Down_Interval after the last advert', async () => {
  const clock = new SimulatedClock();
  const lan = createMemoryLan();
  const toB: number[] = [];
  lan.fault = (f) => ((f.from === 'a' && f.proto === 112 && toB.push(clock.now())), 'deliver');
  const a = await node(lan, clock, 'a', '10.0.0.1', conf(150));
  const b = await node(lan, clock, 'b', '10.0.0.2', conf(100));
  await advance(clock, 4000);
  assert.equal(a.inst.state(), 'MASTER');
  const fast0 = b.inst.fastAccepted;
  await advance(clock, 10_000); // nearly three of b's Master_Down_Intervals (3.6 s)
  assert.equal(b.inst.state(), 'BACKUP', 'the fast path restarts the Master_Down timer');
  assert.equal(b.inst.fastAccepted - fast0, 10, 'every steady advert, without a machine step');
  // a lower priority from the master (still above b's): the machine records it, then fast again
  a.inst.setTracker({ kind: 'script', name: 'chk', weight: -20, reverse: false, status: 'failed' });
  const fast1 = b.inst.fastAccepted;
  await advance(clock, 3000);
  assert.equal(b.inst.state(), 'BACKUP');
  assert.equal(b.inst.fastAccepted - fast1, 2, 'the first advert at 130 took the machine\'s path');
  // silence: b takes over Master_Down_Interval (3 × 1 s + skew (256 − 100) / 256 s) after a's last advert
  lan.partition('a', 'b');
  const last = toB.at(-1)!;
  await advance(clock, 5000);
  const took = b.events.find((e) => e.type === 'vrrp.state' && e.data.to === 'MASTER');
  assert.ok(took, 'b became MASTER');
  const after = Date.parse(took.time) - last;
  const masterDown = 3000 + ((256 - 100) * 1000) / 256; // 3609.375 ms; the clock moves 10 ms a step
  assert.ok(after >= masterDown && after < masterDown + 10, `MASTER ${after} ms after the last advert`);
  await a.inst.shutdown();
  await b.inst.shutdown();
});

test('the master’s interface goes down: FAULT, VIPs removed; the other node takes over', async () => {
  const clock = new SimulatedClock();
  const lan = createMemoryLan();
  const a = await node(lan, clock, 'a', '10.0.0.1', conf(150));
  const b = await node(lan, clock, 'b', '10.0.0.2', conf(100));
  await advance(clock, 4000);
  a.ip.setLinkUp('eth0', false);
  await advance(clock, 10);
  assert.equal(a.inst.state(), 'FAULT');
  assert.deepEqual(await a.vips(), []);
  await advance(clock, 700); // the FAULT sent priority 0: Skew_Time only
  assert.equal(b.inst.state(), 'MASTER');
  const fault = a.events.find((e) => e.type === 'vrrp.state' && e.data['to'] === 'FAULT');
  assert.equal(fault?.data['detail'], 'interface:eth0');
  a.ip.setLinkUp('eth0', true);
  await advance(clock, 4000);
  assert.equal(a.inst.state(), 'MASTER', 'back, and preempting');
  assert.equal(b.inst.state(), 'BACKUP');
  await a.inst.shutdown();
  await b.inst.shutdown();
});

test('a failing weighted tracker lowers the priority; the chain of events links cause to effect', async () => {
  const clock = new SimulatedClock();
  const lan = createMemoryLan();
  const a = await node(lan, clock, 'a', '10.0.0.1', conf(150));
  const b = await node(lan, clock, 'b', '10.0.0.2', conf(100));
  await advance(clock, 4000);
  const bus = new Bus('a', () => clock.now());
  const trackEvent = bus.publish('track', 'chk', 'track.state', {
    type: 'track.state', tracker: 'chk', kind: 'script', state: 'failed', previous: 'ok', cause: 'exit 1', consecutive: 1, weight: -60, reverse: false,
  });
  a.inst.setTracker({ kind: 'script', name: 'chk', weight: -60, reverse: false, status: 'failed' }, trackEvent);
  await advance(clock, 4000);
  assert.equal(a.inst.state(), 'BACKUP');
  assert.equal(b.inst.state(), 'MASTER');
  const prio = a.events.find((e) => e.type === 'vrrp.priority');
  assert.deepEqual([prio?.data['from'], prio?.data['to'], prio?.data['cause']], [150, 90, 'script chk failed']);
  // "chk failed" → "priority 150→90" → "MASTER→BACKUP": one chain
  assert.equal(prio?.cause, trackEvent.id);
  const lost = a.events.filter((e) => e.type === 'vrrp.state').at(-1);
  assert.equal(lost?.data['to'], 'BACKUP');
  assert.equal(lost?.cause, prio?.id);
  assert.equal(lost?.correlation, trackEvent.id);
  await a.inst.shutdown();
  await b.inst.shutdown();
});

test('a VIP deleted behind the MASTER’s back is put back after a quick re-election; no_track ones are ignored', async () => {
  const clock = new SimulatedClock();
  const lan = createMemoryLan();
  const a = await node(lan, clock, 'a', '10.0.0.1', conf(150));
  await advance(clock, 4000);
  a.ip.deleteBehindBack({ address: '10.0.0.101', family: 4, dev: 'eth0' }); // no_track
  await advance(clock, 100);
  assert.equal(a.inst.state(), 'MASTER');
  a.ip.deleteBehindBack({ address: '10.0.0.100', family: 4, dev: 'eth0' });
  await advance(clock, 10);
  assert.equal(a.inst.state(), 'BACKUP');
  await advance(clock, 700);
  assert.equal(a.inst.state(), 'MASTER');
  assert.ok((await a.vips()).includes('10.0.0.100'));
  await a.inst.shutdown();
});

test('shutdown of a MASTER: priority 0 on the wire, VIPs removed, actor done', async () => {
  const clock = new SimulatedClock();
  const lan = createMemoryLan();
  const a = await node(lan, clock, 'a', '10.0.0.1', conf(150));
  const b = await node(lan, clock, 'b', '10.0.0.2', conf(100));
  await advance(clock, 4000);
  await a.inst.shutdown();
  assert.deepEqual(await a.vips(), []);
  await advance(clock, 620); // Skew_Time of priority 100 = 609.4 ms
  assert.equal(b.inst.state(), 'MASTER');
  await b.inst.shutdown();
});
