// A notify FIFO the way keepalived keeps one (keepalived/core/notify.c open_fifo, notify_fifo
// writes in vrrp/vrrp_notify.c and check/ipwrapper.c):
// - created (mode 0644, chowned to the configured user/group) when the path does not exist, and
//   removed again at close (before the descriptor is closed, so a reader that loops reopening it
//   cannot reopen it); an existing path that is not a FIFO owned by us or by that user is refused;
// - opened O_RDWR | O_NONBLOCK | O_NOFOLLOW: with a read end of our own the open never waits for a
//   reader and a reader leaving never raises EPIPE/SIGPIPE;
// - each line is one write(2) on the non-blocking descriptor. Lines are far below PIPE_BUF, so the
//   kernel writes a line whole or not at all: a full pipe (the reader stopped reading) is EAGAIN,
//   and the line is dropped and counted. The write is synchronous on purpose: it cannot block
//   (O_NONBLOCK), costs one short syscall, and keeps the lines in the order the events came,
//   which asynchronous writes through the thread pool would not guarantee.
// Difference: keepalived writes the LVS lines with their terminating NUL byte (size = strlen + 1
// in notify_fifo_vs/notify_fifo_rs); vigil writes every line as text ending in `\n` only.
import { execFile } from 'node:child_process';
import { closeSync, constants, fstatSync, openSync, writeSync } from 'node:fs';
import { chown, lstat, unlink } from 'node:fs/promises';
import { promisify } from 'node:util';
import { UserResolver } from '../exec/users.js';
import type { FifoOpenOptions, FifoStats, FifoWriter } from './types.js';

const run = promisify(execFile);

export async function openFifo(path: string, opts: FifoOpenOptions & { users?: UserResolver } = {}): Promise<FifoWriter> {
  let created = false;
  const owner = opts.user !== undefined ? await (opts.users ?? new UserResolver()).resolve(opts.user, opts.group) : undefined;
  if (owner && !owner.ok) throw new Error(`${path}: ${owner.error}`);
  const st = await lstat(path).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    throw err;
  });
  if (!st) {
    // Node has no mkfifo(3); coreutils' mkfifo is the same call
    await run('mkfifo', ['-m', '0644', '--', path]);
    created = true;
    if (owner?.ok) await chown(path, owner.uid, owner.gid);
  }
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDWR | constants.O_NONBLOCK | constants.O_NOFOLLOW);
    // checked on the descriptor: anyone could have put something else at the path meanwhile
    const fst = fstatSync(fd);
    const uid = process.getuid?.();
    if (!fst.isFIFO() || (uid !== undefined && fst.uid !== uid && fst.uid !== (owner?.ok ? owner.uid : uid))) {
      closeSync(fd);
      throw new Error(`${path} is not a FIFO owned by us${owner?.ok ? ` or by ${opts.user}` : ''}; not using it`);
    }
  } catch (err) {
    if (created) await unlink(path).catch(() => undefined);
    throw err;
  }
  let written = 0;
  let dropped = 0;
  let lastError: string | undefined;
  let closed = false;
  return {
    path,
    write(line: string): boolean {
      if (closed) { dropped++; return false; }
      const buf = Buffer.from(line);
      try {
        // ≤ PIPE_BUF: all or EAGAIN; a longer line could go in part, which counts as dropped
        if (writeSync(fd, buf) === buf.length) { written++; return true; }
        lastError = 'partial write';
      } catch (err) {
        const e = err as NodeJS.ErrnoException;
        lastError = e.code === 'EAGAIN' ? 'the FIFO is full (no reader draining it)' : e.message;
      }
      dropped++;
      return false;
    },
    stats: (): FifoStats => ({ written, dropped, ...(lastError ? { lastError } : {}) }),
    async close() {
      if (closed) return;
      closed = true;
      if (created) await unlink(path).catch(() => undefined);
      closeSync(fd);
    },
  };
}
