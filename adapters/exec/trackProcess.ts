// vrrp_track_process: count the processes matching a name (and optionally arguments); the tracker
// is up while quorum ≤ count ≤ quorum_max (keepalived.md §1.4; keepalived/core/track_process.c).
// This adapter only reports up/down and the count; the priority is machines/priority.ts.
//
// Like keepalived it is event-driven: one scan of /proc at start, then the kernel's proc connector
// (NETLINK_CONNECTOR, CN_IDX_PROC) reports fork/exec/comm/exit, and only the process concerned is
// re-read. A fork of a counted process counts the child (it inherits name and command line); an
// exec or a name change re-reads that pid; an exit uncounts it. Lost events (ENOBUFS, a queue
// overflow) trigger a full re-scan a second later, as keepalived's reinitialise_track_processes.
// Stopgap: when the connector is unavailable (not root, no CONFIG_PROC_EVENTS, no answer to the
// listen request) /proc is re-scanned every `pollMs` instead, so short-lived changes can be missed
// and a change is seen up to `pollMs` late.
//
// Matching (read_procs, check_process, check_params): without arguments and without
// `full_command`, the name is compared with the kernel's comm (`/proc/PID/stat`, 15 characters;
// zombies skipped). With arguments, `param_match` or `full_command` it is compared with argv[0] of
// `/proc/PID/cmdline`, and the arguments as NUL-separated bytes: exact (default with arguments),
// `partial` (the configured arguments are the first ones), `initial` (as partial, the last one a
// prefix). `delay`, `fork_delay`, `terminate_delay`: a quorum gained by a fork, or lost by an exit,
// is only reported if it still holds after the delay.
// /proc is read asynchronously: reading /proc/PID/cmdline takes the process's mmap lock and can
// block, and that must not stall the event loop (VRRP adverts).
import { readdir, readFile } from 'node:fs/promises';
import { endianness } from 'node:os';
import type { TrackProcess } from '../config/model.js';

export type ParamMatch = 'none' | 'exact' | 'partial' | 'initial';

export interface ProcessSpec {
  readonly name: string;
  /** comm (≤ 15 characters) or, with fullCommand, argv[0] as the process has it */
  readonly process: string;
  readonly args: readonly string[];
  readonly paramMatch: ParamMatch;
  readonly fullCommand: boolean;
  readonly quorum: number;
  readonly quorumMax: number;
  readonly forkDelayMs: number;
  readonly terminateDelayMs: number;
}

/** keepalived's parser: arguments imply full_command and exact matching; delay sets both delays. */
export function processSpecFromConfig(tp: TrackProcess): ProcessSpec | undefined {
  if (!tp.process) return undefined;
  const paramMatch: ParamMatch = tp.paramMatch ?? (tp.args.length ? 'exact' : 'none');
  return {
    name: tp.name, process: tp.process, args: tp.args, paramMatch,
    fullCommand: tp.fullCommand || tp.args.length > 0 || paramMatch !== 'none',
    quorum: tp.quorumMax === 0 ? 0 : tp.quorum,
    quorumMax: tp.quorumMax ?? Number.MAX_SAFE_INTEGER,
    forkDelayMs: tp.forkDelayMs ?? tp.delayMs ?? 0,
    terminateDelayMs: tp.terminateDelayMs ?? tp.delayMs ?? 0,
  };
}

/** What /proc says about one process; null fields were not needed or not readable. */
export interface ProcInfo { readonly comm: string | null; readonly zombie: boolean; readonly cmdline: Buffer | null }

/** keepalived check_params: `params` are the cmdline bytes after argv[0]'s NUL. */
function paramsMatch(spec: ProcessSpec, params: Buffer): boolean {
  const want = spec.args.length ? Buffer.from(spec.args.map((a) => `${a}\0`).join('')) : null;
  if (spec.paramMatch === 'exact' && !want && params.length === 0) return true;
  if (params.length < (want?.length ?? 0)) return false;
  if (spec.paramMatch === 'exact') return !!want && params.length === want.length && params.equals(want);
  if (!want) return true;
  if (spec.paramMatch === 'partial') return params.subarray(0, want.length).equals(want);
  // initial: the last configured argument may be a prefix of the actual one
  return want.length === 1 || params.subarray(0, want.length - 1).equals(want.subarray(0, want.length - 1));
}

