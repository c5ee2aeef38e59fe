// A LAN in network namespaces for tests that need real sockets: one bridge namespace and N hosts,
// each with eth0 = 10.99.0.(10+i)/24 (and fd99::(10+i)/64 plus its link-local address). Namespace
// names carry a per-lab prefix so test files can run in parallel; nothing leaves the namespaces.
import { execFile, spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Why namespace tests cannot run here, or undefined when they can. */
export function netnsSkipReason(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root (network namespaces, raw sockets); run as root to include it';
  return undefined;
}

export async function sh(cmd: string, args: string[]): Promise<string> {
  const { stdout } = await run(cmd, args, { maxBuffer: 16 << 20 });
  return stdout;
}

export interface LabOptions {
  hosts: number;
  /** short tag (≤ 6 chars) unique per test file, e.g. 'sock' */
  tag: string;
  ipv6?: boolean;
}

export class Lab {
  readonly hosts: string[] = [];
  readonly sw: string;
  private readonly children = new Set<ChildProcess>();

  private constructor(readonly tag: string) {
    this.sw = `vg${tag}${process.pid % 10000}-sw`;
  }

  static async create(opts: LabOptions): Promise<Lab> {
    const lab = new Lab(opts.tag);
    await lab.destroy(); // leftovers of a crashed run with the same pid are unlikely but cheap to clear
    const ip = (...a: string[]) => sh('ip', a);
    await ip('netns', 'add', lab.sw);
    await ip('-n', lab.sw, 'link', 'add', 'br0', 'type', 'bridge');
    await ip('-n', lab.sw, 'link', 'set', 'br0', 'up');
    await ip('-n', lab.sw, 'link', 'set', 'lo', 'up');
    for (let i = 1; i <= opts.hosts; i++) {
      const h = `vg${opts.tag}${process.pid % 10000}-h${i}`;
      lab.hosts.push(h);
      await ip('netns', 'add', h);
      if (opts.ipv6) {
        // no duplicate address detection, so every address (link-local included) is usable at once;
        // set before eth0 exists so it inherits `default`
        await sh('ip', ['netns', 'exec', h, 'sysctl', '-qw', 'net.ipv6.conf.all.accept_dad=0', 'net.ipv6.conf.default.accept_dad=0']);
      }
      await ip('link', 'add', 'eth0', 'netns', h, 'type', 'veth', 'peer', 'name', `p${i}`, 'netns', lab.sw);
      await ip('-n', lab.sw, 'link', 'set', `p${i}`, 'master', 'br0', 'up');
      await ip('-n', h, 'link', 'set', 'lo', 'up');
      await ip('-n', h, 'addr', 'add', `${lab.addr(i)}/24`, 'dev', 'eth0');
      if (opts.ipv6) await ip('-n', h, 'addr', 'add', `fd99::${10 + i}/64`, 'dev', 'eth0', 'nodad');
      await ip('-n', h, 'link', 'set', 'eth0', 'up');
    }
    return lab;
  }

  /** IPv4 address of host i (1-based) */
  addr(i: number): string {
    return `10.99.0.${10 + i}`;
  }

  ns(i: number): string {
    const h = this.hosts[i - 1];
    if (!h) throw new RangeError(`no host ${i}`);
    return h;
  }

  /** Run a command in host i's namespace and return stdout. */
  exec(i: number, cmd: string, args: string[]): Promise<string> {
    return sh('ip', ['netns', 'exec', this.ns(i), cmd, ...args]);
  }

  /** Start a long-running command in host i's namespace; killed (process group) by destroy(). */
  spawn(i: number | 'sw', cmd: string, args: string[], opts: SpawnOptions = {}): ChildProcess {
    const ns = i === 'sw' ? this.sw : this.ns(i);
    const child = spawn('ip', ['netns', 'exec', ns, cmd, ...args], { stdio: 'pipe', detached: true, ...opts });
    this.children.add(child);
    child.on('exit', () => this.children.delete(child));
    return child;
  }

  /** Link-local IPv6 address of host i's eth0. */
  async linkLocal(i: number): Promise<string> {
    const out = await sh('ip', ['-n', this.ns(i), '-6', '-o', 'addr', 'show', 'dev', 'eth0', 'scope', 'link']);
    const m = /inet6 (fe80::[0-9a-f:]+)\//.exec(out);
    if (!m?.[1]) throw new Error(`no link-local address on ${this.ns(i)} eth0`);
    return m[1];
  }

  async destroy(): Promise<void> {
    for (const c of this.children) {
      try {
        if (c.pid) process.kill(-c.pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
    this.children.clear();
    const list = await sh('ip', ['netns', 'list']).catch(() => '');
    const mine = `vg${this.tag}${process.pid % 10000}-`;
    for (const line of list.split('\n')) {
      const name = line.split(' ')[0];
      if (name?.startsWith(mine)) await sh('ip', ['netns', 'del', name]).catch(() => undefined);
    }
  }
}
