// The port the checker actors own: one health probe of one real server, as keepalived's checkers
// do it (keepalived/check/check_*.c). A probe is one attempt; retry, delay_loop, alpha and the
// up/down state belong to the checker machine. A probe never throws and never rejects: every
// failure, including our own (no port, a socket we could not open), is a result the machine can
// count and log.
import type { Checker, Family } from '../config/model.js';

export interface ProbeTarget {
  /** the real server's address; the checker's `connect_ip` overrides it */
  readonly address: string;
  /** the real server's port; the checker's `connect_port` overrides it (absent: fwmark services) */
  readonly port?: number;
  readonly family: Family;
  /**
   * HTTP_GET/SSL_GET: the Host header (and SNI name) when neither the url nor the checker sets
   * `virtualhost`: the real server's, else the virtual server's (keepalived's order).
   */
  readonly virtualhost?: string;
}

export interface ProbeOptions {
  /** abort: the probe settles at once as a failure ('aborted') and releases what it holds */
  readonly signal?: AbortSignal;
  /**
   * keepalived's connection timeout. As keepalived, it bounds each wait, not the whole probe:
   * the connect, then each read (HTTP, SMTP), the reply (DNS, UDP, PING). MISC_CHECK: the script's
   * run time. `probeTimeoutMs(checker)` gives keepalived's value for a checker.
   */
  readonly timeoutMs: number;
}

/**
 * A weight the result sets, keepalived's per-checker `cur_weight`:
 * - 'set': the real server's weight becomes `value` (MISC_CHECK misc_dynamic exit 2..255 → exit − 2;
 *   keepalived adds value − configured weight, so with one such checker the weight is `value`);
 * - 'add': `value` is added to the configured weight (FILE_CHECK: file value × weight; MISC_CHECK
 *   misc_dynamic exit 0 → add 0, which undoes an earlier 'set').
 * A failed probe carries none: keepalived drops the checker's contribution when it goes down.
 */
export interface DynamicWeight {
  readonly mode: 'set' | 'add';
  readonly value: number;
}

export interface ProbeResult {
  readonly ok: boolean;
  /** what happened, for logs: 'status 500 not in 200-299', 'connect ECONNREFUSED', 'timeout after 3000 ms waiting for the banner' */
  readonly detail: string;
  /** from the start of the probe to its result */
  readonly latencyMs: number;
  readonly weight?: DynamicWeight;
}

/** What a watched checker's steady checks run with (Prober.watch). */
export interface WatchOptions {
  /** each wait's timeout (keepalived's connect_timeout) */
  readonly timeoutMs: number;
  /** from a result to the next check (delay_loop; the engine shortens each wait by a random 0-3 % so checks stay spread) */
  readonly intervalMs: number;
  /** the first check, from now (default intervalMs) */
  readonly firstMs?: number;
  /** report only results whose `ok` differs from this */
  readonly expectOk: boolean;
}

export interface Prober {
  probe(checker: Checker, target: ProbeTarget, opts: ProbeOptions): Promise<ProbeResult>;
  /**
   * Optional (the native probe engine, native.ts): make `checker`'s scheduled checks without the
   * caller, every intervalMs after the previous result, and call `onResult` only for a result whose
   * `ok` is not `expectOk`. Returns the cancel, or undefined when this checker cannot be watched.
   */
  watch?(checker: Checker, target: ProbeTarget, opts: WatchOptions, onResult: (r: ProbeResult) => void): (() => void) | undefined;
  /** whether `watch` can run this checker (decided once per checker) */
  canWatch?(checker: Checker, target: ProbeTarget): boolean;
  /** release the shared sockets (ICMP, DNS; probes waiting on them fail) and kill MISC scripts of its own runner. Idempotent. */
  close(): Promise<void>;
}
