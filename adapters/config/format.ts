// Compiler-style rendering of diagnostics: `file:line:col: error: message`, the line with a caret,
// the hint, related places and the expansion chain.
import type { Diagnostic, Loc } from './diagnostics.js';

export interface FormatOptions {
  /** Read a source line for the caret display; return undefined to skip it. */
  sourceLine?: (file: string, line: number) => string | undefined;
  /** Shorten file names (e.g. relative to the working directory). */
  name?: (file: string) => string;
  color?: boolean;
}

const LABEL: Record<Diagnostic['severity'], string> = {
  fatal: 'fatal error', error: 'error', security: 'error[script-security]', warning: 'warning',
};

export function formatDiagnostic(d: Diagnostic, o: FormatOptions = {}): string {
  const name = o.name ?? ((f: string) => f);
  const paint = (code: string, s: string): string => (o.color ? `\x1b[${code}m${s}\x1b[0m` : s);
  const where = (l: Loc): string => (l.line > 0 ? `${name(l.file)}:${l.line}:${l.col}` : name(l.file));
  const sevColor = d.severity === 'warning' ? '35' : '31';
  const out: string[] = [`${paint('1', where(d.loc))}: ${paint(`1;${sevColor}`, LABEL[d.severity])}: ${d.message} [${d.code}]`];
  const src = d.loc.line > 0 ? o.sourceLine?.(d.loc.file, d.loc.line) : undefined;
  if (src !== undefined) {
    const shown = src.replace(/\t/g, ' ');
    out.push(`  ${String(d.loc.line).padStart(4)} | ${shown}`);
    out.push(`       | ${' '.repeat(Math.max(0, d.loc.col - 1))}${paint(`1;${sevColor}`, '^')}`);
  }
  if (d.hint) out.push(`  ${paint('1;36', 'hint')}: ${d.hint}`);
  for (const r of d.related ?? []) out.push(`  ${paint('1', 'note')}: ${r.message} at ${where(r.loc)}`);
  for (const v of d.loc.via ?? []) out.push(`  ${paint('1', 'note')}: ${v.what} ${where(v.loc)}`);
  return out.join('\n');
}

export function summary(diags: readonly Diagnostic[]): string {
  const errors = diags.filter((d) => d.severity !== 'warning').length;
  const warnings = diags.length - errors;
  return `${errors} error${errors === 1 ? '' : 's'}, ${warnings} warning${warnings === 1 ? '' : 's'}`;
}
