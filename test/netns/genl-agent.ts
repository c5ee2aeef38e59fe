// Runs in a test namespace (`ip netns exec NS node --import tsx test/netns/genl-agent.ts`): a real
// generic netlink socket there, its bytes proxied over stdio, so a GenlSocket in the test process
// talks to that namespace's kernel state. Lines in: {"id", "hex"}; out: {"id", "replies": [hex]}
// or {"id", "error"}.
import { createInterface } from 'node:readline';
import { openGenlSocket } from '../../adapters/lb/genlSocket.js';

const socket = openGenlSocket();
createInterface({ input: process.stdin })
  .on('line', (line) => {
    const { id, hex } = JSON.parse(line) as { id: number; hex: string };
    socket.request(Buffer.from(hex, 'hex')).then(
      (replies) => process.stdout.write(`${JSON.stringify({ id, replies: replies.map((r) => Buffer.from(r).toString('hex')) })}\n`),
      (err: Error) => process.stdout.write(`${JSON.stringify({ id, error: err.message })}\n`),
    );
  })
  .on('close', () => socket.close());
process.stdout.write('{"ready":true}\n');
