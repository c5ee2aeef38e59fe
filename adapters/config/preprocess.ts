// The line layer of keepalived's config language (keepalived lib/parser.c read_line): comments,
// `include` with globs and braces, `@id` / `@^id` conditional lines, `$NAME=` parameters (single- and
// multi-line, nested, with the built-ins), and the `~SEQ` / `~LST` generators. It yields logical lines
// whose every character still knows the file, line and column it came from.
import * as path from 'node:path';
import { Diagnostics, type Loc, type Via } from './diagnostics.js';
import { type ConfigFs, expandBraces, globOne, hasBrace, hasWildcard } from './fs.js';

/**
 * Source columns of a line's characters: an array (`cols[i]` is the column of `text[i]`) after
 * substitutions, or, for text straight from a file, a number `o` meaning column `o + i + 1`
 * (no per-character array: the common case stays cheap).
 */
export type Cols = readonly number[] | number;

export function colAt(cols: Cols, i: number): number {
  return typeof cols === 'number' ? cols + i + 1 : cols[i] ?? 0;
}

/** A logical line after preprocessing. `colAt(cols, i)` is the source column of `text[i]` on `base`'s line. */
export interface Line {
  readonly text: string;
  readonly cols: Cols;
  readonly base: Loc; // col is 1: the line; `via` the expansion chain
}

export function locAt(line: Line, index: number): Loc {
  if (typeof line.cols === 'number') return { ...line.base, col: line.cols + index + 1 };
  const col = line.cols[Math.min(index, line.cols.length - 1)] ?? line.base.col;
  return { ...line.base, col: index >= line.cols.length && line.cols.length ? col + 1 : col };
}

export interface PreprocessOptions {
  fs: ConfigFs;
  /** `-i/--config-id`; default: the host name up to the first dot. */
  configId: string;
  env: Readonly<Record<string, string | undefined>>;
  /** For ${_RANDOM}: returns [0, 1). Injected so tests are deterministic. */
  random: () => number;
  /** Limits: nested includes and recursive expansions stop here with an error. */
  maxIncludeDepth?: number;
  maxExpansionDepth?: number;
  /** Stop after this many lines (a generator gone wild): an error, never a hang. */
  maxLines?: number;
}

interface Definition {
  readonly name: string;
  readonly loc: Loc;
  /** single-line value; for a multi-line one, its first line */
  readonly lines: Line[];
  readonly multiline: boolean;
}

type Builtin = { min: number; max: number; numeric: boolean; fn: (params: string[], ctx: FileCtx) => string | undefined };

interface FileCtx {
  readonly file: string;
  readonly dir: string;
}

/** Longest logical line after substitution (keepalived stops at its MAXBUF too). */
const MAX_LINE = 65_536;
const NAME_START = /[A-Za-z_]/;
const NAME_CHAR = /[A-Za-z0-9_]/;

/** Strip leading whitespace, comments (`#`/`!` outside double quotes) and trailing whitespace. */
export function decomment(text: string, cols: Cols): { text: string; cols: Cols; cont: boolean; unterminated: boolean } {
  let start = 0;
  while (start < text.length && (text[start] === ' ' || text[start] === '\t')) start++;
  if (typeof cols === 'number') {
    // fast path: find the end without building anything; fall back when an escape must be removed
    let quote = false;
    let end = text.length;
    let cont = false;
    let slow = false;
    for (let i = start; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c === 34 /* " */) quote = !quote;
      else if (c === 92 /* \ */) {
        if (i + 1 >= text.length) { cont = true; end = i; break; }
        const n = text.charCodeAt(i + 1);
        if (!quote && (n === 35 || n === 33)) { slow = true; break; }
        i++;
      } else if (!quote && (c === 35 /* # */ || c === 33 /* ! */)) { end = i; break; }
    }
    if (!slow) {
      while (end > start && (text[end - 1] === ' ' || text[end - 1] === '\t')) end--;
      return { text: text.slice(start, end), cols: cols + start, cont, unterminated: quote };
    }
  }
  let out = '';
  const outCols: number[] = [];
  let quote = false;
  let cont = false;
  for (let i = start; i < text.length; i++) {
    const c = text[i] as string;
    if (c === '"') {
      quote = !quote;
    } else if (c === '\\') {
      if (i + 1 >= text.length) { cont = true; break; }
      const n = text[i + 1] as string;
      if (!quote && (n === '#' || n === '!')) {
        out += n; outCols.push(colAt(cols, i + 1)); i++; continue;
      }
      out += c + n; outCols.push(colAt(cols, i), colAt(cols, i + 1)); i++; continue;
    } else if (!quote && (c === '#' || c === '!')) {
      break;
    }
    out += c;
    outCols.push(colAt(cols, i));
  }
  let end = out.length;
  while (end > 0 && (out[end - 1] === ' ' || out[end - 1] === '\t')) end--;
  return { text: out.slice(0, end), cols: outCols.slice(0, end), cont, unterminated: quote };
}

