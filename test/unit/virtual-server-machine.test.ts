// machines/virtual-server.machine.ts: alive set, effective weights, quorum with hysteresis, the
// sorry server, inhibit_on_failure, alpha, omega, ha_suspend, drain/restore and slow start, with
// SimulatedClock; and the checker machines feeding it, as the wiring will.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createActor, SimulatedClock } from 'xstate';
import { checkerMachine, type CheckerEmitted, type CheckerInput } from '../../machines/checker.machine.js';
import { checkerInput, realServerKey, virtualServerInput, virtualServerName } from '../../machines/lvs-input.js';
import {
  RAMP_STEPS, virtualServerMachine, type TableEntry, type VirtualServerEmitted, type VirtualServerEvent, type VirtualServerInput,
  type VsRealServerInput,
} from '../../machines/virtual-server.machine.js';
import { fakeCheckProbe } from '../fakes/checkProbe.js';
import { parse } from '../helpers.js';

function rs(name: string, weight: number, opts: Partial<VsRealServerInput> & { nChecks?: number; alpha?: boolean } = {}): VsRealServerInput {
  const { nChecks = 1, alpha = false, ...rest } = opts;
  return {
    key: `${name}:80`, address: name, port: 80, weight, inhibitOnFailure: false,
    checkers: Array.from({ length: nChecks }, (_, i) => ({ id: `${name}#${i}`, alpha })), ...rest,
  };
}

const BASE: VirtualServerInput = {
  name: 'VS', quorum: 1, hysteresis: 0, omega: false, haSuspend: false, sorryServerInhibit: false,
  realServers: [rs('a', 1), rs('b', 1)],
};

function start(input: Partial<VirtualServerInput> = {}) {
  const clock = new SimulatedClock();
  const emitted: VirtualServerEmitted[] = [];
  const errors: unknown[] = [];
  const actor = createActor(virtualServerMachine, { clock, input: { ...BASE, ...input } });
  actor.on('*', (e) => emitted.push(e));
  actor.subscribe({ error: (e) => errors.push(e) });
  actor.start();
  const of = <T extends VirtualServerEmitted['type']>(type: T) =>
    emitted.filter((e): e is Extract<VirtualServerEmitted, { type: T }> => e.type === type);
  /** the last table, as "key=weight" (sorry server marked with !) */
  const table = () => show(of('vs.table').at(-1)?.entries ?? []);
  const quorum = () => (actor.getSnapshot().value as { running: { quorum: string } }).running.quorum;
  const send = (e: VirtualServerEvent) => actor.send(e);
  const check = (checker: string, to: 'up' | 'down', extra: Partial<CheckerEmitted> = {}) => send({
    type: 'checker.state', checker, from: to === 'up' ? 'down' : 'up', to, cause: to === 'up' ? 'succeeded' : 'failed',
    first: false, attempts: 1, consecutive: 1, detail: null, latencyMs: null, ...extra,
  } as VirtualServerEvent);
  const down = (name: string, i = 0) => check(`${name}#${i}`, 'down');
  const up = (name: string, i = 0) => check(`${name}#${i}`, 'up');
  return { clock, emitted, errors, actor, of, table, quorum, send, check, down, up };
}

const show = (entries: readonly TableEntry[]) => entries.map((e) => `${e.key}=${e.weight}${e.sorry ? '!' : ''}`).join(' ');

