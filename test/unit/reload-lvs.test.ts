// Reloads and virtual servers (Daemon over fakes): an unchanged virtual server keeps its checkers
// and state; a changed one restarts from the health its checkers had, so a real server known dead
// never gets traffic while the new checkers run their first checks; a removed one leaves the
// data plane; one added to a config without any starts the load balancer. And the data plane at
// start and stop: lvs_flush, `vigil run -I` (keepalived's --dont-release-ipvs), lvs_flush_on_stop.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SimulatedClock } from 'xstate';
import { Bus, type BusEvent } from '../../actors/bus.js';
import { Daemon } from '../../actors/daemon.js';
import { silentLogger } from '../../actors/log.js';
import type { LbTable } from '../../adapters/lb/types.js';
import { FakeLoadBalancer } from '../fakes/lb.js';
import { FakeProber } from '../fakes/prober.js';
import { createMemoryLan } from '../fakes/vrrpNet.js';
import { FakeIpNet } from '../fakes/ipNet.js';
import { parse } from '../helpers.js';

const rs = (addr: string, checkers = 1) => `  real_server ${addr} 80 {
    weight 1
${'    TCP_CHECK {\n      connect_timeout 1\n      retry 0\n    }\n'.repeat(checkers)}  }
`;
const vs = (vip: string, body: string) => `virtual_server ${vip} 80 {
  delay_loop 1
  lb_algo rr
  lb_kind NAT
  protocol TCP
${body}}
`;
const conf = (...vss: string[]) => `global_defs {\n  router_id n1\n}\n${vss.join('')}`;

async function start(text: string, opts: { lb?: FakeLoadBalancer; lbKeepOnStop?: boolean } = {}) {
  const clock = new SimulatedClock();
  const prober = new FakeProber({ ok: true });
  const lb = opts.lb ?? new FakeLoadBalancer();
  const applied: LbTable[] = [];
  const apply = lb.apply.bind(lb);
  lb.apply = async (t) => {
    applied.push(t);
    return apply(t);
  };
  const bus = new Bus('n1', () => clock.now());
  const events: BusEvent[] = [];
  bus.subscribe((e) => events.push(e));
  const daemon = new Daemon(parse(text).config, { net: createMemoryLan().net('n1', { eth0: ['10.0.0.1'] }), ip: new FakeIpNet(), log: silentLogger(), bus, clock, prober, lb, lbReconcileMs: 0, ...(opts.lbKeepOnStop ? { lbKeepOnStop: true } : {}) });
  await daemon.start();
  const step = async (ms: number) => {
    for (let t = 0; t < ms; t += 50) {
      clock.increment(50);
      await new Promise((res) => setImmediate(res));
    }
    await daemon.lb?.settled();
  };
  await step(2500);
  return { daemon, prober, lb, applied, events, step };
}

/** the destinations with a positive weight of every table applied */
const served = (tables: LbTable[]) => tables.map((t) => t.services.flatMap((s) => s.destinations.filter((d) => d.weight > 0).map((d) => d.address)).sort());

test('a changed virtual server restarts from its checkers\' health: a dead server stays out', async () => {
  const n = await start(conf(vs('10.0.0.100', rs('10.0.1.1') + rs('10.0.1.2'))));
  n.prober.set({ address: '10.0.1.2', port: 80 }, { ok: false, detail: 'connect ECONNREFUSED' });
  await n.step(2500);
  assert.deepEqual(served([(await n.lb.read())]), [['10.0.1.1']]);
  n.applied.length = 0;
  // a checker added to 10.0.1.1: the virtual server's config changed
  const report = await n.daemon.reload(parse(conf(vs('10.0.0.100', rs('10.0.1.1', 2) + rs('10.0.1.2')))).config);
  assert.deepEqual(report.virtualServers, { added: [], removed: [], replaced: ['10.0.0.100:80/tcp'], unchanged: 0 });
  await n.step(2500);
  // never was 10.0.1.2 given traffic, not even before the new checkers' first results
  for (const t of served(n.applied)) assert.ok(!t.includes('10.0.1.2'), JSON.stringify(served(n.applied)));
  assert.deepEqual(served([await n.lb.read()]), [['10.0.1.1']]);
  // and when it recovers, it comes back
  n.prober.set({ address: '10.0.1.2', port: 80 }, { ok: true });
  await n.step(2500);
  assert.deepEqual(served([await n.lb.read()]), [['10.0.1.1', '10.0.1.2']]);
  await n.daemon.stop();
});

