// A ScriptRunner whose forks happen in a helper process (spawn-server.ts), not in the daemon:
// the daemon only writes a JSON line per start and parses one per result, so 100 spawns/s no
// longer stall its event loop (and the VRRP timers on it). The scripts' semantics are those of
// createScriptRunner() in script.ts, which the server runs; see there.
//
// The server starts on the first start(). If it dies, every run it had is answered at once as a
// failure (exitCode null, error 'spawner died'): never a hang, never a throw, and the tracker
// counts it as a failed check, as keepalived does for a script it could not run. The next start()
// restarts it, after a back-off while it keeps dying (0, 100, 200 … 5000 ms; reset once a server
// lived 10 s); requests made during the back-off wait and go to the new server. Scripts a killed
// server left running are not killed (their group ids died with it); a server that merely loses
// the daemon (stdin closes) terminates them itself.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { superviseRun, type ScriptResult, type ScriptRun, type ScriptRunner, type ScriptRunnerOptions, type ScriptSpec } from './script.js';
import type { SpawnReply, SpawnRequest, SpawnServerOptions } from './spawn-server.js';

export interface SpawnerOptions extends ScriptRunnerOptions {
  /** the server program (default: spawn-server.js next to this file, or .ts under tsx) */
  readonly serverPath?: string;
  /** longest wait before restarting a server that keeps dying (default 5000) */
  readonly maxBackoffMs?: number;
}

export interface SpawnerRunner extends ScriptRunner {
  /** the server's pid while one runs */
  readonly serverPid: number | undefined;
  /** the process groups of the scripts the server reported started: what we kill if it dies */
  groups(): number[];
  /** close the server's stdin: it terminates what still runs and exits (pending runs fail) */
  close(): void;
}

const LIVED_LONG_MS = 10_000;

/** argv for the server: the compiled .js beside us, else the .ts source through tsx. */
function serverCommand(path?: string): string[] {
  const js = fileURLToPath(new URL('./spawn-server.js', import.meta.url));
  const file = path ?? (existsSync(js) ? js : fileURLToPath(new URL('./spawn-server.ts', import.meta.url)));
  return file.endsWith('.ts') ? ['--import', import.meta.resolve('tsx'), file] : [file];
}

export function createSpawnerRunner(opts: SpawnerOptions = {}): SpawnerRunner {
  const { serverPath, maxBackoffMs = 5000, users, ...runnerOpts } = opts;
  const serverOpts: SpawnServerOptions = { ...runnerOpts, ...(users ? { userDb: users.paths } : {}) };
  const argv = [...serverCommand(serverPath), JSON.stringify(serverOpts)];

  /** `via`: the server that has the request (none while it waits out a back-off) */
  interface Pending { readonly resolve: (r: ScriptResult) => void; readonly t0: number; via: ChildProcess | undefined; pgid?: number }
  const pending = new Map<number, Pending>();
  let nextId = 1;
  let server: ChildProcess | undefined;
  let startedAt = 0;
  let backoffMs = 0;
  let restartAt = 0;
  let restartTimer: NodeJS.Timeout | undefined;
  let queue: string[] = []; // lines written while no server runs (back-off)

  // The server must not keep the daemon alive by itself: it is referenced only while runs are
  // pending, as a spawned script would be.
  const updateRef = () => {
    const s = server as (ChildProcess & { stdout: { ref?(): void; unref?(): void } }) | undefined;
    if (!s) return;
    if (pending.size) { s.ref(); s.stdout?.ref?.(); } else { s.unref(); s.stdout?.unref?.(); }
  };

  function launch(): void {
    restartTimer = undefined;
    const child = spawn(process.execPath, argv, { stdio: ['pipe', 'pipe', 'inherit'] });
    server = child;
    startedAt = performance.now();
    let buf = '';
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (chunk: string) => {
      buf += chunk;
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        onReply(buf.slice(0, nl));
        buf = buf.slice(nl + 1);
      }
    });
    child.stdin!.on('error', () => {}); // EPIPE: 'exit' reports the death
    let dead = false;
    const died = () => {
      if (dead) return;
      dead = true;
      if (server === child) server = undefined;
      // consecutive quick deaths back off; a server that ran a while restarts at once
      backoffMs = performance.now() - startedAt > LIVED_LONG_MS ? 0 : Math.min(maxBackoffMs, Math.max(100, backoffMs * 2));
      restartAt = performance.now() + backoffMs;
      failPending(child);
      updateRef();
    };
    child.on('exit', died);
    child.on('error', died); // could not be spawned at all
    for (const p of pending.values()) p.via ??= child;
    for (const line of queue) child.stdin!.write(line);
    queue = [];
    updateRef();
  }

  /** answer, as failed, every run the dead server `via` had (undefined: the ones never sent) */
  function failPending(via: ChildProcess | undefined): void {
    for (const [id, p] of pending) {
      if (p.via !== via) continue;
      pending.delete(id);
      // its server is gone, so nobody else will: kill the script's whole process group
      if (p.pgid) {
        try { process.kill(-p.pgid, 'SIGKILL'); } catch { /* already gone */ }
      }
      p.resolve(spawnerDied(p.t0));
    }
  }

  function onReply(line: string): void {
    let reply: SpawnReply & { pid?: number };
    try { reply = JSON.parse(line) as SpawnReply & { pid?: number }; } catch { return; }
    const p = typeof reply?.id === 'number' ? pending.get(reply.id) : undefined;
    if (p && typeof reply.pid === 'number' && reply.pid > 0 && reply.result === undefined) {
      p.pgid = reply.pid; // the script's process group, killed by us if the server dies first
      return;
    }
    if (!p || typeof reply.result !== 'object' || reply.result === null) return;
    pending.delete(reply.id);
    p.resolve(reply.result);
    updateRef();
  }

  function send(req: SpawnRequest): void {
    const line = `${JSON.stringify(req)}\n`;
    if (server) { server.stdin!.write(line); return; }
    queue.push(line);
    const wait = restartAt - performance.now();
    if (wait <= 0) launch();
    else restartTimer ??= setTimeout(launch, wait);
  }

  function start(spec: ScriptSpec): ScriptRun {
    const id = nextId++;
    const t0 = performance.now();
    let settled = false;
    const result = new Promise<ScriptResult>((resolve) => {
      pending.set(id, { t0, via: server, resolve: (r) => { settled = true; resolve(r); } });
    });
    send({ id, op: 'start', spec });
    updateRef();
    return {
      result,
      terminate: () => { if (!settled && pending.has(id)) send({ id, op: 'terminate' }); },
    };
  }

  return {
    start,
    run: (spec, signal) => superviseRun(start(spec), spec, signal),
    killAll: () => { if (pending.size) send({ op: 'killAll' }); },
    get serverPid() { return server?.pid; },
    groups: () => [...pending.values()].flatMap((p) => (p.pgid ? [p.pgid] : [])),
    close: () => {
      if (restartTimer) clearTimeout(restartTimer);
      restartTimer = undefined;
      queue = [];
      // the server answers what it has, then exits; a later start() launches a new one
      server?.stdin?.end();
      server = undefined;
      restartAt = 0;
      failPending(undefined);
    },
  };
}

function spawnerDied(t0: number): ScriptResult {
  return {
    exitCode: null, signal: null, timedOut: false, stdout: '', stderr: '', truncated: false,
    durationMs: performance.now() - t0, pid: null, error: 'spawner died',
  };
}