/**
 * Reads a config file tree into logical lines. One instance per read; not re-entrant.
 */
export class Preprocessor {
  readonly #o: Required<PreprocessOptions>;
  readonly #diags: Diagnostics;
  readonly #defs = new Map<string, Definition>();
  readonly #builtins = new Map<string, Builtin>();
  readonly #out: Line[] = [];
  readonly #stack: string[] = [];
  /** Every file read, in order (for reload diffing and `--json`). */
  readonly files: string[] = [];
  #limitHit = false;

  constructor(opts: PreprocessOptions, diags: Diagnostics) {
    this.#o = { maxIncludeDepth: 32, maxExpansionDepth: 64, maxLines: 2_000_000, ...opts };
    this.#diags = diags;
    const b = this.#builtins;
    b.set('_PWD', { min: 0, max: 0, numeric: false, fn: (_p, ctx) => ctx.dir });
    b.set('_INSTANCE', { min: 0, max: 0, numeric: false, fn: () => this.#o.configId });
    b.set('_HASH', { min: 0, max: 0, numeric: false, fn: () => '#' });
    b.set('_BANG', { min: 0, max: 0, numeric: false, fn: () => '!' });
    b.set('_ENV', { min: 1, max: 1, numeric: false, fn: (p) => this.#o.env[p[0] ?? ''] });
    b.set('_RANDOM', {
      min: 0, max: 2, numeric: true,
      fn: (p) => {
        let min = 0;
        let max = 32767;
        if (p.length >= 1) min = Number(p[0]);
        if (p.length >= 2) max = Number(p[1]);
        if (min > max) max = min;
        return String(min + Math.floor(this.#o.random() * (max - min + 1)));
      },
    });
  }

  /** Read `file` (and everything it includes). Returns the logical lines. */
  run(file: string): Line[] {
    const abs = path.resolve(file);
    const r = this.#o.fs.read(abs);
    if (!r.ok) {
      this.#diags.fatal('config-not-found', `cannot read configuration file: ${r.detail}`, { file: abs, line: 0, col: 0 });
      return this.#out;
    }
    this.#readFile(abs, r.text, undefined);
    return this.#out;
  }

  #emit(line: Line): void {
    if (this.#out.length >= this.#o.maxLines) {
      if (!this.#limitHit) {
        this.#limitHit = true;
        this.#diags.fatal('too-many-lines', `configuration expands to more than ${this.#o.maxLines} lines; stopping`, line.base);
      }
      return;
    }
    this.#out.push(line);
  }

  #readFile(file: string, text: string, includedFrom: Loc | undefined): void {
    this.files.push(file);
    this.#stack.push(file);
    const ctx: FileCtx = { file, dir: path.dirname(file) };
    const via: Via[] | undefined = includedFrom ? [{ what: 'included from', loc: { ...includedFrom, via: [] } }, ...(includedFrom.via ?? [])] : undefined;
    const raw = text.split('\n');
    for (let i = 0; i < raw.length && !this.#limitHit; i++) {
      let t = raw[i] as string;
      if (t.endsWith('\r')) t = t.slice(0, -1);
      const base: Loc = via ? { file, line: i + 1, col: 1, via } : { file, line: i + 1, col: 1 };
      const d = decomment(t, 0);
      if (d.unterminated) this.#diags.error('unterminated-quote', 'unterminated quote', { ...base, col: colAt(d.cols, 0) });
      if (!d.text) continue;
      let line: Line = { text: d.text, cols: d.cols, base };
      // multi-line $NAME= definitions consume the following raw lines of this file
      line = this.#conditional(line) ?? { text: '', cols: [], base };
      if (!line.text) continue;
      const def = this.#definitionHead(line);
      if (def) {
        if (d.cont) {
          const lines: Line[] = [];
          if (def.first.text) lines.push(def.first);
          // continuation: every following line ending in '\' continues; the first that does not ends it
          while (++i < raw.length) {
            let u = raw[i] as string;
            if (u.endsWith('\r')) u = u.slice(0, -1);
            const ub: Loc = via ? { file, line: i + 1, col: 1, via } : { file, line: i + 1, col: 1 };
            const dd = decomment(u, 0);
            if (!dd.text && !dd.cont) break; // a blank line ends the definition
            if (dd.text) lines.push({ text: dd.text, cols: dd.cols, base: ub });
            if (!dd.cont) break;
          }
          this.#define(def.name, def.loc, lines, true);
        } else {
          this.#define(def.name, def.loc, def.first.text || !d.cont ? [def.first] : [], false);
        }
        continue;
      }
      this.#process(line, ctx, 0);
    }
    this.#stack.pop();
  }

  #define(name: string, loc: Loc, lines: Line[], multiline: boolean): void {
    // a user definition may override a built-in (keepalived allows it)
    this.#builtins.delete(name);
    this.#defs.set(name, { name, loc, lines, multiline });
  }

  /** `@id rest` / `@^id rest`: returns the rest when the line applies here, undefined when it does not. */
  #conditional(line: Line): Line | undefined {
    if (line.text[0] !== '@') return line;
    const neg = line.text[1] === '^';
    const ofs = neg ? 2 : 1;
    const m = /[ \t]/.exec(line.text.slice(ofs));
    if (!m) {
      this.#diags.warning('conditional-empty', `conditional '${line.text}' has nothing after the id; line ignored`, locAt(line, 0));
      return undefined;
    }
    const id = line.text.slice(ofs, ofs + m.index);
    if ((id === this.#o.configId) === neg) return undefined;
    let start = ofs + m.index;
    while (line.text[start] === ' ' || line.text[start] === '\t') start++;
    return slice(line, start);
  }

  /** `$NAME=value` at the start of a line (only whitespace may precede `$`). */
  #definitionHead(line: Line): { name: string; loc: Loc; first: Line } | undefined {
    const t = line.text;
    if (t[0] !== '$' || !NAME_START.test(t[1] ?? '')) return undefined;
    let p = 2;
    while (p < t.length && NAME_CHAR.test(t[p] as string)) p++;
    const name = t.slice(1, p);
    let q = p;
    while (t[q] === ' ' || t[q] === '\t') q++;
    if (t[q] !== '=') return undefined;
    if (q !== p) return undefined; // keepalived: no whitespace between the name and '='
    q++;
    while (t[q] === ' ' || t[q] === '\t') q++;
    return { name, loc: locAt(line, 0), first: slice(line, q) };
  }

  /** Everything after comments and the @-conditional: definitions, generators, parameters, includes. */
  #process(line: Line, ctx: FileCtx, depth: number): void {
    if (depth > this.#o.maxExpansionDepth) {
      // and stop reading: a recursive definition that also branches (`$X=~SEQ(n, 1, 2) $X`) would
      // reach this depth 2^64 times, each with its own diagnostic
      this.#diags.error('expansion-too-deep', `parameter or generator expansion nested more than ${this.#o.maxExpansionDepth} deep (a recursive definition?); the rest of the configuration is not read`, locAt(line, 0));
      this.#limitHit = true;
      return;
    }
    const cond = this.#conditional(line);
    if (!cond || !cond.text) return;
    line = cond;
    const def = this.#definitionHead(line);
    if (def) {
      this.#define(def.name, def.loc, [def.first], false);
      return;
    }
    if (line.text.startsWith('~SEQ') || line.text.startsWith('~LST')) {
      this.#generator(line, ctx, depth);
      return;
    }
    if (line.text.includes('$') && line.text[0] !== '~') {
      const expanded = this.#substitute(line, ctx);
      if (expanded) {
        for (const l of expanded) {
          const d = decomment(l.text, l.cols);
          if (d.text) this.#process({ text: d.text, cols: d.cols, base: l.base }, ctx, depth + 1);
        }
        return;
      }
    }
    if (this.#include(line, ctx)) return;
    this.#emit(line);
  }

  /**
   * Replace `$NAME` / `${NAME}` / `${NAME params}` once across the line. Returns undefined when nothing
   * was replaced (undefined names stay verbatim, so `$` in scripts is safe). A multi-line definition
   * used as the last thing on a line yields its further lines after the first.
   */
  #substitute(line: Line, ctx: FileCtx): Line[] | undefined {
    const t = line.text;
    let out = '';
    const outCols: number[] = [];
    let found = false;
    const extra: Line[] = [];
    let i = 0;
    while (i < t.length) {
      const c = t[i] as string;
      if (c !== '$' || i + 1 >= t.length) { out += c; outCols.push(colAt(line.cols, i)); i++; continue; }
      const ref = this.#parseRef(t, i + 1);
      if (!ref) { out += c; outCols.push(colAt(line.cols, i)); i++; continue; }
      const useCol = colAt(line.cols, i);
      const atEnd = ref.end >= t.length;
      const builtin = this.#builtins.get(ref.name);
      if (builtin) {
        if (ref.params.length < builtin.min || ref.params.length > builtin.max ||
            (builtin.numeric && ref.params.some((p) => !/^\d+$/.test(p)))) {
          this.#diags.error('bad-builtin-params',
            `\${${ref.name}} takes ${builtin.min === builtin.max ? builtin.min : `${builtin.min} to ${builtin.max}`}${builtin.numeric ? ' numeric' : ''} parameter(s)`,
            { ...line.base, col: useCol });
          out += t.slice(i, ref.end); for (let k = i; k < ref.end; k++) outCols.push(colAt(line.cols, k));
          i = ref.end; continue;
        }
        const v = builtin.fn(ref.params, ctx) ?? '';
        out += v; for (let k = 0; k < v.length; k++) outCols.push(useCol);
        found = true; i = ref.end; continue;
      }
      const def = this.#defs.get(ref.name);
      if (!def || ref.params.length || (def.multiline && !atEnd)) {
        out += t.slice(i, ref.end); for (let k = i; k < ref.end; k++) outCols.push(colAt(line.cols, k));
        i = ref.end; continue;
      }
      found = true;
      const useLoc: Loc = { ...line.base, col: useCol };
      if (def.multiline) {
        const [first, ...rest] = def.lines;
        if (first) {
          // the first line of a multi-line value joins the use line; its characters keep their own place
          if (out.trim() === '') { out = ''; outCols.length = 0; }
          if (out === '') {
            extra.push(withVia(first, `in the expansion of $${ref.name} at`, useLoc));
          } else {
            out += first.text; for (let k = 0; k < first.text.length; k++) outCols.push(useCol);
          }
        }
        for (const l of rest) extra.push(withVia(l, `in the expansion of $${ref.name} at`, useLoc));
        i = ref.end;
        continue;
      }
      const v = def.lines[0]?.text ?? '';
      if (out.length + v.length > MAX_LINE) { out += v.slice(0, MAX_LINE); break; }
      out += v; for (let k = 0; k < v.length; k++) outCols.push(useCol);
      i = ref.end;
    }
    if (!found) return undefined;
    if (out.length > MAX_LINE) {
      // keepalived: "Parameter substitution on line ... would exceed maximum line length"
      this.#diags.error('line-too-long', `parameter substitution makes this line longer than ${MAX_LINE} characters; line ignored`, locAt(line, 0));
      return [];
    }
    const lines: Line[] = [];
    if (out.trim()) lines.push({ text: out, cols: outCols, base: line.base });
    lines.push(...extra);
    return lines;
  }

  /** After `$`: `NAME` ended by whitespace, `,`, `)` or end; or `{NAME}` / `{NAME p1 p2}`. */
  #parseRef(t: string, i: number): { name: string; params: string[]; end: number } | undefined {
    if (t[i] === '{') {
      const close = t.indexOf('}', i);
      if (close < 0) return undefined;
      const body = t.slice(i + 1, close);
      if (!/^[A-Za-z_][A-Za-z0-9_]*([ \t]+[A-Za-z0-9_]+)*$/.test(body)) return undefined;
      const [name, ...params] = body.split(/[ \t]+/);
      return { name: name as string, params, end: close + 1 };
    }
    if (!NAME_START.test(t[i] ?? '')) return undefined;
    let j = i + 1;
    while (j < t.length && NAME_CHAR.test(t[j] as string)) j++;
    const n = t[j];
    if (n !== undefined && n !== ' ' && n !== '\t' && n !== ',' && n !== ')') return undefined;
    return { name: t.slice(i, j), params: [], end: j };
  }

