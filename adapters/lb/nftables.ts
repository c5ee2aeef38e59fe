// The nftables LB driver: NAT load balancing in vigil's own table (`inet vigil_lb` by default;
// `inet vigil` belongs to vrrp_strict, adapters/ip/firewall.ts), for kernels without IPVS. The
// model and its trade-offs (schedulers, persistence, quiescing) are in nftModel.ts.
//
// apply() lists the table, builds the model of the desired table, and when they differ sends one
// `nft -f -` transaction that rewrites only the chains that changed. If the table changed in
// between, the transaction fails whole and is retried on a fresh listing. While the ruleset
// generation shows that nothing but our own last commit changed any table, the listing is skipped
// and the model of that commit stands for it.
//
// A director forwards: NAT to another host needs IP forwarding, so the first apply with services
// of a family turns it on if it is off (net.ipv4.ip_forward, net.ipv6.conf.all.forwarding) and
// close() puts it back; `manageForwarding: false` leaves it alone. (IPv6 forwarding makes every
// interface stop accepting router advertisements unless accept_ra is 2.) Replies must come back
// through the director: either the real servers route through it (classic LVS-NAT), or
// `masquerade: true` rewrites the source of balanced connections to the director's address (the
// real servers then see the director, not the client). A one-armed director (clients and real
// servers on one link) should also set net.ipv4.conf.*.send_redirects=0, or it tells clients to
// bypass it. NAT needs conntrack, which nftables loads itself; size nf_conntrack_max for the load.
//
// Every command runs behind `prefix` (e.g. ['ip', 'netns', 'exec', 'lb1']), nft and sysctl alike,
// so the whole data plane can live in another network namespace.
import { spawn } from 'node:child_process';
import type { Logger } from 'pino';
import { LbError } from './errors.js';
import {
  buildModel,
  changedChains,
  deleteTableScript,
  modelToTable,
  parseListing,
  sameModel,
  transaction,
  type ModelMemo,
  type NftModel,
} from './nftModel.js';
import { nftGeneration } from './nftGen.js';
import { diffTables, normalizeTable } from './table.js';
import type { ApplyResult, LbFamily, LbService, LbTable, LoadBalancer } from './types.js';

/** Runs argv[0] with the rest as arguments, `input` on stdin; resolves stdout, rejects with stderr. */
export type CommandRunner = (argv: readonly string[], input?: string) => Promise<string>;

export interface NftablesOptions {
  /** table name in the inet family (default `vigil_lb`) */
  readonly table?: string;
  /** command prefix for nft and sysctl, e.g. ['ip', 'netns', 'exec', 'NS'] */
  readonly prefix?: readonly string[];
  /** masquerade balanced connections (default false: the real servers route replies via the director) */
  readonly masquerade?: boolean;
  /** turn IP forwarding on when needed and restore it on close (default true) */
  readonly manageForwarding?: boolean;
  /** how commands run (default: spawn) */
  readonly run?: CommandRunner;
  readonly log?: Pick<Logger, 'info' | 'warn'>;
  /**
   * The ruleset generation (nftGen.ts): while it has not moved since the table last matched, a
   * re-apply of the same table lists nothing. Default: read over netlink when commands run in this
   * process's namespace (no `prefix`, no `run`); false: always list.
   */
  readonly generation?: (() => Promise<number>) | false;
}

export const DEFAULT_NFT_TABLE = 'vigil_lb';
const ATTEMPTS = 3;

export const spawnRunner: CommandRunner = (argv, input) =>
  new Promise((resolve, reject) => {
    const [cmd, ...args] = argv;
    if (!cmd) return reject(new Error('empty command'));
    const p = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => (out += String(d)));
    p.stderr.on('data', (d) => (err += String(d)));
    p.on('error', reject);
    p.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(err.trim() || `${cmd} exited with ${code}`))));
    p.stdin.on('error', () => undefined); // a command that exits before reading its input reports through its exit code
    p.stdin.end(input ?? '');
  });

