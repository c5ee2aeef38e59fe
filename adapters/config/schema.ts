// The keyword engine: each block is a table of keyword → handler (keepalived's install_keyword()),
// run over the statement tree. Unknown keywords, missing or extra blocks, bad numbers, duplicates and
// keywords vigil does not act on are all reported here, with a suggestion where one fits.
import { isIP } from 'node:net';
import type { Diagnostics, Loc } from './diagnostics.js';
import type { Family, ScriptSpec } from './model.js';
import type { Stmt, Word } from './tree.js';

export type Handler<T> = (s: Stmt, c: Ctx, target: T) => void;

export interface Kw<T> {
  readonly h: Handler<T>;
  /** 'required': needs `{ }`; 'optional': may have one; absent: must not have one */
  readonly block?: 'required' | 'optional';
  /** may appear several times in one block (otherwise a repeat warns that it overrides) */
  readonly multi?: boolean;
  /** vigil parses it but does not act on it: the reason, shown in a warning */
  readonly unsupported?: string;
  /** deprecated alias: the keyword to use instead */
  readonly deprecated?: string;
}

export type Table<T> = Readonly<Record<string, Kw<T>>>;

/** Every table by block name, so an unknown keyword can be found where it belongs. */
export const registry = new Map<string, Table<never>>();

export function table<T>(blockName: string, t: Table<T>): Table<T> {
  registry.set(blockName, t as Table<never>);
  return t;
}

export class Ctx {
  constructor(readonly diags: Diagnostics) {}

  /** The word at `i`, or an error naming the keyword. */
  arg(s: Stmt, i = 1, what = 'a value'): Word | undefined {
    const w = s.words[i];
    if (!w) {
      this.diags.error('missing-value', `'${s.keyword}' needs ${what}`, endOf(s));
      return undefined;
    }
    return w;
  }

  /** Warn about words beyond `max`. */
  maxArgs(s: Stmt, max: number): void {
    const extra = s.words[max + 1];
    if (extra) this.diags.warning('extra-value', `'${s.keyword}' takes ${max === 0 ? 'no value' : max === 1 ? 'one value' : `${max} values`}; '${extra.text}' and after ignored`, extra.loc);
  }

  int(s: Stmt, min: number, max: number, i = 1): number | undefined {
    const w = this.arg(s, i, 'a number');
    return w && this.intWord(w, min, max, s.keyword);
  }

  intWord(w: Word, min: number, max: number, kw: string): number | undefined {
    if (!/^[+-]?\d+$/.test(w.text)) {
      this.diags.error('invalid-number', `'${kw}': '${w.text}' is not a whole number`, w.loc);
      return undefined;
    }
    const v = Number(w.text);
    if (v < min || v > max) {
      this.diags.error('out-of-range', `'${kw}' ${v} is outside ${min}..${max}`, w.loc);
      return undefined;
    }
    return v;
  }

  /** keepalived timers: seconds with up to 6 decimals (µs resolution), returned in ms. */
  timerMs(s: Stmt, minS: number, maxS: number, i = 1): number | undefined {
    const w = this.arg(s, i, 'a time in seconds');
    if (!w) return undefined;
    return this.timerWord(w, minS, maxS, s.keyword);
  }

  timerWord(w: Word, minS: number, maxS: number, kw: string): number | undefined {
    if (!/^\d+(\.\d{0,6})?$|^\.\d{1,6}$/.test(w.text)) {
      this.diags.error('invalid-time', `'${kw}': '${w.text}' is not a time in seconds (like 1 or 0.5)`, w.loc);
      return undefined;
    }
    const v = Number(w.text);
    if (v < minS || v > maxS) {
      this.diags.error('out-of-range', `'${kw}' ${w.text}s is outside ${minS}..${maxS} seconds`, w.loc);
      return undefined;
    }
    return Math.round(v * 1e6) / 1e3;
  }

  /** Bare keyword = true; else on|off|true|false|yes|no. */
  bool(s: Stmt): boolean {
    const w = s.words[1];
    if (!w) return true;
    this.maxArgs(s, 1);
    const v = w.text.toLowerCase();
    if (['on', 'true', 'yes'].includes(v)) return true;
    if (['off', 'false', 'no'].includes(v)) return false;
    this.diags.error('invalid-bool', `'${s.keyword}': '${w.text}' is not one of on|off|true|false|yes|no`, w.loc);
    return true;
  }

  str(s: Stmt, i = 1, what = 'a value'): string | undefined {
    return this.arg(s, i, what)?.text;
  }

