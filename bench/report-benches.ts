// bench/report-benches.ts: one builder per benchmark, from the JSON it wrote to its headline
// rows (vigil ÷ baseline, the goal, met or not), its tables and its plots, and the list of the
// benchmarks the report knows (BENCHES). Every field read goes through report-data.ts's checks.

import { type Figure, type RefLine, type SeriesStyle, barChart, boxPlot, fiveNum, histogram, lineChart, stack } from './plot.js';
import {
  type Bench, type Built, type Goal, type HeadlineRow, type Obj, type Plot,
  COLORS, fmtInt, fmtMs, fmtRatio, headlineRow, isNum, list, num, numOrNull, obj, optStr, plot, ratio, shortDate, stats, str, table,
} from './report-data.js';

// --- config-test (bench/run.ts) ----------------------------------------------------------------

const CONFIG_MEASURES = [
  ['loadConfig', 'loadConfig in-process', COLORS.vigil],
  ['vigilCli', 'vigil config-test', COLORS.vigil],
  ['node', 'node -e 0', COLORS.node],
  ['keepalived', 'keepalived -t (raw)', COLORS.keepalived],
  ['netnsTrue', 'ip netns exec true', COLORS.node],
] as const;

function buildConfigTest(data: ReadonlyMap<string, unknown>): Built {
  const F = 'config-test.json';
  const root = obj(data.get(F), F);
  const skipped = optStr(root.keepalivedSkipped);
  const sizes = list(root.results, `${F}: results`).map((v, i) => {
    const w = `${F}: results[${i}]`;
    const r = obj(v, w);
    const ms = obj(r.ms, `${w}.ms`);
    const st = Object.fromEntries(CONFIG_MEASURES.map(([k]) => [k, stats(ms[k], `${w}.ms.${k}`)])) as Record<(typeof CONFIG_MEASURES)[number][0], ReturnType<typeof stats>>;
    const samples = r.samples === undefined ? undefined : obj(r.samples, `${w}.samples`);
    const kaNet = numOrNull(r.keepalivedNetMs, `${w}.keepalivedNetMs`);
    const lc = st.loadConfig?.median ?? null;
    const cli = st.vigilCli?.median ?? null;
    return {
      n: num(r.n, `${w}.n`), st, samples, kaNet,
      lcVsKa: ratio(lc, kaNet), cliVsNode: ratio(cli, st.node?.median), cliVsKa: ratio(cli, kaNet),
    };
  });
  const ns = sizes.map((s) => fmtInt(s.n)).join(' · ');
  const at = (xs: (number | null)[]): string => `${xs.map((x) => fmtRatio(x)).join(' · ')} at ${ns} instances`;
  const kaBase = skipped ? `keepalived -t: not run (${skipped})` : 'keepalived -t, net of `ip netns exec`';
  const headline = [
    headlineRow('config-test', F, 'config check in-process (loadConfig)', kaBase, sizes.map((s) => s.lcVsKa), at(sizes.map((s) => s.lcVsKa)),
      { text: '< 1.0 at every size', from: 'bench/run.ts' }, (x) => x < 1),
    headlineRow('config-test', F, '`vigil config-test`, whole process', 'a bare `node -e 0`', sizes.map((s) => s.cliVsNode), at(sizes.map((s) => s.cliVsNode)),
      { text: '≤ 1.5 at every size', from: 'bench/run.ts' }, (x) => x <= 1.5),
    headlineRow('config-test', F, '`vigil config-test`, whole process', kaBase, sizes.map((s) => s.cliVsKa), at(sizes.map((s) => s.cliVsKa)), null, null),
  ];
  const body = table(
    ['instances', 'loadConfig ms', 'vigil config-test ms', 'node -e 0 ms', 'keepalived -t net ms', 'loadConfig ÷ keepalived', 'config-test ÷ node', 'config-test ÷ keepalived'],
    sizes.map((s) => [fmtInt(s.n), fmtMs(s.st.loadConfig?.median), fmtMs(s.st.vigilCli?.median), fmtMs(s.st.node?.median), fmtMs(s.kaNet),
      fmtRatio(s.lcVsKa), fmtRatio(s.cliVsNode), fmtRatio(s.cliVsKa)]),
  );
  body.splice(body.length - 1, 0, '', 'Medians of the same rounds; "keepalived -t net" is its median minus that of `ip netns exec true`.');
  const series: SeriesStyle[] = [
    { name: 'loadConfig ÷ keepalived -t net (goal < 1)', color: COLORS.vigil },
    { name: 'config-test ÷ node -e 0 (goal ≤ 1.5)', color: COLORS.node },
    { name: 'config-test ÷ keepalived -t net', color: COLORS.keepalived },
  ];
  const rows = sizes.flatMap((s) => CONFIG_MEASURES.map(([k, label, color]) => ({
    group: `${fmtInt(s.n)} instances`, label, color, summary: s.st[k],
    samples: s.samples && Array.isArray(s.samples[k]) ? (s.samples[k] as unknown[]).filter(isNum) : undefined,
  })));
  const plots = [
    plot('config-test-ratios.svg', 'vigil ÷ baseline per size (dashed: 1 and the CLI goal 1.5)', barChart({
      title: 'Checking a config: vigil ÷ baseline, medians', axis: { label: 'ratio', log: true, include: [1] },
      series, groups: sizes.map((s) => ({ label: `${fmtInt(s.n)} instances`, values: [s.lcVsKa, s.cliVsNode, s.cliVsKa] })),
      refLines: [{ value: 1, label: '1' }, { value: 1.5, label: '1.5' }], format: (v) => v.toFixed(2),
    })),
    plot('config-test-times.svg', 'wall time per measure: box p25–p75, whiskers min–max, bar the median', boxPlot({
      title: 'Checking a config: wall time per run', axis: { label: 'ms', log: true }, rows,
      note: sizes.some((s) => s.samples) ? 'dots: every timed run' : 'boxes from the summary statistics (this run did not record its samples)',
      format: fmtMs,
    })),
  ];
  return { headline, body, plots, notes: skipped ? [`keepalived was not measured: ${skipped}`] : [] };
}

