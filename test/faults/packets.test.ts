// Hostile packets, fuzzed: thousands of random and mutated VRRP packets from a foreign host (host 3)
// against a vigil MASTER of two instances (VI_3: v3, VRID 51; VI_2: v2 PASS, VRID 52), seeded so a
// failure replays. test/netns/hostile.test.ts sends one crafted packet per receive check; this one
// sends what nobody crafted. Every packet's IP header is valid (the kernel delivers it to vigil's
// raw socket), so every one must be counted exactly once: accepted by an instance, or dropped with
// a reason, by the instance it matched or by the socket (Δ datagrams read = Σ Δ accepted + Σ Δ
// drops, read from /metrics). Batches whose outcome is known say which counter: an unknown VRID,
// a wrong TTL, a valid lower-priority advert (accepted). Nothing changes state; vigil's memory
// after the second half of the fuzz is within a bound of after the first (no per-packet leak).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as vb from '../fixtures/vrrpBytes.js';
import { parsePromText, samples, valueOf } from '../helpers/promtext.js';
import { Lab, netnsSkipReason } from '../netns/lab.js';
import { cleanup, startVigil, tempDir, vigilBuilt, type Daemon } from '../netns/daemons.js';
import { assertAlive, controlSock, Injector, rng, sleep, status, Timeline } from './helpers.js';

const skip = netnsSkipReason() ?? vigilBuilt();
if (skip) console.log(`# skipping faults/packets: ${skip}`);

const SEED = Number(process.env.VIGIL_FUZZ_SEED ?? 20261125);
const N = Number(process.env.VIGIL_FUZZ_PACKETS ?? 4000);
const SRC = '10.99.0.13';
const PORT = 9781;

const CONF = `global_defs {
  router_id h1
  vrrp_garp_master_delay 0
}
vrrp_instance VI_3 {
  interface eth0
  virtual_router_id 51
  priority 150
  advert_int 0.1
  version 3
  virtual_ipaddress {
    10.99.0.100/24
  }
}
vrrp_instance VI_2 {
  interface eth0
  virtual_router_id 52
  priority 150
  advert_int 1
  version 2
  authentication {
    auth_type PASS
    auth_pass secret1
  }
  virtual_ipaddress {
    10.99.0.101/24
  }
}
`;


const v3 = (f: vb.Fields = {}) => vb.vrrp({ version: 3, vrid: 51, priority: 100, interval: 10, pseudo: { src: SRC, dst: vb.GROUP }, ...f });
const v2 = (f: vb.Fields = {}) => vb.vrrp({ version: 2, vrid: 52, priority: 100, interval: 1, pass: 'secret1', addresses: ['10.99.0.101'], ...f });
const wrap = (msg: Uint8Array, ttl = 255) => Buffer.from(vb.ipv4(msg, { src: SRC, ttl })).toString('hex');

/** the VRRP message of a packet that would be accepted with a priority above ours (it would move VI_3/VI_2) */
function wouldWin(msg: Uint8Array): boolean {
  if (msg.length < 8 || msg[2]! < 150) return false;
  const version = msg[0]! >> 4;
  if (version === 2) return vb.checksum(msg) === 0;
  if (version !== 3) return false;
  const pseudo = [...vb.v4(SRC), ...vb.v4(vb.GROUP), 0, 112, msg.length >> 8, msg.length & 0xff];
  return vb.checksum(vb.concat(pseudo, msg)) === 0;
}

/** N fuzzed VRRP messages: random bytes, byte flips of valid adverts, truncations, spliced fields */
function fuzz(seed: number, n: number): string[] {
  const r = rng(seed);
  const bases = [v3(), v2(), v3({ addresses: ['10.99.0.100', '10.99.0.102'] }), v2({ authType: 2 }), v3({ vrid: 52 }), v2({ vrid: 51 })];
  const out: string[] = [];
  while (out.length < n) {
    let msg: Uint8Array;
    switch (r.int(4)) {
      case 0: // random bytes
        msg = Uint8Array.from({ length: r.int(72) }, () => r.int(256));
        break;
      case 1: {
        // 1-4 bytes of a valid advert overwritten
        msg = Uint8Array.from(r.pick(bases));
        for (let k = 1 + r.int(4); k > 0; k--) msg[r.int(msg.length)] = r.int(256);
        break;
      }
      case 2: // a valid advert cut short, or with junk after it
        msg = Uint8Array.from(r.pick(bases));
        msg = r.next() < 0.5 ? msg.subarray(0, r.int(msg.length)) : vb.concat(msg, Array.from({ length: 1 + r.int(16) }, () => r.int(256)));
        break;
      default: {
        // a well-formed advert with random field values (version, type, count, auth, interval)
        msg = vb.vrrp({
          version: r.pick([2, 3, 3, r.int(16)]), type: r.pick([1, 1, r.int(16)]), vrid: r.pick([51, 52, r.int(256)]), priority: r.int(150),
          count: r.pick([undefined, r.int(256)]), authType: r.pick([0, 1, 2, r.int(256)]), interval: r.int(4096),
          pass: r.pick(['secret1', 'guess', '']), pseudo: { src: SRC, dst: vb.GROUP },
        });
      }
    }
    if (wouldWin(msg)) continue;
    out.push(wrap(msg));
  }
  return out;
}

