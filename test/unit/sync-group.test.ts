// A vrrp_sync_group with real VRRP instance machines: the group's commands are delivered to its
// members and the members' events to the group, as the VRRP actor does (keepalived.md §3.11).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createActor, SimulatedClock, type Actor } from 'xstate';
import { stateName, vrrpMachine, type VrrpInput } from '../../machines/vrrp.machine.js';
import { syncFaultFlag, syncGroupMachine, type SyncGroupEmitted } from '../../machines/sync-group.machine.js';

const garp = { masterDelayMs: 0, masterRepeat: 1, masterRefreshMs: 0, masterRefreshRepeat: 1, lowerPrioRepeat: 0, lowerPrioDelayMs: 0 };

function group(members: Array<Partial<VrrpInput> & { name: string }>) {
  const clock = new SimulatedClock();
  const sent: string[] = [];
  const groupEvents: SyncGroupEmitted[] = [];
  const g = createActor(syncGroupMachine, { clock, input: { name: 'G1', members: members.map((m) => m.name) } });
  const actors = new Map<string, Actor<typeof vrrpMachine>>();
  g.on('*', (e) => {
    groupEvents.push(e);
    if (e.type === 'sync.command') actors.get(e.instance)?.send(e.command);
  });
  g.start();
  for (const m of members) {
    const a = createActor(
      vrrpMachine.provide({ actions: { sendAdvert: (_, { priority }) => void sent.push(`${m.name} ${priority}`) } }),
      {
        clock,
        input: {
          vrid: 1, version: 2, basePriority: 100, advertIntervalCs: 100, initialState: 'BACKUP', nopreempt: false,
          preemptDelayMs: 0, downTimerAdverts: 3, lowerPrioNoAdvert: false, higherPrioSendAdvert: false, garp,
          syncGroup: 'G1', ...m,
        },
      },
    );
    a.on('*', (e) => {
      if (e.type === 'vrrp.want' || e.type === 'vrrp.faults') g.send(e);
      if (e.type === 'vrrp.state') g.send({ type: 'vrrp.state', instance: e.instance, to: e.to });
    });
    actors.set(m.name, a);
  }
  for (const a of actors.values()) a.start();
  const states = () => [...actors.entries()].map(([n, a]) => `${n}:${stateName(a.getSnapshot().value)}`).join(' ');
  const advance = (ms: number) => {
    for (let i = 0; i < ms; i += 10) clock.increment(10);
  };
  const groupStates = () => groupEvents.filter((e) => e.type === 'sync.state').map((e) => (e.type === 'sync.state' ? e.to : ''));
  return { actors, g, states, advance, sent, groupStates };
}

test('the group goes MASTER only when every member wants it', () => {
  // VI_2 times out later (lower priority → longer Skew_Time); VI_1 waits for it
  const t = group([{ name: 'VI_1', basePriority: 200 }, { name: 'VI_2', basePriority: 50 }]);
  t.advance(3300); // VI_1's Master_Down (3.21875 s) has run out, VI_2's (3.8 s) has not
  assert.equal(t.states(), 'VI_1:BACKUP VI_2:BACKUP');
  t.advance(600);
  assert.equal(t.states(), 'VI_1:MASTER VI_2:MASTER');
  assert.deepEqual(t.groupStates(), ['BACKUP', 'MASTER']);
});

test('one member hearing a better master takes the whole group to BACKUP', () => {
  const t = group([{ name: 'VI_1' }, { name: 'VI_2' }]);
  t.advance(4000);
  assert.equal(t.states(), 'VI_1:MASTER VI_2:MASTER');
  t.actors.get('VI_1')!.send({ type: 'advert.received', src: '10.0.0.9', priority: 200, intervalCs: 100 });
  assert.equal(t.states(), 'VI_1:BACKUP VI_2:BACKUP');
  assert.deepEqual(t.groupStates(), ['BACKUP', 'MASTER', 'BACKUP']);
});

test('one member in FAULT puts the group in FAULT until its own fault clears', () => {
  const t = group([{ name: 'VI_1' }, { name: 'VI_2' }, { name: 'VI_3' }]);
  t.advance(4000);
  t.sent.length = 0;
  t.actors.get('VI_2')!.send({ type: 'fault.set', flag: 'interface:eth1' });
  assert.equal(t.states(), 'VI_1:FAULT VI_2:FAULT VI_3:FAULT');
  // every MASTER leaving for FAULT says so with priority 0
  assert.deepEqual(t.sent.sort(), ['VI_1 0', 'VI_2 0', 'VI_3 0']);
  assert.deepEqual(t.actors.get('VI_1')!.getSnapshot().context.faults, [syncFaultFlag('G1')]);
  t.actors.get('VI_2')!.send({ type: 'fault.cleared', flag: 'interface:eth1' });
  assert.equal(t.states(), 'VI_1:BACKUP VI_2:BACKUP VI_3:BACKUP');
  t.advance(4000);
  assert.equal(t.states(), 'VI_1:MASTER VI_2:MASTER VI_3:MASTER');
  assert.deepEqual(t.groupStates(), ['BACKUP', 'MASTER', 'FAULT', 'BACKUP', 'MASTER']);
});

test('a group stays in FAULT while any member still has a fault of its own', () => {
  const t = group([{ name: 'VI_1' }, { name: 'VI_2' }]);
  t.advance(4000);
  t.actors.get('VI_1')!.send({ type: 'fault.set', flag: 'a' });
  t.actors.get('VI_2')!.send({ type: 'fault.set', flag: 'b' });
  t.actors.get('VI_1')!.send({ type: 'fault.cleared', flag: 'a' });
  assert.equal(t.states(), 'VI_1:FAULT VI_2:FAULT');
  t.actors.get('VI_2')!.send({ type: 'fault.cleared', flag: 'b' });
  assert.equal(t.states(), 'VI_1:BACKUP VI_2:BACKUP');
});
