// bench/idle-vrrp.ts: what a VRRP daemon costs at rest, MASTER and BACKUP, vigil against
// keepalived 2.2.7 side by side on one namespace LAN. Four hosts:
//   h1 keepalived, instances A (VRIDs 1..N), priority 200: MASTER of A
//   h2 vigil,      instances B (VRIDs 101..100+N), priority 200: MASTER of B
//   h3 keepalived, A and B at priority 100: BACKUP of both (2N instances)
//   h4 vigil,      A and B at priority 100: BACKUP of both
// so each daemon's counterpart does the same work under the same adverts (v3, advert_int 0.1:
// ten adverts a second per instance). Once every instance has settled, CPU over IDLE_S seconds
// (default 30), ROUNDS times (default 3), of each daemon's whole process group (keepalived's
// parent and VRRP child; vigil's threads), from the scheduler's exact run time
// (/proc/PID/task/TID/sched se.sum_exec_runtime). Sizes IDLE_SIZES (default 1,20). Then the
// floor: bench/node-floor.mjs doing the same sends and receives with nothing else (what Node.js
// costs at these packet rates before vigil does anything), in the same way.
//
//   npm run bench:idle        (setup + build + this)
//   IDLE_SIZES=1 IDLE_ROUNDS=5 node --import tsx bench/idle-vrrp.ts
//
// Writes bench/idle-vrrp.md and bench/idle-vrrp.json (every round).

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ChildProcess } from 'node:child_process';
import { Lab } from '../test/netns/lab.js';
import { cpuModel, firstLine, gitCommit, nodeEnv, which } from './common.js';

const BENCH_DIR = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(BENCH_DIR, '..');
const SETTLE_MS = 5000;

const log = (msg: string): void => void process.stderr.write(`idle-vrrp: ${msg}\n`);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function ints(name: string, dflt: number[]): number[] {
  const raw = process.env[name];
  if (!raw) return dflt;
  const out = raw.split(',').map((x) => Number(x.trim()));
  if (out.some((n) => !Number.isInteger(n) || n < 1)) throw new Error(`${name} must be positive integers, not '${raw}'`);
  return out;
}

/** instances `vrids` at `priority`, v3 at 100 ms, one VIP each (10.97.x.y/32) */
function conf(routerId: string, priority: number, vrids: readonly number[]): string {
  const out = ['global_defs {', `  router_id ${routerId}`, '  vrrp_garp_master_delay 0', '}'];
  for (const v of vrids) {
    out.push(`vrrp_instance VI_${v} {`, '  state BACKUP', '  interface eth0', `  virtual_router_id ${v}`, `  priority ${priority}`,
      '  advert_int 0.1', '  version 3', '  virtual_ipaddress {', `    10.97.${Math.floor(v / 250)}.${(v % 250) + 1}/32`, '  }', '}');
  }
  out.push('');
  return out.join('\n');
}

/** every process of a process group (spawned detached: the group is the leader's pid) */
function groupPids(pgid: number): number[] {
  const out: number[] = [];
  for (const p of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${p}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(f[2]) === pgid) out.push(Number(p));
    } catch { /* gone */ }
  }
  return out;
}