describe('alive set and table', () => {
  test('at start: every server alive at its weight, one table, no quorum or server event', () => {
    const t = start({ realServers: [rs('a', 3), rs('b', 2)] });
    assert.equal(t.table(), 'a:80=3 b:80=2');
    assert.deepEqual(t.emitted.map((e) => e.type), ['vs.table']);
    assert.equal(t.quorum(), 'up');
  });

  test('a server goes down and comes back: vs.rs both times, the table follows', () => {
    const t = start();
    t.down('a');
    assert.equal(t.table(), 'b:80=1');
    t.up('a');
    assert.equal(t.table(), 'a:80=1 b:80=1');
    assert.deepEqual(t.of('vs.rs').map((e) => [e.rs, e.state, e.cause, e.initial]), [
      ['a:80', 'down', 'a#0 failed', false], ['a:80', 'up', 'a#0 succeeded', false],
    ]);
    assert.equal(t.of('vs.table').length, 3);
  });

  test('alive only when ALL its checkers are up', () => {
    const t = start({ realServers: [rs('a', 1, { nChecks: 2 }), rs('b', 1)] });
    t.down('a', 0);
    t.down('a', 1);
    t.up('a', 0);
    assert.equal(t.table(), 'b:80=1', 'one checker still down');
    t.up('a', 1);
    assert.equal(t.table(), 'a:80=1 b:80=1');
    assert.deepEqual(t.of('vs.rs').map((e) => e.state), ['down', 'up']);
  });

  test('a real server without checker is always alive', () => {
    const t = start({ realServers: [rs('a', 1, { nChecks: 0 }), rs('b', 1)] });
    t.down('b');
    assert.equal(t.table(), 'a:80=1');
  });

  test('inhibit_on_failure: a dead server stays at weight 0', () => {
    const t = start({ realServers: [rs('a', 5, { inhibitOnFailure: true }), rs('b', 1)] });
    t.down('a');
    assert.equal(t.table(), 'a:80=0 b:80=1');
    t.up('a');
    assert.equal(t.table(), 'a:80=5 b:80=1');
  });

  test('a repeated state changes nothing', () => {
    const t = start();
    t.down('a');
    t.down('a');
    assert.equal(t.of('vs.rs').length, 1);
    assert.equal(t.of('vs.table').length, 2);
  });

  test('rs_init_notifies: the servers alive at start are announced', () => {
    const t = start({ initNotifies: true, realServers: [rs('a', 1), rs('b', 1, { alpha: true })] });
    assert.deepEqual(t.of('vs.rs').map((e) => [e.rs, e.state, e.initial, e.cause]), [['a:80', 'up', true, 'startup']]);
  });
});

describe('alpha', () => {
  test('a server with an alpha checker starts dead; the first failure repeats DOWN; a success brings it in', () => {
    const t = start({ realServers: [rs('a', 1, { alpha: true }), rs('b', 1)] });
    assert.equal(t.table(), 'b:80=1');
    t.check('a#0', 'down', { from: 'down', first: true });
    assert.deepEqual(t.of('vs.rs').map((e) => [e.rs, e.state, e.initial]), [['a:80', 'down', true]]);
    assert.equal(t.of('vs.table').length, 1, 'no table change');
    t.up('a');
    assert.equal(t.table(), 'a:80=1 b:80=1');
  });

  test('alpha with inhibit_on_failure: in the table at weight 0 from the start', () => {
    const t = start({ realServers: [rs('a', 4, { alpha: true, inhibitOnFailure: true })] });
    assert.equal(t.table(), 'a:80=0');
  });
});

describe('quorum with hysteresis (update_quorum_state)', () => {
  test('quorum 5 hysteresis 2: lost below 3, regained at 7, both edges exact', () => {
    const t = start({ quorum: 5, hysteresis: 2, realServers: [rs('a', 4), rs('b', 2), rs('c', 1)] });
    assert.equal(t.quorum(), 'up', 'starts up: 7 ≥ 5 + 2');
    t.down('a'); // 3: not < 3
    assert.equal(t.quorum(), 'up');
    t.down('c'); // 2 < 3
    assert.equal(t.quorum(), 'down');
    t.up('c'); // 3 < 7
    t.down('c'); t.up('c');
    t.up('a'); // 7 ≥ 7
    assert.equal(t.quorum(), 'up');
    assert.deepEqual(t.of('vs.quorum').map((e) => [e.state, e.weight, e.threshold, e.cause, e.initial]), [
      ['down', 2, 3, 'c#0 down', false],
      ['up', 7, 7, 'a#0 up', false],
    ]);
  });

  test('starts down when below quorum + hysteresis even if above quorum', () => {
    const t = start({ quorum: 2, hysteresis: 1, realServers: [rs('a', 1), rs('b', 1)] });
    assert.equal(t.quorum(), 'down');
    assert.deepEqual(t.of('vs.quorum'), [], 'no sorry server: a quorum down at start is not announced');
    assert.equal(t.table(), 'a:80=1 b:80=1', 'no sorry server: the servers stay');
  });

  test('a weight sum of 0 loses the quorum even when quorum − hysteresis ≤ 0', () => {
    const t = start({ quorum: 1, hysteresis: 1, realServers: [rs('a', 1), rs('b', 1)] });
    assert.equal(t.quorum(), 'up');
    t.down('a');
    assert.equal(t.quorum(), 'up', '1 is not < 0');
    t.down('b');
    assert.equal(t.quorum(), 'down');
    assert.deepEqual(t.of('vs.quorum').map((e) => [e.state, e.weight]), [['down', 0]]);
  });

  test('a server weighted 0 never makes the quorum', () => {
    const t = start({ realServers: [rs('a', 0)] });
    assert.equal(t.quorum(), 'down');
    assert.equal(t.table(), 'a:80=0');
  });
});

