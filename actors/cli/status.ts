// `vigil status`: the local daemon's state over its control socket, or (--cluster) the cluster
// view built from the event stream.
import { parseArgs } from 'node:util';
import type { BusEvent } from '../bus.js';
import { ClusterFold, formatClusterView } from '../cluster-view.js';
import { DEFAULT_JOURNAL } from './events.js';
import { DEFAULT_CONTROL_SOCKET } from '../../adapters/control/types.js';
import { requestControl } from '../../adapters/control/unix.js';
import type { Control } from '../control.js';

type Status = ReturnType<Control['status']>;

async function localStatus(socket: string, json: boolean): Promise<number> {
  let reply;
  try {
    reply = await requestControl(socket, { cmd: 'status' }, 10_000);
  } catch (err) {
    process.stderr.write(`vigil status: ${(err as Error).message}\n`);
    return 3;
  }
  if (!reply.ok) {
    process.stderr.write(`vigil status: ${reply.error}\n`);
    return 1;
  }
  const s = reply.status as Status;
  process.stdout.write(json ? JSON.stringify(s, null, 2) + '\n' : formatStatus(s));
  return 0;
}

export function formatStatus(s: Status): string {
  const rows = [['INSTANCE', 'VRID', 'IFACE', 'STATE', 'PRIO', 'MASTER', 'VIPS']];
  for (const i of s.instances) {
    const prio = i.priority === undefined ? '-' : i.priority === i.basePriority ? String(i.priority) : `${i.priority}/${i.basePriority}`;
    rows.push([i.instance, String(i.vrid), i.interface, i.faults?.length ? `${i.state} (${i.faults.join(',')})` : i.state, i.operatorPriority !== undefined ? `${prio} (op)` : prio, i.state === 'MASTER' ? 'self' : (i.master ?? '-'), i.vips.map((v) => v.split(' ')[0]).join(',')]);
  }
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  const lines = [`vigil ${s.version} on ${s.node} (pid ${s.pid}), config ${s.configFile ?? '-'}, up since ${s.startedAt}`];
  for (const r of rows) lines.push(r.map((x, c) => x.padEnd(widths[c]!)).join('  ').trimEnd());
  for (const g of s.syncGroups) lines.push(`sync group ${g.name}: ${g.state}`);
  const trackers = new Map<string, string>();
  for (const i of s.instances) for (const t of i.trackers) if (t.kind !== 'interface') trackers.set(`${t.kind} ${t.name}`, t.status);
  for (const [k, st] of trackers) lines.push(`tracker ${k}: ${st}`);
  for (const vs of s.virtualServers ?? []) {
    lines.push(`virtual server ${vs.virtualServer}: quorum ${vs.quorum}${vs.sorryServer ? `, sorry server ${vs.sorryServer}` : ''}`);
    for (const rs of vs.realServers) {
      lines.push(`  ${rs.realServer.padEnd(24)} ${rs.alive ? 'UP  ' : 'DOWN'} weight ${rs.weight}${rs.drained ? ' (drained)' : ''}${rs.failed ? ` failed: ${rs.failed.join(', ')}` : ''}`);
    }
  }
  if (s.loadBalancer) lines.push(`load balancer: ${s.loadBalancer.driver}${s.loadBalancer.failures ? ` (${s.loadBalancer.failures} failed applies)` : ''}`);
  return lines.join('\n') + '\n';
}

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
  if (!v.cluster) return localStatus(v.control ?? DEFAULT_CONTROL_SOCKET, v.json === true);
  const fold = new ClusterFold();
  try {
    if (v.nats) {
      const { readStream } = await import('../../adapters/nats/read.js');
      const s = await readStream({ servers: v.nats.split(','), stream: v.stream ?? 'VIGIL' });
      try {
        for await (const e of s.events(false)) fold.add(e);
      } finally {
        await s.close();
        const n = s.skipped();
        if (n) process.stderr.write(`vigil status: ${n} message(s) skipped: not vigil events (a foreign publisher on the subjects, or damaged)\n`);
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
