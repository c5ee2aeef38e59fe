// The test side of test/netns/ip-agent.ts: an IpNet whose calls run in the agent's namespace, so the
// IpNet contract runs unchanged against the real adapter.
import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { AddressEvent, IpNet, LinkInfo } from '../../adapters/ip/types.js';
import type { Lab } from './lab.js';

const CALL_TIMEOUT_MS = 15_000;

type Reply = { id: number; ok: true; v: unknown; ms: number } | { id: number; ok: false; e: string };

export class AgentIpNet implements IpNet {
  /** warnings the adapter logged in the agent */
  readonly logs: { log: string; o: unknown }[] = [];
  private nextId = 1;
  private readonly calls = new Map<number, (r: Reply) => void>();
  private readonly handlers = new Map<number, (v: unknown) => void>();
  private exited = false;

  private constructor(readonly child: ChildProcess) {}

  static async start(lab: Lab, host: number, env: Record<string, string> = {}): Promise<AgentIpNet> {
    const child = lab.spawn(host, process.execPath, ['--import', 'tsx', '--conditions=development', 'test/netns/ip-agent.ts'], {
      cwd: new URL('../..', import.meta.url).pathname,
      env: { ...process.env, ...env },
    });
    const agent = new AgentIpNet(child);
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => { stderr += d.toString(); });
    const ready = new Promise<void>((resolve, reject) => {
      child.once('exit', (code) => reject(new Error(`ip-agent exited (${code}): ${stderr}`)));
      createInterface({ input: child.stdout! }).on('line', (line) => {
        let msg: Record<string, unknown>;
        try {
          msg = JSON.parse(line) as Record<string, unknown>;
        } catch {
          agent.logs.push({ log: 'non-JSON line from ip-agent', o: line });
          return;
        }
        if (msg['ready']) resolve();
        else if ('ev' in msg) agent.handlers.get(msg['ev'] as number)?.(msg['v']);
        else if ('log' in msg) agent.logs.push(msg as { log: string; o: unknown });
        else agent.calls.get(msg['id'] as number)?.(msg as Reply);
      });
    });
    child.once('exit', () => {
      agent.exited = true;
      for (const [, done] of agent.calls) done({ id: 0, ok: false, e: `ip-agent exited: ${stderr}` });
      agent.calls.clear();
    });
    await ready;
    return agent;
  }

  /** Call a method in the agent; resolves with its value and the time it took there. */
  timed<T>(m: string, ...a: unknown[]): Promise<{ v: T; ms: number }> {
    if (this.exited) return Promise.reject(new Error('ip-agent has exited'));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      // a test must fail, not hang, when the agent does not answer
      const timer = setTimeout(() => {
        this.calls.delete(id);
        reject(new Error(`ip-agent: ${m} did not answer in ${CALL_TIMEOUT_MS} ms`));
      }, CALL_TIMEOUT_MS);
      this.calls.set(id, (r) => {
        clearTimeout(timer);
        this.calls.delete(id);
        if (r.ok) resolve({ v: r.v as T, ms: r.ms });
        else reject(new Error(r.e));
      });
      this.child.stdin!.write(`${JSON.stringify({ id, m, a })}\n`);
    });
  }

  async call<T>(m: string, ...a: unknown[]): Promise<T> {
    return (await this.timed<T>(m, ...a)).v;
  }

  private watch<T>(m: string, onEvent: (v: T) => void): () => void {
    const id = this.nextId; // the call's id becomes the subscription id
    this.handlers.set(id, onEvent as (v: unknown) => void);
    void this.call(m);
    return () => {
      this.handlers.delete(id);
      void this.call('unwatch', id).catch(() => undefined);
    };
  }

  addAddresses: IpNet['addAddresses'] = (list) => this.call('addAddresses', list);
  removeAddresses: IpNet['removeAddresses'] = (list) => this.call('removeAddresses', list);
  hasAddress: IpNet['hasAddress'] = (key) => this.call('hasAddress', key);
  addresses: IpNet['addresses'] = (dev) => this.call('addresses', dev);
  addRoutes: IpNet['addRoutes'] = (list) => this.call('addRoutes', list);
  removeRoutes: IpNet['removeRoutes'] = (list) => this.call('removeRoutes', list);
  links: IpNet['links'] = () => this.call('links');
  announce: IpNet['announce'] = (dev, addresses, opts) => this.call('announce', dev, addresses, opts ?? {});
  createMacvlan: NonNullable<IpNet['createMacvlan']> = (spec) => this.call('createMacvlan', spec);
  deleteLink: NonNullable<IpNet['deleteLink']> = (name) => this.call('deleteLink', name);
  watchLinks = (f: (l: LinkInfo) => void): (() => void) => this.watch('watchLinks', f);
  watchAddresses = (f: (e: AddressEvent) => void): (() => void) => this.watch('watchAddresses', f);

  /** Every request sent so far has been handled (the agent handles lines in order). */
  async settle(): Promise<void> {
    await this.call('ping');
  }

  /** Closes the adapter in the agent and waits for the agent to exit. */
  async close(): Promise<void> {
    if (this.exited) return;
    const gone = new Promise<void>((r) => this.child.once('exit', () => r()));
    this.child.stdin!.end();
    const t = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    await gone;
    clearTimeout(t);
  }
}