describe('sorry server', () => {
  const sorryServer = { key: 's:80', address: 's', port: 80 };

  test('quorum lost: only the sorry server (inhibited servers at 0); changes meanwhile are recorded; regained: back', () => {
    const t = start({ quorum: 3, sorryServer, realServers: [rs('a', 2), rs('b', 1, { inhibitOnFailure: true }), rs('c', 1)] });
    assert.equal(t.table(), 'a:80=2 b:80=1 c:80=1');
    t.down('a');
    assert.equal(t.quorum(), 'down');
    assert.equal(t.table(), 'b:80=0 s:80=1!');
    assert.equal(t.of('vs.table').at(-1)?.sorry, true);
    const tables = t.of('vs.table').length;
    t.down('c');
    t.up('c');
    assert.equal(t.of('vs.table').length, tables, 'no destination change while the sorry server serves');
    assert.deepEqual(t.of('vs.rs').map((e) => `${e.rs} ${e.state}`), ['a:80 down', 'c:80 down', 'c:80 up'], 'but every change is announced');
    t.up('a');
    assert.equal(t.quorum(), 'up');
    assert.equal(t.table(), 'a:80=2 b:80=1 c:80=1');
    // rs notify before the quorum's, then the table
    assert.deepEqual(t.emitted.slice(-3).map((e) => e.type), ['vs.rs', 'vs.quorum', 'vs.table']);
  });

  test('starting with the quorum down: announced (initial) and the sorry server serves', () => {
    const t = start({ quorum: 5, sorryServer, realServers: [rs('a', 1)] });
    assert.deepEqual(t.of('vs.quorum').map((e) => [e.state, e.initial, e.threshold, e.cause]), [['down', true, 5, 'startup']]);
    assert.equal(t.table(), 's:80=1!');
  });

  test('sorry_server_inhibit: the sorry server stays at weight 0 while the quorum is up', () => {
    const t = start({ sorryServer, sorryServerInhibit: true, realServers: [rs('a', 1)] });
    assert.equal(t.table(), 'a:80=1 s:80=0!');
    t.down('a');
    assert.equal(t.table(), 's:80=1!');
    t.up('a');
    assert.equal(t.table(), 'a:80=1 s:80=0!');
  });
});

describe('dynamic weight', () => {
  test("'set' replaces the weight, 'add' adds to it; the quorum follows; clamped at 0", () => {
    const t = start({ quorum: 10, realServers: [rs('a', 5), rs('b', 5)] });
    assert.equal(t.quorum(), 'up');
    t.send({ type: 'checker.weight', checker: 'a#0', from: { mode: 'add', value: 0 }, to: { mode: 'set', value: 2 } });
    assert.equal(t.table(), 'a:80=2 b:80=5');
    assert.equal(t.quorum(), 'down', '7 < 10');
    t.send({ type: 'checker.weight', checker: 'a#0', from: { mode: 'set', value: 2 }, to: { mode: 'add', value: 3 } });
    assert.equal(t.table(), 'a:80=8 b:80=5');
    assert.equal(t.quorum(), 'up');
    t.send({ type: 'checker.weight', checker: 'b#0', from: { mode: 'add', value: 0 }, to: { mode: 'add', value: -50 } });
    assert.equal(t.table(), 'a:80=8 b:80=0');
    assert.deepEqual(t.of('vs.weight').map((e) => [e.rs, e.from, e.to]), [['a:80', 5, 2], ['a:80', 2, 8], ['b:80', 5, 0]]);
  });

  test('a dead server keeps its weight change for when it comes back', () => {
    const t = start();
    t.down('a');
    t.send({ type: 'checker.weight', checker: 'a#0', from: { mode: 'add', value: 0 }, to: { mode: 'set', value: 9 } });
    assert.equal(t.of('vs.weight')[0]?.alive, false);
    assert.equal(t.table(), 'b:80=1');
    t.up('a');
    assert.equal(t.table(), 'a:80=9 b:80=1');
  });
});

