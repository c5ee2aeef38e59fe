// The health checks in their worker thread (actors/lvs-remote.ts, actors/lvs-worker.ts), with real
// TCP checks against listeners on loopback: events arrive on the main bus with their ids and
// causes, status and drain work through the mirror, a reload keeps what it should, the dashboard's
// proxies follow the worker's actors, a killed thread comes back from its checkers' last states,
// and, the point of the thread, the checks go on while the main thread is blocked.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import type { AddressInfo } from 'node:net';
import { Bus, type BusEvent } from '../../actors/bus.js';
import { createLogger, silentLogger } from '../../actors/log.js';
import { RemoteLvs } from '../../actors/lvs-remote.js';
import { checkerThreads } from '../../actors/checker-threads.js';
import type { DelayTally } from '../../actors/loop-delay.js';
import { virtualServerName } from '../../machines/lvs-input.js';
import { parse } from '../helpers.js';

async function listen(): Promise<Server & { port: number }> {
  const s = createServer((c) => c.destroy());
  await new Promise<void>((res) => s.listen(0, '127.0.0.1', res));
  return Object.assign(s, { port: (s.address() as AddressInfo).port });
}

const conf = (ports: number[], extra = '') => `global_defs {
  router_id n1
}
virtual_server 127.0.0.1 80 {
  delay_loop 1
  lb_algo rr
  lb_kind NAT
  protocol TCP
${ports.map((p) => `  real_server 127.0.0.1 ${p} {
    weight 1
    TCP_CHECK {
      connect_timeout 1
      retry 0
    }
  }
`).join('')}${extra}}
`;

