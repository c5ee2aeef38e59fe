// Where the health checks run, across a reload (actors/daemon.ts checksToThread). A daemon whose
// checks all run in the native probe engine keeps them on its main thread ('auto', as `vigil run`);
// a reload that brings a check the engine does not run (MISC_CHECK here) moves every check to a
// thread of their own, each checker starting there from the health it had: the load balancer
// never serves the dead real server, never drops the live one, and the new one comes up. Real
// TCP checks against listeners on loopback, a real MISC_CHECK script, the in-memory data plane.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { Bus } from '../../actors/bus.js';
import { Daemon } from '../../actors/daemon.js';
import { silentLogger } from '../../actors/log.js';
import { loadProbeEngine } from '../../adapters/checkers/native.js';
import type { LbTable } from '../../adapters/lb/types.js';
import { FakeLoadBalancer } from '../fakes/lb.js';
import { FakeIpNet } from '../fakes/ipNet.js';
import { createMemoryLan } from '../fakes/vrrpNet.js';
import { parse } from '../helpers.js';

const skip = loadProbeEngine() ? false : 'the packet addon with the probe engine is not built (bash adapters/ip/native/build.sh)';
if (skip) console.log(`# skipping reload-thread: ${skip}`);

const tcp = (port: number) => `  real_server 127.0.0.1 ${port} {
    weight 1
    TCP_CHECK {
      connect_timeout 1
      retry 0
    }
  }
`;
const misc = `  real_server 127.0.0.1 1 {
    weight 1
    MISC_CHECK {
      misc_path "${process.execPath} -e 0"
      misc_timeout 5
    }
  }
`;
const conf = (...servers: string[]) => `global_defs {
  router_id n1
}
virtual_server 10.0.0.100 80 {
  delay_loop 1
  lb_algo rr
  lb_kind NAT
  protocol TCP
${servers.join('')}}
`;

/** every destination given traffic, address:port, sorted */
const served = (t: LbTable) => t.services.flatMap((s) => s.destinations.filter((d) => d.weight > 0).map((d) => `${d.address}:${d.port}`)).sort();

async function until(what: string, fn: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const t0 = Date.now();
  while (!(await fn())) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('a reload that brings a check the native engine does not run moves every check to a thread, each from its health', { skip }, async (t) => {
  const live: Server = createServer((c) => c.destroy());
  await new Promise<void>((res) => live.listen(0, '127.0.0.1', res));
  const up = (live.address() as AddressInfo).port;
  const gone: Server = createServer();
  await new Promise<void>((res) => gone.listen(0, '127.0.0.1', res));
  const down = (gone.address() as AddressInfo).port;
  await new Promise((res) => gone.close(res)); // refused from now on

  const lb = new FakeLoadBalancer();
  const applied: LbTable[] = [];
  const apply = lb.apply.bind(lb);
  lb.apply = async (table) => {
    applied.push(table);
    return apply(table);
  };
  const daemon = new Daemon(parse(conf(tcp(up), tcp(down))).config, {
    net: createMemoryLan().net('n1', { eth0: ['10.0.0.1'] }),
    ip: new FakeIpNet(),
    log: silentLogger(),
    bus: new Bus('n1'),
    lb,
    lbReconcileMs: 0,
    checkerThread: 'auto',
  });
  t.after(async () => {
    await daemon.stop();
    live.close();
  });
  await daemon.start();
  assert.equal(daemon.checksThread, 'main', 'TCP_CHECK alone: every check in the engine, on the main thread');
  await until('the dead server out, the live one served', async () => served(await lb.read()).join() === `127.0.0.1:${up}`);

  applied.length = 0;
  const report = await daemon.reload(parse(conf(tcp(up), tcp(down), misc)).config);
  assert.equal(daemon.checksThread, 'own', 'a MISC_CHECK runs in JavaScript: the checks moved to a thread');
  assert.deepEqual(report.virtualServers, { added: [], removed: [], replaced: ['10.0.0.100:80/tcp'], unchanged: 0 });
  await until('the MISC_CHECK server up', async () => served(await lb.read()).includes('127.0.0.1:1'));
  assert.deepEqual(served(await lb.read()), ['127.0.0.1:1', `127.0.0.1:${up}`]);
  // the move itself changed nothing the clients see: every table applied since served the live
  // server and never the dead one (a checker restarted from scratch would have served it until its
  // first check failed)
  assert.ok(applied.length > 0);
  for (const table of applied) {
    assert.ok(served(table).includes(`127.0.0.1:${up}`), `live server dropped: ${served(table).join()}`);
    assert.ok(!served(table).includes(`127.0.0.1:${down}`), `dead server served: ${served(table).join()}`);
  }
});
