// bench/plot.ts: the benchmark report's pictures, as SVG, with no dependency. Four kinds, all
// drawn from numbers the benchmarks wrote to their JSON:
//   barChart   horizontal grouped bars (ratios per cell, vigil beside its baseline)
//   boxPlot    horizontal box (p25–p75, median, min–max whiskers) with every sample as a dot
//   histogram  overlaid step histograms of samples (latencies, intervals)
//   lineChart  line series over x (a time series of gaps, one trial after another)
// and stack() to put several panels in one picture. Output is deterministic (same input, same
// bytes: no random jitter, no dates, fixed precision), so a regenerated report diffs only where
// the data changed. Horizontal bars and boxes because row labels here are long ("VRRPv3, advert
// 20 ms, graceful") and read best written out to the left.

export interface Figure {
  width: number;
  height: number;
  /** SVG elements, positioned from (0, 0) */
  body: string;
}

export interface SeriesStyle {
  name: string;
  color: string;
}

/** A reference value drawn across the plot: a goal, a protocol figure, ratio 1. */
export interface RefLine {
  value: number;
  label: string;
}

export interface Axis {
  label: string;
  log?: boolean;
  /** forced into the domain (bars on a linear axis start at 0 anyway) */
  include?: readonly number[];
}

export interface FiveNum {
  min: number;
  p25: number;
  median: number;
  p75: number;
  max: number;
}

const WIDTH = 760;
/** average advance of a 12 px sans-serif character: enough to lay out labels without a font */
const CHAR_W = 6.6;
const INK = '#222';
const MUTED = '#666';
const GRID = '#e6e6e6';
const REF = '#555';

// ---------------------------------------------------------------------------------------------
// text and numbers

export function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** Coordinates with one decimal: enough for a screen, and stable across runs. */
const c = (x: number): string => (Math.round(x * 10) / 10).toFixed(1).replace(/^-0\.0$/, '0.0');

/** A number as a tick or value label: four significant digits, no exponent for our ranges. */
export function fmtNum(x: number): string {
  if (!Number.isFinite(x)) return '–';
  if (x === 0) return '0';
  const a = Math.abs(x);
  if (a >= 10_000) return `${Number((x / 1000).toPrecision(3))}k`;
  return String(Number(x.toPrecision(a >= 1000 ? 4 : 3)));
}

const textW = (s: string, size = 12): number => s.length * CHAR_W * (size / 12);

function text(x: number, y: number, s: string, attrs = ''): string {
  return `<text x="${c(x)}" y="${c(y)}"${attrs ? ` ${attrs}` : ''}>${esc(s)}</text>`;
}

// ---------------------------------------------------------------------------------------------
// scales

export interface Scale {
  (v: number): number;
  lo: number;
  hi: number;
  ticks: number[];
  log: boolean;
}

/** Tick positions at 1, 2 or 5 × 10^k, about `count` of them across [lo, hi]. */
export function niceTicks(lo: number, hi: number, count = 6): number[] {
  const span = hi - lo;
  if (!(span > 0)) return [lo];
  const step = niceStep(span / count);
  const out: number[] = [];
  for (let i = Math.ceil(lo / step - 1e-9); i * step <= hi + step * 1e-9; i++) out.push(Number((i * step).toPrecision(12)));
  return out;
}

function niceStep(raw: number): number {
  const pow = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 5, 10].map((m) => m * pow).find((s) => s >= raw * (1 - 1e-9)) ?? 10 * pow;
}

/** The 1-2-5 values from the largest ≤ lo to the smallest ≥ hi (lo, hi > 0). */
function steps125(lo: number, hi: number): number[] {
  const out: number[] = [];
  for (let k = Math.floor(Math.log10(lo)) - 1; k <= Math.ceil(Math.log10(hi)) + 1; k++) {
    for (const m of [1, 2, 5]) out.push(Number((m * 10 ** k).toPrecision(12)));
  }
  const first = [...out].reverse().find((v) => v <= lo * (1 + 1e-9)) ?? out[0]!;
  const last = out.find((v) => v >= hi * (1 - 1e-9)) ?? out[out.length - 1]!;
  return out.filter((v) => v >= first && v <= last);
}

/**
 * A scale from the data onto [a, b]. Linear: the domain widened to nice ticks. Log: to 1-2-5
 * values, ticks at every 1-2-5 value when there are few, else at the powers of ten; values ≤ 0
 * have no place on it and are left out of the domain (the caller draws them at the low edge).
 */
