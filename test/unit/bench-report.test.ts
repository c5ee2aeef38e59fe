// bench/plot.ts and bench/report-{lib,benches,data}.ts (+ the bench/report.ts CLI) on small fixture JSONs: the
// SVG is well-formed and deterministic, ratios and goals come out of the medians right, missing
// inputs are "not run", bad inputs are reported with their place and never crash the report.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  barChart, binCounts, binEdges, boxPlot, fiveNum, histogram, lineChart, makeScale, niceTicks, stack, toSvg,
} from '../../bench/plot.js';
import {
  type Inputs, type Report, buildReport, jsonErrorOffset, parseJson, readmeSnippet, replaceMarked, reportMarkdown,
  README_END, README_START,
} from '../../bench/report-lib.js';
import { recordFigures } from '../../bench/common.js';

const REPO = join(import.meta.dirname, '..', '..');

// ---------------------------------------------------------------------------------------------
// a tiny XML well-formedness check: tags nest and close, attributes are quoted and unique, text
// and attribute values use only the five entities, exactly one root element

function checkXml(s: string): void {
  const stack: string[] = [];
  let roots = 0;
  const entities = (v: string, where: string): void => {
    for (const m of v.matchAll(/&[^;\s]*;?/g)) assert.match(m[0], /^&(amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);$/, `bad entity ${m[0]} in ${where}`);
  };
  for (const m of s.matchAll(/<[^>]*>|[^<]+/g)) {
    const tok = m[0];
    if (!tok.startsWith('<')) {
      if (!stack.length) assert.equal(tok.trim(), '', `text outside the root: ${tok.slice(0, 40)}`);
      entities(tok, 'text');
      continue;
    }
    const close = /^<\/([A-Za-z][\w:-]*)\s*>$/.exec(tok);
    if (close) {
      assert.equal(stack.pop(), close[1], `</${close[1]}> closes the wrong element`);
      continue;
    }
    const open = /^<([A-Za-z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>$/.exec(tok);
    assert.ok(open, `malformed tag: ${tok.slice(0, 80)}`);
    const names = [...open[2]!.matchAll(/([\w:-]+)="([^"]*)"/g)].map((a) => { entities(a[2]!, `${open[1]} ${a[1]}`); return a[1]; });
    assert.equal(new Set(names).size, names.length, `duplicate attribute in ${tok.slice(0, 80)}`);
    if (!stack.length) roots++;
    if (!open[3]) stack.push(open[1]!);
  }
  assert.deepEqual(stack, [], 'unclosed elements');
  assert.equal(roots, 1, 'one root element');
}

test('the XML check itself rejects what it should', () => {
  checkXml('<svg a="1"><g><text>x &amp; y</text></g><rect/></svg>');
  assert.throws(() => checkXml('<svg><g></svg>'));
  assert.throws(() => checkXml('<svg><text>a < b</text></svg>'));
  assert.throws(() => checkXml('<svg><text>a & b</text></svg>'));
  assert.throws(() => checkXml('<svg a=1></svg>'));
  assert.throws(() => checkXml('<svg a="1" a="2"></svg>'));
  assert.throws(() => checkXml('<svg></svg><svg></svg>'));
});

// ---------------------------------------------------------------------------------------------
// plot.ts

test('scales: nice ticks, a log axis on 1-2-5 values, values mapped onto the pixel range', () => {
  assert.deepEqual(niceTicks(0, 10), [0, 2, 4, 6, 8, 10]);
  assert.deepEqual(niceTicks(0.95, 1.52, 6), [1, 1.1, 1.2, 1.3, 1.4, 1.5]);
  const lin = makeScale([3, 47], { label: 'x' }, 0, 100);
  assert.equal(lin.lo, 0);
  assert.equal(lin.hi, 50);
  assert.equal(lin(25), 50);
  const log = makeScale([0.15, 12.6], { label: 'x', log: true }, 0, 300);
  assert.equal(log.lo, 0.1);
  assert.equal(log.hi, 20);
  assert.deepEqual(log.ticks, [0.1, 0.2, 0.5, 1, 2, 5, 10, 20]);
  assert.ok(Math.abs(log(1) - 300 * (1 / Math.log10(200))) < 1e-9, `1 at ${log(1)}`); // one decade of 2.3
  assert.equal(log(0), 0, 'a value ≤ 0 sits at the low edge of a log axis');
});

test('histogram bins: equal widths; every value counted once, the top edge in the last bin', () => {
  const s = makeScale([0, 10], { label: 'x' }, 0, 100);
  const edges = binEdges(s, 5);
  assert.deepEqual(edges, [0, 2, 4, 6, 8, 10]);
  assert.deepEqual(binCounts([0, 1.9, 2, 5, 9.99, 10, NaN], edges), [2, 1, 1, 0, 2]);
  const logEdges = binEdges(makeScale([1, 100], { label: 'x', log: true }, 0, 100), 2);
  assert.deepEqual(logEdges.map((e) => Math.round(e * 1000) / 1000), [1, 10, 100]);
});

test('fiveNum: quartiles by linear interpolation, non-numbers left out, empty → null', () => {
  assert.deepEqual(fiveNum([4, 1, 3, 2, NaN]), { min: 1, p25: 1.75, median: 2.5, p75: 3.25, max: 4 });
  assert.equal(fiveNum([]), null);
});

test('every plot kind is well-formed SVG, escapes its labels and is the same bytes each time', () => {
  const evil = 'a <b> & "c"';
  const make = (): string[] => [
    toSvg(barChart({
      title: evil, axis: { label: 'ratio', log: true }, series: [{ name: evil, color: '#123456' }, { name: 'k', color: '#654321' }],
      groups: [{ label: evil, values: [0.5, 2] }, { label: 'none', values: [null, 3] }], refLines: [{ value: 1, label: evil }], note: evil,
    })),
    toSvg(boxPlot({
      title: 't', axis: { label: 'ms' }, legend: [{ name: 'v', color: '#111' }],
      rows: [
        { group: evil, label: 'samples', color: '#111', samples: [1, 2, 3, 4, 5] },
        { group: evil, label: 'summary', color: '#222', summary: { min: 1, p25: 2, median: 3, p75: 4, max: 5 } },
        { label: 'nothing', color: '#333' },
      ],
      refLines: [{ value: 2.5, label: 'ref' }],
    })),
    toSvg(histogram({ title: 't', axis: { label: 'ms' }, logCount: true, series: [{ name: evil, color: '#111', values: [1, 1, 2, 50, 100] }] })),
    toSvg(histogram({ title: 't', axis: { label: 'ms', log: true }, series: [{ name: 'a', color: '#111', values: [0.5, 3, 300] }, { name: 'empty', color: '#222', values: [] }] })),
    toSvg(stack([
      lineChart({ title: 't', x: { label: 'n' }, y: { label: 'ms' }, series: [{ name: 'a', color: '#111', points: [[1, 10], [2, NaN], [3, 12]] }], refLines: [{ value: 11, label: 'r' }], breaks: [{ value: 2, label: 'b' }] }),
      lineChart({ title: 'empty', x: { label: 'n' }, y: { label: 'ms' }, series: [] }),
    ], evil)),
  ];
  const first = make();
  for (const svg of first) {
    checkXml(svg);
    assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" width="\d+" height="[\d.]+"/);
    assert.doesNotMatch(svg, /NaN|undefined|Infinity/);
  }
  assert.match(first[0]!, /a &lt;b&gt; &amp; &quot;c&quot;/);
  assert.match(first[0]!, /k: not measured|not measured/);
  assert.match(first[1]!, /not measured/);
  assert.deepEqual(make(), first);
});

test('a bar is as long as its value says', () => {
  const svg = toSvg(barChart({ title: 't', axis: { label: 'x' }, series: [{ name: 's', color: '#111' }], groups: [{ label: 'g', values: [30] }, { label: 'h', values: [60] }] }));
  const widths = [...svg.matchAll(/<rect x="([\d.]+)" y="[\d.]+" width="([\d.]+)" height="13"/g)].map((m) => Number(m[2]));
  assert.equal(widths.length, 2);
  assert.ok(Math.abs(widths[1]! / widths[0]! - 2) < 0.01, `60 is twice 30: ${widths}`);
});

// ---------------------------------------------------------------------------------------------
// fixtures: the smallest JSON each benchmark writes that the report reads

const env = (commit: string, extra: Record<string, unknown> = {}) => ({
  date: '2026-11-25T20:44:56.996Z', kernel: '6.1.0', cpu: 'Test CPU', cpus: 2, node: 'v20.20.2', vigilCommit: commit, ...extra,
});
const st = (median: number) => ({ n: 5, median, p25: median * 0.9, p75: median * 1.1, min: median * 0.8, max: median * 1.2 });

function configTest(commit = 'aaa1111', big = { loadConfig: 50, vigilCli: 240 }) {
  return {
    env: env(commit, { keepalived: 'Keepalived v2.2.7' }), keepalivedSkipped: null,
    results: [
      { n: 10, ms: { loadConfig: st(2), vigilCli: st(90), node: st(60), keepalived: st(14), netnsTrue: st(4) }, keepalivedNetMs: 10, samples: { loadConfig: [1.8, 2, 2.2] } },
      { n: 1000, ms: { loadConfig: st(big.loadConfig), vigilCli: st(big.vigilCli), node: st(60), keepalived: st(44), netnsTrue: st(4) }, keepalivedNetMs: 40 },
    ],
  };
}

function failover(commit: string, vigilMs: number) {
  const trials = [1, 2, 3].flatMap((n) => [
    { impl: 'vigil', n, ok: true, gapMs: vigilMs + n, ratio: (vigilMs + n) / 361 },
    { impl: 'keepalived', n, ok: n !== 3, gapMs: n !== 3 ? 360 + n : null, ratio: n !== 3 ? (360 + n) / 361 : null },
  ]);
  return {
    env: env(commit, { keepalived: 'Keepalived v2.2.7', tcpdump: 'tcpdump 4.99' }),
    cells: [{
      id: 'v3-100ms-crash', label: 'VRRPv3, advert 100 ms, crash', protocolMs: 361, trials,
      summary: { vigil: { failed: 0, gapMs: st(vigilMs) }, keepalived: { failed: 1, gapMs: st(360) } },
    }],
  };
}

function reload() {
  const side = (ms: number) => ({ trials: 2, ms: st(ms), transitions: { total: 0 }, unexpectedDeletions: { total: 0 } });
  const summary = Object.fromEntries(['unchanged', 'priority', 'vips'].map((c) => [c, { 'vigil-cli': side(120), 'vigil-hup': side(20), keepalived: side(100) }]));
  return {
    env: env('ccc3333', { keepalived: 'Keepalived v2.2.7' }),
    cases: { unchanged: '(a) unchanged config', priority: '(b) one priority changed', vips: '(c) 10% of VIPs changed' },
    sizes: [{
      n: 100, summary,
      trials: [{ method: 'vigil-hup', case: 'unchanged', ok: true, ms: 18 }, { method: 'keepalived', case: 'unchanged', ok: true, ms: 101 }],
      sides: { vigil: { idle: { rssKb: 120 * 1024 } }, keepalived: { idle: { rssKb: 12 * 1024 } } },
    }],
    examples: [],
    checkers: null,
  };
}

function checkers() {
  const cell = (id: string, cpu: number, p99?: number) => ({ id, label: id, cpuPer30: st(cpu), intervalMs: p99 === undefined ? null : { ...st(100), p99 } });
  return {
    env: env('ddd4444', { haproxy: 'HAProxy version 2.6.12' }),
    bound: { refused: 2000, silent: 4000 },
    cells: [cell('vigil-idle', 0.5, 105), cell('vigil-tcp', 10, 210), cell('haproxy-tcp', 2.5)],
    detectionTrials: [
      ...[1000, 1500, 2000].map((ms) => ({ impl: 'vigil', check: 'tcp', ok: true, ms })),
      { impl: 'vigil', check: 'tcp', ok: false, ms: null },
      ...[1000, 1200].map((ms) => ({ impl: 'haproxy', check: 'tcp', ok: true, ms })),
    ],
    intervals: { 'vigil-idle': [100, 101, 99], 'vigil-tcp': [100, 210, 90] },
    windows: [{ cell: 'vigil-idle', intervalMs: { n: 3 } }],
  };
}

const inputs = (files: Record<string, unknown>): Inputs =>
  Object.fromEntries(Object.entries(files).map(([file, data]) => [file, { file, data }]));

const row = (r: Report, section: string, figure: RegExp) => {
  const found = r.headline.find((h) => h.section === section && figure.test(h.figure));
  assert.ok(found, `headline row ${section} ${figure}`);
  return found;
};

// ---------------------------------------------------------------------------------------------
// the report builder

test('ratios are the medians divided, and the goal is judged at every size', () => {
  const r = buildReport(inputs({ 'config-test.json': configTest() }));
  const lc = row(r, 'config-test', /loadConfig/);
  assert.deepEqual(lc.ratios, [0.2, 1.25]); // 2 / 10, 50 / 40
  assert.equal(lc.met, false, '1.25 is not < 1');
  const cli = row(r, 'config-test', /whole process/);
  assert.deepEqual(cli.ratios, [1.5, 4]); // 90 / 60, 240 / 60
  assert.equal(cli.met, false);
  assert.match(cli.shown, /1\.50 · 4\.00 at 10 · 1,000 instances/);
  const noGoal = r.headline.filter((h) => h.section === 'config-test' && h.goal === null);
  assert.deepEqual(noGoal.map((h) => h.ratios), [[9, 6]]); // 90 / 10, 240 / 40
  assert.equal(noGoal[0]!.met, null);

  const ok = buildReport(inputs({ 'config-test.json': configTest('aaa1111', { loadConfig: 30, vigilCli: 80 }) }));
  assert.equal(row(ok, 'config-test', /loadConfig/).met, true);
  assert.equal(row(ok, 'config-test', /whole process/).met, true);
});

test('failover: vigil ÷ keepalived from the cells\' medians; failed trials stay out of the plot', () => {
  const fast = buildReport(inputs({ 'failover.json': failover('bbb2222', 362) }));
  const h = row(fast, 'failover', /failover gap/);
  assert.deepEqual(h.ratios, [Math.round((362 / 360) * 1e4) / 1e4]);
  assert.equal(h.met, true);
  const slow = buildReport(inputs({ 'failover.json': failover('bbb2222', 400) }));
  assert.equal(row(slow, 'failover', /failover gap/).met, false);
  const section = fast.sections.find((s) => s.id === 'failover')!;
  assert.equal(section.status, 'partial', 'the runs under load are missing');
  assert.deepEqual(section.missing, ['failover-load1000.json', 'failover-checkers1000.json', 'failover-natsdown.json']);
  const strip = section.plots.find((p) => p.file === 'plots/failover-ratio.svg')!;
  assert.equal((strip.svg.match(/<circle /g) ?? []).length, 5, '3 vigil + 2 keepalived trials that saw a failover');
});

test('reload: SIGHUP ratio, RSS against the absolute 100 MB goal, and the disturbance count', () => {
  const r = buildReport(inputs({ 'reload.json': reload() }));
  assert.deepEqual(row(r, 'reload', /SIGHUP/).ratios, [0.2, 0.2, 0.2]);
  const rss = row(r, 'reload', /memory \(RSS\), 100 instances$/);
  assert.deepEqual(rss.ratios, [10]);
  assert.equal(rss.met, false, '120 MB is over 100 MB');
  const dist = row(r, 'reload', /transitions/);
  assert.equal(dist.shown, '0 in 12 reloads'); // 2 vigil methods × 3 cases × 2 trials
  assert.equal(dist.met, true);
});

test('checkers: CPU, advert jitter and detection ratios; a check type not run is not a miss', () => {
  const r = buildReport(inputs({ 'checkers.json': checkers() }));
  const cpu = row(r, 'checkers', /CPU/);
  assert.deepEqual(cpu.ratios, [4, null]); // 10 / 2.5; HTTP not run
  assert.equal(cpu.met, false);
  const jitter = row(r, 'checkers', /advert interval/);
  assert.deepEqual(jitter.ratios, [2, null]); // 210 / 105
  const bound = r.headline.find((h) => h.section === 'checkers' && /^the bound/.test(h.baseline))!;
  assert.ok(bound, 'the detection row against the bound');
  assert.match(bound.figure, /dead real server/);
  assert.equal(bound.goal?.text, '≤ 1');
  assert.deepEqual(bound.ratios, [0.75, null]); // median 1500 of the ok trials ÷ 2000
  assert.equal(bound.met, null, 'TCP passes, HTTP was not measured: not judged');
  const vsHaproxy = r.headline.filter((h) => h.section === 'checkers' && h.goal === null)[0]!;
  assert.deepEqual(vsHaproxy.ratios, [Math.round((1500 / 1100) * 1e4) / 1e4, null]);
});

test('missing inputs are "not run", never invented; an empty bench dir gives an empty headline', () => {
  const none = buildReport({});
  assert.deepEqual(none.headline, []);
  assert.ok(none.sections.every((s) => s.status === 'not run' && !s.plots.length), 'every section not run, no plots');
  const md = reportMarkdown(none);
  assert.match(md, /No benchmark JSON was found/);
  assert.match(md, /## Not run/);
  for (const s of none.sections) assert.ok(md.includes(`**${s.title}**: not run`), s.title);
  assert.doesNotMatch(md, /!\[/, 'no plots');

  const some = reportMarkdown(buildReport(inputs({ 'config-test.json': configTest() })));
  assert.match(some, /## Checking a config/);
  assert.match(some, /\*\*Health checks: vigil vs HAProxy\*\*: not run \(no `checkers\.json`\)/);
  assert.doesNotMatch(some, /## Health checks/);
});

test('runs of different commits are said to be so, in the header and in the section', () => {
  const r = buildReport(inputs({ 'failover.json': failover('bbb2222', 362), 'failover-load1000.json': { ...failover('eee5555', 362), env: env('eee5555', { load: 1000 }) } }));
  const md = reportMarkdown(r);
  assert.match(md, /runs of different commits\*\* \(bbb2222, eee5555\)/);
  assert.match(md, /The runs are of 2 different commits/);
  assert.deepEqual(r.sections.find((s) => s.id === 'failover')!.missing, ['failover-checkers1000.json', 'failover-natsdown.json'], 'only the variants not given are missing');
  const same = reportMarkdown(buildReport(inputs({ 'failover.json': failover('bbb2222', 362) })));
  assert.doesNotMatch(same, /different commits/);
});

test('bad input: unparsable JSON names file:line:col, a wrong shape names the field; neither crashes', () => {
  const bad = parseJson('{\n  "a": 1,\n  "b": }', 'checkers.json');
  assert.equal(bad.data, undefined);
  assert.match(bad.error!, /^checkers\.json:3:8: not valid JSON/);
  assert.equal(jsonErrorOffset('[1, 2,]'), 6);
  assert.equal(jsonErrorOffset('{"a": [true, null, -1.5e3, "\\u00e9"]}'), -1);
  assert.equal(jsonErrorOffset('{"a": 1} x'), 9);

  const broken = configTest() as { results: { ms: Record<string, unknown> }[] };
  broken.results[1]!.ms.vigilCli = { n: 5, median: 'fast' };
  const r = buildReport({ ...inputs({ 'config-test.json': broken, 'reload.json': reload() }), 'checkers.json': bad });
  const ct = r.sections.find((s) => s.id === 'config-test')!;
  assert.equal(ct.status, 'unreadable');
  assert.match(ct.errors[0]!, /config-test\.json: results\[1\]\.ms\.vigilCli\.(min|median): expected a number/);
  assert.equal(r.sections.find((s) => s.id === 'checkers')!.status, 'unreadable');
  assert.equal(r.sections.find((s) => s.id === 'reload')!.status, 'ok', 'the others are still reported');
  assert.ok(!r.headline.some((h) => h.section === 'config-test' || h.section === 'checkers'), 'no headline from unreadable input');
  const md = reportMarkdown(r);
  assert.match(md, /unreadable: checkers\.json:3:8: not valid JSON/);
});

test('the README block: replaced between the markers only, idempotent, refused without them', () => {
  const snippet = readmeSnippet(buildReport(inputs({ 'config-test.json': configTest() })));
  assert.match(snippet, /\[bench\/report\.md\]\(bench\/report\.md\)/);
  assert.match(snippet, /0\.20 · 1\.25 at 10 · 1,000 instances/);
  const readme = `# x\n\nbefore\n${README_START}\nold text\n${README_END}\nafter\n`;
  const once = replaceMarked(readme, snippet)!;
  assert.ok(once.startsWith('# x\n\nbefore\n') && once.endsWith(`${README_END}\nafter\n`), once);
  assert.ok(once.includes(snippet) && !once.includes('old text'), once);
  assert.equal(replaceMarked(once, snippet), once);
  assert.equal(replaceMarked('no markers', snippet), null);
  assert.equal(replaceMarked(`${README_END}\n${README_START}`, snippet), null, 'in the wrong order');
  assert.equal(replaceMarked(`${README_START}${README_START}${README_END}`, snippet), null, 'twice');
});

test('recordFigures: quantiles of the samples, figures of other names kept, each with its run', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bench-figures-'));
  const quiet = process.stderr.write;
  process.stderr.write = (() => true) as typeof process.stderr.write;
  try {
    recordFigures('t', [{ name: 'a', unit: 'ms', samples: Array.from({ length: 101 }, (_, i) => 100 - i) }], dir);
    recordFigures('t', [{ name: 'b', unit: 'mails', value: 550 }], dir);
    recordFigures('t', [{ name: 'b', unit: 'mails', value: 549 }], dir);
    const got = JSON.parse(readFileSync(join(dir, 't.json'), 'utf8')) as { env: { node: string }; figures: Record<string, unknown>[] };
    assert.equal(got.env.node, process.version);
    assert.deepEqual(got.figures.map((f) => [f.name, f.n, f.p50, f.p99, f.max, f.value]), [
      ['a', 101, 50, 99, 100, undefined],
      ['b', undefined, undefined, undefined, undefined, 549],
    ]);
    assert.equal((got.figures[0]!.samples as number[]).length, 101);
    const r = buildReport(inputs({ 'notifier.json': got }));
    const s = r.sections.find((x) => x.id === 'notifier')!;
    assert.equal(s.status, 'ok');
    assert.equal(s.plots.length, 1);
    checkXml(s.plots[0]!.svg);
    assert.ok(s.body.some((l) => l.startsWith('| a | 101 | 50.0 | 99.0 | 100 |')), s.body.join('\n'));
  } finally {
    process.stderr.write = quiet;
    rmSync(dir, { recursive: true, force: true });
  }
});

// ---------------------------------------------------------------------------------------------
// bench/report.ts, the command

test('bench/report.ts: writes the report, plots and README block from a directory, the same each time', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bench-report-'));
  try {
    writeFileSync(join(dir, 'config-test.json'), JSON.stringify(configTest()));
    writeFileSync(join(dir, 'checkers.json'), JSON.stringify(checkers()));
    const readme = join(dir, 'README.md');
    writeFileSync(readme, `# r\n${README_START}\n${README_END}\n`);
    const run = () => spawnSync(process.execPath, ['--import', 'tsx', join(REPO, 'bench', 'report.ts'), '--dir', dir, '--readme', readme], { cwd: REPO, encoding: 'utf8' });
    const first = run();
    assert.equal(first.status, 0, first.stderr);
    const md = readFileSync(join(dir, 'report.md'), 'utf8');
    const plots = readdirSync(join(dir, 'plots')).sort();
    assert.deepEqual(plots, ['checkers-cpu.svg', 'checkers-detection.svg', 'checkers-intervals-hist.svg', 'checkers-intervals.svg', 'config-test-ratios.svg', 'config-test-times.svg']);
    for (const p of plots) {
      checkXml(readFileSync(join(dir, 'plots', p), 'utf8'));
      assert.ok(md.includes(`(plots/${p})`), `${p} linked from report.md`);
    }
    assert.match(readFileSync(readme, 'utf8'), /0\.20 · 1\.25 at 10 · 1,000 instances/);
    const json = JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8')) as { headline: unknown[] };
    assert.ok(json.headline.length >= 3, `${json.headline.length} headline rows`);

    // no clock in the output: a second run changes nothing
    const before = [md, readFileSync(join(dir, 'report.json'), 'utf8'), readFileSync(readme, 'utf8'), ...plots.map((p) => readFileSync(join(dir, 'plots', p), 'utf8'))];
    assert.equal(run().status, 0);
    const after = [readFileSync(join(dir, 'report.md'), 'utf8'), readFileSync(join(dir, 'report.json'), 'utf8'), readFileSync(readme, 'utf8'), ...plots.map((p) => readFileSync(join(dir, 'plots', p), 'utf8'))];
    assert.deepEqual(after, before);

    // a broken file: exit 1, named with its place; its section and stale plots go
    writeFileSync(join(dir, 'checkers.json'), '{"env": {,}');
    const broken = run();
    assert.equal(broken.status, 1);
    assert.match(broken.stderr, /checkers\.json:1:10: not valid JSON/);
    assert.match(readFileSync(join(dir, 'report.md'), 'utf8'), /unreadable: checkers\.json:1:10/);
    assert.deepEqual(readdirSync(join(dir, 'plots')).sort(), ['config-test-ratios.svg', 'config-test-times.svg']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