  #generator(line: Line, ctx: FileCtx, depth: number): void {
    const t = line.text;
    const isSeq = t[1] === 'S';
    const hex = isSeq && t[4] === 'x';
    let p = isSeq ? (hex ? 5 : 4) : 4;
    while (t[p] === ' ' || t[p] === '\t') p++;
    const loc = locAt(line, 0);
    const bad = (msg: string): void => this.#diags.error(isSeq ? 'bad-seq' : 'bad-lst', msg, loc);
    if (t[p] !== '(') return bad(`invalid ${isSeq ? '~SEQ' : '~LST'}: expected '(' after ${t.slice(0, p)}`);
    const close = matchParen(t, p);
    if (close < 0) return bad(`${isSeq ? '~SEQ' : '~LST'} missing terminating ')'`);
    // parameters inside the parentheses may themselves be definitions
    const inner = this.#substituteText(t.slice(p + 1, close), line, ctx);
    let restStart = close + 1;
    while (t[restStart] === ' ' || t[restStart] === '\t') restStart++;
    const body = slice(line, restStart);
    if (!body.text) return bad('generator has no text after its parameters');
    const iterations: { bindings: [string, string][]; label: string }[] = [];
    if (isSeq) {
      const parts = inner.split(',').map((s) => s.trim());
      const v = parts[0] ?? '';
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(v)) return bad(`invalid ~SEQ variable '${v}'`);
      const nums = parts.slice(1).map(parseCInt);
      if (nums.length < 1 || nums.length > 3 || nums.some((n) => n === undefined)) {
        return bad(`invalid ~SEQ definition '${t.slice(0, close + 1)}': want (var, [start, [step,]] end)`);
      }
      const n = nums as number[];
      let start: number, step: number, end: number;
      if (n.length === 1) { end = n[0] as number; step = end < 1 ? -1 : 1; start = end < 0 ? -1 : 1; }
      else if (n.length === 2) { start = n[0] as number; end = n[1] as number; step = start <= end ? 1 : -1; }
      else {
        start = n[0] as number; step = n[1] as number; end = n[2] as number;
        if (!step || (start < end && step < 0) || (start > end && step > 0)) return bad(`invalid ~SEQ values '${t.slice(0, close + 1)}': the step never reaches the end`);
      }
      if (hex && (start < 0 || end < 0)) return bad('~SEQx is only valid for positive numbers');
      const count = Math.floor((end - start) / step) + 1;
      if (count > this.#o.maxLines) return bad(`~SEQ would generate ${count} lines`);
      for (let k = start; step > 0 ? k <= end : k >= end; k += step) {
        const val = hex ? k.toString(16) : String(k);
        iterations.push({ bindings: [[v, val]], label: `generated by ~SEQ with ${v}=${val} at` });
      }
    } else {
      const lst = parseLst(inner);
      if (typeof lst === 'string') return bad(`invalid ~LST specification: ${lst}`);
      for (const set of lst.values) {
        const bindings = lst.vars.map((name, k): [string, string] => [name, set[k] ?? '']);
        iterations.push({ bindings, label: `generated by ~LST with ${bindings.map(([a, b]) => `${a}=${b}`).join(' ')} at` });
      }
    }
    for (const it of iterations) {
      for (const [name, val] of it.bindings) this.#define(name, loc, [{ text: val, cols: [], base: loc }], false);
      this.#process(withVia(body, it.label, loc), ctx, depth + 1);
      if (this.#limitHit) return;
    }
  }

