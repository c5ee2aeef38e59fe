// Bad input: the config checker against mutated real configs. Every example in infra/examples/
// (and its conf.d/ includes, and the broken/ ones) is mutated by a seeded mutator: byte flips,
// token swaps, truncations, duplicated and deleted blocks and lines, braces added or removed.
// Every result: loadConfig returns (never throws) within 1 s, with diagnostics that name a file it
// read with line:col when they point into it, and an exit code that matches them.
// test/property/config.test.ts fuzzes synthetic configs; this one starts from the shipped ones.
// VIGIL_FUZZ_CASES sets the number of cases (default 3000), VIGIL_FUZZ_SEED the seed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { exitCodeFor, loadConfig } from '../../adapters/config/index.js';
import { formatDiagnostic } from '../../adapters/config/format.js';
import { memoryFs } from '../fakes/memoryFs.js';
import { rng } from './helpers.js';

const EXAMPLES = resolve(import.meta.dirname, '../../infra/examples');
const CASES = Number(process.env.VIGIL_FUZZ_CASES ?? 3000);
const SEED = Number(process.env.VIGIL_FUZZ_SEED ?? 7);
const ROOT = '/etc/keepalived';

/** every example config, by its path under ROOT (conf.d/ kept, so `include conf.d/*.conf` resolves) */
function examples(): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (dir: string, rel: string) => {
    for (const name of readdirSync(dir)) {
      const p = join(dir, name);
      if (statSync(p).isDirectory()) walk(p, `${rel}${name}/`);
      else if (name.endsWith('.conf')) out[`${ROOT}/${rel}${name}`] = readFileSync(p, 'utf8');
    }
  };
  walk(EXAMPLES, '');
  return out;
}

type Rng = ReturnType<typeof rng>;

