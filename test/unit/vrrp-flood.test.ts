// An advert flood is not an event flood (issue #10): per-packet reports are rate-limited per
// instance and sender (actors/event-throttle.ts, wired in actors/vrrp.ts). A daemon on the
// in-memory LAN, fake IP stack and one simulated clock; foreign hosts send lower-priority adverts
// 1 ms apart. Checked: the first report is published at once, then at most one per second per
// sender, every advert is accounted for (published on its own or counted in a `suppressed`), the
// metric counts the folded ones, summaries precede a state change, the notifier runs
// notify_master_rx_lower_pri for the first advert at once, and log lines are bounded the same way.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { SimulatedClock } from 'xstate';
import { Bus, type BusEvent } from '../../actors/bus.js';
import { Daemon } from '../../actors/daemon.js';
import { EventThrottle } from '../../actors/event-throttle.js';
import { DaemonHealth } from '../../actors/health.js';
import { silentLogger } from '../../actors/log.js';
import { createMetrics } from '../../actors/metrics.js';
import { NotifierActor } from '../../actors/notifier.js';
import { createMemoryOutbox } from '../../adapters/mail/outbox.js';
import type { EndpointSpec } from '../../adapters/vrrp/types.js';
import { createMemoryLan } from '../fakes/vrrpNet.js';
import { FakeIpNet } from '../fakes/ipNet.js';
import { fakeRunner } from '../fakes/runner.js';
import { parse } from '../helpers.js';
import { parsePromText, samples } from '../helpers/promtext.js';

const CONF = `global_defs {
  router_id a
}
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 51
  priority 150
  advert_int 1
  virtual_ipaddress {
    10.0.0.100/24
  }
  notify_master_rx_lower_pri /bin/rxlow
}
`;

/** a foreign router's endpoint for VRID 51 (v2, our interval and address: every advert accepted) */
const FOREIGN: EndpointSpec = { instance: 'X', iface: 'eth0', family: 4, version: 2, vrid: 51, intervalCs: 100, addresses: ['10.0.0.100'], mcastGroup: '224.0.0.18', unicastPeers: [] };

const tick = () => new Promise((r) => setImmediate(r));

async function setup() {
  const clock = new SimulatedClock();
  const lan = createMemoryLan();
  const r = parse(CONF);
  assert.deepEqual(r.diagnostics.filter((d) => d.severity === 'error'), []);
  const bus = new Bus('a', () => clock.now());
  const events: BusEvent[] = [];
  bus.subscribe((e) => events.push(e));
  const lines: string[] = [];
  const sink = new Writable({ write: (chunk: Buffer, _enc, done) => (lines.push(String((JSON.parse(chunk.toString()) as { msg: string }).msg)), done()) });
  const daemon = new Daemon(r.config, { net: lan.net('a', { eth0: ['10.0.0.1'] }), ip: new FakeIpNet(), log: pino({ level: 'info' }, sink), bus, version: '0.0.0-test', clock });
  const health = new DaemonHealth(bus);
  const metrics = createMetrics({ daemon, version: '0.0.0-test', health: health.report, processMetrics: false });
  const scripts = fakeRunner({ autoExit: {} });
  const notifier = new NotifierActor({ bus, log: silentLogger(), config: () => daemon.config, runner: scripts.runner, store: createMemoryOutbox() });
  await notifier.start();
  await daemon.start();
  const foreign = new Map<string, ReturnType<ReturnType<typeof lan.net>['open']>>();
  /** host `addr` sends one advert now; the LAN delivers it at once */
  const send = (addr: string, priority: number) => {
    let ep = foreign.get(addr);
    if (!ep) foreign.set(addr, (ep = lan.net(addr, { eth0: [addr] }).open(FOREIGN, { onAdvert() {}, onDrop() {} })));
    ep.send(priority);
    lan.flush();
  };
  const advance = async (ms: number) => {
    for (let t = 0; t < ms; t += 10) {
      clock.increment(10);
      await tick();
    }
  };
  const lower = () => events.filter((e) => e.type === 'vrrp.rx-lower-priority');
  const suppressedMetric = async (type: string) =>
    samples(parsePromText(await metrics.text()), 'vigil_vrrp_events_suppressed_total').find((s) => s.labels['type'] === type)?.value ?? 0;
  return {
    clock, daemon, events, lines, scripts, send, advance, lower, suppressedMetric,
    inst: () => daemon.instances.get('VI_1')!,
    async close() {
      await daemon.stop();
      await notifier.close();
      metrics.close();
      health.close();
    },
  };
}

