// Prometheus metrics (actors/metrics.ts) of real daemons on the in-memory LAN and fake IP stacks,
// driven by one simulated clock; every scrape goes through the strict text-format parser.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SimulatedClock } from 'xstate';
import { Bus } from '../../actors/bus.js';
import { Control } from '../../actors/control.js';
import { Daemon } from '../../actors/daemon.js';
import { DaemonHealth } from '../../actors/health.js';
import { silentLogger } from '../../actors/log.js';
import { createMetrics, type Metrics } from '../../actors/metrics.js';
import { createMemoryLan } from '../fakes/vrrpNet.js';
import { FakeIpNet } from '../fakes/ipNet.js';
import { parse } from '../helpers.js';
import { parsePromText, samples, valueOf } from '../helpers/promtext.js';

const instance = (name: string, vrid: number, prio: number, vip: string) => `
vrrp_instance ${name} {
  interface eth0
  virtual_router_id ${vrid}
  priority ${prio}
  advert_int 1
  virtual_ipaddress {
    ${vip}/24
  }
  virtual_ipaddress_excluded {
    10.9.${vrid}.1/32
  }
}
`;
const conf = (host: string, prio: number, extra = '') => `global_defs {
  router_id ${host}
}
${instance('VI_1', 51, prio, '10.0.0.100')}${extra}`;

async function node(lan: ReturnType<typeof createMemoryLan>, clock: SimulatedClock, host: string, addr: string, text: string) {
  const r = parse(text);
  assert.deepEqual(r.diagnostics.filter((d) => d.severity === 'error'), []);
  const bus = new Bus(host, () => clock.now());
  const net = lan.net(host, { eth0: [addr] });
  const daemon = new Daemon(r.config, { net, ip: new FakeIpNet(), log: silentLogger(), bus, version: '0.0.0-test', clock, configFile: '/etc/keepalived/keepalived.conf' });
  const health = new DaemonHealth(bus);
  const metrics = createMetrics({ daemon, version: '0.0.0-test', health: health.report, vrrpNet: () => net.stats(), processMetrics: false });
  let next = text;
  const control = new Control({ daemon, load: () => parse(next), log: silentLogger(), version: '0.0.0-test' });
  return {
    daemon,
    metrics,
    control,
    /** the config text the next reload reads */
    set config(t: string) {
      next = t;
    },
    scrape: async () => parsePromText(await metrics.text()),
    async close() {
      await daemon.stop();
      metrics.close();
      health.close();
    },
  };
}

/** step the clock 10 ms at a time, letting promises (fake netlink) settle in between */
async function advance(clock: SimulatedClock, ms: number) {
  for (let t = 0; t < ms; t += 10) {
    clock.increment(10);
    await new Promise((r) => setImmediate(r));
  }
}

const VI_1 = { iname: 'VI_1', intf: 'eth0', vrid: '51' };

