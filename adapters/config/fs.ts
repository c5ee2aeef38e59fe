// The file-system port of the config reader: what it needs to read files and expand include globs.
// `nodeConfigFs` is the real one; tests give an in-memory one (test/fakes/memoryFs.ts).
import * as fs from 'node:fs';
import * as path from 'node:path';

export type ReadResult =
  | { ok: true; text: string }
  | { ok: false; reason: 'not-found' | 'is-directory' | 'unreadable' | 'binary'; detail: string };

export interface ConfigFs {
  read(file: string): ReadResult;
  /** Entries of a directory, or [] when it cannot be listed. */
  list(dir: string): string[];
  isDirectory(p: string): boolean;
  exists(p: string): boolean;
}

/**
 * The largest config file read: a 1,000-instance keepalived.conf is ~0.5 MB, and parsing a huge
 * file (10 MB of junk: ~3 s) would hold the daemon's event loop, VRRP included, during a reload.
 */
export const MAX_CONFIG_FILE_BYTES = 4 << 20;

export const nodeConfigFs: ConfigFs = {
  read(file) {
    try {
      const st = fs.statSync(file);
      if (st.isDirectory()) return { ok: false, reason: 'is-directory', detail: `${file} is a directory` };
      if (st.size > MAX_CONFIG_FILE_BYTES) {
        return { ok: false, reason: 'unreadable', detail: `${file} is ${(st.size / (1 << 20)).toFixed(1)} MiB, more than the ${MAX_CONFIG_FILE_BYTES >> 20} MiB vigil reads` };
      }
      const buf = fs.readFileSync(file);
      if (buf.includes(0)) return { ok: false, reason: 'binary', detail: `${file} contains NUL bytes` };
      return { ok: true, text: buf.toString('utf8') };
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      if (e.code === 'ENOENT' || e.code === 'ENOTDIR') return { ok: false, reason: 'not-found', detail: `${file}: no such file` };
      return { ok: false, reason: 'unreadable', detail: `${file}: ${e.code ?? e.message}` };
    }
  },
  list(dir) {
    try {
      return fs.readdirSync(dir);
    } catch {
      return [];
    }
  },
  isDirectory(p) {
    try {
      return fs.statSync(p).isDirectory();
    } catch {
      return false;
    }
  },
  exists(p) {
    return fs.existsSync(p);
  },
};

/** csh-style brace expansion, nested: `a{b,c{d,e}}f` → abf, acdf, acef. Unbalanced braces are literal. */
export function expandBraces(pattern: string): string[] {
  let depth = 0;
  let open = -1;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '\\') { i++; continue; }
    if (c === '{') { if (depth++ === 0) open = i; }
    else if (c === '}' && depth > 0 && --depth === 0) {
      const body = pattern.slice(open + 1, i);
      const alts = splitTopLevel(body);
      if (alts.length < 2 && !body.includes(',')) {
        // "{x}" is not an alternation in csh; keep literal and carry on after it
        return expandBraces(pattern.slice(i + 1)).map((rest) => pattern.slice(0, i + 1) + rest);
      }
      const pre = pattern.slice(0, open);
      const post = pattern.slice(i + 1);
      const out: string[] = [];
      for (const alt of alts) for (const e of expandBraces(pre + alt + post)) out.push(e);
      return out;
    }
  }
  return [pattern];
}

function splitTopLevel(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === '{') depth++;
    else if (c === '}') depth--;
    else if (c === ',' && depth === 0) { out.push(s.slice(start, i)); start = i + 1; }
  }
  out.push(s.slice(start));
  return out;
}

export function hasWildcard(s: string): boolean {
  return /[*?[]/.test(s);
}

export function hasBrace(s: string): boolean {
  return /\{[^}]*,[^}]*\}/.test(s);
}

/** glob(3) for one brace-free pattern: `*`, `?` and `[...]` per path segment; dotfiles need a dot. Sorted. */
export function globOne(fsys: ConfigFs, pattern: string): string[] {
  if (!hasWildcard(pattern)) return fsys.exists(pattern) ? [pattern] : [];
  const absolute = pattern.startsWith('/');
  const segs = pattern.split('/').filter((s, i) => s !== '' || i === 0);
  let bases: string[] = [absolute ? '/' : '.'];
  const start = absolute ? 1 : 0;
  for (let i = start; i < segs.length; i++) {
    const seg = segs[i] ?? '';
    const last = i === segs.length - 1;
    const next: string[] = [];
    for (const base of bases) {
      if (!hasWildcard(seg)) {
        const p = join(base, seg, absolute);
        if (last ? fsys.exists(p) : fsys.isDirectory(p)) next.push(p);
        continue;
      }
      const re = segmentRegExp(seg);
      for (const name of fsys.list(base === '' ? '.' : base).sort()) {
        if (name.startsWith('.') && !seg.startsWith('.')) continue;
        if (!re.test(name)) continue;
        const p = join(base, name, absolute);
        if (last || fsys.isDirectory(p)) next.push(p);
      }
    }
    bases = next;
  }
  return bases.sort();
}

function join(base: string, name: string, absolute: boolean): string {
  if (base === '/') return '/' + name;
  if (base === '.' && !absolute) return name;
  return path.posix.join(base, name);
}

function segmentRegExp(seg: string): RegExp {
  let re = '^';
  for (let i = 0; i < seg.length; i++) {
    const c = seg[i] ?? '';
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const close = seg.indexOf(']', i + 2);
      if (close < 0) { re += '\\['; continue; }
      let body = seg.slice(i + 1, close);
      if (body.startsWith('!')) body = '^' + body.slice(1);
      re += '[' + body.replace(/\\/g, '\\\\') + ']';
      i = close;
    } else re += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(re + '$');
}