  /** Substitute single-line definitions in a plain string (generator parameters). */
  #substituteText(s: string, line: Line, ctx: FileCtx): string {
    const l: Line = { text: s, cols: Array.from({ length: s.length }, () => line.base.col), base: line.base }; // generator parameters are short
    const r = this.#substitute(l, ctx);
    return r?.[0]?.text ?? s;
  }

  /** `include FILE` and its checking variants includer/includem/includew/includeb/includea. */
  #include(line: Line, ctx: FileCtx): boolean {
    const m = /^include([rmwba])?[ \t]+/.exec(line.text);
    if (!m) return false;
    const variant = m[1];
    let spec = line.text.slice(m[0].length).trim();
    if (/^(["']).*\1$/.test(spec)) spec = spec.slice(1, -1);
    const loc = locAt(line, m[0].length);
    if (!spec) {
      this.#diags.error('include-missing-file', 'include needs a file name or pattern', locAt(line, 0));
      return true;
    }
    if (this.#stack.length >= this.#o.maxIncludeDepth) {
      this.#diags.error('include-too-deep', `includes nested more than ${this.#o.maxIncludeDepth} deep`, loc);
      return true;
    }
    const strict = variant !== undefined; // the checking variants make every problem an error
    const patterns = expandBraces(spec).map((p) => path.resolve(ctx.dir, p));
    const files: string[] = [];
    let missingBrace = false;
    for (const p of patterns) {
      const matches = globOne(this.#o.fs, p);
      if (!matches.length) {
        if (!hasWildcard(p)) {
          if (hasBrace(spec)) missingBrace = true;
          else {
            // keepalived ignores a missing plain include; a named file that is not there is almost
            // always a mistake (a VIP set that silently never loads), so vigil reports it.
            this.#diags.error('include-not-found', `included file '${path.relative(ctx.dir, p) || p}' does not exist`, loc, `looked for ${p}`);
          }
        } else {
          const msg = `no files match include pattern '${p}'`;
          if (strict && (variant === 'w' || variant === 'a')) this.#diags.error('include-no-match', msg, loc);
          else this.#diags.warning('include-no-match', msg, loc);
        }
      }
      files.push(...matches);
    }
    if (missingBrace) {
      const msg = `some files of brace pattern '${spec}' are missing`;
      if (strict && (variant === 'b' || variant === 'a')) this.#diags.error('include-brace-missing', msg, loc);
      else this.#diags.warning('include-brace-missing', msg, loc);
    }
    for (const f of files) {
      if (this.#stack.includes(f)) {
        this.#diags.error('include-cycle', `include cycle: '${path.basename(f)}' is already being read (${[...this.#stack, f].map((s) => path.basename(s)).join(' → ')}); not included again`, loc);
        continue;
      }
      const r = this.#o.fs.read(f);
      if (!r.ok) {
        this.#diags.error('include-unreadable', `cannot read included file: ${r.detail}`, loc);
        continue;
      }
      this.#readFile(f, r.text, locAt(line, 0));
    }
    return true;
  }
}

function slice(line: Line, start: number): Line {
  return { text: line.text.slice(start), cols: typeof line.cols === 'number' ? line.cols + start : line.cols.slice(start), base: line.base };
}

function withVia(line: Line, what: string, loc: Loc): Line {
  const via: Via[] = [{ what, loc }, ...(line.base.via ?? [])];
  return { text: line.text, cols: line.cols, base: { ...line.base, via } };
}

function matchParen(t: string, open: number): number {
  let depth = 0;
  for (let i = open; i < t.length; i++) {
    if (t[i] === '(') depth++;
    else if (t[i] === ')' && --depth === 0) return i;
  }
  return -1;
}

/** strtol(s, 0): decimal, 0x hex, leading-0 octal, optional sign. */
function parseCInt(s: string): number | undefined {
  const m = /^([+-]?)(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)$/.exec(s);
  if (!m) return undefined;
  const body = m[2] as string;
  const v = /^0[xX]/.test(body) ? parseInt(body.slice(2), 16) : body.length > 1 && body[0] === '0' ? parseInt(body, 8) : parseInt(body, 10);
  return m[1] === '-' ? -v : v;
}

/** `~LST(var, v1, v2)` or `~LST({a,b}, {1,2}, {3,4})`: the text between the parentheses. */
function parseLst(inner: string): { vars: string[]; values: string[][] } | string {
  const items = splitTop(inner);
  if (items.length < 2) return 'want (var, value, ...) or ({vars}, {values}, ...)';
  const head = (items[0] as string).trim();
  const vars = head.startsWith('{') ? splitTop(unbrace(head)).map((s) => s.trim()) : [head];
  if (vars.some((v) => !/^[A-Za-z_][A-Za-z0-9_]*$/.test(v))) return `invalid variable name in '${head}'`;
  const values: string[][] = [];
  for (const raw of items.slice(1)) {
    const it = raw.trim();
    const vals = it.startsWith('{') ? splitTop(unbrace(it)).map((s) => s.trim()) : [it];
    if (vals.length > vars.length) return `too many values in '${it}'`;
    values.push(vals);
  }
  return { vars, values };
}

function unbrace(s: string): string {
  return s.endsWith('}') ? s.slice(1, -1) : s.slice(1);
}

function splitTop(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '{') depth++;
    else if (s[i] === '}') depth--;
    else if (s[i] === ',' && depth === 0) { out.push(s.slice(start, i)); start = i + 1; }
  }
  out.push(s.slice(start));
  return out;
}
