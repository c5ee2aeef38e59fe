// A GenlSocket on a real NETLINK_GENERIC socket: the `netlink` package's RawNetlinkSocket (0.3.0)
// sends our bytes as they are and hands back whole datagrams, so all framing stays in genl.ts.
// Replies are matched to requests by sequence number; an exchange ends with NLMSG_DONE (dumps) or
// NLMSG_ERROR (the ACK every other request asks for). The socket lives in the network namespace
// of this process: to drive another namespace, run the driver there (or proxy this socket's bytes).
import { Protocol, RawNetlinkSocket } from 'netlink';
import { NLMSG_DONE, NLMSG_ERROR, splitMessages } from './genl.js';
import type { GenlSocket } from './ipvs.js';

export const DEFAULT_GENL_TIMEOUT_MS = 5000;

interface Pending {
  readonly messages: Uint8Array[];
  readonly resolve: (m: Uint8Array[]) => void;
  readonly reject: (e: Error) => void;
  readonly timer: NodeJS.Timeout;
}

/** `protocol`: NETLINK_GENERIC by default; nftGen.ts asks NETLINK_NETFILTER the same way. */
export function openGenlSocket(opts: { timeoutMs?: number; protocol?: Protocol } = {}): GenlSocket {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_GENL_TIMEOUT_MS;
  const sock = new RawNetlinkSocket(opts.protocol ?? Protocol.GENERIC);
  sock.unref(); // referenced only while a request waits, so an idle socket does not hold the process
  const pending = new Map<number, Pending>();
  let closed = false;

  const settle = (seq: number, p: Pending, result: Uint8Array[] | Error) => {
    clearTimeout(p.timer);
    pending.delete(seq);
    if (pending.size === 0 && !closed) sock.unref();
    if (result instanceof Error) p.reject(result);
    else p.resolve(result);
  };
  const failAll = (err: Error) => {
    for (const [seq, p] of pending) settle(seq, p, err);
  };

  sock.on('message', (buf: Buffer) => {
    const split = splitMessages(buf);
    if (!split.ok) return failAll(new Error(`bad netlink datagram: ${split.error.message}`));
    for (const m of split.value) {
      const p = pending.get(m.seq);
      if (!p) continue; // an answer to a request that timed out
      p.messages.push(Uint8Array.from(m.bytes));
      if (m.type === NLMSG_DONE || m.type === NLMSG_ERROR) settle(m.seq, p, p.messages);
    }
  });
  sock.on('error', (err: Error) => failAll(err));

  return {
    request(message) {
      if (closed) return Promise.reject(new Error('netlink socket closed'));
      const header = splitMessages(message);
      if (!header.ok || header.value.length !== 1) return Promise.reject(new RangeError('request is not one netlink message'));
      const seq = (header.value[0] as { seq: number }).seq;
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          const p = pending.get(seq);
          if (p) settle(seq, p, new Error(`no answer within ${timeoutMs} ms`));
        }, timeoutMs);
        pending.set(seq, { messages: [], resolve, reject, timer });
        sock.ref();
        sock.send(message, {}, (err) => {
          const p = pending.get(seq);
          if (err && p) settle(seq, p, err);
        });
      });
    },
    close() {
      if (closed) return;
      closed = true;
      failAll(new Error('netlink socket closed'));
      sock.close();
    },
  };
}
