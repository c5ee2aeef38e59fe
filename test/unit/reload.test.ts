// Daemon.reload on fakes: one node on the in-memory LAN, a simulated clock. Each case starts a
// MASTER, reloads, and checks the report, the events, the VIPs (never absent unless removed from
// the config) and the adverts (no priority 0 unless an instance stops).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SimulatedClock } from 'xstate';
import { Bus, type BusEvent } from '../../actors/bus.js';
import { Daemon } from '../../actors/daemon.js';
import { silentLogger } from '../../actors/log.js';
import type { VrrpNet } from '../../adapters/vrrp/types.js';
import { createMemoryLan } from '../fakes/vrrpNet.js';
import { FakeIpNet } from '../fakes/ipNet.js';
import { parse } from '../helpers.js';

interface Inst {
  name: string;
  vrid: number;
  prio?: number;
  vips: string[];
  iface?: string;
  advert?: number;
  extra?: string;
}

const conf = (insts: Inst[], top = '') =>
  `global_defs {\n  router_id n1\n}\n${top}` +
  insts
    .map(
      (i) => `vrrp_instance ${i.name} {
  interface ${i.iface ?? 'eth0'}
  virtual_router_id ${i.vrid}
  priority ${i.prio ?? 150}
  advert_int ${i.advert ?? 1}
${i.extra ?? ''}  virtual_ipaddress {
${i.vips.map((v) => `    ${v}/24\n`).join('')}  }
}
`,
    )
    .join('');

/** the adverts each instance sends, by priority */
function spy(net: VrrpNet, sent: { instance: string; priority: number }[]): VrrpNet {
  return {
    open: (spec, h) => {
      const ep = net.open(spec, h);
      return {
        send: (priority, intervalCs) => {
          sent.push({ instance: spec.instance, priority });
          ep.send(priority, intervalCs);
        },
        get srcIp() {
          return ep.srcIp;
        },
        stats: () => ep.stats!(),
        close: () => ep.close(),
      };
    },
    stats: () => net.stats!(),
    close: () => net.close(),
  };
}

async function advance(clock: SimulatedClock, ms: number) {
  for (let t = 0; t < ms; t += 10) {
    clock.increment(10);
    await new Promise((r) => setImmediate(r));
  }
}

async function start(text: string) {
  const clock = new SimulatedClock();
  const lan = createMemoryLan();
  const ip = new FakeIpNet([{ name: 'lo' }, { name: 'eth0' }, { name: 'eth1' }]);
  const removed: string[] = [];
  const added: string[] = [];
  ip.watchAddresses((e) => (e.added ? added : removed).push(e.address));
  const sent: { instance: string; priority: number }[] = [];
  const bus = new Bus('n1', () => clock.now());
  const events: BusEvent[] = [];
  bus.subscribe((e) => events.push(e));
  const r = parse(text);
  assert.deepEqual(r.diagnostics.filter((d) => d.severity === 'error'), []);
  const daemon = new Daemon(r.config, { net: spy(lan.net('n1', { eth0: ['10.0.0.1'], eth1: ['10.1.0.1'] }), sent), ip, log: silentLogger(), bus, clock });
  await daemon.start();
  await advance(clock, 4000); // alone on the LAN: MASTER after Master_Down
  const reload = async (next: string) => {
    const p = parse(next);
    assert.deepEqual(p.diagnostics.filter((d) => d.severity === 'error'), []);
    removed.length = 0;
    added.length = 0;
    sent.length = 0;
    events.length = 0;
    const report = await daemon.reload(p.config);
    await advance(clock, 4000); // a new instance alone on the LAN is MASTER by then
    return report;
  };
  const vips = async () => (await ip.addresses()).map((a) => a.address).filter((a) => !a.endsWith('.1')).sort();
  return { daemon, clock, ip, removed, added, sent, events, reload, vips, states: () => Object.fromEntries(daemon.status().map((s) => [s.instance, s.state])) };
}

const stateChanges = (events: BusEvent[]) => events.filter((e) => e.type === 'vrrp.state');
const zeroAdverts = (sent: { priority: number }[]) => sent.filter((s) => s.priority === 0).length;