describe('hostile packets, fuzzed, against a vigil MASTER', { skip, timeout: 120_000 }, () => {
  let lab: Lab;
  let dir: string;
  let v: Daemon;
  let inj: Injector;
  const tl = new Timeline();

  /** the counters that matter, from /metrics (fetched inside host 1's namespace) */
  async function counters() {
    const text = await lab.exec(1, 'curl', ['-sf', `http://127.0.0.1:${PORT}/metrics`]);
    const f = parsePromText(text);
    const drops: Record<string, number> = {};
    const add = (k: string, n: number) => (drops[k] = (drops[k] ?? 0) + n);
    for (const s of samples(f, 'vigil_vrrp_socket_dropped_total')) add(`socket ${s.labels.reason}`, s.value);
    for (const s of samples(f, 'vigil_vrrp_dropped_total')) add(`${s.labels.iname} ${s.labels.reason}`, s.value);
    const accepted = samples(f, 'keepalived_advertisements_received_total').reduce((n, s) => n + s.value, 0);
    return { read: valueOf(f, 'vigil_vrrp_socket_received_total'), accepted, drops };
  }
  const delta = (a: Record<string, number>, b: Record<string, number>) =>
    Object.fromEntries(Object.entries(b).map(([k, n]) => [k, n - (a[k] ?? 0)]).filter(([, n]) => (n as number) > 0)) as Record<string, number>;
  const sum = (o: Record<string, number>) => Object.values(o).reduce((a, b) => a + b, 0);

  /** inject, wait until vigil has read them all, and return what was counted */
  async function inject(hexes: string[]) {
    const c0 = await counters();
    // paced (20 every 5 ms): the receive buffer must not overflow, or the kernel drops uncounted
    assert.equal(await inj.send({ hexes, intervalMs: 5, burst: 20 }), hexes.length);
    let c1 = c0;
    for (let i = 0; i < 50 && c1.read - c0.read < hexes.length; i++) {
      await sleep(100);
      c1 = await counters();
    }
    return { read: c1.read - c0.read, accepted: c1.accepted - c0.accepted, drops: delta(c0.drops, c1.drops) };
  }
  const rss = async () => {
    const pid = (await status(controlSock(dir, 1))).pid as number;
    return Number(/VmRSS:\s+(\d+) kB/.exec(await lab.exec(1, 'cat', [`/proc/${pid}/status`]))![1]) / 1024;
  };

  before(async () => {
    lab = await Lab.create({ hosts: 3, tag: 'fpkt' });
    dir = tempDir('fpkt');
    v = startVigil(lab, 1, CONF, dir, ['--http', `127.0.0.1:${PORT}`]);
    tl.watch(v);
    inj = await Injector.start(lab, 3);
    await v.waitFor(/\(VI_3\) Entering MASTER STATE/, 5000);
    await v.waitFor(/\(VI_2\) Entering MASTER STATE/, 6000);
  });
  after(async () => {
    await v?.stop('SIGKILL');
    await lab?.destroy();
    if (dir) cleanup(dir);
  });

  test('packets whose fate is known are counted where they belong', async () => {
    const unknown = await inject(Array.from({ length: 200 }, (_, i) => wrap(v3({ vrid: 100 + (i % 100) }))));
    assert.deepEqual([unknown.read, unknown.drops], [200, { 'socket unknown-vrid': 200 }]);
    const ttl = await inject(Array.from({ length: 200 }, (_, i) => wrap(v3(), 1 + (i % 254))));
    assert.deepEqual([ttl.read, ttl.drops], [200, { 'VI_3 bad-ttl': 200 }]);
    // valid lower-priority adverts are accepted (and answered: MASTER stays)
    const lower = await inject(Array.from({ length: 200 }, (_, i) => wrap(v3({ priority: 1 + (i % 149) }))));
    assert.deepEqual([lower.read, lower.accepted, lower.drops], [200, 200, {}]);
  });

  test(`${N} fuzzed packets (seed ${SEED}): each read once and accepted or dropped with a reason; no state change, no leak`, async () => {
    const packets = fuzz(SEED, N);
    const half = N / 2;
    const t0 = Date.now();
    const a = await inject(packets.slice(0, half));
    const rss1 = await rss();
    const b = await inject(packets.slice(half));
    const rss2 = await rss();
    const drops: Record<string, number> = {};
    for (const x of [a, b]) for (const [k, n] of Object.entries(x.drops)) drops[k] = (drops[k] ?? 0) + n;
    const read = a.read + b.read;
    const accepted = a.accepted + b.accepted;
    console.log(`# fuzz seed ${SEED}: ${N} packets, ${read} read, ${accepted} accepted, dropped by reason ${JSON.stringify(drops)}; RSS ${rss1.toFixed(1)} → ${rss2.toFixed(1)} MB`);
    assert.equal(read, N, 'every packet reached vigil');
    assert.equal(accepted + sum(drops), read, 'every packet read is accepted or dropped with a reason, once');
    assert.ok(Object.keys(drops).length >= 6, `the fuzz reaches many checks: ${Object.keys(drops).join(', ')}`);
    // no per-packet growth: 2,000 more packets must not cost more than a few MB (GC noise)
    assert.ok(rss2 - rss1 < 16, `RSS grew ${(rss2 - rss1).toFixed(1)} MB over ${N - half} packets`);
    assert.deepEqual(tl.changes.filter((c) => c.t >= t0).map((c) => `${c.instance} ${c.state}`), [], 'no state change');
    await assertAlive(v, controlSock(dir, 1));
    const st = await status(controlSock(dir, 1));
    assert.deepEqual(st.instances.map((i) => i.state), ['MASTER', 'MASTER']);
  });
});
