// `vigil run --daemon`, for hosts without systemd: the command re-executes itself as a detached
// child (a new session: no controlling terminal, no SIGHUP when the operator logs out), waits until
// that child says it is ready, then exits 0, leaving the daemon running. If the child dies first,
// the command exits with the child's code (3 when it has none), after relaying what the child
// wrote to stderr meanwhile: the operator who ran `vigil run --daemon` sees why it did not start.
//
// The child's stdin is /dev/null and its stdout (pino's JSON lines) /dev/null or `logFile`; its
// stderr is a pipe to the parent until it is ready, then points where stdout does ("2>&1", through
// the native addon's dup2; without the addon later stderr writes are dropped). The child keeps the
// working directory, since relative paths in its arguments (-f, --journal) mean the same to it.
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { loadPacketAddon } from '../ip/packet.js';

/** Set in the child's environment: "you are the detached daemon, report readiness over IPC". */
export const DAEMON_ENV = 'VIGIL_DAEMON_CHILD';

/** How long the parent waits for readiness before it stops the child and gives up. */
export const DEFAULT_READY_TIMEOUT_MS = 60_000;
const KILL_AFTER_MS = 10_000;
const READY = 'vigil.daemon.ready';

/** The parent's own arguments for the child: the same, without --daemon (before any `--`). */
export function withoutDaemonFlag(args: readonly string[]): string[] {
  const end = args.indexOf('--');
  return args.filter((a, i) => a !== '--daemon' || (end >= 0 && i > end));
}

export interface DetachOptions {
  /** the child's arguments after the script, e.g. withoutDaemonFlag(process.argv.slice(2)) */
  readonly args: readonly string[];
  /** default process.argv[1] */
  readonly script?: string;
  /** default process.execPath and process.execArgv */
  readonly execPath?: string;
  readonly execArgv?: readonly string[];
  /** default process.env */
  readonly env?: NodeJS.ProcessEnv;
  /** the daemon's stdout, and its stderr once ready; opened for append (default /dev/null) */
  readonly logFile?: string;
  /** where the child's stderr is relayed until it is ready (default process.stderr) */
  readonly stderr?: NodeJS.WritableStream;
  readonly readyTimeoutMs?: number;
  /** the daemon is ready (called before detach resolves), e.g. to hand systemd its MAINPID */
  readonly onReady?: (pid: number) => void;
}

/** Starts the daemon and resolves to the exit code for this (the parent) process. */
export function detach(opts: DetachOptions): Promise<number> {
  const out = opts.stderr ?? process.stderr;
  const say = (msg: string) => out.write(`vigil run: ${msg}\n`);
  const script = opts.script ?? process.argv[1];
  if (!script) {
    say('cannot detach: the path of the vigil script is unknown');
    return Promise.resolve(3);
  }
  let logFd: number | undefined;
  if (opts.logFile !== undefined) {
    try {
      logFd = openSync(opts.logFile, 'a', 0o640);
    } catch (err) {
      say(`cannot open the log file: ${(err as Error).message}`);
      return Promise.resolve(3);
    }
  }
  return new Promise<number>((resolve) => {
    const child = spawn(opts.execPath ?? process.execPath, [...(opts.execArgv ?? process.execArgv), script, ...opts.args], {
      detached: true, // setsid(): a session of its own
      stdio: ['ignore', logFd ?? 'ignore', 'pipe', 'ipc'],
      env: { ...(opts.env ?? process.env), [DAEMON_ENV]: '1' },
    });
    if (logFd !== undefined) closeSync(logFd); // the child has its copy
    child.stderr!.on('data', (chunk: Buffer) => out.write(chunk));
    child.stderr!.on('error', () => undefined);

    let settled = false;
    let killTimer: NodeJS.Timeout | undefined;
    const readyTimer = setTimeout(() => {
      say(`the daemon (pid ${child.pid}) is not ready after ${(opts.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS) / 1000} s; stopping it`);
      child.kill('SIGTERM');
      killTimer = setTimeout(() => child.kill('SIGKILL'), KILL_AFTER_MS);
    }, opts.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS);
    // Ctrl-C while waiting aborts the start: the child, in its own session, would not see it
    const forward = () => child.kill('SIGTERM');
    process.on('SIGINT', forward);
    process.on('SIGTERM', forward);

    const finish = (code: number) => {
      if (settled) return;
      settled = true;
      clearTimeout(readyTimer);
      clearTimeout(killTimer);
      process.off('SIGINT', forward);
      process.off('SIGTERM', forward);
      resolve(code);
    };
    child.on('error', (err) => {
      say(`cannot start the daemon: ${err.message}`);
      finish(3);
    });
    child.on('exit', (code, signal) => {
      if (settled) return;
      // what the child wrote before exiting is in the pipe already: one turn of the loop relays it
      // (waiting for the pipe to close could take seconds: a spawn server of the child holds it too)
      setImmediate(() => {
        if (settled) return;
        child.stderr!.destroy();
        if (code === null || code === 0) say(`the daemon (pid ${child.pid}) ${signal ? `was killed by ${signal}` : 'exited'} before it was ready`);
        finish(code || 3);
      });
    });
    child.on('message', (msg: unknown) => {
      if (settled || (msg as { type?: unknown } | null)?.type !== READY) return;
      // likewise the child wrote its stderr before this message: relay it, then let go of the child
      setImmediate(() => {
        if (settled) return;
        child.stderr!.destroy();
        if (child.connected) child.disconnect();
        child.unref();
        try {
          opts.onReady?.(child.pid!);
        } finally {
          finish(0);
        }
      });
    });
  });
}

export interface DaemonChild {
  /** tells the parent the daemon is ready; from then on stderr goes where stdout goes */
  ready(): void;
}

/**
 * In the detached child (DAEMON_ENV set by detach): the handle to report readiness; undefined in
 * any other process. Removes DAEMON_ENV, so the scripts vigil spawns do not inherit it.
 */
export function daemonChild(env: NodeJS.ProcessEnv = process.env): DaemonChild | undefined {
  if (env[DAEMON_ENV] !== '1') return undefined;
  delete env[DAEMON_ENV];
  // the parent reads stderr only until we are ready (or until it is interrupted): a later write
  // must not kill the daemon with EPIPE
  process.stderr.on('error', () => undefined);
  let done = false;
  return {
    ready() {
      if (done) return;
      done = true;
      const addon = loadPacketAddon();
      try {
        if (addon.ok) addon.addon.dup2?.(1, 2);
      } catch {
        /* stderr stays the parent's pipe; writes after it is gone are dropped */
      }
      if (!process.send) return;
      process.send({ type: READY, pid: process.pid }, undefined, {}, () => {
        if (process.connected) process.disconnect();
      });
    },
  };
}
