// keepalived.conf → typed model + diagnostics. The one entry point the rest of vigil uses.
import * as os from 'node:os';
import * as path from 'node:path';
import { check, resolve } from './check.js';
import { type Diagnostic, Diagnostics, exitCodeFor } from './diagnostics.js';
import { type ConfigFs, nodeConfigFs } from './fs.js';
import type { HostInfo } from './host.js';
import { emptyConfig, root } from './keywords/root.js';
import type { KeepalivedConfig } from './model.js';
import { Preprocessor } from './preprocess.js';
import { Ctx, runBlock } from './schema.js';
import { buildTree } from './tree.js';

export type { Diagnostic, Loc, Severity } from './diagnostics.js';
export { ExitCode, exitCodeFor } from './diagnostics.js';
export type * from './model.js';

export interface LoadOptions {
  fs?: ConfigFs;
  /** Host facts for interface and script checks; omit to skip those checks. */
  host?: HostInfo;
  /** `@id` lines: default the host name up to the first dot (as keepalived). */
  configId?: string;
  env?: Readonly<Record<string, string | undefined>>;
  random?: () => number;
  strictHost?: boolean;
  maxLines?: number;
}

export interface LoadResult {
  /** Always present: what could be read, even with errors. */
  readonly config: KeepalivedConfig;
  readonly diagnostics: readonly Diagnostic[];
  /** `keepalived -t` compatible: 0 ok, 3 cannot run, 4 errors, 5 script security. */
  readonly exitCode: number;
}

export function defaultConfigId(): string {
  return os.hostname().split('.')[0] ?? '';
}

/** Parse text as if it were the file `file` (tests, the property suite, `config-test -`). */
export function loadConfig(file: string, opts: LoadOptions = {}): LoadResult {
  const diags = new Diagnostics();
  const pre = new Preprocessor({
    fs: opts.fs ?? nodeConfigFs,
    configId: opts.configId ?? defaultConfigId(),
    env: opts.env ?? process.env,
    random: opts.random ?? Math.random,
    ...(opts.maxLines ? { maxLines: opts.maxLines } : {}),
  }, diags);
  const abs = path.resolve(file);
  const lines = pre.run(abs);
  const cfg = emptyConfig();
  cfg.files.push(...pre.files);
  if (pre.files.length) {
    const last = lines[lines.length - 1];
    const eof = last ? { ...last.base, col: 1 } : { file: abs, line: 1, col: 1 };
    const tree = buildTree(lines, diags, eof);
    runBlock(tree, root, cfg, new Ctx(diags), 'the top level');
    resolve(cfg);
    check(cfg, diags, { ...(opts.host ? { host: opts.host } : {}), ...(opts.strictHost ? { strictHost: true } : {}) });
  }
  const order = new Map(cfg.files.map((f, i) => [f, i]));
  const diagnostics = [...diags.list].sort((a, b) =>
    (order.get(a.loc.file) ?? -1) - (order.get(b.loc.file) ?? -1) || a.loc.line - b.loc.line || a.loc.col - b.loc.col);
  return { config: cfg, diagnostics, exitCode: exitCodeFor(diagnostics) };
}
