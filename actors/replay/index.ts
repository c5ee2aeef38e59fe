// `vigil replay`'s core, free of I/O: one node's recorded events and its configuration in, the
// replay's steps out (engine.ts; the machines' rules in vrrp-rules.ts and lvs-rules.ts).
import type { KeepalivedConfig } from '../../adapters/config/index.js';
import type { BusEvent } from '../bus.js';
import type { ReloadReport } from '../daemon.js';
import { Replay, type Listener } from './engine.js';
import { checkerRules, lvsListener, vsRules } from './lvs-rules.js';
import { replayModel } from './model.js';
import type { ReplayReport } from './types.js';
import { groupRules, vrrpListener, vrrpRules } from './vrrp-rules.js';

/** a reload is noted where it happened: the one configuration given drives the whole replay */
const daemonListener: Listener = (r, e) => {
  if (e.type !== 'daemon.reloaded') return;
  const d = e.data as Partial<ReloadReport>;
  const vs = d.virtualServers;
  const parts = [
    d.changed?.length ? `changed in place: ${d.changed.map((c) => `${c.instance} (${c.fields.join(', ')})`).join(', ')}` : '',
    d.added?.length ? `added: ${d.added.join(', ')}` : '',
    d.replaced?.length ? `replaced: ${d.replaced.join(', ')}` : '',
    d.removed?.length ? `removed: ${d.removed.join(', ')}` : '',
    vs?.replaced.length ? `virtual servers replaced: ${vs.replaced.join(', ')}` : '',
    vs?.added.length ? `virtual servers added: ${vs.added.join(', ')}` : '',
  ].filter(Boolean);
  r.note(`configuration reloaded${parts.length ? ` (${parts.join('; ')})` : ''}: the replay runs one configuration throughout, the one given`);
};

export type { Check, Move, Provenance, ReplayReport, Step, Verdict } from './types.js';
export { verdictOf } from './types.js';
export { replayModel, type ReplayModel } from './model.js';

/** The actor kinds replayed, as the bus names them. */
export const REPLAYED_KINDS = ['vrrp', 'sync-group', 'vs', 'checker'] as const;

/**
 * Replay `events` (one node's, in record order) through the machines `config` describes. The
 * events may run until `until` (ms since the epoch); later ones are not replayed.
 */
export function replay(config: KeepalivedConfig, node: string, events: Iterable<BusEvent>, opts: { until?: number } = {}): ReplayReport {
  const record = [...events].filter((e) => e.node === node);
  // listeners in the daemon's order: on a stop, the health checks end before the instances
  const r = new Replay(replayModel(config), node, [vrrpRules, groupRules, vsRules, checkerRules], [lvsListener, vrrpListener, daemonListener], record);
  return r.run(opts.until);
}