/** CPU seconds of a process group so far: the sum of its threads' scheduler run time */
function groupCpu(pgid: number): number {
  let ns = 0;
  for (const pid of groupPids(pgid)) {
    let tids: string[] = [];
    try { tids = fs.readdirSync(`/proc/${pid}/task`); } catch { continue; }
    for (const tid of tids) {
      try {
        const m = /se\.sum_exec_runtime\s*:\s*([\d.]+)/.exec(fs.readFileSync(`/proc/${pid}/task/${tid}/sched`, 'utf8'));
        ns += Number(m?.[1] ?? 0) * 1e6; // milliseconds with decimals
      } catch { /* gone */ }
    }
  }
  return ns / 1e9;
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/** files of every daemon started (pid files too: a killed keepalived leaves its own behind) */
let runs = 0;

interface Round { masterVigil: number; masterKeepalived: number; backupVigil: number; backupKeepalived: number; seconds: number }
interface FloorRound { master: number; backup: number; seconds: number }

/**
 * The same LAN and the same packet rates without a VRRP daemon: bench/node-floor.mjs sending the
 * N adverts of a MASTER (h1 and h2, as keepalived and vigil do) and reading them all with a timer
 * restart per VRID (h4). What Node.js costs to wake up, send and receive at these rates, below
 * anything vigil does.
 */
async function measureFloor(n: number, rounds: number, seconds: number): Promise<FloorRound[]> {
  const lab = await Lab.create({ hosts: 4, tag: 'idf' });
  const procs: ChildProcess[] = [];
  try {
    const floor = (h: number, mode: string, vrids: number[]) => {
      const p = lab.spawn(h, process.execPath, [path.join(BENCH_DIR, "node-floor.mjs")], { stdio: ["ignore", "ignore", "inherit"], env: { ...nodeEnv, FLOOR: mode, VRIDS: vrids.join(',') } } as never);
      procs.push(p);
      return p;
    };
    floor(1, 'send', Array.from({ length: n }, (_, i) => i + 1));
    const fm = floor(2, 'send', Array.from({ length: n }, (_, i) => i + 101));
    const fb = floor(4, 'recv', []);
    await sleep(SETTLE_MS);
    const out: FloorRound[] = [];
    for (let r = 0; r < rounds; r++) {
      const pg = [fm, fb].map((p) => p.pid!);
      const c0 = pg.map(groupCpu);
      const t0 = performance.now();
      await sleep(seconds * 1000);
      const sec = (performance.now() - t0) / 1000;
      const d = pg.map((g, i) => ((groupCpu(g) - c0[i]!) / sec) * 30);
      out.push({ master: d[0]!, backup: d[1]!, seconds: sec });
      log(`${n} instance(s), floor round ${r + 1}: MASTER ${d[0]!.toFixed(3)}; BACKUP ${d[1]!.toFixed(3)} CPU-s/30 s`);
      for (const p of procs) if (p.exitCode !== null || p.signalCode !== null) throw new Error(`a floor process exited during the run (${p.exitCode ?? p.signalCode})`);
    }
    return out;
  } finally {
    for (const p of procs) try { process.kill(-p.pid!, 'SIGKILL'); } catch { /* gone */ }
    await sleep(500);
    await lab.destroy();
  }
}

async function measure(n: number, rounds: number, seconds: number, work: string): Promise<Round[]> {
  const lab = await Lab.create({ hosts: 4, tag: 'idv' });
  const procs: ChildProcess[] = [];
  try {
    const a = Array.from({ length: n }, (_, i) => i + 1);
    const b = Array.from({ length: n }, (_, i) => i + 101);
    const keepalived = (h: number, text: string) => {
      const f = path.join(work, `k${h}-${++runs}.conf`);
      fs.writeFileSync(f, text);
      const p = lab.spawn(h, 'keepalived', ['-n', '-l', '-D', '--vrrp', '-f', f, '-p', path.join(work, `k${h}-${runs}.pid`), '-r', path.join(work, `v${h}-${runs}.pid`)], { stdio: 'ignore' } as never);
      procs.push(p);
      return p;
    };
    const vigil = (h: number, text: string) => {
      const f = path.join(work, `v${h}-${++runs}.conf`);
      fs.writeFileSync(f, text);
      const p = lab.spawn(h, process.execPath, [path.join(REPO, 'bin/vigil.js'), 'run', '-f', f, '--no-journal', '--control', 'none', '-l', 'warn'], { stdio: 'ignore', env: nodeEnv } as never);
      procs.push(p);
      return p;
    };
    // the masters first: the backups start hearing them
    const km = keepalived(1, conf('k-master', 200, a));
    const vm = vigil(2, conf('v-master', 200, b));
    await sleep(2000);
    const kb = keepalived(3, conf('k-backup', 100, [...a, ...b]));
    const vb = vigil(4, conf('v-backup', 100, [...a, ...b]));
    await sleep(SETTLE_MS);
    const out: Round[] = [];
    for (let r = 0; r < rounds; r++) {
      const pg = [vm, km, vb, kb].map((p) => p.pid!);
      const c0 = pg.map(groupCpu);
      const t0 = performance.now();
      await sleep(seconds * 1000);
      const s = (performance.now() - t0) / 1000;
      const d = pg.map((g, i) => ((groupCpu(g) - c0[i]!) / s) * 30);
      out.push({ masterVigil: d[0]!, masterKeepalived: d[1]!, backupVigil: d[2]!, backupKeepalived: d[3]!, seconds: s });
      log(`${n} instance(s), round ${r + 1}: MASTER vigil ${d[0]!.toFixed(3)} keepalived ${d[1]!.toFixed(3)}; BACKUP vigil ${d[2]!.toFixed(3)} keepalived ${d[3]!.toFixed(3)} CPU-s/30 s`);
      for (const p of procs) if (p.exitCode !== null || p.signalCode !== null) throw new Error(`a daemon exited during the run (${p.spawnfile} ${p.exitCode ?? p.signalCode})`);
    }
    return out;
  } finally {
    for (const p of procs) try { process.kill(-p.pid!, 'SIGKILL'); } catch { /* gone */ }
    await sleep(500);
    await lab.destroy();
  }
}

async function main(): Promise<number> {
  if (process.getuid?.() !== 0) {
    log('skipped: not root (namespaces and raw sockets)');
    return 0;
  }
  if (!which('keepalived')) {
    log('skipped: keepalived is not installed (the baseline)');
    return 0;
  }
  const sizes = ints('IDLE_SIZES', [1, 20]);
  const [rounds] = ints('IDLE_ROUNDS', [3]);
  const [seconds] = ints('IDLE_S', [30]);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-idle-vrrp-'));
  const results: { n: number; rounds: Round[]; floor: FloorRound[] }[] = [];
  const started = new Date().toISOString();
  try {
    for (const n of sizes) results.push({ n, rounds: await measure(n, rounds!, seconds!, work), floor: await measureFloor(n, rounds!, seconds!) });
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
  const env = {
    started, finished: new Date().toISOString(), cpu: cpuModel(), cores: os.cpus().length, kernel: os.release(), node: process.version,
    keepalived: firstLine('keepalived', ['--version'], /Keepalived v/), vigilCommit: gitCommit(REPO), loadavg: os.loadavg(),
  };
  const rows = results.map(({ n, rounds: rs, floor }) => {
    const m = (k: keyof Round) => median(rs.map((r) => r[k]));
    return {
      n, masterVigil: m('masterVigil'), masterKeepalived: m('masterKeepalived'), backupVigil: m('backupVigil'), backupKeepalived: m('backupKeepalived'),
      masterFloor: median(floor.map((r) => r.master)), backupFloor: median(floor.map((r) => r.backup)),
    };
  });
  fs.writeFileSync(path.join(BENCH_DIR, 'idle-vrrp.json'), JSON.stringify({ env, seconds, rounds, results, medians: rows }, null, 2) + '\n');
  const f = (x: number) => x.toFixed(3);
  const md = [
    '# An idle VRRP daemon: vigil against keepalived',
    '',
    'Generated by `bench/idle-vrrp.ts` (`npm run bench:idle`); every round in `bench/idle-vrrp.json`.',
    '',
    `On one namespace LAN: keepalived and vigil each MASTER of N instances of their own (v3, advert_int 0.1), and each BACKUP of all 2N; CPU of each daemon's whole process group over ${seconds} s, ${rounds} rounds, median, in CPU-seconds per 30 s.`,
    '',
    '| instances | MASTER vigil | MASTER keepalived | vigil ÷ keepalived | BACKUP (of 2N) vigil | BACKUP keepalived | vigil ÷ keepalived |',
    '|---:|---:|---:|---:|---:|---:|---:|',
    ...rows.map((r) => `| ${r.n} | ${f(r.masterVigil)} | ${f(r.masterKeepalived)} | ${(r.masterVigil / r.masterKeepalived).toFixed(2)} | ${f(r.backupVigil)} | ${f(r.backupKeepalived)} | ${(r.backupVigil / r.backupKeepalived).toFixed(2)} |`),
    '',
    "How much of that is Node.js itself: `bench/node-floor.mjs` on the same LAN at the same packet rates, doing only the daemon's steady work (a MASTER's sends on one timer per instance; a BACKUP reading every advert and restarting a timer per VRID), no checks, no state machine, no logging. vigil ÷ floor is what vigil adds over the runtime; floor ÷ keepalived is what the runtime costs before vigil does anything.",
    '',
    '| instances | MASTER floor | vigil ÷ floor | floor ÷ keepalived | BACKUP floor | vigil ÷ floor | floor ÷ keepalived |',
    '|---:|---:|---:|---:|---:|---:|---:|',
    ...rows.map((r) => `| ${r.n} | ${f(r.masterFloor)} | ${(r.masterVigil / r.masterFloor).toFixed(2)} | ${(r.masterFloor / r.masterKeepalived).toFixed(2)} | ${f(r.backupFloor)} | ${(r.backupVigil / r.backupFloor).toFixed(2)} | ${(r.backupFloor / r.backupKeepalived).toFixed(2)} |`),
    '',
    `Environment: ${env.cpu}, ${env.cores} cores, Linux ${env.kernel}, Node ${env.node}, ${env.keepalived}, vigil ${env.vigilCommit}; ${env.started} to ${env.finished}, load average at the end ${env.loadavg.map((x) => x.toFixed(2)).join(' ')}.`,
    '',
  ].join('\n');
  fs.writeFileSync(path.join(BENCH_DIR, 'idle-vrrp.md'), md);
  process.stdout.write(md);
  return 0;
}

main().then((code) => { process.exitCode = code; }, (err: unknown) => {
  log(`${(err as Error)?.stack ?? String(err)}`);
  process.exitCode = 2;
});
