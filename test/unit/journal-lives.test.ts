// The fault tests' journal check (test/faults/helpers.ts assertLivesJournaled): each life of a
// daemon is compared with the events journaled between its spawn and the next one's, so a
// transition a SIGKILL took along is excused only in the life it belongs to.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { BusEvent } from '../../actors/bus.js';
import { assertLivesJournaled } from '../faults/helpers.js';

const T0 = Date.parse('2026-11-26T10:00:00.000Z');
const life = (startedAt: number, states: string[]) => ({ startedAt: T0 + startedAt, lines: ['Starting VRRP', ...states.map((s) => `(VI_1) Entering ${s} STATE`)] });
let seq = 0;
const ev = (at: number, to: string): BusEvent => ({
  v: 1, id: `E${++seq}`, time: new Date(T0 + at).toISOString(), node: 'h2', kind: 'vrrp', name: 'VI_1', type: 'vrrp.state', correlation: 'c', data: { instance: 'VI_1', to },
});

describe('assertLivesJournaled', () => {
  // the CI run of seed 30635: life 1 ends BACKUP, MASTER, BACKUP with the last two logged shortly
  // before its SIGKILL; its last BACKUP was lost; life 2 starts BACKUP, MASTER
  const first = life(0, ['BACKUP', 'MASTER', 'BACKUP']);
  const second = life(2000, ['BACKUP', 'MASTER', 'BACKUP', 'MASTER']);
  const loose = new Map([[first, 2]]);
  const journal = () => [ev(10, 'INIT'), ev(11, 'BACKUP'), ev(400, 'MASTER'), ev(2010, 'INIT'), ev(2011, 'BACKUP'), ev(2400, 'MASTER'), ev(5000, 'BACKUP'), ev(6000, 'MASTER'), ev(7000, 'STOP')];

  test('a transition lost to a SIGKILL is excused in its own life, not matched against the next', () => {
    assert.equal(assertLivesJournaled([first, second], journal(), 'j', loose), 6);
  });

  test('a transition missing from the middle of a life fails', () => {
    const j = journal().filter((e) => !(e.time === new Date(T0 + 5000).toISOString()));
    assert.throws(() => assertLivesJournaled([first, second], j, 'j', loose), /life 2 of 2/);
  });

  test('the last transition of a life that was not killed must be there', () => {
    const j = journal().filter((e) => !(e.time === new Date(T0 + 6000).toISOString()));
    assert.throws(() => assertLivesJournaled([first, second], j, 'j', loose), /life 2 of 2/);
  });

  test('no more than the excused trailing transitions may be missing', () => {
    const j = journal().filter((e) => !(e.time === new Date(T0 + 11).toISOString()));
    assert.throws(() => assertLivesJournaled([first, second], j, 'j', loose), /life 1 of 2/);
  });

  test('a transition journaled but never logged fails, as does one from before the first life', () => {
    assert.throws(() => assertLivesJournaled([first, second], [...journal(), ev(8000, 'BACKUP')], 'j', loose), /life 2 of 2/);
    assert.throws(() => assertLivesJournaled([first, second], [ev(-5, 'BACKUP'), ...journal()], 'j', loose), /before the first life/);
  });
});
