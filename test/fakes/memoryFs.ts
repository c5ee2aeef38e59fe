// An in-memory ConfigFs for unit tests: a map of absolute path → file text.
import * as path from 'node:path';
import type { ConfigFs } from '../../adapters/config/fs.js';

export function memoryFs(files: Record<string, string>): ConfigFs {
  const map = new Map(Object.entries(files).map(([k, v]) => [path.resolve('/', k), v]));
  const dirs = new Set<string>();
  for (const f of map.keys()) for (let d = path.dirname(f); ; d = path.dirname(d)) { dirs.add(d); if (d === '/') break; }
  return {
    read(file) {
      const t = map.get(file);
      if (t !== undefined) return { ok: true, text: t };
      if (dirs.has(file)) return { ok: false, reason: 'is-directory', detail: `${file} is a directory` };
      return { ok: false, reason: 'not-found', detail: `${file}: no such file` };
    },
    list(dir) {
      const out = new Set<string>();
      for (const p of [...map.keys(), ...dirs]) if (p !== dir && path.dirname(p) === dir) out.add(path.basename(p));
      return [...out];
    },
    isDirectory: (p) => dirs.has(p),
    exists: (p) => map.has(p) || dirs.has(p),
  };
}