test('unchanged virtual servers keep their checkers; removed ones leave the data plane', async () => {
  const A = vs('10.0.0.100', rs('10.0.1.1'));
  const B = vs('10.0.0.200', rs('10.0.2.1'));
  const n = await start(conf(A, B));
  const calls = n.prober.calls.length;
  const before = n.events.length;
  const report = await n.daemon.reload(parse(conf(A)).config);
  assert.deepEqual(report.virtualServers, { added: [], removed: ['10.0.0.200:80/tcp'], replaced: [], unchanged: 1 });
  await n.step(1000);
  assert.deepEqual((await n.lb.read()).services.map((s) => (s.match.kind === 'address' ? s.match.address : '')), ['10.0.0.100']);
  assert.ok(n.prober.calls.length > calls, 'the kept checker goes on');
  // a virtual server that starts publishes its table at once: the kept one did not start again
  assert.deepEqual(n.events.slice(before).filter((e) => e.type === 'vs.table').map((e) => e.name), []);
  await n.daemon.stop();
});

test('virtual servers added by a reload to a config that had none start the load balancer', async () => {
  const n = await start(conf());
  assert.equal(n.daemon.lvs, undefined);
  const report = await n.daemon.reload(parse(conf(vs('10.0.0.100', rs('10.0.1.1')))).config);
  assert.deepEqual(report.virtualServers.added, ['10.0.0.100:80/tcp']);
  await n.step(2500);
  assert.deepEqual(served([await n.lb.read()]), [['10.0.1.1']]);
  await n.daemon.stop();
});

const leftover: LbTable = { services: [{ match: { kind: 'fwmark', fwmark: 9 }, family: 4, algo: 'rr', destinations: [{ address: '10.0.9.1', port: 0, weight: 1, kind: 'NAT' }] }] };

test('lvs_flush empties the data plane once, at start, before the first table; a reload does not flush', async () => {
  const lb = new FakeLoadBalancer({ table: leftover });
  const flushedBeforeApply: boolean[] = [];
  const apply = lb.apply.bind(lb);
  lb.apply = async (t) => (flushedBeforeApply.push(lb.flushes === 1), apply(t));
  const n = await start(conf(vs('10.0.0.100', rs('10.0.1.1'))).replace('router_id n1', 'router_id n1\n  lvs_flush'), { lb });
  assert.equal(lb.flushes, 1);
  assert.ok(flushedBeforeApply.length > 0 && flushedBeforeApply.every(Boolean), 'flushed before any apply');
  assert.deepEqual(served([await lb.read()]), [['10.0.1.1']]);
  await n.daemon.reload(parse(conf(vs('10.0.0.100', rs('10.0.1.1') + rs('10.0.1.2'))).replace('router_id n1', 'router_id n1\n  lvs_flush')).config);
  await n.step(2500);
  assert.equal(lb.flushes, 1, 'a reload never flushes');
  await n.daemon.stop();
  assert.deepEqual(lb.closedWith, { keep: false, all: false });
});

test('without lvs_flush nothing is flushed', async () => {
  const lb = new FakeLoadBalancer({ table: leftover });
  const n = await start(conf(vs('10.0.0.100', rs('10.0.1.1'))), { lb });
  assert.equal(lb.flushes, 0);
  await n.daemon.stop();
});

test('-I (lbKeepOnStop): the entries stay, and no omega DOWN is announced for servers still served', async () => {
  const n = await start(conf(vs('10.0.0.100', '  omega\n' + rs('10.0.1.1') + rs('10.0.1.2'))), { lbKeepOnStop: true });
  const before = n.events.length;
  await n.daemon.stop();
  assert.deepEqual(n.lb.closedWith, { keep: true, all: false });
  assert.deepEqual(served([n.lb.store.table]), [['10.0.1.1', '10.0.1.2']], 'still served');
  const downs = n.events.slice(before).filter((e) => e.type === 'vs.rs' || e.type === 'vs.table');
  assert.deepEqual(downs.map((e) => e.type), []);
});

