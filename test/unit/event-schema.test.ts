// The published event schema: docs/events.schema.json is generated from actors/event-types.ts (a
// stale copy fails here; UPDATE_GOLDEN=1 rewrites it), and every event a scripted scenario makes
// vigil publish validates against it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createGenerator } from 'ts-json-schema-generator';
import { Ajv } from 'ajv';
import { SimulatedClock } from 'xstate';
import { Bus, type BusEvent } from '../../actors/bus.js';
import { Daemon } from '../../actors/daemon.js';
import { silentLogger } from '../../actors/log.js';
import { createMemoryLan } from '../fakes/vrrpNet.js';
import { FakeIpNet } from '../fakes/ipNet.js';
import { parse } from '../helpers.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const FILE = path.join(ROOT, 'docs/events.schema.json');

function generate(): string {
  const schema = createGenerator({
    path: path.join(ROOT, 'actors/event-types.ts'),
    tsconfig: path.join(ROOT, 'tsconfig.json'),
    type: 'VigilEvent',
    skipTypeCheck: true,
  }).createSchema('VigilEvent');
  return JSON.stringify({ $id: 'https://vigil.invalid/events.schema.json', title: 'vigil event, envelope v1', ...schema }, null, 2) + '\n';
}

test('docs/events.schema.json is generated from actors/event-types.ts', () => {
  const now = generate();
  if (process.env.UPDATE_GOLDEN) fs.writeFileSync(FILE, now);
  assert.equal(fs.readFileSync(FILE, 'utf8'), now, 'run UPDATE_GOLDEN=1 npm test and commit docs/events.schema.json');
});

test('every event of a scripted scenario validates against the schema', async () => {
  const ajv = new Ajv({ allErrors: true, strict: false });
  const validate = ajv.compile(JSON.parse(fs.readFileSync(FILE, 'utf8')) as object);
  const clock = new SimulatedClock();
  const lan = createMemoryLan();
  const events: BusEvent[] = [];
  const conf = (prio: number) => `global_defs {
  router_id n${prio}
}
vrrp_sync_group G1 {
  group {
    VI_1
    VI_2
  }
}
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 51
  priority ${prio}
  advert_int 1
  virtual_ipaddress {
    10.0.0.100/24
  }
}
vrrp_instance VI_2 {
  interface eth0
  virtual_router_id 52
  priority ${prio}
  advert_int 1
  authentication {
    auth_type PASS
    auth_pass s3cret
  }
  virtual_ipaddress {
    10.0.0.101/24
  }
}
`;
  const daemons: Daemon[] = [];
  const ips: FakeIpNet[] = [];
  for (const [host, prio, addr] of [['a', 150, '10.0.0.1'], ['b', 100, '10.0.0.2']] as const) {
    const r = parse(conf(prio));
    const bus = new Bus(host, () => clock.now());
    bus.subscribe((e) => events.push(e));
    const ip = new FakeIpNet();
    ips.push(ip);
    const d = new Daemon(r.config, { net: lan.net(host, { eth0: [addr] }), ip, log: silentLogger(), bus, version: '0.0.0-test', clock });
    daemons.push(d);
    await d.start();
  }
  const step = async (ms: number) => {
    for (let t = 0; t < ms; t += 10) {
      clock.increment(10);
      await new Promise((r) => setImmediate(r));
    }
  };
  await step(4000);
  daemons[0]!.instances.get('VI_1')!.setTracker({ kind: 'script', name: 'chk', weight: -80, reverse: false, status: 'failed' });
  await step(4000);
  // a wrong password from a third host: vrrp.drop
  const c = lan.net('c', { eth0: ['10.0.0.3'] });
  const ep = c.open(
    { instance: 'X', iface: 'eth0', family: 4, version: 2, vrid: 52, intervalCs: 100, addresses: ['10.0.0.101'], mcastGroup: '224.0.0.18', unicastPeers: [], auth: { type: 'PASS', pass: 'wrong' } },
    { onAdvert() {}, onDrop() {} },
  );
  ep.send(200);
  await step(100);
  ips[1]!.setLinkUp('eth0', false);
  await step(100);
  for (const d of daemons) await d.stop();
  const seen = new Set(events.map((e) => e.type));
  for (const t of ['vrrp.state', 'vrrp.priority', 'vrrp.drop', 'sync.state', 'daemon.started', 'daemon.stopping']) {
    assert.ok(seen.has(t), `scenario published no ${t} (saw ${[...seen].join(', ')})`);
  }
  for (const e of events) {
    const ok = validate(JSON.parse(JSON.stringify(e)));
    assert.ok(ok, `${e.type} does not match the schema: ${ajv.errorsText(validate.errors)}\n${JSON.stringify(e)}`);
  }
});
