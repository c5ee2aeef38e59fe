// Link and address notifications from one long-lived `ip -o monitor label link address` child.
//
// Why not a multicast subscription on a netlink 0.3.0 socket: when the kernel drops notifications
// because the socket's receive buffer is full (ENOBUFS: a burst of link changes while our event
// loop is busy), that package's native error path throws a C++ exception that aborts the process
// ("terminate called after throwing an instance of 'Napi::Error'"; reproduced with 2000 link flaps).
// iproute2 reports the same condition on stderr and keeps going (`netlink receive error No buffer
// space available (105)`), so we can re-read link state instead of dying. The kernel never drops
// in silence: every loss is an ENOBUFS, so there is no polling anywhere.
//
// Readiness: events are only seen once ip has bound its netlink socket to the groups. `start()`
// resolves when that socket shows up in /proc/net/netlink (this namespace's) with its groups set.
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { formatIP, parseIP } from './addr.js';
import type { Family } from './types.js';

export type MonitorEvent =
  | { readonly type: 'link'; readonly deleted: boolean; readonly index: number; readonly name: string; readonly up: boolean; readonly mac?: string }
  | {
    readonly type: 'address'; readonly deleted: boolean; readonly index: number; readonly dev: string; readonly family: Family;
    readonly address: string; readonly prefix: number; readonly scope: number; readonly label?: string; readonly peer?: string;
  }
  /** the kernel dropped notifications (ENOBUFS): state must be re-read */
  | { readonly type: 'overflow' };

const SCOPES: Record<string, number> = { global: 0, universe: 0, site: 200, link: 253, host: 254, nowhere: 255 };

/**
 * One line of `ip -o monitor label link address` (iproute2 ≥ 4.x) → event, or undefined for lines
 * we do not use. Pure; never throws.
 *
 *   [LINK]3: vt0@vt1: <NO-CARRIER,BROADCAST,MULTICAST,UP> mtu 1500 ... \    link/ether 0e:48:25:ea:ca:cf brd ...
 *   [LINK]Deleted 4: x2@NONE: <BROADCAST,MULTICAST> ...
 *   [ADDR]3: vt0    inet 10.77.1.1 peer 10.77.1.2/32 brd ... scope global secondary vt0:1\       valid_lft ...
 *   [ADDR]Deleted 3: vt0    inet6 fd77::1/64 scope global nodad \       valid_lft ...
 */
export function parseMonitorLine(line: string): MonitorEvent | undefined {
  const link = /^\[LINK\](Deleted )?(\d+): ([^\s@:]+)(?:@[^\s:]*)?: <([^>]*)>/.exec(line);
  if (link) {
    const flags = (link[4] as string).split(',');
    // ip prints NO-CARRIER for IFF_UP without IFF_RUNNING: up here means IFF_UP && IFF_RUNNING
    const up = flags.includes('UP') && !flags.includes('NO-CARRIER');
    const mac = /link\/\S+ ((?:[0-9a-f]{2}:){5}[0-9a-f]{2})(?:\s|$)/.exec(line)?.[1];
    return { type: 'link', deleted: !!link[1], index: Number(link[2]), name: link[3] as string, up, ...(mac ? { mac } : {}) };
  }
  const addr = /^\[ADDR\](Deleted )?(\d+): (\S+)\s+(inet6?) ([0-9a-fA-F.:]+)(?: peer ([0-9a-fA-F.:]+))?\/(\d+)(.*)$/.exec(line);
  if (addr) {
    const family: Family = addr[4] === 'inet' ? 4 : 6;
    const local = parseIP(addr[5] as string, family);
    const peer = addr[6] === undefined ? undefined : parseIP(addr[6], family);
    if (!local || (addr[6] !== undefined && !peer)) return undefined;
    // the words up to the line continuation; for IPv4 the label is printed last
    const words = (addr[8] as string).split('\\')[0]?.trim().split(/\s+/).filter(Boolean) ?? [];
    const s = words[words.indexOf('scope') + 1];
    const scope = words.includes('scope') && s !== undefined ? SCOPES[s] ?? (/^\d+$/.test(s) ? Number(s) : 0) : 0;
    const label = family === 4 ? words.at(-1) : undefined;
    return {
      type: 'address', deleted: !!addr[1], index: Number(addr[2]), dev: addr[3] as string, family,
      address: formatIP(local), prefix: Number(addr[7]), scope,
      ...(label && label !== s ? { label } : {}), ...(peer ? { peer: formatIP(peer) } : {}),
    };
  }
  return undefined;
}

/** A stderr line of ip that means notifications were lost. */
export function isOverflow(line: string): boolean {
  return /No buffer space available|\(105\)/.test(line);
}

type Child = ChildProcessByStdio<null, Readable, Readable>;

export interface MonitorOptions {
  readonly ipPath?: string;
  readonly onEvent: (e: MonitorEvent) => void;
  /** ip died and was started again: notifications may have been missed (after `start()` only) */
  readonly onRestart: () => void;
  readonly warn?: (msg: string, detail: object) => void;
}

export class IpMonitor {
  private child: Child | undefined;
  private stopped = false;
  private restartTimer: NodeJS.Timeout | undefined;

  constructor(private readonly opts: MonitorOptions) {}

  /** Spawn ip; resolves once it listens (or after 2 s, with a warning). Never rejects. */
  start(): Promise<void> {
    const child = spawn(this.opts.ipPath ?? 'ip', ['-o', 'monitor', 'label', 'link', 'address'], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    // ip monitor only notices our death when it next writes; do not let it outlive us
    const orphan = () => child.kill();
    process.once('exit', orphan);
    child.once('close', () => process.off('exit', orphan));
    // a watcher alone does not keep the process alive
    child.unref();
    for (const s of [child.stdout, child.stderr] as unknown as { unref(): void }[]) s.unref();
    createInterface({ input: child.stdout }).on('line', (line) => {
      const e = parseMonitorLine(line);
      if (e) this.opts.onEvent(e);
    });
    createInterface({ input: child.stderr }).on('line', (line) => {
      if (isOverflow(line)) this.opts.onEvent({ type: 'overflow' });
      else this.opts.warn?.('ip monitor', { stderr: line });
    });
    let failed = false;
    child.on('error', (err) => { failed = true; this.opts.warn?.('ip monitor cannot run', { err }); });
    child.on('close', (code, signal) => {
      if (this.child !== child || this.stopped) return;
      this.child = undefined;
      this.opts.warn?.('ip monitor exited; restarting in 1 s', { code, signal });
      this.restartTimer = setTimeout(() => {
        if (this.stopped) return;
        void this.start().then(() => this.opts.onRestart());
      }, 1000);
      this.restartTimer.unref();
    });
    return this.listening(child, () => failed);
  }

  private async listening(child: Child, failed: () => boolean): Promise<void> {
    const deadline = Date.now() + 2000;
    while (Date.now() < deadline && !failed() && this.child === child) {
      const table = await readFile('/proc/net/netlink', 'utf8').catch(() => '');
      // columns: sk Eth Pid Groups ...; ip's socket is bound to its pid, NETLINK_ROUTE is Eth 0
      if (table.split('\n').some((l) => {
        const [, eth, pid, groups] = l.trim().split(/\s+/);
        return eth === '0' && pid === String(child.pid) && groups !== undefined && /[1-9a-f]/.test(groups);
      })) return;
      await new Promise((r) => setTimeout(r, 2));
    }
    if (!failed() && this.child === child) this.opts.warn?.('ip monitor: could not confirm it is listening', { pid: child.pid });
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.restartTimer);
    this.child?.kill();
    this.child = undefined;
  }
}