describe('operator drain/restore', () => {
  test('drain: weight 0 with the entry kept, and 0 towards the quorum; restore', () => {
    const t = start({ quorum: 2, sorryServer: { key: 's:80', address: 's', port: 80 } });
    t.send({ type: 'rs.drain', rs: 'a:80' });
    assert.equal(t.quorum(), 'down');
    assert.equal(t.table(), 's:80=1!');
    t.send({ type: 'rs.restore', rs: 'a:80' });
    assert.equal(t.quorum(), 'up');
    assert.equal(t.table(), 'a:80=1 b:80=1');
    assert.deepEqual(t.of('vs.drain').map((e) => [e.rs, e.drained]), [['a:80', true], ['a:80', false]]);

    const u = start();
    u.send({ type: 'rs.drain', rs: 'a:80' });
    assert.equal(u.table(), 'a:80=0 b:80=1');
    u.send({ type: 'rs.drain', rs: 'a:80' });
    assert.equal(u.of('vs.drain').length, 1, 'draining twice is one change');
  });

  test('unknown names are counted and reported, nothing else changes', () => {
    const t = start();
    t.send({ type: 'rs.drain', rs: 'zz:80' });
    t.check('zz#0', 'down');
    assert.deepEqual(t.of('vs.ignored').map((e) => [e.event, e.reason]), [
      ['rs.drain', "no real server 'zz:80' in this virtual server"],
      ['checker.state', "no checker 'zz#0' in this virtual server"],
    ]);
    assert.equal(t.actor.getSnapshot().context.ignored, 2);
    assert.equal(t.of('vs.table').length, 1);
  });
});

describe('ha_suspend', () => {
  test('checks suspended until VRRP master; commands on each change only', () => {
    const t = start({ haSuspend: true });
    const checks = () => (t.actor.getSnapshot().value as { running: { checks: string } }).running.checks;
    assert.equal(checks(), 'suspended');
    assert.deepEqual(t.of('vs.suspend'), [], 'checkers start paused, no command at start');
    t.send({ type: 'vrrp.master' });
    t.send({ type: 'vrrp.master' });
    t.send({ type: 'vrrp.not-master' });
    t.send({ type: 'vrrp.not-master' });
    assert.deepEqual(t.emitted.filter((e) => e.type === 'vs.suspend' || e.type === 'vs.resume').map((e) => e.type), ['vs.resume', 'vs.suspend']);
  });

  test('without ha_suspend VRRP changes nothing', () => {
    const t = start();
    t.send({ type: 'vrrp.not-master' });
    assert.deepEqual(t.emitted.map((e) => e.type), ['vs.table']);
  });
});

describe('slow start (vigil extension)', () => {
  test('a server coming back starts at 1 and reaches its weight at slow_start in RAMP_STEPS steps', () => {
    const t = start({ realServers: [rs('a', 20, { slowStartMs: 10_000 }), rs('b', 1)] });
    assert.equal(t.table(), 'a:80=20 b:80=1', 'no ramp at startup');
    t.down('a');
    t.up('a');
    const weights = () => t.of('vs.table').slice(2).map((e) => e.entries[0]?.weight);
    assert.deepEqual(weights(), [1]);
    for (let i = 0; i < RAMP_STEPS - 1; i++) t.clock.increment(1000); // one timer per step
    assert.deepEqual(weights(), [1, 2, 4, 6, 8, 10, 12, 14, 16, 18]);
    t.clock.increment(1000);
    assert.equal(weights().at(-1), 20, 'full weight at slow_start');
    t.clock.increment(10_000);
    assert.equal(t.of('vs.table').length, 13, 'the ramp is over');
    assert.equal(Object.keys(t.actor.getSnapshot().children).length, 0);
  });

  test('going down mid-ramp stops it; small weights are at least 1', () => {
    const t = start({ realServers: [rs('a', 3, { slowStartMs: 1000 }), rs('b', 1)] });
    t.down('a');
    t.up('a');
    for (let i = 0; i < 3; i++) t.clock.increment(100);
    assert.deepEqual(t.of('vs.table').slice(2).map((e) => e.entries[0]?.weight), [1], '3 × 3/10 rounds up to 1');
    t.clock.increment(100);
    assert.deepEqual(t.of('vs.table').slice(2).map((e) => e.entries[0]?.weight), [1, 2]);
    t.down('a');
    const n = t.of('vs.table').length;
    t.clock.increment(5000);
    assert.equal(t.of('vs.table').length, n);
    t.up('a');
    assert.equal(t.of('vs.table').at(-1)?.entries[0]?.weight, 1, 'a new ramp from the start');
  });

  test('the ramp shapes the table, not the quorum', () => {
    const t = start({ quorum: 20, realServers: [rs('a', 20, { slowStartMs: 10_000 })] });
    t.down('a');
    t.up('a');
    assert.equal(t.quorum(), 'up');
    assert.equal(t.table(), 'a:80=1');
  });
});