test('a MASTER and a BACKUP: states, priorities, adverts and transitions as the exporter and vigil report them', async () => {
  const clock = new SimulatedClock();
  const lan = createMemoryLan();
  const a = await node(lan, clock, 'a', '10.0.0.1', conf('a', 150));
  const b = await node(lan, clock, 'b', '10.0.0.2', conf('b', 100));
  try {
    assert.equal(valueOf(await a.scrape(), 'keepalived_up'), 0, 'not up before start');
    await a.daemon.start();
    await b.daemon.start();
    await advance(clock, 6000);
    const ma = await a.scrape();
    const mb = await b.scrape();
    assert.equal(valueOf(ma, 'keepalived_up'), 1);

    // keepalived numbering, one series per VIP with its device
    assert.equal(valueOf(ma, 'keepalived_vrrp_state', { ...VI_1, ip_address: '10.0.0.100/24' }), 2);
    assert.equal(valueOf(mb, 'keepalived_vrrp_state', { ...VI_1, ip_address: '10.0.0.100/24' }), 1);
    assert.equal(valueOf(ma, 'keepalived_vrrp_excluded_state', { ...VI_1, ip_address: '10.9.51.1/32' }), 2);
    assert.equal(samples(ma, 'keepalived_vrrp_state').length, 1, 'the excluded VIP is not in keepalived_vrrp_state');
    // one series per state, 1 for the current one
    const states = Object.fromEntries(samples(ma, 'vigil_vrrp_state', VI_1).map((s) => [s.labels.state, s.value]));
    assert.deepEqual(states, { INIT: 0, BACKUP: 0, MASTER: 1, FAULT: 0, STOP: 0 });
    assert.equal(valueOf(ma, 'vigil_vrrp_priority', VI_1), 150);
    assert.equal(valueOf(ma, 'vigil_vrrp_base_priority', VI_1), 150);

    // transitions from the bus
    assert.equal(valueOf(ma, 'vigil_vrrp_transitions_total', { ...VI_1, from: 'INIT', to: 'BACKUP', cause: 'startup' }), 1);
    assert.equal(valueOf(ma, 'vigil_vrrp_transitions_total', { ...VI_1, from: 'BACKUP', to: 'MASTER', cause: 'master-down-timeout' }), 1);
    assert.equal(valueOf(ma, 'keepalived_become_master_total', VI_1), 1);
    assert.equal(valueOf(ma, 'keepalived_release_master_total', VI_1), 0);
    assert.equal(valueOf(mb, 'keepalived_become_master_total', VI_1), 0);
    assert.equal(samples(mb, 'vigil_vrrp_transitions_total').length, 1, 'b only went INIT → BACKUP');

    // every advert a sent on the LAN, b accepted
    const sent = valueOf(ma, 'keepalived_advertisements_sent_total', VI_1);
    assert.ok(sent >= 2, `a sent ${sent} adverts in ~2 s as MASTER`);
    assert.equal(valueOf(mb, 'keepalived_advertisements_received_total', VI_1), sent);
    assert.equal(valueOf(mb, 'keepalived_advertisements_sent_total', VI_1), 0);
    assert.equal(valueOf(ma, 'vigil_vrrp_send_errors_total', VI_1), 0);
    assert.equal(valueOf(ma, 'vigil_vrrp_tracker_ok', { ...VI_1, kind: 'interface', tracker: 'eth0' }), 1);
    assert.equal(valueOf(ma, 'vigil_events_total', { type: 'daemon.started' }), 1);

    // a stranger: a v2 advert with another interval (b drops it, keepalived's advert_interval_err)
    // and one for a VRID nobody runs (dropped by the net before any instance)
    const c = lan.net('c', { eth0: ['10.0.0.3'] });
    const spec = { iface: 'eth0', family: 4, version: 2, intervalCs: 200, addresses: ['10.0.0.100'], mcastGroup: '224.0.0.18', unicastPeers: [] } as const;
    c.open({ ...spec, instance: 'X', vrid: 51 }, { onAdvert() {}, onDrop() {} }).send(50);
    c.open({ ...spec, instance: 'Y', vrid: 77 }, { onAdvert() {}, onDrop() {} }).send(50);
    await advance(clock, 20);
    const mb2 = await b.scrape();
    assert.equal(valueOf(mb2, 'keepalived_advertisements_interval_errors_total', VI_1), 1);
    assert.equal(valueOf(mb2, 'vigil_vrrp_dropped_total', { ...VI_1, reason: 'interval-mismatch' }), 1);
    assert.deepEqual(samples(mb2, 'vigil_vrrp_dropped_total', { ...VI_1, reason: 'bad-ttl' }), [], 'a reason appears at its first drop');
    assert.equal(valueOf(mb2, 'keepalived_ip_ttl_errors_total', VI_1), 0, "the exporter's counters start at 0");
    assert.equal(valueOf(mb2, 'vigil_vrrp_socket_dropped_total', { reason: 'unknown-vrid' }), 1);
    assert.ok(valueOf(mb2, 'vigil_vrrp_socket_received_total') > sent, 'the net counts every datagram');
    await c.close();

    // a weighted track script fails (as actors/trackers.ts would report it)
    a.daemon.instances.get('VI_1')!.setTracker({ kind: 'script', name: 'chk_web', weight: -80, reverse: false, status: 'failed' });
    const ma2 = await a.scrape();
    assert.equal(valueOf(ma2, 'keepalived_script_status', { name: 'chk_web' }), 0);
    assert.equal(valueOf(ma2, 'vigil_vrrp_tracker_ok', { ...VI_1, kind: 'script', tracker: 'chk_web' }), 0);
    assert.equal(valueOf(ma2, 'vigil_vrrp_priority', VI_1), 70);
    a.daemon.instances.get('VI_1')!.setTracker({ kind: 'script', name: 'chk_web', weight: -80, reverse: false, status: 'ok' });
    const ma3 = await a.scrape();
    assert.equal(valueOf(ma3, 'keepalived_script_status', { name: 'chk_web' }), 1);
    assert.equal(valueOf(ma3, 'vigil_vrrp_priority', VI_1), 150);
  } finally {
    await a.close();
    await b.close();
  }
});