/** the span of a `{ … }` block starting at a random '{' (to its matching '}'), or undefined */
function block(text: string, r: Rng): [number, number] | undefined {
  const opens = [...text.matchAll(/\{/g)].map((m) => m.index);
  if (!opens.length) return undefined;
  const start = r.pick(opens);
  let depth = 0;
  for (let i = start; i < text.length; i++) {
    if (text[i] === '{') depth++;
    else if (text[i] === '}' && --depth === 0) {
      const lineStart = text.lastIndexOf('\n', start) + 1;
      return [lineStart, i + 1];
    }
  }
  return undefined;
}

const MUTATORS: Record<string, (t: string, r: Rng) => string> = {
  'byte flip': (t, r) => {
    const b = Buffer.from(t);
    for (let k = 1 + r.int(4); k > 0 && b.length; k--) b[r.int(b.length)] = r.pick([r.int(256), 0x7b, 0x7d, 0x22, 0x0a, 0x24, 0x5c, 0x23]);
    return b.toString('utf8').replaceAll('\0', ''); // a NUL makes the file unreadable, tested elsewhere
  },
  'token swap': (t, r) => {
    const toks = t.split(/(\s+)/);
    const words = toks.filter((x) => x.trim());
    for (let k = 1 + r.int(3); k > 0 && words.length; k--) {
      const i = r.int(toks.length);
      if (toks[i]!.trim()) toks[i] = r.pick(words);
    }
    return toks.join('');
  },
  truncation: (t, r) => t.slice(0, r.int(t.length + 1)),
  'duplicated block': (t, r) => {
    const s = block(t, r);
    return s ? t.slice(0, s[1]) + '\n' + t.slice(s[0], s[1]) + t.slice(s[1]) : t;
  },
  'deleted block': (t, r) => {
    const s = block(t, r);
    return s ? t.slice(0, s[0]) + t.slice(s[1]) : t;
  },
  'lines shuffled': (t, r) => {
    const ls = t.split('\n');
    for (let k = 1 + r.int(4); k > 0; k--) {
      const i = r.int(ls.length);
      const j = r.int(ls.length);
      const op = r.int(3);
      if (op === 0) ls.splice(i, 1);
      else if (op === 1) ls.splice(i, 0, ls[j]!);
      else [ls[i], ls[j]] = [ls[j]!, ls[i]!];
    }
    return ls.join('\n');
  },
  'brace added or removed': (t, r) => {
    const at = r.int(t.length + 1);
    if (r.next() < 0.5) return t.slice(0, at) + r.pick(['{', '}', '{\n', '\n}\n']) + t.slice(at);
    const braces = [...t.matchAll(/[{}]/g)].map((m) => m.index);
    if (!braces.length) return t;
    const i = r.pick(braces);
    return t.slice(0, i) + t.slice(i + 1);
  },
  'number mangled': (t, r) => {
    const nums = [...t.matchAll(/\b\d+\b/g)];
    if (!nums.length) return t;
    const m = r.pick(nums);
    const v = r.pick(['0', '-1', '256', '4294967296', '99999999999999999999', '1e9', '0x10', '3.5', '']);
    return t.slice(0, m.index) + v + t.slice(m.index + m[0].length);
  },
};

test(`config checker on ${CASES} mutated example configs (seed ${SEED}): never throws, never hangs, always placed`, () => {
  const files = examples();
  const paths = Object.keys(files).sort();
  assert.ok(paths.length >= 10, `examples found: ${paths.join(' ')}`);
  const r = rng(SEED);
  const kinds = Object.keys(MUTATORS);
  const byKind = new Map<string, number>();
  let slowest = 0;
  let diagnostics = 0;
  for (let n = 0; n < CASES; n++) {
    const target = r.pick(paths);
    // the main file is a top-level example; the mutated file is it or one of conf.d/ it includes
    const main = target.includes('/conf.d/') ? `${ROOT}/language-features.conf` : target;
    const kind = r.pick(kinds);
    let text = files[target]!;
    for (let k = 1 + r.int(2); k > 0; k--) text = MUTATORS[kind]!(text, r);
    const fs = memoryFs({ ...files, [target]: text });
    const what = `case ${n} (seed ${SEED}): ${kind} of ${target}`;
    const t0 = performance.now();
    let res;
    try {
      res = loadConfig(main, { fs, configId: 'node1', env: {}, random: () => 0.5 });
    } catch (err) {
      assert.fail(`${what}: loadConfig threw ${(err as Error).stack}\n--- input ---\n${text}`);
    }
    const ms = performance.now() - t0;
    slowest = Math.max(slowest, ms);
    assert.ok(ms < 1000, `${what}: took ${ms.toFixed(0)} ms`);
    assert.equal(res.exitCode, exitCodeFor(res.diagnostics), what);
    for (const d of res.diagnostics) {
      const line = formatDiagnostic(d);
      // (not JSON.stringify(d): each expansion site carries its own chain, so a 64-deep one is a
      // DAG whose naive serialisation doubles per level)
      assert.ok(res.config.files.includes(d.loc.file), `${what}: diagnostic in a file not read: ${line}`);
      if (d.loc.line > 0) {
        assert.ok(d.loc.col >= 1, `${what}: ${line}`);
        assert.ok(line.startsWith(`${d.loc.file}:${d.loc.line}:${d.loc.col}: `), `${what}: ${line}`);
      }
      assert.ok(d.message.length > 0 && d.code.length > 0, `${what}: ${line}`);
    }
    diagnostics += res.diagnostics.length;
    byKind.set(kind, (byKind.get(kind) ?? 0) + 1);
  }
  console.log(`# config fuzz: ${CASES} cases over ${paths.length} files (${[...byKind].map(([k, v]) => `${k} ${v}`).join(', ')}); ` +
    `${diagnostics} diagnostics, slowest ${slowest.toFixed(1)} ms`);
});

test('inputs the fuzzer found: a recursive definition that branches is one error, at once', () => {
  // seed 1, case 3399 (lines shuffled in conf.d/20-lvs.conf), minimised: the definition expands to
  // a ~SEQ of itself, 2^64 paths deep; it threw RangeError (Invalid string length) after ~15 s
  for (const text of ['$X=~SEQ(n, 1, 2) $X\n$X\n', '$X= \\\n  ~SEQ(n, 1, 2) $X\nreal_server \\\n{\n}\n$X\n']) {
    const t0 = performance.now();
    const r = loadConfig('/k.conf', { fs: memoryFs({ '/k.conf': text }), env: {}, configId: 'a' });
    assert.ok(performance.now() - t0 < 1000);
    assert.deepEqual(r.diagnostics.filter((d) => d.code === 'expansion-too-deep').map((d) => `${d.loc.line}:${d.loc.col}`).length, 1);
    assert.equal(r.exitCode, 4);
  }
});
