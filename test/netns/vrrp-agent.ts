// A raw-socket VrrpNet in a child process, driven over JSON lines, so that each test host's sockets
// are created inside its own network namespace (`ip netns exec NS node --import tsx vrrp-agent.ts`):
// a Node process cannot move one thread into another namespace, and raw-socket cannot either.
//
// stdin, one request per line:   { id, op, ...args }           ops below
// stdout, one message per line:  { id, ok, ... } replies, and { ev, ... } events:
//   { ev: 'ready' } once, { ev: 'advert', ep, rx }, { ev: 'drop', ep, reason, src, detail },
//   { ev: 'sendError', ep, error: { name, code, message } }
// Binary fields (authData, packets) travel as hex.
import { createInterface } from 'node:readline';
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { createRawVrrpNet } from '../../adapters/vrrp/socket.js';
import type { EndpointSpec, VrrpEndpoint } from '../../adapters/vrrp/types.js';

type Req = { id: number; op: string; [k: string]: unknown };

// warnings and errors to stderr, which the test shows when something fails
const log = {
  debug() {},
  info() {},
  warn: (o: object, msg: string) => process.stderr.write(`warn ${msg} ${JSON.stringify(o)}\n`),
  error: (o: object, msg: string) => process.stderr.write(`error ${msg} ${JSON.stringify(o)}\n`),
};
let net = createRawVrrpNet({ log });
const endpoints = new Map<number, VrrpEndpoint>();
let nextEp = 1;

const out = (msg: object) => process.stdout.write(`${JSON.stringify(msg)}\n`);
const errorOf = (err: unknown) => {
  const e = err as Error & { code?: string };
  return { name: e.name, code: e.code, message: e.message };
};

// A plain IPPROTO_RAW socket for packets the test builds itself (hostile ones included).
interface Raw {
  createSocket(o: { addressFamily: number; protocol: number }): {
    send(b: Buffer, o: number, l: number, a: string, cb: (e: Error | null) => void): void;
    setOption(level: number, opt: number, v: Buffer | number, len?: number): void;
    pauseRecv(): void;
    close(): void;
  };
  AddressFamily: { IPv4: number; IPv6: number };
}
const raw = createRequire(import.meta.url)('raw-socket') as Raw;
const injectors = new Map<number, ReturnType<Raw['createSocket']>>();
function injector(family: 4 | 6) {
  let s = injectors.get(family);
  if (!s) {
    s = raw.createSocket({ addressFamily: family === 4 ? raw.AddressFamily.IPv4 : raw.AddressFamily.IPv6, protocol: 255 });
    s.pauseRecv();
    const dev = Buffer.from('eth0\0');
    s.setOption(1, 25, dev, dev.length); // SO_BINDTODEVICE
    injectors.set(family, s);
  }
  return s;
}
const sendRaw = (family: 4 | 6, dst: string, pkt: Buffer) =>
  new Promise<void>((resolve, reject) => injector(family).send(pkt, 0, pkt.length, dst, (e) => (e ? reject(e) : resolve())));

/** The drops column of /proc/net/raw{,6} for sockets of IP protocol `proto` (the kernel's count). */
function kernelDrops(family: 4 | 6, proto: number): number {
  const lines = readFileSync(family === 4 ? '/proc/net/raw' : '/proc/net/raw6', 'utf8').trim().split('\n').slice(1);
  let sum = 0;
  for (const l of lines) {
    const f = l.trim().split(/\s+/);
    const local = f[1] ?? '';
    if (parseInt(local.slice(local.indexOf(':') + 1), 16) === proto) sum += Number(f[f.length - 1]);
  }
  return sum;
}

async function handle(r: Req): Promise<object> {
  switch (r.op) {
    case 'open': {
      const ep = nextEp++;
      const e = net.open(r['spec'] as EndpointSpec, {
        onAdvert: (rx) => {
          const { authData, ...advert } = rx.advert;
          out({ ev: 'advert', ep, rx: { ...rx, advert: { ...advert, ...(authData ? { authData: Buffer.from(authData).toString('hex') } : {}) } } });
        },
        onDrop: (reason, src, detail) => out({ ev: 'drop', ep, reason, src, detail }),
        onSendError: (err) => out({ ev: 'sendError', ep, error: errorOf(err) }),
      });
      endpoints.set(ep, e);
      return { ep, srcIp: e.srcIp };
    }
    case 'send':
      endpoints.get(r['ep'] as number)?.send(r['priority'] as number, r['intervalCs'] as number | undefined);
      return {};
    case 'srcIp':
      return { srcIp: endpoints.get(r['ep'] as number)?.srcIp };
    case 'close':
      endpoints.get(r['ep'] as number)?.close();
      return {};
    case 'stats':
      return { stats: net.stats() };
    case 'closeNet':
      await net.close();
      return {};
    case 'newNet':
      await net.close();
      net = createRawVrrpNet({ log });
      return {};
    case 'inject': {
      // { family, dst, hex, count? }: the same packet `count` times, as fast as the socket takes them
      const pkt = Buffer.from(r['hex'] as string, 'hex');
      const count = (r['count'] as number | undefined) ?? 1;
      for (let i = 0; i < count; i++) await sendRaw(r['family'] as 4 | 6, r['dst'] as string, pkt);
      return { sent: count };
    }
    case 'kernelDrops':
      return { drops: kernelDrops(r['family'] as 4 | 6, r['proto'] as number) };
    case 'lag': {
      // how late a 0 ms timer fires now: the event loop's responsiveness
      const t = performance.now();
      await new Promise((res) => setTimeout(res, 0));
      return { ms: performance.now() - t };
    }
    case 'exit':
      await net.close();
      for (const s of injectors.values()) s.close();
      setImmediate(() => process.exit(0));
      return {};
    default:
      throw new Error(`unknown op ${r.op}`);
  }
}

createInterface({ input: process.stdin }).on('line', (line) => {
  let r: Req;
  try {
    r = JSON.parse(line) as Req;
  } catch {
    return out({ ev: 'error', message: `bad request line: ${line}` });
  }
  // requests are handled in order; replies to async ones may overtake later sync ones
  handle(r).then(
    (res) => out({ id: r.id, ok: true, ...res }),
    (err: unknown) => out({ id: r.id, ok: false, error: errorOf(err) }),
  );
});
process.stdin.on('end', () => process.exit(0));
out({ ev: 'ready' });
