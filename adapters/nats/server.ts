// A nats-server child process for tests, benches and the demo, started the nats.js `nst` way
// (nst/src/launcher.ts): a generated config on 127.0.0.1 with `port: -1` and `ports_file_dir`,
// JetStream in a temp store_dir; ready once the ports file names the port and a TCP connect
// succeeds. Restarts reuse the port the first start got, so clients reconnect to the same URL.
// Also a 3-node cluster on loopback ports for replicated (R3) streams.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const CANDIDATES = ['/usr/sbin/nats-server', '/usr/bin/nats-server', '/usr/local/bin/nats-server'];

/** The nats-server binary, or null when it is not installed. */
export function natsServerPath(): string | null {
  for (const p of CANDIDATES) if (existsSync(p)) return p;
  for (const dir of (process.env.PATH ?? '').split(':')) {
    if (dir && existsSync(join(dir, 'nats-server'))) return join(dir, 'nats-server');
  }
  return null;
}

export interface NatsServer {
  readonly url: string;
  readonly port: number;
  readonly name: string;
  readonly storeDir: string;
  /** the running process's id (undefined while stopped), e.g. to read its CPU time in /proc */
  readonly pid: number | undefined;
  /** SIGTERM and wait for the exit (SIGKILL after 5 s); idempotent */
  stop(): Promise<void>;
  /** send a signal and wait for the exit */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** SIGSTOP: the process freezes, its sockets stay open (a wedged server) */
  pause(): void;
  /** SIGCONT */
  resume(): void;
  /** stop if running, then start again on the same ports; `wipe` empties the JetStream store first */
  restart(opts?: { wipe?: boolean }): Promise<void>;
  /** stop and delete the temp directory */
  dispose(): Promise<void>;
}

export interface NatsServerOptions {
  /** extra config text appended verbatim (e.g. a cluster block) */
  readonly extraConf?: string;
  readonly name?: string;
  /** fixed client port (default: -1, the first start picks one) */
  readonly port?: number;
  /** how long to wait for readiness (default 10 s) */
  readonly readyTimeoutMs?: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function tcpReady(port: number, deadline: number): Promise<void> {
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = createConnection({ host: '127.0.0.1', port }, () => { s.destroy(); resolve(true); });
      s.on('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nats-server: port ${port} not accepting connections`);
    await sleep(20);
  }
}

/** A TCP port free on 127.0.0.1 right now (for cluster routes, which need known ports). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

export async function startNatsServer(opts: NatsServerOptions = {}): Promise<NatsServer> {
  const bin = natsServerPath();
  if (!bin) throw new Error('nats-server is not installed');
  const dir = await mkdtemp(join(tmpdir(), 'vigil-nats-'));
  const storeDir = join(dir, 'js');
  const portsDir = join(dir, 'ports');
  await mkdir(portsDir);
  const name = opts.name ?? 'vigil-test';
  const readyTimeoutMs = opts.readyTimeoutMs ?? 10_000;
  let port = opts.port ?? -1;
  let child: ChildProcess | null = null;
  let exited: Promise<void> = Promise.resolve();
  let stderr = '';

  const conf = () => [
    `server_name: ${JSON.stringify(name)}`,
    `listen: "127.0.0.1:${port}"`,
    `ports_file_dir: ${JSON.stringify(portsDir)}`,
    `jetstream { store_dir: ${JSON.stringify(storeDir)} }`,
    opts.extraConf ?? '',
  ].join('\n');

  async function launch(): Promise<void> {
    const confFile = join(dir, 'nats.conf');
    await writeFile(confFile, conf());
    for (const f of await readdir(portsDir)) await rm(join(portsDir, f), { force: true });
    stderr = '';
    const c = spawn(bin!, ['-c', confFile], { stdio: ['ignore', 'ignore', 'pipe'] });
    child = c;
    c.stderr!.on('data', (b: Buffer) => { stderr = (stderr + b.toString()).slice(-4000); });
    exited = new Promise((resolve) => c.once('exit', () => resolve()));
    const deadline = Date.now() + readyTimeoutMs;
    const portsFile = join(portsDir, `nats-server_${c.pid}.ports`);
    for (;;) {
      if (c.exitCode !== null || c.signalCode !== null) {
        throw new Error(`nats-server exited at start (${c.exitCode ?? c.signalCode}): ${stderr.trim()}`);
      }
      try {
        const ports = JSON.parse(await readFile(portsFile, 'utf8')) as { nats?: string[] };
        const u = new URL(ports.nats?.[0] ?? '');
        port = Number(u.port);
        break;
      } catch {
        if (Date.now() > deadline) throw new Error(`nats-server: no ports file after ${readyTimeoutMs} ms: ${stderr.trim()}`);
        await sleep(20);
      }
    }
    await tcpReady(port, deadline);
  }

  async function kill(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const c = child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    // a stopped process ignores SIGTERM until continued
    c.kill('SIGCONT');
    c.kill(signal);
    const t = setTimeout(() => c.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(t);
  }

  await launch();
  const server: NatsServer = {
    get url() { return `nats://127.0.0.1:${port}`; },
    get port() { return port; },
    name,
    storeDir,
    get pid() { return child && child.exitCode === null && child.signalCode === null ? child.pid : undefined; },
    stop: () => kill('SIGTERM'),
    kill,
    pause: () => { child?.kill('SIGSTOP'); },
    resume: () => { child?.kill('SIGCONT'); },
    async restart(o = {}) {
      await kill('SIGTERM');
      if (o.wipe) await rm(storeDir, { recursive: true, force: true });
      await launch();
    },
    async dispose() {
      await kill('SIGKILL');
      await rm(dir, { recursive: true, force: true });
    },
  };
  return server;
}

export interface NatsCluster {
  readonly servers: readonly NatsServer[];
  /** every client URL, for `servers:` */
  readonly urls: string[];
  dispose(): Promise<void>;
}

/** Three JetStream servers routed on loopback (cluster name `vigil`), each with its own store. */
export async function startNatsCluster(size = 3): Promise<NatsCluster> {
  const client = await Promise.all(Array.from({ length: size }, () => freePort()));
  const route = await Promise.all(Array.from({ length: size }, () => freePort()));
  const routes = route.map((p) => `nats-route://127.0.0.1:${p}`).join(', ');
  const servers = await Promise.all(client.map((port, i) => startNatsServer({
    name: `n${i + 1}`,
    port,
    extraConf: `cluster { name: vigil, listen: "127.0.0.1:${route[i]}", routes: [${routes}] }`,
  })));
  return {
    servers,
    urls: servers.map((s) => s.url),
    async dispose() { await Promise.all(servers.map((s) => s.dispose())); },
  };
}