// --- failover (bench/failover.ts, with and without BENCH_LOAD) ------------------------------------

const FAILOVER_IMPLS = ['vigil', 'keepalived'] as const;
const FAILOVER_GOAL: Goal = { text: '≤ 1.05 in every cell', from: 'this report: no slower than keepalived beyond the trials\' spread' };

interface FailoverCell {
  id: string;
  label: string;
  protocolMs: number;
  trials: { impl: string; n: number; ok: boolean; gapMs: number | null; ratio: number | null }[];
  med: Record<(typeof FAILOVER_IMPLS)[number], number | null>;
  failed: Record<(typeof FAILOVER_IMPLS)[number], number>;
  vsKeepalived: number | null;
}

function failoverCells(file: string, data: unknown): FailoverCell[] {
  return list(obj(data, file).cells, `${file}: cells`).map((v, i) => {
    const w = `${file}: cells[${i}]`;
    const o = obj(v, w);
    const summary = obj(o.summary, `${w}.summary`);
    const side = (impl: string): { med: number | null; failed: number } => {
      const s = obj(summary[impl], `${w}.summary.${impl}`);
      return { med: stats(s.gapMs, `${w}.summary.${impl}.gapMs`)?.median ?? null, failed: num(s.failed, `${w}.summary.${impl}.failed`) };
    };
    const vg = side('vigil');
    const ka = side('keepalived');
    return {
      id: str(o.id, `${w}.id`), label: str(o.label, `${w}.label`), protocolMs: num(o.protocolMs, `${w}.protocolMs`),
      trials: list(o.trials, `${w}.trials`).map((t, j) => {
        const tw = `${w}.trials[${j}]`;
        const x = obj(t, tw);
        return { impl: str(x.impl, `${tw}.impl`), n: num(x.n, `${tw}.n`), ok: x.ok === true, gapMs: numOrNull(x.gapMs, `${tw}.gapMs`), ratio: numOrNull(x.ratio, `${tw}.ratio`) };
      }),
      med: { vigil: vg.med, keepalived: ka.med }, failed: { vigil: vg.failed, keepalived: ka.failed },
      vsKeepalived: ratio(vg.med, ka.med),
    };
  });
}

function failoverTable(cells: readonly FailoverCell[]): string[] {
  return table(
    ['cell', 'protocol ms', 'vigil median ms (÷ protocol)', 'keepalived median ms (÷ protocol)', 'vigil ÷ keepalived', 'failed trials v · k'],
    cells.map((c) => [c.label, fmtMs(c.protocolMs),
      `${fmtMs(c.med.vigil)} (${fmtRatio(ratio(c.med.vigil, c.protocolMs), 3)})`,
      `${fmtMs(c.med.keepalived)} (${fmtRatio(ratio(c.med.keepalived, c.protocolMs), 3)})`,
      fmtRatio(c.vsKeepalived, 3), `${c.failed.vigil} · ${c.failed.keepalived}`]),
  );
}

function failoverStrip(cells: readonly FailoverCell[], title: string): Figure {
  return boxPlot({
    title, axis: { label: 'failover gap ÷ protocol figure', include: [1] },
    legend: [{ name: 'vigil', color: COLORS.vigil }, { name: 'keepalived 2.2.7', color: COLORS.keepalived }],
    note: 'one dot per trial; box p25–p75, whiskers min–max, bar and value the median',
    rows: cells.flatMap((c) => FAILOVER_IMPLS.map((impl) => ({
      group: `${c.label} (protocol ${fmtMs(c.protocolMs)} ms)`, label: impl, color: COLORS[impl],
      samples: c.trials.filter((t) => t.impl === impl && t.ok && t.ratio !== null).map((t) => t.ratio!),
    }))),
    refLines: [{ value: 1, label: 'protocol' }], format: (v) => v.toFixed(3),
  });
}

