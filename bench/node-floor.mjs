// The floor under an idle VRRP daemon written for Node.js: a process that does only a daemon's
// steady work, so bench/idle-vrrp.ts can tell what vigil costs from what Node costs.
//   FLOOR=send VRIDS=1,2,…  one 40-byte VRRP-like packet per VRID every 100 ms to 224.0.0.18
//   FLOOR=recv              read every packet of 224.0.0.18 on eth0, restart a 361 ms timer per VRID
// (no checks, no state machine, no logging: what is left is the runtime's wake-ups and syscalls).
import { createRequire } from 'node:module';
import * as fs from 'node:fs';

const raw = createRequire(import.meta.url)('raw-socket');
const mode = process.env.FLOOR ?? 'send';
const vrids = (process.env.VRIDS ?? '1').split(',').map(Number);
const ifindex = Number(fs.readFileSync('/sys/class/net/eth0/ifindex', 'utf8'));
/** struct ip_mreqn { group, 0.0.0.0, ifindex } */
const mreqn = (group) => {
  const b = Buffer.alloc(12);
  group.split('.').forEach((x, i) => (b[i] = Number(x)));
  b.writeInt32LE(ifindex, 8);
  return b;
};
let errors = 0;

if (mode === 'recv') {
  const s = raw.createSocket({ addressFamily: raw.AddressFamily.IPv4, protocol: 112, bufferSize: 65535 });
  s.setOption(0, 35, mreqn('224.0.0.18'), 12); // IP_ADD_MEMBERSHIP
  // held: a raw-socket object nothing refers to is collected, and its reads stop with it
  globalThis.floorSocket = s;
  const timers = new Map();
  let expired = 0;
  s.on('message', (buf) => {
    const vrid = buf[21]; // after a 20-byte IPv4 header
    clearTimeout(timers.get(vrid));
    timers.set(vrid, setTimeout(() => expired++, 361));
  });
} else {
  const s = raw.createSocket({ addressFamily: raw.AddressFamily.IPv4, protocol: 112 });
  // out of eth0 with TTL 255 as VRRP goes (the hosts have no route to 224.0.0.0/4)
  s.setOption(0, 32, mreqn('0.0.0.0'), 12); // IP_MULTICAST_IF
  s.setOption(0, 33, Buffer.from([255]), 1); // IP_MULTICAST_TTL
  s.setOption(0, 34, Buffer.from([0]), 1); // IP_MULTICAST_LOOP off
  for (const vrid of vrids) {
    // v3 advert, priority 200, one IPv4 address, interval 10 cs (checksum not computed: nobody checks)
    const pkt = Buffer.from([0x31, vrid, 200, 1, 0, 10, 0, 0, 10, 97, 0, vrid]);
    setInterval(() => s.send(pkt, 0, pkt.length, '224.0.0.18', (err) => {
      // a floor that cannot send measures nothing: say so and stop
      if (err && ++errors === 1) {
        process.stderr.write(`node-floor: ${err.message}\n`);
        process.exit(3);
      }
    }), 100);
  }
}
setInterval(() => {}, 1 << 30); // alive whatever the socket does
