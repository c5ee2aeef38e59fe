// How a bus event travels outside the process: its NATS subject and its CloudEvents headers.
//
// Subjects: vigil.<cluster>.<node>.<kind>.<name>.<type-suffix>, e.g.
//   vigil.prod.lb1.vrrp.VI_1.state        (type 'vrrp.state')
//   vigil.prod.lb1.track.chk_nginx.state  (type 'track.state')
// so a subscriber filters one node (vigil.prod.lb1.>), one instance (vigil.*.*.vrrp.VI_1.>), or every
// VRRP state change of the cluster (vigil.prod.*.vrrp.*.state). Tokens are sanitised: characters NATS
// gives a meaning to ('.', '*', '>', whitespace) become '_'.
import type { BusEvent } from './bus.js';

export const SUBJECT_ROOT = 'vigil';

export function token(s: string): string {
  const t = s.replace(/[.*>\s]/g, '_');
  return t === '' ? '_' : t;
}

/** 'vrrp.state' → 'state'; a type without its kind's prefix stays whole (dots sanitised). */
export function typeSuffix(e: Pick<BusEvent, 'kind' | 'type'>): string {
  const p = `${e.kind}.`;
  return token(e.type.startsWith(p) ? e.type.slice(p.length) : e.type);
}

export function subjectFor(e: Pick<BusEvent, 'node' | 'kind' | 'name' | 'type'>, cluster: string): string {
  return [SUBJECT_ROOT, token(cluster), token(e.node), token(e.kind), token(e.name), typeSuffix(e)].join('.');
}

/** The stream's subject filter for a cluster. */
export const clusterSubjects = (cluster: string) => `${SUBJECT_ROOT}.${token(cluster)}.>`;

/**
 * CloudEvents 1.0 binary-mode headers (https://github.com/cloudevents/spec, NATS protocol binding):
 * the body stays the envelope's JSON; these let CloudEvents tooling read it without parsing.
 */
export function cloudEventHeaders(e: BusEvent, cluster: string): Record<string, string> {
  return {
    'ce-specversion': '1.0',
    'ce-id': e.id,
    'ce-source': `vigil://${token(cluster)}/${token(e.node)}/${token(e.kind)}/${token(e.name)}`,
    'ce-type': `io.vigil.${e.type}`,
    'ce-time': e.time,
    'ce-datacontenttype': 'application/json',
    ...(e.cause ? { 'ce-vigilcause': e.cause } : {}),
    'ce-vigilcorrelation': e.correlation,
  };
}

const isText = (x: unknown): x is string => typeof x === 'string' && x !== '';

/**
 * Whether a message read back from outside (NATS, a copied journal) is a vigil event envelope:
 * consumers fold and print the fields checked here, so anything else on the subjects (a foreign
 * publisher, a truncated body) is skipped and counted instead of crashing them.
 */
export function isBusEvent(x: unknown): x is BusEvent {
  if (typeof x !== 'object' || x === null || Array.isArray(x)) return false;
  const e = x as Record<string, unknown>;
  return (
    e.v === 1 && isText(e.id) && isText(e.node) && isText(e.kind) && isText(e.name) && isText(e.type) && isText(e.correlation) &&
    isText(e.time) && !Number.isNaN(Date.parse(e.time)) && typeof e.data === 'object' && e.data !== null && !Array.isArray(e.data)
  );
}
