// bench/report-lib.ts: the pure half of bench/report.ts. From the JSON files the benchmarks wrote
// (already parsed, or the reason they could not be) to one report: the environment of every run,
// a headline table of vigil ÷ baseline ratios with their goals, one section per benchmark with
// its tables and plots, and the benchmarks that were not run. No I/O here, and no clock: the same
// inputs give the same report, byte for byte.
//
// The JSON files are read as untrusted (bench/report-data.ts): a field that is missing or of the
// wrong type makes that benchmark's section "unreadable" with the path of the field, never a crash
// and never a guess. What each benchmark contributes is bench/report-benches.ts.

import { BENCHES, SOURCE_FILES } from './report-benches.js';
import {
  type Bench, type HeadlineRow, type Inputs, type Report, type RunEnv, type Section,
  ShapeError, obj, optStr, isNum, shortDate, table,
} from './report-data.js';

export { BENCHES, SOURCE_FILES };
export { type Input, type Inputs, type Report, type Section, type HeadlineRow, jsonErrorOffset, parseJson } from './report-data.js';

// ---------------------------------------------------------------------------------------------
// the runs' environments

function runEnv(file: string, data: unknown): RunEnv {
  const env = obj(obj(data, file).env, `${file}: env`);
  const versions: string[] = [];
  for (const [key, label] of [['keepalived', 'keepalived'], ['haproxy', 'HAProxy'], ['tcpdump', 'tcpdump'], ['iproute2', 'iproute2']] as const) {
    const v = optStr(env[key]);
    if (v) versions.push(`${label}: ${v}`);
  }
  const cpus = isNum(env.cpus) ? ` (${env.cpus} CPUs)` : '';
  return {
    file, date: optStr(env.date), commit: optStr(env.vigilCommit), kernel: optStr(env.kernel),
    cpu: optStr(env.cpu) === null ? null : `${optStr(env.cpu)}${cpus}`, node: optStr(env.node), versions,
  };
}

/** "df90a6f (with uncommitted changes)" → "df90a6f + uncommitted changes", for use inside brackets */
const commitText = (c: string | null): string => (c ?? 'unknown commit').replace(/ \(with uncommitted changes\)$/, ' + uncommitted changes');

const runLabel = (r: RunEnv): string => `\`${r.file}\` (${shortDate(r.date)}, vigil ${commitText(r.commit)})`;

// ---------------------------------------------------------------------------------------------
// assembling

function buildSection(b: Bench, inputs: Inputs, runs: ReadonlyMap<string, RunEnv>): Section {
  const present = new Map<string, unknown>();
  const missing: string[] = [];
  const errors: string[] = [];
  const notes: string[] = [];
  for (const f of b.files) {
    const inp = inputs[f];
    if (!inp) missing.push(f);
    else if (inp.error !== undefined) errors.push(inp.error);
    else present.set(f, inp.data);
  }
  const section: Section = {
    id: b.id, title: b.title, status: 'not run', sources: [...present.keys()], missing, errors, detail: b.detail,
    notes, body: [], plots: [], headline: [],
  };
  if (!present.size) {
    section.status = errors.length ? 'unreadable' : 'not run';
    return section;
  }
  try {
    const built = b.build(present);
    Object.assign(section, { body: built.body, plots: built.plots, headline: built.headline });
    notes.push(...built.notes);
    section.status = missing.length || errors.length ? 'partial' : 'ok';
  } catch (err) {
    if (!(err instanceof ShapeError)) throw err; // a bug here, not bad input
    section.status = 'unreadable';
    errors.push(`${err.message}: the section is left out (is the file from an older version of the benchmark?)`);
  }
  const commits = [...new Set(section.sources.map((f) => runs.get(f)?.commit ?? 'unknown commit'))];
  if (commits.length > 1) {
    notes.unshift(`**These figures come from runs of different commits** (${commits.map(commitText).join(', ')}): compare within a table, not across tables.`);
  }
  return section;
}

