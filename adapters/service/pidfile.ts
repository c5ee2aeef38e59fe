// The pidfile (`--pidfile FILE`, /run/vigil.pid for --daemon): our pid, for init scripts and
// `kill -HUP $(cat /run/vigil.pid)` as with keepalived, and a guard against a second vigil on the
// same host. The file appears whole (written to a temporary file, then hard-linked into place,
// which fails if the name exists), so a reader never sees it empty.
//
// An existing file is judged by its pid: a live process whose command line is vigil's refuses the
// start; a dead pid, or one the kernel has since given to another program, is stale and replaced
// with a warning. Any vigil counts, not only `vigil run`: replacing a live daemon's pidfile is
// worse than asking the operator to look at a `vigil events --follow` that inherited a reused pid.
// Two vigils racing over the same stale file within microseconds could both pass; the journal
// lock and the control socket still refuse the second.
import { readFileSync, unlinkSync } from 'node:fs';
import { link, mkdir, readFile, unlink, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { PidfileInUse, ServiceError } from './errors.js';

/** Where `vigil run --daemon` writes its pid unless --pidfile says otherwise (keepalived: /run/keepalived.pid). */
export const DEFAULT_PIDFILE = '/run/vigil.pid';

export interface PidfileLog {
  warn(obj: object, msg: string): void;
}

export interface Pidfile {
  readonly path: string;
  /**
   * Removes the file if it still holds our pid (another vigil may have replaced it after judging
   * ours stale). Synchronous, so an exit path can call it; idempotent; never throws.
   */
  release(): void;
}

/** What the pid in a pidfile is now. */
export type Holder =
  | { kind: 'dead' }
  | { kind: 'vigil'; argv: string[] }
  | { kind: 'other'; argv: string[] }
  /** alive, but its command line cannot be read (hidepid=, another user): assumed to be vigil */
  | { kind: 'unknown'; reason: string };

const base = (s: string) => s.slice(s.lastIndexOf('/') + 1);

/**
 * Whether a command line is vigil's: the `vigil` launcher itself, or Node running it
 * (`node /usr/local/bin/vigil run`, `node bin/vigil.js run`, `node --import tsx bin/vigil.js`).
 */
export function isVigilArgv(argv: readonly string[]): boolean {
  const [exe, ...rest] = argv;
  if (exe === undefined) return false;
  if (base(exe) === 'vigil') return true;
  // node, nodejs (Debian's old name), node20...
  return base(exe).startsWith('node') && rest.some((a) => base(a) === 'vigil' || base(a) === 'vigil.js');
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Looks at the process `pid` through /proc. */
export async function inspectPid(pid: number, proc = '/proc'): Promise<Holder> {
  if (!alive(pid)) return { kind: 'dead' };
  let raw: string;
  try {
    raw = await readFile(`${proc}/${pid}/cmdline`, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ESRCH') return { kind: 'dead' }; // exited since kill(0)
    return { kind: 'unknown', reason: `its command line is unreadable: ${code ?? (err as Error).message}` };
  }
  // a zombie or a kernel thread has an empty command line: neither is a running vigil
  const argv = raw.split('\0').filter((a, i, all) => a !== '' || i < all.length - 1);
  return isVigilArgv(argv) ? { kind: 'vigil', argv } : { kind: 'other', argv };
}

const parsePid = (text: string): number | undefined => {
  const m = /^\s*(\d+)\s*$/.exec(text);
  const n = m ? Number(m[1]) : NaN;
  return Number.isSafeInteger(n) && n > 0 ? n : undefined;
};

const ioError = (path: string, what: string, err: unknown) =>
  new ServiceError('PIDFILE_IO', `${path}: cannot ${what}: ${(err as Error).message}`, { cause: err });

/**
 * Writes our pid to `path`, refusing with PidfileInUse when a running vigil holds it. Other
 * failures (a read-only directory, EACCES) are a ServiceError with code PIDFILE_IO.
 */
export async function claimPidfile(
  path: string,
  opts: { log?: PidfileLog; pid?: number; inspect?: (pid: number) => Promise<Holder> } = {},
): Promise<Pidfile> {
  const pid = opts.pid ?? process.pid;
  const inspect = opts.inspect ?? ((p: number) => inspectPid(p));
  const content = `${pid}\n`;
  const tmp = `${path}.${pid}.tmp`;
  try {
    await mkdir(dirname(path), { recursive: true, mode: 0o755 });
    // created exclusively (O_EXCL does not follow a symlink planted in a shared directory); one left
    // by a crashed process with our pid is removed first
    await unlink(tmp).catch(() => undefined);
    await writeFile(tmp, content, { mode: 0o644, flag: 'wx' });
  } catch (err) {
    throw ioError(path, 'be written', err);
  }
  try {
    // three rounds: a stale file removed, then one more in case another starter got in between
    for (let round = 0; round < 3; round++) {
      try {
        await link(tmp, path);
        return pidfileHandle(path, content);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw ioError(path, 'be written', err);
      }
      let text: string;
      try {
        text = await readFile(path, 'utf8');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue; // removed meanwhile
        throw ioError(path, 'be read', err);
      }
      const holder = parsePid(text);
      let why: string;
      if (holder === undefined) why = `it holds no pid (${JSON.stringify(text.slice(0, 40))})`;
      else if (holder === pid) why = `it holds our own pid ${pid}, left by an earlier process`;
      else {
        const h = await inspect(holder);
        if (h.kind === 'vigil') throw new PidfileInUse(path, holder, `command line: ${h.argv.join(' ')}`);
        if (h.kind === 'unknown') throw new PidfileInUse(path, holder, `alive, and ${h.reason}`);
        why = h.kind === 'dead' ? `pid ${holder} is not running` : `pid ${holder} is now another program: ${h.argv.join(' ') || '(no command line)'}`;
      }
      opts.log?.warn({ pidfile: path, stalePid: holder }, `replacing the stale pidfile ${path}: ${why}`);
      // remove only what was judged: a vigil that claimed the name meanwhile keeps its file
      const again = await readFile(path, 'utf8').catch(() => undefined);
      if (again === text) {
        try {
          await unlink(path);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw ioError(path, 'be replaced', err);
        }
      }
    }
    throw new ServiceError('PIDFILE_IO', `${path}: cannot be claimed: it reappears each time it is removed`);
  } finally {
    await unlink(tmp).catch(() => undefined);
  }
}

function pidfileHandle(path: string, content: string): Pidfile {
  let released = false;
  return {
    path,
    release() {
      if (released) return;
      released = true;
      try {
        if (readFileSync(path, 'utf8') === content) unlinkSync(path);
      } catch {
        /* gone already, or unreadable: either way not ours to remove */
      }
    },
  };
}
