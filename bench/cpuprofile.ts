// bench/cpuprofile.ts: where a vigil process's CPU went, from a V8 CPU profile (`node --cpu-prof`,
// e.g. `BENCH_PROFILE=/tmp/prof node --import tsx bench/checkers.ts`). Prints the busy share of
// the profile, the time by category (the first matching rule over each sample's stack, in the order
// below) and the functions with the most self time.
//
//   node --import tsx bench/cpuprofile.ts [--skip SECONDS] FILE.cpuprofile...
//
// The profiler samples wall time: a sample in a native call (connect(), close()) counts the time
// the kernel spends in that syscall too. --skip leaves out the start (default 6 s: config, first
// checks, JIT warm-up).
import * as fs from 'node:fs';

interface CallFrame { functionName: string; url: string; lineNumber: number }
interface ProfileNode { id: number; callFrame: CallFrame; children?: number[] }
interface Profile { nodes: ProfileNode[]; startTime: number; samples: number[]; timeDeltas: number[] }

const has = (frames: readonly CallFrame[], f: (c: CallFrame) => boolean): boolean => frames.some(f);

/** categories for the health-checking daemon, first match wins */
export const CATEGORIES: readonly [string, (frames: readonly CallFrame[]) => boolean][] = [
  ['(idle)', (f) => has(f, (c) => c.functionName === '(idle)')],
  ['garbage collection', (f) => has(f, (c) => c.functionName === '(garbage collector)')],
  ['connect() (the syscall: the TCP handshake runs in it on veth)', (f) => has(f, (c) => c.functionName === 'internalConnect')],
  ['close() of a probe\'s socket', (f) => has(f, (c) => c.functionName === 'closeSocketHandle')],
  ['AbortController.abort() + its DOMException', (f) => has(f, (c) => /abort_controller|domexception/.test(c.url))],
  ['HTTP probe: request, response parsing, MD5', (f) => has(f, (c) => /checkers\/http\.js/.test(c.url))],
  ['probe setup (scope, socket creation, listeners)', (f) => has(f, (c) => /adapters\/checkers\//.test(c.url))],
  ['xstate: checker/virtual-server transitions, child actors, delays', (f) => has(f, (c) => /xstate/.test(c.url))],
  ['socket events outside xstate (node:net, streams)', (f) => has(f, (c) => /^node:(net|internal\/streams)/.test(c.url))],
  ['load balancer (nft listing parsed every 5 s)', (f) => has(f, (c) => /adapters\/lb|actors\/lb/.test(c.url))],
  ['VRRP', (f) => has(f, (c) => /adapters\/vrrp|actors\/vrrp/.test(c.url))],
  ['logging, journal, metrics', (f) => has(f, (c) => /pino|sonic-boom|journal|prom-client|actors\/metrics/.test(c.url))],
  ['other', () => true],
];

const label = (c: CallFrame): string =>
  `${c.functionName || '(anonymous)'} ${c.url.replace(/^.*\/(node_modules|dist)\//, '$1/')}:${c.lineNumber + 1}`;

export function analyse(p: Profile, skipMs: number): { totalUs: number; categories: Map<string, number>; self: Map<string, number> } {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const categories = new Map<string, number>();
  const self = new Map<string, number>();
  let t = p.startTime;
  let totalUs = 0;
  for (let i = 0; i < p.samples.length; i++) {
    t += p.timeDeltas[i]!;
    if ((t - p.startTime) / 1000 < skipMs) continue;
    const us = p.timeDeltas[i + 1] ?? p.timeDeltas[i]!;
    const frames: CallFrame[] = [];
    for (let id: number | undefined = p.samples[i]; id !== undefined; id = parent.get(id)) frames.push(byId.get(id)!.callFrame);
    const cat = CATEGORIES.find(([, match]) => match(frames))![0];
    categories.set(cat, (categories.get(cat) ?? 0) + us);
    if (frames[0]) self.set(label(frames[0]), (self.get(label(frames[0])) ?? 0) + us);
    totalUs += us;
  }
  return { totalUs, categories, self };
}

function main(argv: string[]): void {
  let skip = 6;
  const files: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--skip') skip = Number(argv[++i]);
    else files.push(argv[i]!);
  }
  if (!files.length || !Number.isFinite(skip)) {
    process.stderr.write('usage: node --import tsx bench/cpuprofile.ts [--skip SECONDS] FILE.cpuprofile...\n');
    process.exitCode = 2;
    return;
  }
  for (const file of files) {
    const { totalUs, categories, self } = analyse(JSON.parse(fs.readFileSync(file, 'utf8')) as Profile, skip * 1000);
    const busy = totalUs - (categories.get('(idle)') ?? 0);
    const pct = (us: number, of: number) => `${((us / of) * 100).toFixed(1).padStart(5)} %`;
    const out = [`${file}: ${(totalUs / 1e6).toFixed(1)} s after the first ${skip} s, busy ${(busy / 1e6).toFixed(2)} s (${pct(busy, totalUs).trim()} of a core)`, '', '| category | share of busy | share of a core |', '| --- | ---: | ---: |'];
    for (const [k, us] of [...categories].sort((a, b) => b[1] - a[1])) if (k !== '(idle)') out.push(`| ${k} | ${pct(us, busy)} | ${pct(us, totalUs)} |`);
    out.push('', '| function (self time) | share of busy |', '| --- | ---: |');
    for (const [k, us] of [...self].filter(([k]) => !k.startsWith('(idle)')).sort((a, b) => b[1] - a[1]).slice(0, 25)) out.push(`| ${k} | ${pct(us, busy)} |`);
    process.stdout.write(out.join('\n') + '\n\n');
  }
}

if (import.meta.url === `file://${process.argv[1]}`) main(process.argv.slice(2));
