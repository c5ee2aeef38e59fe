// keepalived's signal dumps (keepalived.md §6): SIGUSR1 writes the state of every instance (text,
// plus the same as JSON, since Node cannot catch keepalived's real-time SIGJSON), SIGUSR2 the
// counters. Paths: global_defs state_dump_file / json_dump_file / stats_dump_file, else
// /tmp/vigil.data, /tmp/vigil.json and /tmp/vigil.stats. Written whole, then renamed into place,
// so a reader never sees half a dump.
import { rename, writeFile } from 'node:fs/promises';
import type { GlobalDefs } from '../adapters/config/model.js';
import type { Control } from './control.js';
import type { Logger } from './log.js';

export const DUMP_FILES = { data: '/tmp/vigil.data', json: '/tmp/vigil.json', stats: '/tmp/vigil.stats' } as const;

async function writeWhole(file: string, text: string): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, text, { mode: 0o644 });
  await rename(tmp, file);
}

export function formatState(s: ReturnType<Control['status']>): string {
  const out = [`------< vigil ${s.version} on ${s.node}, pid ${s.pid}, ${new Date().toISOString()} >------`, `Config file = ${s.configFile ?? '-'}`, ''];
  out.push('------< VRRP Topology >------');
  for (const i of s.instances) {
    out.push(` VRRP Instance = ${i.instance}`);
    out.push(`   VRID = ${i.vrid}, interface = ${i.interface}, IPv${i.family}, VRRPv${i.version}`);
    out.push(`   State = ${i.state}`);
    out.push(`   Priority = ${i.priority ?? '-'} (configured ${i.basePriority}${i.operatorPriority !== undefined ? `, operator ${i.operatorPriority}` : ''})`);
    if (i.master) out.push(`   Master router = ${i.master}`);
    if (i.syncGroup) out.push(`   Sync group = ${i.syncGroup}`);
    if (i.faults?.length) out.push(`   Faults = ${i.faults.join(', ')}`);
    out.push(`   Virtual IP (${i.vips.length}):`);
    for (const v of i.vips) out.push(`     ${v}`);
    if (i.trackers.length) {
      out.push('   Trackers:');
      for (const t of i.trackers) out.push(`     ${t.kind} ${t.name}: ${t.status}${t.weight ? ` weight ${t.weight}` : ''}${t.value !== undefined ? ` value ${t.value}` : ''}`);
    }
  }
  if (s.syncGroups.length) {
    out.push('', '------< VRRP Sync groups >------');
    for (const g of s.syncGroups) out.push(` VRRP Sync Group = ${g.name}, ${g.state}`);
  }
  return out.join('\n') + '\n';
}

export function formatStats(s: ReturnType<Control['status']>): string {
  const out: string[] = [];
  for (const i of s.instances) {
    out.push(`VRRP Instance: ${i.instance}`);
    const c = i.counters;
    if (!c) {
      out.push('  (no socket open)');
      continue;
    }
    out.push(`  Advertisements:`, `    Received: ${c.rx}`, `    Sent: ${c.tx}`, `    Send errors: ${c.txError}`);
    const drops = Object.entries(c).filter(([k, v]) => !['rx', 'tx', 'txError'].includes(k) && v > 0);
    out.push(`  Dropped:${drops.length ? '' : ' 0'}`);
    for (const [k, v] of drops) out.push(`    ${k}: ${v}`);
  }
  return out.join('\n') + '\n';
}

export async function dumpState(control: Control, g: GlobalDefs, log: Logger): Promise<void> {
  const s = control.status();
  const data = g.stateDumpFile ?? DUMP_FILES.data;
  const json = g.jsonDumpFile ?? DUMP_FILES.json;
  try {
    await writeWhole(data, formatState(s));
    await writeWhole(json, JSON.stringify(s, null, 2) + '\n');
    log.info(`Received SIGUSR1: state written to ${data} and ${json}`);
  } catch (err) {
    log.error({ err }, `SIGUSR1: cannot write the state dump: ${(err as Error).message}`);
  }
}

export async function dumpStats(control: Control, g: GlobalDefs, log: Logger): Promise<void> {
  const file = g.statsDumpFile ?? DUMP_FILES.stats;
  try {
    await writeWhole(file, formatStats(control.status()));
    log.info(`Received SIGUSR2: counters written to ${file}`);
  } catch (err) {
    log.error({ err }, `SIGUSR2: cannot write the stats dump: ${(err as Error).message}`);
  }
}
