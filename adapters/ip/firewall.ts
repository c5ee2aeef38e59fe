// vrrp_strict without `accept` (keepalived.md §3.10, keepalived/vrrp/vrrp_nftables.c): a MASTER
// that does not own its addresses must not accept traffic for them (RFC 5798 Accept_Mode false).
// keepalived drops it with nftables; so does vigil, in its own table:
//   table inet vigil { set vips4 { type ipv4_addr; } set vips6 { type ipv6_addr; }
//     chain in  { type filter hook input  priority -1; icmpv6 neighbour discovery accepted;
//                 ip daddr @vips4 drop; ip6 daddr @vips6 drop }
//     chain out { type filter hook output priority -1; ND accepted;
//                 ip saddr @vips4 drop; ip6 saddr @vips6 drop } }
// Elements are added when an instance becomes MASTER and removed when it leaves. One `nft -f -`
// per change (rare: a state change), serialised.
import { spawn } from 'node:child_process';

export interface VipFirewall {
  /** drop traffic to and from these addresses (a non-accept MASTER's VIPs) */
  drop(addresses: readonly string[]): Promise<void>;
  /** stop dropping them */
  allow(addresses: readonly string[]): Promise<void>;
  /** remove vigil's table; idempotent */
  close(): Promise<void>;
}

const TABLE = 'vigil';

function nft(script: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const p = spawn('nft', ['-f', '-'], { stdio: ['pipe', 'ignore', 'pipe'] });
    let err = '';
    p.stderr.on('data', (d) => (err += String(d)));
    p.on('error', reject);
    p.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`nft: ${err.trim() || `exit ${code}`}`))));
    p.stdin.end(script);
  });
}

const SETUP = `table inet ${TABLE} {
  set vips4 { type ipv4_addr; }
  set vips6 { type ipv6_addr; }
  chain in {
    type filter hook input priority -1; policy accept;
    icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert } accept
    ip daddr @vips4 drop
    ip6 daddr @vips6 drop
  }
  chain out {
    type filter hook output priority -1; policy accept;
    icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert } accept
    ip saddr @vips4 drop
    ip6 saddr @vips6 drop
  }
}
`;

export function createNftFirewall(run: (script: string) => Promise<void> = nft): VipFirewall {
  let ready: Promise<void> | undefined;
  let queue: Promise<void> = Promise.resolve();
  const serial = (f: () => Promise<void>) => (queue = queue.then(f, f));
  const setup = () => (ready ??= run(`add table inet ${TABLE}\ndelete table inet ${TABLE}\n${SETUP}`));
  const elements = (op: 'add' | 'delete', addrs: readonly string[]) => {
    const v4 = addrs.filter((a) => !a.includes(':'));
    const v6 = addrs.filter((a) => a.includes(':'));
    return [
      v4.length ? `${op} element inet ${TABLE} vips4 { ${v4.join(', ')} }` : '',
      v6.length ? `${op} element inet ${TABLE} vips6 { ${v6.join(', ')} }` : '',
    ].filter(Boolean).join('\n');
  };
  return {
    drop: (addrs) => serial(async () => {
      await setup();
      // add is idempotent for set elements
      if (addrs.length) await run(elements('add', addrs) + '\n');
    }),
    allow: (addrs) => serial(async () => {
      if (!ready || !addrs.length) return;
      await ready;
      // delete fails for an absent element: add first, so the pair always succeeds
      await run(`${elements('add', addrs)}\n${elements('delete', addrs)}\n`);
    }),
    close: () => serial(async () => {
      if (!ready) return;
      ready = undefined;
      await run(`add table inet ${TABLE}\ndelete table inet ${TABLE}\n`).catch(() => undefined);
    }),
  };
}
