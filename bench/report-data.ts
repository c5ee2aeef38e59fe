// bench/report-data.ts: what bench/report-lib.ts and bench/report-benches.ts share. Reading the
// benchmarks' JSON as untrusted input (a missing or mistyped field is a ShapeError naming its path,
// a broken file an error naming file:line:col), formatting numbers, and the report's types.

import { type Figure, type FiveNum, toSvg } from './plot.js';

// ---------------------------------------------------------------------------------------------
// inputs

/** One JSON file the report reads: absent, unparsable (`error`), or its parsed content. */
export interface Input {
  file: string;
  data?: unknown;
  error?: string;
}

/** Keyed by file name inside bench/ (`failover.json`); a missing key is a file that is not there. */
export type Inputs = Readonly<Record<string, Input | undefined>>;

/** A JSON text parsed, or an error naming file:line:col. */
export function parseJson(text: string, file: string): Input {
  try {
    return { file, data: JSON.parse(text) as unknown };
  } catch (err) {
    // V8's message gives a position for some errors only ("Unexpected token '}', ... is not
    // valid JSON" has none), so the place is found by scanning the text again
    const at = jsonErrorOffset(text);
    const before = text.slice(0, Math.max(at, 0)).split('\n');
    const where = at < 0 ? file : `${file}:${before.length}:${(before[before.length - 1]?.length ?? 0) + 1}`;
    const msg = (err as Error).message.replace(/\s+/g, ' ');
    return { file, error: `${where}: not valid JSON: ${msg.length > 120 ? `${msg.slice(0, 117)}...` : msg}` };
  }
}

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;

/** Where the JSON grammar first fails in `t` (offset), or -1 if it does not (or nests too deep to tell). */
export function jsonErrorOffset(t: string): number {
  let i = 0;
  const fail = (): never => { throw i; };
  const ws = (): void => { while (i < t.length && ' \t\n\r'.includes(t[i]!)) i++; };
  const string = (): void => {
    i++; // the opening quote
    while (i < t.length) {
      const ch = t[i]!;
      if (ch === '"') { i++; return; }
      if (ch < ' ') fail();
      if (ch !== '\\') { i++; continue; }
      i++;
      if (t[i] === 'u' && /^[0-9a-fA-F]{4}$/.test(t.slice(i + 1, i + 5))) i += 5;
      else if ('"\\/bfnrt'.includes(t[i] ?? 'x')) i++;
      else fail();
    }
    fail();
  };
  const value = (): void => {
    ws();
    const ch = t[i];
    if (ch === '{' || ch === '[') {
      const close = ch === '{' ? '}' : ']';
      i++;
      ws();
      if (t[i] === close) { i++; return; }
      for (;;) {
        if (close === '}') {
          ws();
          if (t[i] !== '"') fail();
          string();
          ws();
          if (t[i] !== ':') fail();
          i++;
        }
        value();
        ws();
        if (t[i] === ',') { i++; continue; }
        if (t[i] === close) { i++; return; }
        fail();
      }
    }
    if (ch === '"') return string();
    for (const word of ['true', 'false', 'null']) if (t.startsWith(word, i)) { i += word.length; return; }
    NUMBER.lastIndex = i;
    if (!NUMBER.test(t)) fail();
    i = NUMBER.lastIndex;
  };
  try {
    value();
    ws();
    return i < t.length ? i : -1;
  } catch (at) {
    return typeof at === 'number' ? at : -1; // a RangeError: nested deeper than the stack
  }
}

/** A field missing or of the wrong type; the message carries its path in the file. */
export class ShapeError extends Error {
  override readonly name = 'ShapeError';
}

export type Obj = Readonly<Record<string, unknown>>;

export function obj(v: unknown, where: string): Obj {
  if (v && typeof v === 'object' && !Array.isArray(v)) return v as Obj;
  throw new ShapeError(`${where}: expected an object`);
}

export function list(v: unknown, where: string): readonly unknown[] {
  if (Array.isArray(v)) return v;
  throw new ShapeError(`${where}: expected an array`);
}

export const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

export function num(v: unknown, where: string): number {
  if (isNum(v)) return v;
  throw new ShapeError(`${where}: expected a number`);
}

/** A number, or null when the benchmark wrote null (not measured) or left it out. */
export function numOrNull(v: unknown, where: string): number | null {
  if (v === null || v === undefined) return null;
  return num(v, where);
}

export function str(v: unknown, where: string): string {
  if (typeof v === 'string') return v;
  throw new ShapeError(`${where}: expected a string`);
}

export const optStr = (v: unknown): string | null => (typeof v === 'string' ? v : null);

/** The benchmarks' summary statistics ({ n, median, p25, p75, min, max }), or null if absent. */
export function stats(v: unknown, where: string): (FiveNum & { n: number; p99?: number }) | null {
  if (v === null || v === undefined) return null;
  const o = obj(v, where);
  const five = {
    n: num(o.n, `${where}.n`), min: num(o.min, `${where}.min`), p25: num(o.p25, `${where}.p25`),
    median: num(o.median, `${where}.median`), p75: num(o.p75, `${where}.p75`), max: num(o.max, `${where}.max`),
  };
  return isNum(o.p99) ? { ...five, p99: o.p99 } : five;
}