function buildFailover(data: ReadonlyMap<string, unknown>): Built {
  const headline: HeadlineRow[] = [];
  const body: string[] = [];
  const plots: Plot[] = [];
  const range = (cells: readonly FailoverCell[]): string => {
    const xs = cells.map((c) => c.vsKeepalived).filter(isNum);
    return xs.length ? `${Math.min(...xs).toFixed(3)}–${Math.max(...xs).toFixed(3)} over ${cells.length} cells` : 'not measured';
  };
  const main = data.get('failover.json');
  if (main !== undefined) {
    const cells = failoverCells('failover.json', main);
    headline.push(headlineRow('failover', 'failover.json', 'VRRP failover gap (master\'s last advert → backup\'s first)', 'keepalived 2.2.7, same LAN setup',
      cells.map((c) => c.vsKeepalived), range(cells), FAILOVER_GOAL, (x) => x <= 1.05));
    body.push(...failoverTable(cells));
    plots.push(plot('failover-ratio.svg', 'each trial\'s gap ÷ the protocol\'s figure, vigil beside keepalived', failoverStrip(cells, 'VRRP failover gap ÷ protocol figure')));
    // the gaps in the order the trials ran: drift or a bad patch shows as a slope or a cluster
    plots.push(plot('failover-trials.svg', 'the gap trial by trial (dashed: the protocol\'s figure)', stack(cells.map((c) => lineChart({
      title: c.label, x: { label: 'trial' }, y: { label: 'gap ms' }, plotHeight: 110,
      series: FAILOVER_IMPLS.map((impl) => ({
        name: impl, color: COLORS[impl],
        points: c.trials.filter((t) => t.impl === impl && t.ok && t.gapMs !== null).map((t) => [t.n, t.gapMs!] as const),
      })),
      refLines: [{ value: c.protocolMs, label: `protocol ${fmtMs(c.protocolMs)} ms` }],
    })), 'VRRP failover gap, trial by trial')));
  }
  // the same cells with load beside VRRP: track scripts (both), checkers or a NATS server down (vigil)
  const variants = [
    { file: 'failover-load1000.json', what: (env: Obj) => `${fmtInt(isNum(env.load) ? env.load : 1000)} track scripts per daemon`, baseline: 'keepalived 2.2.7 with the same scripts' },
    { file: 'failover-checkers1000.json', what: (env: Obj) => `${fmtInt(isNum(env.checkers) ? env.checkers : 1000)} TCP checks per vigil`, baseline: 'keepalived 2.2.7 --vrrp (its checker needs IPVS, absent here)' },
    { file: 'failover-natsdown.json', what: () => 'vigil exporting to a NATS server that is down', baseline: 'keepalived 2.2.7' },
  ];
  for (const v of variants) {
    const raw = data.get(v.file);
    if (raw === undefined) continue;
    const cells = failoverCells(v.file, raw);
    const what = v.what(obj(obj(raw, v.file).env, `${v.file}: env`));
    headline.push(headlineRow('failover', v.file, `the same, ${what}`, v.baseline, cells.map((c) => c.vsKeepalived), range(cells), FAILOVER_GOAL, (x) => x <= 1.05));
    body.push(`### Under load: ${what}`, '', ...failoverTable(cells));
    plots.push(plot(v.file.replace('.json', '-ratio.svg'), `gap ÷ protocol figure, ${what}`, failoverStrip(cells, `VRRP failover gap ÷ protocol figure, ${what}`)));
  }
  return { headline, body, plots, notes: [] };
}

// --- reload and footprint (bench/reload.ts) ------------------------------------------------------

const RELOAD_METHODS = [
  ['vigil-cli', 'vigil reload (CLI)', COLORS.other],
  ['vigil-hup', 'vigil SIGHUP', COLORS.vigil],
  ['keepalived', 'keepalived SIGHUP', COLORS.keepalived],
] as const;
const RELOAD_CASES = ['unchanged', 'priority', 'vips'] as const;
const RSS_GOAL: Goal = { text: 'vigil under 100 MB', from: 'issue #8' };