describe('stop', () => {
  test('omega: the servers in the pool and the quorum go DOWN at stop', () => {
    const t = start({ omega: true, realServers: [rs('a', 1), rs('b', 1), rs('c', 1)] });
    t.down('c');
    const before = t.emitted.length;
    t.send({ type: 'stop' });
    assert.deepEqual(t.emitted.slice(before).map((e) => (e.type === 'vs.rs' ? `${e.rs} ${e.state} ${e.cause}` : e.type === 'vs.quorum' ? `quorum ${e.state} ${e.cause}` : e.type)), [
      'a:80 down shutdown', 'b:80 down shutdown', 'quorum down shutdown',
    ]);
    assert.equal(t.actor.getSnapshot().status, 'done');
  });

  test('without omega nothing is announced', () => {
    const t = start();
    t.send({ type: 'stop' });
    assert.deepEqual(t.emitted.map((e) => e.type), ['vs.table']);
    assert.equal(t.actor.getSnapshot().status, 'done');
  });
});

describe('from the configuration', () => {
  test('keys, inherited alpha / inhibit_on_failure / slow_start, sorry server port', () => {
    const r = parse(`virtual_server 10.0.0.100 80 {\n alpha\n inhibit_on_failure\n slow_start 30\n quorum 2\n hysteresis 1\n sorry_server 10.0.0.9\n` +
      ` real_server 10.0.0.1 80 {\n  weight 3\n  inhibit_on_failure off\n  slow_start 5\n  TCP_CHECK {\n   alpha off\n  }\n  HTTP_GET {\n   url {\n    path /\n   }\n  }\n }\n` +
      ` real_server 10.0.0.2 {\n  TCP_CHECK {\n  }\n }\n}\n`);
    assert.deepEqual(r.diagnostics.filter((d) => d.severity === 'error').map((d) => d.message), []);
    const vs = r.config.virtualServers[0]!;
    const input = virtualServerInput(vs, { initNotifies: true });
    assert.deepEqual(input, {
      name: '10.0.0.100:80/tcp', quorum: 2, hysteresis: 1, omega: false, haSuspend: false,
      sorryServer: { key: '10.0.0.9:80', address: '10.0.0.9', port: 80 }, sorryServerInhibit: false,
      realServers: [
        {
          key: '10.0.0.1:80', address: '10.0.0.1', port: 80, weight: 3, inhibitOnFailure: false, slowStartMs: 5000,
          checkers: [{ id: '10.0.0.100:80/tcp 10.0.0.1:80 TCP_CHECK#0', alpha: false }, { id: '10.0.0.100:80/tcp 10.0.0.1:80 HTTP_GET#1', alpha: true }],
        },
        {
          key: '10.0.0.2:80', address: '10.0.0.2', port: 80, weight: 1, inhibitOnFailure: true, slowStartMs: 30_000,
          checkers: [{ id: '10.0.0.100:80/tcp 10.0.0.2:80 TCP_CHECK#0', alpha: true }],
        },
      ],
      initNotifies: true,
    });
    assert.deepEqual(checkerInput(vs, vs.realServers[0]!, 1, { warmupOffsetMs: 700 }), {
      id: '10.0.0.100:80/tcp 10.0.0.1:80 HTTP_GET#1', connectTimeoutMs: 5000, retry: 1, delayBeforeRetryMs: 3000, delayLoopMs: 60_000,
      warmupMs: 60_000, alpha: true, warmupOffsetMs: 700,
    });
  });

  test('checker input: rise/fall, ha_suspend starts paused, resolved timings', () => {
    const r = parse(`virtual_server 10.0.0.100 80 {\n ha_suspend\n delay_loop 10\n real_server 10.0.0.1 80 {\n  MISC_CHECK {\n   misc_path /bin/true\n   rise 2\n   fall 3\n  }\n }\n}\n`);
    const vs = r.config.virtualServers[0]!;
    assert.deepEqual(checkerInput(vs, vs.realServers[0]!, 0), {
      id: '10.0.0.100:80/tcp 10.0.0.1:80 MISC_CHECK#0', connectTimeoutMs: 5000, retry: 0, delayBeforeRetryMs: 1000, delayLoopMs: 10_000,
      warmupMs: 10_000, alpha: false, rise: 2, fall: 3, paused: true,
    });
    // log_all_failures: the checker's own, else global checker_log_all_failures
    assert.equal(checkerInput(vs, vs.realServers[0]!, 0, { logAllFailures: true }).logAllFailures, true);
    const own = parse(`virtual_server 10.0.0.100 80 {\n real_server 10.0.0.1 80 {\n  TCP_CHECK {\n   log_all_failures off\n  }\n  TCP_CHECK {\n   log_all_failures\n  }\n }\n}\n`).config.virtualServers[0]!;
    assert.equal(checkerInput(own, own.realServers[0]!, 0, { logAllFailures: true }).logAllFailures, undefined);
    assert.equal(checkerInput(own, own.realServers[0]!, 1).logAllFailures, true);
  });

  test('names: IPv6 in brackets, fwmark and group services, servers without port', () => {
    assert.equal(realServerKey('2001:db8::2', 80), '[2001:db8::2]:80');
    assert.equal(realServerKey('10.0.0.1', undefined), '10.0.0.1');
    const r = parse(`virtual_server fwmark 7 {\n real_server 10.0.0.1 {\n }\n}\nvirtual_server 2001:db8::100 443 {\n protocol UDP\n real_server 2001:db8::1 443 {\n }\n}\n` +
      `virtual_server_group G {\n 10.0.0.1 80\n}\nvirtual_server group G {\n real_server 10.0.0.1 80 {\n }\n}\n`);
    assert.deepEqual(r.config.virtualServers.map((vs) => [virtualServerName(vs), virtualServerInput(vs).realServers[0]?.key]), [
      ['fwmark:7', '10.0.0.1'], ['[2001:db8::100]:443/udp', '[2001:db8::1]:443'], ['group:G', '10.0.0.1:80'],
    ]);
  });
});

