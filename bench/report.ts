// bench/report.ts: one report from every benchmark's JSON in bench/, without running anything.
// Writes bench/report.md, bench/report.json and the plots in bench/plots/, and refreshes the
// headline block of README.md (between `<!-- bench:headline -->` and `<!-- /bench:headline -->`).
// What goes in the report and how is bench/report-lib.ts (assembly, markdown) and
// bench/report-benches.ts (one builder per benchmark); this file only reads and writes.
//
//   npm run bench:report                      (the JSON files already there)
//   npm run bench                             (runs the benchmarks, then this)
//   node --import tsx bench/report.ts [--dir DIR] [--readme FILE | --no-readme]
//
// Exit status: 0; 1 when some JSON file could not be read (the report says which and leaves its
// section out); 2 when the report could not be written.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import {
  type Inputs, SOURCE_FILES, buildReport, parseJson, readmeSnippet, replaceMarked, reportJson, reportMarkdown,
  README_END, README_START,
} from './report-lib.js';

const BENCH_DIR = path.dirname(fileURLToPath(import.meta.url));
const log = (msg: string): void => { process.stderr.write(`report: ${msg}\n`); };

function readInputs(dir: string): Inputs {
  const inputs: Record<string, Inputs[string]> = {};
  for (const f of SOURCE_FILES) {
    const p = path.join(dir, f);
    let text: string;
    try {
      text = fs.readFileSync(p, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue; // not run: the report says so
      inputs[f] = { file: f, error: `${f}: cannot read: ${(err as Error).message}` };
      continue;
    }
    inputs[f] = parseJson(text, f);
  }
  return inputs;
}

/** Writes the plots, and deletes the SVGs of earlier reports that this one no longer draws. */
function writePlots(dir: string, plots: readonly { file: string; svg: string }[]): void {
  const plotDir = path.join(dir, 'plots');
  fs.mkdirSync(plotDir, { recursive: true });
  const keep = new Set(plots.map((p) => path.basename(p.file)));
  for (const f of fs.readdirSync(plotDir)) {
    if (f.endsWith('.svg') && !keep.has(f)) fs.rmSync(path.join(plotDir, f));
  }
  for (const p of plots) fs.writeFileSync(path.join(dir, p.file), p.svg);
}

function updateReadme(file: string, snippet: string): void {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    log(`${file}: cannot read (${(err as Error).message}); the headline is not written there`);
    return;
  }
  const next = replaceMarked(text, snippet);
  if (next === null) {
    log(`${file} has no single ${README_START} … ${README_END} block; paste the headline by hand:\n${snippet}`);
    return;
  }
  if (next !== text) fs.writeFileSync(file, next);
  log(`${next === text ? 'unchanged' : 'updated'}: the headline block of ${file}`);
}

function main(): number {
  const { values } = parseArgs({
    options: { dir: { type: 'string' }, readme: { type: 'string' }, 'no-readme': { type: 'boolean' } },
  });
  const dir = path.resolve(values.dir ?? BENCH_DIR);
  const readme = values.readme ?? path.join(BENCH_DIR, '..', 'README.md');
  const inputs = readInputs(dir);
  const report = buildReport(inputs);

  writePlots(dir, report.sections.flatMap((s) => s.plots));
  fs.writeFileSync(path.join(dir, 'report.md'), reportMarkdown(report));
  fs.writeFileSync(path.join(dir, 'report.json'), JSON.stringify(reportJson(report), null, 2) + '\n');
  if (!values['no-readme']) updateReadme(readme, readmeSnippet(report));

  const bad = report.sections.filter((s) => s.errors.length);
  for (const s of report.sections) {
    const plots = s.plots.length ? `, ${s.plots.length} plot(s)` : '';
    log(`${s.id}: ${s.status}${s.sources.length ? ` (${s.sources.join(', ')}${plots})` : ''}`);
    for (const e of s.errors) log(`  ${e}`);
  }
  const rel = path.relative(process.cwd(), dir) || '.';
  log(`wrote ${rel}/report.md, ${rel}/report.json, ${report.sections.reduce((n, s) => n + s.plots.length, 0)} plot(s) in ${rel}/plots/`);
  if (bad.length) log(`${bad.length} section(s) with unreadable input: ${bad.map((s) => s.id).join(', ')}`);
  return bad.length ? 1 : 0;
}

try {
  process.exitCode = main();
} catch (err) {
  log((err as Error)?.stack ?? String(err));
  process.exitCode = 2;
}
