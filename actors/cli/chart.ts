// `vigil chart`: a machine's state chart, drawn from the definition vigil runs (adapters/chart).
import * as fs from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { COMMANDS } from './commands.js';

const OPTIONS = {
  format: { type: 'string' },
  output: { type: 'string', short: 'o' },
  all: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

function usageError(message: string): number {
  process.stderr.write(`vigil chart: ${message}\n(see vigil chart --help)\n`);
  return 2;
}

export async function chart(args: readonly string[]): Promise<number> {
  let p;
  try {
    p = parseArgs({ args: [...args], options: OPTIONS, allowPositionals: true, strict: true });
  } catch (err) {
    return usageError((err as Error).message);
  }
  const { values: o, positionals } = p;
  if (o.help) {
    process.stdout.write(COMMANDS.find((c) => c.name === 'chart')!.help);
    return 0;
  }
  const { FORMATS, isFormat, loadModel, renderChart, writeCharts } = await import('../../adapters/chart/index.js');
  const { MACHINES, findMachine } = await import('../../adapters/chart/registry.js');
  const warn = (w: string) => void process.stderr.write(`vigil chart: graphviz ${w}\n`);
  const known = MACHINES.map((m) => m.name).join(', ');
  if (positionals.length > 1) return usageError(`one MACHINE at a time (or --all), got ${positionals.join(' ')}`);
  const [name] = positionals;

  if (o.all) {
    if (name !== undefined || o.format !== undefined) return usageError('--all writes every machine in every format; give no MACHINE or --format');
    if (o.output === undefined) return usageError('--all needs -o DIR');
    try {
      const files = await writeCharts(o.output, warn);
      process.stderr.write(`vigil chart: wrote ${files.length} files to ${o.output}\n`);
      return 0;
    } catch (err) {
      process.stderr.write(`vigil chart: cannot write ${o.output}: ${(err as Error).message}\n`);
      return 3;
    }
  }

  if (name === undefined) {
    if (o.format !== undefined || o.output !== undefined) return usageError(`name a MACHINE (${known}) or give --all`);
    const w = Math.max(...MACHINES.map((m) => m.name.length));
    process.stdout.write(MACHINES.map((m) => `${m.name.padEnd(w)}  ${m.title}\n`).join(''));
    return 0;
  }
  const machine = findMachine(name);
  if (!machine) return usageError(`unknown machine '${name}'; known: ${known}`);
  const format = o.format ?? 'mermaid';
  if (!isFormat(format)) return usageError(`unknown format '${format}'; known: ${Object.keys(FORMATS).join(', ')}`);

  const text = await renderChart(await loadModel(machine), format, warn);
  if (o.output === undefined) {
    process.stdout.write(text);
    return 0;
  }
  try {
    await fs.writeFile(o.output, text);
    return 0;
  } catch (err) {
    process.stderr.write(`vigil chart: cannot write ${o.output}: ${(err as Error).message}\n`);
    return 3;
  }
}

/** the CommandModule entry (actors/cli/commands.ts) */
export { chart as run };
