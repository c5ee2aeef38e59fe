// The spawn server: a long-lived child of the daemon that runs track scripts for it, so the
// daemon's event loop never pays for fork(). Forking copies the page tables of the forking
// process; from the ~100 MB daemon that blocks its loop for milliseconds per script, and at
// 100 spawns/s VRRP timers fire hundreds of ms late (bench/failover-load1000.md). keepalived
// forks its scripts from its own small C process; this server plays that part, and forks from a
// process whose heap holds nothing but the runs in flight.
//
// It is createScriptRunner() (script.ts) driven over JSON lines, so the semantics (process
// groups, SIGTERM → SIGKILL, output caps, uid/gid, ENOENT → 127, env scrubbing) are the same code:
//   stdin:  {"id":1,"op":"start","spec":{...}}  {"id":1,"op":"terminate"}  {"op":"killAll"}
//   stdout: {"id":1,"pid":1234}                the leader's pid (its process group), once spawned
//           {"id":1,"result":{...}}            one line per start, when the leader is reaped
// Options come as JSON in argv[2]. A line that is not a request is dropped (and counted).
//
// When the daemon goes away (its end of stdin closes, whether it exited or was SIGKILLed) the
// server terminates every script and exits once they are reaped, at most grace + 1 s later:
// keepalived's scripts get SIGTERM from PR_SET_PDEATHSIG in the same situation.
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import { createScriptRunner, type ScriptResult, type ScriptRun, type ScriptSpec } from './script.js';
import { UserResolver } from './users.js';

export type SpawnRequest =
  | { readonly id: number; readonly op: 'start'; readonly spec: ScriptSpec }
  | { readonly id: number; readonly op: 'terminate' }
  | { readonly op: 'killAll' };

export interface SpawnReply { readonly id: number; readonly result: ScriptResult }

/** What crosses argv: ScriptRunnerOptions without the resolver object (its file paths instead). */
export interface SpawnServerOptions {
  readonly outputCap?: number;
  readonly killGraceMs?: number;
  readonly reKillMs?: number;
  readonly closeGraceMs?: number;
  readonly shell?: string;
  readonly userDb?: { readonly passwd: string; readonly group: string };
}

/** Bad input is a value: undefined for anything that is not a well-formed request. */
export function parseRequest(line: string): SpawnRequest | undefined {
  let m: unknown;
  try { m = JSON.parse(line); } catch { return undefined; }
  if (typeof m !== 'object' || m === null) return undefined;
  const r = m as Record<string, unknown>;
  if (r.op === 'killAll') return { op: 'killAll' };
  if (typeof r.id !== 'number' || !Number.isSafeInteger(r.id)) return undefined;
  if (r.op === 'terminate') return { id: r.id, op: 'terminate' };
  if (r.op !== 'start' || typeof r.spec !== 'object' || r.spec === null) return undefined;
  const spec = r.spec as Record<string, unknown>;
  if (!Array.isArray(spec.argv) || !spec.argv.every((a) => typeof a === 'string')) return undefined;
  return { id: r.id, op: 'start', spec: spec as unknown as ScriptSpec };
}

function main(): void {
  let opts: SpawnServerOptions = {};
  try { opts = JSON.parse(process.argv[2] ?? '{}') as SpawnServerOptions; } catch { /* defaults */ }
  const { userDb, ...rest } = opts;
  const runner = createScriptRunner({ ...rest, ...(userDb ? { users: new UserResolver(userDb) } : {}) });
  const runs = new Map<number, ScriptRun>();
  let dropped = 0;

  // a Ctrl-C on the daemon's terminal reaches its whole foreground group: the daemon decides,
  // and closes our stdin when it is done
  process.on('SIGINT', () => {});
  process.on('SIGHUP', () => {});
  process.stdout.on('error', () => {}); // EPIPE: the daemon is gone, stdin's end follows

  const input = createInterface({ input: process.stdin, crlfDelay: Infinity });
  input.on('line', (line) => {
    const req = parseRequest(line);
    if (!req) { dropped++; return; }
    if (req.op === 'killAll') { runner.killAll(); return; }
    if (req.op === 'terminate') { runs.get(req.id)?.terminate(); return; }
    if (runs.has(req.id)) { dropped++; return; }
    const run = runner.start(req.spec);
    runs.set(req.id, run);
    // tell the parent the process group, so it can kill the script even if this server dies
    void run.spawned?.then((pid) => {
      if (pid && runs.has(req.id)) process.stdout.write(`${JSON.stringify({ id: req.id, pid })}\n`);
    });
    void run.result.then((result) => {
      runs.delete(req.id);
      process.stdout.write(`${JSON.stringify({ id: req.id, result } satisfies SpawnReply)}\n`);
    });
  });
  input.on('close', () => {
    runner.killAll();
    const grace = (opts.killGraceMs ?? 2000) + 1000;
    const deadline = setTimeout(() => process.exit(0), grace);
    void Promise.allSettled([...runs.values()].map((r) => r.result)).then(() => {
      clearTimeout(deadline);
      if (dropped) process.stderr.write(`vigil spawn server: ${dropped} malformed requests dropped\n`);
      process.exit(0);
    });
  });
}

// run only as a program, so tests can import parseRequest
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) main();
