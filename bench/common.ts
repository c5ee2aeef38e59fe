// What the namespace benchmarks share: finding tools, a plain environment for Node children,
// waiting on events, the environment lines of a report's header, and the JSON of the benchmarks
// that have no baseline (recordFigures).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

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
/**
 * How infra/vigil.service runs the daemon: node's flags (its NODE_OPTIONS) and environment
 * (MALLOC_ARENA_MAX). Benchmarks that report the daemon's memory run it so, as it is deployed.
 */
export const UNIT_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=1', '--optimize-for-size'];
export const UNIT_ENV: Readonly<Record<string, string>> = { MALLOC_ARENA_MAX: '2' };

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

// ---------------------------------------------------------------------------------------------
// figures without a baseline (notifier, dashboard, NATS, journal) → bench/<name>.json, for bench/report.ts

const BENCH_DIR = path.dirname(fileURLToPath(import.meta.url));

/** The environment lines every benchmark's JSON carries (bench/report.ts prints them in its header). */
export function benchEnv(): { date: string; kernel: string; cpu: string; cpus: number; node: string; vigilCommit: string; loadavg: number[] } {
  return {
    date: new Date().toISOString(), kernel: os.release(), cpu: cpuModel(), cpus: os.availableParallelism(),
    node: process.version, vigilCommit: gitCommit(path.resolve(BENCH_DIR, '..')), loadavg: os.loadavg(),
  };
}

export interface FigureInput {
  /** the key: a figure of the same name from an earlier run is replaced */
  name: string;
  unit: string;
  /** latencies and the like: n, p50, p99 and max are taken from them */
  samples?: readonly number[];
  /** a single figure (a count, a first-render time) */
  value?: number;
  note?: string;
}

/** The files keep at most this many samples: evenly spaced quantiles, enough for a histogram. */
const MAX_SAMPLES = 1000;

function quantileOf(sorted: readonly number[], q: number): number {
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  return sorted[lo]! + (sorted[Math.ceil(pos)]! - sorted[lo]!) * (pos - lo);
}

/**
 * Writes `figures` into bench/<bench>.json, keeping the figures of other names already there (the
 * notifier's two modes run separately). Each figure carries its own run's date and commit.
 */
export function recordFigures(bench: string, figures: readonly FigureInput[], dir = BENCH_DIR): void {
  const file = path.join(dir, `${bench}.json`);
  const env = benchEnv();
  const round = (x: number): number => Math.round(x * 1000) / 1000;
  const fresh = figures.map((f) => {
    const s = (f.samples ?? []).filter(Number.isFinite).sort((a, b) => a - b);
    const kept = s.length <= MAX_SAMPLES ? s : Array.from({ length: MAX_SAMPLES }, (_, i) => quantileOf(s, i / (MAX_SAMPLES - 1)));
    return {
      name: f.name, unit: f.unit, ...(f.note ? { note: f.note } : {}),
      ...(s.length ? { n: s.length, p50: round(quantileOf(s, 0.5)), p99: round(quantileOf(s, 0.99)), max: round(s[s.length - 1]!), samples: kept.map(round) } : {}),
      ...(f.value !== undefined ? { value: round(f.value) } : {}),
      run: { date: env.date, commit: env.vigilCommit },
    };
  });
  let old: { name?: unknown }[] = [];
  try {
    const prev = JSON.parse(fs.readFileSync(file, 'utf8')) as { figures?: unknown };
    if (Array.isArray(prev.figures)) old = prev.figures as { name?: unknown }[];
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') process.stderr.write(`${bench}: ${file} unreadable (${(err as Error).message}); writing it afresh\n`);
  }
  const names = new Set(fresh.map((f) => f.name));
  const all = [...old.filter((f) => !names.has(f.name as string)), ...fresh];
  fs.writeFileSync(file, JSON.stringify({ env, figures: all }, null, 2) + '\n');
  process.stderr.write(`${bench}: wrote ${path.relative(process.cwd(), file)} (bench/report.ts reads it)\n`);
}
