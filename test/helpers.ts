// Small helpers shared by the config tests.
import { loadConfig, type LoadOptions } from '../adapters/config/index.js';
import { memoryFs } from './fakes/memoryFs.js';

/** Parse config text (plus optional other files) in memory, deterministically, without host checks. */
export function parse(text: string, files: Record<string, string> = {}, opts: LoadOptions = {}) {
  return loadConfig('/etc/keepalived/keepalived.conf', {
    fs: memoryFs({ '/etc/keepalived/keepalived.conf': text, ...files }),
    configId: 'node1',
    env: { HOME: '/root' },
    random: () => 0.5,
    ...opts,
  });
}

/** "line:col code" for each diagnostic, the compact form tests compare. */
export function codes(r: ReturnType<typeof loadConfig>, severity?: string): string[] {
  return r.diagnostics.filter((d) => !severity || d.severity === severity).map((d) => `${d.loc.line}:${d.loc.col} ${d.code}`);
}