export function makeScale(values: readonly number[], axis: Axis, a: number, b: number, zero = false): Scale {
  const vals = [...values, ...(axis.include ?? [])].filter(Number.isFinite);
  let lo: number;
  let hi: number;
  let ticks: number[];
  const log = axis.log === true;
  if (log) {
    const pos = vals.filter((v) => v > 0);
    const min = pos.length ? Math.min(...pos) : 1;
    const max = pos.length ? Math.max(...pos) : 10;
    const s = steps125(min, max === min ? min * 2 : max);
    lo = s[0]!;
    hi = s[s.length - 1]!;
    ticks = s.length <= 12 ? s : s.filter((v) => Number.isInteger(Math.round(Math.log10(v) * 1e6) / 1e6));
  } else {
    if (zero) vals.push(0);
    let min = vals.length ? Math.min(...vals) : 0;
    let max = vals.length ? Math.max(...vals) : 1;
    if (min === max) { min -= Math.abs(min) * 0.1 || 1; max += Math.abs(max) * 0.1 || 1; }
    const t = niceTicks(min, max);
    const step = t.length > 1 ? t[1]! - t[0]! : max - min;
    lo = t[0]! > min ? t[0]! - step : t[0]!;
    hi = t[t.length - 1]! < max ? t[t.length - 1]! + step : t[t.length - 1]!;
    ticks = niceTicks(lo, hi);
  }
  const f = (v: number): number => {
    if (log) {
      const x = Math.log10(Math.max(v, lo)) - Math.log10(lo);
      return a + (x / (Math.log10(hi) - Math.log10(lo) || 1)) * (b - a);
    }
    return a + ((v - lo) / (hi - lo || 1)) * (b - a);
  };
  return Object.assign(f, { lo, hi, ticks, log });
}

// ---------------------------------------------------------------------------------------------
// shared pieces: title, legend, axes, reference lines

interface Header {
  parts: string[];
  height: number;
}

function header(title: string, width: number, legend: readonly SeriesStyle[] = [], note?: string): Header {
  const parts = [text(10, 20, title, 'font-size="14" font-weight="bold"')];
  let y = 28;
  if (legend.length) {
    y += 16;
    let x = 10;
    for (const s of legend) {
      const w = 16 + textW(s.name) + 18;
      if (x > 10 && x + w - 18 > width - 10) { x = 10; y += 18; } // the next legend line
      parts.push(`<rect x="${c(x)}" y="${c(y - 9)}" width="12" height="10" fill="${esc(s.color)}"/>`);
      parts.push(text(x + 16, y, s.name));
      x += w;
    }
  }
  if (note) {
    // a note longer than the picture wraps at word boundaries
    for (const line of wrap(note, Math.floor((width - 20) / CHAR_W))) {
      y += 16;
      parts.push(text(10, y, line, `fill="${MUTED}"`));
    }
  }
  return { parts, height: y + 14 };
}

function wrap(s: string, cols: number): string[] {
  const out: string[] = [];
  let line = '';
  for (const word of s.split(/\s+/)) {
    if (line && line.length + 1 + word.length > cols) { out.push(line); line = word; } else line = line ? `${line} ${word}` : word;
  }
  if (line) out.push(line);
  return out;
}

/** A horizontal value axis under a plot area [x0, x1] × [top, bottom], with light grid lines. */
function xAxis(s: Scale, top: number, bottom: number, label: string, x0: number, x1: number): string[] {
  const parts: string[] = [];
  for (const t of s.ticks) {
    const x = s(t);
    parts.push(`<line x1="${c(x)}" y1="${c(top)}" x2="${c(x)}" y2="${c(bottom)}" stroke="${GRID}"/>`);
    parts.push(`<line x1="${c(x)}" y1="${c(bottom)}" x2="${c(x)}" y2="${c(bottom + 4)}" stroke="${INK}"/>`);
    parts.push(text(x, bottom + 16, fmtNum(t), 'text-anchor="middle" font-size="11"'));
  }
  parts.push(`<line x1="${c(x0)}" y1="${c(bottom)}" x2="${c(x1)}" y2="${c(bottom)}" stroke="${INK}"/>`);
  parts.push(text((x0 + x1) / 2, bottom + 32, label + (s.log ? ' (log scale)' : ''), 'text-anchor="middle"'));
  return parts;
}

