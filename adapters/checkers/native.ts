// TCP_CHECK and plain HTTP_GET probes in the packet addon's probe engine (adapters/ip/native/
// probe.c): the sockets, timers and HTTP reading of a check run in C on this thread's event loop,
// and a watched checker's scheduled checks cost no JavaScript at all until a result differs from
// what its machine expects (issue #6: 1,000 checks a second at HAProxy's CPU).
//
// Same bytes and the same verdicts as tcp.ts and http.ts: the request is http.ts's requestText, the
// status and Content-Length are read as there, and the details are worded alike ('connect
// ECONNREFUSED', '/health: status 503 not in 200-299', 'timeout after 1000 ms connecting').
// What stays in JavaScript: SSL_GET, urls with a digest or a regex, a checker without urls,
// a bindto of the other family (tcp.ts and http.ts word those), and everything when the addon is
// not built or VIGIL_NATIVE_PROBES=0.
import { constants } from 'node:os';
import { isIPv4, isIPv6 } from 'node:net';
import type { Checker, HttpChecker } from '../config/model.js';
import { loadPacketAddon } from '../ip/packet.js';
import { MAX_HEADER, requestText } from './http.js';
import { destination } from './net.js';
import type { ProbeOptions, ProbeResult, ProbeTarget, WatchOptions } from './types.js';

/** The probe engine's part of the packet addon (probe.c). */
export interface ProbeEngineAddon {
  probeOpen(onResults: (records: Int32Array) => void): unknown;
  probeAdd(
    engine: unknown, id: number, family: 4 | 6, address: Uint8Array, port: number, bindAddress: Uint8Array | null, bindPort: number,
    timeoutMs: number, intervalMs: number, firstMs: number, expect: -1 | 0 | 1, requests: Uint8Array[] | null, ranges: Int32Array[] | null,
  ): void;
  probeRemove(engine: unknown, id: number): void;
  probeClose(engine: unknown): void;
}

const RECORD = 7;
const PHASE = {
  OK: 0, SOCKET: 1, BIND: 2, CONNECT: 3, WRITE: 4, READ: 5, TIMEOUT_CONNECT: 6, TIMEOUT_RESPONSE: 7,
  NO_DATA: 8, PARTIAL_HEADER: 9, HEADER_TOO_LONG: 10, STATUS: 11,
} as const;
const SYSCALL: Record<number, string> = { [PHASE.SOCKET]: 'socket', [PHASE.BIND]: 'bind', [PHASE.CONNECT]: 'connect', [PHASE.WRITE]: 'write', [PHASE.READ]: 'read' };
const ERRNO_NAME = new Map<number, string>(Object.entries(constants.errno).map(([name, n]) => [n, name]));
const DEFAULT_STATUS = [{ from: 200, to: 299 }];

interface Compiled {
  readonly family: 4 | 6;
  readonly address: Uint8Array;
  readonly port: number;
  readonly bindAddress: Uint8Array | null;
  readonly bindPort: number;
  /** HTTP_GET: per url */
  readonly urls?: readonly { path: string; request: Uint8Array; ranges: Int32Array; text: string }[];
}

interface Pending {
  readonly c: Compiled;
  readonly timeoutMs: number;
  readonly onResult: (r: ProbeResult) => void;
}

