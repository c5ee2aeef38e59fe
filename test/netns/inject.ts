// A hostile host: sends whole IPv4 packets given as hex, one JSON line per request on stdin, answering
// { "sent": n } per line. A request is { "dst": "224.0.0.18", "hex": "45c0…", "count": 1 } (one
// packet, `count` times) or { "dst", "hexes": ["45c0…", …] } (each packet once, in order); with
// "intervalMs" it sends "burst" packets (default 1) then waits that long, for a paced stream.
// Run inside a namespace: ip netns exec NS node --import tsx test/netns/inject.ts
import { createRequire } from 'node:module';
import { createInterface } from 'node:readline';

const raw = createRequire(import.meta.url)('raw-socket') as {
  createSocket(o: { addressFamily: number; protocol: number }): {
    send(b: Buffer, o: number, l: number, a: string, cb: (err: Error | null) => void): void;
    on(ev: 'error', fn: (e: Error) => void): void;
  };
  AddressFamily: { IPv4: number };
};
// IPPROTO_RAW: the packet carries its own IP header (IP_HDRINCL is implied)
const sock = raw.createSocket({ addressFamily: raw.AddressFamily.IPv4, protocol: 255 });
sock.on('error', (e) => process.stderr.write(`inject: ${e.message}\n`));
const send = (b: Buffer, dst: string) => new Promise<void>((res, rej) => sock.send(b, 0, b.length, dst, (e) => (e ? rej(e) : res())));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

for await (const line of createInterface({ input: process.stdin })) {
  const r = JSON.parse(line) as { dst: string; hex?: string; hexes?: string[]; count?: number; intervalMs?: number; burst?: number };
  const pkts = r.hexes ? r.hexes.map((h) => Buffer.from(h, 'hex')) : Array<Buffer>(r.count ?? 1).fill(Buffer.from(r.hex ?? '', 'hex'));
  let sent = 0;
  for (const [i, pkt] of pkts.entries()) {
    if (r.intervalMs && i > 0 && i % (r.burst ?? 1) === 0) await sleep(r.intervalMs);
    await send(pkt, r.dst).then(
      () => sent++,
      (e: Error) => process.stderr.write(`inject: ${e.message}\n`),
    );
  }
  process.stdout.write(`${JSON.stringify({ sent })}\n`);
}
