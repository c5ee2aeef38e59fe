// Reading a journal another process is writing (`vigil events`, `vigil history`): never writes,
// never truncates. An incomplete record at the end of the newest segment is the writer's batch in
// progress: the reader stops there and, with `follow`, waits for it to complete (file change
// notifications, plus a slow poll because fs.watch can miss events). A corrupt record in the middle
// is skipped to the next segment and counted.
import { watch, type FSWatcher } from 'node:fs';
import { open, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { decodeFrame, decodePayload } from './frame.js';
import type { JournalEntry } from './types.js';

const SEGMENT = /^journal-(\d{16})\.log$/;

export interface ReadJournalOptions {
  /** records with seq > after (default 0) */
  after?: number;
  /** keep waiting for new records until `signal` aborts */
  follow?: boolean;
  signal?: AbortSignal;
  /** poll interval while following (default 250 ms) */
  pollMs?: number;
  /** corrupt records skipped (reported, never thrown) */
  onCorrupt?: (file: string, offset: number, detail: string) => void;
}

async function segments(dir: string, follow: boolean): Promise<string[]> {
  const names = await readdir(dir).catch((err: NodeJS.ErrnoException) => {
    // following a journal that does not exist yet: wait for the daemon to create it
    if (err.code === 'ENOENT' && follow) return [];
    if (err.code === 'ENOENT') throw new Error(`no journal at ${dir} (vigil run writes one there, see --journal)`);
    throw err;
  });
  return names.filter((n) => SEGMENT.test(n)).sort();
}

export async function* readJournal(dir: string, opts: ReadJournalOptions = {}): AsyncGenerator<JournalEntry> {
  let last = opts.after ?? 0;
  let file: string | undefined; // the segment being read
  let offset = 0;
  let watcher: FSWatcher | undefined;
  let wake: (() => void) | undefined;
  const poke = () => wake?.();
  if (opts.follow) {
    try {
      watcher = watch(dir, poke);
    } catch {
      /* polling alone */
    }
    opts.signal?.addEventListener('abort', poke, { once: true });
  }
  try {
    for (;;) {
      const names = await segments(dir, !!opts.follow);
      // resume in the current segment, else start at the first one that can hold seq > last
      let i = file ? names.indexOf(file) : 0;
      if (i < 0) {
        i = 0; // rotated away: start over from the oldest remaining (seq filter skips the rest)
        offset = 0;
      }
      let progressed = false;
      for (; i < names.length; i++) {
        const name = names[i]!;
        if (name !== file) {
          file = name;
          offset = 0;
        }
        const fh = await open(join(dir, name), 'r').catch(() => undefined);
        if (!fh) continue;
        try {
          const { size } = await fh.stat();
          if (size > offset) {
            const buf = Buffer.allocUnsafe(size - offset);
            const { bytesRead } = await fh.read(buf, 0, buf.length, offset);
            let pos = 0;
            while (pos < bytesRead) {
              const f = decodeFrame(buf.subarray(0, bytesRead), pos);
              if (f.kind === 'short') break; // the writer's batch in progress (or a torn tail)
              if (f.kind !== 'record') {
                opts.onCorrupt?.(name, offset + pos, f.kind);
                pos = bytesRead; // skip the rest of this segment
                break;
              }
              const p = decodePayload(buf, pos, f.size);
              pos += f.size;
              if (!p) continue;
              if (f.seq > last) {
                last = f.seq;
                progressed = true;
                yield { seq: f.seq, id: p.id, event: p.event };
              }
            }
            offset += pos;
          }
        } finally {
          await fh.close();
        }
        if (i < names.length - 1) continue; // older segment done: on to the next
      }
      if (!opts.follow || opts.signal?.aborted) return;
      if (!progressed) {
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, opts.pollMs ?? 250);
          wake = () => {
            clearTimeout(t);
            resolve();
          };
        });
        wake = undefined;
        if (opts.signal?.aborted) return;
      }
    }
  } finally {
    watcher?.close();
    opts.signal?.removeEventListener('abort', poke);
  }
}