/** A vertical value axis left of a plot area, label rotated. */
function yAxis(s: Scale, x0: number, x1: number, label: string, top: number, bottom: number): string[] {
  const parts: string[] = [];
  for (const t of s.ticks) {
    const y = s(t);
    parts.push(`<line x1="${c(x0)}" y1="${c(y)}" x2="${c(x1)}" y2="${c(y)}" stroke="${GRID}"/>`);
    parts.push(`<line x1="${c(x0 - 4)}" y1="${c(y)}" x2="${c(x0)}" y2="${c(y)}" stroke="${INK}"/>`);
    parts.push(text(x0 - 6, y + 4, fmtNum(t), 'text-anchor="end" font-size="11"'));
  }
  parts.push(`<line x1="${c(x0)}" y1="${c(top)}" x2="${c(x0)}" y2="${c(bottom)}" stroke="${INK}"/>`);
  const cy = (top + bottom) / 2;
  parts.push(`<text x="14" y="${c(cy)}" text-anchor="middle" transform="rotate(-90 14 ${c(cy)})">${esc(label + (s.log ? ' (log)' : ''))}</text>`);
  return parts;
}

function vRefLines(s: Scale, refs: readonly RefLine[], top: number, bottom: number): string[] {
  return refs.flatMap((r) => {
    const x = s(r.value);
    return [
      `<line x1="${c(x)}" y1="${c(top - 4)}" x2="${c(x)}" y2="${c(bottom)}" stroke="${REF}" stroke-dasharray="5 3"/>`,
      text(x + 3, top - 6, r.label, `font-size="10" fill="${REF}"`),
    ];
  });
}

function hRefLines(s: Scale, refs: readonly RefLine[], x0: number, x1: number): string[] {
  return refs.flatMap((r) => {
    const y = s(r.value);
    return [
      `<line x1="${c(x0)}" y1="${c(y)}" x2="${c(x1)}" y2="${c(y)}" stroke="${REF}" stroke-dasharray="5 3"/>`,
      text(x1 - 3, y - 4, r.label, `text-anchor="end" font-size="10" fill="${REF}"`),
    ];
  });
}

/** Left margin for row labels: as wide as the longest, within reason. */
const labelMargin = (labels: readonly string[]): number => Math.min(340, Math.max(70, ...labels.map((l) => textW(l) + 16)));

// ---------------------------------------------------------------------------------------------
// horizontal grouped bars

export interface BarGroup {
  label: string;
  /** one per series, in the order of `series`; null: not measured; undefined: no such bar here */
  values: readonly (number | null | undefined)[];
}

export interface BarSpec {
  title: string;
  axis: Axis;
  series: readonly SeriesStyle[];
  groups: readonly BarGroup[];
  refLines?: readonly RefLine[];
  note?: string;
  width?: number;
  format?: (v: number) => string;
}

export function barChart(spec: BarSpec): Figure {
  const width = spec.width ?? WIDTH;
  const fmt = spec.format ?? fmtNum;
  const h = header(spec.title, width, spec.series, spec.note);
  const x0 = labelMargin(spec.groups.map((g) => g.label));
  const x1 = width - 64; // room for the value after the longest bar
  const barH = 13;
  const groupH = spec.series.length * (barH + 2) + 12;
  const top = h.height + 14;
  const bottom = top + spec.groups.length * groupH;
  const refs = spec.refLines ?? [];
  const values = spec.groups.flatMap((g) => g.values.filter((v): v is number => typeof v === 'number'));
  const s = makeScale([...values, ...refs.map((r) => r.value)], spec.axis, x0, x1, true);
  const parts = [...h.parts, ...xAxis(s, top, bottom, spec.axis.label, x0, x1)];
  const base = s.log ? x0 : s(Math.max(0, s.lo));
  spec.groups.forEach((g, gi) => {
    const gy = top + gi * groupH + 6;
    parts.push(text(x0 - 8, gy + (groupH - 12) / 2 + 4, g.label, 'text-anchor="end"'));
    spec.series.forEach((ser, si) => {
      const y = gy + si * (barH + 2);
      const v = g.values[si];
      if (v === undefined) return;
      if (v === null) {
        parts.push(text(x0 + 4, y + barH - 3, `${ser.name}: not measured`, `font-size="10" fill="${MUTED}"`));
        return;
      }
      const xv = s(v);
      const [bx, bw] = xv >= base ? [base, xv - base] : [xv, base - xv];
      parts.push(`<rect x="${c(bx)}" y="${c(y)}" width="${c(Math.max(bw, 1))}" height="${barH}" fill="${esc(ser.color)}"><title>${esc(`${g.label}, ${ser.name}: ${fmt(v)}`)}</title></rect>`);
      parts.push(text(Math.max(xv, base) + 4, y + barH - 3, fmt(v), 'font-size="11"'));
    });
  });
  parts.push(...vRefLines(s, refs, top, bottom));
  return { width, height: bottom + 44, body: parts.join('\n') };
}