const A: Inst = { name: 'VI_1', vrid: 51, vips: ['10.0.0.100'] };
const B: Inst = { name: 'VI_2', vrid: 52, vips: ['10.0.0.200', '10.0.0.201'] };

test('reload of an unchanged config: nothing touched, no transition, no priority 0, no VIP flap', async () => {
  const n = await start(conf([A, B]));
  assert.deepEqual(n.states(), { VI_1: 'MASTER', VI_2: 'MASTER' });
  const report = await n.reload(conf([A, B]));
  assert.deepEqual([report.added, report.removed, report.replaced, report.changed, report.unchanged, report.trackers], [[], [], [], [], 2, 'kept']);
  assert.deepEqual(stateChanges(n.events), []);
  assert.equal(zeroAdverts(n.sent), 0);
  assert.ok(n.sent.length > 0, 'adverts kept flowing');
  assert.deepEqual(n.removed, []);
  assert.deepEqual(n.states(), { VI_1: 'MASTER', VI_2: 'MASTER' });
  const reloaded = n.events.filter((e) => e.type === 'daemon.reloaded');
  assert.equal(reloaded.length, 1);
  await n.daemon.stop();
});

test('priority and advert_int changed in place: MASTER stays, new priority in the adverts', async () => {
  const n = await start(conf([A]));
  const report = await n.reload(conf([{ ...A, prio: 200, advert: 2 }]));
  assert.deepEqual(report.changed, [{ instance: 'VI_1', fields: ['priority', 'advert_int'] }]);
  assert.deepEqual(stateChanges(n.events), []);
  assert.equal(n.events.find((e) => e.type === 'vrrp.priority')?.data.to, 200);
  assert.ok(n.sent.length > 0 && n.sent.every((s) => s.priority === 200), JSON.stringify(n.sent));
  // 4 s at advert_int 2: the adverts now come every 2 s (the first may be from the old 1 s timer)
  assert.ok(n.sent.length <= 3, `adverts in 4 s: ${n.sent.length}`);
  assert.deepEqual(n.removed, []);
  assert.equal(n.daemon.status()[0]!.priority, 200);
  await n.daemon.stop();
});

test('a VIP added, and one moved between instances, without touching the others', async () => {
  const n = await start(conf([A, B]));
  assert.deepEqual(await n.vips(), ['10.0.0.100', '10.0.0.200', '10.0.0.201']);
  // 10.0.0.201 moves from VI_2 to VI_1, 10.0.0.150 is new on VI_1
  const report = await n.reload(conf([{ ...A, vips: ['10.0.0.100', '10.0.0.150', '10.0.0.201'] }, { ...B, vips: ['10.0.0.200'] }]));
  assert.deepEqual(report.changed.map((c) => c.instance).sort(), ['VI_1', 'VI_2']);
  assert.deepEqual(await n.vips(), ['10.0.0.100', '10.0.0.150', '10.0.0.200', '10.0.0.201']);
  // both MASTER: the moved one is handed over in place, never removed; only the new one is added
  assert.deepEqual(n.removed, []);
  assert.deepEqual(n.added, ['10.0.0.150']);
  assert.deepEqual(stateChanges(n.events), []);
  assert.equal(zeroAdverts(n.sent), 0);
  // the new owner watches the moved VIP: lost behind our back, VI_1 steps down
  assert.equal(n.ip.deleteBehindBack({ address: '10.0.0.201', family: 4, dev: 'eth0' }), true);
  await advance(n.clock, 20);
  assert.deepEqual(stateChanges(n.events).map((e) => [e.name, e.data.cause]), [['VI_1', 'vips-lost']]);
  await n.daemon.stop();
});

