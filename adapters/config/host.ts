// What the config checker needs to know about the host it will run on: its interfaces and
// addresses (for VIP/interface checks and address ownership) and the scripts' files (for the
// script-security checks). `nodeHost` reads the real machine; tests pass a fake.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadSslContext, type SslFiles } from '../checkers/ssl.js';

export interface ScriptStat {
  readonly isFile: boolean;
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
}

export interface HostInfo {
  /** Interface names present, or undefined when they cannot be read (the checks are then skipped). */
  interfaces(): ReadonlySet<string> | undefined;
  /** Addresses configured on this host, lower-case canonical. */
  addresses(): ReadonlySet<string>;
  /** stat(2) of a path (following symlinks), or undefined when missing. */
  stat(p: string): ScriptStat | undefined;
  /** Resolve a command name through PATH; absolute names are returned as they are. */
  which(cmd: string): string | undefined;
  /** whether the kernel has IPVS (the default load balancer); undefined: unknown */
  hasIpvs?(): boolean | undefined;
  /** load the `SSL { }` block's context as SSL_GET will; what is wrong with it, or undefined */
  sslContext?(spec: SslFiles): { keyword: 'ca' | 'certificate' | 'key'; message: string } | undefined;
}

export const nodeHost: HostInfo = {
  sslContext(spec) {
    const r = loadSslContext(spec);
    return r.ok ? undefined : { keyword: r.keyword, message: r.message };
  },
  hasIpvs() {
    // loaded, or loadable on demand as the IPVS driver's first netlink call would do
    if (fs.existsSync('/proc/net/ip_vs')) return true;
    try {
      const release = os.release();
      return fs.readdirSync(`/lib/modules/${release}/kernel/net/netfilter/ipvs`).some((f) => f.startsWith('ip_vs.ko'));
    } catch {
      return false;
    }
  },
  interfaces() {
    try {
      return new Set(fs.readdirSync('/sys/class/net'));
    } catch {
      const n = Object.keys(os.networkInterfaces());
      return n.length ? new Set(n) : undefined;
    }
  },
  addresses() {
    const out = new Set<string>();
    for (const list of Object.values(os.networkInterfaces())) {
      for (const a of list ?? []) out.add(a.address.toLowerCase().replace(/%.*$/, ''));
    }
    return out;
  },
  stat(p) {
    try {
      const st = fs.statSync(p);
      return { isFile: st.isFile(), mode: st.mode, uid: st.uid, gid: st.gid };
    } catch {
      return undefined;
    }
  },
  which(cmd) {
    if (cmd.includes('/')) return cmd;
    for (const dir of (process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(':')) {
      const p = path.join(dir, cmd);
      try {
        fs.accessSync(p, fs.constants.X_OK);
        return p;
      } catch {
        /* next */
      }
    }
    return undefined;
  },
};
