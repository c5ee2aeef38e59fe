// The checkers' I/O: createProber() runs one probe of any checker type (types.ts is the port).
// 1,000 checkers run in one process: TCP, HTTP, SSL, SMTP, DNS, UDP and PING probes are sockets
// on the event loop (no process per check); DNS shares one UDP socket per family and PING one raw
// ICMP socket per family; only MISC_CHECK runs a process, through the given script runner.
// TCP_CHECK and plain HTTP_GET run in the packet addon's probe engine when it is built (native.ts):
// no JavaScript per check, and a steady checker's scheduled checks are watched there.
import type { Checker, KeepalivedConfig, SslContextSpec, TrackFile } from '../config/model.js';
import { createScriptRunner, type ScriptRunner } from '../exec/script.js';
import { DnsSockets, probeDns } from './dns.js';
import { FileChecks } from './file.js';
import { probeHttp } from './http.js';
import { probeMisc } from './misc.js';
import { loadProbeEngine, type NativeProbes } from './native.js';
import { IcmpSockets, probePing } from './ping.js';
import { probeSmtp } from './smtp.js';
import { probeTcp } from './tcp.js';
import type { Prober, ProbeResult } from './types.js';
import { probeUdp } from './udp.js';
import { loadSslContext, type SslContextResult } from './ssl.js';

export type { DynamicWeight, Prober, ProbeOptions, ProbeResult, ProbeTarget, WatchOptions } from './types.js';
// for an actor that applies track_file changes as watchTrackFile reports them, as keepalived does
export { fileCheckVerdict } from './file.js';

export interface ProberOptions {
  /** MISC_CHECK's scripts (default: a createScriptRunner(); the daemon passes its spawn-server runner) */
  readonly scripts?: ScriptRunner;
  /** global_defs script_user: MISC_CHECK's user when misc_path names none */
  readonly scriptUser?: { readonly user: string; readonly group?: string };
  /** the config's track_file blocks, which FILE_CHECK names */
  readonly trackFiles?: readonly TrackFile[];
  /**
   * TCP_CHECK and plain HTTP_GET in the packet addon's probe engine, which can also watch (default:
   * loaded when the addon is built and VIGIL_NATIVE_PROBES is not 0); false: the JavaScript probes only.
   */
  readonly native?: NativeProbes | false;
  /** the `SSL { }` block: SSL_GET's client certificate (read on the first SSL_GET) */
  readonly ssl?: SslContextSpec;
}

/** What a config gives the prober (the daemon's and the checks thread's alike). */
export function proberOptionsFor(config: KeepalivedConfig): ProberOptions {
  return {
    ...(config.global.scriptUser ? { scriptUser: config.global.scriptUser } : {}),
    trackFiles: config.trackFiles,
    ...(config.ssl ? { ssl: config.ssl } : {}),
  };
}

/** keepalived's timeout for a checker's probe: misc_timeout (else delay_loop) for MISC_CHECK, connect_timeout for the others. */
export function probeTimeoutMs(checker: Checker): number {
  const r = checker.resolved;
  if (checker.type === 'MISC_CHECK') return checker.miscTimeoutMs || r?.delayLoopMs || checker.delayLoopMs || 60_000;
  return r?.connectTimeoutMs ?? checker.connectTimeoutMs ?? 5000;
}

export function createProber(opts: ProberOptions = {}): Prober {
  const dns = new DnsSockets();
  const icmp = new IcmpSockets();
  const files = new FileChecks(opts.trackFiles ?? []);
  let own: ScriptRunner | undefined; // created on the first MISC_CHECK when none is given
  const native = opts.native === undefined ? loadProbeEngine() : opts.native || undefined;
  let ssl: SslContextResult | undefined;
  const sslContext = () => (ssl ??= opts.ssl ? loadSslContext(opts.ssl) : undefined);
  const misc = () => ({ scripts: opts.scripts ?? (own ??= createScriptRunner()), ...(opts.scriptUser ? { scriptUser: opts.scriptUser } : {}) });
  return {
    probe(checker, target, o): Promise<ProbeResult> {
      const fast = native?.probe(checker, target, o);
      if (fast) return fast;
      switch (checker.type) {
        case 'TCP_CHECK': return probeTcp(checker, target, o);
        case 'HTTP_GET': return probeHttp(checker, target, o);
        case 'SSL_GET': {
          const ctx = sslContext();
          if (ctx && !ctx.ok) return Promise.resolve({ ok: false, detail: `SSL ${ctx.keyword}: ${ctx.message}`, latencyMs: 0 });
          return probeHttp(checker, target, o, ctx?.context);
        }
        case 'SMTP_CHECK': return probeSmtp(checker, target, o);
        case 'DNS_CHECK': return probeDns(checker, target, o, dns);
        case 'UDP_CHECK': return probeUdp(checker, target, o);
        case 'PING_CHECK': return probePing(checker, target, o, icmp);
        case 'MISC_CHECK': return probeMisc(checker, o, misc());
        case 'FILE_CHECK': return files.probe(checker);
        case 'BFD_CHECK': return Promise.resolve({ ok: false, detail: 'BFD_CHECK is not implemented', latencyMs: 0 });
      }
    },
    ...(native ? {
      watch: (checker, target, o, onResult) => native.watch(checker, target, o, onResult),
      canWatch: (checker, target) => native.handles(checker, target),
    } satisfies Pick<Prober, 'watch' | 'canWatch'> : {}),
    async close() {
      native?.close();
      dns.close();
      icmp.close();
      own?.killAll();
    },
  };
}
