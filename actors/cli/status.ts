// `vigil status`: today only the cluster view built from the event stream (--cluster); the local
// daemon's status over the control socket is issue #8.
import { parseArgs } from 'node:util';
import type { BusEvent } from '../bus.js';
import { ClusterFold, formatClusterView } from '../cluster-view.js';
import { DEFAULT_JOURNAL } from './events.js';

export async function run(args: readonly string[]): Promise<number> {
  let v;
  try {
    v = parseArgs({
      args: [...args],
      options: {
        cluster: { type: 'boolean' },
        control: { type: 'string' },
        json: { type: 'boolean' },
        nats: { type: 'string' },
        stream: { type: 'string' },
        journal: { type: 'string', multiple: true },
      },
      strict: true,
    }).values;
  } catch (err) {
    process.stderr.write(`vigil status: ${(err as Error).message}\n(see vigil status --help)\n`);
    return 2;
  }
  if (!v.cluster) {
    process.stderr.write("vigil status: the local daemon's status (control socket) is not available yet (issue #8); 'vigil status --cluster' reads the event stream\n");
    return 2;
  }
  const fold = new ClusterFold();
  try {
    if (v.nats) {
      const { readStream } = await import('../../adapters/nats/read.js');
      const s = await readStream({ servers: v.nats.split(','), stream: v.stream ?? 'VIGIL' });
      try {
        for await (const e of s.events(false)) fold.add(e);
      } finally {
        await s.close();
      }
    } else {
      // one or more journals (e.g. copied from each node), merged by event id (ULIDs sort by time)
      const { readJournal } = await import('../../adapters/journal/reader.js');
      const all: BusEvent[] = [];
      for (const dir of v.journal ?? [DEFAULT_JOURNAL]) for await (const r of readJournal(dir)) all.push(r.event as BusEvent);
      all.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
      for (const e of all) fold.add(e);
    }
  } catch (err) {
    process.stderr.write(`vigil status: ${(err as Error).message}\n`);
    return 3;
  }
  const view = fold.view();
  process.stdout.write(v.json ? JSON.stringify(view, null, 2) + '\n' : formatClusterView(view));
  // like keepalived's tools: a split brain is worth a non-zero exit for scripts and monitoring
  return view.vrids.some((r) => r.splitBrain) ? 1 : 0;
}
