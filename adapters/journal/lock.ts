// One writer per journal: a LOCK file created exclusively, holding the owner's pid. A lock whose
// pid is gone (a crash, SIGKILL) is taken over; a live owner is an error naming it.
import { open, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';

export interface JournalLock {
  release(): Promise<void>;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export async function lockJournal(dir: string): Promise<JournalLock> {
  const file = join(dir, 'LOCK');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fh = await open(file, 'wx', 0o644);
      await fh.writeFile(`${process.pid}\n`);
      await fh.close();
      let released = false;
      return {
        async release() {
          if (released) return;
          released = true;
          await unlink(file).catch(() => undefined);
        },
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const pid = Number((await readFile(file, 'utf8').catch(() => '')).trim());
      if (pid > 0 && pid !== process.pid && alive(pid)) {
        throw new Error(`the journal ${dir} is in use by another vigil (pid ${pid}); give each daemon its own --journal`);
      }
      await unlink(file).catch(() => undefined); // stale: its owner is gone
    }
  }
  throw new Error(`cannot lock the journal ${dir}`);
}
