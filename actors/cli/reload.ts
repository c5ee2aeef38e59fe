// `vigil reload`: asks the running daemon to reload its config, waits for the outcome and prints
// it. Exit 0 when applied; on a refused config the daemon keeps the old one and this exits with
// config-test's status (4 errors, 5 script security) after printing the diagnostics.
import { parseArgs } from 'node:util';
import { DEFAULT_CONTROL_SOCKET } from '../../adapters/control/types.js';
import { requestControl } from '../../adapters/control/unix.js';
import type { ReloadReport } from '../daemon.js';

export function formatReport(r: ReloadReport): string {
  const lines = [`reloaded ${r.configFile ?? ''} in ${r.durationMs} ms`.replace('  ', ' ')];
  const list = (label: string, xs: readonly string[]) => xs.length && lines.push(`  ${label}: ${xs.join(', ')}`);
  list('added', r.added);
  list('removed', r.removed);
  list('replaced (identity changed)', r.replaced);
  for (const c of r.changed) lines.push(`  changed in place: ${c.instance} (${c.fields.join(', ')})`);
  lines.push(`  unchanged: ${r.unchanged}`);
  list('sync groups added', r.syncGroups.added);
  list('sync groups removed', r.syncGroups.removed);
  list('sync groups rebuilt', r.syncGroups.replaced);
  lines.push(`  trackers: ${r.trackers}`);
  return lines.join('\n') + '\n';
}

export async function run(args: readonly string[]): Promise<number> {
  let v;
  try {
    v = parseArgs({ args: [...args], options: { control: { type: 'string' }, json: { type: 'boolean' }, file: { type: 'string', short: 'f' } }, strict: true }).values;
  } catch (err) {
    process.stderr.write(`vigil reload: ${(err as Error).message}\n(see vigil reload --help)\n`);
    return 2;
  }
  const socket = v.control ?? DEFAULT_CONTROL_SOCKET;
  let reply;
  try {
    reply = await requestControl(socket, { cmd: 'reload', ...(v.file ? { file: v.file } : {}) });
  } catch (err) {
    process.stderr.write(`vigil reload: ${(err as Error).message}\n`);
    return 3;
  }
  if (v.json) process.stdout.write(JSON.stringify(reply, null, 2) + '\n');
  if (reply.ok) {
    if (!v.json) {
      for (const w of (reply.warnings as string[] | undefined) ?? []) process.stderr.write(w + '\n');
      process.stdout.write(formatReport(reply.report as ReloadReport));
    }
    return 0;
  }
  if (!v.json) {
    for (const d of (reply.diagnostics as string[] | undefined) ?? []) process.stderr.write(d + '\n');
    process.stderr.write(`vigil reload: ${reply.error}\n`);
  }
  return typeof reply.exitCode === 'number' ? reply.exitCode : 1;
}
