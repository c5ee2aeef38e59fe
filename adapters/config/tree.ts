// The block layer: logical lines → words → a tree of statements. keepalived (lib/parser.c
// alloc_strvec_r, read_line) splits a line at every unquoted '{' or '}', so a brace may sit on the
// keyword's line, on the next line, or share a line with words (`group { VI_1 VI_2 }`).
import { type Diagnostics, type Loc } from './diagnostics.js';
import { type Line, locAt } from './preprocess.js';

export interface Word {
  /** The word with quotes removed. */
  readonly text: string;
  readonly loc: Loc;
  readonly quoted: boolean;
}

export interface Stmt {
  readonly keyword: string;
  readonly loc: Loc;
  readonly words: readonly Word[]; // words[0] is the keyword
  /** The statement's text from the keyword to the end of its line (or the next brace), unprocessed. */
  readonly raw: string;
  /** Offsets of each word in `raw`. */
  readonly offsets: readonly number[];
  readonly block?: readonly Stmt[];
  readonly blockLoc?: Loc;
  readonly endLoc?: Loc;
}

type WordTok = { kind: 'word'; word: Word; line: Line; start: number; end: number };
type Tok =
  | WordTok
  | { kind: 'open' | 'close'; loc: Loc }
  | { kind: 'eol' };

/** Whitespace, '"', '{' or '}': what ends an unquoted word. */
function isDelimiter(c: number): boolean {
  return c === 32 || c === 9 || c === 13 || c === 11 || c === 12 || c === 34 || c === 123 || c === 125;
}

/** Tokenise one logical line the way keepalived's alloc_strvec_r does, with '{' and '}' as tokens. */
export function tokenize(line: Line, diags: Diagnostics, into: Tok[]): void {
  const t = line.text;
  let i = 0;
  while (i < t.length) {
    const c = t[i] as string;
    if (c === ' ' || c === '\t' || c === '\r' || c === '\v' || c === '\f') { i++; continue; }
    if (c === '{' || c === '}') {
      into.push({ kind: c === '{' ? 'open' : 'close', loc: locAt(line, i) });
      i++;
      continue;
    }
    if (c === '"') {
      const close = t.indexOf('"', i + 1);
      if (close < 0) {
        diags.error('unmatched-quote', 'unmatched quote', locAt(line, i), 'close the string with "');
        into.push({ kind: 'word', word: { text: t.slice(i + 1), loc: locAt(line, i), quoted: true }, line, start: i, end: t.length });
        i = t.length;
        break;
      }
      into.push({ kind: 'word', word: { text: t.slice(i + 1, close), loc: locAt(line, i), quoted: true }, line, start: i, end: close + 1 });
      i = close + 1;
      continue;
    }
    let j = i;
    while (j < t.length && !isDelimiter(t.charCodeAt(j))) j++;
    into.push({ kind: 'word', word: { text: t.slice(i, j), loc: locAt(line, i), quoted: false }, line, start: i, end: j });
    i = j;
  }
  into.push({ kind: 'eol' });
}

/** keepalived's deepest real nesting is 4 (virtual_server/real_server/HTTP_GET/url). */
const MAX_DEPTH = 32;

/** Build the statement tree. Brace errors are reported; the tree is always returned. */
export function buildTree(lines: readonly Line[], diags: Diagnostics, eofLoc: Loc): Stmt[] {
  const toks: Tok[] = [];
  for (const l of lines) tokenize(l, diags, toks);
  let pos = 0;

  let tooDeep = false;
  /** Skip a block without building it (past the nesting limit): iterative, so no stack to overflow. */
  const skipBlock = (): Loc | undefined => {
    let depth = 1;
    while (pos < toks.length) {
      const t = toks[pos++] as Tok;
      if (t.kind === 'open') depth++;
      else if (t.kind === 'close' && --depth === 0) return t.loc;
    }
    return undefined;
  };
  const parseList = (opener: Loc | undefined, depth = 0): { stmts: Stmt[]; end?: Loc } => {
    const stmts: Stmt[] = [];
    while (pos < toks.length) {
      const tok = toks[pos] as Tok;
      if (tok.kind === 'eol') { pos++; continue; }
      if (tok.kind === 'close') {
        pos++;
        if (opener) return { stmts, end: tok.loc };
        diags.error('extra-brace', "extra '}' with no block to close", tok.loc, 'remove it, or look for a missing \'{\' above');
        continue;
      }
      if (tok.kind === 'open') {
        pos++;
        diags.error('unexpected-brace', "'{' does not follow a keyword", tok.loc, 'a block must start on the line of its keyword or the line after it');
        if (depth >= MAX_DEPTH) skipBlock();
        else parseList(tok.loc, depth + 1); // consume the stray block so braces stay balanced
        continue;
      }
      // a statement: the words up to the end of the line or the next brace
      const first = tok as WordTok;
      const words: Word[] = [];
      const offsets: number[] = [];
      let last: WordTok = first;
      while (pos < toks.length) {
        const w = toks[pos] as Tok;
        if (w.kind !== 'word') break;
        words.push(w.word);
        offsets.push(w.start - first.start);
        last = w;
        pos++;
      }
      const raw = first.line.text.slice(first.start, last.end);
      // its block: '{' right after the words, or first on the next logical line (blank and comment
      // lines never reach here)
      let look = pos;
      let crossed = 0;
      while (look < toks.length && (toks[look] as Tok).kind === 'eol') { look++; crossed++; }
      const next = toks[look];
      if (next && next.kind === 'open' && crossed <= 1) {
        pos = look + 1;
        if (depth >= MAX_DEPTH) {
          if (!tooDeep) diags.error('nesting-too-deep', `blocks nested more than ${MAX_DEPTH} deep; the inner ones are skipped`, next.loc);
          tooDeep = true;
          skipBlock();
          stmts.push({ keyword: first.word.text, loc: first.word.loc, words, raw, offsets });
          continue;
        }
        const inner = parseList(next.loc, depth + 1);
        if (!inner.end) {
          diags.error('missing-brace', `block of '${first.word.text}' opened here is never closed`, next.loc, "add the missing '}'");
        }
        stmts.push({
          keyword: first.word.text, loc: first.word.loc, words, raw, offsets,
          block: inner.stmts, blockLoc: next.loc, ...(inner.end ? { endLoc: inner.end } : {}),
        });
      } else {
        stmts.push({ keyword: first.word.text, loc: first.word.loc, words, raw, offsets });
      }
    }
    if (opener) return { stmts };
    return { stmts, end: eofLoc };
  };
  return parseList(undefined).stmts;
}