  oneOf<V extends string>(s: Stmt, values: readonly V[], i = 1, caseInsensitive = false): V | undefined {
    const w = this.arg(s, i, `one of ${values.join('|')}`);
    if (!w) return undefined;
    const found = values.find((v) => (caseInsensitive ? v.toLowerCase() === w.text.toLowerCase() : v === w.text));
    if (!found) {
      const hint = suggest(w.text, values);
      this.diags.error('invalid-value', `'${s.keyword}': '${w.text}' is not one of ${values.join('|')}`, w.loc, hint && `did you mean '${hint}'?`);
    }
    return found;
  }

  /** An IP address (no prefix). */
  ip(w: Word | undefined, kw: string): { address: string; family: Family } | undefined {
    if (!w) return undefined;
    const f = isIP(w.text);
    if (!f) {
      this.diags.error('invalid-address', `'${kw}': '${w.text}' is not an IP address`, w.loc);
      return undefined;
    }
    return { address: w.text, family: f as Family };
  }

  port(w: Word | undefined, kw: string): number | undefined {
    return w ? this.intWord(w, 0, 65535, kw) : undefined;
  }

  /**
   * `CMD|"CMD args" [user [[:]group]]`: the command is the first word (quoted: the whole string);
   * inside it, words split shell-like (single and double quotes, backslash escapes).
   */
  script(s: Stmt, i = 1): ScriptSpec | undefined {
    const w = this.arg(s, i, 'a command');
    if (!w) return undefined;
    const argv = splitCommand(w.text);
    if (!argv.ok) {
      this.diags.error('bad-command', `'${s.keyword}': ${argv.error}`, w.loc);
      return undefined;
    }
    if (!argv.words.length) {
      this.diags.error('missing-value', `'${s.keyword}' needs a command`, w.loc);
      return undefined;
    }
    const u = s.words[i + 1];
    let user: string | undefined;
    let group: string | undefined;
    if (u) {
      const m = /^([^:]+)(?::(.+))?$/.exec(u.text);
      user = m?.[1];
      group = m?.[2] ?? s.words[i + 2]?.text?.replace(/^:/, '');
      this.maxArgs(s, m?.[2] ? i + 1 : i + 2);
    }
    return { loc: w.loc, command: w.text, argv: argv.words, ...(user ? { user } : {}), ...(group ? { group } : {}) };
  }

  /** The words after the keyword, as strings. */
  rest(s: Stmt, from = 1): string[] {
    return s.words.slice(from).map((w) => w.text);
  }

  /** Items of a list block: every word of every line (`group { VI_1 VI_2 }`). */
  listWords(s: Stmt): Word[] {
    const out: Word[] = [];
    for (const st of s.block ?? []) {
      out.push(...st.words);
      if (st.block) this.diags.error('unexpected-block', `a list item cannot have a block`, st.blockLoc ?? st.loc);
    }
    return out;
  }
}

export function endOf(s: Stmt): Loc {
  const last = s.words[s.words.length - 1] ?? s.words[0];
  if (!last) return s.loc;
  return { ...last.loc, col: last.loc.col + last.text.length + (last.quoted ? 2 : 0) };
}

/**
 * Run `stmts` (the contents of one block) against `t`. Returns nothing: everything it finds it
 * reports and everything valid lands in `target`.
 */
export function runBlock<T>(stmts: readonly Stmt[], t: Table<T>, target: T, c: Ctx, blockName: string): void {
  const seen = new Map<string, Loc>();
  for (const s of stmts) {
    const kw = Object.hasOwn(t, s.keyword) ? t[s.keyword] : undefined;
    if (!kw) {
      unknownKeyword(s, t, c, blockName);
      continue;
    }
    if (kw.block === 'required' && !s.block) {
      c.diags.error('missing-block', `'${s.keyword}' needs a block: ${s.keyword} ${s.words.length > 1 ? '... ' : ''}{ ... }`, endOf(s), `add '{' after '${s.raw}' and a matching '}'`);
      continue;
    }
    if (!kw.block && s.block) {
      c.diags.error('unexpected-block', `'${s.keyword}' does not take a block`, s.blockLoc ?? s.loc, 'remove the braces and what is between them, or check for a missing keyword');
      continue;
    }
    if (!kw.multi) {
      const prev = seen.get(s.keyword);
      if (prev) {
        c.diags.add({
          severity: 'warning', code: 'duplicate-keyword',
          message: `'${s.keyword}' is set twice in this ${blockName}; this one overrides the first`,
          loc: s.loc, related: [{ message: 'first set here', loc: prev }],
        });
      }
      seen.set(s.keyword, s.loc);
    }
    if (kw.deprecated) {
      c.diags.warning('deprecated-keyword', `'${s.keyword}' is deprecated; use '${kw.deprecated}'`, s.loc);
    }
    if (kw.unsupported) {
      c.diags.warning('not-acted-on', `'${s.keyword}' is accepted but vigil does not act on it: ${kw.unsupported}`, s.loc);
    }
    kw.h(s, c, target);
  }
}