test('a VIP moving from a MASTER to a BACKUP instance is removed first, before anyone adds it', async () => {
  const n = await start(conf([A, B]));
  // VI_2 is BACKUP behind a better router on the LAN: it must not keep the VIP it is given
  n.daemon.instances.get('VI_2')!.send({ type: 'advert.received', src: '10.0.0.9', priority: 250, intervalCs: 100 });
  await advance(n.clock, 10);
  assert.deepEqual(n.states(), { VI_1: 'MASTER', VI_2: 'BACKUP' });
  const report = await n.daemon.reload(parse(conf([{ ...A, vips: ['10.0.0.100'] }, { ...B, vips: ['10.0.0.200', '10.0.0.201'] }])).config);
  assert.deepEqual(report.changed.map((c) => c.instance), []);
  const r2 = await n.daemon.reload(parse(conf([{ ...A, vips: ['10.0.0.100', '10.0.0.201'] }, { ...B, vips: ['10.0.0.200'] }])).config);
  assert.deepEqual(r2.changed.map((c) => c.instance).sort(), ['VI_1', 'VI_2']);
  assert.deepEqual(await n.vips(), ['10.0.0.100', '10.0.0.201']);
  await n.daemon.stop();
});

test('instances added and removed: the removed one stops with priority 0 and takes its VIPs; the rest stay', async () => {
  const n = await start(conf([A, B]));
  const C: Inst = { name: 'VI_3', vrid: 53, vips: ['10.0.0.30'] };
  const report = await n.reload(conf([A, C]));
  assert.deepEqual([report.added, report.removed, report.unchanged], [['VI_3'], ['VI_2'], 1]);
  assert.deepEqual(n.states(), { VI_1: 'MASTER', VI_3: 'MASTER' });
  assert.deepEqual(await n.vips(), ['10.0.0.100', '10.0.0.30']);
  assert.deepEqual(n.sent.filter((s) => s.priority === 0).map((s) => s.instance), ['VI_2']);
  assert.deepEqual(n.removed.sort(), ['10.0.0.200', '10.0.0.201']);
  const changes = stateChanges(n.events).map((e) => `${e.name} ${e.data.from}->${e.data.to}`);
  assert.deepEqual(changes, ['VI_2 MASTER->STOP', 'VI_3 INIT->BACKUP', 'VI_3 BACKUP->MASTER']);
  await n.daemon.stop();
});

test('an identity change (interface, VRID) replaces the instance; a VIP owned by both is back at the end', async () => {
  const n = await start(conf([A]));
  const report = await n.reload(conf([{ ...A, iface: 'eth1', vips: ['10.0.0.100'] }]));
  assert.deepEqual(report.replaced, ['VI_1']);
  assert.deepEqual(n.states(), { VI_1: 'MASTER' });
  assert.equal(n.daemon.status()[0]!.interface, 'eth1');
  assert.deepEqual(await n.vips(), ['10.0.0.100']);
  await n.daemon.stop();
});

test('concurrent reloads run one after the other, in order', async () => {
  const n = await start(conf([A]));
  const p1 = n.daemon.reload(parse(conf([A, B])).config);
  const p2 = n.daemon.reload(parse(conf([B])).config);
  const [r1, r2] = await Promise.all([p1, p2]);
  assert.deepEqual([r1.added, r1.removed], [['VI_2'], []]);
  assert.deepEqual([r2.added, r2.removed], [[], ['VI_1']]);
  assert.deepEqual(Object.keys(n.states()), ['VI_2']);
  await n.daemon.stop();
});

test('sync group membership changes rebuild the group; the members keep running', async () => {
  const group = (members: string[]) => `vrrp_sync_group G1 {\n  group {\n${members.map((m) => `    ${m}\n`).join('')}  }\n}\n`;
  const n = await start(conf([A, B], group(['VI_1'])) );
  const report = await n.reload(conf([{ ...A }, { ...B }], group(['VI_1', 'VI_2'])));
  // VI_2 joined a group: its identity changed (the group decides its state now)
  assert.deepEqual(report.syncGroups.replaced, ['G1']);
  assert.deepEqual(report.replaced, ['VI_2']);
  assert.deepEqual(n.states(), { VI_1: 'MASTER', VI_2: 'MASTER' });
  assert.ok(!stateChanges(n.events).some((e) => e.name === 'VI_1'));
  await n.daemon.stop();
});