// ---------------------------------------------------------------------------------------------
// box and strip

export interface BoxRow {
  label: string;
  color: string;
  /** a header line is drawn where the group changes */
  group?: string;
  /** five numbers from the benchmark; computed from `samples` when absent */
  summary?: FiveNum | null;
  samples?: readonly number[];
}

export interface BoxSpec {
  title: string;
  axis: Axis;
  rows: readonly BoxRow[];
  refLines?: readonly RefLine[];
  legend?: readonly SeriesStyle[];
  note?: string;
  width?: number;
  format?: (v: number) => string;
}

export function fiveNum(samples: readonly number[]): FiveNum | null {
  const s = samples.filter(Number.isFinite).sort((a, b) => a - b);
  if (!s.length) return null;
  const q = (p: number): number => {
    const pos = (s.length - 1) * p;
    const lo = Math.floor(pos);
    return s[lo]! + (s[Math.ceil(pos)]! - s[lo]!) * (pos - lo);
  };
  return { min: s[0]!, p25: q(0.25), median: q(0.5), p75: q(0.75), max: s[s.length - 1]! };
}

export function boxPlot(spec: BoxSpec): Figure {
  const width = spec.width ?? WIDTH;
  const fmt = spec.format ?? fmtNum;
  const h = header(spec.title, width, spec.legend ?? [], spec.note);
  const x0 = labelMargin(spec.rows.map((r) => r.label));
  const x1 = width - 64;
  const rowH = 22;
  const groupH = 20;
  const refs = spec.refLines ?? [];
  const rows = spec.rows.map((r) => ({ ...r, five: r.summary ?? fiveNum(r.samples ?? []) }));
  const values = rows.flatMap((r) => [...(r.samples ?? []), ...(r.five ? [r.five.min, r.five.max] : [])]);
  // lay the rows out first: group headers take a line of their own
  let y = h.height + 16;
  const top = y;
  const placed: { row: (typeof rows)[number]; cy: number }[] = [];
  const headers: { label: string; y: number }[] = [];
  let group: string | undefined;
  for (const row of rows) {
    if (row.group !== undefined && row.group !== group) {
      headers.push({ label: row.group, y: y + 14 });
      y += groupH;
    }
    group = row.group;
    placed.push({ row, cy: y + rowH / 2 });
    y += rowH;
  }
  const bottom = y + 4;
  const s = makeScale([...values, ...refs.map((r) => r.value)], spec.axis, x0, x1);
  const parts = [...h.parts, ...xAxis(s, top, bottom, spec.axis.label, x0, x1)];
  for (const hd of headers) parts.push(text(10, hd.y, hd.label, 'font-weight="bold"'));
  for (const { row, cy } of placed) {
    parts.push(text(x0 - 8, cy + 4, row.label, 'text-anchor="end"'));
    const f = row.five;
    if (!f) {
      parts.push(text(x0 + 4, cy + 4, 'not measured', `font-size="10" fill="${MUTED}"`));
      continue;
    }
    const col = esc(row.color);
    parts.push(`<line x1="${c(s(f.min))}" y1="${c(cy)}" x2="${c(s(f.max))}" y2="${c(cy)}" stroke="${col}"/>`);
    for (const w of [f.min, f.max]) parts.push(`<line x1="${c(s(w))}" y1="${c(cy - 4)}" x2="${c(s(w))}" y2="${c(cy + 4)}" stroke="${col}"/>`);
    parts.push(`<rect x="${c(s(f.p25))}" y="${c(cy - 7)}" width="${c(Math.max(s(f.p75) - s(f.p25), 1))}" height="14" fill="${col}" fill-opacity="0.18" stroke="${col}"/>`);
    // every sample, spread over five lanes by its index (deterministic, unlike random jitter)
    (row.samples ?? []).forEach((v, i) => {
      if (!Number.isFinite(v)) return;
      parts.push(`<circle cx="${c(s(v))}" cy="${c(cy + ((i * 3) % 5 - 2) * 2)}" r="2.2" fill="${col}" fill-opacity="0.6"/>`);
    });
    parts.push(`<line x1="${c(s(f.median))}" y1="${c(cy - 8)}" x2="${c(s(f.median))}" y2="${c(cy + 8)}" stroke="${INK}" stroke-width="2"><title>${esc(`${row.label}: median ${fmt(f.median)}, p25–p75 ${fmt(f.p25)}–${fmt(f.p75)}, min–max ${fmt(f.min)}–${fmt(f.max)}`)}</title></line>`);
    parts.push(text(x1 + 6, cy + 4, fmt(f.median), 'font-size="11"'));
  }
  parts.push(...vRefLines(s, refs, top, bottom));
  return { width, height: bottom + 44, body: parts.join('\n') };
}

