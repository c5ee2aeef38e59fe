// The nftables ruleset generation: NFT_MSG_GETGEN over NETLINK_NETFILTER, answered with
// NFT_MSG_NEWGEN and its NFTA_GEN_ID (include/uapi/linux/netfilter/nf_tables.h). The kernel bumps
// it on every committed change to any table of the network namespace, so while it stands still
// nothing in vigil's table can have changed: the nftables driver's drift check (every 5 s) asks
// this instead of spawning `nft list` and parsing its JSON, which cost about 15 % of HAProxy's
// whole CPU for 1,000 health checks (bench/checkers.md). A change anywhere (ours included) makes
// the next check list the table as before.
import { Protocol } from 'netlink';
import { concat, decodeError, fail, NLM_F_ACK, NLM_F_REQUEST, NLMSG_ERROR, parseAttrs, splitMessages, type Decoded } from './genl.js';
import { openGenlSocket } from './genlSocket.js';
import type { GenlSocket } from './ipvs.js';

const NFNL_SUBSYS_NFTABLES = 10;
const NFT_MSG_NEWGEN = 15;
const NFT_MSG_GETGEN = 16;
const NFTA_GEN_ID = 1;

/** The request, nfgenmsg included (family AF_UNSPEC, version NFNETLINK_V0, res_id 0). */
export function encodeGetGen(seq: number): Uint8Array {
  const b = new Uint8Array(20);
  const v = new DataView(b.buffer);
  v.setUint32(0, 20, true);
  v.setUint16(4, (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_GETGEN, true);
  v.setUint16(6, NLM_F_REQUEST | NLM_F_ACK, true);
  v.setUint32(8, seq, true);
  return b;
}

/** The generation in the answer's messages (NEWGEN, then the ACK), or why there is none. */
export function decodeGen(messages: readonly Uint8Array[]): Decoded<number> {
  const split = splitMessages(concat(messages));
  if (!split.ok) return split;
  for (const m of split.value) {
    if (m.type === NLMSG_ERROR) {
      const e = decodeError(m);
      if (!e.ok) return e;
      if (e.value !== 0) return fail('BAD_VALUE', `NFT_MSG_GETGEN: errno ${-e.value}`);
      continue;
    }
    if (m.type !== ((NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWGEN)) continue;
    const attrs = m.payload.length >= 4 ? parseAttrs(m.payload.subarray(4)) : undefined;
    const id = attrs?.get(NFTA_GEN_ID);
    if (!id || id.length < 4) return fail('MISSING_ATTRIBUTE', 'NFT_MSG_NEWGEN without NFTA_GEN_ID');
    return { ok: true, value: new DataView(id.buffer, id.byteOffset, 4).getUint32(0, false) };
  }
  return fail('TRUNCATED', 'no NFT_MSG_NEWGEN in the answer');
}

/** Reads the generation of this process's network namespace; `socket` for tests. */
export function nftGeneration(socket?: GenlSocket): { read(): Promise<number>; close(): void } {
  let sock = socket;
  let seq = 1;
  return {
    async read() {
      sock ??= openGenlSocket({ protocol: Protocol.NETFILTER, timeoutMs: 2000 });
      const r = decodeGen(await sock.request(encodeGetGen(seq++ >>> 0)));
      if (!r.ok) throw new Error(r.error.message);
      return r.value;
    },
    close() {
      sock?.close();
      sock = undefined;
    },
  };
}
