// The VRRP instance machine against keepalived's rules (keepalived.md §3.2–3.7), on a simulated
// clock: no network, no real time. Each test steps the clock one timer at a time (style.md §5.1).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createActor, SimulatedClock } from 'xstate';
import { masterDownMs, skewMs, stateName, vrrpMachine, type VrrpEmitted, type VrrpInput } from '../../machines/vrrp.machine.js';

const garp = { masterDelayMs: 0, masterRepeat: 5, masterRefreshMs: 0, masterRefreshRepeat: 1, lowerPrioRepeat: 0, lowerPrioDelayMs: 0 };

function input(over: Partial<VrrpInput> = {}): VrrpInput {
  return {
    name: 'VI_1',
    vrid: 51,
    version: 2,
    basePriority: 100,
    advertIntervalCs: 100,
    initialState: 'BACKUP',
    nopreempt: false,
    preemptDelayMs: 0,
    downTimerAdverts: 3,
    lowerPrioNoAdvert: false,
    higherPrioSendAdvert: false,
    garp,
    srcIp: '10.0.0.2',
    ...over,
  };
}

/** An instance with every I/O action recorded in order. */
function start(over: Partial<VrrpInput> = {}) {
  const clock = new SimulatedClock();
  const io: string[] = [];
  const events: VrrpEmitted[] = [];
  const actor = createActor(
    vrrpMachine.provide({
      actions: {
        sendAdvert: (_, { priority }) => void io.push(`advert ${priority}`),
        addVips: () => void io.push('add'),
        removeVips: () => void io.push('remove'),
        sendGarp: (_, { repeat, reason }) => void io.push(`garp ${repeat} ${reason}`),
      },
    }),
    { clock, input: input(over) },
  );
  actor.on('*', (e) => events.push(e));
  actor.start();
  const state = () => stateName(actor.getSnapshot().value);
  const transitions = () =>
    events.filter((e) => e.type === 'vrrp.state').map((e) => (e.type === 'vrrp.state' ? `${e.to}:${e.cause}` : ''));
  /** advance in steps of at most `step` ms so chained timers fire as they would in real time */
  const advance = (ms: number, step = 1) => {
    for (let left = ms; left > 0; left -= step) clock.increment(Math.min(step, left));
  };
  const advert = (src: string, priority: number, intervalCs = 100) =>
    actor.send({ type: 'advert.received', src, priority, intervalCs });
  return { actor, clock, io, events, state, transitions, advance, advert };
}

test('timers are keepalived’s: Skew_Time and Master_Down_Interval for v2 and v3', () => {
  const c = { version: 2 as const, basePriority: 100, priority: 100, masterIntervalCs: 100, downTimerAdverts: 3 };
  assert.equal(skewMs(c), 609.375); // (256-100)/256 s
  assert.equal(masterDownMs(c), 3609.375);
  // v3, 0.1 s: (256-100) × 10 cs × 625/16 µs = 60.9375 ms
  const v3 = { ...c, version: 3 as const, masterIntervalCs: 10 };
  assert.equal(skewMs(v3), 60.937);
  assert.equal(masterDownMs(v3), 360.937);
  // an owner's skew uses 255 whatever its effective priority
  assert.equal(skewMs({ ...c, basePriority: 255, priority: 254 }), 3.906);
});

test('BACKUP at start, MASTER after Master_Down_Interval, then one advert per interval', () => {
  const t = start();
  assert.equal(t.state(), 'BACKUP');
  t.advance(3609);
  assert.equal(t.state(), 'BACKUP');
  t.advance(1);
  assert.equal(t.state(), 'MASTER');
  // advert before the addresses, then the GARP burst (keepalived vrrp_state_master_tx)
  assert.deepEqual(t.io, ['advert 100', 'add', 'garp 5 master']);
  t.advance(3000, 10);
  assert.deepEqual(t.io.slice(3), ['advert 100', 'advert 100', 'advert 100']);
  assert.deepEqual(t.transitions(), ['BACKUP:startup', 'MASTER:master-down-timeout']);
});

test('a BACKUP accepts higher and equal priority (no address comparison) and restarts its timer', () => {
  const t = start();
  for (let i = 0; i < 10; i++) {
    t.advance(1000, 10);
    t.advert(i % 2 ? '10.0.0.1' : '10.0.0.9', i % 2 ? 100 : 150); // equal priority from a LOWER address too
  }
  assert.equal(t.state(), 'BACKUP');
  const snap = t.actor.getSnapshot().context;
  assert.equal(snap.masterAddress, '10.0.0.1');
  assert.equal(snap.masterPriority, 100);
  t.advance(3620, 10);
  assert.equal(t.state(), 'MASTER');
});

