// Where an actor stands on its chart: snapshot values to chart state ids, events to the state they
// entered and the arrows that lead there, and a running actor's transitions (XState inspection)
// to the chart's transition ids. Against the real machines and their chart models.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createActor, SimulatedClock } from 'xstate';
import { loadModel } from '../../adapters/chart/index.js';
import { findMachine } from '../../adapters/chart/registry.js';
import type { ChartModel } from '../../adapters/chart/model.js';
import { Bus } from '../../actors/bus.js';
import { activeStateIds, arrowsBetween, eventState } from '../../actors/dashboard/chart-state.js';
import { LiveTracker } from '../../actors/dashboard/live.js';
import { vrrpMachine, type VrrpInput } from '../../machines/vrrp.machine.js';

const model = (name: string) => loadModel(findMachine(name)!);
/** the transition with this source, trigger and guard (ids are positions: looked up, not hard-coded) */
const tid = (m: ChartModel, source: string, trigger: string, guard?: string) => {
  const t = m.transitions.find((x) => x.source === source && x.trigger === trigger && x.guard === guard);
  assert.ok(t, `${m.machine}: no transition ${source} --${trigger} [${guard}]-->`);
  return t.id;
};

const input: VrrpInput = {
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
  garp: { masterDelayMs: 0, masterRepeat: 5, masterRefreshMs: 0, masterRefreshRepeat: 1, lowerPrioRepeat: 0, lowerPrioDelayMs: 0 },
  srcIp: '10.0.0.2',
};

test('a snapshot value is every active state id, parents first; ids exist in the chart', async () => {
  assert.deepEqual(activeStateIds('backup'), ['backup']);
  assert.deepEqual(activeStateIds({ master: { adverts: 'advertising', garp: 'done' } }), ['master', 'master.adverts', 'master.adverts.advertising', 'master.garp', 'master.garp.done']);
  const m = await model('vrrp');
  const ids = new Set(m.states.map((s) => s.id));
  const actor = createActor(vrrpMachine, { clock: new SimulatedClock(), input });
  actor.start();
  for (const id of activeStateIds(actor.getSnapshot().value)) assert.ok(ids.has(id), id);
  actor.stop();
});

test('events name the state entered; the arrows that lead there follow the cause', async () => {
  const bus = new Bus('lb1');
  const e = bus.publish('vrrp', 'VI_1', 'vrrp.state', { type: 'vrrp.state', instance: 'VI_1', vrid: 51, from: 'BACKUP', to: 'MASTER', cause: 'master-down-timeout', priority: 100 });
  const st = eventState(e)!;
  assert.deepEqual({ ...st }, { machine: 'vrrp', state: 'MASTER', from: 'BACKUP', ids: ['master'], fromIds: ['backup'], cause: 'master-down-timeout' });
  const vrrp = await model('vrrp');
  assert.deepEqual(arrowsBetween(vrrp, ['backup'], ['master'], 'master-down-timeout'), [tid(vrrp, 'backup.timer.waiting', 'master.down')]);
  assert.deepEqual(arrowsBetween(vrrp, ['backup'], ['master'], 'priority-0-received'), [tid(vrrp, 'backup.timer.fast', 'after skew')]);
  // no cause: every way in
  assert.equal(arrowsBetween(vrrp, ['backup'], ['master']).length, 3);
  // through the transient `stopping`: its arrows in (released or kept: --dont-release-vrrp), then its `always`
  assert.deepEqual(arrowsBetween(vrrp, ['master'], ['stopped'], 'shutdown'), [tid(vrrp, 'master', 'shutdown', 'keepOnShutdown'), tid(vrrp, 'master', 'shutdown'), tid(vrrp, 'stopping', 'always')]);

  const checker = await model('checker');
  const down = bus.publish('checker', 'c', 'checker.state', { type: 'checker.state', checker: 'c', from: 'up', to: 'down', cause: 'x', first: false, attempts: 1, consecutive: 1, detail: null, latencyMs: null });
  const cs = eventState(down)!;
  assert.deepEqual(cs.ids, ['running', 'running.health', 'running.health.down']);
  assert.deepEqual(arrowsBetween(checker, cs.fromIds, cs.ids), [tid(checker, 'running.health.up', 'check.result', 'and(attempting, goesDown)')]);
  // a process tracker has no chart, a vrrp.priority is no state change
  assert.equal(eventState(bus.publish('track', 'p', 'track.state', { type: 'track.state', tracker: 'p', kind: 'process', state: 'ok', count: 2 }))?.machine, undefined);
  assert.equal(eventState(bus.publish('vrrp', 'VI_1', 'vrrp.priority', { type: 'vrrp.priority', instance: 'VI_1', from: 1, to: 2 })), undefined);
});

test('a running actor: its exact states and the transitions it took, as chart ids', async () => {
  const vrrp = await model('vrrp');
  const clock = new SimulatedClock();
  let now = 0;
  const actor = createActor(vrrpMachine, { clock, input });
  const changed: string[] = [];
  const tracker = new LiveTracker('lb1', () => [{ kind: 'vrrp', name: 'VI_1', machine: 'vrrp', actor }], (k) => changed.push(k), () => now);
  tracker.sync();
  actor.start();
  const models = new Map([['vrrp', vrrp]]);
  let s = tracker.states(models).get('lb1/vrrp/VI_1')!;
  assert.deepEqual(s.ids.slice(0, 2), ['backup', 'backup.timer']);

  // silence: Master_Down_Interval (3 × 1 s + skew 609 ms) runs out
  for (let i = 0; i < 3700; i++) {
    now++;
    clock.increment(1);
  }
  s = tracker.states(models).get('lb1/vrrp/VI_1')!;
  assert.equal(s.ids[0], 'master');
  assert.ok(s.recent.some((r) => r.arrows.includes(tid(vrrp, 'backup.timer.waiting', 'master.down'))), JSON.stringify(s.recent));
  assert.ok(changed.length > 0 && changed.every((k) => k === 'lb1/vrrp/VI_1'));
  // a MASTER's adverts re-arm a timer in place: no change, no new arrow
  const before = tracker.states(models).get('lb1/vrrp/VI_1')!.recent.length;
  const n = changed.length;
  for (let i = 0; i < 3000; i++) clock.increment(1);
  assert.equal(changed.length, n);
  assert.equal(tracker.states(models).get('lb1/vrrp/VI_1')!.recent.length, before);

  // a priority-0 advert: fast timer, then Skew_Time
  actor.send({ type: 'advert.received', src: '10.0.0.3', priority: 200, intervalCs: 100 });
  actor.send({ type: 'advert.received', src: '10.0.0.3', priority: 0, intervalCs: 100 });
  s = tracker.states(models).get('lb1/vrrp/VI_1')!;
  assert.equal(s.ids[0], 'backup');
  assert.ok(s.ids.includes('backup.timer.fast'));
  assert.deepEqual(s.recent.at(-1)!.arrows, [tid(vrrp, 'backup.timer', 'advert.received', 'priorityZero')]);

  // gone from the source: forgotten
  tracker.close();
  actor.stop();
});