// ---------------------------------------------------------------------------------------------
// numbers as text

export function fmtMs(x: number | null | undefined): string {
  if (!isNum(x)) return '–';
  const a = Math.abs(x);
  if (a >= 100) return x.toFixed(0);
  if (a >= 10) return x.toFixed(1);
  if (a >= 1) return x.toFixed(2);
  return x.toFixed(3);
}

/** 1000 → "1,000" (by hand: the report must not depend on the locale) */
export const fmtInt = (n: number): string => String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',');

export const fmtRatio = (x: number | null | undefined, digits = 2): string => (isNum(x) ? x.toFixed(digits) : '–');

/** b > 0: a ÷ b; otherwise there is no ratio. */
export function ratio(a: number | null | undefined, b: number | null | undefined): number | null {
  return isNum(a) && isNum(b) && b > 0 ? a / b : null;
}

/** The benchmarks write medians rounded to 3 decimals; ratios are kept to 4 here, shown with 2 or 3. */
export const r4 = (x: number | null): number | null => (x === null ? null : Math.round(x * 1e4) / 1e4);

export function table(head: readonly string[], rows: readonly (readonly string[])[], align?: string): string[] {
  const line = (cells: readonly string[]): string => `| ${cells.map((s) => s.replace(/\|/g, '\\|')).join(' | ')} |`;
  const sep = head.map((_, i) => ((align?.[i] ?? (i === 0 ? 'l' : 'r')) === 'l' ? '---' : '---:'));
  return [line(head), `| ${sep.join(' | ')} |`, ...rows.map(line), ''];
}

/** "2026-11-25T20:44:56.996Z" → "2026-11-25 20:44 UTC" */
export const shortDate = (iso: string | null): string => (iso && /^\d{4}-\d\d-\d\dT\d\d:\d\d/.test(iso) ? `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC` : iso ?? 'unknown');

// ---------------------------------------------------------------------------------------------
// the report's parts

/** Where a run happened and of what: the header's rows, one per JSON file read. */
export interface RunEnv {
  file: string;
  date: string | null;
  commit: string | null;
  kernel: string | null;
  cpu: string | null;
  node: string | null;
  /** the baselines' and tools' versions, e.g. "keepalived: Keepalived v2.2.7 (01/16,2022)" */
  versions: string[];
}

export interface Goal {
  text: string;
  /** where the goal is set: an issue, a benchmark, or this report */
  from: string;
}

export interface HeadlineRow {
  section: string;
  figure: string;
  baseline: string;
  /** the ratios behind `shown`, in order (null: not measured) */
  ratios: (number | null)[];
  shown: string;
  goal: Goal | null;
  /** null: no goal, or nothing measured to judge it by */
  met: boolean | null;
  source: string;
}

export interface Plot {
  /** path relative to bench/ */
  file: string;
  caption: string;
  svg: string;
}

export type SectionStatus = 'ok' | 'partial' | 'not run' | 'unreadable';

export interface Section {
  id: string;
  title: string;
  status: SectionStatus;
  /** JSON files read, and the ones that were missing or unreadable */
  sources: string[];
  missing: string[];
  /** inputs that could not be parsed or had the wrong shape: counted and logged, never guessed at */
  errors: string[];
  detail: string[];
  notes: string[];
  body: string[];
  plots: Plot[];
  headline: HeadlineRow[];
}

export interface Report {
  runs: RunEnv[];
  headline: HeadlineRow[];
  sections: Section[];
}

/** The colours of the implementations, the same in every plot. */
export const COLORS = {
  vigil: '#1f6fb4',
  keepalived: '#e07b12',
  haproxy: '#2a9d4b',
  node: '#8a8a8a',
  other: '#9b59b6',
} as const;

// ---------------------------------------------------------------------------------------------
// what a benchmark's builder (bench/report-benches.ts) gives: the JSON it wrote → headline rows, tables, plots

export interface Built {
  headline: HeadlineRow[];
  body: string[];
  plots: Plot[];
  notes: string[];
}

export interface Bench {
  id: string;
  title: string;
  /** the JSON files, first the main one; the others are optional parts of the same section */
  files: string[];
  /** the detailed reports the benchmarks write (or that were written by hand from them) */
  detail: string[];
  /** how to produce the JSON */
  how: string;
  /** said instead of the body when the JSON is absent */
  absent?: string;
  build(data: ReadonlyMap<string, unknown>): Built;
}

export const plot = (file: string, caption: string, fig: Figure): Plot => ({ file: `plots/${file}`, caption, svg: toSvg(fig) });

export function headlineRow(section: string, source: string, figure: string, baseline: string, ratios: (number | null)[], shown: string,
  goal: Goal | null, pass: ((x: number) => boolean) | null): HeadlineRow {
  const measured = ratios.filter(isNum);
  // one miss decides; all passing decides only when nothing is missing
  let met: boolean | null = null;
  if (goal && pass && measured.length) met = !measured.every(pass) ? false : measured.length === ratios.length ? true : null;
  return { section, figure, baseline, ratios: ratios.map(r4), shown, goal, met, source };
}