// ---------------------------------------------------------------------------------------------
// histogram

export interface HistSeries extends SeriesStyle {
  values: readonly number[];
}

export interface HistSpec {
  title: string;
  axis: Axis;
  series: readonly HistSeries[];
  /** about this many bins across the range (default 40) */
  bins?: number;
  /** counts on a log scale, so a thin tail shows beside a tall peak */
  logCount?: boolean;
  refLines?: readonly RefLine[];
  note?: string;
  width?: number;
  plotHeight?: number;
}

/** Bin edges over the scale's domain: equal widths, or equal ratios on a log axis. */
export function binEdges(s: Scale, bins: number): number[] {
  if (s.log) {
    const a = Math.log10(s.lo);
    const b = Math.log10(s.hi);
    return Array.from({ length: bins + 1 }, (_, i) => 10 ** (a + ((b - a) * i) / bins));
  }
  const step = niceStep((s.hi - s.lo) / bins);
  const out: number[] = [];
  for (let x = s.lo; x < s.hi + step * 1e-9; x += step) out.push(Number(x.toPrecision(12)));
  if (out[out.length - 1]! < s.hi) out.push(s.hi);
  return out;
}

/** How many values fall in each [edge_i, edge_i+1); the last bin also takes its upper edge. */
export function binCounts(values: readonly number[], edges: readonly number[]): number[] {
  const counts = new Array<number>(Math.max(edges.length - 1, 0)).fill(0);
  for (const v of values) {
    if (!Number.isFinite(v)) continue;
    let i = edges.findIndex((e, k) => k < edges.length - 1 && v >= e && v < edges[k + 1]!);
    if (i < 0 && v === edges[edges.length - 1]) i = edges.length - 2;
    if (i < 0) i = v < edges[0]! ? 0 : edges.length - 2; // outside a log axis' domain: the edge bins
    counts[i] = (counts[i] ?? 0) + 1;
  }
  return counts;
}

export function histogram(spec: HistSpec): Figure {
  const width = spec.width ?? WIDTH;
  const legend = spec.series.map((s) => ({ name: `${s.name} (n = ${s.values.length})`, color: s.color }));
  const h = header(spec.title, width, legend, spec.note);
  const x0 = 64;
  const x1 = width - 24;
  const top = h.height + 14;
  const bottom = top + (spec.plotHeight ?? 170);
  const refs = spec.refLines ?? [];
  const all = spec.series.flatMap((s) => s.values);
  const sx = makeScale([...all, ...refs.map((r) => r.value)], spec.axis, x0, x1);
  const edges = binEdges(sx, spec.bins ?? 40);
  const counts = spec.series.map((s) => binCounts(s.values, edges));
  const maxCount = Math.max(1, ...counts.flat());
  // a log count axis starts at ½, so a bin holding one value still shows
  const sy = makeScale(spec.logCount ? [0.5, maxCount] : [0, maxCount], { label: 'count', log: spec.logCount === true }, bottom, top, !spec.logCount);
  sy.ticks = sy.ticks.filter((t) => !spec.logCount || t >= 1);
  const parts = [...h.parts, ...xAxis(sx, top, bottom, spec.axis.label, x0, x1), ...yAxis(sy, x0, x1, 'count', top, bottom)];
  spec.series.forEach((ser, si) => {
    const cs = counts[si]!;
    // a step outline; empty bins sit on the axis (a log count axis has no 0: the bottom edge)
    const yOf = (n: number): number => (n > 0 ? sy(n) : bottom);
    let d = `M${c(sx(edges[0]!))},${c(bottom)}`;
    cs.forEach((n, i) => { d += ` L${c(sx(edges[i]!))},${c(yOf(n))} L${c(sx(edges[i + 1]!))},${c(yOf(n))}`; });
    d += ` L${c(sx(edges[edges.length - 1]!))},${c(bottom)} Z`;
    parts.push(`<path d="${d}" fill="${esc(ser.color)}" fill-opacity="0.15" stroke="${esc(ser.color)}" stroke-width="1.5"/>`);
  });
  parts.push(...vRefLines(sx, refs, top, bottom));
  return { width, height: bottom + 44, body: parts.join('\n') };
}

