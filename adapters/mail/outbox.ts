// The notifier's durable outbox: one JSON file per mail owed, `<id>.json` in a directory (by
// default `<journal>/notify-outbox/`). A file is written whole under a temporary name, fsynced and
// renamed into place, so a crash leaves either the old entry or the new one, never half of one; a
// delivered mail's file is removed. After a restart every file left is a mail still owed.
//
// Operations run one at a time, in the order asked: a remove issued right after a put can never
// overtake it and leave a delivered mail behind to be sent again.
import { mkdir, open, readdir, readFile, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { MailMessage, OutboxEntry, OutboxStore } from './types.js';

const NAME_RE = /^([0-9A-Za-z_-]{1,80})\.json$/;

export function createDirOutbox(dir: string): OutboxStore {
  let chain: Promise<unknown> = mkdir(dir, { recursive: true, mode: 0o700 });
  const serial = <T>(op: () => Promise<T>): Promise<T> => {
    const p = chain.then(op);
    chain = p.catch(() => undefined);
    return p;
  };
  const file = (id: string) => {
    if (!NAME_RE.test(`${id}.json`)) throw new Error(`bad outbox id '${id}'`);
    return join(dir, `${id}.json`);
  };
  return {
    where: dir,
    load: () => serial(async () => {
      const entries: OutboxEntry[] = [];
      let skipped = 0;
      for (const name of (await readdir(dir)).sort()) {
        const m = NAME_RE.exec(name);
        if (!m) {
          // a temporary file of a write a crash interrupted: its entry was never stored
          if (name.endsWith('.tmp')) await unlink(join(dir, name)).catch(() => undefined);
          continue;
        }
        const entry = parseEntry(await readFile(join(dir, name), 'utf8').catch(() => ''));
        if (entry && entry.id === m[1]) entries.push(entry);
        else skipped++;
      }
      return { entries, skipped };
    }),
    put: (entry) => serial(async () => {
      const target = file(entry.id);
      const tmp = `${target}.tmp`;
      const fh = await open(tmp, 'w', 0o600);
      try {
        await fh.writeFile(JSON.stringify(entry));
        await fh.sync();
      } finally {
        await fh.close();
      }
      await rename(tmp, target);
      // the rename itself must reach the disk too, or a power cut could lose the new name
      const d = await open(dir, 'r');
      try { await d.sync(); } finally { await d.close(); }
    }),
    remove: (id) => serial(async () => {
      await unlink(file(id)).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT') throw err;
      });
    }),
  };
}

/** The outbox without a disk (`vigil run --no-journal`): retried while vigil runs, lost at exit. */
export function createMemoryOutbox(): OutboxStore {
  const entries = new Map<string, OutboxEntry>();
  return {
    where: 'memory',
    load: async () => ({ entries: [...entries.values()].sort((a, b) => (a.id < b.id ? -1 : 1)), skipped: 0 }),
    put: async (e) => { entries.set(e.id, e); },
    remove: async (id) => { entries.delete(id); },
  };
}

const isStr = (x: unknown): x is string => typeof x === 'string';

/** An entry read back, or undefined when the file does not hold one (bad input is a value). */
export function parseEntry(text: string): OutboxEntry | undefined {
  let v: unknown;
  try { v = JSON.parse(text); } catch { return undefined; }
  if (typeof v !== 'object' || v === null) return undefined;
  const e = v as Record<string, unknown>;
  const m = e.message as Record<string, unknown> | undefined;
  if (!isStr(e.id) || !isStr(e.key) || !isStr(e.event) || typeof e.createdAt !== 'number' || typeof m !== 'object' || m === null) return undefined;
  if (![m.messageId, m.from, m.subject, m.date, m.text].every(isStr)) return undefined;
  if (!Array.isArray(m.to) || !m.to.every(isStr)) return undefined;
  if (typeof m.headers !== 'object' || m.headers === null || !Object.values(m.headers).every(isStr)) return undefined;
  if (e.covers !== undefined && (!Array.isArray(e.covers) || !e.covers.every(isStr))) return undefined;
  return {
    id: e.id, key: e.key, event: e.event, createdAt: e.createdAt,
    ...(isStr(e.correlation) ? { correlation: e.correlation } : {}),
    message: m as unknown as MailMessage,
    ...(e.held === true ? { held: true } : {}),
    ...(e.covers ? { covers: e.covers as string[] } : {}),
  };
}
