// `vigil replay`: the recorded events of one node fed back through the pure machines (XState's
// `transition()`, nothing executed), printing each step and whether the replayed decision is the
// recorded one. The record comes from the journal (default), a JSON-lines file or NATS; the
// machines' inputs from the node's configuration (the record holds decisions, not config).
import { readFile, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig, type Diagnostic, type KeepalivedConfig } from '../../adapters/config/index.js';
import type { BusEvent } from '../bus.js';
import { isBusEvent } from '../events.js';
import { parseSince } from '../format-event.js';
import { NOT_REPLAYED } from '../replay/engine.js';
import { replay, REPLAYED_KINDS, replayModel, verdictOf, type Step } from '../replay/index.js';
import { stepJson, stepText, summaryText, tally } from '../replay/print.js';
import { parseEventLines } from '../replay/record.js';
import { DEFAULT_CONFIG } from './config-test.js';
import { DEFAULT_JOURNAL } from './events.js';

const OPTIONS = {
  from: { type: 'string' },
  journal: { type: 'string' },
  nats: { type: 'string' },
  stream: { type: 'string' },
  cluster: { type: 'string' },
  file: { type: 'string', short: 'f' },
  'config-id': { type: 'string', short: 'i' },
  node: { type: 'string' },
  instance: { type: 'string' },
  actor: { type: 'string' },
  since: { type: 'string' },
  until: { type: 'string' },
  json: { type: 'boolean' },
} as const;

/** exit codes: 0 every decision replayed matches; 1 a mismatch; 2 bad usage; 3 the record or the config cannot be read */
const EXIT = { ok: 0, mismatch: 1, usage: 2, cannotRead: 3 } as const;