test('operator priority, reloads (applied, refused, an instance removed) and stop, as metrics', async () => {
  const clock = new SimulatedClock();
  const lan = createMemoryLan();
  const two = conf('a', 150, instance('VI_2', 52, 150, '10.0.1.100'));
  const a = await node(lan, clock, 'a', '10.0.0.1', two);
  const b = await node(lan, clock, 'b', '10.0.0.2', conf('b', 100));
  try {
    await a.daemon.start();
    await b.daemon.start();
    await advance(clock, 6000);

    // maintenance: a gives VI_1 up to b
    assert.equal((await a.control.handle({ cmd: 'priority', instance: 'VI_1', priority: 50 }, 'test')).ok, true);
    assert.equal((await a.control.handle({ cmd: 'priority', instance: 'VI_9', priority: 50 }, 'test')).ok, false);
    // b ignores the lower priority until its Master_Down_Interval runs out, then preempts
    await advance(clock, 5000);
    let ma = await a.scrape();
    assert.equal(valueOf(ma, 'vigil_vrrp_priority', VI_1), 50);
    assert.equal(valueOf(ma, 'vigil_vrrp_base_priority', VI_1), 150);
    assert.equal(valueOf(ma, 'vigil_operator_commands_total', { command: 'priority', result: 'ok' }), 1);
    assert.equal(valueOf(ma, 'vigil_operator_commands_total', { command: 'priority', result: 'refused' }), 1);
    assert.equal(valueOf(ma, 'keepalived_vrrp_state', { ...VI_1, ip_address: '10.0.0.100/24' }), 1);
    assert.equal(valueOf(ma, 'keepalived_release_master_total', VI_1), 1);
    assert.equal(valueOf(ma, 'vigil_vrrp_transitions_total', { ...VI_1, from: 'MASTER', to: 'BACKUP', cause: 'higher-priority-advert' }), 1);
    assert.equal(valueOf(await b.scrape(), 'keepalived_become_master_total', VI_1), 1);

    // a refused reload, then one that removes VI_2: its series go with it
    assert.equal(valueOf(ma, 'vigil_config_last_reload_successful'), 1);
    a.config = two.replace('priority 150', 'priority 300');
    assert.equal((await a.control.handle({ cmd: 'reload' }, 'test')).ok, false);
    ma = await a.scrape();
    assert.equal(valueOf(ma, 'vigil_reloads_total', { result: 'failed' }), 1);
    assert.equal(valueOf(ma, 'vigil_reloads_total', { result: 'ok' }), 0);
    assert.equal(valueOf(ma, 'vigil_config_last_reload_successful'), 0);
    assert.equal(samples(ma, 'keepalived_vrrp_state', { iname: 'VI_2' }).length, 1);

    a.config = conf('a', 150);
    assert.equal((await a.control.handle({ cmd: 'reload' }, 'test')).ok, true);
    ma = await a.scrape();
    assert.equal(valueOf(ma, 'vigil_reloads_total', { result: 'ok' }), 1);
    assert.equal(valueOf(ma, 'vigil_config_last_reload_successful'), 1);
    for (const name of ['keepalived_vrrp_state', 'vigil_vrrp_state', 'vigil_vrrp_priority', 'keepalived_advertisements_sent_total', 'vigil_vrrp_transitions_total', 'keepalived_become_master_total']) {
      assert.deepEqual(samples(ma, name, { iname: 'VI_2' }), [], `${name} of the removed VI_2`);
    }
    assert.equal(valueOf(ma, 'keepalived_release_master_total', VI_1), 1, 'VI_1 unchanged by the reload');

    await a.daemon.stop();
    assert.equal(valueOf(await a.scrape(), 'keepalived_up'), 0, 'not up once stopping');
  } finally {
    await a.close();
    await b.close();
  }
});