test('a lower-priority advert is discarded without restarting the timer, so the BACKUP preempts', () => {
  const t = start({ basePriority: 150 });
  t.advance(1000, 10);
  t.advert('10.0.0.1', 100);
  t.advance(1000, 10);
  t.advert('10.0.0.1', 100);
  // Master_Down for 150 = 3 + 106/256 s = 3414.0625 ms, counted from the start, not from an advert
  t.advance(1414 - 1, 1);
  assert.equal(t.state(), 'BACKUP');
  t.advance(2);
  assert.equal(t.state(), 'MASTER');
  assert.ok(t.events.some((e) => e.type === 'vrrp.ignored' && e.reason === 'lower-priority'));
});

test('priority 0 from the master: take over after Skew_Time only', () => {
  const t = start();
  t.advance(500, 10);
  t.advert('10.0.0.1', 150);
  t.advance(100, 10);
  t.advert('10.0.0.1', 0);
  t.advance(609);
  assert.equal(t.state(), 'BACKUP');
  t.advance(1);
  assert.equal(t.state(), 'MASTER');
  assert.deepEqual(t.transitions(), ['BACKUP:startup', 'MASTER:priority-0-received']);
});

test('nopreempt: a lower-priority master is accepted for ever', () => {
  const t = start({ basePriority: 200, nopreempt: true });
  for (let i = 0; i < 20; i++) {
    t.advance(1000, 10);
    t.advert('10.0.0.1', 100);
  }
  assert.equal(t.state(), 'BACKUP');
});

test('preempt_delay: lower-priority adverts are accepted until the delay runs out', () => {
  const t = start({ basePriority: 200, preemptDelayMs: 5000 });
  t.advance(1000, 10);
  for (let i = 0; i < 5; i++) {
    t.advert('10.0.0.1', 100); // first one starts the preempt delay at t=1 s
    t.advance(1000, 10);
  }
  // t = 6 s: the delay expired at 6 s; this advert is discarded, the timer keeps running
  t.advert('10.0.0.1', 100);
  assert.equal(t.state(), 'BACKUP');
  t.advance(3300, 10); // Master_Down (200) = 3.21875 s after the last accepted advert at 5 s
  assert.equal(t.state(), 'MASTER');
});

test('preempt_delay is reset by a higher-priority advert', () => {
  const t = start({ basePriority: 200, preemptDelayMs: 2000 });
  t.advert('10.0.0.1', 100); // delay starts
  t.advance(1500, 10);
  t.advert('10.0.0.1', 250); // higher: delay stopped
  t.advance(1000, 10);
  t.advert('10.0.0.1', 100); // starts again, so this and the next are accepted
  t.advance(1000, 10);
  t.advert('10.0.0.1', 100);
  t.advance(500, 10);
  assert.equal(t.state(), 'BACKUP');
});

test('MASTER: higher priority wins, lower priority forces a new election', () => {
  const t = start({ basePriority: 100 });
  t.advance(3610, 10);
  t.io.length = 0;
  t.advert('10.0.0.1', 50);
  assert.equal(t.state(), 'MASTER');
  assert.deepEqual(t.io, ['advert 100']); // garp_lower_prio_repeat 0 here: no GARP
  assert.ok(t.events.some((e) => e.type === 'vrrp.rx-lower-priority' && e.src === '10.0.0.1' && e.ours === 100));
  t.io.length = 0;
  t.advert('10.0.0.1', 0); // a leaving master: answer at once, stay
  assert.deepEqual(t.io, ['advert 100']);
  t.io.length = 0;
  t.advert('10.0.0.1', 101);
  assert.equal(t.state(), 'BACKUP');
  assert.deepEqual(t.io, ['remove']); // no priority-0 advert when yielding
  assert.deepEqual(t.transitions().at(-1), 'BACKUP:higher-priority-advert');
  const last = t.events.filter((e) => e.type === 'vrrp.state').at(-1);
  assert.equal(last?.type === 'vrrp.state' && last.master, '10.0.0.1');
});

test('MASTER: equal priority is decided by the numerically higher source address', () => {
  const t = start({ srcIp: '10.0.0.20' });
  t.advance(3610, 10);
  t.advert('10.0.0.3', 100); // "3" > "20" as text, but lower as a number: we stay
  assert.equal(t.state(), 'MASTER');
  t.advert('10.0.0.100', 100);
  assert.equal(t.state(), 'BACKUP');
  assert.equal(t.transitions().at(-1), 'BACKUP:equal-priority-higher-address');
});

