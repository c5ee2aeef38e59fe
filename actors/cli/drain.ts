// `vigil drain VS RS` / `vigil restore VS RS`: an operator takes a real server out of rotation
// (weight 0: no new connections, established ones go on) or puts it back, over the control socket.
import { parseArgs } from 'node:util';
import { DEFAULT_CONTROL_SOCKET } from '../../adapters/control/types.js';
import { requestControl } from '../../adapters/control/unix.js';

export function command(cmd: 'drain' | 'restore') {
  return async function run(args: readonly string[]): Promise<number> {
    let parsed;
    try {
      parsed = parseArgs({ args: [...args], options: { control: { type: 'string' }, json: { type: 'boolean' } }, allowPositionals: true, strict: true });
    } catch (err) {
      process.stderr.write(`vigil ${cmd}: ${(err as Error).message}\n(see vigil ${cmd} --help)\n`);
      return 2;
    }
    const [virtualServer, realServer, ...extra] = parsed.positionals;
    if (!virtualServer || !realServer || extra.length) {
      process.stderr.write(`vigil ${cmd}: usage: vigil ${cmd} VIRTUAL_SERVER REAL_SERVER (as vigil status shows them)\n`);
      return 2;
    }
    let reply;
    try {
      reply = await requestControl(parsed.values.control ?? DEFAULT_CONTROL_SOCKET, { cmd, virtualServer, realServer }, 10_000);
    } catch (err) {
      process.stderr.write(`vigil ${cmd}: ${(err as Error).message}\n`);
      return 3;
    }
    if (parsed.values.json) process.stdout.write(JSON.stringify(reply, null, 2) + '\n');
    else if (!reply.ok) process.stderr.write(`vigil ${cmd}: ${reply.error}\n`);
    else process.stdout.write(`${realServer} in ${virtualServer}: ${cmd === 'drain' ? 'drained (weight 0, established connections go on)' : 'restored'}\n`);
    return reply.ok ? 0 : 1;
  };
}
