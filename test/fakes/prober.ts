// A scripted Prober for unit tests of the checker actors: each destination (connect_ip or the real
// server's address, and port) answers with the behaviour set for it; every call is recorded.
// Passes test/contract/prober.contract.ts, as the real one does.
import { destination } from '../../adapters/checkers/net.js';
import type { DynamicWeight, Prober, ProbeOptions, ProbeResult, ProbeTarget } from '../../adapters/checkers/types.js';
import type { Checker } from '../../adapters/config/model.js';

export interface FakeCall {
  readonly checker: Checker;
  readonly target: ProbeTarget;
  readonly opts: ProbeOptions;
}

export type FakeBehaviour =
  | { readonly ok: true; readonly detail?: string; readonly weight?: DynamicWeight; readonly latencyMs?: number }
  | { readonly ok: false; readonly detail: string; readonly latencyMs?: number }
  /** never answers: fails at the probe's timeout, as a server that drops what we send */
  | 'silent'
  /** anything else, e.g. a promise the test settles itself */
  | ((call: FakeCall) => ProbeResult | Promise<ProbeResult>);

/** Checkers that need no port: everything else fails without one, as the real prober does. */
const PORTLESS = new Set(['PING_CHECK', 'MISC_CHECK', 'FILE_CHECK']);

export class FakeProber implements Prober {
  readonly calls: FakeCall[] = [];
  private readonly behaviours = new Map<string, FakeBehaviour>();
  private running = 0;
  closed = false;

  /** `fallback`: the answer of a destination with no behaviour set (default: refused) */
  constructor(private readonly fallback: FakeBehaviour = { ok: false, detail: 'connect ECONNREFUSED' }) {}

  static key(dst: { readonly address: string; readonly port?: number }): string {
    return dst.port ? `${dst.address}:${dst.port}` : dst.address;
  }

  /** how `dst` answers from now on */
  set(dst: { readonly address: string; readonly port?: number }, b: FakeBehaviour): this {
    this.behaviours.set(FakeProber.key(dst), b);
    return this;
  }

  /** probes started and not settled */
  get inFlight(): number {
    return this.running;
  }

  async probe(checker: Checker, target: ProbeTarget, opts: ProbeOptions): Promise<ProbeResult> {
    const call: FakeCall = { checker, target, opts };
    this.calls.push(call);
    const dst = destination(checker, target);
    if (!dst.port && !PORTLESS.has(checker.type)) {
      return { ok: false, detail: 'no port to connect to: the real server has none and connect_port is not set', latencyMs: 0 };
    }
    const b = this.behaviours.get(FakeProber.key(dst)) ?? this.behaviours.get(dst.address) ?? this.fallback;
    this.running++;
    try {
      return await settle(b, call);
    } finally {
      this.running--;
    }
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}

/** The behaviour's result, or 'aborted' as soon as the signal fires, or the timeout for 'silent'. */
function settle(b: FakeBehaviour, call: FakeCall): Promise<ProbeResult> {
  const { signal, timeoutMs } = call.opts;
  const t0 = performance.now();
  const aborted = (): ProbeResult => ({ ok: false, detail: 'aborted', latencyMs: performance.now() - t0 });
  if (signal?.aborted) return Promise.resolve(aborted());
  return new Promise<ProbeResult>((resolve) => {
    let timer: NodeJS.Timeout | undefined;
    const done = (r: ProbeResult) => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      resolve(r);
    };
    const onAbort = () => done(aborted());
    signal?.addEventListener('abort', onAbort, { once: true });
    if (b === 'silent') {
      timer = setTimeout(() => done({ ok: false, detail: `timeout after ${timeoutMs} ms connecting`, latencyMs: performance.now() - t0 }), timeoutMs);
    } else if (typeof b === 'function') {
      void Promise.resolve(b(call)).then(done, (err: Error) => done({ ok: false, detail: `internal error: ${err.message}`, latencyMs: 0 }));
    } else {
      done({ latencyMs: 0, ...b, detail: b.detail ?? 'ok' } as ProbeResult);
    }
  });
}