/** per sender: adverts accounted for (published on its own: 1; a summary: its `suppressed`) */
function accounted(events: readonly BusEvent[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const e of events) {
    const src = String(e.data['src']);
    out.set(src, (out.get(src) ?? 0) + (Number(e.data['suppressed'] ?? 0) || 1));
  }
  return out;
}

test('1,000 lower-priority adverts in 1 s from two senders: the first of each at once, one summary each, every advert counted', async () => {
  const t = await setup();
  // a BACKUP discarding lower priority logs each advert (keepalived's words); the same limit applies
  for (let i = 0; i < 200; i++) {
    t.clock.increment(1);
    t.send('10.0.0.3', 50);
  }
  assert.equal(t.inst().state(), 'BACKUP');
  assert.equal(t.lines.filter((l) => l.includes('- discarding')).length, 1, 'one line for the first, the rest folded');
  await t.advance(4000);
  assert.equal(t.inst().state(), 'MASTER');
  const discarding = t.lines.filter((l) => l.includes('- discarding'));
  assert.equal(discarding.length, 2);
  assert.match(discarding[1]!, /\(199 such adverts since the last report\)$/);
  assert.equal(t.inst().status().eventsSuppressed['vrrp.ignored'], 199);

  const rx0 = t.inst().stats()!.rx;
  const t0 = t.clock.now();
  const sent = new Map<string, number>();
  const rxlow = () => t.scripts.runs.filter((r) => r.spec.argv[0] === '/bin/rxlow').length;
  for (let i = 0; i < 1000; i++) {
    t.clock.increment(1);
    const src = i % 10 < 6 ? '10.0.0.3' : '10.0.0.4';
    t.send(src, 50);
    sent.set(src, (sent.get(src) ?? 0) + 1);
    if (i === 0) {
      // published synchronously with the advert's delivery, not at the end of an interval
      assert.equal(t.lower().length, 1, 'the first report is immediate');
      assert.equal(t.lower()[0]!.time, new Date(t0 + 1).toISOString());
      assert.equal(t.lower()[0]!.data['suppressed'], undefined);
      // keepalived's notify_master_rx_lower_pri for it: started without waiting for the simulated clock
      for (let k = 0; k < 100 && rxlow() === 0; k++) await new Promise((r) => setTimeout(r, 2));
      assert.equal(rxlow(), 1, 'the notifier ran notify_master_rx_lower_pri for the first advert');
    }
    if (i % 50 === 0) await tick();
  }
  assert.equal(t.inst().stats()!.rx - rx0, 1000, 'every advert accepted (and answered)');
  assert.equal(t.lower().length, 2, 'during the second: one event per sender');
  await t.advance(1000); // the interval ends: one summary per sender
  const ev = t.lower();
  console.log(`# 1,000 adverts in 1 s from 2 senders: ${ev.length} events: ${ev.map((e) => `${String(e.data['src'])}+${String(e.data['suppressed'] ?? 0)}`).join(', ')}`);
  assert.equal(ev.length, 4);
  assert.deepEqual(accounted(ev), sent);
  assert.deepEqual(ev.map((e) => [e.data['src'], e.data['suppressed'] ?? 0]), [['10.0.0.3', 0], ['10.0.0.4', 0], ['10.0.0.3', 599], ['10.0.0.4', 399]]);
  assert.equal(await t.suppressedMetric('vrrp.rx-lower-priority'), 998);

  // and once per event after it: per sender, the first and one summary a second (not per advert)
  for (let i = 0; i < 50 && rxlow() < ev.length; i++) await new Promise((r) => setTimeout(r, 5));
  assert.equal(rxlow(), ev.length);
  await t.close();
});