export function buildReport(inputs: Inputs): Report {
  const runs = new Map<string, RunEnv>();
  for (const f of SOURCE_FILES) {
    const inp = inputs[f];
    if (!inp || inp.error !== undefined) continue;
    try {
      runs.set(f, runEnv(f, inp.data));
    } catch (err) {
      if (!(err instanceof ShapeError)) throw err;
      runs.set(f, { file: f, date: null, commit: null, kernel: null, cpu: null, node: null, versions: [] });
    }
  }
  const sections = BENCHES.map((b) => buildSection(b, inputs, runs));
  return { runs: [...runs.values()], headline: sections.flatMap((s) => s.headline), sections };
}

// ---------------------------------------------------------------------------------------------
// markdown

/** GitHub's anchor for a heading. */
export const anchor = (title: string): string => title.toLowerCase().replace(/[^\p{L}\p{N}\- ]/gu, '').replace(/ /g, '-');

const verdict = (r: HeadlineRow): string => (r.goal === null ? '–' : r.met === null ? 'not measured' : r.met ? 'met' : '**missed**');

function headlineTable(rows: readonly HeadlineRow[], link: (r: HeadlineRow) => string): string[] {
  return table(['benchmark', 'figure', 'vigil ÷ baseline', 'baseline', 'goal', 'met'],
    rows.map((r) => [link(r), r.figure, r.shown, r.baseline, r.goal ? `${r.goal.text} (${r.goal.from})` : 'none set', verdict(r)]), 'llllll');
}

function envSection(runs: readonly RunEnv[]): string[] {
  const out = ['## Where and what was measured', ''];
  if (!runs.length) return [...out, 'No benchmark JSON was found in bench/: nothing has been run.', ''];
  out.push(...table(['run', 'date', 'vigil commit', 'kernel', 'CPU', 'Node', 'baselines and tools'],
    runs.map((r) => [`[${r.file}](${r.file})`, shortDate(r.date), r.commit ?? 'unknown', r.kernel ?? 'unknown', r.cpu ?? 'unknown', r.node ?? 'unknown', r.versions.join('; ') || '–']), 'lllllll'));
  const differ = (k: 'kernel' | 'cpu' | 'node', what: string): string | null =>
    new Set(runs.map((r) => r[k])).size > 1 ? what : null;
  const machine = [differ('kernel', 'kernel'), differ('cpu', 'CPU'), differ('node', 'Node')].filter((x) => x);
  if (machine.length) out.push(`The runs differ in ${machine.join(', ')}: compare the ratios within a section only.`, '');
  const commits = new Set(runs.map((r) => r.commit));
  if (commits.size > 1) out.push(`The runs are of ${commits.size} different commits of vigil; each section names its own.`, '');
  if (runs.some((r) => r.commit?.includes('uncommitted'))) out.push('"with uncommitted changes": the run measured a working tree that differed from the commit.', '');
  return out;
}