test('lower_prio_no_advert and higher_prio_send_advert', () => {
  const t = start({ lowerPrioNoAdvert: true, higherPrioSendAdvert: true });
  t.advance(3610, 10);
  t.io.length = 0;
  t.advert('10.0.0.1', 50);
  assert.deepEqual(t.io, []);
  t.io.length = 0;
  t.advert('10.0.0.1', 150);
  assert.deepEqual(t.io, ['advert 100', 'remove']);
});

test('v3: a BACKUP adopts the master’s advert interval, and goes back to its own as MASTER', () => {
  const t = start({ version: 3, advertIntervalCs: 100 });
  t.advert('10.0.0.1', 150, 20);
  assert.equal(t.actor.getSnapshot().context.masterIntervalCs, 20);
  // Master_Down now 3 × 200 ms + 156 × 20 × 625/16 µs = 600 + 121.875 ms
  t.advance(721, 1);
  assert.equal(t.state(), 'BACKUP');
  t.advance(1);
  assert.equal(t.state(), 'MASTER');
  assert.equal(t.actor.getSnapshot().context.masterIntervalCs, 100);
});

test('the address owner starts as MASTER at once and ignores priority changes', () => {
  const t = start({ basePriority: 255, initialState: 'MASTER' });
  assert.equal(t.state(), 'MASTER');
  t.actor.send({ type: 'priority.set', priority: 10 });
  assert.equal(t.actor.getSnapshot().context.priority, 255);
  assert.ok(!t.events.some((e) => e.type === 'vrrp.priority'));
});

test('two owners: the one with the lower address backs off and says why', () => {
  const t = start({ basePriority: 255, srcIp: '10.0.0.2' });
  t.advert('10.0.0.1', 255);
  assert.equal(t.state(), 'MASTER');
  t.advert('10.0.0.3', 255);
  assert.equal(t.state(), 'BACKUP');
  assert.ok(t.events.some((e) => e.type === 'vrrp.conflict'));
});

test('priority changes are clamped to 1..254 and emitted', () => {
  const t = start();
  t.actor.send({ type: 'priority.set', priority: 300, cause: 'track_script chk up' });
  t.actor.send({ type: 'priority.set', priority: -5 });
  t.actor.send({ type: 'priority.set', priority: 1 }); // no change, no event
  const changes = t.events.filter((e) => e.type === 'vrrp.priority').map((e) => (e.type === 'vrrp.priority' ? [e.from, e.to] : []));
  assert.deepEqual(changes, [
    [100, 254],
    [254, 1],
  ]);
});

test('FAULT from MASTER sends priority 0 and removes the addresses; adverts are ignored until cleared', () => {
  const t = start();
  t.advance(3610, 10);
  t.io.length = 0;
  t.actor.send({ type: 'fault.set', flag: 'interface:eth0' });
  t.actor.send({ type: 'fault.set', flag: 'track:script:chk' });
  assert.equal(t.state(), 'FAULT');
  assert.deepEqual(t.io, ['advert 0', 'remove']);
  t.advance(10_000, 100);
  t.advert('10.0.0.1', 50);
  assert.equal(t.state(), 'FAULT');
  assert.deepEqual(t.io, ['advert 0', 'remove']); // nothing sent in FAULT
  t.actor.send({ type: 'fault.cleared', flag: 'interface:eth0' });
  assert.equal(t.state(), 'FAULT');
  t.actor.send({ type: 'fault.cleared', flag: 'track:script:chk' });
  assert.equal(t.state(), 'BACKUP');
  const fault = t.events.find((e) => e.type === 'vrrp.state' && e.to === 'FAULT');
  assert.equal(fault?.type === 'vrrp.state' && fault.detail, 'interface:eth0');
  assert.deepEqual(t.transitions(), ['BACKUP:startup', 'MASTER:master-down-timeout', 'FAULT:fault', 'BACKUP:fault-cleared']);
});

test('a fault present at start: FAULT (init); an owner leaving FAULT goes straight to MASTER', () => {
  const t = start({ basePriority: 255, faults: ['interface:eth0'] });
  assert.equal(t.state(), 'FAULT');
  t.actor.send({ type: 'fault.cleared', flag: 'interface:eth0' });
  assert.equal(t.state(), 'MASTER');
});

test('INIT until every unweighted tracker has reported, and through vrrp_startup_delay', () => {
  const t = start({ trackersReady: false, startupDelayMs: 2000 });
  assert.equal(t.state(), 'INIT');
  t.advert('10.0.0.1', 100);
  assert.ok(t.events.some((e) => e.type === 'vrrp.ignored' && e.reason === 'not-ready'));
  t.actor.send({ type: 'trackers.ready' });
  assert.equal(t.state(), 'INIT'); // still in the startup delay
  t.advance(2000, 10);
  assert.equal(t.state(), 'BACKUP');
});

