// Running real daemons on a Lab host: the built `vigil run` CLI and Debian's keepalived, each with
// its log captured and waitable, and the VIP looked up with `ip addr`.
import { mkdtempSync, writeFileSync, readFileSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import type { Lab } from './lab.js';

const ROOT = resolve(import.meta.dirname, '../..');
export const VIGIL_BIN = join(ROOT, 'bin/vigil.js');

export interface Daemon {
  readonly host: number;
  readonly proc: ChildProcess;
  /** wall-clock ms just before the process was spawned: every event this life journals is at or after it */
  readonly startedAt: number;
  /** log messages so far (vigil: the pino `msg`; keepalived: the syslog-style line) */
  readonly lines: string[];
  /** wait until a log message matches; rejects after `ms` with the log in the message */
  waitFor(re: RegExp, ms?: number): Promise<string>;
  /** signal the daemon and wait for it to exit; resolves with the exit code (or signal name) */
  stop(signal?: NodeJS.Signals, ms?: number): Promise<number | string>;
  readonly exited: Promise<number | string>;
}

export function tempDir(tag: string): string {
  return mkdtempSync(join(tmpdir(), `vigil-${tag}-`));
}

function watch(host: number, proc: ChildProcess, startedAt: number, parse: (l: string) => string | undefined): Daemon {
  const lines: string[] = [];
  const waiters: Array<{ re: RegExp; resolve: (l: string) => void }> = [];
  let buf = '';
  const onData = (d: Buffer) => {
    buf += d.toString();
    let nl;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const raw = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      const msg = parse(raw);
      if (msg === undefined) continue;
      lines.push(msg);
      for (const w of [...waiters]) {
        if (w.re.test(msg)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(msg);
        }
      }
    }
  };
  proc.stdout?.on('data', onData);
  proc.stderr?.on('data', onData);
  const exited = new Promise<number | string>((res) => proc.on('exit', (code, sig) => res(code ?? sig ?? -1)));
  return {
    host,
    proc,
    startedAt,
    lines,
    exited,
    waitFor(re, ms = 10_000) {
      const hit = lines.find((l) => re.test(l));
      if (hit) return Promise.resolve(hit);
      return new Promise((res, rej) => {
        const w = { re, resolve: (l: string) => (clearTimeout(t), res(l)) };
        const t = setTimeout(() => {
          waiters.splice(waiters.indexOf(w), 1);
          rej(new Error(`host ${host}: no log line matching ${re} within ${ms} ms; log:\n  ${lines.slice(-30).join('\n  ')}`));
        }, ms);
        waiters.push(w);
      });
    },
    async stop(signal = 'SIGTERM', ms = 5000) {
      if (proc.exitCode === null && proc.signalCode === null) {
        try {
          process.kill(-proc.pid!, signal);
        } catch {
          /* gone */
        }
      }
      const t = new Promise<string>((r) => setTimeout(() => r('timeout'), ms).unref());
      return Promise.race([exited, t]);
    },
  };
}

/** `vigil run -f CONF` on host i; the log is vigil's pino JSON, reduced to `msg`. */
export function startVigil(lab: Lab, i: number, conf: string, dir: string, extra: string[] = []): Daemon {
  const file = join(dir, `vigil-h${i}.conf`);
  writeFileSync(file, conf);
  // each daemon its own journal (one writer per journal)
  const journal = extra.includes('--journal') || extra.includes('--no-journal') ? [] : ['--journal', join(dir, `journal-h${i}`)];
  // and its own control socket (the default one is the host's, shared by every namespace)
  const control = extra.includes('--control') ? [] : ['--control', join(dir, `control-h${i}.sock`)];
  const startedAt = Date.now();
  const proc = lab.spawn(i, process.execPath, [VIGIL_BIN, 'run', '-f', file, ...journal, ...control, ...extra]);
  return watch(i, proc, startedAt, (l) => {
    if (!l.startsWith('{')) return l;
    try {
      return String((JSON.parse(l) as { msg: unknown }).msg);
    } catch {
      return l;
    }
  });
}

/** keepalived 2.2.7 in the foreground (VRRP only) on host i, logging to the console. */
let runs = 0;

export function startKeepalived(lab: Lab, i: number, conf: string, dir: string): Daemon {
  const file = join(dir, `keepalived-h${i}.conf`);
  writeFileSync(file, conf);
  // fresh pid files for every run: a SIGKILLed keepalived leaves its own behind
  const n = ++runs;
  const startedAt = Date.now();
  const proc = lab.spawn(i, 'keepalived', ['-n', '-l', '-D', '--vrrp', '-f', file, '-p', join(dir, `k${i}-${n}.pid`), '-r', join(dir, `v${i}-${n}.pid`)]);
  return watch(i, proc, startedAt, (l) => l.replace(/^.*?Keepalived_vrrp\[\d+\]: /, ''));
}

/** the IPv4/IPv6 addresses on host i's eth0 */
export async function addresses(lab: Lab, i: number): Promise<string[]> {
  const out = await lab.exec(i, 'ip', ['-o', 'addr', 'show', 'dev', 'eth0']);
  return out
    .split('\n')
    .map((l) => l.split(/\s+/)[3])
    .filter((a): a is string => !!a)
    .map((a) => a.split('/')[0]!);
}

/** one ping from host i; true when answered */
export async function ping(lab: Lab, i: number, address: string): Promise<boolean> {
  const v6 = address.includes(':');
  return lab
    .exec(i, 'ping', [...(v6 ? ['-6'] : []), '-c1', '-W1', address])
    .then(() => true)
    .catch(() => false);
}

/**
 * Wait until `vip` is on host `holder` and on none of `others`. A MASTER stepping down logs its
 * BACKUP state before its VIP is gone; a host that resolves the VIP in that gap may get the old
 * MASTER's answer first and keep it (the neighbour entry stays REACHABLE for 15-45 s), so a test
 * that counts lost pings starts once the handover is complete.
 */
export async function vipSettled(lab: Lab, holder: number, others: readonly number[], vip: string, ms = 5000): Promise<void> {
  const has = async (i: number) => (await addresses(lab, i)).includes(vip);
  await eventually(async () => (await has(holder)) && (await Promise.all(others.map(has))).every((x) => !x), ms, `${vip} on host ${holder} only`);
}

/** poll (in a test, on real time) until f() is true */
export async function eventually(f: () => Promise<boolean> | boolean, ms = 5000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await f()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${what} not reached within ${ms} ms`);
}

export function keepalivedAvailable(): string | undefined {
  return ['/usr/sbin/keepalived', '/sbin/keepalived', '/usr/bin/keepalived'].some(existsSync)
    ? undefined
    : 'keepalived is not installed (infra/setup.sh installs it as root)';
}

export function vigilBuilt(): string | undefined {
  return existsSync(join(ROOT, 'dist/actors/cli/main.js')) ? undefined : 'dist/ missing: run npm run build first (npm test does)';
}

export function cleanup(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

export { readFileSync };
