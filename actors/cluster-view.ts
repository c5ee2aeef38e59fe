// The cluster as the event stream tells it: every node's instances with their last state, and per
// VRID who is MASTER. Flags split brain (two MASTERs for one VRID) and flapping instances. Pure:
// fold events in order, read the view at any moment (`vigil status --cluster`, the dashboard).
import type { BusEvent } from './bus.js';

export interface InstanceView {
  node: string;
  instance: string;
  vrid?: number;
  state: string;
  priority?: number;
  master?: string;
  /** ISO time of the last state change */
  since: string;
  /** state changes inside the flapping window */
  recentChanges: number;
  flapping: boolean;
}

export interface VridView {
  vrid: number;
  masters: string[];
  splitBrain: boolean;
}

export interface ClusterView {
  nodes: string[];
  instances: InstanceView[];
  vrids: VridView[];
  events: number;
}

export class ClusterFold {
  private readonly inst = new Map<string, InstanceView & { changes: number[] }>();
  private readonly stopped = new Set<string>();
  private count = 0;

  constructor(
    /** state changes within this window… */
    private readonly flapWindowMs = 10 * 60_000,
    /** …more than this many: flapping */
    private readonly flapThreshold = 6,
  ) {}

  add(e: BusEvent): void {
    this.count++;
    if (e.type === 'daemon.started') this.stopped.delete(e.node);
    if (e.type === 'daemon.stopping') this.stopped.add(e.node);
    if (e.type !== 'vrrp.state') return;
    const d = e.data as { instance: string; vrid?: number; to: string; priority?: number; master?: string };
    const key = `${e.node}\u0000${d.instance}`;
    const t = Date.parse(e.time);
    const prev = this.inst.get(key);
    // only the changes inside the window can count: a long-running fold stays bounded
    const changes = [...(prev?.changes ?? []).filter((c) => t - c <= this.flapWindowMs), t];
    this.inst.set(key, {
      node: e.node,
      instance: d.instance,
      ...(d.vrid !== undefined ? { vrid: d.vrid } : {}),
      state: d.to,
      ...(d.priority !== undefined ? { priority: d.priority } : {}),
      ...(d.master ? { master: d.master } : {}),
      since: e.time,
      recentChanges: 0,
      flapping: false,
      changes,
    });
  }

  /** an independent copy (the dashboard keeps copies as replay snapshots) */
  clone(): ClusterFold {
    const c = new ClusterFold(this.flapWindowMs, this.flapThreshold);
    for (const [k, v] of this.inst) c.inst.set(k, { ...v, changes: [...v.changes] });
    for (const n of this.stopped) c.stopped.add(n);
    c.count = this.count;
    return c;
  }

  view(now = Date.now()): ClusterView {
    const instances: InstanceView[] = [];
    for (const v of this.inst.values()) {
      v.changes = v.changes.filter((t) => now - t <= this.flapWindowMs);
      const { changes, ...rest } = v;
      // a node that announced its stop and has no later state is not MASTER any more
      const state = this.stopped.has(v.node) && v.state !== 'STOP' ? 'STOP' : v.state;
      instances.push({ ...rest, state, recentChanges: changes.length, flapping: changes.length > this.flapThreshold });
    }
    instances.sort((a, b) => a.node.localeCompare(b.node) || a.instance.localeCompare(b.instance));
    const byVrid = new Map<number, string[]>();
    for (const i of instances) {
      if (i.vrid === undefined) continue;
      const masters = byVrid.get(i.vrid) ?? [];
      if (i.state === 'MASTER') masters.push(`${i.node}/${i.instance}`);
      byVrid.set(i.vrid, masters);
    }
    const vrids = [...byVrid].sort((a, b) => a[0] - b[0]).map(([vrid, masters]) => ({ vrid, masters, splitBrain: masters.length > 1 }));
    return { nodes: [...new Set(instances.map((i) => i.node))].sort(), instances, vrids, events: this.count };
  }
}

export function formatClusterView(v: ClusterView): string {
  const lines: string[] = [];
  const w = Math.max(4, ...v.instances.map((i) => i.node.length));
  const wi = Math.max(8, ...v.instances.map((i) => i.instance.length));
  lines.push(`${'NODE'.padEnd(w)}  ${'INSTANCE'.padEnd(wi)}  VRID  STATE   PRIO  SINCE                     NOTE`);
  for (const i of v.instances) {
    const note = [i.flapping ? `FLAPPING (${i.recentChanges} changes in 10 min)` : '', i.master ? `master ${i.master}` : ''].filter(Boolean).join('; ');
    lines.push(
      `${i.node.padEnd(w)}  ${i.instance.padEnd(wi)}  ${String(i.vrid ?? '-').padStart(4)}  ${i.state.padEnd(6)}  ${String(i.priority ?? '-').padStart(4)}  ${i.since.padEnd(24)}  ${note}`,
    );
  }
  lines.push('');
  for (const r of v.vrids) {
    lines.push(
      r.splitBrain
        ? `VRID ${r.vrid}: SPLIT BRAIN: ${r.masters.length} MASTERs (${r.masters.join(', ')})`
        : `VRID ${r.vrid}: ${r.masters.length ? `MASTER ${r.masters[0]}` : 'no MASTER'}`,
    );
  }
  return lines.join('\n') + '\n';
}
