// One line per event for `vigil events` / `vigil history`, in the words an operator reads:
//   21:00:03.521 lb1 VI_1 BACKUP → MASTER (master-down-timeout, priority 150)
import type { BusEvent } from './bus.js';

type D = Record<string, unknown>;
const s = (x: unknown) => (x === undefined || x === null ? '' : String(x));

export function summary(e: BusEvent): string {
  const d = e.data as D;
  switch (e.type) {
    case 'vrrp.state':
      return `${s(d['from'])} → ${s(d['to'])} (${s(d['cause'])}${d['detail'] ? ` ${s(d['detail'])}` : ''}, priority ${s(d['priority'])}${d['master'] ? `, master ${s(d['master'])}` : ''})`;
    case 'vrrp.priority':
      return `priority ${s(d['from'])} → ${s(d['to'])}${d['cause'] ? ` (${s(d['cause'])})` : ''}`;
    case 'vrrp.rx-lower-priority':
      return `heard lower priority ${s(d['priority'])} from ${s(d['src'])} (ours ${s(d['ours'])})${d['suppressed'] ? ` (${s(d['suppressed'])} adverts since the last report)` : ''}`;
    case 'vrrp.conflict':
      return `conflict with ${s(d['src'])}: ${s(d['detail'])}`;
    case 'vrrp.drop':
      return `dropped ${s(d['count'])} advert(s): ${s(d['reason'])}${d['src'] ? ` from ${s(d['src'])}` : ''}`;
    case 'sync.state':
      return `group ${s(d['from'])} → ${s(d['to'])} (by ${s(d['cause'])})`;
    case 'track.state':
      return `${s(d['state'])}${d['cause'] ? ` (${s(d['cause'])})` : ''}${d['count'] !== undefined ? ` (${s(d['count'])} running)` : ''}`;
    case 'track.value':
      return `value ${d['previous'] !== undefined ? `${s(d['previous'])} → ` : ''}${s(d['value'])}`;
    case 'nats.state':
      return `NATS ${s(d['from'])} → ${s(d['to'])} (${s(d['cause'])}, ${s(d['pending'])} pending)`;
    case 'daemon.started':
      return `started (vigil ${s(d['version'])}, ${s(d['instances'])} instance(s))`;
    case 'daemon.stopping':
      return 'stopping';
    case 'notify.script-exited':
      return `${s(d['script'])} ${s(d['state'])}: ${d['timedOut'] ? 'killed at its timeout' : d['error'] ? `not run (${s(d['error'])})` : d['exitCode'] === null ? `killed by ${s(d['signal'])}` : `exit ${s(d['exitCode'])}`}`;
    case 'notify.mail-sent':
      return `mail sent: ${s(d['subject'])}${d['coalesced'] ? ` (${s(d['coalesced'])} coalesced)` : ''} (attempt ${s(d['attempt'])})`;
    case 'notify.mail-failed':
      return `mail ${d['permanent'] ? 'given up' : 'not sent, retrying'}: ${s(d['error'])} (attempt ${s(d['attempt'])})`;
    default:
      return JSON.stringify(d);
  }
}

export function formatLine(e: BusEvent): string {
  return `${e.time} ${e.node} ${e.kind}/${e.name} ${e.type} ${summary(e)}`;
}

export interface EventFilter {
  node?: string;
  /** actor name (instance, group, tracker) */
  name?: string;
  kind?: string;
  type?: string;
  /** ms since the epoch */
  since?: number;
}

export function matches(e: BusEvent, f: EventFilter): boolean {
  if (f.node && e.node !== f.node) return false;
  if (f.name && e.name !== f.name) return false;
  if (f.kind && e.kind !== f.kind) return false;
  if (f.type && e.type !== f.type && !e.type.startsWith(`${f.type}.`)) return false;
  if (f.since !== undefined && Date.parse(e.time) < f.since) return false;
  return true;
}

/** `--since` as an ISO time or a duration back from now: 90s, 10m, 2h, 1d. */
export function parseSince(text: string, now = Date.now()): number | undefined {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(text);
  if (m) {
    const unit = { ms: 1, s: 1e3, m: 60e3, h: 3600e3, d: 86400e3 }[m[2] as 'ms' | 's' | 'm' | 'h' | 'd'];
    return now - Number(m[1]) * unit;
  }
  const t = Date.parse(text);
  return Number.isNaN(t) ? undefined : t;
}
