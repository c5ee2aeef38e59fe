// What the namespace benchmarks share: finding tools, a plain environment for Node children,
// waiting on events, and the environment lines of a report's header.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** An executable on PATH or in the sbin directories, or undefined. */
export function which(cmd: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(path.delimiter), '/usr/local/sbin', '/usr/sbin', '/sbin'];
  for (const dir of dirs) {
    if (!dir) continue;
    const p = path.join(dir, cmd);
    try { fs.accessSync(p, fs.constants.X_OK); if (fs.statSync(p).isFile()) return p; } catch { /* next */ }
  }
  return undefined;
}

/** Node children get a plain environment: no NODE_OPTIONS (a --import there would slow vigil's start). */
export const nodeEnv: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'NODE_OPTIONS'));

/** Waiting on events: every log line, capture line, address event and exit wakes the waiters, which re-check. */
export class Notifier {
  private readonly waiters = new Set<() => void>();

  notify(): void {
    for (const w of [...this.waiters]) w();
  }

  /** Resolves once `pred()` holds; rejects after `ms` with `what`. */
  until(pred: () => boolean, ms: number, what: string): Promise<void> {
    if (pred()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = (): void => {
        if (!pred()) return;
        this.waiters.delete(check);
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Error(`${what} (not within ${Math.round(ms)} ms)`));
      }, ms);
      this.waiters.add(check);
    });
  }
}

export function cpuModel(): string {
  try {
    const info = fs.readFileSync('/proc/cpuinfo', 'utf8');
    for (const key of ['model name', 'Hardware', 'cpu model', 'Processor']) {
      const m = new RegExp(`^${key}\\s*:\\s*(.+)$`, 'mi').exec(info);
      if (m?.[1]) return m[1].trim();
    }
  } catch { /* not Linux */ }
  return os.cpus()[0]?.model ?? 'unknown';
}

/** The first line of a command's output (stdout, then stderr) matching `re`: a tool's version. */
export function firstLine(cmd: string, args: string[], re: RegExp): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  return `${r.stdout ?? ''}\n${r.stderr ?? ''}`.split('\n').find((l) => re.test(l))?.trim() ?? 'unknown';
}

/** The repository's commit, marked when the tree has uncommitted changes. */
export function gitCommit(repo: string): string {
  const r = spawnSync('git', ['-C', repo, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' });
  if (r.status !== 0) return 'unknown';
  const dirty = spawnSync('git', ['-C', repo, 'status', '--porcelain', '--untracked-files=no'], { encoding: 'utf8' });
  return r.stdout.trim() + (dirty.status === 0 && dirty.stdout.trim() ? ' (with uncommitted changes)' : '');
}