test('process metrics and the event-loop delay histogram: a 60 ms stall is seen', async () => {
  const clock = new SimulatedClock();
  const bus = new Bus('p', () => clock.now());
  const daemon = new Daemon(parse(conf('p', 100)).config, { net: createMemoryLan().net('p', { eth0: ['10.0.0.1'] }), ip: new FakeIpNet(), log: silentLogger(), bus, clock });
  const health = new DaemonHealth(bus);
  let m: Metrics | undefined;
  try {
    m = createMetrics({ daemon, version: '0.0.0-test', health: health.report, eventLoopSampleMs: 10 });
    const text = await m.text();
    const before = parsePromText(text);
    const over = (fams: ReturnType<typeof parsePromText>) =>
      valueOf(fams, 'vigil_event_loop_delay_seconds_bucket', { le: '+Inf' }) - valueOf(fams, 'vigil_event_loop_delay_seconds_bucket', { le: '0.025' });
    await new Promise((r) => setTimeout(r, 30));
    // the sampler's timer is due within 10 ms: it fires at least 50 ms late
    const end = performance.now() + 60;
    while (performance.now() < end);
    await new Promise((r) => setTimeout(r, 30));
    const after = parsePromText(await m.text());
    assert.ok(over(after) - over(before) >= 1, 'the stall is counted above 25 ms');
    assert.ok(valueOf(after, 'vigil_process_resident_memory_bytes') > 0);
    assert.ok(valueOf(after, 'vigil_process_cpu_seconds_total') > 0);
    assert.equal(after.get('vigil_event_loop_delay_seconds')?.type, 'histogram');
    m.close();
    assert.equal(parsePromText(await m.text()).size, 0, 'close() empties the registry');
  } finally {
    m?.close();
    health.close();
    await daemon.stop();
  }
});

test('optional sources: journal and NATS series only when given, read at scrape time', async () => {
  const bus = new Bus('n');
  const daemon = new Daemon(parse(conf('n', 100)).config, { net: createMemoryLan().net('n', { eth0: ['10.0.0.1'] }), ip: new FakeIpNet(), log: silentLogger(), bus });
  const health = new DaemonHealth(bus);
  const without = createMetrics({ daemon, version: 'x', health: health.report, processMetrics: false });
  const none = parsePromText(await without.text());
  assert.deepEqual([...none.keys()].filter((k) => /journal|nats/.test(k)), []);
  without.close();

  let lastSeq = 41;
  let state: 'idle' | 'stalled' = 'idle';
  const stats = { published: 40, duplicates: 2, errors: 1, malformed: 0, pending: 3, inFlight: 1, lastAckedSeq: 38 };
  const m = createMetrics({ daemon, version: 'x', health: health.report, processMetrics: false, journal: () => ({ lastSeq }), nats: { stats: () => stats, state: () => state } });
  let f = parsePromText(await m.text());
  assert.equal(valueOf(f, 'vigil_journal_last_seq'), 41);
  assert.equal(valueOf(f, 'vigil_nats_outbox_pending'), 3);
  assert.equal(valueOf(f, 'vigil_nats_published_total'), 40);
  assert.equal(valueOf(f, 'vigil_nats_duplicates_total'), 2);
  assert.equal(valueOf(f, 'vigil_nats_publish_errors_total'), 1);
  assert.equal(valueOf(f, 'vigil_nats_link_state', { state: 'idle' }), 1);
  assert.equal(samples(f, 'vigil_nats_link_state').reduce((n, s) => n + s.value, 0), 1);
  lastSeq = 50;
  state = 'stalled';
  f = parsePromText(await m.text());
  assert.equal(valueOf(f, 'vigil_journal_last_seq'), 50);
  assert.equal(valueOf(f, 'vigil_nats_link_state', { state: 'stalled' }), 1);
  assert.equal(valueOf(f, 'vigil_nats_link_state', { state: 'idle' }), 0);
  m.close();
  health.close();
  await daemon.stop();
});

