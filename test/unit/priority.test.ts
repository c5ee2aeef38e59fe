// Effective priority and tracker faults (keepalived.md §3.7), one row per rule.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { contribution, effectivePriority, type TrackerStatus } from '../../machines/priority.js';

const t = (over: Partial<TrackerStatus>): TrackerStatus => ({ kind: 'script', name: 'chk', weight: 0, reverse: false, status: 'ok', ...over });

test('each tracker contributes as keepalived says', () => {
  const rows: Array<[Partial<TrackerStatus>, number | 'fault']> = [
    [{ weight: 0, status: 'ok' }, 0],
    [{ weight: 0, status: 'failed' }, 'fault'],
    [{ weight: 0, status: 'ok', reverse: true }, 'fault'],
    [{ weight: 0, status: 'failed', reverse: true }, 0],
    [{ weight: 20, status: 'ok' }, 20],
    [{ weight: 20, status: 'failed' }, 0],
    [{ weight: 20, status: 'ok', reverse: true }, -20],
    [{ weight: -30, status: 'failed' }, -30],
    [{ weight: -30, status: 'ok' }, 0],
    [{ weight: -30, status: 'failed', reverse: true }, 30],
    [{ weight: -30, status: 'unknown' }, 0],
    [{ kind: 'file', weight: 0, value: 3 }, 'fault'],
    [{ kind: 'file', weight: 0, value: 0 }, 0],
    [{ kind: 'file', weight: 0, value: 0, reverse: true }, 'fault'],
    [{ kind: 'file', weight: 10, value: -3 }, -30],
    [{ kind: 'file', weight: 10, value: 3, reverse: true }, -30],
    [{ kind: 'file', weight: 100, value: 5 }, 253],
    [{ kind: 'file', weight: 100, value: -5 }, 'fault'], // clamped to -254 = FAULT
  ];
  for (const [over, want] of rows) assert.equal(contribution(t(over)), want, JSON.stringify(over));
});

test('the sum is clamped to 1..254, an owner stays 255, weight-0 trackers gate INIT', () => {
  assert.deepEqual(effectivePriority(100, [t({ weight: 200 })]), { priority: 254, total: 300, faults: [], ready: true });
  assert.equal(effectivePriority(100, [t({ weight: -150, status: 'failed' })]).priority, 1);
  const owner = effectivePriority(255, [t({ weight: -50, status: 'failed' }), t({ name: 'x', weight: 0, status: 'failed' })]);
  assert.equal(owner.priority, 255);
  assert.deepEqual(owner.faults, ['track:script:x']);
  assert.equal(effectivePriority(100, [t({ weight: 0, status: 'unknown' })]).ready, false);
  assert.equal(effectivePriority(100, [t({ weight: 5, status: 'unknown' })]).ready, true);
  const mixed = effectivePriority(100, [
    t({ name: 'a', weight: 10 }),
    t({ name: 'b', kind: 'interface', weight: -20, status: 'failed' }),
    t({ name: 'c', weight: 0, status: 'failed' }),
  ]);
  assert.deepEqual(mixed, { priority: 90, total: 90, faults: ['track:script:c'], ready: true });
});
