// A fake HostInfo: named interfaces and addresses, scripts as stat entries.
import type { HostInfo, ScriptStat } from '../../adapters/config/host.js';

export function fakeHost(o: {
  interfaces?: string[];
  addresses?: string[];
  files?: Record<string, Partial<ScriptStat>>;
  /** every absolute path not listed exists as a root-owned 0755 file (and its directories 0755) */
  allScriptsExist?: boolean;
  /** the kernel has IPVS (absent: unknown) */
  ipvs?: boolean;
} = {}): HostInfo {
  const files = o.files ?? {};
  return {
    interfaces: () => new Set(o.interfaces ?? ['lo', 'eth0']),
    addresses: () => new Set(o.addresses ?? ['127.0.0.1', '::1']),
    stat(p) {
      const f = files[p];
      if (f) return { isFile: true, mode: 0o100755, uid: 0, gid: 0, ...f };
      if (o.allScriptsExist) return { isFile: !p.endsWith('/') && p.split('/').pop()!.includes('.'), mode: 0o755, uid: 0, gid: 0 };
      if (Object.keys(files).some((k) => k.startsWith(p + '/')) || p === '/') return { isFile: false, mode: 0o40755, uid: 0, gid: 0 };
      return undefined;
    },
    hasIpvs: () => o.ipvs,
    which: (cmd) => (cmd.includes('/') ? cmd : files[`/usr/bin/${cmd}`] || o.allScriptsExist ? `/usr/bin/${cmd}` : undefined),
  };
}
