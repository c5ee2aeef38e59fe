// The control socket: a unix stream socket, mode 0600 (root only: the daemon runs as root, and the
// socket lives in a 0755 directory it creates), one JSON request per line, answered in order on
// each connection. A line longer than MAX_REQUEST_BYTES is refused and the connection closed; a
// malformed line gets an error reply and the connection stays usable.
import { mkdir, unlink } from 'node:fs/promises';
import { chmodSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { MAX_REQUEST_BYTES, parseRequest, type ControlHandler, type ControlReply, type ControlRequest } from './types.js';

export interface ControlServer {
  readonly path: string;
  close(): Promise<void>;
}

export class ControlSocketInUse extends Error {
  constructor(readonly socketPath: string) {
    super(`${socketPath}: another vigil is running and answering on this control socket`);
  }
}

/** true when something accepts connections on `socketPath` */
function answering(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const c = net.connect(socketPath);
    c.once('connect', () => {
      c.destroy();
      resolve(true);
    });
    c.once('error', () => resolve(false));
  });
}

export async function serveControl(
  socketPath: string,
  handler: ControlHandler,
  opts: { onError?: (err: Error) => void } = {},
): Promise<ControlServer> {
  await mkdir(path.dirname(socketPath), { recursive: true, mode: 0o755 });
  // a socket left by a process that died is removed; a live one means another daemon owns it
  if (await answering(socketPath)) throw new ControlSocketInUse(socketPath);
  await unlink(socketPath).catch(() => undefined);
  const sockets = new Set<net.Socket>();
  const server = net.createServer((sock) => {
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
    sock.on('error', () => undefined);
    let buf = '';
    // replies go out in request order, one request at a time per connection; every 64 lines the
    // chain yields to the event loop, so a flood of lines never starves VRRP's timers
    let chain: Promise<unknown> = Promise.resolve();
    let answered = 0;
    const breathe = () => (++answered % 64 === 0 ? new Promise<void>((resolve) => setImmediate(resolve)) : undefined);
    sock.setEncoding('utf8');
    sock.on('data', (chunk: string) => {
      buf += chunk;
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 1);
        if (!line) continue;
        chain = chain.then(() => answer(line)).then(breathe);
      }
      if (Buffer.byteLength(buf) > MAX_REQUEST_BYTES) {
        buf = '';
        sock.end(JSON.stringify({ ok: false, error: `request longer than ${MAX_REQUEST_BYTES} bytes` }) + '\n');
      }
    });
    const answer = async (line: string) => {
      const req = parseRequest(line);
      let reply: ControlReply;
      if (typeof req === 'string') reply = { ok: false, error: req };
      else {
        try {
          reply = await handler(req as ControlRequest, 'control-socket');
        } catch (err) {
          opts.onError?.(err as Error);
          reply = { ok: false, error: `internal error: ${(err as Error).message}` };
        }
      }
      if (!sock.destroyed) sock.write(JSON.stringify(reply) + '\n');
    };
  });
  server.on('error', (err) => opts.onError?.(err));
  // created 0600 from the start (no window in which another user could connect), then checked
  const umask = process.umask(0o177);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(socketPath, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } finally {
    process.umask(umask);
  }
  chmodSync(socketPath, 0o600);
  return {
    path: socketPath,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** One request, one reply (the CLI's side). Rejects with a readable error when nobody answers. */
export function requestControl(socketPath: string, req: ControlRequest, timeoutMs = 120_000): Promise<ControlReply> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(socketPath);
    let buf = '';
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`${socketPath}: no reply within ${timeoutMs / 1000} s`));
    }, timeoutMs);
    sock.setEncoding('utf8');
    sock.once('connect', () => sock.write(JSON.stringify(req) + '\n'));
    sock.on('data', (chunk: string) => {
      buf += chunk;
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      clearTimeout(timer);
      sock.end();
      try {
        resolve(JSON.parse(buf.slice(0, nl)) as ControlReply);
      } catch (err) {
        reject(new Error(`${socketPath}: malformed reply: ${(err as Error).message}`));
      }
    });
    sock.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      const why =
        err.code === 'ENOENT' || err.code === 'ECONNREFUSED'
          ? 'no vigil is running with this control socket (is vigil run started, with the same --control?)'
          : err.code === 'EACCES'
            ? 'permission denied (the control socket is root only)'
            : err.message;
      reject(new Error(`${socketPath}: ${why}`));
    });
    sock.once('close', () => {
      clearTimeout(timer);
      if (!buf.includes('\n')) reject(new Error(`${socketPath}: the daemon closed the connection without a reply`));
    });
  });
}
