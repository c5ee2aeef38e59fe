// The nftables LB driver for real: the LoadBalancer contract in a namespace of its own, then real
// traffic on a namespace LAN. h1 is the client (10.99.0.11), h2 the director (10.99.0.12, VIP
// 10.99.0.100, and 10.98.0.1 towards the real servers; the driver runs there through an
// `ip netns exec` prefix), h3..h5 are real servers r1..r3 on 10.98.0.13..15 routing through the
// director (classic LVS-NAT), each running a small HTTP server that answers "NAME CLIENT-ADDRESS".
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { after, before, describe, it, test } from 'node:test';
import { createNftablesLb } from '../../adapters/lb/nftables.js';
import type { LbDestination, LbService, LbTable, LoadBalancer } from '../../adapters/lb/types.js';
import { runLbContract } from '../contract/lb.contract.js';
import { Lab, netnsSkipReason, sh } from './lab.js';

const skip = netnsSkipReason();
const root = new URL('../..', import.meta.url).pathname;

if (skip) {
  test('nftables load balancer in network namespaces', { skip }, () => {});
} else {
  let contractLab: Lab | undefined;
  runLbContract('nftables driver in a namespace', async () => {
    contractLab = await Lab.create({ hosts: 1, tag: 'lbc' });
    const prefix = ['ip', 'netns', 'exec', contractLab.ns(1)];
    return {
      create: async () => createNftablesLb({ prefix, masquerade: true }),
      dataplane: () => createNftablesLb({ prefix }).read(),
      flushBehindBack: async () => void (await sh('ip', ['netns', 'exec', contractLab!.ns(1), 'nft', 'flush', 'ruleset'])),
      kinds: ['NAT'],
      teardown: async () => contractLab?.destroy(),
    };
  });

  describe('nftables load balancer with real traffic', () => {
    const VIP = '10.99.0.100';
    const URL_ = `http://${VIP}/`;
    const CLIENT = '10.99.0.11';
    const rs = (i: 1 | 2 | 3) => `10.98.0.${12 + i}`;
    let lab: Lab;
    let lb: LoadBalancer;
    let client: Client;

    const service = (o: Partial<LbService> & { destinations: LbDestination[] }): LbTable => ({
      services: [{ match: { kind: 'address', address: VIP, port: 80, protocol: 'TCP' }, family: 4, algo: 'wlc', ...o }],
    });
    const weights = (w1: number, w2: number, w3: number): LbDestination[] =>
      [w1, w2, w3].map((weight, i) => ({ address: rs((i + 1) as 1 | 2 | 3), port: 80, weight, kind: 'NAT' as const }));
    /** requests per server name */
    const split = async (n: number) => {
      const { counts, failed } = await client.call<{ counts: Record<string, number>; failed: number }>({ op: 'fresh', url: URL_, n });
      const byName: Record<string, number> = {};
      for (const [body, k] of Object.entries(counts)) {
        const [name = '', from] = body.split(' ');
        assert.equal(from, CLIENT, 'classic NAT: the real server sees the client address');
        byName[name] = (byName[name] ?? 0) + k;
      }
      return { byName, failed };
    };

    before(async () => {
      lab = await Lab.create({ hosts: 5, tag: 'lbt' });
      const ip = (i: number, ...a: string[]) => sh('ip', ['-n', lab.ns(i), ...a]);
      await ip(2, 'addr', 'add', `${VIP}/24`, 'dev', 'eth0');
      await ip(2, 'addr', 'add', '10.98.0.1/24', 'dev', 'eth0');
      // the real servers share the wire but not the client's subnet: replies route via the director
      await lab.exec(2, 'sysctl', ['-qw', 'net.ipv4.conf.all.send_redirects=0', 'net.ipv4.conf.eth0.send_redirects=0']);
      for (const i of [1, 2, 3] as const) {
        await ip(i + 2, 'addr', 'flush', 'dev', 'eth0');
        await ip(i + 2, 'addr', 'add', `${rs(i)}/24`, 'dev', 'eth0');
        await ip(i + 2, 'route', 'add', 'default', 'via', '10.98.0.1');
        await serve(lab.spawn(i + 2, process.execPath, ['-e', SERVER, `r${i}`, '80']));
      }
      await serve(lab.spawn(5, process.execPath, ['-e', SERVER, 'sorry', '8081']));
      client = await Client.start(lab.spawn(1, process.execPath, ['--import', 'tsx', 'test/netns/lb-client.ts'], { cwd: root }));
      lb = createNftablesLb({ prefix: ['ip', 'netns', 'exec', lab.ns(2)] });
    });
    after(async () => {
      await lb?.close().catch(() => undefined);
      await lab?.destroy();
    });

    it('splits new connections by weight 1:1:2 (weighted random, within 5 sigma)', async () => {
      await lb.apply(service({ destinations: weights(1, 1, 2) }));
      const n = 600;
      const { byName, failed } = await split(n);
      assert.equal(failed, 0);
      // binomial bounds mean ± 5 sd: r3 (p = 1/2) 300 ± 61, r1 and r2 (p = 1/4) 150 ± 53. With the
      // weights ignored r3 would get 200 ± 12, outside its bound.
      const bound = (p: number) => [n * p - 5 * Math.sqrt(n * p * (1 - p)), n * p + 5 * Math.sqrt(n * p * (1 - p))];
      for (const [name, p] of [['r1', 0.25], ['r2', 0.25], ['r3', 0.5]] as const) {
        const [lo, hi] = bound(p) as [number, number];
        const got = byName[name] ?? 0;
        assert.ok(got >= lo && got <= hi, `${name}: ${got} of ${n}, expected ${lo.toFixed(0)}..${hi.toFixed(0)} (${JSON.stringify(byName)})`);
      }
    });

    it('wrr: exact proportions per cycle of the weights', async () => {
      await lb.apply(service({ algo: 'wrr', destinations: weights(1, 1, 2) }));
      const { byName } = await split(200);
      assert.deepEqual(byName, { r1: 50, r2: 50, r3: 100 });
    });

    it('weight 0 quiesces: no new connections, an established keep-alive connection keeps working', async () => {
      await lb.apply(service({ destinations: weights(1, 1, 2) }));
      const k = await client.call<{ ok: boolean }>({ op: 'keep', url: URL_, want: 'r1', tries: 60 });
      assert.ok(k.ok, 'a keep-alive connection landed on r1');
      await lb.apply(service({ destinations: weights(0, 1, 2) }));
      const { byName } = await split(200);
      assert.equal(byName.r1, undefined, JSON.stringify(byName));
      assert.equal((byName.r2 ?? 0) + (byName.r3 ?? 0), 200);
      const again = await client.call<{ name: string; reused: boolean }>({ op: 'again' });
      assert.deepEqual(again, { name: 'r1', reused: true });
    });

    it('the sorry server answers when every destination is gone or quiesced', async () => {
      const sorry = { address: '10.98.0.15', port: 8081, kind: 'NAT' as const };
      await lb.apply(service({ sorry, destinations: [] }));
      assert.deepEqual((await split(20)).byName, { sorry: 20 });
      await lb.apply(service({ sorry, destinations: weights(0, 0, 0) }));
      assert.deepEqual((await split(20)).byName, { sorry: 20 });
      await lb.apply(service({ sorry, destinations: weights(0, 1, 0) }));
      assert.deepEqual((await split(20)).byName, { r2: 20 });
    });

    it('persistence keeps a client on one server, across an apply that changes other weights', async () => {
      await lb.apply(service({ persistence: { timeoutS: 120 }, destinations: weights(1, 1, 1) }));
      const first = (await split(40)).byName;
      const names = Object.keys(first);
      assert.equal(names.length, 1, `one server for one client: ${JSON.stringify(first)}`);
      const sticky = names[0] as string;
      const w = weights(5, 5, 5).map((d) => (d.address === rs(Number(sticky.slice(1)) as 1 | 2 | 3) ? { ...d, weight: 1 } : d));
      await lb.apply(service({ persistence: { timeoutS: 120 }, destinations: w }));
      assert.deepEqual((await split(40)).byName, { [sticky]: 40 });
    });

    it('a client on the director itself is balanced too (output hook)', async () => {
      await lb.apply(service({ destinations: weights(0, 0, 1) }));
      const body = await lab.exec(2, 'curl', ['-s', '--max-time', '3', URL_]);
      // the source was chosen for the VIP before the DNAT: the director's own address
      assert.equal(body, 'r3 10.99.0.12');
    });

    it('after `nft flush ruleset` the service is gone until apply() repairs it', async () => {
      const t = service({ destinations: weights(1, 1, 0) });
      await lb.apply(t);
      await lab.exec(2, 'nft', ['flush', 'ruleset']);
      assert.equal((await split(5)).failed, 5, 'nothing balances the VIP');
      const r = await lb.apply(t);
      assert.ok(r.changes.some((c) => c.kind === 'service.added'));
      const { byName, failed } = await split(20);
      assert.equal(failed, 0);
      assert.equal((byName.r1 ?? 0) + (byName.r2 ?? 0), 20);
    });

    it('masquerade: the real servers see the director, for servers that do not route through it', async () => {
      const masq = createNftablesLb({ prefix: ['ip', 'netns', 'exec', lab.ns(2)], masquerade: true });
      const r = await masq.apply(service({ destinations: weights(1, 0, 0) }));
      assert.ok(r.changes.length > 0);
      const { counts } = await client.call<{ counts: Record<string, number> }>({ op: 'fresh', url: URL_, n: 5 });
      assert.deepEqual(counts, { 'r1 10.98.0.1': 5 });
      await masq.close({ keep: true });
    });
  });
}

