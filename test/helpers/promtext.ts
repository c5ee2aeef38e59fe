// A strict parser of the Prometheus text exposition format 0.0.4
// (https://prometheus.io/docs/instrumenting/exposition_formats/), written independently of
// prom-client so the tests check its output against the format, not against itself. Anything the
// format does not allow throws a PromTextError naming the line.
//
// Checked: HELP/TYPE lines (at most one each per family, before its samples, HELP escapes `\\` and
// `\n` only), metric and label names, label escapes (`\\`, `\"`, `\n`), duplicate labels, reserved
// `__` labels, values (floats, NaN, ±Inf), optional integer timestamps, samples of a family kept
// together, duplicate series, counters not negative, histograms (`_bucket` with `le`, buckets
// non-decreasing, a `+Inf` bucket equal to `_count`, `_sum` present), summaries (`quantile` in
// [0, 1], `_sum` and `_count` present), and the final line feed.

export type MetricType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';

export interface Sample {
  /** the sample's own name (`x_bucket`, `x_sum` … for histograms) */
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
  readonly timestamp?: number;
}

export interface Family {
  readonly name: string;
  type: MetricType;
  help?: string;
  readonly samples: Sample[];
}

export class PromTextError extends Error {
  override readonly name = 'PromTextError';
  constructor(
    /** undefined for a family-wide problem (histogram buckets …) */
    readonly line: number | undefined,
    message: string,
  ) {
    super(line === undefined ? message : `line ${line}: ${message}`);
  }
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const FLOAT = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const TYPES: readonly MetricType[] = ['counter', 'gauge', 'histogram', 'summary', 'untyped'];

/**
 * A value as Go's strconv.ParseFloat reads it (the format defers to it): decimal floats, and
 * Inf/Infinity (signed or not) and NaN in any case (prom-client writes `Nan`). Hex floats, which
 * ParseFloat also takes, are refused: no exporter writes them.
 */
export function parseFloatValue(s: string): number | undefined {
  if (/^nan$/i.test(s)) return NaN;
  const inf = /^([+-]?)inf(?:inity)?$/i.exec(s);
  if (inf) return inf[1] === '-' ? -Infinity : Infinity;
  return FLOAT.test(s) ? Number(s) : undefined;
}

/** Parse a whole exposition; families by name, in the order they appear. */
export function parsePromText(text: string): Map<string, Family> {
  const families = new Map<string, Family>();
  if (text === '') return families;
  if (!text.endsWith('\n')) throw new PromTextError(text.split('\n').length, 'the last line does not end with a line feed');
  const lines = text.slice(0, -1).split('\n');
  /** families whose samples are over: they may not come back */
  const closed = new Set<string>();
  const started = new Set<string>();
  const series = new Set<string>();
  const typeSeen = new Set<string>();
  let current: string | undefined;

  const enter = (name: string, no: number) => {
    if (name === current) return;
    if (closed.has(name)) throw new PromTextError(no, `${name}: its lines are not together (it appeared before ${current})`);
    if (current !== undefined) closed.add(current);
    current = name;
  };
  const family = (name: string): Family => {
    let f = families.get(name);
    if (!f) families.set(name, (f = { name, type: 'untyped', samples: [] }));
    return f;
  };

  lines.forEach((line, i) => {
    const no = i + 1;
    if (/^[ \t]*$/.test(line)) return;
    if (line.startsWith('#')) {
      const m = /^#[ \t]+(HELP|TYPE)[ \t]+(\S+)(?:[ \t]+(.*))?$/.exec(line);
      if (!m) return; // a plain comment
      const [, kw, name, rest = ''] = m as unknown as [string, 'HELP' | 'TYPE', string, string | undefined];
      if (!METRIC_NAME.test(name)) throw new PromTextError(no, `invalid metric name '${name}'`);
      enter(name, no);
      if (started.has(name)) throw new PromTextError(no, `${kw} for ${name} after its samples`);
      const f = family(name);
      if (kw === 'HELP') {
        if (f.help !== undefined) throw new PromTextError(no, `second HELP for ${name}`);
        f.help = unescapeHelp(rest, no);
      } else {
        if (typeSeen.has(name)) throw new PromTextError(no, `second TYPE for ${name}`);
        const t = rest.trim() as MetricType;
        if (!TYPES.includes(t)) throw new PromTextError(no, `unknown type '${rest}' for ${name}`);
        typeSeen.add(name);
        f.type = t;
      }
      return;
    }
    const s = parseSample(line, no);
    const fam = familyOf(s.name, families);
    enter(fam.name, no);
    started.add(fam.name);
    const key = `${s.name}{${Object.keys(s.labels)
      .sort()
      .map((k) => `${k}=${JSON.stringify(s.labels[k])}`)
      .join(',')}}`;
    if (series.has(key)) throw new PromTextError(no, `duplicate series ${key}`);
    series.add(key);
    checkSample(fam, s, no);
    fam.samples.push(s);
  });
  for (const f of families.values()) {
    if (f.type === 'histogram') checkHistogram(f);
    if (f.type === 'summary') checkSummary(f);
  }
  return families;
}

/** The family a sample belongs to: a histogram's or summary's suffixed names go to their base. */
function familyOf(sample: string, families: Map<string, Family>): Family {
  for (const suffix of ['_bucket', '_sum', '_count']) {
    if (!sample.endsWith(suffix)) continue;
    const base = families.get(sample.slice(0, -suffix.length));
    if (base?.type === 'histogram' || (base?.type === 'summary' && suffix !== '_bucket')) return base;
  }
  let f = families.get(sample);
  if (!f) families.set(sample, (f = { name: sample, type: 'untyped', samples: [] }));
  return f;
}

function checkSample(f: Family, s: Sample, no: number): void {
  const suffix = s.name.slice(f.name.length);
  if (f.type === 'histogram') {
    if (!['_bucket', '_sum', '_count'].includes(suffix)) throw new PromTextError(no, `histogram ${f.name} has a sample named ${s.name}`);
    if (suffix === '_bucket') {
      if (s.labels.le === undefined) throw new PromTextError(no, `${s.name} without an le label`);
      if (parseFloatValue(s.labels.le) === undefined || Number.isNaN(parseFloatValue(s.labels.le))) throw new PromTextError(no, `${s.name}: le="${s.labels.le}" is not a number`);
    } else if (s.labels.le !== undefined) throw new PromTextError(no, `${s.name} with an le label`);
    if (suffix !== '_sum' && !(s.value >= 0)) throw new PromTextError(no, `${s.name}: a count of ${s.value}`);
  } else if (f.type === 'summary') {
    if (!['', '_sum', '_count'].includes(suffix)) throw new PromTextError(no, `summary ${f.name} has a sample named ${s.name}`);
    if (suffix === '') {
      const q = parseFloatValue(s.labels.quantile ?? '');
      if (q === undefined || !(q >= 0 && q <= 1)) throw new PromTextError(no, `${s.name}: quantile="${s.labels.quantile}" is not in [0, 1]`);
    } else if (s.labels.quantile !== undefined) throw new PromTextError(no, `${s.name} with a quantile label`);
    if (suffix === '_count' && !(s.value >= 0)) throw new PromTextError(no, `${s.name}: a count of ${s.value}`);
  } else {
    if (suffix !== '') throw new PromTextError(no, `${s.name} in family ${f.name}`);
    if (f.type === 'counter' && s.value < 0) throw new PromTextError(no, `counter ${s.name} is negative (${s.value})`);
  }
}

const withoutLabel = (labels: Readonly<Record<string, string>>, drop: string) =>
  JSON.stringify(
    Object.keys(labels)
      .filter((k) => k !== drop)
      .sort()
      .map((k) => [k, labels[k]]),
  );

function checkHistogram(f: Family): void {
  const groups = new Map<string, { buckets: [number, number][]; sum?: number; count?: number }>();
  const group = (s: Sample) => {
    const k = withoutLabel(s.labels, 'le');
    let g = groups.get(k);
    if (!g) groups.set(k, (g = { buckets: [] }));
    return g;
  };
  for (const s of f.samples) {
    const g = group(s);
    if (s.name.endsWith('_bucket')) g.buckets.push([parseFloatValue(s.labels.le!)!, s.value]);
    else if (s.name.endsWith('_sum')) g.sum = s.value;
    else g.count = s.value;
  }
  for (const [k, g] of groups) {
    const where = `histogram ${f.name}${k === '[]' ? '' : ` ${k}`}`;
    if (g.count === undefined) throw new PromTextError(undefined, `${where}: no _count`);
    if (g.sum === undefined) throw new PromTextError(undefined, `${where}: no _sum`);
    const sorted = [...g.buckets].sort((a, b) => a[0] - b[0]);
    const inf = sorted[sorted.length - 1];
    if (!inf || inf[0] !== Infinity) throw new PromTextError(undefined, `${where}: no le="+Inf" bucket`);
    for (let i = 1; i < sorted.length; i++) {
      if (sorted[i]![1] < sorted[i - 1]![1]) throw new PromTextError(undefined, `${where}: bucket le=${sorted[i]![0]} (${sorted[i]![1]}) below le=${sorted[i - 1]![0]} (${sorted[i - 1]![1]})`);
    }
    if (inf[1] !== g.count) throw new PromTextError(undefined, `${where}: +Inf bucket ${inf[1]} differs from _count ${g.count}`);
  }
}

function checkSummary(f: Family): void {
  const groups = new Map<string, { sum: boolean; count: boolean }>();
  for (const s of f.samples) {
    const k = withoutLabel(s.labels, 'quantile');
    const g = groups.get(k) ?? { sum: false, count: false };
    groups.set(k, g);
    if (s.name.endsWith('_sum')) g.sum = true;
    else if (s.name.endsWith('_count')) g.count = true;
  }
  for (const [k, g] of groups) if (!g.sum || !g.count) throw new PromTextError(undefined, `summary ${f.name} ${k}: no ${g.sum ? '_count' : '_sum'}`);
}

function unescapeHelp(s: string, no: number): string {
  return s.replace(/\\(.?)/g, (_, c: string) => {
    if (c === '\\') return '\\';
    if (c === 'n') return '\n';
    throw new PromTextError(no, `invalid escape '\\${c}' in HELP`);
  });
}

function parseSample(line: string, no: number): Sample {
  let i = 0;
  const blanks = () => {
    while (line[i] === ' ' || line[i] === '\t') i++;
  };
  const nameMatch = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line);
  if (!nameMatch) throw new PromTextError(no, `a sample line must start with a metric name: '${line}'`);
  const name = nameMatch[0];
  i = name.length;
  const labels: Record<string, string> = {};
  blanks();
  const afterName = i;
  if (line[i] === '{') {
    i++;
    for (;;) {
      blanks();
      if (line[i] === '}') {
        i++;
        break;
      }
      const ln = /^[a-zA-Z0-9_:]+/.exec(line.slice(i))?.[0];
      if (!ln || !LABEL_NAME.test(ln)) throw new PromTextError(no, `invalid label name at column ${i + 1}`);
      if (ln.startsWith('__')) throw new PromTextError(no, `label name ${ln} is reserved (leading __)`);
      if (ln in labels) throw new PromTextError(no, `label ${ln} twice`);
      i += ln.length;
      blanks();
      if (line[i++] !== '=') throw new PromTextError(no, `'=' expected after label ${ln}`);
      blanks();
      if (line[i++] !== '"') throw new PromTextError(no, `'"' expected to open the value of ${ln}`);
      let v = '';
      for (;;) {
        const c = line[i++];
        if (c === undefined) throw new PromTextError(no, `unterminated value of label ${ln}`);
        if (c === '"') break;
        if (c === '\\') {
          const e = line[i++];
          if (e === '\\' || e === '"') v += e;
          else if (e === 'n') v += '\n';
          else throw new PromTextError(no, `invalid escape '\\${e ?? ''}' in the value of ${ln}`);
        } else v += c;
      }
      labels[ln] = v;
      blanks();
      if (line[i] === ',') i++;
      else if (line[i] !== '}') throw new PromTextError(no, `',' or '}' expected after label ${ln}`);
    }
  }
  if (i >= line.length) throw new PromTextError(no, `expected a value after ${name}`);
  const blank = line[i] === ' ' || line[i] === '\t' || (i === afterName && i > name.length);
  if (!blank) throw new PromTextError(no, `blank expected before the value at column ${i + 1}`);
  const rest = line.slice(i).trim().split(/[ \t]+/);
  if (rest.length < 1 || rest[0] === '' || rest.length > 2) throw new PromTextError(no, `expected a value and an optional timestamp: '${line.slice(i).trim()}'`);
  const value = parseFloatValue(rest[0]!);
  if (value === undefined) throw new PromTextError(no, `invalid value '${rest[0]}'`);
  if (rest[1] !== undefined && !/^-?\d+$/.test(rest[1])) throw new PromTextError(no, `invalid timestamp '${rest[1]}'`);
  return { name, labels, value, ...(rest[1] !== undefined ? { timestamp: Number(rest[1]) } : {}) };
}

/** The samples named `name` whose labels include `labels`. */
export function samples(families: Map<string, Family>, name: string, labels: Record<string, string> = {}): Sample[] {
  const out: Sample[] = [];
  for (const f of families.values()) {
    for (const s of f.samples) if (s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)) out.push(s);
  }
  return out;
}

/** The value of the one sample named `name` with these labels; throws when there is none or several. */
export function valueOf(families: Map<string, Family>, name: string, labels: Record<string, string> = {}): number {
  const found = samples(families, name, labels);
  if (found.length !== 1) throw new Error(`${found.length} samples ${name}${JSON.stringify(labels)}`);
  return found[0]!.value;
}
