// The cluster view folded from events: masters per VRID, split brain, flapping, stopped nodes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Bus, type BusEvent } from '../../actors/bus.js';
import { ClusterFold, formatClusterView } from '../../actors/cluster-view.js';

function node(name: string, clock: { t: number }) {
  const bus = new Bus(name, () => clock.t);
  const out: BusEvent[] = [];
  bus.subscribe((e) => out.push(e));
  const state = (instance: string, vrid: number, from: string, to: string, priority = 100) =>
    bus.publish('vrrp', instance, 'vrrp.state', {
      type: 'vrrp.state', instance, vrid, from: from as 'BACKUP', to: to as 'MASTER', cause: 'master-down-timeout', priority,
    });
  return { bus, out, state };
}

test('one MASTER per VRID; two is a split brain, and the text says so', () => {
  const clock = { t: Date.parse('2026-11-25T10:00:00Z') };
  const a = node('lb1', clock);
  const b = node('lb2', clock);
  a.state('VI_1', 51, 'INIT', 'BACKUP');
  b.state('VI_1', 51, 'INIT', 'BACKUP');
  clock.t += 4000;
  a.state('VI_1', 51, 'BACKUP', 'MASTER', 150);
  const fold = new ClusterFold();
  for (const e of [...a.out, ...b.out].sort((x, y) => (x.id < y.id ? -1 : 1))) fold.add(e);
  let v = fold.view(clock.t);
  assert.deepEqual(v.vrids, [{ vrid: 51, masters: ['lb1/VI_1'], splitBrain: false }]);
  // a partition: lb2 also becomes MASTER
  clock.t += 4000;
  fold.add(b.state('VI_1', 51, 'BACKUP', 'MASTER'));
  v = fold.view(clock.t);
  assert.deepEqual(v.vrids[0], { vrid: 51, masters: ['lb1/VI_1', 'lb2/VI_1'], splitBrain: true });
  assert.match(formatClusterView(v), /VRID 51: SPLIT BRAIN: 2 MASTERs \(lb1\/VI_1, lb2\/VI_1\)/);
  // lb1's daemon stops: it no longer counts as MASTER
  fold.add(a.bus.publish('daemon', 'lb1', 'daemon.stopping', { version: 'x', instances: 1, syncGroups: 0 }));
  v = fold.view(clock.t);
  assert.deepEqual(v.vrids[0]?.masters, ['lb2/VI_1']);
});

test('more than 6 changes in 10 minutes is flapping; older changes age out', () => {
  const clock = { t: Date.parse('2026-11-25T10:00:00Z') };
  const a = node('lb1', clock);
  const fold = new ClusterFold();
  for (let i = 0; i < 8; i++) {
    clock.t += 30_000;
    fold.add(a.state('VI_1', 51, i % 2 ? 'MASTER' : 'BACKUP', i % 2 ? 'BACKUP' : 'MASTER'));
  }
  assert.equal(fold.view(clock.t).instances[0]?.flapping, true);
  assert.match(formatClusterView(fold.view(clock.t)), /FLAPPING \(8 changes in 10 min\)/);
  assert.equal(fold.view(clock.t + 20 * 60_000).instances[0]?.flapping, false);
});
