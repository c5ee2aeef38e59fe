// Diagnostics for keepalived.conf: every message names a file, a line and a column, and, when the
// text came from an expansion ($PARAM, ~SEQ, ~LST, include), the chain of places it came through.

/** A place in a source file. `line` and `col` are 1-based; `col` counts characters. */
export interface Loc {
  readonly file: string;
  readonly line: number;
  readonly col: number;
  /** Where this text was expanded from, innermost first (a $PARAM use, a ~SEQ line, an include). */
  readonly via?: readonly Via[];
}

export interface Via {
  readonly what: string; // e.g. "expansion of $VIPS", "~SEQ(i, 1, 3)", "included from"
  readonly loc: Loc;
}

/**
 * How bad a diagnostic is. The classes map onto `keepalived -t` exit codes:
 * fatal → 3 (cannot run), error → 4 (errors), security → 5 (script security), warning → 0.
 */
export type Severity = 'fatal' | 'error' | 'security' | 'warning';

export interface Diagnostic {
  readonly severity: Severity;
  /** Stable machine-readable identifier, e.g. `unknown-keyword`, `duplicate-vip`. */
  readonly code: string;
  readonly message: string;
  readonly loc: Loc;
  /** A suggestion, e.g. "did you mean 'virtual_ipaddress'?" */
  readonly hint?: string;
  /** Other places that matter, e.g. where the duplicate was first defined. */
  readonly related?: readonly { readonly message: string; readonly loc: Loc }[];
}

/** Exit codes of `vigil config-test`, compatible with `keepalived -t`. */
export const ExitCode = {
  ok: 0,
  cannotRun: 3,
  errors: 4,
  scriptSecurity: 5,
} as const;

/** The worst class wins: cannot run (3) over errors (4) over script security (5). */
export function exitCodeFor(diags: readonly Diagnostic[]): number {
  let code: number = ExitCode.ok;
  for (const d of diags) {
    if (d.severity === 'fatal') return ExitCode.cannotRun;
    if (d.severity === 'error') code = ExitCode.errors;
    else if (d.severity === 'security' && code === ExitCode.ok) code = ExitCode.scriptSecurity;
  }
  return code;
}

/** Collects diagnostics; deduplicates identical ones (a macro used twice reports once per use). */
export class Diagnostics {
  readonly list: Diagnostic[] = [];
  readonly #seen = new Set<string>();

  add(d: Diagnostic): void {
    const key = `${d.severity}|${d.code}|${d.message}|${locKey(d.loc)}`;
    if (this.#seen.has(key)) return;
    this.#seen.add(key);
    this.list.push(d);
  }

  fatal(code: string, message: string, loc: Loc, hint?: string): void {
    this.add({ severity: 'fatal', code, message, loc, ...(hint ? { hint } : {}) });
  }
  error(code: string, message: string, loc: Loc, hint?: string): void {
    this.add({ severity: 'error', code, message, loc, ...(hint ? { hint } : {}) });
  }
  warning(code: string, message: string, loc: Loc, hint?: string): void {
    this.add({ severity: 'warning', code, message, loc, ...(hint ? { hint } : {}) });
  }
  security(code: string, message: string, loc: Loc, hint?: string): void {
    this.add({ severity: 'security', code, message, loc, ...(hint ? { hint } : {}) });
  }

  get hasErrors(): boolean {
    return this.list.some((d) => d.severity !== 'warning');
  }
}

/**
 * A place and the expansion sites it came through. Each site's own chain is the rest of this one,
 * so it is not followed (doing so doubles the key per level: 2^64 for a 64-deep expansion).
 */
export function locKey(loc: Loc): string {
  return `${loc.file}:${loc.line}:${loc.col}${(loc.via ?? []).map((v) => `<${v.loc.file}:${v.loc.line}:${v.loc.col}`).join('')}`;
}

/** Sort by file order of appearance is kept by the caller; this sorts by position for stable output. */
export function compareLoc(a: Loc, b: Loc): number {
  if (a.file !== b.file) return a.file < b.file ? -1 : 1;
  return a.line - b.line || a.col - b.col;
}
