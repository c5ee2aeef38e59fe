// The kernel IPVS LB driver, over generic netlink with our own codec (ipvsCodec.ts). The socket is
// injected (`GenlSocket`: request bytes in, reply messages out), so the driver runs the same on the
// real kernel (genlSocket.ts), on a fake kernel in unit tests, and on a socket proxied into a
// network namespace.
//
// apply() dumps the kernel's services and destinations and sends only the requests that make them
// match the table, every NEW/SET with the whole field set (ipvsCodec.ts says why). Within a
// service, destinations are added first, then edited, then deleted, so a switch to or from the
// sorry server never leaves the service empty. Requests are not atomic together: if the kernel
// refuses one, apply rejects with KERNEL_REJECTED naming it, and the next apply carries on from
// what the kernel then holds.
//
// IPVS is shared by everything on the host: vigil changes and, on close, removes only the services
// it applied (keepalived does the same); others are left alone and reported by read(). Only
// flush() and close({ all }) (keepalived's lvs_flush and lvs_flush_on_stop) remove them too.
// To the kernel the sorry server is one more destination (weight 1); read() reports it as the sorry
// server when it matches the one last applied.
import { constants } from 'node:os';
import type { Logger } from 'pino';
import { LbError } from './errors.js';
import {
  decodeError,
  decodeFamilyId,
  encodeGetFamily,
  NLMSG_DONE,
  NLMSG_ERROR,
  readU32,
  splitMessages,
  type NlMessage,
} from './genl.js';
import { openGenlSocket } from './genlSocket.js';
import { decodeDest, decodeService, decodeTimeouts, encodeIpvsRequest, IPVS_GENL_NAME, type IpvsRequest, type IpvsService, type IpvsTimeouts } from './ipvsCodec.js';
import { activeSorry, destinationKey, diffTables, normalizeTable, serviceKey } from './table.js';
import type { ApplyResult, LbChange, LbDestination, LbService, LbSyncDaemon, LbTable, LoadBalancer } from './types.js';

/** A generic netlink socket as the driver needs it. */
export interface GenlSocket {
  /**
   * Send one netlink message (whole, header included, with its sequence number set) and resolve
   * with every message answering it, one per element, through the NLMSG_DONE or NLMSG_ERROR that
   * ends the exchange. Rejects when the socket fails or no answer comes.
   */
  request(message: Uint8Array): Promise<Uint8Array[]>;
  close(): void;
}

export interface IpvsOptions {
  /** default: a new netlink socket in this process's network namespace (closed by close()) */
  readonly socket?: GenlSocket;
  readonly log?: Pick<Logger, 'warn'>;
}

/** The weight the kernel gets for the sorry server (keepalived's default real-server weight). */
export const SORRY_WEIGHT = 1;

const errnoNames = new Map(Object.entries(constants.errno).map(([name, n]) => [n, name]));
const errnoName = (n: number) => errnoNames.get(n) ?? `errno ${n}`;

/** What the kernel holds for one service. */
interface KernelService {
  readonly service: IpvsService;
  readonly dests: readonly LbDestination[];
}

/** Sequence numbers, unique in the process, so adapters may share one socket. */
let lastSeq = 0;

class Conversation {
  constructor(readonly socket: GenlSocket) {}

  nextSeq(): number {
    lastSeq = (lastSeq % 0x7fffffff) + 1;
    return lastSeq;
  }

  /** The data messages answering `bytes`; throws KERNEL_REJECTED on an error reply, NETLINK otherwise. */
  async exchange(bytes: Uint8Array, what: string, detail: LbError['detail'] = {}): Promise<NlMessage[]> {
    let replies: Uint8Array[];
    try {
      replies = await this.socket.request(bytes);
    } catch (err) {
      throw new LbError('NETLINK', `${what}: ${(err as Error).message}`, detail, { cause: err });
    }
    const out: NlMessage[] = [];
    for (const r of replies) {
      const split = splitMessages(r);
      if (!split.ok) throw new LbError('NETLINK', `${what}: bad reply (${split.error.message})`, detail, { cause: split.error });
      for (const m of split.value) {
        if (m.type === NLMSG_ERROR || m.type === NLMSG_DONE) {
          // an ACK is error 0; a dump's DONE carries its error the same way
          const code = m.type === NLMSG_ERROR ? decodeError(m) : { ok: true as const, value: readU32(m.payload) ?? 0 };
          if (!code.ok) throw new LbError('NETLINK', `${what}: bad error reply (${code.error.message})`, detail, { cause: code.error });
          const errno = code.value | 0;
          if (errno !== 0) throw new LbError('KERNEL_REJECTED', `${what}: ${errnoName(-errno)}`, { ...detail, errno: errnoName(-errno) });
        } else {
          out.push(m);
        }
      }
    }
    return out;
  }
}