export function matches(spec: ProcessSpec, p: ProcInfo): boolean {
  if (!spec.fullCommand) return p.comm !== null && !p.zombie && p.comm === spec.process;
  if (!p.cmdline) return false;
  const nul = p.cmdline.indexOf(0);
  const argv0 = (nul < 0 ? p.cmdline : p.cmdline.subarray(0, nul)).toString();
  if (argv0 !== spec.process) return false;
  if (spec.paramMatch === 'none') return true;
  return paramsMatch(spec, nul < 0 ? Buffer.alloc(0) : p.cmdline.subarray(nul + 1));
}

/** `/proc/PID/stat`: comm is between the first '(' and the last ')'; the state follows. */
export function parseStat(text: string): { comm: string; state: string } | null {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) return null;
  return { comm: text.slice(open + 1, close), state: text.slice(close + 2, close + 3) };
}

// --- proc connector ------------------------------------------------------------------------
// <linux/connector.h>, <linux/cn_proc.h>. Layout of one message: nlmsghdr (16) | cn_msg (20:
// idx, val, seq, ack, len u16, flags u16) | proc_event (what, cpu, timestamp u64, event_data).
const NETLINK_CONNECTOR = 11;
const CN_IDX_PROC = 1;
const CN_VAL_PROC = 1;
const PROC_CN_MCAST_LISTEN = 1;
const NLMSG_DONE = 3;
const EV = 16 + 20; // offset of proc_event
const DATA = EV + 16; // offset of event_data

export type ProcEvent =
  | { what: 'ack'; err: number }
  | { what: 'fork'; parentTgid: number; childPid: number; childTgid: number }
  | { what: 'exec'; pid: number; tgid: number }
  | { what: 'comm'; pid: number; tgid: number; comm: string }
  | { what: 'exit'; pid: number; tgid: number }
  | { what: 'other' };

/** One connector message → event; null for anything that is not a proc event (counted, dropped). */
export function decodeProcEvent(buf: Buffer, le = endianness() === 'LE'): ProcEvent | null {
  if (buf.length < DATA + 8) return null;
  const u32 = (o: number) => (le ? buf.readUInt32LE(o) : buf.readUInt32BE(o));
  if (u32(16) !== CN_IDX_PROC || u32(20) !== CN_VAL_PROC) return null;
  const what = u32(EV);
  switch (what) {
    case 0: return { what: 'ack', err: u32(DATA) };
    case 0x1:
      if (buf.length < DATA + 16) return null;
      return { what: 'fork', parentTgid: u32(DATA + 4), childPid: u32(DATA + 8), childTgid: u32(DATA + 12) };
    case 0x2: return { what: 'exec', pid: u32(DATA), tgid: u32(DATA + 4) };
    case 0x200: {
      if (buf.length < DATA + 24) return null;
      const raw = buf.subarray(DATA + 8, DATA + 24);
      const nul = raw.indexOf(0);
      return { what: 'comm', pid: u32(DATA), tgid: u32(DATA + 4), comm: (nul < 0 ? raw : raw.subarray(0, nul)).toString() };
    }
    case 0x80000000: return { what: 'exit', pid: u32(DATA), tgid: u32(DATA + 4) };
    default: return { what: 'other' };
  }
}

interface ConnectorSocket {
  on(ev: 'message', f: (msg: Buffer) => void): unknown;
  on(ev: 'error', f: (err: Error) => void): unknown;
  close(): void;
}

/** Subscribe to proc events; resolves null if the kernel does not answer (or we may not ask). */
async function openConnector(onEvent: (e: ProcEvent) => void, onLost: () => void, ackMs: number): Promise<ConnectorSocket | null> {
  let sock: import('netlink').RawNetlinkSocket;
  try {
    const { RawNetlinkSocket } = await import('netlink');
    sock = new RawNetlinkSocket(NETLINK_CONNECTOR, { recvBufferSize: 1 << 20 } as never);
    sock.addMembership(CN_IDX_PROC);
  } catch {
    return null;
  }
  const le = endianness() === 'LE';
  const msg = Buffer.alloc(DATA - 16 + 4);
  const w32 = (v: number, o: number) => (le ? msg.writeUInt32LE(v, o) : msg.writeUInt32BE(v, o));
  const w16 = (v: number, o: number) => (le ? msg.writeUInt16LE(v, o) : msg.writeUInt16BE(v, o));
  w32(msg.length, 0); w16(NLMSG_DONE, 4); w32(sock.address().port, 12);
  w32(CN_IDX_PROC, 16); w32(CN_VAL_PROC, 20); w16(4, 32);
  w32(PROC_CN_MCAST_LISTEN, 36);
  return new Promise((resolve) => {
    let acked = false;
    const timer = setTimeout(() => { if (!acked) { sock.close(); resolve(null); } }, ackMs);
    sock.on('message', (m: Buffer) => {
      const e = decodeProcEvent(m, le);
      if (!e) return;
      if (e.what === 'ack') {
        if (!acked) { acked = true; clearTimeout(timer); resolve(sock); }
        return;
      }
      if (acked) onEvent(e);
    });
    sock.on('error', () => onLost()); // ENOBUFS: events were lost
    sock.send(msg, {}, (err) => { if (err) { clearTimeout(timer); sock.close(); resolve(null); } });
  });
}