test('without -I, omega announces the DOWNs and the entries go; lvs_flush_on_stop flushes the whole table', async () => {
  const n = await start(conf(vs('10.0.0.100', '  omega\n' + rs('10.0.1.1'))).replace('router_id n1', 'router_id n1\n  lvs_flush_on_stop'));
  const before = n.events.length;
  await n.daemon.stop();
  assert.deepEqual(n.lb.closedWith, { keep: false, all: true });
  assert.deepEqual(n.lb.store.table, { services: [] });
  assert.ok(n.events.slice(before).some((e) => e.type === 'vs.rs'), 'omega: the real server announced DOWN');
});

test('lvs_timeouts: set at start, again only when a reload changes them, put back when a reload removes them', async () => {
  const withTimeouts = (t: string) => conf(vs('10.0.0.100', rs('10.0.1.1'))).replace('router_id n1', `router_id n1\n  ${t}`);
  const n = await start(withTimeouts('lvs_timeouts tcp 7200 udp 60'));
  assert.deepEqual(n.lb.timeoutCalls, [{ tcp: 7200, udp: 60 }]);
  await n.daemon.reload(parse(withTimeouts('lvs_timeouts udp 60 tcp 7200')).config);
  assert.equal(n.lb.timeoutCalls.length, 1, 'unchanged: not set again');
  await n.daemon.reload(parse(withTimeouts('lvs_timeouts tcp 900')).config);
  await n.daemon.reload(parse(conf(vs('10.0.0.100', rs('10.0.1.1')))).config);
  assert.deepEqual(n.lb.timeoutCalls, [{ tcp: 7200, udp: 60 }, { tcp: 900 }, undefined]);
  await n.daemon.stop();
});

test('rs_init_notifies: the real servers alive at start are announced UP (vs.rs, initial); a reload that restarts their virtual server does not announce them again', async () => {
  const text = (extra: string) => conf(vs('10.0.0.100', rs('10.0.1.1') + rs('10.0.1.2'))).replace('router_id n1', `router_id n1\n  ${extra}`);
  const initialUps = (events: BusEvent[]) => events.filter((e) => e.type === 'vs.rs' && e.data.initial === true && e.data.state === 'up').map((e) => String(e.data.rs)).sort();
  const off = await start(text('router_id n1'));
  assert.deepEqual(initialUps(off.events), []);
  await off.daemon.stop();
  const n = await start(text('rs_init_notifies'));
  assert.deepEqual(initialUps(n.events), ['10.0.1.1:80', '10.0.1.2:80']);
  const before = n.events.length;
  await n.daemon.reload(parse(text('rs_init_notifies').replace('delay_loop 1', 'delay_loop 2')).config);
  await n.step(2500);
  assert.deepEqual(initialUps(n.events.slice(before)), [], 'a replaced virtual server is not announced again');
  await n.daemon.stop();
});

test('lvs_sync_daemon: backup from the start, master once its instance is MASTER (sync id: its VRID unless given); a reload changing it restarts it', async () => {
  const instance = `vrrp_instance VI_1 {\n  interface eth0\n  virtual_router_id 51\n  priority 100\n  advert_int 1\n  virtual_ipaddress {\n    10.0.0.100/24\n  }\n}\n`;
  const text = (sync: string) => conf(vs('10.0.0.100', rs('10.0.1.1'))).replace('router_id n1', `router_id n1\n  ${sync}`) + instance;
  const n = await start(text('lvs_sync_daemon eth0 VI_1'));
  assert.deepEqual(n.lb.syncCalls, [['backup', { ifname: 'eth0', syncId: 51 }]]);
  await n.step(3000); // Master_Down_Interval: 3 × 1 s + skew
  assert.deepEqual(n.lb.syncCalls.map(([r]) => r), ['backup', 'master'], 'MASTER');
  await n.daemon.reload(parse(text('lvs_sync_daemon eth0 inst VI_1 id 7 port 8850')).config);
  assert.deepEqual(n.lb.syncCalls.at(-1), ['master', { ifname: 'eth0', syncId: 7, port: 8850 }]);
  const before = n.lb.syncCalls.length;
  await n.daemon.stop();
  assert.equal(n.lb.syncCalls.length, before, 'the stop is close()\'s');
  assert.deepEqual(n.lb.closedWith, { keep: false, all: false });
});
