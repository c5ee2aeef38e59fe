// Effective priority and tracker faults, exactly as keepalived computes them (keepalived.md §3.7;
// keepalived/vrrp/vrrp_track.c process_script_update_priority, vrrp_set_effective_priority,
// track_file.c). Pure: the VRRP actor feeds tracker results in and sends the outcome to the
// instance machine as `priority.set` / `fault.set` / `fault.cleared`.

export type TrackerKind = 'script' | 'interface' | 'file' | 'process' | 'bfd';

export interface TrackerStatus {
  readonly kind: TrackerKind;
  readonly name: string;
  /** the weight in force for this instance (the instance's `weight` override, else the tracker's) */
  readonly weight: number;
  readonly reverse: boolean;
  /** 'unknown' until the tracker has reported once */
  readonly status: 'unknown' | 'ok' | 'failed';
  /** track_file only: the integer the file holds */
  readonly value?: number;
}

export interface PriorityOutcome {
  /** clamp(base + Σ contributions, 1, 254); 255 (owner) is never changed */
  readonly priority: number;
  /** the sum before clamping (keepalived's total_priority) */
  readonly total: number;
  /** fault flags raised by trackers, e.g. 'track:script:chk_nginx' */
  readonly faults: readonly string[];
  /** false while an unweighted tracker has not reported: the instance stays in INIT (§3.3) */
  readonly ready: boolean;
}

export const PRIO_OWNER = 255;

/** One tracker's contribution to the priority, or 'fault'. */
export function contribution(t: TrackerStatus): number | 'fault' {
  if (t.status === 'unknown') return 0;
  const ok = t.status === 'ok';
  if (t.kind === 'file') {
    const v = t.value ?? 0;
    // weight 0: a non-zero value is a fault (reverse: zero is)
    if (t.weight === 0) return (t.reverse ? v === 0 : v !== 0) ? 'fault' : 0;
    // value × weight (negated by reverse), clamped to [-254, 253]; -254 means FAULT
    const c = Math.max(-254, Math.min(253, t.reverse ? -v * t.weight : v * t.weight));
    return c === -254 ? 'fault' : c;
  }
  if (t.weight === 0) return (t.reverse ? ok : !ok) ? 'fault' : 0;
  if (t.weight > 0) {
    if (!ok) return 0;
    return t.reverse ? -t.weight : t.weight;
  }
  // weight < 0: applies while failed; reverse turns the penalty into a bonus
  if (ok) return 0;
  return t.reverse ? -t.weight : t.weight;
}

export function effectivePriority(base: number, trackers: readonly TrackerStatus[]): PriorityOutcome {
  let total = base;
  const faults: string[] = [];
  let ready = true;
  for (const t of trackers) {
    if (t.status === 'unknown' && t.weight === 0) ready = false;
    const c = contribution(t);
    if (c === 'fault') faults.push(`track:${t.kind}:${t.name}`);
    else total += c;
  }
  if (base === PRIO_OWNER) return { priority: PRIO_OWNER, total: PRIO_OWNER, faults, ready };
  const priority = total < 1 ? 1 : total >= PRIO_OWNER ? PRIO_OWNER - 1 : total;
  return { priority, total, faults, ready };
}