test('a 3 s flood from one sender: at most one event per second after the first; a state change flushes the summary first', async () => {
  const t = await setup();
  await t.advance(4000);
  assert.equal(t.inst().state(), 'MASTER');
  const t0 = t.clock.now();
  for (let i = 0; i < 3000; i++) {
    t.clock.increment(1);
    t.send('10.0.0.3', 50);
    if (i % 50 === 0) await tick();
  }
  // the last summary (at the end of the third second) opens one more interval; let it pass quietly
  await t.advance(2000);
  let ev = t.lower();
  assert.ok(ev.length >= 2 && ev.length <= 1 + 3, `${ev.length} events for 3 s`);
  assert.equal(accounted(ev).get('10.0.0.3'), 3000);
  // summaries at least one interval apart
  const times = ev.map((e) => Date.parse(e.time) - t0);
  for (let k = 1; k < times.length; k++) assert.ok(times[k]! - times[k - 1]! >= 1000, `events at ${times.join(', ')} ms`);
  // quiet for an interval: the next one is immediate again
  t.send('10.0.0.3', 50);
  assert.equal(t.lower().length, ev.length + 1);
  // folded adverts, then a higher priority: the summary comes before the step down
  for (let i = 0; i < 10; i++) {
    t.clock.increment(1);
    t.send('10.0.0.3', 50);
  }
  t.send('10.0.0.3', 200);
  assert.equal(t.inst().state(), 'BACKUP');
  ev = t.events.filter((e) => e.type === 'vrrp.rx-lower-priority' || e.type === 'vrrp.state').slice(-2);
  assert.deepEqual(ev.map((e) => [e.type, e.data['suppressed'] ?? e.data['to']]), [['vrrp.rx-lower-priority', 10], ['vrrp.state', 'BACKUP']]);
  await t.close();
});

test('EventThrottle: spoofed senders beyond maxKeys share one budget; quiet keys are forgotten first', () => {
  const clock = new SimulatedClock();
  const out: { src: string; suppressed: number }[] = [];
  const th = new EventThrottle<{ src: string }>(clock, (d, suppressed) => out.push({ src: d.src, suppressed }), { intervalMs: 1000, maxKeys: 8 });
  // 1,000 adverts in 1 s, each from a different source address
  for (let i = 0; i < 1000; i++) {
    clock.increment(1);
    th.offer('rx', `10.1.${i >> 8}.${i & 255}`, { src: `10.1.${i >> 8}.${i & 255}` });
  }
  clock.increment(1000);
  // 8 senders of their own, then one overflow key: its first at once and one summary
  assert.equal(out.length, 8 + 2);
  assert.equal(out.reduce((n, e) => n + (e.suppressed || 1), 0), 1000);
  assert.equal(th.suppressed, 1000 - 9);
  // once their intervals are over, quiet keys make room for new senders again
  clock.increment(1000);
  th.offer('rx', '10.2.0.1', { src: '10.2.0.1' });
  assert.deepEqual(out.at(-1), { src: '10.2.0.1', suppressed: 0 });
  // flush(): pending summaries out at once, and the key starts over
  th.offer('rx', '10.2.0.1', { src: '10.2.0.1' });
  th.flush();
  assert.deepEqual(out.at(-1), { src: '10.2.0.1', suppressed: 1 });
  th.offer('rx', '10.2.0.1', { src: '10.2.0.1' });
  assert.deepEqual(out.at(-1), { src: '10.2.0.1', suppressed: 0 });
});