test('virtual servers: quorum, real servers up and their weights, checker transitions, LB changes', async () => {
  const { FakeProber } = await import('../fakes/prober.js');
  const { FakeLoadBalancer } = await import('../fakes/lb.js');
  const clock = new SimulatedClock();
  const text = `global_defs {
  router_id lvs1
}
virtual_server 10.0.0.100 80 {
  delay_loop 1
  lb_algo rr
  lb_kind NAT
  protocol TCP
  quorum 2
  real_server 10.0.1.1 80 {
    weight 1
    TCP_CHECK {
      connect_timeout 1
      retry 0
    }
  }
  real_server 10.0.1.2 80 {
    weight 1
    TCP_CHECK {
      connect_timeout 1
      retry 0
    }
  }
}
`;
  const r = parse(text);
  assert.deepEqual(r.diagnostics.filter((d) => d.severity === 'error'), []);
  const prober = new FakeProber({ ok: true });
  const lb = new FakeLoadBalancer();
  const bus = new Bus('lvs1', () => clock.now());
  const daemon = new Daemon(r.config, { net: createMemoryLan().net('lvs1', { eth0: ['10.0.0.1'] }), ip: new FakeIpNet(), log: silentLogger(), bus, clock, prober, lb, lbReconcileMs: 0 });
  const health = new DaemonHealth(bus);
  const metrics = createMetrics({ daemon, version: 't', health: health.report, processMetrics: false });
  await daemon.start();
  const step = async (ms: number) => {
    for (let t = 0; t < ms; t += 50) {
      clock.increment(50);
      await new Promise((res) => setImmediate(res));
    }
  };
  await step(3000);
  prober.set({ address: '10.0.1.2', port: 80 }, { ok: false, detail: 'connect ECONNREFUSED' });
  await step(3000);
  await daemon.lb!.settled();
  const m = parsePromText(await metrics.text());
  const vs = { vs: '10.0.0.100:80/tcp' };
  assert.equal(valueOf(m, 'vigil_virtual_server_quorum_up', vs), 0);
  assert.equal(valueOf(m, 'vigil_real_server_up', { ...vs, rs: '10.0.1.1:80' }), 1);
  assert.equal(valueOf(m, 'vigil_real_server_up', { ...vs, rs: '10.0.1.2:80' }), 0);
  assert.equal(valueOf(m, 'vigil_real_server_weight', { ...vs, rs: '10.0.1.1:80', sorry: '0' }), 1);
  assert.equal(valueOf(m, 'vigil_checker_transitions_total', { checker: '10.0.0.100:80/tcp 10.0.1.2:80 TCP_CHECK#0', to: 'down' }), 1);
  assert.equal(valueOf(m, 'vigil_lb_changes_total', { kind: 'destination.added', origin: 'change' }), 2);
  assert.equal(valueOf(m, 'vigil_lb_apply_failures', { driver: 'fake' }), 0);
  await daemon.stop();
  metrics.close();
  health.close();
});
