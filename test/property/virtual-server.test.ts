// Properties of machines/virtual-server.machine.ts under any configuration and any sequence of
// checker states, dynamic weights, drains/restores and clock steps, checked against a small
// independent model of keepalived's rules (ipwrapper.c):
// - the quorum state is keepalived's: gained at ≥ quorum + hysteresis, lost at 0 or < quorum −
//   hysteresis, one `vs.quorum` per change, alternating;
// - the table never holds a dead real server at a non-zero weight, nor a live one above its
//   effective weight; the sorry server serves exactly while the quorum is down;
// - with the slow-start ramps over, the table is exactly the model's.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { createActor, SimulatedClock } from 'xstate';
import type { DynamicWeight } from '../../machines/checker.machine.js';
import {
  virtualServerMachine, type TableEntry, type VirtualServerEmitted, type VirtualServerEvent, type VirtualServerInput,
} from '../../machines/virtual-server.machine.js';

interface RsSpec { weight: number; checkers: boolean[]; inhibit: boolean; slowStart: boolean }

const rsSpec: fc.Arbitrary<RsSpec> = fc.record({
  weight: fc.integer({ min: 0, max: 10 }),
  checkers: fc.array(fc.boolean(), { maxLength: 2 }), // alpha per checker
  inhibit: fc.boolean(),
  slowStart: fc.boolean(),
});

const vsSpec = fc.record({
  rs: fc.array(rsSpec, { minLength: 1, maxLength: 5 }),
  quorum: fc.integer({ min: 1, max: 25 }),
  hysteresis: fc.integer({ min: 0, max: 6 }),
  sorry: fc.boolean(),
  sorryInhibit: fc.boolean(),
});

type Step =
  | { kind: 'state'; rs: number; checker: number; up: boolean }
  | { kind: 'weight'; rs: number; checker: number; mode: 'set' | 'add'; value: number }
  | { kind: 'drain' | 'restore'; rs: number }
  | { kind: 'clock'; ms: number };

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('state' as const), rs: fc.nat(4), checker: fc.nat(1), up: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('weight' as const), rs: fc.nat(4), checker: fc.nat(1), mode: fc.constantFrom('set' as const, 'add' as const), value: fc.integer({ min: -6, max: 15 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constantFrom('drain' as const, 'restore' as const), rs: fc.nat(4) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('clock' as const), ms: fc.integer({ min: 1, max: 400 }) }) },
);

type Spec = typeof vsSpec extends fc.Arbitrary<infer T> ? T : never;

const SLOW_START_MS = 1000;

/** The model: keepalived's rules restated, independently of the machine's code. */
class Model {
  failed: Set<string>[];
  dynamic: Map<string, DynamicWeight>[];
  drained: boolean[];
  quorumUp: boolean;
  constructor(readonly spec: Spec) {
    this.failed = spec.rs.map((r) => new Set(r.checkers.flatMap((alpha, i) => (alpha ? [String(i)] : []))));
    this.dynamic = spec.rs.map(() => new Map());
    this.drained = spec.rs.map(() => false);
    this.quorumUp = this.sum() >= spec.quorum + spec.hysteresis;
  }
  alive(i: number) { return this.failed[i]!.size === 0; }
  effective(i: number) {
    const base = this.spec.rs[i]!.weight;
    let w = base;
    for (const d of this.dynamic[i]!.values()) w += d.mode === 'set' ? d.value - base : d.value;
    return Math.max(0, w);
  }
  sum() { return this.spec.rs.reduce((s, _, i) => s + (this.alive(i) && !this.drained[i] ? this.effective(i) : 0), 0); }
  /** returns the quorum change, if any */
  settle(): 'up' | 'down' | null {
    const w = this.sum();
    const { quorum: q, hysteresis: h } = this.spec;
    if (!this.quorumUp && w >= q + h) { this.quorumUp = true; return 'up'; }
    if (this.quorumUp && (w === 0 || w < q - h)) { this.quorumUp = false; return 'down'; }
    return null;
  }
  table(): string[] {
    const sorryActive = this.spec.sorry && !this.quorumUp;
    const out: string[] = [];
    this.spec.rs.forEach((r, i) => {
      if (!this.alive(i) || sorryActive) { if (r.inhibit) out.push(`rs${i}=0`); return; }
      out.push(`rs${i}=${this.drained[i] ? 0 : this.effective(i)}`);
    });
    if (this.spec.sorry && (sorryActive || this.spec.sorryInhibit)) out.push(`sorry=${sorryActive ? 1 : 0}`);
    return out;
  }
}

