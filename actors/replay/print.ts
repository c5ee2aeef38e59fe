// How `vigil replay` prints a replay: a block per step (the recorded event, each event fed with
// the state before → after, each decision compared), or one JSON object per step; then a summary.
import type { BusEvent } from '../bus.js';
import { summary as eventSummary } from '../format-event.js';
import { verdictOf, type Check, type Move, type ReplayReport, type Step } from './types.js';

type Data = Record<string, unknown>;
const s = (x: unknown) => (x === undefined || x === null ? '' : typeof x === 'string' ? x : JSON.stringify(x));

/** one decision in a few words (the bus summary, made shorter for the health-check events) */
export function decision(type: string, d: Data): string {
  switch (type) {
    case 'vs.table': {
      const entries = (d['entries'] as Data[] | undefined) ?? [];
      return `table [${entries.map((t) => `${s(t['key'])} w${s(t['weight'])}${t['sorry'] ? ' sorry' : ''}`).join(', ')}]`;
    }
    case 'vs.rs':
      return `${s(d['rs'])} ${s(d['state'])} (${s(d['cause'])}${d['initial'] ? ', initial' : ''})`;
    case 'vs.quorum':
      return `quorum ${s(d['state'])} (weight ${s(d['weight'])}, threshold ${s(d['threshold'])}, ${s(d['cause'])})`;
    case 'vs.weight':
      return `${s(d['rs'])} weight ${s(d['from'])} → ${s(d['to'])}`;
    case 'vs.drain':
      return `${s(d['rs'])} ${d['drained'] ? 'drained' : 'restored'}`;
    case 'checker.state':
      return `${s(d['from'])} → ${s(d['to'])} (${s(d['cause'])}; attempts ${s(d['attempts'])}, consecutive ${s(d['consecutive'])}${d['first'] ? ', first' : ''})`;
    case 'checker.weight':
      return `weight ${s(d['from'])} → ${s(d['to'])}`;
    case 'daemon.reloaded':
      return 'configuration reloaded';
    default:
      return eventSummary({ type, data: d } as unknown as BusEvent);
  }
}

const actorOf = (e: BusEvent) => `${e.kind}/${e.name}`;

function moveLine(m: Move): string {
  // a machine told of another's move that changes nothing (a group hearing a report): one short line
  if (m.provenance === 'derived' && m.before === m.after) return `    fed ${m.actor}: ${m.event} [derived] (stays ${m.after})`;
  const why = m.why ? `${m.provenance}: ${m.why}` : m.provenance;
  return `    fed ${m.actor}: ${m.event} [${why}]\n        ${m.before} → ${m.after}`;
}

function checkLine(c: Check): string {
  if (c.ok) return `    ok  ${c.actor} ${c.type} ${decision(c.type, c.recorded!.data)}${c.unverified ? ` (not compared: ${c.unverified.join(', ')})` : ''}`;
  const head = `    MISMATCH ${c.actor} ${c.type}`;
  if (!c.recorded) return `${head}: replayed ${decision(c.type, c.replayed!)}, the record does not have it`;
  if (!c.replayed) return `${head}: recorded ${decision(c.type, c.recorded.data)}; ${c.note ?? 'not reproduced'}`;
  return `${head}\n      recorded ${decision(c.type, c.recorded.data)}\n      replayed ${decision(c.type, c.replayed)}\n${c.diff.map((d) => `      ${d}`).join('\n')}`;
}

export function stepText(st: Step): string {
  const e = st.event;
  const out = [`#${st.index} ${e.time} ${actorOf(e)} ${e.type} ${decision(e.type, e.data)}`];
  for (const n of st.notes) out.push(`    note: ${n}`);
  for (const m of st.moves) out.push(moveLine(m));
  for (const c of st.checks) out.push(checkLine(c));
  if (st.unreplayable !== undefined) out.push(`    NOT REPLAYED: ${st.unreplayable}`);
  return out.join('\n');
}

export function stepJson(st: Step): Data {
  return {
    index: st.index,
    time: st.event.time,
    actor: actorOf(st.event),
    type: st.event.type,
    verdict: verdictOf(st),
    event: st.event,
    moves: st.moves,
    checks: st.checks.map((c) => ({
      actor: c.actor,
      type: c.type,
      ok: c.ok,
      ...(c.recorded ? { recorded: c.recorded.data, recordedId: c.recorded.id } : {}),
      ...(c.replayed ? { replayed: c.replayed } : {}),
      ...(c.diff.length ? { diff: c.diff } : {}),
      ...(c.unverified ? { unverified: c.unverified } : {}),
      ...(c.note ? { note: c.note } : {}),
    })),
    ...(st.unreplayable !== undefined ? { unreplayable: st.unreplayable } : {}),
    ...(st.notes.length ? { notes: st.notes } : {}),
  };
}

export interface Tally {
  steps: number;
  match: number;
  mismatch: number;
  unreplayable: number;
  fed: number;
  note: number;
}

export function tally(steps: readonly Step[]): Tally {
  const t: Tally = { steps: steps.length, match: 0, mismatch: 0, unreplayable: 0, fed: 0, note: 0 };
  for (const st of steps) t[verdictOf(st)]++;
  return t;
}

const counts = (m: ReadonlyMap<string, number>) => [...m].map(([k, n]) => `${k} ${n}`).join(', ');

export function summaryText(report: ReplayReport, t: Tally, reasons: Readonly<Record<string, string>>): string {
  const out = [
    `${t.steps} step(s): ${t.match} match, ${t.mismatch} MISMATCH, ${t.unreplayable} not replayable${t.fed ? `, ${t.fed} fed without a decision to compare` : ''}${t.note ? `, ${t.note} note(s)` : ''}`,
  ];
  if (report.notReplayed.size) {
    out.push(`recorded decisions of machines not replayed: ${counts(report.notReplayed)}`);
    for (const k of report.notReplayed.keys()) if (reasons[k]) out.push(`  ${k}: ${reasons[k]}`);
  }
  if (report.notMachine.size) out.push(`other events (no machine decision to compare): ${counts(report.notMachine)}`);
  return out.join('\n');
}
