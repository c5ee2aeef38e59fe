// Random event and clock sequences on an in-memory LAN of 2 to 5 VRRP instances (one simulated
// clock, adverts delivered on the next 1 ms step, links that can be cut). Properties:
//   - once the network settles (links healed, faults cleared, no more events), there are never two
//     MASTERs after one advert interval, and exactly one after Master_Down_Interval;
//   - every shutdown of a MASTER emits a priority-0 advert.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { createActor, SimulatedClock, type Actor } from 'xstate';
import { masterDownMs, stateName, vrrpMachine } from '../../machines/vrrp.machine.js';

interface NodeSpec {
  priority: number;
  nopreempt: boolean;
  preemptDelayMs: number;
  version: 2 | 3;
}

type Step =
  | { kind: 'advance'; ms: number }
  | { kind: 'cut'; a: number; b: number }
  | { kind: 'heal' }
  | { kind: 'crash'; n: number }
  | { kind: 'restart'; n: number }
  | { kind: 'shutdown'; n: number }
  | { kind: 'fault'; n: number }
  | { kind: 'clear'; n: number }
  | { kind: 'priority'; n: number; priority: number };

const garp = { masterDelayMs: 0, masterRepeat: 1, masterRefreshMs: 0, masterRefreshRepeat: 1, lowerPrioRepeat: 0, lowerPrioDelayMs: 0 };

class Lan {
  readonly clock = new SimulatedClock();
  readonly actors: Array<Actor<typeof vrrpMachine> | undefined> = [];
  private queue: Array<{ from: number; priority: number; intervalCs: number }> = [];
  private cut = new Set<string>();
  /** for every MASTER that was shut down: did it send priority 0 on the way out? */
  readonly shutdowns: boolean[] = [];
  private lastAdvert = new Map<number, number>();

  constructor(
    readonly specs: NodeSpec[],
    readonly intervalCs: number,
  ) {
    specs.forEach((_, i) => this.start(i));
  }

  addr(i: number) {
    return `10.0.0.${i + 1}`;
  }

  start(i: number) {
    const s = this.specs[i]!;
    const actor = createActor(
      vrrpMachine.provide({
        actions: {
          sendAdvert: ({ context }, { priority }) => {
            this.lastAdvert.set(i, priority);
            this.queue.push({ from: i, priority, intervalCs: context.advertIntervalCs });
          },
        },
      }),
      {
        clock: this.clock,
        input: {
          name: `n${i}`, vrid: 1, version: s.version, basePriority: s.priority, advertIntervalCs: this.intervalCs,
          initialState: 'BACKUP', nopreempt: s.nopreempt, preemptDelayMs: s.preemptDelayMs, downTimerAdverts: 3,
          lowerPrioNoAdvert: false, higherPrioSendAdvert: false, garp, srcIp: this.addr(i),
        },
      },
    );
    this.actors[i] = actor;
    actor.start();
  }

  /** one millisecond: timers, then deliver what was sent */
  tick() {
    this.clock.increment(1);
    const q = this.queue;
    this.queue = [];
    for (const p of q) {
      this.actors.forEach((a, j) => {
        if (!a || j === p.from || this.cut.has(`${Math.min(p.from, j)}-${Math.max(p.from, j)}`)) return;
        if (a.getSnapshot().status !== 'active') return;
        a.send({ type: 'advert.received', src: this.addr(p.from), priority: p.priority, intervalCs: p.intervalCs });
      });
    }
  }

  apply(step: Step) {
    const a = 'n' in step ? this.actors[step.n % this.specs.length] : undefined;
    const alive = a && a.getSnapshot().status === 'active';
    switch (step.kind) {
      case 'advance':
        for (let i = 0; i < step.ms; i++) this.tick();
        return;
      case 'cut':
        if (step.a !== step.b) this.cut.add(`${Math.min(step.a, step.b)}-${Math.max(step.a, step.b)}`);
        return;
      case 'heal':
        this.cut.clear();
        return;
      case 'crash': // the process dies: no goodbye
        if (alive) a.stop();
        this.actors[step.n % this.specs.length] = undefined;
        return;
      case 'restart':
        if (!alive) this.start(step.n % this.specs.length);
        return;
      case 'shutdown': {
        if (!alive) return;
        const i = step.n % this.specs.length;
        const wasMaster = stateName(a.getSnapshot().value) === 'MASTER';
        this.lastAdvert.delete(i);
        a.send({ type: 'shutdown' });
        if (wasMaster) this.shutdowns.push(this.lastAdvert.get(i) === 0);
        this.actors[i] = undefined;
        return;
      }
      case 'fault':
        if (alive) a.send({ type: 'fault.set', flag: 'test' });
        return;
      case 'clear':
        if (alive) a.send({ type: 'fault.cleared', flag: 'test' });
        return;
      case 'priority':
        if (alive) a.send({ type: 'priority.set', priority: step.priority });
        return;
    }
  }

