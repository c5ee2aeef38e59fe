// `vigil events` and `vigil history`: read the event stream back, from the local journal (default)
// or from NATS JetStream (--nats), filter it, print one line per event or JSON lines.
import { parseArgs } from 'node:util';
import type { BusEvent } from '../bus.js';
import { formatLine, matches, parseSince, type EventFilter } from '../format-event.js';

export const DEFAULT_JOURNAL = '/var/lib/vigil/journal';

interface Source {
  /** every stored event matching, oldest first; with follow, then every new one until SIGINT */
  events(follow: boolean): AsyncIterable<BusEvent>;
  close(): Promise<void>;
  /** messages read that were not vigil events (NATS: foreign or malformed), skipped */
  skipped?(): number;
}

async function openSource(o: { journal?: string; nats?: string; stream?: string; cluster?: string }): Promise<Source> {
  if (o.nats) {
    const { readStream } = await import('../../adapters/nats/read.js');
    return readStream({ servers: o.nats.split(','), stream: o.stream ?? 'VIGIL', ...(o.cluster ? { cluster: o.cluster } : {}) });
  }
  const { readJournal } = await import('../../adapters/journal/reader.js');
  const dir = o.journal ?? DEFAULT_JOURNAL;
  const stop = new AbortController();
  let corrupt = 0;
  return {
    async *events(follow) {
      const it = readJournal(dir, { follow, signal: stop.signal, onCorrupt: () => void corrupt++ });
      for await (const entry of it) yield entry.event as BusEvent;
      if (corrupt) process.stderr.write(`vigil: ${corrupt} corrupt journal record(s) skipped in ${dir}\n`);
    },
    close: async () => stop.abort(),
  };
}

const OPTIONS = {
  journal: { type: 'string' },
  nats: { type: 'string' },
  stream: { type: 'string' },
  cluster: { type: 'string' },
  follow: { type: 'boolean', short: 'F' },
  json: { type: 'boolean' },
  node: { type: 'string' },
  instance: { type: 'string' },
  name: { type: 'string' },
  kind: { type: 'string' },
  type: { type: 'string' },
  since: { type: 'string' },
} as const;

function parse(cmd: string, args: readonly string[], positionals: boolean) {
  try {
    return parseArgs({ args: [...args], options: OPTIONS, allowPositionals: positionals, strict: true });
  } catch (err) {
    process.stderr.write(`vigil ${cmd}: ${(err as Error).message}\n(see vigil ${cmd} --help)\n`);
    return undefined;
  }
}

async function print(source: Source, follow: boolean, json: boolean, keep: (e: BusEvent) => boolean): Promise<number> {
  const stop = () => void source.close();
  process.once('SIGINT', stop);
  try {
    for await (const e of source.events(follow)) {
      if (!keep(e)) continue;
      if (!process.stdout.write(`${json ? JSON.stringify(e) : formatLine(e)}\n`)) {
        await new Promise((r) => process.stdout.once('drain', r));
      }
    }
    return 0;
  } catch (err) {
    process.stderr.write(`vigil events: ${(err as Error).message}\n`);
    return 3;
  } finally {
    process.off('SIGINT', stop);
    await source.close();
    reportSkipped('events', source);
  }
}

function reportSkipped(cmd: string, source: Pick<Source, 'skipped'>): void {
  const n = source.skipped?.() ?? 0;
  if (n) process.stderr.write(`vigil ${cmd}: ${n} message(s) skipped: not vigil events (a foreign publisher on the subjects, or damaged)\n`);
}

function filterFrom(v: Record<string, unknown>): EventFilter | string {
  const f: EventFilter = {};
  if (typeof v['node'] === 'string') f.node = v['node'];
  const name = (v['instance'] ?? v['name']) as string | undefined;
  if (name) f.name = name;
  if (typeof v['kind'] === 'string') f.kind = v['kind'];
  if (typeof v['type'] === 'string') f.type = v['type'];
  if (typeof v['since'] === 'string') {
    const t = parseSince(v['since']);
    if (t === undefined) return `--since '${v['since']}' is neither a time nor a duration like 10m`;
    f.since = t;
  }
  return f;
}

export async function run(args: readonly string[]): Promise<number> {
  const p = parse('events', args, false);
  if (!p) return 2;
  const f = filterFrom(p.values);
  if (typeof f === 'string') {
    process.stderr.write(`vigil events: ${f}\n`);
    return 2;
  }
  let source: Source;
  try {
    source = await openSource(p.values);
  } catch (err) {
    process.stderr.write(`vigil events: ${(err as Error).message}\n`);
    return 3;
  }
  return print(source, !!p.values.follow, !!p.values.json, (e) => matches(e, f));
}

/**
 * `vigil history INSTANCE`: the instance's own events and every event in their correlation chains
 * (the tracker failure that lowered the priority that lost MASTER), in order.
 */
export async function history(args: readonly string[]): Promise<number> {
  const p = parse('history', args, true);
  if (!p) return 2;
  const name = p.positionals[0] ?? (p.values.instance as string | undefined);
  if (!name) {
    process.stderr.write('vigil history: which instance? (vigil history INSTANCE)\n');
    return 2;
  }
  const f = filterFrom({ ...p.values, instance: undefined, name: undefined });
  if (typeof f === 'string') {
    process.stderr.write(`vigil history: ${f}\n`);
    return 2;
  }
  let source: Source;
  try {
    source = await openSource(p.values);
  } catch (err) {
    process.stderr.write(`vigil history: ${(err as Error).message}\n`);
    return 3;
  }
  // one pass over the stored events: chains are known only once the instance's events are seen
  const all: BusEvent[] = [];
  const chains = new Set<string>();
  if (!p.values.follow) {
    try {
      for await (const e of source.events(false)) {
        if (!matches(e, f)) continue;
        all.push(e);
        if (e.name === name && e.kind === 'vrrp') chains.add(e.correlation);
      }
    } catch (err) {
      process.stderr.write(`vigil history: ${(err as Error).message}\n`);
      return 3;
    } finally {
      await source.close();
      reportSkipped('history', source);
    }
    for (const e of all) {
      if ((e.name === name && e.kind === 'vrrp') || chains.has(e.correlation) || chains.has(e.id)) {
        process.stdout.write(`${p.values.json ? JSON.stringify(e) : formatLine(e)}\n`);
      }
    }
    return 0;
  }
  return print(source, true, !!p.values.json, (e) => {
    if (!matches(e, f)) return false;
    if (e.name === name && e.kind === 'vrrp') chains.add(e.correlation);
    return (e.name === name && e.kind === 'vrrp') || chains.has(e.correlation);
  });
}