function ipBytes(address: string): Uint8Array | undefined {
  if (isIPv4(address)) return Uint8Array.from(address.split('.').map(Number));
  if (!isIPv6(address)) return undefined;
  // expand '::', then an embedded IPv4 tail
  let text = address.replace(/%.*$/, '');
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const b = v4[1]!.split('.').map(Number);
    text = text.slice(0, -v4[1]!.length) + `${((b[0]! << 8) | b[1]!).toString(16)}:${((b[2]! << 8) | b[3]!).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const h = head ? head.split(':') : [];
  const t = tail !== undefined && tail !== '' ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  if (groups.length !== 8) return undefined;
  const out = new Uint8Array(16);
  groups.forEach((g, i) => { const v = parseInt(g, 16); out[2 * i] = v >> 8; out[2 * i + 1] = v & 0xff; });
  return out;
}

const rangesText = (codes: readonly { from: number; to: number }[]) => codes.map((c) => (c.from === c.to ? `${c.from}` : `${c.from}-${c.to}`)).join(',');

/**
 * The probe engine, or undefined when the addon is not built, lacks it (an older build), or
 * VIGIL_NATIVE_PROBES=0 turns it off.
 */
export function loadProbeEngine(): NativeProbes | undefined {
  if (process.env['VIGIL_NATIVE_PROBES'] === '0') return undefined;
  const loaded = loadPacketAddon();
  if (!loaded.ok) return undefined;
  const addon = loaded.addon as unknown as Partial<ProbeEngineAddon>;
  if (typeof addon.probeOpen !== 'function') return undefined;
  return new NativeProbes(addon as ProbeEngineAddon);
}

export class NativeProbes {
  private engine: unknown;
  private readonly pending = new Map<number, Pending>();
  private readonly free: number[] = [];
  /** ids removed while a batch is delivered: reused only after it, so no record of the batch reaches a newcomer */
  private readonly freeAfterBatch: number[] = [];
  private delivering = false;
  private next = 0;
  private readonly compiled = new WeakMap<Checker, Map<string, Compiled | null>>();

  constructor(private readonly addon: ProbeEngineAddon) {}

  /** Can the engine run this checker's probes (else tcp.ts / http.ts do)? */
  handles(checker: Checker, target: ProbeTarget): boolean {
    return this.compile(checker, target) !== null;
  }

  /**
   * Run `checker`'s scheduled checks in the engine: every intervalMs after the previous result,
   * reporting only a result whose `ok` is not `expectOk`. Returns the cancel, or undefined when
   * the engine cannot run this checker.
   */
  watch(checker: Checker, target: ProbeTarget, o: WatchOptions, onResult: (r: ProbeResult) => void): (() => void) | undefined {
    const c = this.compile(checker, target);
    if (!c) return undefined;
    const id = this.add(c, o.timeoutMs, o.intervalMs, o.firstMs ?? o.intervalMs, o.expectOk ? 1 : 0, onResult);
    return () => this.remove(id);
  }

  /** One probe, as Prober.probe; undefined when the engine cannot run this checker. */
  probe(checker: Checker, target: ProbeTarget, opts: ProbeOptions): Promise<ProbeResult> | undefined {
    const c = this.compile(checker, target);
    if (!c) return undefined;
    if (opts.signal?.aborted) return Promise.resolve({ ok: false, detail: 'aborted', latencyMs: 0 });
    return new Promise((resolve) => {
      const onAbort = () => { this.remove(id); resolve({ ok: false, detail: 'aborted', latencyMs: 0 }); };
      const id = this.add(c, opts.timeoutMs, 1000, 0, -1, (r) => {
        opts.signal?.removeEventListener('abort', onAbort);
        this.remove(id);
        resolve(r);
      });
      opts.signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Stop every probe (nothing more is reported) and release the engine. Idempotent. */
  close(): void {
    if (this.engine !== undefined) this.addon.probeClose(this.engine);
    this.engine = undefined;
    this.pending.clear();
    this.free.length = 0;
    this.freeAfterBatch.length = 0;
    this.next = 0;
  }

  /** probes registered (tests: none leaks) */
  get size(): number {
    return this.pending.size;
  }

  private add(c: Compiled, timeoutMs: number, intervalMs: number, firstMs: number, expect: -1 | 0 | 1, onResult: (r: ProbeResult) => void): number {
    this.engine ??= this.addon.probeOpen((records) => this.onResults(records));
    const id = this.free.pop() ?? this.next++;
    this.pending.set(id, { c, timeoutMs, onResult });
    const clamp = (n: number) => Math.max(0, Math.min(0x7fffffff, Math.round(n)));
    this.addon.probeAdd(
      this.engine, id, c.family, c.address, c.port, c.bindAddress, c.bindPort, clamp(timeoutMs), clamp(intervalMs), clamp(firstMs), expect,
      c.urls ? c.urls.map((u) => u.request) : null, c.urls ? c.urls.map((u) => u.ranges) : null,
    );
    return id;
  }

  private remove(id: number): void {
    if (!this.pending.delete(id)) return;
    if (this.engine !== undefined) this.addon.probeRemove(this.engine, id);
    (this.delivering ? this.freeAfterBatch : this.free).push(id);
  }

  private onResults(records: Int32Array): void {
    this.delivering = true;
    try {
      for (let i = 0; i + RECORD <= records.length; i += RECORD) {
        const p = this.pending.get(records[i]!);
        if (!p) continue; // removed while its result was on the way
        p.onResult(this.result(p, records, i));
      }
    } finally {
      this.delivering = false;
      this.free.push(...this.freeAfterBatch.splice(0));
    }
  }

  private result(p: Pending, r: Int32Array, i: number): ProbeResult {
    const ok = r[i + 1] === 1;
    const latencyMs = r[i + 2]! / 1000;
    const errno = r[i + 3]!;
    const phase = r[i + 4]!;
    const status = r[i + 5]!;
    const url = p.c.urls?.[r[i + 6]!];
    if (ok) return { ok, latencyMs, detail: !p.c.urls ? 'connected' : p.c.urls.length === 1 ? `status ${status}` : `${p.c.urls.length} urls ok` };
    let detail: string;
    switch (phase) {
      case PHASE.TIMEOUT_CONNECT: detail = `timeout after ${p.timeoutMs} ms connecting`; break;
      case PHASE.TIMEOUT_RESPONSE: detail = `timeout after ${p.timeoutMs} ms waiting for the response`; break;
      case PHASE.NO_DATA: detail = 'no data received'; break;
      case PHASE.PARTIAL_HEADER: detail = 'connection closed before the end of the response header'; break;
      case PHASE.HEADER_TOO_LONG: detail = `response header longer than ${MAX_HEADER} bytes`; break;
      case PHASE.STATUS: detail = `status ${status} not in ${url?.text ?? '?'}`; break;
      default: detail = `${SYSCALL[phase] ?? 'probe'} ${ERRNO_NAME.get(errno) ?? `errno ${errno}`}`;
    }
    return { ok, latencyMs, detail: url ? `${url.path}: ${detail}` : detail };
  }

  private compile(checker: Checker, target: ProbeTarget): Compiled | null {
    const key = `${target.address}|${target.port ?? ''}|${target.family}|${target.virtualhost ?? ''}`;
    let per = this.compiled.get(checker);
    if (!per) this.compiled.set(checker, (per = new Map()));
    let c = per.get(key);
    if (c === undefined) per.set(key, (c = compileChecker(checker, target)));
    return c;
  }
}

function compileChecker(checker: Checker, target: ProbeTarget): Compiled | null {
  if (checker.type !== 'TCP_CHECK' && checker.type !== 'HTTP_GET') return null;
  const dst = destination(checker, target);
  const address = ipBytes(dst.address);
  if (!dst.port || !address) return null;
  let bindAddress: Uint8Array | null = null;
  if (checker.bindTo !== undefined) {
    const b = ipBytes(checker.bindTo);
    if (!b || b.length !== address.length) return null; // http.ts/tcp.ts word the mismatch
    bindAddress = b;
  }
  const base = { family: dst.family, address, port: dst.port, bindAddress, bindPort: checker.bindPort ?? 0 };
  if (checker.type === 'TCP_CHECK') return base;
  const http = checker as HttpChecker;
  if (!http.urls.length || http.urls.some((u) => u.digest || u.regex !== undefined)) return null;
  return {
    ...base,
    urls: http.urls.map((u) => {
      const path = u.path ?? '/';
      const vhost = u.virtualhost ?? http.virtualhost ?? target.virtualhost;
      const codes = u.statusCodes.length ? u.statusCodes : DEFAULT_STATUS;
      const request = Buffer.from(requestText({
        address: dst.address, port: dst.port!, family: dst.family, path,
        ...(vhost !== undefined ? { virtualhost: vhost } : {}),
        ...(http.httpProtocol ? { protocol: http.httpProtocol } : {}),
      }), 'utf8');
      return { path, request, ranges: Int32Array.from(codes.flatMap((x) => [x.from, x.to])), text: rangesText(codes) };
    }),
  };
}