// ---------------------------------------------------------------------------------------------
// line chart

export interface LineSeries extends SeriesStyle {
  points: readonly (readonly [number, number])[];
}

export interface LineSpec {
  title: string;
  x: Axis;
  y: Axis;
  series: readonly LineSeries[];
  /** horizontal lines at y values */
  refLines?: readonly RefLine[];
  /** vertical separators at x values (e.g. where one run's window ends and the next begins) */
  breaks?: readonly RefLine[];
  note?: string;
  width?: number;
  plotHeight?: number;
  /** a dot on every point (default: when no series has more than 60) */
  markers?: boolean;
}

export function lineChart(spec: LineSpec): Figure {
  const width = spec.width ?? WIDTH;
  const h = header(spec.title, width, spec.series, spec.note);
  const x0 = 64;
  const x1 = width - 24;
  const top = h.height + 14;
  const bottom = top + (spec.plotHeight ?? 160);
  const pts = spec.series.flatMap((s) => s.points);
  const refs = spec.refLines ?? [];
  const breaks = spec.breaks ?? [];
  const sx = makeScale([...pts.map((p) => p[0]), ...breaks.map((b) => b.value)], spec.x, x0, x1);
  const sy = makeScale([...pts.map((p) => p[1]), ...refs.map((r) => r.value)], spec.y, bottom, top);
  const parts = [...h.parts, ...xAxis(sx, top, bottom, spec.x.label, x0, x1), ...yAxis(sy, x0, x1, spec.y.label, top, bottom)];
  parts.push(...vRefLines(sx, breaks, top, bottom));
  parts.push(...hRefLines(sy, refs, x0, x1));
  const markers = spec.markers ?? spec.series.every((s) => s.points.length <= 60);
  for (const ser of spec.series) {
    const finite = ser.points.filter((p) => Number.isFinite(p[0]) && Number.isFinite(p[1]));
    if (!finite.length) continue;
    const col = esc(ser.color);
    parts.push(`<polyline points="${finite.map((p) => `${c(sx(p[0]))},${c(sy(p[1]))}`).join(' ')}" fill="none" stroke="${col}" stroke-width="1.2" stroke-linejoin="round"/>`);
    if (markers) for (const p of finite) parts.push(`<circle cx="${c(sx(p[0]))}" cy="${c(sy(p[1]))}" r="2.4" fill="${col}"/>`);
  }
  return { width, height: bottom + 44, body: parts.join('\n') };
}

// ---------------------------------------------------------------------------------------------
// composition and output

/** Panels one under the other, in one picture. */
export function stack(figs: readonly Figure[], title?: string): Figure {
  const parts: string[] = [];
  let y = 0;
  if (title) {
    parts.push(text(10, 22, title, 'font-size="15" font-weight="bold"'));
    y = 34;
  }
  for (const f of figs) {
    parts.push(`<g transform="translate(0,${c(y)})">`, f.body, '</g>');
    y += f.height + 6;
  }
  return { width: Math.max(WIDTH, ...figs.map((f) => f.width)), height: y, body: parts.join('\n') };
}

export function toSvg(fig: Figure): string {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${fig.width}" height="${c(fig.height)}" viewBox="0 0 ${fig.width} ${c(fig.height)}" font-family="sans-serif" font-size="12" fill="${INK}">`,
    `<rect width="${fig.width}" height="${c(fig.height)}" fill="white"/>`,
    fig.body,
    '</svg>',
    '',
  ].join('\n');
}
