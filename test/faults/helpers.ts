// Shared tools of the fault-injection suite (issue #10): faults on the lab LAN as nftables rules on
// the bridge, every daemon's VRRP states on a timeline (arrival time of each "Entering" line), the
// control socket and the journal read back, and the invariants every fault test ends with: vigil
// still running and answering, and every transition it logged present in its journal.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { requestControl } from '../../adapters/control/unix.js';
import type { BusEvent } from '../../actors/bus.js';
import type { Lab } from '../netns/lab.js';
import { sh } from '../netns/lab.js';
import { VIGIL_BIN, type Daemon } from '../netns/daemons.js';

const ROOT = resolve(import.meta.dirname, '../..');

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** `vigil ARGS` as a child process (optionally in host i's namespace): exit code and output */
export function vigilCli(args: string[], opts: { lab?: Lab; host?: number; timeoutMs?: number } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const [cmd, argv] = opts.lab && opts.host ? ['ip', ['netns', 'exec', opts.lab.ns(opts.host), process.execPath, VIGIL_BIN, ...args]] as const : [process.execPath, [VIGIL_BIN, ...args]] as const;
  return new Promise((resolve) => {
    execFile(cmd, [...argv], { maxBuffer: 64 << 20, timeout: opts.timeoutMs ?? 30_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

export interface InstanceState {
  instance: string;
  state: string;
  priority?: number;
  counters?: Record<string, number>;
  [k: string]: unknown;
}

/** the daemon's status over its control socket (unix sockets are files: no namespace needed) */
export async function status(sock: string, timeoutMs = 5000): Promise<{ instances: InstanceState[]; [k: string]: unknown }> {
  const r = await requestControl(sock, { cmd: 'status' }, timeoutMs);
  assert.equal(r.ok, true, JSON.stringify(r));
  return r.status as { instances: InstanceState[] };
}

/**
 * Rules in the lab switch's forward path (family bridge: each copy of a multicast frame is judged
 * per output port, so a random drop rule loses adverts independently per receiver). `set` replaces
 * the rules in one transaction; `clear` removes them.
 */
export class LanFilter {
  private constructor(private readonly lab: Lab) {}

  static async create(lab: Lab): Promise<LanFilter> {
    const f = new LanFilter(lab);
    await f.set([]);
    return f;
  }

  private nft(script: string): Promise<string> {
    return new Promise((resolve, reject) => {
      const p = execFile('ip', ['netns', 'exec', this.lab.sw, 'nft', '-f', '-'], (err, out, stderr) => (err ? reject(new Error(`nft: ${stderr || err.message}\n${script}`)) : resolve(out)));
      p.stdin!.end(script);
    });
  }

  /** replace every rule; each is one nft rule of the forward chain, e.g. `iifname "p1" drop` */
  set(rules: string[]): Promise<string> {
    return this.nft(
      'table bridge vfault\ndelete table bridge vfault\n' +
        `table bridge vfault {\n  chain lan {\n    type filter hook forward priority 0; policy accept;\n${rules.map((r) => `    ${r}\n`).join('')}  }\n}\n`,
    );
  }

  clear(): Promise<string> {
    return this.set([]);
  }

  /** VRRP between switch ports of hosts a and b dropped both ways */
  static partition(a: number, b: number): string[] {
    return [`iifname "p${a}" oifname "p${b}" ip protocol vrrp counter drop`, `iifname "p${b}" oifname "p${a}" ip protocol vrrp counter drop`];
  }

  /** the packet counts of the rules that have a counter, in order */
  async counts(): Promise<number[]> {
    const out = await sh('ip', ['netns', 'exec', this.lab.sw, 'nft', 'list', 'chain', 'bridge', 'vfault', 'lan']);
    return [...out.matchAll(/counter packets (\d+)/g)].map((m) => Number(m[1]));
  }
}

export interface Change {
  /** Date.now() when the line arrived */
  t: number;
  host: number;
  instance: string;
  state: string;
  /** the daemon (life) that logged it */
  d: Daemon;
}

/**
 * Every daemon's "(VI) Entering X STATE" lines with their arrival time: who was MASTER when.
 * (The log is read as it arrives: a line's time is within a few ms of the transition.)
 */
export class Timeline {
  readonly changes: Change[] = [];
  private readonly current = new Map<string, string>();

  watch(d: Daemon): void {
    let buf = '';
    const on = (chunk: Buffer) => {
      buf += chunk.toString();
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        const m = /\((\w+)\) Entering (\w+) STATE/.exec(line);
        if (m) this.record(d, m[1]!, m[2]!);
        else if (/\((\w+)\) Stopped/.test(line)) this.record(d, /\((\w+)\)/.exec(line)![1]!, 'STOP');
      }
    };
    d.proc.stdout?.on('data', on);
    // a killed daemon holds nothing
    d.proc.once('exit', () => {
      for (const k of this.current.keys()) if (k.startsWith(`${d.host}/`)) this.record(d, k.split('/')[1]!, 'DEAD');
    });
  }

  private record(d: Daemon, instance: string, state: string): void {
    const key = `${d.host}/${instance}`;
    if (this.current.get(key) === state) return;
    this.current.set(key, state);
    this.changes.push({ t: Date.now(), host: d.host, instance, state, d });
  }

  masters(instance: string): number[] {
    return [...this.current].filter(([k, s]) => k.endsWith(`/${instance}`) && s === 'MASTER').map(([k]) => Number(k.split('/')[0]));
  }

  /** the intervals (from, to) in which more than one host was MASTER of `instance`, within [from, to] */
  splitBrains(instance: string, from = 0, to = Date.now()): { start: number; end: number; hosts: number[] }[] {
    const state = new Map<number, string>();
    const out: { start: number; end: number; hosts: number[] }[] = [];
    let open: { start: number; hosts: number[] } | undefined;
    const masters = () => [...state].filter(([, s]) => s === 'MASTER').map(([h]) => h);
    for (const c of this.changes.filter((x) => x.instance === instance)) {
      state.set(c.host, c.state);
      const m = masters();
      if (m.length > 1 && !open) open = { start: c.t, hosts: m };
      if (m.length <= 1 && open) {
        out.push({ ...open, end: c.t });
        open = undefined;
      }
    }
    if (open) out.push({ ...open, end: to });
    return out.filter((s) => s.end >= from && s.start <= to);
  }

  /** changes of `instance` to `state` after time t */
  count(instance: string, state: string, after = 0, host?: number): number {
    return this.changes.filter((c) => c.instance === instance && c.state === state && c.t >= after && (host === undefined || c.host === host)).length;
  }
}

/** every event of a journal, through `vigil events --journal DIR --json` (the CLI a user runs) */
export async function journalEvents(dir: string): Promise<BusEvent[]> {
  const r = await vigilCli(['events', '--journal', dir, '--json']);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as BusEvent);
}

/**
 * No event lost: every "Entering X STATE" the daemon logged is a vrrp.state event in its journal,
 * in the same order (per instance). `d.lines` must cover the daemon's whole life on this journal.
 */
export async function assertJournalHasTransitions(daemons: Daemon[], journalDir: string, opts: { mayLoseLast?: ReadonlyMap<Daemon, number> } = {}): Promise<number> {
  return assertLivesJournaled(daemons, await journalEvents(journalDir), `journal ${journalDir}`, opts.mayLoseLast);
}

/**
 * The check of assertJournalHasTransitions on events already read: each life's "Entering X STATE"
 * lines, in order, are the vrrp.state events journaled in that life, except that up to
 * `mayLoseLast.get(life)` trailing ones may be missing. Returns how many were journaled.
 */
export function assertLivesJournaled<D extends Pick<Daemon, 'startedAt' | 'lines'>>(daemons: readonly D[], all: readonly BusEvent[], what: string, mayLoseLast?: ReadonlyMap<D, number>): number {
  const key = (instance: string, to: string) => `${instance} ${to}`;
  const events = all.filter((e) => e.type === 'vrrp.state' && e.data.to !== 'STOP' && e.data.to !== 'INIT');
  // each life's events by time: a life is over (its process has exited) before the next is spawned,
  // so its events are those journaled from its spawn until the next one's. (Matching the lives'
  // logs against one merged list let a lost trailing transition of one life pair up with the same
  // transition at the start of the next, and a complete journal then looked one short.)
  const lifeOf = (t: string) => {
    const ms = Date.parse(t);
    let i = -1;
    for (const [j, d] of daemons.entries()) if (ms >= d.startedAt) i = j;
    return i;
  };
  assert.deepEqual(events.filter((e) => lifeOf(e.time) < 0).map((e) => e.id), [], `${what}: no transition journaled before the first life was spawned`);
  let n = 0;
  for (const [i, d] of daemons.entries()) {
    const logged = d.lines.map((l) => /\((\w+)\) Entering (\w+) STATE/.exec(l)).filter((m): m is RegExpExecArray => !!m).map((m) => key(m[1]!, m[2]!));
    const journaled = events.filter((e) => lifeOf(e.time) === i).map((e) => key(String(e.data.instance), String(e.data.to)));
    n += journaled.length;
    // a SIGKILL within the group-commit window of a transition takes it along (logged, not
    // journaled): the caller says how many trailing transitions of a killed life that may be
    const loose = Math.min(mayLoseLast?.get(d) ?? 0, logged.length);
    const expected = logged.slice(0, Math.max(journaled.length, logged.length - loose));
    assert.deepEqual(journaled, expected, `${what}, life ${i + 1} of ${daemons.length}: every logged transition${loose ? ` (the last ${loose} may be missing)` : ''}`);
  }
  return n;
}

/** vigil alive: the process runs and its control socket answers `ping` within `ms` */
export async function assertAlive(d: Daemon, sock: string, ms = 2000): Promise<number> {
  assert.equal(d.proc.exitCode, null, `vigil on host ${d.host} exited (${d.proc.exitCode ?? d.proc.signalCode})`);
  const t0 = performance.now();
  const r = await requestControl(sock, { cmd: 'ping' }, ms);
  assert.equal(r.ok, true);
  return performance.now() - t0;
}

export const controlSock = (dir: string, host: number) => join(dir, `control-h${host}.sock`);
export const journalDir = (dir: string, host: number) => join(dir, `journal-h${host}`);

/** a two- or three-node VRRP config (v3 unless `v2`) for host `node` at `prio` */
export function vrrpConf(o: { node: string; prio: number; vrid?: number; intervalS?: number; vips?: string[]; instance?: string; v2?: boolean; extra?: string; global?: string }): string {
  return `global_defs {
  router_id ${o.node}
  vrrp_garp_master_delay 0
${o.global ?? ''}}
vrrp_instance ${o.instance ?? 'VI_1'} {
  state BACKUP
  interface eth0
  virtual_router_id ${o.vrid ?? 51}
  priority ${o.prio}
  advert_int ${o.intervalS ?? 0.1}
  version ${o.v2 ? 2 : 3}
${o.extra ?? ''}  virtual_ipaddress {
${(o.vips ?? ['10.99.0.100/24']).map((v) => `    ${v}\n`).join('')}  }
}
`;
}

/** keepalived's Master_Down_Interval for a BACKUP of `prio` with interval `s` seconds (v3: centisecond units) */
export function masterDownMs(prio: number, s: number): number {
  return 3 * s * 1000 + ((256 - prio) * s * 1000) / 256;
}

/** wait for a log line matching `re` that arrives after this call (Daemon.waitFor also matches old lines) */
export function nextLine(d: Daemon, re: RegExp, ms = 10_000): Promise<string> {
  const from = d.lines.length;
  return new Promise((resolve, reject) => {
    const end = Date.now() + ms;
    const poll = () => {
      const hit = d.lines.slice(from).find((l) => re.test(l));
      if (hit) return resolve(hit);
      if (Date.now() > end) return reject(new Error(`host ${d.host}: no new log line matching ${re} within ${ms} ms; log:\n  ${d.lines.slice(-30).join('\n  ')}`));
      setTimeout(poll, 10);
    };
    poll();
  });
}

/** A foreign host on the lab LAN sending raw IPv4 packets (test/netns/inject.ts in its namespace). */
export class Injector {
  private constructor(private readonly next: () => Promise<string>, private readonly write: (s: string) => void) {}

  static async start(lab: Lab, host: number): Promise<Injector> {
    // it sends to the VRRP group without joining it: give it a multicast route
    await lab.exec(host, 'ip', ['route', 'replace', '224.0.0.0/4', 'dev', 'eth0']);
    const p = lab.spawn(host, process.execPath, ['--import', 'tsx', 'test/netns/inject.ts'], { cwd: ROOT });
    const it = createInterface({ input: p.stdout! })[Symbol.asyncIterator]();
    return new Injector(async () => (await it.next()).value as string, (s) => p.stdin!.write(s));
  }

  /** send; resolves with the number of packets the kernel took */
  async send(req: { hex?: string; hexes?: string[]; count?: number; intervalMs?: number; burst?: number; dst?: string }): Promise<number> {
    this.write(`${JSON.stringify({ dst: '224.0.0.18', ...req })}\n`);
    return (JSON.parse(await this.next()) as { sent: number }).sent;
  }
}

/** tcpdump in host i's namespace with `args` (after -i eth0 -n -tt -l), once it listens; stop() gives its lines */
export async function tcpdumpLines(lab: Lab, host: number, args: string[]): Promise<{ stop(): Promise<string[]> }> {
  const p = lab.spawn(host, 'tcpdump', ['-i', 'eth0', '-n', '-tt', '-l', ...args]);
  let out = '';
  p.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  await new Promise<void>((res, rej) => {
    let err = '';
    p.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      if (err.includes('listening on')) res();
    });
    p.once('exit', () => rej(new Error(`tcpdump: ${err}`)));
  });
  return {
    async stop() {
      await sleep(100);
      p.kill('SIGINT');
      await new Promise((r) => p.once('exit', r));
      return out.split('\n').filter(Boolean);
    },
  };
}

/** the time (ms) tcpdump -tt put at the start of a line */
export const lineTime = (l: string): number => Number(l.split(' ')[0]) * 1000;

/** tcpdump in host i's namespace: the arrival times (ms) of VRRP packets from `src` */
export async function captureAdverts(lab: Lab, host: number, src: string): Promise<{ stop(): Promise<number[]> }> {
  const cap = await tcpdumpLines(lab, host, ['-Q', 'in', `ip proto 112 and src ${src}`]);
  return { stop: async () => (await cap.stop()).map(lineTime) };
}

/** the largest gap between consecutive times */
export const maxGap = (ts: number[]) => Math.max(0, ...ts.slice(1).map((t, i) => t - ts[i]!));

/** mulberry32: small, seeded, good enough to pick faults and mutations reproducibly */
export function rng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { next, int: (n: number) => Math.floor(next() * n), pick: <T>(xs: readonly T[]) => xs[Math.floor(next() * xs.length)]! };
}

/**
 * What the lab looks like, for a failure message: each host's addresses and neighbours, the
 * bridge's forwarding table, and the last log lines of each daemon given.
 */
export async function labState(lab: Lab, daemons: readonly Daemon[] = []): Promise<string> {
  const out: string[] = [];
  const q = (p: Promise<string>) => p.catch((e: Error) => `(failed: ${e.message.split('\n')[0]})`);
  for (let i = 1; i <= lab.hosts.length; i++) {
    out.push(`host ${i} addr:\n${await q(lab.exec(i, 'ip', ['-o', '-4', 'addr', 'show']))}`);
    out.push(`host ${i} link:\n${await q(lab.exec(i, 'ip', ['-o', 'link', 'show', 'dev', 'eth0']))}`);
    out.push(`host ${i} neigh:\n${await q(lab.exec(i, 'ip', ['neigh', 'show']))}`);
  }
  out.push(`bridge fdb:\n${await q(sh('bridge', ['-n', lab.sw, 'fdb', 'show', 'br', 'br0']))}`);
  for (const d of daemons) out.push(`host ${d.host} log (last 40):\n  ${d.lines.slice(-40).join('\n  ')}`);
  return out.join('\n');
}

/** run `step`; when it fails, rethrow with the lab's state appended to the message */
export async function explained<T>(lab: Lab, daemons: readonly Daemon[], step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (e) {
    const err = e instanceof Error ? e : new Error(String(e));
    err.message += `\n--- lab state ---\n${await labState(lab, daemons)}`;
    throw err;
  }
}
