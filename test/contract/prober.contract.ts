// What every Prober must do, run against the scripted fake (test/unit/prober-fake.test.ts) and
// against the real one on loopback servers (test/integration/checkers.test.ts).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Prober, ProbeTarget } from '../../adapters/checkers/types.js';
import type { Checker } from '../../adapters/config/model.js';

export interface ProberHarness {
  readonly prober: Prober;
  /** a TCP port that accepts connections */
  readonly accepting: ProbeTarget;
  /** a TCP port nothing listens on */
  readonly refusing: ProbeTarget;
  /** a TCP port whose connect never completes (SYNs dropped) */
  readonly silent: ProbeTarget;
  teardown(): Promise<void>;
}

const loc = { file: 'prober.contract.ts', line: 1, col: 1 };
const tcp: Checker = { type: 'TCP_CHECK', loc };
// a hang must fail the test, not stall the run; this bound is no timing assertion
const BOUND = { timeout: 10_000 };

export function runProberContract(name: string, setup: () => Promise<ProberHarness>): void {
  describe(`Prober contract: ${name}`, () => {
    let h: ProberHarness;
    before(async () => { h = await setup(); });
    after(async () => { await h?.prober.close(); await h?.teardown(); });

    it('a port that accepts: ok, with a detail and a latency', BOUND, async () => {
      const r = await h.prober.probe(tcp, h.accepting, { timeoutMs: 2000 });
      assert.equal(r.ok, true, r.detail);
      assert.ok(r.detail.length > 0);
      assert.ok(r.latencyMs >= 0);
    });

    it('a refused port: not ok, saying so', BOUND, async () => {
      const r = await h.prober.probe(tcp, h.refusing, { timeoutMs: 2000 });
      assert.equal(r.ok, false);
      assert.match(r.detail, /ECONNREFUSED/);
    });

    it('a silent port: not ok once the timeout passes', BOUND, async () => {
      const r = await h.prober.probe(tcp, h.silent, { timeoutMs: 200 });
      assert.equal(r.ok, false);
      assert.match(r.detail, /timeout after 200 ms/);
    });

    it('abort: settles at once as a failure, whatever the server does', BOUND, async () => {
      const ac = new AbortController();
      const p = h.prober.probe(tcp, h.silent, { timeoutMs: 60_000, signal: ac.signal });
      setTimeout(() => ac.abort(), 20);
      const r = await p;
      assert.deepEqual([r.ok, r.detail], [false, 'aborted']);
      const again = await h.prober.probe(tcp, h.accepting, { timeoutMs: 2000, signal: AbortSignal.abort() });
      assert.deepEqual([again.ok, again.detail], [false, 'aborted']);
    });

    it('connect_ip and connect_port override the target', BOUND, async () => {
      const r = await h.prober.probe({ ...tcp, connectIp: h.accepting.address, connectPort: h.accepting.port }, h.refusing, { timeoutMs: 2000 });
      assert.equal(r.ok, true, r.detail);
    });

    it('never rejects: no port to connect to is a failed result', BOUND, async () => {
      const r = await h.prober.probe(tcp, { address: h.accepting.address, family: h.accepting.family }, { timeoutMs: 2000 });
      assert.equal(r.ok, false);
      assert.match(r.detail, /no port/);
    });

    it('many probes at once each get their own answer', BOUND, async () => {
      const targets = Array.from({ length: 60 }, (_, i) => [h.accepting, h.refusing, h.silent][i % 3] as ProbeTarget);
      const rs = await Promise.all(targets.map((t) => h.prober.probe(tcp, t, { timeoutMs: 300 })));
      assert.deepEqual(rs.map((r) => r.ok), targets.map((t) => t === h.accepting));
    });
  });
}
