// One probe's lifetime, so that no probe leaks a socket or a timer: it settles once (success,
// failure, its step timeout or the caller's abort, whichever comes first) and then runs every
// cleanup it registered. keepalived re-arms its connection timeout at each step (connect, each
// read), so the timeout here is re-armed by `wait()`, not fixed at the start.
import type { DynamicWeight, ProbeOptions, ProbeResult } from './types.js';

export type Outcome<T> =
  | { readonly ok: true; readonly value: T; readonly latencyMs: number }
  | { readonly ok: false; readonly detail: string; readonly latencyMs: number };

export interface Scope<T> {
  /** settle with a value; later calls to succeed/fail are ignored */
  succeed(value: T): void;
  fail(detail: string): void;
  /** (re)arm the step timeout: if nothing settles the probe first, it fails 'timeout after N ms <what>' */
  wait(what: string): void;
  /** run `fn` when the probe settles (at once if it has); cleanups run in reverse order */
  defer(fn: () => void): void;
  readonly settled: boolean;
}

export function scoped<T>(opts: ProbeOptions, body: (s: Scope<T>) => void | Promise<void>): Promise<Outcome<T>> {
  const t0 = performance.now();
  return new Promise<Outcome<T>>((resolve) => {
    let settled = false;
    let timer: NodeJS.Timeout | undefined;
    const cleanups: (() => void)[] = [];
    const runSafe = (fn: () => void) => {
      try { fn(); } catch { /* a cleanup must not stop the others */ }
    };
    const settle = (o: { ok: true; value: T } | { ok: false; detail: string }) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      for (const fn of cleanups.reverse()) runSafe(fn);
      cleanups.length = 0;
      resolve({ ...o, latencyMs: performance.now() - t0 });
    };
    const onAbort = () => settle({ ok: false, detail: 'aborted' });
    const scope: Scope<T> = {
      succeed: (value) => settle({ ok: true, value }),
      fail: (detail) => settle({ ok: false, detail }),
      wait: (what) => {
        if (settled) return;
        clearTimeout(timer);
        if (opts.timeoutMs > 0) {
          // the failure waits one more turn of the loop: Node runs expired timers before it polls
          // sockets, so after a stall longer than the timeout an answer already waiting in the
          // socket is read first instead of failing a healthy server (bench/checkers.md)
          timer = setTimeout(() => setImmediate(() => settle({ ok: false, detail: `timeout after ${opts.timeoutMs} ms ${what}` })), opts.timeoutMs);
        }
      },
      defer: (fn) => (settled ? runSafe(fn) : void cleanups.push(fn)),
      get settled() { return settled; },
    };
    if (opts.signal?.aborted) { onAbort(); return; }
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    const internal = (err: unknown) => scope.fail(`internal error: ${(err as Error)?.message ?? String(err)}`);
    try {
      const r = body(scope);
      if (r) r.catch(internal);
    } catch (err) {
      internal(err);
    }
  });
}

export interface Verdict {
  readonly detail: string;
  readonly weight?: DynamicWeight;
}

/** Outcome → the port's result: a probe body succeeds with a Verdict. */
export function toResult(o: Outcome<Verdict>): ProbeResult {
  if (!o.ok) return { ok: false, detail: o.detail, latencyMs: o.latencyMs };
  return { ok: true, detail: o.value.detail, latencyMs: o.latencyMs, ...(o.value.weight ? { weight: o.value.weight } : {}) };
}
