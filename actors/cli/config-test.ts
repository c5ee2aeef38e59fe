// `vigil config-test`: parse and check a keepalived.conf; compiler-style output or JSON.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { formatDiagnostic, summary } from '../../adapters/config/format.js';
import { nodeHost } from '../../adapters/config/host.js';
import { type Diagnostic, ExitCode, loadConfig } from '../../adapters/config/index.js';

export const DEFAULT_CONFIG = '/etc/keepalived/keepalived.conf';

export function run(args: readonly string[]): number {
  let opts;
  try {
    opts = parseArgs({
      args: [...args],
      options: {
        file: { type: 'string', short: 'f' },
        json: { type: 'boolean' },
        'config-id': { type: 'string', short: 'i' },
        'strict-host': { type: 'boolean' },
        'no-host': { type: 'boolean' },
        dump: { type: 'boolean' },
        color: { type: 'boolean' },
      },
      allowPositionals: true,
      strict: true,
    }).values;
  } catch (err) {
    process.stderr.write(`vigil config-test: ${(err as Error).message}\n(see vigil config-test --help)\n`);
    return 2;
  }
  const file = opts.file ?? DEFAULT_CONFIG;
  const result = loadConfig(file, {
    ...(opts['no-host'] ? {} : { host: nodeHost }),
    ...(opts['config-id'] !== undefined ? { configId: opts['config-id'] } : {}),
    ...(opts['strict-host'] ? { strictHost: true } : {}),
  });
  const { config, diagnostics, exitCode } = result;
  const cwd = process.cwd();
  const name = (f: string): string => {
    const rel = path.relative(cwd, f);
    return rel && !rel.startsWith('..') ? rel : f;
  };

  if (opts.json) {
    const out = {
      file: path.resolve(file),
      files: config.files,
      exitCode,
      ok: exitCode === ExitCode.ok,
      errors: diagnostics.filter((d) => d.severity !== 'warning').length,
      warnings: diagnostics.filter((d) => d.severity === 'warning').length,
      diagnostics: diagnostics.map(toJson),
      counts: counts(config),
      ...(opts.dump ? { config } : {}),
    };
    process.stdout.write(JSON.stringify(out, null, 2) + '\n');
    return exitCode;
  }

  const cache = new Map<string, string[]>();
  const sourceLine = (f: string, line: number): string | undefined => {
    let lines = cache.get(f);
    if (!lines) {
      try { lines = fs.readFileSync(f, 'utf8').split(/\r?\n/); } catch { lines = []; }
      cache.set(f, lines);
    }
    return lines[line - 1];
  };
  const color = opts.color ?? (process.stderr.isTTY && !process.env.NO_COLOR);
  for (const d of diagnostics) process.stderr.write(formatDiagnostic(d, { sourceLine, name, color }) + '\n');
  if (opts.dump) process.stdout.write(JSON.stringify(config, null, 2) + '\n');
  const c = counts(config);
  const what = `${c.instances} vrrp_instance${c.instances === 1 ? '' : 's'}, ${c.virtualServers} virtual_server${c.virtualServers === 1 ? '' : 's'}, ${c.realServers} real_server${c.realServers === 1 ? '' : 's'}`;
  const verdict = exitCode === ExitCode.ok ? 'OK' : exitCode === ExitCode.cannotRun ? 'CANNOT RUN' : exitCode === ExitCode.scriptSecurity ? 'SCRIPT SECURITY PROBLEMS' : 'ERRORS';
  process.stdout.write(`${name(path.resolve(file))}: ${verdict} (${what}; ${summary(diagnostics)}; exit ${exitCode})\n`);
  return exitCode;
}

function toJson(d: Diagnostic) {
  return {
    severity: d.severity, code: d.code, message: d.message,
    file: d.loc.file, line: d.loc.line, col: d.loc.col,
    ...(d.hint ? { hint: d.hint } : {}),
    ...(d.related?.length ? { related: d.related.map((r) => ({ message: r.message, file: r.loc.file, line: r.loc.line, col: r.loc.col })) } : {}),
    ...(d.loc.via?.length ? { via: d.loc.via.map((v) => ({ what: v.what, file: v.loc.file, line: v.loc.line, col: v.loc.col })) } : {}),
  };
}

function counts(c: ReturnType<typeof loadConfig>['config']) {
  return {
    instances: c.instances.length,
    syncGroups: c.syncGroups.length,
    vrrpScripts: c.vrrpScripts.length,
    virtualServers: c.virtualServers.length,
    realServers: c.virtualServers.reduce((n, v) => n + v.realServers.length, 0),
    checkers: c.virtualServers.reduce((n, v) => n + v.realServers.reduce((m, r) => m + r.checkers.length, 0), 0),
  };
}