class ReplayError extends Error {
  override readonly name = 'ReplayError';
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

/** where the command writes (the process's streams; a buffer in tests) */
export interface Output {
  out(text: string): void;
  err(text: string): void;
}

const processOutput: Output = {
  out: (text) => void process.stdout.write(text),
  err: (text) => void process.stderr.write(text),
};

export function run(args: readonly string[]): Promise<number> {
  return replayCommand(args, processOutput);
}

/** `vigil replay ARGS`, writing to `io`; resolves to the exit code (never rejects) */
export async function replayCommand(args: readonly string[], io: Output): Promise<number> {
  const warn = (text: string) => io.err(`vigil replay: ${text}\n`);
  try {
    return await replayRecord(args, io, warn);
  } catch (err) {
    warn((err as Error).message);
    return err instanceof ReplayError ? err.exitCode : EXIT.cannotRead;
  }
}

type Warn = (text: string) => void;

async function replayRecord(args: readonly string[], io: Output, warn: Warn): Promise<number> {
  let v;
  try {
    v = parseArgs({ args: [...args], options: OPTIONS, strict: true }).values;
  } catch (err) {
    throw new ReplayError(`${(err as Error).message}\n(see vigil replay --help)`, EXIT.usage);
  }
  if (v.instance && v.actor) throw new ReplayError('--instance and --actor name one actor each: give one of them', EXIT.usage);
  if ([v.from, v.journal, v.nats].filter(Boolean).length > 1) throw new ReplayError('one record at a time: --from, --journal or --nats', EXIT.usage);
  const since = time('--since', v.since);
  const until = time('--until', v.until);
  const only = v.actor ? parseActor(v.actor) : v.instance ? { kind: 'vrrp', name: v.instance } : undefined;

  const record = await readRecord(v, warn);
  const node = chooseNode(record.events, v.node, v.file);
  const events = record.events.filter((e) => e.node === node);
  const configFile = v.file ?? lastConfigFile(events) ?? DEFAULT_CONFIG;
  const config = readConfig(configFile, v['config-id']);
  if (config.global.routerId && config.global.routerId !== node) warn(`note: ${configFile} has router_id ${config.global.routerId}, the record's node is ${node}`);

  const report = replay(config, node, events, until === undefined ? {} : { until });
  if (only) checkActorKnown(only, report.steps, config, configFile);
  const shown = report.steps.filter((st) => inWindow(st, since, until) && (!only || involves(st, `${only.kind}/${only.name}`)));
  const t = tally(shown);
  if (v.json) {
    for (const st of shown) io.out(`${JSON.stringify(stepJson(st))}\n`);
    io.out(`${JSON.stringify({ summary: { source: record.source, node, config: configFile, events: events.length, ...t, notReplayed: Object.fromEntries(report.notReplayed), notMachine: Object.fromEntries(report.notMachine) } })}\n`);
  } else {
    io.out(`replaying ${events.length} event(s) of node ${node} from ${record.source}, machines configured by ${configFile}\n\n`);
    for (const st of shown) io.out(`${stepText(st)}\n`);
    io.out(`\n${summaryText(report, t, NOT_REPLAYED)}\n`);
  }
  return shown.some((st) => verdictOf(st) === 'mismatch') ? EXIT.mismatch : EXIT.ok;
}

function time(flag: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const t = parseSince(text);
  if (t === undefined) throw new ReplayError(`${flag} '${text}' is neither a time nor a duration like 10m`, EXIT.usage);
  return t;
}

function parseActor(text: string): { kind: string; name: string } {
  const i = text.indexOf(':');
  const kind = i < 0 ? '' : text.slice(0, i);
  if (!(REPLAYED_KINDS as readonly string[]).includes(kind) || i === text.length - 1) {
    throw new ReplayError(`--actor '${text}': expected KIND:NAME with KIND one of ${REPLAYED_KINDS.join(', ')} (e.g. vrrp:VI_1, vs:10.0.0.100:80/tcp)`, EXIT.usage);
  }
  return { kind, name: text.slice(i + 1) };
}

// ---------------------------------------------------------------- the record

interface Recorded {
  readonly source: string;
  readonly events: BusEvent[];
}

async function readRecord(v: { from?: string; journal?: string; nats?: string; stream?: string; cluster?: string }, warn: Warn): Promise<Recorded> {
  if (v.nats) return readNats(v.nats, v.stream ?? 'VIGIL', v.cluster, warn);
  const path = v.from ?? v.journal ?? DEFAULT_JOURNAL;
  const st = await stat(path).catch((err: NodeJS.ErrnoException) => {
    throw new ReplayError(`cannot read the record ${path}: ${err.code === 'ENOENT' ? 'no such file or directory' : err.message}`, EXIT.cannotRead);
  });
  if (st.isDirectory()) return readJournalDir(path, warn);
  if (/^journal-\d{16}\.log$/.test(basename(path))) throw new ReplayError(`${path} is one segment of a journal: give its directory (--from DIR)`, EXIT.usage);
  return readLines(path, warn);
}

async function readJournalDir(dir: string, warn: Warn): Promise<Recorded> {
  const { readJournal } = await import('../../adapters/journal/reader.js');
  const events: BusEvent[] = [];
  let corrupt = 0;
  let foreign = 0;
  try {
    for await (const entry of readJournal(dir, { onCorrupt: (file, offset, detail) => {
      if (corrupt++ < 5) warn(`${dir}/${file}: byte ${offset}: corrupt record (${detail}), the rest of the segment skipped`);
    } })) {
      if (isBusEvent(entry.event)) events.push(entry.event);
      else foreign++;
    }
  } catch (err) {
    throw new ReplayError(`cannot read the journal ${dir}: ${(err as Error).message}`, EXIT.cannotRead);
  }
  if (corrupt) warn(`${corrupt} corrupt journal record(s) skipped in ${dir}: decisions around them may not replay`);
  if (foreign) warn(`${foreign} journal record(s) in ${dir} are not vigil events: skipped`);
  if (!events.length) throw new ReplayError(`no events in the journal ${dir}`, EXIT.cannotRead);
  return { source: `journal ${dir}`, events };
}

async function readLines(file: string, warn: Warn): Promise<Recorded> {
  const text = await readFile(file, 'utf8').catch((err: Error) => {
    throw new ReplayError(`cannot read ${file}: ${err.message}`, EXIT.cannotRead);
  });
  const { events, problems } = parseEventLines(text);
  for (const p of problems.slice(0, 5)) warn(`${file}:${p.line}:${p.col}: ${p.message}; line skipped`);
  if (problems.length > 5) warn(`… and ${problems.length - 5} more line(s) skipped in ${file}`);
  if (!events.length) throw new ReplayError(`no vigil events in ${file} (expected JSON lines, as vigil events --json prints them)`, EXIT.cannotRead);
  return { source: file, events };
}

async function readNats(servers: string, stream: string, cluster: string | undefined, warn: Warn): Promise<Recorded> {
  const { readStream } = await import('../../adapters/nats/read.js');
  const events: BusEvent[] = [];
  let source: Awaited<ReturnType<typeof readStream>>;
  try {
    source = await readStream({ servers: servers.split(','), stream, ...(cluster ? { cluster } : {}) });
  } catch (err) {
    throw new ReplayError(`cannot reach NATS at ${servers}: ${(err as Error).message}`, EXIT.cannotRead);
  }
  try {
    for await (const e of source.events(false)) events.push(e);
  } catch (err) {
    throw new ReplayError(`cannot read stream ${stream}: ${(err as Error).message}`, EXIT.cannotRead);
  } finally {
    await source.close();
  }
  const skipped = source.skipped();
  if (skipped) warn(`${skipped} message(s) on the stream are not vigil events: skipped`);
  if (!events.length) throw new ReplayError(`no events in stream ${stream}`, EXIT.cannotRead);
  return { source: `NATS stream ${stream}`, events };
}

/** The node to replay: machines and configuration are one node's. */
function chooseNode(events: readonly BusEvent[], wanted: string | undefined, file: string | undefined): string {
  const nodes = [...new Set(events.map((e) => e.node))];
  if (wanted) {
    if (!nodes.includes(wanted)) throw new ReplayError(`no events of node '${wanted}' in the record (nodes: ${nodes.join(', ')})`, EXIT.usage);
    return wanted;
  }
  if (nodes.length === 1) return nodes[0]!;
  const routerId = file ? loadConfig(file).config.global.routerId : undefined;
  if (routerId && nodes.includes(routerId)) return routerId;
  throw new ReplayError(`the record holds ${nodes.length} nodes (${nodes.join(', ')}): choose one with --node (a configuration describes one node)`, EXIT.usage);
}

/** the configuration file the node last said it runs (daemon.started / daemon.reloaded) */
function lastConfigFile(events: readonly BusEvent[]): string | undefined {
  let file: string | undefined;
  for (const e of events) {
    const f = (e.data as { configFile?: unknown }).configFile;
    if ((e.type === 'daemon.started' || e.type === 'daemon.reloaded') && typeof f === 'string') file = f;
  }
  return file;
}

function readConfig(file: string, configId: string | undefined): KeepalivedConfig {
  // no host checks: the replay may run anywhere, the host it describes need not be this one
  const loaded = loadConfig(file, configId ? { configId } : {});
  const bad = loaded.diagnostics.filter((d) => d.severity === 'error' || d.severity === 'fatal');
  if (bad.length || !loaded.config.files.length) {
    const lines = bad.slice(0, 5).map((d: Diagnostic) => `  ${d.loc.file}:${d.loc.line}:${d.loc.col}: ${d.message}`);
    throw new ReplayError(`the configuration ${file} cannot drive the machines (${bad.length || 'no'} error(s); see vigil config-test -f ${file})${lines.length ? `\n${lines.join('\n')}` : ''}`, EXIT.cannotRead);
  }
  return loaded.config;
}

// ---------------------------------------------------------------- what is shown

function involves(st: Step, actor: string): boolean {
  return `${st.event.kind}/${st.event.name}` === actor || st.moves.some((m) => m.actor === actor) || st.checks.some((c) => c.actor === actor);
}

function inWindow(st: Step, since: number | undefined, until: number | undefined): boolean {
  const t = Date.parse(st.event.time);
  return (since === undefined || t >= since) && (until === undefined || t <= until);
}

/** --actor / --instance must name something the record or the configuration has */
function checkActorKnown(only: { kind: string; name: string }, steps: readonly Step[], config: KeepalivedConfig, file: string): void {
  const id = `${only.kind}/${only.name}`;
  const seen = new Set<string>();
  for (const st of steps) {
    seen.add(`${st.event.kind}/${st.event.name}`);
    for (const m of st.moves) seen.add(m.actor);
  }
  const model = replayModel(config);
  for (const [kind, names] of [['vrrp', model.instances.keys()], ['sync-group', model.groups.keys()], ['vs', model.virtualServers.keys()], ['checker', model.checkerVs.keys()]] as const) {
    for (const name of names) seen.add(`${kind}/${name}`);
  }
  if (seen.has(id)) return;
  const known = [...seen].filter((a) => a.startsWith(`${only.kind}/`)).sort();
  throw new ReplayError(`no actor ${id} in the record or in ${file}${known.length ? ` (${only.kind}: ${known.slice(0, 10).join(', ')}${known.length > 10 ? ', …' : ''})` : ''}`, EXIT.usage);
}