// --- the tracker -----------------------------------------------------------------------------

export interface QuorumChange {
  readonly tracker: string;
  readonly up: boolean;
  readonly count: number;
  /** the report at start (every tracker gets one), not a change */
  readonly initial: boolean;
}

export interface ProcessTrackerOptions {
  /** 'poll' forces the stopgap (tests); 'auto' uses the connector when it answers */
  readonly source?: 'auto' | 'poll';
  /** stopgap re-scan interval without the connector (default 1000) */
  readonly pollMs?: number;
  /** re-scan after lost events (default 1000, keepalived's 1 s) */
  readonly rescanDelayMs?: number;
  /** how long to wait for the connector's ack (default 500) */
  readonly ackMs?: number;
  readonly procRoot?: string;
}

export interface ProcessTracking {
  readonly source: 'connector' | 'poll';
  status(tracker: string): { up: boolean; count: number } | undefined;
  close(): void;
}

const MAX_QUEUE = 10_000;

export async function trackProcesses(
  specs: readonly ProcessSpec[],
  onChange: (c: QuorumChange) => void,
  opts: ProcessTrackerOptions = {},
): Promise<ProcessTracking> {
  const proc = opts.procRoot ?? '/proc';
  const needComm = specs.some((s) => !s.fullCommand);
  // keepalived reads only as much of cmdline as the longest configured command needs (+2)
  const cmdlineMax = Math.max(0, ...specs.filter((s) => s.fullCommand)
    .map((s) => Buffer.byteLength([s.process, ...s.args].join('\0')) + 1)) + 2;
  const needCmdline = specs.some((s) => s.fullCommand);

  const byPid = new Map<number, Set<string>>(); // pid → names of the trackers counting it
  const st = new Map(specs.map((s) => [s.name, {
    spec: s, count: 0, up: false, timer: undefined as NodeJS.Timeout | undefined,
  }]));
  let closed = false;

  async function read(pid: number, comm?: string): Promise<ProcInfo | null> {
    try {
      let c: string | null = comm ?? null;
      let zombie = false;
      if (needComm && comm === undefined) {
        const s = parseStat(await readFile(`${proc}/${pid}/stat`, 'latin1'));
        if (!s) return null;
        c = s.comm;
        zombie = s.state === 'Z';
      }
      let cmdline: Buffer | null = null;
      if (needCmdline && comm === undefined) {
        const full = await readFile(`${proc}/${pid}/cmdline`);
        cmdline = full.subarray(0, cmdlineMax);
      }
      return { comm: c, zombie, cmdline };
    } catch {
      return null; // gone meanwhile
    }
  }

  const want = (s: { spec: ProcessSpec; count: number }) => s.count >= s.spec.quorum && s.count <= s.spec.quorumMax;

  /** after count changes: report, or wait for fork_delay / terminate_delay */
  function settle(name: string, via: 'fork' | 'exit' | 'other') {
    const s = st.get(name);
    if (!s) return;
    const up = want(s);
    if (up === s.up) { clearTimeout(s.timer); s.timer = undefined; return; }
    const delay = up && via === 'fork' ? s.spec.forkDelayMs : !up && via === 'exit' ? s.spec.terminateDelayMs : 0;
    if (delay > 0) {
      s.timer ??= setTimeout(() => { s.timer = undefined; if (!closed) settle(name, 'other'); }, delay);
      return;
    }
    clearTimeout(s.timer);
    s.timer = undefined;
    s.up = up;
    onChange({ tracker: name, up, count: s.count, initial: false });
  }

  function add(pid: number, name: string, via: 'fork' | 'exit' | 'other') {
    let set = byPid.get(pid);
    if (!set) byPid.set(pid, (set = new Set()));
    if (set.has(name)) return;
    set.add(name);
    st.get(name)!.count++;
    settle(name, via);
  }
  function remove(pid: number, name: string, via: 'fork' | 'exit' | 'other') {
    const set = byPid.get(pid);
    if (!set?.delete(name)) return;
    if (set.size === 0) byPid.delete(pid);
    st.get(name)!.count--;
    settle(name, via);
  }

  /** re-read one pid (exec, comm change) and (un)count it for every tracker */
  async function check(pid: number, comm?: string) {
    const info = await read(pid, comm);
    for (const s of specs) {
      // a comm event says nothing about the command line
      if (comm !== undefined && s.fullCommand) continue;
      if (info && matches(s, info)) add(pid, s.name, 'other');
      else remove(pid, s.name, 'other');
    }
  }

  async function scan(): Promise<Map<number, Set<string>>> {
    const found = new Map<number, Set<string>>();
    let names: string[] = [];
    try { names = await readdir(proc); } catch { /* no /proc: nothing found */ }
    await Promise.all(names.filter((n) => /^[1-9]\d*$/.test(n)).map(async (n) => {
      const pid = Number(n);
      const info = await read(pid);
      if (!info) return;
      const hit = specs.filter((s) => matches(s, info)).map((s) => s.name);
      if (hit.length) found.set(pid, new Set(hit));
    }));
    return found;
  }

  /** bring byPid in line with a full scan: gains as forks, losses as exits (reinitialise) */
  function apply(found: Map<number, Set<string>>) {
    for (const [pid, names] of [...byPid]) for (const n of names) if (!found.get(pid)?.has(n)) remove(pid, n, 'exit');
    for (const [pid, names] of found) for (const n of names) add(pid, n, 'fork');
  }

  // events are applied strictly in order: an exit must not overtake the exec before it
  let queue = Promise.resolve();
  let queued = 0;
  let rescanTimer: NodeJS.Timeout | undefined;
  const rescanSoon = () => {
    if (closed || rescanTimer) return;
    rescanTimer = setTimeout(() => {
      rescanTimer = undefined;
      enqueue(async () => apply(await scan()));
    }, opts.rescanDelayMs ?? 1000);
  };
  function enqueue(job: () => Promise<void> | void) {
    if (queued >= MAX_QUEUE) { rescanSoon(); return; }
    queued++;
    queue = queue.then(async () => { if (!closed) await job(); }).catch(() => {}).finally(() => { queued--; });
    // (a job that throws is a bug; it must not wedge the queue)
  }
  // fork and exit only touch the maps: done at once when nothing is queued before them (the
  // common case, and the cheap one: every fork on the host arrives here)
  const now = (job: () => void) => (queued === 0 ? job() : enqueue(job));
  function onEvent(e: ProcEvent) {
    switch (e.what) {
      case 'fork': // a new process (not a thread): it inherits what its parent was counted as
        if (e.childPid !== e.childTgid) return;
        now(() => { for (const n of byPid.get(e.parentTgid) ?? []) add(e.childTgid, n, 'fork'); });
        return;
      case 'exec':
        if (e.pid === e.tgid) enqueue(() => check(e.tgid));
        return;
      case 'comm':
        if (e.pid === e.tgid) enqueue(() => check(e.tgid, e.comm));
        return;
      case 'exit':
        if (e.pid === e.tgid) now(() => { for (const n of [...(byPid.get(e.tgid) ?? [])]) remove(e.tgid, n, 'exit'); });
        return;
      default:
    }
  }

  // Subscribe first, then scan, so nothing that happens during the scan is missed: events are
  // queued behind a gate (counted as one job) until the scan is in, and are idempotent against it.
  let release = () => {};
  let sock: ConnectorSocket | null = null;
  if ((opts.source ?? 'auto') === 'auto') {
    queue = new Promise<void>((r) => { release = r; });
    queued = 1;
    sock = await openConnector(onEvent, rescanSoon, opts.ackMs ?? 500);
    if (!sock) queued = 0; // no events will come
  }
  for (const [pid, names] of await scan()) {
    byPid.set(pid, names);
    for (const n of names) st.get(n)!.count++;
  }
  for (const [name, s] of st) {
    s.up = want(s);
    onChange({ tracker: name, up: s.up, count: s.count, initial: true });
  }
  if (sock) queued--; // the gate itself
  release();

  let poll: NodeJS.Timeout | undefined;
  if (!sock) {
    // stopgap (see the header): periodic full scans
    const tick = () => enqueue(async () => {
      apply(await scan());
      if (!closed) poll = setTimeout(tick, opts.pollMs ?? 1000);
    });
    poll = setTimeout(tick, opts.pollMs ?? 1000);
  }

  return {
    source: sock ? 'connector' : 'poll',
    status: (name) => { const s = st.get(name); return s && { up: s.up, count: s.count }; },
    close() {
      closed = true;
      clearTimeout(poll);
      clearTimeout(rescanTimer);
      for (const s of st.values()) clearTimeout(s.timer);
      sock?.close();
    },
  };
}
