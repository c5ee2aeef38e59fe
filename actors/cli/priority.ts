// `vigil priority INSTANCE VALUE|restore`: the operator's maintenance priority, over the control socket.
import { parseArgs } from 'node:util';
import { DEFAULT_CONTROL_SOCKET } from '../../adapters/control/types.js';
import { requestControl } from '../../adapters/control/unix.js';

export async function run(args: readonly string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: [...args], options: { control: { type: 'string' }, json: { type: 'boolean' } }, allowPositionals: true, strict: true });
  } catch (err) {
    process.stderr.write(`vigil priority: ${(err as Error).message}\n(see vigil priority --help)\n`);
    return 2;
  }
  const [instance, value, ...extra] = parsed.positionals;
  const n = value === 'restore' ? null : Number(value);
  if (!instance || value === undefined || extra.length || (n !== null && !Number.isInteger(n))) {
    process.stderr.write('vigil priority: usage: vigil priority INSTANCE VALUE|restore\n');
    return 2;
  }
  let reply;
  try {
    reply = await requestControl(parsed.values.control ?? DEFAULT_CONTROL_SOCKET, { cmd: 'priority', instance, priority: n }, 10_000);
  } catch (err) {
    process.stderr.write(`vigil priority: ${(err as Error).message}\n`);
    return 3;
  }
  if (parsed.values.json) process.stdout.write(JSON.stringify(reply, null, 2) + '\n');
  if (!reply.ok) {
    if (!parsed.values.json) process.stderr.write(`vigil priority: ${reply.error}\n`);
    return 1;
  }
  if (!parsed.values.json) {
    const i = reply.instance as { instance: string; state: string; priority?: number; basePriority: number };
    process.stdout.write(`${i.instance}: priority ${i.priority ?? '-'} (configured ${i.basePriority}), ${i.state}\n`);
  }
  return 0;
}