function buildReload(data: ReadonlyMap<string, unknown>): Built {
  const F = 'reload.json';
  const root = obj(data.get(F), F);
  const caseLabels = obj(root.cases, `${F}: cases`);
  const caseLabel = (c: string): string => optStr(caseLabels[c]) ?? c;
  const mb = (kb: number | null): number | null => (kb === null ? null : kb / 1024);
  const rssOf = (sides: Obj, impl: string, w: string): number | null => {
    const s = sides[impl];
    if (s === undefined || s === null) return null;
    const idle = obj(s, `${w}.${impl}`).idle;
    return idle === null || idle === undefined ? null : mb(num(obj(idle, `${w}.${impl}.idle`).rssKb, `${w}.${impl}.idle.rssKb`));
  };
  let disturbances = 0;
  let reloads = 0;
  const sizes = list(root.sizes, `${F}: sizes`).map((v, i) => {
    const w = `${F}: sizes[${i}]`;
    const o = obj(v, w);
    const summary = obj(o.summary, `${w}.summary`);
    const cases = RELOAD_CASES.map((cs) => {
      const byMethod = obj(summary[cs], `${w}.summary.${cs}`);
      const med = Object.fromEntries(RELOAD_METHODS.map(([m]) => {
        const s = obj(byMethod[m], `${w}.summary.${cs}.${m}`);
        if (m !== 'keepalived') {
          for (const k of ['transitions', 'unexpectedDeletions'] as const) disturbances += num(obj(s[k], `${w}.summary.${cs}.${m}.${k}`).total, `${w}.summary.${cs}.${m}.${k}.total`);
          reloads += num(s.trials, `${w}.summary.${cs}.${m}.trials`);
        }
        return [m, stats(s.ms, `${w}.summary.${cs}.${m}.ms`)?.median ?? null];
      })) as Record<(typeof RELOAD_METHODS)[number][0], number | null>;
      return { cs, med, hupVsKa: ratio(med['vigil-hup'], med.keepalived), cliVsKa: ratio(med['vigil-cli'], med.keepalived) };
    });
    const trials = list(o.trials, `${w}.trials`).map((t, j) => {
      const x = obj(t, `${w}.trials[${j}]`);
      return { method: optStr(x.method), cs: optStr(x.case), ok: x.ok === true, ms: numOrNull(x.ms, `${w}.trials[${j}].ms`) };
    });
    const sides = obj(o.sides, `${w}.sides`);
    return { n: num(o.n, `${w}.n`), cases, trials, rss: { vigil: rssOf(sides, 'vigil', `${w}.sides`), keepalived: rssOf(sides, 'keepalived', `${w}.sides`) } };
  });
  const examples = list(root.examples ?? [], `${F}: examples`).map((v, i) => {
    const w = `${F}: examples[${i}]`;
    const o = obj(v, w);
    const sides = o.sides === null || o.sides === undefined ? {} : obj(o.sides, `${w}.sides`);
    return { label: str(o.label, `${w}.label`).replace(/`/g, ''), skipped: optStr(o.skipped), rss: { vigil: rssOf(sides, 'vigil', `${w}.sides`), keepalived: rssOf(sides, 'keepalived', `${w}.sides`) } };
  });
  const chk = root.checkers === null || root.checkers === undefined ? null : obj(root.checkers, `${F}: checkers`);
  // the median of the window's samples where the run has them, else the one sample at its start
  const chkWindow = chk && chk.rssWindowKb ? obj(chk.rssWindowKb, `${F}: checkers.rssWindowKb`) : null;
  const chkRss = chkWindow ? mb(num(chkWindow.median, `${F}: checkers.rssWindowKb.median`))
    : chk && chk.idle ? mb(num(obj(chk.idle, `${F}: checkers.idle`).rssKb, `${F}: checkers.idle.rssKb`)) : null;

  const headline: HeadlineRow[] = [];
  const big = sizes[sizes.length - 1];
  if (big) {
    const xs = big.cases.map((c) => c.hupVsKa);
    headline.push(headlineRow('reload', F, `reload (SIGHUP → applied), ${fmtInt(big.n)} instances`, 'keepalived SIGHUP → reload done', xs,
      `${xs.map((x) => fmtRatio(x)).join(' · ')} for cases a · b · c`, null, null));
  }
  // the memory goal is absolute (MB), so it is judged on vigil's own figure, with or without a baseline
  const underGoal = (row: HeadlineRow, vigilMb: number | null): HeadlineRow => ({ ...row, met: vigilMb === null ? null : vigilMb < 100 });
  const hundred = sizes.find((s) => s.n === 100);
  if (hundred) {
    const rv = hundred.rss.vigil;
    const x = ratio(rv, hundred.rss.keepalived);
    headline.push(underGoal(headlineRow('reload', F, 'memory (RSS), 100 instances', 'keepalived --vrrp, same config', [x],
      `${fmtRatio(x)} (vigil ${fmtMs(rv)} MB)`, RSS_GOAL, null), rv));
  }
  if (chk) {
    headline.push(underGoal(headlineRow('reload', F, 'memory (RSS), 100 instances + 1,000 TCP checkers',
      optStr(chk.keepalived) ? 'keepalived: not run here' : 'keepalived', [null], `– (vigil ${fmtMs(chkRss)} MB)`, RSS_GOAL, null), chkRss));
  }
  headline.push({
    section: 'reload', figure: 'VRRP transitions + VIP flaps caused by vigil\'s reloads', baseline: 'none (a count)', ratios: [],
    shown: `${disturbances} in ${reloads} reloads`, goal: { text: '0', from: 'issue #8' }, met: reloads ? disturbances === 0 : null, source: F,
  });

  const body = [
    ...table(['instances', 'case', 'vigil CLI ms', 'vigil SIGHUP ms', 'keepalived ms', 'vigil SIGHUP ÷ keepalived', 'vigil CLI ÷ keepalived'],
      sizes.flatMap((s) => s.cases.map((c) => [fmtInt(s.n), caseLabel(c.cs), fmtMs(c.med['vigil-cli']), fmtMs(c.med['vigil-hup']), fmtMs(c.med.keepalived),
        fmtRatio(c.hupVsKa), fmtRatio(c.cliVsKa)])), 'llrrrrr'),
    ...table(['config', 'vigil RSS MB', 'keepalived RSS MB', 'vigil ÷ keepalived'], [
      ...sizes.map((s) => [`generated, ${fmtInt(s.n)} instances`, fmtMs(s.rss.vigil), fmtMs(s.rss.keepalived), fmtRatio(ratio(s.rss.vigil, s.rss.keepalived))]),
      ...examples.map((e) => [e.label, e.skipped ? 'not run' : fmtMs(e.rss.vigil), e.skipped ? 'not run' : fmtMs(e.rss.keepalived), fmtRatio(ratio(e.rss.vigil, e.rss.keepalived))]),
      ...(chk ? [['100 instances + 1,000 TCP checkers', fmtMs(chkRss), 'not run', '–']] : []),
    ], 'lrrr'),
  ];
  const groups = sizes.flatMap((s) => s.cases.map((c) => ({ label: `${fmtInt(s.n)} inst., ${caseLabel(c.cs).replace(/ config$/, '')}`, values: [c.hupVsKa, c.cliVsKa] })));
  const rssRows = [
    ...sizes.map((s) => ({ label: `${fmtInt(s.n)} instances`, values: [s.rss.vigil, s.rss.keepalived] })),
    ...examples.filter((e) => !e.skipped).map((e) => ({ label: e.label.replace(/^infra\/examples\//, ''), values: [e.rss.vigil, e.rss.keepalived] })),
    ...(chk ? [{ label: '100 inst. + 1,000 checkers', values: [chkRss, null] }] : []),
  ];
  const plots = [
    plot('reload-ratio.svg', 'reload time, vigil ÷ keepalived (medians; < 1: vigil faster)', barChart({
      title: 'Reload time, vigil ÷ keepalived SIGHUP (medians)', axis: { label: 'ratio', log: true, include: [1] },
      series: [{ name: 'vigil SIGHUP ÷ keepalived', color: COLORS.vigil }, { name: 'vigil reload CLI ÷ keepalived', color: COLORS.other }],
      groups, refLines: [{ value: 1, label: '1' }], format: (v) => v.toFixed(2),
    })),
    plot('reload-times.svg', 'every reload\'s time, per method', boxPlot({
      title: 'Reload time per trial', axis: { label: 'ms', log: true },
      legend: RELOAD_METHODS.map(([, name, color]) => ({ name, color })),
      note: 'one dot per trial; box p25–p75, whiskers min–max, bar and value the median',
      rows: sizes.flatMap((s) => RELOAD_CASES.flatMap((cs) => RELOAD_METHODS.map(([m, label, color]) => ({
        group: `${fmtInt(s.n)} instances, ${caseLabel(cs)}`, label, color,
        samples: s.trials.filter((t) => t.method === m && t.cs === cs && t.ok && t.ms !== null).map((t) => t.ms!),
      })))),
      format: fmtMs,
    })),
    plot('reload-rss.svg', 'resident memory, vigil beside keepalived (dashed: the 100 MB goal)', barChart({
      title: 'Memory (RSS) once every instance is MASTER', axis: { label: 'MB', include: [100] },
      series: [{ name: 'vigil', color: COLORS.vigil }, { name: 'keepalived --vrrp', color: COLORS.keepalived }],
      groups: rssRows, refLines: [{ value: 100, label: '100 MB goal' }], format: (v) => v.toFixed(1),
    })),
  ];
  const notes = chk && optStr(chk.keepalived) ? [`With 1,000 checkers keepalived was ${optStr(chk.keepalived)}`] : [];
  return { headline, body, plots, notes };
}

// --- health checks (bench/checkers.ts) -----------------------------------------------------------

const CHECKS = [['tcp', 'TCP'], ['http', 'HTTP']] as const;

function buildCheckers(data: ReadonlyMap<string, unknown>): Built {
  const F = 'checkers.json';
  const root = obj(data.get(F), F);
  const cells = new Map(list(root.cells, `${F}: cells`).map((v, i) => {
    const w = `${F}: cells[${i}]`;
    const o = obj(v, w);
    return [str(o.id, `${w}.id`), {
      label: str(o.label, `${w}.label`), cpu: stats(o.cpuPer30, `${w}.cpuPer30`), interval: stats(o.intervalMs, `${w}.intervalMs`),
      perCheck: stats(o.cpuUsPerCheck, `${w}.cpuUsPerCheck`),
    }] as const;
  }));
  const boundMs = num(obj(root.bound, `${F}: bound`).refused, `${F}: bound.refused`);
  const detections = list(root.detectionTrials ?? [], `${F}: detectionTrials`).map((v, i) => {
    const o = obj(v, `${F}: detectionTrials[${i}]`);
    return { impl: optStr(o.impl), check: optStr(o.check), ok: o.ok === true, ms: numOrNull(o.ms, `${F}: detectionTrials[${i}].ms`) };
  });
  const detMs = (impl: string, ck: string): number[] => detections.filter((d) => d.impl === impl && d.check === ck && d.ok && d.ms !== null).map((d) => d.ms!);
  const detMed = (impl: string, ck: string): number | null => fiveNum(detMs(impl, ck))?.median ?? null;
  const intervals = root.intervals === undefined ? {} : obj(root.intervals, `${F}: intervals`);
  const ivs = (id: string): number[] => (Array.isArray(intervals[id]) ? (intervals[id] as unknown[]).filter(isNum) : []);

  const cpu = CHECKS.map(([ck]) => ratio(cells.get(`vigil-${ck}`)?.cpu?.median, cells.get(`haproxy-${ck}`)?.cpu?.median));
  const idleCpu = cells.get('vigil-idle')?.cpu?.median;
  const cpuNet = CHECKS.map(([ck]) => {
    const v = cells.get(`vigil-${ck}`)?.cpu?.median;
    return ratio(v !== undefined && idleCpu !== undefined ? v - idleCpu : undefined, cells.get(`haproxy-${ck}`)?.cpu?.median);
  });
  const jitter = CHECKS.map(([ck]) => ratio(cells.get(`vigil-${ck}`)?.interval?.p99, cells.get('vigil-idle')?.interval?.p99));
  const detBound = CHECKS.map(([ck]) => ratio(detMed('vigil', ck), boundMs));
  const haBound = CHECKS.map(([ck]) => ratio(detMed('haproxy', ck), boundMs));
  const detVs = CHECKS.map(([ck]) => ratio(detMed('vigil', ck), detMed('haproxy', ck)));
  const both = (xs: (number | null)[], d = 2): string => `${xs.map((x) => fmtRatio(x, d)).join(' · ')} (TCP · HTTP)`;
  const headline = [
    headlineRow('checkers', F, 'CPU of 1,000 health checks per second', 'HAProxy 2.6, same checks', cpu, both(cpu), { text: '≤ 1', from: 'issue #6' }, (x) => x <= 1),
    headlineRow('checkers', F, 'the same, the CPU the checks add (vigil less its VRRP-only run)', 'HAProxy 2.6, same checks', cpuNet, both(cpuNet),
      { text: '≤ 1', from: 'issue #6' }, (x) => x <= 1),
    headlineRow('checkers', F, 'VRRP advert interval p99 while checking', 'the same vigil without checks', jitter, both(jitter),
      { text: '≈ 1 (≤ 1.1)', from: 'issue #6 ("unchanged"); the 10 % is this report\'s' }, (x) => x <= 1.1),
    headlineRow('checkers', F, 'time to take a dead real server out, median', `the bound, ${fmtInt(Math.round(boundMs))} ms (HAProxy: ${haBound.map((x) => fmtRatio(x)).join(' · ')})`,
      detBound, both(detBound), { text: '≤ 1', from: 'issue #6' }, (x) => x <= 1),
    headlineRow('checkers', F, 'time to take a dead real server out, median', 'HAProxy 2.6', detVs, both(detVs), null, null),
  ];
  const cellRow = (id: string): string[] => {
    const c = cells.get(id);
    return [c?.label ?? id, c?.cpu ? `${c.cpu.median.toFixed(2)} [${c.cpu.p25.toFixed(2)}–${c.cpu.p75.toFixed(2)}]` : 'not run',
      fmtMs(c?.perCheck?.median), fmtMs(c?.interval?.median), fmtMs(c?.interval?.p99)];
  };
  const body = [
    ...table(['cell', 'CPU-s / 30 s, median [IQR]', 'CPU µs per check', 'advert interval p50 ms', 'p99 ms'],
      ['vigil-idle', 'vigil-tcp', 'haproxy-tcp', 'vigil-http', 'haproxy-http'].map(cellRow), 'lrrrr'),
    ...table(['checks', 'vigil detection median ms', 'HAProxy', 'vigil ÷ bound', 'HAProxy ÷ bound', 'vigil ÷ HAProxy'],
      CHECKS.map(([ck, label], i) => [label, fmtMs(detMed('vigil', ck)), fmtMs(detMed('haproxy', ck)), fmtRatio(detBound[i]), fmtRatio(haBound[i]), fmtRatio(detVs[i])])),
  ];
  // the pooled intervals of each vigil cell, with the joins between its windows marked
  const windows = list(root.windows ?? [], `${F}: windows`).map((v, i) => obj(v, `${F}: windows[${i}]`));
  const breaks = (id: string): RefLine[] => {
    const ns = windows.filter((w) => w.cell === id && w.intervalMs && typeof w.intervalMs === 'object').map((w) => (w.intervalMs as Obj).n).filter(isNum);
    if (ns.reduce((a, b) => a + b, 0) !== ivs(id).length) return [];
    let at = 0;
    return ns.slice(0, -1).map((n, k) => ({ value: (at += n) + 0.5, label: `window ${k + 2}` }));
  };
  const ivCells = [['vigil-idle', 'VRRP only, no checks', COLORS.node], ['vigil-tcp', 'with 1,000 TCP_CHECK', COLORS.vigil], ['vigil-http', 'with 1,000 HTTP_GET', COLORS.other]] as const;
  const present = ivCells.filter(([id]) => ivs(id).length);
  const yMax = Math.max(0, ...present.flatMap(([id]) => ivs(id)));
  const plots = [
    plot('checkers-cpu.svg', 'CPU per 30 s of checking, vigil beside HAProxy (medians over the rounds)', barChart({
      title: 'CPU-seconds per 30 s, 1,000 real servers checked every second', axis: { label: 'CPU-s per 30 s' },
      series: [{ name: 'vigil', color: COLORS.vigil }, { name: 'HAProxy', color: COLORS.haproxy }],
      groups: [
        { label: 'VRRP only, no checks', values: [cells.get('vigil-idle')?.cpu?.median ?? null, undefined] },
        ...CHECKS.map(([ck, label]) => ({ label, values: [cells.get(`vigil-${ck}`)?.cpu?.median ?? null, cells.get(`haproxy-${ck}`)?.cpu?.median ?? null] })),
      ],
      format: (v) => v.toFixed(2),
    })),
    plot('checkers-intervals.svg', 'vigil\'s VRRP advert intervals (100 ms configured) as they came, with and without checks', stack(present.map(([id, label, color]) => lineChart({
      title: `vigil, ${label}`, x: { label: 'advert' }, y: { label: 'interval ms', include: [0, yMax] }, plotHeight: 110,
      series: [{ name: `${label} (${ivs(id).length} intervals)`, color, points: ivs(id).map((y, i) => [i + 1, y] as const) }],
      refLines: [{ value: 100, label: '100 ms' }], breaks: breaks(id), markers: false,
    })), 'VRRP advert intervals over time, one capture window after another')),
    plot('checkers-intervals-hist.svg', 'the same intervals as histograms (count on a log scale, so the tail shows)', histogram({
      title: 'VRRP advert interval distribution', axis: { label: 'interval ms' }, logCount: true, bins: 50,
      series: present.map(([id, label, color]) => ({ name: label, color, values: ivs(id) })), refLines: [{ value: 100, label: '100 ms' }],
    })),
    plot('checkers-detection.svg', 'time from a real server\'s death to its removal, every trial (dashed: the bound)', boxPlot({
      title: 'Detection time of a dead (refusing) real server', axis: { label: 'ms', include: [0, boundMs] },
      legend: [{ name: 'vigil', color: COLORS.vigil }, { name: 'HAProxy', color: COLORS.haproxy }],
      rows: CHECKS.flatMap(([ck, label]) => [
        { group: label, label: 'vigil', color: COLORS.vigil, samples: detMs('vigil', ck) },
        { group: label, label: 'HAProxy', color: COLORS.haproxy, samples: detMs('haproxy', ck) },
      ]),
      refLines: [{ value: boundMs, label: `bound ${fmtMs(boundMs)} ms` }], format: fmtMs,
    })),
  ];
  return { headline, body, plots, notes: [] };
}

// --- figures without a baseline (notifier, dashboard, NATS, journal) ------------------------------

/** What bench/common.ts recordFigures() writes: one entry per figure, each from its own run. */
interface FigureEntry {
  name: string;
  unit: string;
  n: number | null;
  p50: number | null;
  p99: number | null;
  max: number | null;
  value: number | null;
  samples: number[];
  run: string;
}

function figureEntries(file: string, data: unknown): FigureEntry[] {
  return list(obj(data, file).figures, `${file}: figures`).map((v, i) => {
    const w = `${file}: figures[${i}]`;
    const o = obj(v, w);
    const run = o.run === undefined ? {} : obj(o.run, `${w}.run`);
    return {
      name: str(o.name, `${w}.name`) + (optStr(o.note) ? ` (${optStr(o.note)})` : ''), unit: str(o.unit, `${w}.unit`), n: numOrNull(o.n, `${w}.n`),
      p50: numOrNull(o.p50, `${w}.p50`), p99: numOrNull(o.p99, `${w}.p99`), max: numOrNull(o.max, `${w}.max`), value: numOrNull(o.value, `${w}.value`),
      samples: Array.isArray(o.samples) ? o.samples.filter(isNum) : [],
      run: `${shortDate(optStr(run.date))}, ${optStr(run.commit) ?? 'unknown commit'}`,
    };
  });
}

function buildFigures(id: string, file: string, title: string): (data: ReadonlyMap<string, unknown>) => Built {
  return (data) => {
    const figs = figureEntries(file, data.get(file));
    const f = (x: number | null, unit: string): string => (x === null ? '–' : unit === 'ms' ? fmtMs(x) : String(Number(x.toPrecision(4))));
    const body = table(['figure', 'n', 'p50', 'p99', 'max', 'value', 'unit', 'run'],
      figs.map((g) => [g.name, g.n === null ? '–' : String(g.n), f(g.p50, g.unit), f(g.p99, g.unit), f(g.max, g.unit), f(g.value, g.unit), g.unit, g.run]), 'lrrrrrll');
    const withSamples = figs.filter((g) => g.samples.length > 1);
    const plots = withSamples.length ? [plot(`${id}-hist.svg`, `${title}: distributions`, stack(withSamples.map((g) => {
      const pos = g.samples.filter((x) => x > 0);
      // latencies spread over decades (a few ms and a few hundred): a log axis keeps both readable
      const log = pos.length === g.samples.length && Math.max(...pos) / Math.min(...pos) > 50;
      return histogram({ title: g.name, axis: { label: g.unit, log }, series: [{ name: g.name, color: COLORS.vigil, values: g.samples }], bins: 40, plotHeight: 120 });
    }), title))] : [];
    return { headline: [], body, plots, notes: ['No baseline: these figures have no keepalived or HAProxy counterpart measured beside them; they hold for this machine only.'] };
  };
}

// --- memory over a long run (bench/soak.ts) ---------------------------------------------------------

const FLAT_GOAL: Goal = { text: 'flat: under 5 MB/h over the second half', from: 'issue #10 ("must be flat"); the 5 MB/h is this report\'s' };

function buildSoak(data: ReadonlyMap<string, unknown>): Built {
  const F = 'soak.json';
  const root = obj(data.get(F), F);
  const sum = obj(root.summary, `${F}: summary`);
  const plan = obj(root.plan, `${F}: plan`);
  const samples = list(root.samples, `${F}: samples`).map((x, i) => obj(x, `${F}: samples[${i}]`));
  const slope = num(sum.secondHalfMbPerHour, `${F}: summary.secondHalfMbPerHour`);
  const last = num(sum.rssLastMb, `${F}: summary.rssLastMb`);
  const max = num(sum.rssMaxMb, `${F}: summary.rssMaxMb`);
  const minutes = Math.round(num(sum.seconds, `${F}: summary.seconds`) / 60);
  const what = `${fmtInt(num(plan.instances, `${F}: plan.instances`))} instances + ${fmtInt(num(plan.servers, `${F}: plan.servers`))} TCP checkers`;
  const headline = [
    headlineRow('soak', F, `RSS growth over a ${minutes}-minute soak, ${what}`, 'none (MB per hour)', [slope], `${slope.toFixed(1)} MB/h`, FLAT_GOAL, (x) => x < 5),
    headlineRow('soak', F, `memory (RSS), ${what}, over the soak`, 'none (MB)', [max], `last ${last.toFixed(0)} MB, max ${max.toFixed(0)} MB`, RSS_GOAL, (x) => x < 100),
  ];
  const notes = list(root.notes ?? [], `${F}: notes`).map((x) => String(x));
  const body = [
    `${what}, RSS of the whole process (both threads) every ${fmtInt(num(plan.every, `${F}: plan.every`))} s; ${notes.join('; ')}.`,
    '',
    ...table(['RSS first MB', 'RSS at half time MB', 'RSS last MB', 'RSS max MB', 'second half MB/h', 'CPU (core)'], [[
      num(sum.rssFirstMb, 'rssFirstMb').toFixed(1), num(sum.rssSecondHalfStartMb, 'rssSecondHalfStartMb').toFixed(1), last.toFixed(1), max.toFixed(1), slope.toFixed(2),
      `${(num(sum.cpuShareOfCore, 'cpuShareOfCore') * 100).toFixed(1)} %`,
    ]]),
  ];
  const plots = [plot('soak-rss.svg', 'RSS over the soak (dashed: the 100 MB goal)', lineChart({
    title: `RSS over ${minutes} minutes, ${what}`, x: { label: 'seconds' }, y: { label: 'MB', include: [0, 100] },
    series: [{ name: 'vigil RSS', color: COLORS.vigil, points: samples.map((x) => [num(x.t, 't'), num(x.rssMb, 'rssMb')] as const) }],
    refLines: [{ value: 100, label: '100 MB goal' }],
  }))];
  return { headline, body, plots, notes: [] };
}

// ---------------------------------------------------------------------------------------------
// the benchmarks, in the report's order

export const BENCHES: readonly Bench[] = [
  {
    id: 'config-test', title: 'Checking a config: vigil config-test vs keepalived -t', files: ['config-test.json'], detail: ['config-test.md'],
    how: '`node --import tsx bench/run.ts` (part of `npm run bench`)', build: buildConfigTest,
  },
  {
    id: 'failover', title: 'VRRP failover gap: vigil vs keepalived', files: ['failover.json', 'failover-load1000.json', 'failover-checkers1000.json', 'failover-natsdown.json'],
    detail: ['failover.md', 'failover-load1000.md', 'failover-checkers1000.md', 'failover-natsdown.md'],
    how: '`node --import tsx bench/failover.ts` (part of `npm run bench`); under load: `BENCH_LOAD=1000` (track scripts), `BENCH_CHECKERS=1000` or `BENCH_NATS=down`, each with `BENCH_CELLS=v3-100ms BENCH_TRIALS=10 node --import tsx bench/failover.ts`',
    build: buildFailover,
  },
  {
    id: 'reload', title: 'Reload and memory: vigil vs keepalived', files: ['reload.json'], detail: ['reload.md'],
    how: '`node --import tsx bench/reload.ts` (part of `npm run bench`)', build: buildReload,
  },
  {
    id: 'checkers', title: 'Health checks: vigil vs HAProxy', files: ['checkers.json'], detail: ['checkers.md'],
    how: '`node --import tsx bench/checkers.ts` (part of `npm run bench`)', build: buildCheckers,
  },
  {
    id: 'soak', title: 'Memory over a long run', files: ['soak.json'], detail: ['soak.md'],
    how: '`node --import tsx bench/soak.ts` (30 minutes; not part of `npm run bench`)', build: buildSoak,
  },
  {
    id: 'notifier', title: 'Notifications (no baseline)', files: ['notifier.json'], detail: ['notifier.md'],
    how: '`node --import tsx bench/notifier.ts latency` and `… outage`',
    absent: '`bench/notifier.md` holds figures from an earlier run, written by hand before the bench wrote JSON.',
    build: buildFigures('notifier', 'notifier.json', 'Notifications'),
  },
  {
    id: 'dashboard', title: 'Dashboard (no baseline)', files: ['dashboard.json'], detail: ['dashboard.md'],
    how: '`node --import tsx bench/dashboard.ts`',
    absent: '`bench/dashboard.md` holds figures from an earlier run, written by hand before the bench wrote JSON.',
    build: buildFigures('dashboard', 'dashboard.json', 'Dashboard'),
  },
  {
    id: 'nats', title: 'NATS export (no baseline)', files: ['nats.json'], detail: ['nats.md'],
    how: '`node --import tsx bench/nats.ts`', build: buildFigures('nats', 'nats.json', 'NATS export'),
  },
  {
    id: 'journal', title: 'Journal (no baseline)', files: ['journal.json'], detail: [],
    how: '`node --import tsx bench/journal.ts`', build: buildFigures('journal', 'journal.json', 'Journal'),
  },
];

/** Every JSON file the report reads. */
export const SOURCE_FILES: readonly string[] = BENCHES.flatMap((b) => b.files);
