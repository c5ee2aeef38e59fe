// Bad input for the consumers: malformed and foreign messages on vigil's subjects of a real
// nats-server (loopback, JetStream), among real events. `vigil events --nats` (text and --json)
// and `vigil status --cluster --nats` print what the real events say, skip every other message,
// say how many they skipped, and never crash.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, headers, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { natsServerPath, startNatsServer, type NatsServer } from '../../adapters/nats/server.js';
import { vigilBuilt } from '../netns/daemons.js';
import { vigilCli } from './helpers.js';

const skip = vigilBuilt() ?? (natsServerPath() ? undefined : 'nats-server is not installed');
if (skip) console.log(`# skipping faults/event-stream: ${skip}`);

const ulid = (n: number) => `01JD${String(n).padStart(22, '0')}`.slice(0, 26);
const event = (n: number, node: string, to: string) => ({
  v: 1, id: ulid(n), time: new Date(Date.UTC(2026, 10, 25, 21, 0, n)).toISOString(), node, kind: 'vrrp', name: 'VI_1', type: 'vrrp.state',
  correlation: ulid(n), data: { instance: 'VI_1', vrid: 51, from: 'BACKUP', to, cause: 'master-down-timeout', priority: 100 },
});

/** not events: what a foreign or broken publisher may put on vigil.> */
const FOREIGN: [string, string | Uint8Array][] = [
  ['empty', ''],
  ['not JSON', 'hello world'],
  ['binary', Uint8Array.from([0, 159, 146, 150, 255, 0x7b])],
  ['truncated JSON', JSON.stringify(event(90, 'n1', 'MASTER')).slice(0, 40)],
  ['null', 'null'],
  ['a number', '42'],
  ['a string', '"vrrp.state"'],
  ['an array', '[1,2,3]'],
  ['an empty object', '{}'],
  ['a foreign object', '{"hello":"world"}'],
  ['no data', JSON.stringify({ ...event(91, 'n1', 'MASTER'), data: undefined })],
  ['data null', JSON.stringify({ ...event(92, 'n1', 'MASTER'), data: null })],
  ['data a string', JSON.stringify({ ...event(93, 'n1', 'MASTER'), data: 'x' })],
  ['type a number', JSON.stringify({ ...event(94, 'n1', 'MASTER'), type: 7 })],
  ['time not a time', JSON.stringify({ ...event(95, 'n1', 'MASTER'), time: 'yesterday' })],
  ['node an object', JSON.stringify({ ...event(96, 'n1', 'MASTER'), node: { a: 1 } })],
  ['a 512 KiB string', JSON.stringify({ junk: 'x'.repeat(512 << 10) })],
];

describe('event-stream fuzzing: foreign messages on the subjects', { skip, timeout: 60_000 }, () => {
  let server: NatsServer;
  let nc: NatsConnection;

  before(async () => {
    server = await startNatsServer({ name: 'faults-stream', extraConf: 'max_payload: 1048576' });
    nc = await connect({ servers: server.url });
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: 'VIGIL', subjects: ['vigil.>'] });
    const js = jetstream(nc);
    // real events of two nodes, the malformed ones in between
    const real = [event(1, 'n1', 'MASTER'), event(2, 'n2', 'BACKUP'), event(3, 'n1', 'BACKUP'), event(4, 'n2', 'MASTER')];
    let k = 0;
    for (const [i, e] of real.entries()) {
      await js.publish(`vigil.lab.${e.node}.vrrp.VI_1.state`, JSON.stringify(e), { msgID: e.id });
      for (const [, body] of FOREIGN.slice(k, k + Math.ceil(FOREIGN.length / real.length))) {
        const h = headers();
        h.set('ce-type', 'io.example.other');
        await js.publish(r(i), body, { headers: h });
      }
      k += Math.ceil(FOREIGN.length / real.length);
    }
    function r(i: number) {
      return ['vigil.lab.n1.vrrp.VI_1.state', 'vigil.lab.x.y.z.w', 'vigil.other', 'vigil.lab.n2.vrrp.VI_1.state'][i % 4]!;
    }
  });
  after(async () => {
    await nc?.close();
    await server?.dispose();
  });

  test('vigil events --nats --json: the real events only, the others skipped and counted', async () => {
    const r = await vigilCli(['events', '--nats', server.url, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const got = r.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { id: string });
    assert.deepEqual(got.map((e) => e.id), [1, 2, 3, 4].map(ulid));
    assert.match(r.stderr, new RegExp(`${FOREIGN.length} message\\(s\\) skipped`), r.stderr);
  });

  test('vigil events --nats (text, filtered): the real events only', async () => {
    const r = await vigilCli(['events', '--nats', server.url, '--node', 'n1']);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.split('\n').filter(Boolean);
    assert.equal(lines.length, 2, r.stdout);
    for (const l of lines) assert.match(l, /n1 vrrp\/VI_1 vrrp\.state BACKUP → (MASTER|BACKUP)/);
  });

  test('vigil status --cluster --nats: the view from the real events, the others skipped', async () => {
    const r = await vigilCli(['status', '--cluster', '--nats', server.url, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const view = JSON.parse(r.stdout) as { nodes: string[]; events: number; vrids: { vrid: number; masters: string[]; splitBrain: boolean }[] };
    assert.deepEqual(view.nodes.sort(), ['n1', 'n2']);
    assert.equal(view.events, 4);
    assert.deepEqual(view.vrids.map((v) => [v.vrid, v.masters, v.splitBrain]), [[51, ['n2/VI_1'], false]]);
    assert.match(r.stderr, new RegExp(`${FOREIGN.length} message\\(s\\) skipped`), r.stderr);
  });
});