const FORWARDING: Record<LbFamily, string> = { 4: 'net.ipv4.ip_forward', 6: 'net.ipv6.conf.all.forwarding' };

export function createNftablesLb(opts: NftablesOptions = {}): LoadBalancer {
  const table = opts.table ?? DEFAULT_NFT_TABLE;
  const prefix = opts.prefix ?? [];
  const run = opts.run ?? spawnRunner;
  const masquerade = opts.masquerade ?? false;
  const manageForwarding = opts.manageForwarding ?? true;
  const ownGen = opts.generation === undefined && !opts.prefix?.length && !opts.run ? nftGeneration() : undefined;
  const readGen = opts.generation || ownGen?.read;
  /** the generation, or undefined when it cannot be read (the listing decides then) */
  const generation = async (): Promise<number | undefined> => {
    try {
      return await readGen?.();
    } catch {
      return undefined;
    }
  };
  /** forwarding values found before we turned them on */
  const forwardingWas = new Map<LbFamily, string>();
  let closed = false;
  let queue: Promise<unknown> = Promise.resolve();
  const serial = <T>(f: () => Promise<T>): Promise<T> => {
    const next = queue.then(() => {
      if (closed) throw new LbError('CLOSED', 'the nftables load balancer is closed');
      return f();
    });
    queue = next.catch(() => undefined);
    return next;
  };

  const nft = async (args: string[], input?: string): Promise<string> => {
    try {
      return await run([...prefix, 'nft', ...args], input);
    } catch (err) {
      const msg = (err as Error).message;
      throw new LbError('NFT_FAILED', `nft ${args.join(' ')}: ${msg.split('\n').slice(0, 6).join('\n')}`, {}, { cause: err });
    }
  };

  /** the table's listing as nft prints it ('' when there is none) */
  const listText = async (): Promise<string> => {
    try {
      return await nft(['-j', '-t', 'list', 'table', 'inet', table]);
    } catch (err) {
      if (/No such file or directory/.test((err as Error).message)) return '';
      throw err;
    }
  };
  const parse = (text: string): NftModel | undefined => {
    if (text === '') return undefined;
    try {
      return parseListing(JSON.parse(text), table);
    } catch (err) {
      throw new LbError('NFT_FAILED', `nft -j list table inet ${table}: output is not JSON`, {}, { cause: err });
    }
  };
  const list = async (): Promise<NftModel | undefined> => parse(await listText());

  /**
   * The last table given to apply() and the listing found to match it. The LB actor re-applies the
   * same table object every few seconds to repair drift: while the kernel's listing is the same text
   * as when they last matched, nothing needs parsing, building or comparing (about 60 ms of the
   * event loop for 1,000 destinations, bench/checkers.md). No text: matched by `known` alone.
   */
  let inSync: { table: LbTable; text?: string; gen: number | undefined } | undefined;
  /**
   * What the kernel's table is, without listing it: the model and table vigil last committed or
   * found there, and the ruleset generation that vouches for them (read right after our commit,
   * which alone moved it by one). While the generation still reads the same, an apply starts from
   * these: no `nft list`, no JSON, and only the services that changed are built and compared
   * (the memos below). A 1,000-destination apply took about 33 ms of the event loop, more than a
   * 20 ms advert interval, each time a burst of checker results changed one service.
   */
  let known: { model: NftModel; table: LbTable; gen: number } | undefined;
  const normalMemo = new WeakMap<LbService, LbService>();
  const modelMemo: ModelMemo = new WeakMap();

  const sysctl = async (args: string[]): Promise<string> => {
    try {
      return (await run([...prefix, 'sysctl', ...args])).trim();
    } catch (err) {
      throw new LbError('SYSCTL_FAILED', `sysctl ${args.join(' ')}: ${(err as Error).message}`, {}, { cause: err });
    }
  };

  const ensureForwarding = async (t: LbTable) => {
    if (!manageForwarding) return;
    for (const family of new Set(t.services.map((s) => s.family))) {
      if (forwardingWas.has(family)) continue;
      const key = FORWARDING[family];
      const was = await sysctl(['-n', key]);
      forwardingWas.set(family, was);
      if (was !== '1') {
        await sysctl(['-qw', `${key}=1`]);
        opts.log?.info({ sysctl: key, was }, `load balancer: enabled ${key} (was ${was})`);
      }
    }
  };

  return {
    driver: 'nftables',

    apply: (table_) =>
      serial(async (): Promise<ApplyResult> => {
        let text: string | undefined;
        // read before the listing it vouches for: a change in between moves it, and the next check lists
        let gen = await generation();
        if (inSync?.table === table_) {
          if (gen !== undefined && gen === inSync.gen) return { changes: [] };
          text = await listText();
          if (text === inSync.text) {
            inSync.gen = gen;
            return { changes: [] };
          }
        }
        inSync = undefined;
        const desiredTable = normalizeTable(table_, normalMemo);
        const desired = buildModel(desiredTable, { masquerade }, modelMemo);
        await ensureForwarding(desiredTable);
        for (let attempt = 1; ; attempt++) {
          let current: NftModel | undefined;
          let currentTable: LbTable | undefined;
          if (text === undefined && attempt === 1 && known && gen !== undefined && gen === known.gen) {
            ({ model: current, table: currentTable } = known);
          } else {
            if (text === undefined) {
              if (attempt > 1) gen = await generation();
              text = await listText();
            }
            current = parse(text);
          }
          // no services: no table at all
          if (desiredTable.services.length === 0 ? current === undefined : sameModel(current, desired)) {
            inSync = { table: table_, ...(text === undefined ? {} : { text }), gen };
            known = gen !== undefined && current ? { model: desired, table: desiredTable, gen } : undefined;
            return { changes: [] };
          }
          text = undefined;
          known = undefined;
          const changes = diffTables(currentTable ?? (current ? modelToTable(current) : { services: [] }), desiredTable);
          const script = desiredTable.services.length === 0 ? deleteTableScript(table) : transaction(table, current, desired);
          try {
            await nft(['-f', '-'], script);
          } catch (err) {
            if (attempt < ATTEMPTS) continue; // the table moved under us: list again
            throw err;
          }
          // our commit alone moved the generation by one: the kernel holds exactly `desired`
          const after = await generation();
          if (gen !== undefined && after === ((gen + 1) >>> 0) && desiredTable.services.length) {
            known = { model: desired, table: desiredTable, gen: after };
            inSync = { table: table_, gen: after };
          }
          if (changes.length) return { changes };
          const chains = changedChains(current, desired);
          const detail =
            desiredTable.services.length === 0
              ? `nft table inet ${table}: removed (it had no services vigil could read)`
              : `nft table inet ${table}: rewrote ${chains.length ? chains.slice(0, 4).join(', ') + (chains.length > 4 ? ` and ${chains.length - 4} more chains` : '') : 'its sets'}`;
          return { changes: [{ kind: 'dataplane.repaired', detail }] };
        }
      }),

    read: () =>
      serial(async () => {
        const current = await list();
        return current ? modelToTable(current) : { services: [] };
      }),

    // vigil's table is the whole of this data plane: nothing else to flush (IPVS, which others
    // share, is the IPVS driver's), and `all` on close removes what close removes anyway
    flush: () =>
      serial(async () => {
        inSync = undefined;
        known = undefined;
        await nft(['-f', '-'], deleteTableScript(table));
      }),

    close: async ({ keep = false } = {}) => {
      await serial(async () => {
        inSync = undefined;
        ownGen?.close();
        if (!keep) {
          await nft(['-f', '-'], deleteTableScript(table));
          for (const [family, was] of forwardingWas) if (was !== '1') await sysctl(['-qw', `${FORWARDING[family]}=${was}`]);
        }
        closed = true;
      }).catch((err: unknown) => {
        if (!(err instanceof LbError && err.code === 'CLOSED')) throw err;
      });
    },
  };
}
