// An in-memory LoadBalancer: the data plane is a table in normal form. Controls let unit tests
// flush it behind the adapter's back (drift) and make the next apply fail.
import { LbError } from '../../adapters/lb/errors.js';
import { diffTables, normalizeTable } from '../../adapters/lb/table.js';
import type { ApplyResult, LbSyncDaemon, LbTable, LbTimeouts, LoadBalancer } from '../../adapters/lb/types.js';

/** What the "kernel" holds; fakes made on one store share it, as drivers share the kernel. */
export interface FakeDataplane {
  table: LbTable;
}

export class FakeLoadBalancer implements LoadBalancer {
  readonly driver = 'fake' as const;
  /** apply() calls that reached the data plane */
  applies = 0;
  private failure: LbError | undefined;
  private closed = false;

  constructor(readonly store: FakeDataplane = { table: { services: [] } }) {}

  async apply(table: LbTable): Promise<ApplyResult> {
    this.check();
    const desired = normalizeTable(table);
    if (this.failure) {
      const err = this.failure;
      this.failure = undefined;
      throw err;
    }
    const changes = diffTables(this.store.table, desired);
    if (changes.length) {
      this.applies++;
      this.store.table = desired;
    }
    return { changes };
  }

  async read(): Promise<LbTable> {
    this.check();
    return this.store.table;
  }

  async close({ keep = false, all = false }: { keep?: boolean; all?: boolean } = {}): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.closedWith = { keep, all };
    if (!keep) this.store.table = { services: [] };
  }

  /** how close() was called (the daemon's `-I` and lvs_flush_on_stop reach it) */
  closedWith: { keep: boolean; all: boolean } | undefined;
  /** flush() calls (lvs_flush) */
  flushes = 0;

  /** syncDaemon() calls (lvs_sync_daemon) */
  readonly syncCalls: [string, LbSyncDaemon][] = [];

  async syncDaemon(role: 'master' | 'backup' | 'stopped', d: LbSyncDaemon): Promise<void> {
    this.check();
    this.syncCalls.push([role, d]);
  }

  /** setTimeouts() calls (lvs_timeouts) */
  readonly timeoutCalls: (LbTimeouts | undefined)[] = [];

  async setTimeouts(t: LbTimeouts | undefined): Promise<void> {
    this.check();
    this.timeoutCalls.push(t);
  }

  async flush(): Promise<void> {
    this.check();
    this.flushes++;
    this.store.table = { services: [] };
  }

  /** someone ran `ipvsadm -C` / `nft flush ruleset` */
  flushBehindBack(): void {
    this.store.table = { services: [] };
  }

  /** the next apply rejects with `err` after validating its table */
  failNextApply(err = new LbError('NFT_FAILED', 'injected failure')): void {
    this.failure = err;
  }

  private check(): void {
    if (this.closed) throw new LbError('CLOSED', 'the fake load balancer is closed');
  }
}
