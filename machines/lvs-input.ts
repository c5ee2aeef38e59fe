// From the parsed configuration to the inputs of the checker and virtual server machines: their
// identities (the names their events carry) and keepalived's inheritance of alpha,
// inhibit_on_failure and ports from the virtual server (keepalived/check/check_data.c). Pure.
import type { RealServer, VirtualServer } from '../adapters/config/model.js';
import type { CheckerInput } from './checker.machine.js';
import type { VirtualServerInput } from './virtual-server.machine.js';

const hostPort = (address: string, port: number | undefined) => {
  const a = address.includes(':') ? `[${address}]` : address;
  return port === undefined ? a : `${a}:${port}`;
};

/** `10.0.0.1:80`, `[2001:db8::1]:80`, `10.0.0.1` (fwmark service without port) */
export const realServerKey = (address: string, port: number | undefined) => hostPort(address, port);

/** `10.0.0.100:80/tcp`, `fwmark:5`, `fwmark:5/inet6`, `group:NAME` */
export function virtualServerName(vs: VirtualServer): string {
  if (vs.kind === 'fwmark') return `fwmark:${vs.fwmark}${vs.family === 6 ? '/inet6' : ''}`;
  if (vs.kind === 'group') return `group:${vs.group}`;
  return `${hostPort(vs.address ?? '', vs.port)}/${vs.protocol.toLowerCase()}`;
}

/** A real (or sorry) server's port: its own, else the virtual server's. */
const portOf = (vs: VirtualServer, port: number | undefined) => port ?? vs.port;

/** The id of a real server's i-th checker in events: `10.0.0.100:80/tcp 10.0.0.1:80 TCP_CHECK#0`. */
export function checkerId(vs: VirtualServer, rs: RealServer, index: number): string {
  const ck = rs.checkers[index];
  return `${virtualServerName(vs)} ${realServerKey(rs.address, portOf(vs, rs.port))} ${ck?.type ?? 'CHECK'}#${index}`;
}

/** A checker's alpha: its own, else its real server's, else its virtual server's. */
const checkerAlpha = (vs: VirtualServer, rs: RealServer, index: number) => rs.checkers[index]?.alpha ?? rs.alpha ?? vs.alpha;

/**
 * The virtual server machine's input. `initNotifies`: global_defs rs_init_notifies. Every checker
 * of every real server is listed, FILE_CHECK included (its wiring sends the checker events from
 * the tracked file's values, there is no checker machine for it).
 */
export function virtualServerInput(vs: VirtualServer, opts: { initNotifies?: boolean } = {}): VirtualServerInput {
  const sorryPort = vs.sorryServer && portOf(vs, vs.sorryServer.port);
  return {
    name: virtualServerName(vs),
    quorum: vs.quorum,
    hysteresis: vs.hysteresis,
    omega: vs.omega,
    haSuspend: vs.haSuspend,
    ...(vs.sorryServer ? {
      sorryServer: {
        key: realServerKey(vs.sorryServer.address, sorryPort), address: vs.sorryServer.address,
        ...(sorryPort !== undefined ? { port: sorryPort } : {}),
      },
    } : {}),
    sorryServerInhibit: vs.sorryServerInhibit,
    realServers: vs.realServers.map((rs) => {
      const port = portOf(vs, rs.port);
      const slowStartMs = rs.slowStartMs ?? vs.slowStartMs;
      return {
        key: realServerKey(rs.address, port), address: rs.address, ...(port !== undefined ? { port } : {}),
        weight: rs.weight, inhibitOnFailure: rs.inhibitOnFailure ?? vs.inhibitOnFailure,
        checkers: rs.checkers.map((_, i) => ({ id: checkerId(vs, rs, i), alpha: checkerAlpha(vs, rs, i) })),
        ...(slowStartMs ? { slowStartMs } : {}),
      };
    }),
    ...(opts.initNotifies ? { initNotifies: true } : {}),
  };
}

/**
 * The input of the machine of a real server's i-th checker (not FILE_CHECK, which is not polled).
 * `warmupOffsetMs`: the actor's draw in [0, warmup]. `probeTimeoutMs` is left to the wiring,
 * which knows how long its probe may take in total (see CheckerInput.probeTimeoutMs).
 * Throws on a config that did not go through the checker (no resolved timings): a bug.
 */
export function checkerInput(vs: VirtualServer, rs: RealServer, index: number, opts: { warmupOffsetMs?: number; logAllFailures?: boolean } = {}): CheckerInput {
  const ck = rs.checkers[index];
  const id = checkerId(vs, rs, index);
  if (!ck?.resolved) throw new Error(`checker ${id}: no resolved timings (the configuration was not checked)`);
  return {
    id, ...ck.resolved, alpha: checkerAlpha(vs, rs, index),
    ...(ck.rise !== undefined ? { rise: ck.rise } : {}),
    ...(ck.fall !== undefined ? { fall: ck.fall } : {}),
    ...(opts.warmupOffsetMs !== undefined ? { warmupOffsetMs: opts.warmupOffsetMs } : {}),
    // ha_suspend: checkers start suspended, the virtual server resumes them on VRRP master
    ...(vs.haSuspend ? { paused: true } : {}),
    // the checker's own log_all_failures, else global_defs checker_log_all_failures
    ...((ck.logAllFailures ?? opts.logAllFailures) ? { logAllFailures: true } : {}),
  };
}