/** The real server: answers every request with its name and the client's address. */
const SERVER = `
const [name, port] = process.argv.slice(1);
const s = require('http').createServer((q, r) => r.end(name + ' ' + q.socket.remoteAddress.replace(/^::ffff:/, '')));
s.keepAliveTimeout = 60000;
s.listen(Number(port), '0.0.0.0', () => console.log('ready'));
`;

function serve(child: ChildProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    let err = '';
    child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
    child.once('exit', (code) => reject(new Error(`server exited (${code}): ${err}`)));
    child.stdout?.once('data', () => resolve());
  });
}

class Client {
  private nextId = 1;
  private readonly calls = new Map<number, (m: { v?: unknown; e?: string }) => void>();
  private constructor(readonly child: ChildProcess) {}

  static start(child: ChildProcess): Promise<Client> {
    const c = new Client(child);
    let err = '';
    child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
    return new Promise((resolve, reject) => {
      child.once('exit', (code) => reject(new Error(`lb-client exited (${code}): ${err}`)));
      createInterface({ input: child.stdout! }).on('line', (line) => {
        const m = JSON.parse(line) as { ready?: boolean; id?: number; v?: unknown; e?: string };
        if (m.ready) resolve(c);
        else if (m.id) c.calls.get(m.id)?.(m);
      });
    });
  }

  call<T>(req: Record<string, unknown>): Promise<T> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`lb-client: no answer to ${JSON.stringify(req)}`)), 20_000);
      this.calls.set(id, (m) => {
        clearTimeout(t);
        this.calls.delete(id);
        if (m.e) reject(new Error(m.e));
        else resolve(m.v as T);
      });
      this.child.stdin!.write(`${JSON.stringify({ id, ...req })}\n`);
    });
  }
}
