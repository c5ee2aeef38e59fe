// A child process that runs the netlink IpNet inside a network namespace (`ip netns exec NS node
// --import tsx test/netns/ip-agent.ts`): netlink and packet sockets act in the namespace of the
// process that opens them, and a test process cannot be in several at once.
//
// Protocol, JSON lines. stdin: { id, m, a } calls method `m` with arguments `a`. stdout:
// { id, ok: true, v, ms } (ms: time taken inside the agent) or { id, ok: false, e };
// { ev: subId, v } for events of a watch started by the call with id subId; { log, o } for warnings.
// Extra methods: watchLinks / watchAddresses (v = subId), unwatch(subId), ping (settles
// subscriptions), bench(n, dev, separate), overlap(n, dev), children() (pids of our child processes), block(ms) (busy event
// loop). The agent exits when stdin closes.
import { readFileSync, readdirSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { createIpNet } from '../../adapters/ip/netlink.js';
import type { IpOpResult, VipSpec } from '../../adapters/ip/types.js';

const out = (o: unknown) => process.stdout.write(`${JSON.stringify(o)}\n`);
const net = createIpNet({ log: { warn: (o: object, msg: string) => out({ log: msg, o }) } as never });
const subs = new Map<number, () => void>();

function children(): number[] {
  const pids: number[] = [];
  for (const t of readdirSync('/proc/self/task')) {
    const text = readFileSync(`/proc/self/task/${t}/children`, 'utf8').trim();
    if (text) pids.push(...text.split(/\s+/).map(Number));
  }
  return pids;
}

/**
 * add then remove n /32 addresses in one call each; ms per call. `separate`: n concurrent calls of
 * one address each instead, as n instances entering MASTER in the same tick do.
 */
async function bench(n: number, dev: string, separate = false): Promise<{ add: number; remove: number; ok: boolean; errors: string[] }> {
  const list: VipSpec[] = Array.from({ length: n }, (_, i) => ({ address: `10.98.${(i >> 8) & 255}.${i & 255}`, prefix: 32, family: 4, dev }));
  const each = async (f: (l: VipSpec[]) => Promise<IpOpResult[]>) => (separate ? (await Promise.all(list.map((s) => f([s])))).flat() : f(list));
  let t = performance.now();
  const a = await each((l) => net.addAddresses(l));
  const add = performance.now() - t;
  t = performance.now();
  const r = await each((l) => net.removeAddresses(l));
  const remove = performance.now() - t;
  const errors = [...new Set([...a, ...r].flatMap((x) => (x.ok ? [] : [`${x.spec.address} ${x.error}`])))].slice(0, 5);
  return { add, remove, ok: errors.length === 0, errors };
}

/**
 * n instances starting at once, as vigil run does: each removes its VIP (absent, so the adapter
 * settles EADDRNOTAVAIL with an address dump) and dumps the links, then adds the VIP while dumping
 * the links again; then all are removed. Dumps and requests overlap on the one socket throughout.
 */
async function overlap(n: number, dev: string): Promise<{ ok: boolean; errors: string[] }> {
  const list: VipSpec[] = Array.from({ length: n }, (_, i) => ({ address: `10.98.${(i >> 8) & 255}.${i & 255}`, prefix: 32, family: 4, dev }));
  const errors = new Set<string>();
  const results = (rs: IpOpResult[]) => rs.forEach((x) => x.ok || errors.add(`${x.spec.address} ${x.error} ${x.detail ?? ''}`));
  const links = () => net.links().then(() => undefined, (err: Error) => void errors.add(`links: ${err.message}`));
  await Promise.all(list.map(async (s) => {
    const [r] = await Promise.all([net.removeAddresses([s]), links()]);
    results(r);
    const [a] = await Promise.all([net.addAddresses([s]), links()]);
    results(a);
  }));
  results(await net.removeAddresses(list));
  return { ok: errors.size === 0, errors: [...errors].slice(0, 5) };
}

async function call(id: number, m: string, a: unknown[]): Promise<unknown> {
  switch (m) {
    // a round trip through the adapter: its calls wait until watch*() subscriptions are live
    case 'ping': await net.links(); return 'pong';
    case 'watchLinks': subs.set(id, net.watchLinks((v) => out({ ev: id, v }))); return id;
    case 'watchAddresses': subs.set(id, net.watchAddresses((v) => out({ ev: id, v }))); return id;
    case 'unwatch': subs.get(a[0] as number)?.(); subs.delete(a[0] as number); return true;
    case 'bench': return bench(a[0] as number, a[1] as string, a[2] === true);
    case 'overlap': return overlap(a[0] as number, a[1] as string);
    case 'children': return children();
    case 'block': { // keep the event loop busy so that netlink notifications pile up in the kernel
      const end = Date.now() + (a[0] as number);
      while (Date.now() < end) { /* spin */ }
      return true;
    }
    default: {
      const f = (net as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>)[m];
      if (typeof f !== 'function') throw new Error(`no method ${m}`);
      return f.apply(net, a);
    }
  }
}

const rl = createInterface({ input: process.stdin });
rl.on('line', (line) => {
  let req: { id: number; m: string; a?: unknown[] };
  try {
    req = JSON.parse(line) as typeof req;
  } catch {
    out({ log: 'bad request line', o: { line } });
    return;
  }
  const t0 = performance.now();
  call(req.id, req.m, req.a ?? []).then(
    (v) => out({ id: req.id, ok: true, v: v ?? null, ms: performance.now() - t0 }),
    (err: unknown) => out({ id: req.id, ok: false, e: String(err) }),
  );
});
rl.on('close', () => {
  void net.close().then(() => process.exit(0));
});
out({ ready: true });