async function until(what: string, fn: () => boolean, ms = 8000): Promise<void> {
  const t0 = Date.now();
  while (!fn()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('health checks in a worker thread', async (t) => {
  const servers = [await listen(), await listen()];
  const bus = new Bus('n1');
  const events: BusEvent[] = [];
  bus.subscribe((e) => events.push(e));
  const tables: { name: string; weights: number[]; cause: string }[] = [];
  const lvs = new RemoteLvs(parse(conf(servers.map((s) => s.port))).config, {
    bus,
    log: process.env['DEBUG_LVS'] ? createLogger({ level: 'debug', format: 'json' }) : silentLogger(),
    onTable: (_vs, name, entries, cause) => tables.push({ name, weights: entries.map((e) => e.weight), cause: cause.id }),
    restartDelayMs: 100,
  });
  t.after(async () => {
    await lvs.stop();
    for (const s of servers) s.close();
  });
  lvs.start();
  // a checker that starts UP and succeeds makes no event (keepalived): the status mirror shows it
  await until('both checked up in the status mirror', () => lvs.status()[0]?.realServers.length === 2 && lvs.status()[0]!.realServers.every((r) => r.alive));
  assert.equal(lvs.status()[0]!.virtualServer, virtualServerName(parse(conf([1])).config.virtualServers[0]!));
  // the tables reach the LB with the event that caused them, an event of the main bus
  await until('a table with both', () => tables.some((x) => x.weights.length === 2 && x.weights.every((w) => w === 1)));
  const last = tables.at(-1)!;
  assert.ok(events.some((e) => e.id === last.cause && e.type === 'vs.table'), 'the cause of a table is an event delivered on the main bus');

  await t.test('checks go on while the main thread is blocked', async () => {
    servers[1]!.close();
    const t0 = Date.now();
    // the main thread busy for 2.5 s: a check on this thread could not even start
    while (Date.now() - t0 < 2500) { /* blocked */ }
    await until('the down event', () => events.some((e) => e.type === 'checker.state' && e.data['to'] === 'down'));
    const down = events.find((e) => e.type === 'checker.state' && e.data['to'] === 'down')!;
    const at = Date.parse(down.time);
    assert.ok(at < t0 + 2500, `the checker went down at ${at - t0} ms, inside the 2.5 s the main thread was blocked`);
    // the worker's events keep their order and causal links: the vs.rs follows the checker.state it answers
    await until('the real server removed', () => events.some((e) => e.type === 'vs.rs' && e.data['state'] === 'down'));
    const rs = events.find((e) => e.type === 'vs.rs' && e.data['state'] === 'down')!;
    assert.equal(rs.cause, down.id);
    assert.ok(events.indexOf(down) < events.indexOf(rs));
  });

  await t.test('the thread reports its own event-loop delay once a second', async () => {
    const got: DelayTally[] = [];
    const fn = (t: DelayTally) => got.push(t);
    checkerThreads.delayListeners.add(fn);
    const samples = () => got.reduce((n, t) => n + t.counts.reduce((a, b) => a + b, 0), 0);
    try {
      // 20 samples a second (EVENT_LOOP_SAMPLE_MS), posted once a second
      await until('delay samples', () => samples() >= 20, 4000);
    } finally {
      checkerThreads.delayListeners.delete(fn);
    }
    const mean = got.reduce((s, t) => s + t.sum, 0) / samples();
    assert.ok(mean >= 0 && mean < 5, `mean delay in seconds: ${mean}`);
  });

  await t.test('drain through the mirror, refused names named', async () => {
    const vsName = lvs.status()[0]!.virtualServer;
    assert.match(lvs.drain('nope', 'x', true) ?? '', /no virtual_server 'nope'/);
    assert.match(lvs.drain(vsName, '127.0.0.9:1', true) ?? '', /has no real_server/);
    const rs = lvs.status()[0]!.realServers[0]!.realServer;
    assert.equal(lvs.drain(vsName, rs, true), undefined);
    await until('drained in the mirror', () => lvs.status()[0]!.realServers[0]!.drained === true);
  });

  await t.test('dashboard proxies follow the worker\'s actors', async () => {
    const list = lvs.actors();
    assert.deepEqual(list.map((a) => a.kind).sort(), ['checker', 'checker', 'vs']);
    // the dead server's checker: steady DOWN, its checks are watched without a step until one answers
    const dead = servers[1]!.port;
    const checker = list.find((a) => a.kind === 'checker' && a.name.includes(`:${dead}`))!.actor;
    const steps: unknown[] = [];
    const sub = checker.system.inspect((ev) => {
      if (ev.type === '@xstate.microstep') steps.push(ev);
    });
    const again = createServer((c) => c.destroy());
    await new Promise<void>((res) => again.listen(dead, '127.0.0.1', res));
    try {
      await until('a step with a transition', () => steps.some((s) => ((s as { _transitions: unknown[] })._transitions).length > 0), 4000);
      assert.equal(checker.getSnapshot().status, 'active');
    } finally {
      sub.unsubscribe();
      await new Promise((res) => again.close(res));
    }
    await until('the server down again', () => lvs.status()[0]!.realServers.some((r) => !r.alive), 6000);
    assert.ok(lvs.actors()[1]!.actor === list[1]!.actor, 'the same proxy each time');
  });

  await t.test('a reload keeps the unchanged virtual server; a removed one leaves', () => {
    const same = parse(conf(servers.map((s) => s.port))).config;
    assert.deepEqual(lvs.reload(same, () => assert.fail('nothing removed')), { added: [], removed: [], replaced: [], unchanged: 1 });
    const removed: string[] = [];
    const none = parse('global_defs {\n  router_id n1\n}\n').config;
    const r = lvs.reload(none, (n) => removed.push(n));
    assert.equal(r.removed.length, 1);
    assert.deepEqual(removed, r.removed);
  });

  await t.test('a killed thread restarts from its checkers\' last states', async () => {
    lvs.reload(parse(conf(servers.map((s) => s.port))).config, () => {});
    await until('checks again after the reload', () => lvs.status().length === 1 && lvs.status()[0]!.realServers.length === 2);
    await until('the dead server known down', () => lvs.status()[0]!.realServers.some((r) => !r.alive));
    const before = events.length;
    const counted = checkerThreads.restarts;
    await (lvs as unknown as { worker: { terminate(): Promise<number> } }).worker.terminate();
    await until('restarted', () => lvs.restarts === 1);
    assert.equal(checkerThreads.restarts, counted + 1, 'counted for /metrics');
    await until('status again', () => events.length > before && lvs.status()[0]?.realServers.length === 2);
    // the dead one starts down (not UP then DOWN): no table with it at a positive weight after the restart
    const after = events.slice(before);
    assert.ok(!after.some((e) => e.type === 'checker.state' && e.data['to'] === 'up' && String(e.data['checker']).includes(String(servers[1]!.port))), 'the dead server never came up after the restart');
  });
});