/** The IPVS family id, or LbError NO_IPVS when the kernel has none. */
async function resolveFamily(c: Conversation): Promise<number> {
  let msgs: NlMessage[];
  try {
    msgs = await c.exchange(encodeGetFamily(IPVS_GENL_NAME, c.nextSeq()), 'CTRL_CMD_GETFAMILY IPVS');
  } catch (err) {
    if (err instanceof LbError && err.detail.errno === 'ENOENT') {
      throw new LbError('NO_IPVS', 'kernel has no IPVS (ip_vs module absent)', {}, { cause: err });
    }
    throw err;
  }
  const id = msgs[0] ? decodeFamilyId(msgs[0]) : undefined;
  if (!id?.ok) throw new LbError('NETLINK', `CTRL_CMD_GETFAMILY IPVS: ${id ? id.error.message : 'no reply'}`);
  return id.value;
}

/** Whether the kernel has IPVS (resolving the family also loads ip_vs where it is a module). */
export async function detectIpvs(
  open: () => GenlSocket = openGenlSocket,
): Promise<{ available: true } | { available: false; reason: string }> {
  let socket: GenlSocket;
  try {
    socket = open();
  } catch (err) {
    return { available: false, reason: `cannot open a generic netlink socket: ${(err as Error).message}` };
  }
  try {
    await resolveFamily(new Conversation(socket));
    return { available: true };
  } catch (err) {
    return { available: false, reason: (err as Error).message };
  } finally {
    socket.close();
  }
}