  masters(): number[] {
    const out: number[] = [];
    this.actors.forEach((a, i) => {
      if (a && a.getSnapshot().status === 'active' && stateName(a.getSnapshot().value) === 'MASTER') out.push(i);
    });
    return out;
  }

  live(): number {
    return this.actors.filter((a) => a && a.getSnapshot().status === 'active').length;
  }

  /** heal the network and clear faults: the network has settled from here on */
  settle() {
    this.cut.clear();
    this.actors.forEach((a) => a?.getSnapshot().status === 'active' && a.send({ type: 'fault.cleared', flag: 'test' }));
  }

  longestMasterDownMs(): number {
    let max = 0;
    for (const a of this.actors) if (a) max = Math.max(max, masterDownMs(a.getSnapshot().context));
    return max;
  }
}

const nodeSpec = fc.record({
  priority: fc.integer({ min: 1, max: 254 }),
  nopreempt: fc.boolean(),
  preemptDelayMs: fc.constantFrom(0, 0, 0, 500),
  version: fc.constant<2 | 3>(3),
});

const step = (n: number): fc.Arbitrary<Step> =>
  fc.oneof(
    { weight: 6, arbitrary: fc.integer({ min: 1, max: 600 }).map((ms) => ({ kind: 'advance' as const, ms })) },
    { weight: 1, arbitrary: fc.tuple(fc.nat(n - 1), fc.nat(n - 1)).map(([a, b]) => ({ kind: 'cut' as const, a, b })) },
    { weight: 1, arbitrary: fc.constant({ kind: 'heal' as const }) },
    { weight: 1, arbitrary: fc.nat(n - 1).map((i) => ({ kind: 'crash' as const, n: i })) },
    { weight: 1, arbitrary: fc.nat(n - 1).map((i) => ({ kind: 'restart' as const, n: i })) },
    { weight: 1, arbitrary: fc.nat(n - 1).map((i) => ({ kind: 'shutdown' as const, n: i })) },
    { weight: 1, arbitrary: fc.nat(n - 1).map((i) => ({ kind: 'fault' as const, n: i })) },
    { weight: 1, arbitrary: fc.nat(n - 1).map((i) => ({ kind: 'clear' as const, n: i })) },
    {
      weight: 1,
      arbitrary: fc.tuple(fc.nat(n - 1), fc.integer({ min: 1, max: 254 })).map(([i, p]) => ({ kind: 'priority' as const, n: i, priority: p })),
    },
  );

const scenario = fc
  .integer({ min: 2, max: 5 })
  .chain((n) => fc.record({ nodes: fc.array(nodeSpec, { minLength: n, maxLength: n }), steps: fc.array(step(n), { maxLength: 40 }) }));

test('after the network settles: never two MASTERs past one advert interval, exactly one past Master_Down_Interval', () => {
  const intervalCs = 10; // 100 ms adverts (v3) keep the simulation short
  fc.assert(
    fc.property(scenario, ({ nodes, steps }) => {
      const lan = new Lan(nodes, intervalCs);
      for (const s of steps) lan.apply(s);
      lan.settle();
      const mdi = Math.ceil(lan.longestMasterDownMs());
      // one advert interval (+ delivery) after settling: any duplicate MASTER has heard the other
      lan.apply({ kind: 'advance', ms: intervalCs * 10 + 2 });
      for (let t = 0; t < mdi + intervalCs * 10; t++) {
        assert.ok(lan.masters().length <= 1, `two masters ${lan.masters()} at +${t} ms`);
        lan.tick();
      }
      if (lan.live() > 0) assert.equal(lan.masters().length, 1, `no master among ${lan.live()} live nodes`);
      assert.ok(lan.shutdowns.every(Boolean), 'a MASTER shut down without a priority-0 advert');
    }),
    { numRuns: 150 },
  );
});