function unknownKeyword<T>(s: Stmt, t: Table<T>, c: Ctx, blockName: string): void {
  const near = suggest(s.keyword, Object.keys(t));
  let hint: string | undefined = near ? `did you mean '${near}'?` : undefined;
  if (!near) {
    const homes = [...registry].filter(([name, tab]) => name !== blockName && Object.hasOwn(tab, s.keyword)).map(([name]) => name);
    if (homes.length) hint = `'${s.keyword}' belongs in ${homes.map((h) => `'${h}'`).join(' or ')}`;
  }
  c.diags.error('unknown-keyword', `unknown keyword '${s.keyword}' in ${blockName}${s.block ? ' (its block is skipped)' : ''}`, s.loc, hint);
}

/** The closest candidate by edit distance, if close enough to be a typo. */
export function suggest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  const w = word.toLowerCase();
  for (const cand of candidates) {
    const d = editDistance(w, cand.toLowerCase());
    if (d < bestD) { bestD = d; best = cand; }
  }
  const limit = Math.max(1, Math.min(3, Math.floor(word.length / 4)));
  return bestD <= limit ? best : undefined;
}

export function editDistance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 3) return 99;
  const prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  const prevprev = new Array<number>(b.length + 1).fill(0);
  const cur = new Array<number>(b.length + 1).fill(0);
  for (let i = 1; i <= a.length; i++) {
    cur[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min((prev[j] ?? 0) + 1, (cur[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + cost);
      // transposition (Damerau): "ipadress" vs "ipaddress" stays 1, "prioirty" is 1
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, (prevprev[j - 2] ?? 0) + 1);
      cur[j] = v;
    }
    for (let j = 0; j <= b.length; j++) { prevprev[j] = prev[j] ?? 0; prev[j] = cur[j] ?? 0; }
  }
  return prev[b.length] ?? 0;
}

/** Shell-like split of a command string: '…' and "…" group, backslash escapes (keepalived's escapes). */
export function splitCommand(cmd: string): { ok: true; words: string[] } | { ok: false; error: string } {
  const words: string[] = [];
  let cur = '';
  let inWord = false;
  let quote: string | null = null;
  for (let i = 0; i < cmd.length; i++) {
    const c = cmd[i] as string;
    if (c === '\\') {
      const n = cmd[i + 1];
      if (n === undefined) return { ok: false, error: 'command ends with a lone backslash' };
      i++;
      inWord = true;
      const esc: Record<string, string> = { a: '\x07', b: '\b', E: '\x1b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v' };
      if (n === 'x' && /[0-9a-fA-F]/.test(cmd[i + 1] ?? '')) {
        const m = /^[0-9a-fA-F]{1,2}/.exec(cmd.slice(i + 1)) as RegExpExecArray;
        cur += String.fromCharCode(parseInt(m[0], 16)); i += m[0].length;
      } else if (n === 'c' && cmd[i + 1] !== undefined) {
        cur += String.fromCharCode(cmd.charCodeAt(i + 1) & 0x1f); i++;
      } else if (/[0-7]/.test(n)) {
        const m = /^[0-7]{1,3}/.exec(cmd.slice(i)) as RegExpExecArray;
        cur += String.fromCharCode(parseInt(m[0], 8) & 0xff); i += m[0].length - 1;
      } else cur += esc[n] ?? n;
      continue;
    }
    if (quote) {
      if (c === quote) quote = null;
      else cur += c;
      continue;
    }
    if (c === '"' || c === "'") { quote = c; inWord = true; continue; }
    if (c === ' ' || c === '\t') {
      if (inWord) { words.push(cur); cur = ''; inWord = false; }
      continue;
    }
    cur += c;
    inWord = true;
  }
  if (quote) return { ok: false, error: `missing terminating ${quote} in command` };
  if (inWord) words.push(cur);
  return { ok: true, words };
}