test('shutdown: a MASTER sends priority 0 and removes its addresses; the actor ends', () => {
  const t = start();
  t.advance(3610, 10);
  t.io.length = 0;
  t.actor.send({ type: 'shutdown' });
  assert.deepEqual(t.io, ['advert 0', 'remove']);
  assert.equal(t.actor.getSnapshot().status, 'done');
  assert.equal(t.transitions().at(-1), 'STOP:shutdown');

  const b = start();
  b.actor.send({ type: 'shutdown' });
  assert.deepEqual(b.io, []); // a BACKUP has nothing to give up
  assert.equal(b.actor.getSnapshot().status, 'done');

  // --dont-release-vrrp: no priority 0, the addresses stay; still a STOP transition
  const k = start();
  k.advance(3610, 10);
  k.io.length = 0;
  k.actor.send({ type: 'shutdown', release: false });
  assert.deepEqual(k.io, []);
  assert.equal(k.actor.getSnapshot().status, 'done');
  assert.equal(k.transitions().at(-1), 'STOP:shutdown');
});

test('an address removed behind a MASTER’s back: priority 0, BACKUP, MASTER again after Skew_Time', () => {
  const t = start();
  t.advance(3610, 10);
  t.io.length = 0;
  t.actor.send({ type: 'vips.lost', address: '10.0.0.100' });
  assert.equal(t.state(), 'BACKUP');
  assert.deepEqual(t.io, ['advert 0', 'remove']);
  t.advance(610, 1);
  assert.equal(t.state(), 'MASTER');
  assert.deepEqual(t.io.slice(2), ['advert 100', 'add', 'garp 5 master']);
});

test('GARP: a second burst after garp_master_delay, then a refresh every garp_master_refresh', () => {
  const t = start({ garp: { ...garp, masterDelayMs: 5000, masterRefreshMs: 60_000, masterRefreshRepeat: 2 } });
  t.advance(3610, 10);
  const garps = () => t.io.filter((x) => x.startsWith('garp'));
  assert.deepEqual(garps(), ['garp 5 master']);
  t.advance(5000, 100);
  assert.deepEqual(garps(), ['garp 5 master', 'garp 5 master-delayed']);
  t.advance(120_000, 1000);
  assert.deepEqual(garps().slice(2), ['garp 2 refresh', 'garp 2 refresh']);
});

test('GARP: a lower-priority advert gets a burst at once and one after garp_lower_prio_delay; a flood of them at most one burst per advert interval', () => {
  const t = start({ garp: { ...garp, lowerPrioRepeat: 5, lowerPrioDelayMs: 5000 } });
  t.advance(3610, 10);
  t.io.length = 0;
  const garps = () => t.io.filter((x) => x.startsWith('garp'));
  // a peer that thinks it is MASTER, advertising every interval: a burst for each of its adverts
  for (let i = 0; i < 3; i++) {
    t.advert('10.0.0.1', 50);
    t.advance(1000, 10);
  }
  assert.deepEqual(garps(), ['garp 5 lower-prio', 'garp 5 lower-prio', 'garp 5 lower-prio']);
  t.advance(5000, 10);
  assert.deepEqual(garps().slice(3), ['garp 5 lower-prio'], 'the delayed burst, once');
  // 1,000 within one interval: every one answered with an advert, one GARP burst
  t.io.length = 0;
  for (let i = 0; i < 1000; i++) t.advert('10.0.0.1', 50);
  assert.equal(t.io.filter((x) => x === 'advert 100').length, 1000);
  assert.deepEqual(garps(), ['garp 5 lower-prio']);
  t.advance(999, 1);
  t.advert('10.0.0.1', 50);
  assert.deepEqual(garps(), ['garp 5 lower-prio'], 'still within the interval');
  t.advance(1, 1);
  t.advert('10.0.0.1', 50);
  assert.deepEqual(garps(), ['garp 5 lower-prio', 'garp 5 lower-prio'], 'the next interval');
  assert.equal(t.state(), 'MASTER');
});

test('in a sync group, a timed-out member only wants MASTER until the group moves it', () => {
  const t = start({ syncGroup: 'G1' });
  t.advance(3700, 10);
  assert.equal(t.state(), 'BACKUP');
  assert.ok(t.events.some((e) => e.type === 'vrrp.want' && e.want === 'MASTER'));
  t.actor.send({ type: 'sync.master' });
  assert.equal(t.state(), 'MASTER');
  assert.equal(t.transitions().at(-1), 'MASTER:sync-group');
  t.actor.send({ type: 'sync.backup' });
  assert.equal(t.state(), 'BACKUP');
  assert.equal(t.io.at(-1), 'remove');
});
