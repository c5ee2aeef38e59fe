// One VRID per interface and family per host, across daemons: two vigils (or two configs of one
// operator) running the same virtual router on one LAN from one host would fight over its VIPs and
// each see the other's adverts as a peer's. Each VRRP instance claims a file
// `<netns>-<interface>-v<family>-<vrid>` in a directory (default /run/vigil/vrids), created
// exclusively and holding its owner's pid, like the journal's LOCK; a claim held by a running vigil
// refuses the start (or the reload) naming that vigil, one whose owner is gone is taken over.
//
// The network namespace is part of the name (the inode of /proc/self/ns/net): the same VRID in two
// namespaces of one host is two LANs, as in the test lab. Unicast instances are exempt when both are
// unicast: their adverts go to their own peers, so they can share a VRID (keepalived allows it with
// disjoint peers; config-test checks that within one file).
import { readFileSync, readlinkSync, unlinkSync } from 'node:fs';
import { mkdir, open, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { inspectPid, type Holder } from './pidfile.js';

export const DEFAULT_VRID_DIR = '/run/vigil/vrids';

export interface VridClaim {
  readonly instance: string;
  readonly iface: string;
  readonly family: 4 | 6;
  readonly vrid: number;
  readonly unicast: boolean;
}

export interface VridClaims {
  /**
   * Hold exactly `list`: new claims are taken (all or none), ours that are not in `list` are let
   * go. Resolves with one message per conflict (nothing taken then), empty when done.
   */
  sync(list: readonly VridClaim[]): Promise<string[]>;
  /** let every claim go; synchronous (an exit path calls it), idempotent, never throws */
  release(): void;
}

interface Owner {
  readonly pid: number;
  readonly instance: string;
  readonly unicast: boolean;
}

/** the inode of this process's network namespace ('4026531840'), or 'host' if /proc says nothing */
function netnsId(): string {
  try {
    return /\[(\d+)\]/.exec(readlinkSync('/proc/self/ns/net'))?.[1] ?? 'host';
  } catch {
    return 'host';
  }
}

/** interface names may hold characters a file name should not (`/` cannot be in either) */
const fileName = (ns: string, c: VridClaim) => `${ns}-${encodeURIComponent(c.iface)}-v${c.family}-${c.vrid}`;

export function openVridClaims(opts: { dir?: string; pid?: number; inspect?: (pid: number) => Promise<Holder> } = {}): VridClaims {
  const dir = opts.dir ?? DEFAULT_VRID_DIR;
  const pid = opts.pid ?? process.pid;
  const inspect = opts.inspect ?? ((p: number) => inspectPid(p));
  const ns = netnsId();
  /** file → the claim we hold in it */
  const held = new Map<string, VridClaim>();

  const readOwner = async (file: string): Promise<Owner | undefined> => {
    try {
      const o = JSON.parse(await readFile(file, 'utf8')) as Partial<Owner>;
      return typeof o.pid === 'number' ? { pid: o.pid, instance: String(o.instance ?? '?'), unicast: o.unicast === true } : undefined;
    } catch {
      return undefined; // unreadable or torn: treated as stale
    }
  };

  /** take `file` for `c`: 'taken', 'shared' (both unicast), or why not (a live vigil holds it) */
  const take = async (file: string, c: VridClaim): Promise<'taken' | 'shared' | string> => {
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        const fh = await open(file, 'wx', 0o644);
        await fh.writeFile(JSON.stringify({ pid, instance: c.instance, unicast: c.unicast }) + '\n');
        await fh.close();
        return 'taken';
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      const owner = await readOwner(file);
      if (owner && owner.pid !== pid) {
        const h = await inspect(owner.pid);
        if (h.kind === 'vigil' || h.kind === 'unknown') {
          if (owner.unicast && c.unicast) return 'shared'; // both unicast: each to its own peers
          return `${c.instance}: VRID ${c.vrid} on ${c.iface} (IPv${c.family}) is run by another vigil (pid ${owner.pid}, instance ${owner.instance}); one host runs a virtual router once`;
        }
      }
      await unlink(file).catch(() => undefined); // stale: its owner is gone (or it was ours)
    }
    return `${c.instance}: cannot claim VRID ${c.vrid} on ${c.iface}: ${file} keeps coming back`;
  };

  return {
    async sync(list) {
      await mkdir(dir, { recursive: true, mode: 0o755 });
      const want = new Map(list.map((c) => [join(dir, fileName(ns, c)), c]));
      const conflicts: string[] = [];
      const taken: string[] = [];
      for (const [file, c] of want) {
        if (held.has(file)) continue;
        const r = await take(file, c);
        if (r === 'taken') taken.push(file);
        else if (r !== 'shared') conflicts.push(r);
      }
      if (conflicts.length) {
        for (const f of taken) await unlink(f).catch(() => undefined);
        return conflicts;
      }
      for (const f of taken) held.set(f, want.get(f)!);
      for (const f of [...held.keys()]) {
        if (want.has(f)) continue;
        held.delete(f);
        await unlink(f).catch(() => undefined);
      }
      return [];
    },
    release() {
      for (const f of held.keys()) {
        try {
          // only our own: a stale-claim takeover by another vigil must not be undone
          if ((JSON.parse(readFileSync(f, 'utf8')) as Owner).pid === pid) unlinkSync(f);
        } catch {
          /* gone already */
        }
      }
      held.clear();
    },
  };
}