test('checker machines feeding the virtual server: a dead server leaves the table after its retries', () => {
  const clock = new SimulatedClock();
  const vsEvents: VirtualServerEmitted[] = [];
  const vs = createActor(virtualServerMachine, { clock, input: BASE });
  vs.on('*', (e) => vsEvents.push(e));
  vs.start();
  const probes = new Map<string, ReturnType<typeof fakeCheckProbe>>();
  for (const id of ['a#0', 'b#0']) {
    const fake = fakeCheckProbe();
    probes.set(id, fake);
    const input: CheckerInput = { id, connectTimeoutMs: 1000, retry: 1, delayBeforeRetryMs: 500, delayLoopMs: 2000, warmupMs: 0, alpha: false };
    const ck = createActor(checkerMachine.provide({ actors: { probe: fake.logic } }), { clock, input });
    ck.on('checker.state', (e) => vs.send(e));
    ck.on('checker.weight', (e) => vs.send(e));
    ck.start();
  }
  const a = probes.get('a#0')!;
  const b = probes.get('b#0')!;
  a.current.reply({ ok: true });
  b.current.reply({ ok: true });
  clock.increment(2000); // a's check hangs, b answers
  b.current.reply({ ok: true });
  clock.increment(1000); // a times out → retry in 500 ms
  clock.increment(500);
  a.current.reply({ ok: false, detail: 'connect ECONNREFUSED' });
  const last = vsEvents.filter((e) => e.type === 'vs.table').at(-1);
  assert.equal(last && show(last.entries), 'b:80=1');
  const down = vsEvents.find((e) => e.type === 'vs.rs');
  assert.equal(down?.type === 'vs.rs' && down.cause, 'a#0 failed after 1 retry (connect ECONNREFUSED)');
});