export function reportMarkdown(r: Report): string {
  const out: string[] = [
    '# vigil benchmarks: the report', '',
    'Generated by `bench/report.ts` from the JSON files the benchmarks wrote in `bench/`; `npm run bench:report`',
    'rebuilds it (and the plots in `bench/plots/`) without running anything, `npm run bench` runs the benchmarks first.',
    'Every timing is vigil against a baseline measured on the same machine in the same run, given as a ratio;',
    'compare reports from different machines by these ratios, not by their milliseconds.', '',
  ];
  out.push(...envSection(r.runs));
  out.push('## Headline', '');
  if (r.headline.length) {
    const titles = new Map(r.sections.map((s) => [s.id, s.title]));
    out.push(...headlineTable(r.headline, (h) => `[${h.section}](#${anchor(titles.get(h.section) ?? h.section)})`));
    out.push('Ratios are of medians; below 1 vigil is faster or smaller. A goal marked "this report" is not set by an issue: it is here so the row can be judged, and can be changed in `bench/report-benches.ts`.', '');
  } else {
    out.push('No benchmark with a baseline has been run.', '');
  }
  const idle = r.sections.filter((s) => s.status === 'not run' || s.status === 'unreadable');
  for (const s of r.sections) {
    if (s.status === 'not run' || s.status === 'unreadable') continue;
    out.push(`## ${s.title}`, '');
    const runs = s.sources.map((f) => r.runs.find((x) => x.file === f)).filter((x): x is RunEnv => x !== undefined);
    const details = s.detail.map((d) => `[${d}](${d})`).join(', ');
    out.push(`From ${runs.map(runLabel).join(' and ')}.${details ? ` Details: ${details}.` : ''}`, '');
    for (const m of s.missing) out.push(`- \`${m}\`: not run.`);
    for (const e of s.errors) out.push(`- unreadable: ${e}`);
    for (const n of s.notes) out.push(`- ${n}`);
    if (s.missing.length || s.errors.length || s.notes.length) out.push('');
    out.push(...s.body);
    for (const p of s.plots) out.push(`![${p.caption}](${p.file})`, '', `*${p.caption}*`, '');
  }
  out.push('## Not run', '');
  if (!idle.length) out.push('Every benchmark the report knows has a JSON file here.', '');
  for (const s of idle) {
    const b = BENCHES.find((x) => x.id === s.id);
    const why = s.status === 'unreadable' ? `unreadable: ${s.errors.join('; ')}` : `not run (no \`${s.missing.join('`, `')}\`)`;
    out.push(`- **${s.title}**: ${why}; run ${b?.how ?? 'its benchmark'}.${b?.absent ? ` ${b.absent}` : ''}`);
  }
  if (idle.length) out.push('');
  return out.join('\n');
}

/** The report as data: everything in the markdown but the SVG text. */
export function reportJson(r: Report): unknown {
  return {
    runs: r.runs,
    headline: r.headline,
    sections: r.sections.map((s) => ({ ...s, plots: s.plots.map((p) => ({ file: p.file, caption: p.caption })) })),
  };
}

// ---------------------------------------------------------------------------------------------
// the README's headline block

export const README_START = '<!-- bench:headline -->';
export const README_END = '<!-- /bench:headline -->';

/** The headline for the top-level README (links relative to the repository's root). */
export function readmeSnippet(r: Report): string {
  const out = [
    `Generated by \`bench/report.ts\` (\`npm run bench:report\`) from the runs' JSON in \`bench/\`; every figure, plot and`,
    'environment is in [bench/report.md](bench/report.md). Ratios of medians, vigil ÷ baseline, measured side by side on one machine:', '',
  ];
  if (!r.headline.length) return [...out, 'No benchmark with a baseline has been run yet.'].join('\n');
  out.push(...table(['figure', 'vigil ÷ baseline', 'baseline', 'goal', 'met'],
    r.headline.map((h) => [h.figure, h.shown, h.baseline, h.goal?.text ?? '–', verdict(h)]), 'lllll'));
  const dates = r.runs.map((x) => x.date).filter((d): d is string => d !== null).sort();
  if (dates.length) out.push(`Runs from ${shortDate(dates[0]!)} to ${shortDate(dates[dates.length - 1]!)}.`);
  return out.join('\n').trimEnd();
}

/** `text` with the block between the markers replaced by `snippet`; null when the markers are not there (once each, in order). */
export function replaceMarked(text: string, snippet: string): string | null {
  const a = text.indexOf(README_START);
  const b = text.indexOf(README_END);
  if (a < 0 || b < a || text.indexOf(README_START, a + 1) >= 0 || text.indexOf(README_END, b + 1) >= 0) return null;
  return `${text.slice(0, a + README_START.length)}\n${snippet}\n${text.slice(b)}`;
}