test('quorum, sorry server and table follow keepalived for any event sequence', () => {
  fc.assert(fc.property(vsSpec, fc.array(stepArb, { maxLength: 60 }), (spec, steps) => {
    const input: VirtualServerInput = {
      name: 'VS', quorum: spec.quorum, hysteresis: spec.hysteresis, omega: false, haSuspend: false,
      sorryServerInhibit: spec.sorryInhibit,
      ...(spec.sorry ? { sorryServer: { key: 'sorry', address: '10.9.9.9', port: 80 } } : {}),
      realServers: spec.rs.map((r, i) => ({
        key: `rs${i}`, address: `10.0.0.${i + 1}`, port: 80, weight: r.weight, inhibitOnFailure: r.inhibit,
        checkers: r.checkers.map((alpha, c) => ({ id: `rs${i}#${c}`, alpha })),
        ...(r.slowStart ? { slowStartMs: SLOW_START_MS } : {}),
      })),
    };
    const clock = new SimulatedClock();
    const emitted: VirtualServerEmitted[] = [];
    const errors: unknown[] = [];
    const actor = createActor(virtualServerMachine, { clock, input });
    actor.on('*', (e) => emitted.push(e));
    actor.subscribe({ error: (e) => errors.push(e) });
    actor.start();
    const model = new Model(spec);
    const quorumChanges: string[] = [];
    let lastTable: TableEntry[] = [];

    const check = (what: string) => {
      const snap = actor.getSnapshot();
      const state = (snap.value as { running: { quorum: string } }).running.quorum;
      assert.equal(state, model.quorumUp ? 'up' : 'down', `${what}: quorum state`);
      const w = model.sum();
      if (model.quorumUp) assert.ok(w > 0 && w >= spec.quorum - spec.hysteresis, `${what}: up with weight ${w}`);
      else assert.ok(w < spec.quorum + spec.hysteresis, `${what}: down with weight ${w}`);
      const tables = emitted.filter((e): e is Extract<VirtualServerEmitted, { type: 'vs.table' }> => e.type === 'vs.table');
      lastTable = tables.at(-1)?.entries ?? lastTable;
      for (const e of lastTable) {
        if (e.sorry) {
          assert.equal(e.weight > 0, spec.sorry && !model.quorumUp, `${what}: sorry server serves iff quorum down`);
          continue;
        }
        const i = Number(e.key.slice(2));
        if (!model.alive(i)) assert.equal(e.weight, 0, `${what}: dead ${e.key} at weight ${e.weight}`);
        else assert.ok(e.weight <= model.effective(i), `${what}: ${e.key} above its weight`);
      }
      const sorryServing = lastTable.some((e) => e.sorry && e.weight > 0);
      assert.equal(sorryServing, spec.sorry && !model.quorumUp, `${what}: sorry in table`);
      const emittedChanges = emitted.filter((e) => e.type === 'vs.quorum' && !e.initial).map((e) => (e.type === 'vs.quorum' ? e.state : ''));
      assert.deepEqual(emittedChanges, quorumChanges, `${what}: one vs.quorum per change`);
      assert.deepEqual(errors, []);
    };
    check('start');

    for (const [n, s] of steps.entries()) {
      const rsIndex = 'rs' in s ? s.rs % spec.rs.length : 0;
      const r = spec.rs[rsIndex]!;
      let event: VirtualServerEvent | null = null;
      if (s.kind === 'clock') {
        for (let t = 0; t < s.ms; t += 50) clock.increment(Math.min(50, s.ms - t));
      } else if (s.kind === 'drain' || s.kind === 'restore') {
        event = { type: s.kind === 'drain' ? 'rs.drain' : 'rs.restore', rs: `rs${rsIndex}` };
        model.drained[rsIndex] = s.kind === 'drain';
      } else if ((s.kind === 'state' || s.kind === 'weight') && r.checkers.length) { // none for a server without checker
        const c = s.checker % r.checkers.length;
        const id = `rs${rsIndex}#${c}`;
        if (s.kind === 'state') {
          event = {
            type: 'checker.state', checker: id, from: s.up ? 'down' : 'up', to: s.up ? 'up' : 'down', cause: 'test',
            first: false, attempts: 1, consecutive: 1, detail: null, latencyMs: null,
          };
          if (s.up) model.failed[rsIndex]!.delete(String(c)); else model.failed[rsIndex]!.add(String(c));
        } else {
          const to: DynamicWeight = { mode: s.mode, value: s.value };
          event = { type: 'checker.weight', checker: id, from: model.dynamic[rsIndex]!.get(String(c)) ?? { mode: 'add', value: 0 }, to };
          model.dynamic[rsIndex]!.set(String(c), to);
        }
      }
      if (event) actor.send(event);
      const change = model.settle();
      if (change) quorumChanges.push(change);
      check(`step ${n} ${JSON.stringify(s)}`);
    }

    // let every ramp finish: then the table is exactly the model's
    for (let t = 0; t < SLOW_START_MS + 100; t += 50) clock.increment(50);
    check('ramps over');
    assert.deepEqual(lastTable.map((e) => `${e.key}=${e.weight}`), model.table());
    assert.deepEqual(Object.keys(actor.getSnapshot().children), [], 'no ramp left running');
  }), { numRuns: 300 });
});
