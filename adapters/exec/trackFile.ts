// track_file: an integer kept in a file, re-read when the file changes (keepalived.md §1.3;
// keepalived/trackers/track_file.c process_track_file, process_inotify, init_track_files). This
// adapter only reports the value; value × weight and the FAULT rules are machines/priority.ts.
//
// As keepalived: the directory is watched, so the file may be created, replaced by rename or
// deleted; a missing or unreadable file is 0; at most 127 bytes are read and parsed like
// strtol(buf, NULL, 0) (leading blanks, sign, 0x hex, 0 octal, junk after the number ignored, no
// digits = 0); a number that overflows, or is outside [INT32_MIN, INT32_MAX + 1], is logged and
// ignored (the previous value stays). `init_file` writes the value when the file is missing (or
// always, with `overwrite`), but not on a reload.
// Difference: keepalived reads on IN_CLOSE_WRITE; fs.watch reports every IN_MODIFY, so the file is
// read once it has been quiet for `settleMs`, which hides a writer's intermediate states in practice.
import { watch, type FSWatcher } from 'node:fs';
import { constants, open, realpath, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

export interface TrackFileOptions {
  readonly path: string;
  readonly init?: { readonly value: number; readonly overwrite: boolean };
  /** a reload never (re)initialises the file */
  readonly reload?: boolean;
  /** default 20 */
  readonly settleMs?: number;
  /** a value that was ignored (overflow, out of range), or a watch error */
  readonly onWarning?: (message: string) => void;
}

export interface TrackFileWatch {
  /** the current value */
  readonly value: number;
  /** the resolved path actually watched */
  readonly path: string;
  close(): void;
}

export type TrackFileStart = { ok: true; watch: TrackFileWatch } | { ok: false; error: string };

const READ_MAX = 127; // keepalived: char buf[128], one byte for the NUL
const INT32_MIN = -(2n ** 31n);
const INT32_MAX_PLUS_1 = 2n ** 31n;
const LONG_MIN = -(2n ** 63n);
const LONG_MAX = 2n ** 63n - 1n;

/** strtol(buf, NULL, 0) as keepalived uses it: the value, or null for a number it ignores. */
export function parseTrackFileValue(bytes: Uint8Array): number | null {
  let end = bytes.indexOf(0);
  if (end < 0 || end > READ_MAX) end = Math.min(bytes.length, READ_MAX);
  const s = Buffer.from(bytes.subarray(0, end)).toString('latin1');
  let i = 0;
  while (i < s.length && ' \t\n\v\f\r'.includes(s[i] as string)) i++;
  let negative = false;
  if (s[i] === '+' || s[i] === '-') { negative = s[i] === '-'; i++; }
  let base = 10n;
  if (s[i] === '0') {
    if ((s[i + 1] === 'x' || s[i + 1] === 'X') && /[0-9a-fA-F]/.test(s[i + 2] ?? '')) { base = 16n; i += 2; }
    else base = 8n;
  }
  let n = 0n;
  for (; i < s.length; i++) {
    const d = parseInt(s[i] as string, 36);
    if (Number.isNaN(d) || BigInt(d) >= base) break;
    n = n * base + BigInt(d);
    if (n > LONG_MAX + 1n) return null; // ERANGE
  }
  if (negative) n = -n;
  if (n < LONG_MIN || n > LONG_MAX) return null; // ERANGE
  if (n < INT32_MIN || n > INT32_MAX_PLUS_1) return null;
  return Number(n);
}

/** The file's value: 0 when it is missing, unreadable or empty; null when keepalived would ignore it. */
export async function readTrackFile(path: string): Promise<number | null> {
  let fh;
  try {
    // O_NONBLOCK: a FIFO in its place must not hang us (keepalived opens it the same way)
    fh = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
    const buf = Buffer.alloc(READ_MAX);
    const { bytesRead } = await fh.read(buf, 0, READ_MAX, 0);
    return bytesRead > 0 ? parseTrackFileValue(buf.subarray(0, bytesRead)) : 0;
  } catch {
    return 0;
  } finally {
    await fh?.close().catch(() => {});
  }
}

/** Resolve, initialise, read and watch. `onChange` is called only when the value changes. */
export async function watchTrackFile(
  opts: TrackFileOptions,
  onChange: (change: { value: number; previous: number }) => void,
): Promise<TrackFileStart> {
  const warn = opts.onWarning ?? (() => {});
  // init_track_files: resolve the file, or at least its directory
  let path: string;
  let exists = true;
  try {
    path = await realpath(opts.path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') return { ok: false, error: `track file ${opts.path} is not accessible` };
    exists = false;
    try {
      const dir = await realpath(dirname(opts.path));
      if (!(await stat(dir)).isDirectory()) throw new Error('not a directory');
      path = join(dir, basename(opts.path));
    } catch {
      return { ok: false, error: `track file directory for ${opts.path} does not exist` };
    }
  }

  // track_file_end_handler: init_file
  if (opts.init && !opts.reload && (!exists || opts.init.overwrite)) {
    if (exists && !(await stat(path)).isFile()) return { ok: false, error: `cannot initialise track file ${path} - it is not a regular file` };
    try {
      await writeFile(path, `${opts.init.value}\n`);
      exists = true;
    } catch (err) {
      return { ok: false, error: `unable to initialise track file ${path}: ${(err as Error).message}` };
    }
  }

  let value = exists ? ((await readTrackFile(path)) ?? 0) : 0;
  const settleMs = opts.settleMs ?? 20;
  const name = basename(path);
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  let reads = Promise.resolve();

  const check = () => {
    reads = reads.then(async () => {
      const v = await readTrackFile(path);
      if (closed) return;
      if (v === null) { warn(`invalid number read from ${path} - ignoring`); return; }
      if (v === value) return;
      const previous = value;
      value = v;
      onChange({ value, previous });
    });
  };

  let watcher: FSWatcher;
  try {
    watcher = watch(dirname(path), { persistent: false }, (_event, file) => {
      // a null name (rare overflow) may be ours: read anyway
      if (file !== null && file !== name) return;
      clearTimeout(timer);
      timer = setTimeout(check, settleMs);
    });
  } catch (err) {
    return { ok: false, error: `unable to monitor track file ${path}: ${(err as Error).message}` };
  }
  watcher.on('error', (err) => warn(`watching ${path}: ${err.message}`));

  return {
    ok: true,
    watch: {
      get value() { return value; },
      path,
      close() { closed = true; clearTimeout(timer); watcher.close(); },
    },
  };
}