export async function createIpvsLb(opts: IpvsOptions = {}): Promise<LoadBalancer> {
  let socket: GenlSocket;
  try {
    socket = opts.socket ?? openGenlSocket();
  } catch (err) {
    throw new LbError('NETLINK', `cannot open a generic netlink socket: ${(err as Error).message}`, {}, { cause: err });
  }
  const c = new Conversation(socket);
  let family: number;
  try {
    family = await resolveFamily(c);
  } catch (err) {
    if (!opts.socket) socket.close();
    throw err;
  }
  /** services this adapter applied: the only ones it changes or removes */
  const owned = new Set<string>();
  /** the sorry server last applied per service, to recognise it among the kernel's destinations */
  let sorries = new Map<string, NonNullable<LbService['sorry']>>();
  let closed = false;
  /** the kernel's timeouts before vigil first set them, put back by setTimeouts(undefined) and close() */
  let timeoutsFound: IpvsTimeouts | undefined;
  /** the sync daemon this adapter runs (undefined: none; `daemonCleared`: an earlier run's are stopped) */
  let daemon: { role: 'master' | 'backup'; d: LbSyncDaemon } | undefined;
  let daemonCleared = false;
  let queue: Promise<unknown> = Promise.resolve();
  const serial = <T>(f: () => Promise<T>): Promise<T> => {
    const next = queue.then(() => {
      if (closed) throw new LbError('CLOSED', 'the IPVS load balancer is closed');
      return f();
    });
    queue = next.catch(() => undefined);
    return next;
  };

  const send = (r: IpvsRequest) => {
    const what = [r.cmd, r.dest ? destinationKey(r.dest) : '', r.service ? `in ${serviceKey(r.service)}` : ''].filter(Boolean).join(' ');
    const detail = { ...(r.service ? { service: serviceKey(r.service) } : {}), ...(r.dest ? { destination: destinationKey(r.dest) } : {}) };
    return c.exchange(encodeIpvsRequest(family, c.nextSeq(), r), what, detail);
  };

  const dump = async (): Promise<Map<string, KernelService>> => {
    const out = new Map<string, KernelService>();
    for (const m of await send({ cmd: 'GET_SERVICE' })) {
      const s = decodeService(m);
      if (!s.ok) {
        opts.log?.warn({ err: s.error }, 'IPVS service vigil cannot describe, ignored');
        continue;
      }
      const dests: LbDestination[] = [];
      for (const dm of await send({ cmd: 'GET_DEST', service: s.value })) {
        const d = decodeDest(dm, s.value.family);
        if (d.ok) dests.push(d.value);
        else opts.log?.warn({ err: d.error, service: serviceKey(s.value) }, 'IPVS destination vigil cannot describe, ignored');
      }
      out.set(serviceKey(s.value), { service: s.value, dests });
    }
    return out;
  };

  /** The kernel's service in the port's shape, the sorry server recognised by `sorry`. */
  const toPort = (k: KernelService, sorry: LbService['sorry']): LbService | undefined => {
    let dests = k.dests;
    let found: LbService['sorry'];
    if (sorry) {
      const sk = destinationKey(sorry);
      const s = dests.find((d) => destinationKey(d) === sk);
      const others = dests.filter((d) => d !== s);
      if (s && s.kind === sorry.kind && s.weight > 0 && !others.some((d) => d.weight > 0)) {
        found = sorry;
        dests = others;
      }
    }
    try {
      return normalizeTable({ services: [{ ...k.service, destinations: dests, ...(found ? { sorry: found } : {}) }] }).services[0];
    } catch {
      return undefined; // not describable in the port's shape (e.g. a hand-made duplicate): left out
    }
  };

  /** A desired service as the kernel holds it: the sorry server, when in use, is a destination. */
  const kernelDests = (s: LbService): LbDestination[] => {
    const sorry = activeSorry(s);
    return sorry ? [...s.destinations, { ...sorry, weight: SORRY_WEIGHT }] : [...s.destinations];
  };

  const plan = (kernel: Map<string, KernelService>, desired: LbTable): IpvsRequest[] => {
    const ops: IpvsRequest[] = [];
    const want = new Map(desired.services.map((s) => [serviceKey(s), s]));
    for (const [key, k] of kernel) if (owned.has(key) && !want.has(key)) ops.push({ cmd: 'DEL_SERVICE', service: k.service });
    for (const [key, s] of want) {
      const { destinations: _d, sorry: _s, ...service } = s;
      const k = kernel.get(key);
      const dests = kernelDests(s);
      if (!k) {
        ops.push({ cmd: 'NEW_SERVICE', service });
        for (const dest of dests) ops.push({ cmd: 'NEW_DEST', service, dest });
        continue;
      }
      const same = (f: keyof IpvsService) => JSON.stringify(k.service[f] ?? null) === JSON.stringify(service[f] ?? null);
      if (!same('algo') || !same('flags') || !same('persistence')) ops.push({ cmd: 'SET_SERVICE', service });
      const have = new Map(k.dests.map((d) => [destinationKey(d), d]));
      const next = new Map(dests.map((d) => [destinationKey(d), d]));
      for (const [dk, d] of next) if (!have.has(dk)) ops.push({ cmd: 'NEW_DEST', service, dest: d });
      for (const [dk, d] of next) {
        const h = have.get(dk);
        if (h && (['weight', 'kind', 'upperThreshold', 'lowerThreshold'] as const).some((f) => (h[f] ?? 0) !== (d[f] ?? 0))) {
          ops.push({ cmd: 'SET_DEST', service, dest: d });
        }
      }
      for (const [dk, d] of have) if (!next.has(dk)) ops.push({ cmd: 'DEL_DEST', service, dest: d });
    }
    return ops;
  };

  return {
    driver: 'ipvs',

    apply: (table) =>
      serial(async (): Promise<ApplyResult> => {
        const desired = normalizeTable(table);
        const kernel = await dump();
        const mine = new Set([...desired.services.map(serviceKey), ...owned]);
        // the sorry server in the kernel is the one last applied, or on a first apply the one wanted
        const hints = new Map(desired.services.flatMap((s) => (s.sorry ? [[serviceKey(s), s.sorry] as const] : [])));
        for (const [key, sorry] of sorries) hints.set(key, sorry);
        const current: LbService[] = [];
        for (const [key, k] of kernel) {
          const s = mine.has(key) ? toPort(k, hints.get(key)) : undefined;
          if (s) current.push(s);
        }
        const ops = plan(kernel, desired);
        for (const s of desired.services) owned.add(serviceKey(s));
        for (const op of ops) {
          await send(op);
          if (op.cmd === 'DEL_SERVICE' && op.service) owned.delete(serviceKey(op.service));
        }
        sorries = new Map(desired.services.flatMap((s) => (s.sorry ? [[serviceKey(s), s.sorry] as const] : [])));
        const changes: LbChange[] = diffTables({ services: current }, desired);
        if (!changes.length && ops.length) {
          changes.push({ kind: 'dataplane.repaired', detail: `IPVS: ${ops.map((o) => o.cmd).join(', ')}` });
        }
        return { changes };
      }),

    read: () =>
      serial(async () => {
        const services: LbService[] = [];
        for (const [key, k] of await dump()) {
          const s = toPort(k, sorries.get(key));
          if (s) services.push(s);
        }
        return normalizeTable({ services });
      }),

    setTimeouts: (t) =>
      serial(async () => {
        if (!t) {
          if (timeoutsFound) await send({ cmd: 'SET_CONFIG', timeouts: timeoutsFound });
          timeoutsFound = undefined;
          return;
        }
        if (!timeoutsFound) {
          const [m] = await send({ cmd: 'GET_CONFIG' });
          const found = m ? decodeTimeouts(m) : undefined;
          if (!found?.ok) throw new LbError('NETLINK', `GET_CONFIG: ${found ? found.error.message : 'no reply'}`);
          timeoutsFound = found.value;
        }
        const was = timeoutsFound;
        await send({ cmd: 'SET_CONFIG', timeouts: { tcp: t.tcp ?? was.tcp, tcpFin: t.tcpFin ?? was.tcpFin, udp: t.udp ?? was.udp } });
      }),

    syncDaemon: (role, d) =>
      serial(async () => {
        if (!daemonCleared) {
          // keepalived stops both at start, errors ignored: none may be running
          for (const r of ['master', 'backup'] as const) await send({ cmd: 'DEL_DAEMON', daemon: { ...d, role: r } }).catch(() => undefined);
          daemonCleared = true;
        }
        if (daemon && (daemon.role !== role || JSON.stringify(daemon.d) !== JSON.stringify(d))) {
          await send({ cmd: 'DEL_DAEMON', daemon: { ...daemon.d, role: daemon.role } });
          daemon = undefined;
        }
        if (role !== 'stopped' && !daemon) {
          await send({ cmd: 'NEW_DAEMON', daemon: { ...d, role } });
          daemon = { role, d };
        }
      }),

    flush: () =>
      serial(async () => {
        await send({ cmd: 'FLUSH' });
        owned.clear();
        sorries = new Map();
      }),

    close: async ({ keep = false, all = false } = {}) => {
      await serial(async () => {
        if (!keep && all) {
          await send({ cmd: 'FLUSH' });
        } else if (!keep) {
          for (const [key, k] of await dump()) {
            if (!owned.has(key)) continue;
            await send({ cmd: 'DEL_SERVICE', service: k.service }).catch((err: unknown) => {
              // gone already (someone flushed): nothing to remove
              if (!(err instanceof LbError && (err.detail.errno === 'ESRCH' || err.detail.errno === 'ENOENT'))) throw err;
            });
          }
        }
        if (!keep && timeoutsFound) await send({ cmd: 'SET_CONFIG', timeouts: timeoutsFound });
        if (!keep && daemon) await send({ cmd: 'DEL_DAEMON', daemon: { ...daemon.d, role: daemon.role } }).catch(() => undefined);
        closed = true;
        if (!opts.socket) socket.close();
      }).catch((err: unknown) => {
        if (!(err instanceof LbError && err.code === 'CLOSED')) throw err;
      });
    },
  };
}
