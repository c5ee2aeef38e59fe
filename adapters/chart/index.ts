// Chart export: a registered machine → its model → Mermaid, DOT, SVG or JSON text, and the whole
// docs/charts set (every machine in every format, plus a README.md index).
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { toDot } from './dot.js';
import { toMermaid } from './mermaid.js';
import { chartModel, type ChartModel } from './model.js';
import { MACHINES, type ChartedMachine } from './registry.js';
import { dotToSvg } from './svg.js';

export type ChartFormat = 'mermaid' | 'dot' | 'svg' | 'json';

export const FORMATS: Readonly<Record<ChartFormat, { readonly ext: string; readonly title: string }>> = {
  mermaid: { ext: 'mmd', title: 'Mermaid' },
  dot: { ext: 'dot', title: 'DOT' },
  svg: { ext: 'svg', title: 'SVG' },
  json: { ext: 'json', title: 'JSON' },
};

export const isFormat = (f: string): f is ChartFormat => Object.hasOwn(FORMATS, f);

export async function loadModel(m: ChartedMachine): Promise<ChartModel> {
  return chartModel(m.name, await m.load());
}

/** The chart's text; Graphviz warnings (an SVG is still drawn) go to `onWarning`. */
export async function renderChart(model: ChartModel, format: ChartFormat, onWarning: (w: string) => void = () => {}): Promise<string> {
  switch (format) {
    case 'mermaid':
      return toMermaid(model);
    case 'dot':
      return toDot(model);
    case 'json':
      return JSON.stringify(model, null, 2) + '\n';
    case 'svg': {
      const { svg, warnings } = await dotToSvg(toDot(model));
      warnings.forEach(onWarning);
      return svg;
    }
  }
}

/** Every registered machine in every format, and README.md: file name → contents. */
export async function generateCharts(onWarning?: (w: string) => void): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  const rows: string[] = [];
  const sections: string[] = [];
  for (const m of MACHINES) {
    const model = await loadModel(m);
    for (const [format, { ext }] of Object.entries(FORMATS) as [ChartFormat, (typeof FORMATS)[ChartFormat]][]) {
      files.set(`${m.name}.${ext}`, await renderChart(model, format, onWarning && ((w) => onWarning(`${m.name}: ${w}`))));
    }
    const links = Object.values(FORMATS).map((f) => `[${f.title}](${m.name}.${f.ext})`).join(' · ');
    rows.push(`| [${m.name}](#${m.name}) | ${m.title} | ${model.states.length - 1} | ${model.transitions.length} | ${links} |`);
    sections.push(`## ${m.name}\n\n${m.title}: XState machine \`${model.id}\`. ${links}\n\n![${m.name} state chart](${m.name}.svg)\n`);
  }
  files.set('README.md', `# State charts

Drawn from the machine definitions themselves (XState's \`machine.root\`), never by hand:
\`npm run charts\` or \`vigil chart --all -o docs/charts\` writes them, and
\`test/unit/charts.test.ts\` fails when a machine changed and these files did not.
\`vigil chart MACHINE --format mermaid|dot|svg|json\` prints one.

| machine | what | states | transitions | files |
|---|---|---|---|---|
${rows.join('\n')}

How to read them:

- A box is a state, named by its key. A box holding boxes is a compound state; dashed boxes are
  the regions of a parallel state, all active at once. A dot points at the initial state, a double
  border marks a final state. \`invoke X\`: the actor X runs while the state is active.
- An arrow is a transition: \`event [guard]\`; \`after D\` when the named delay D (from the
  machine's \`setup({ delays })\`) runs out; \`always\` (dashed) as soon as its guard holds;
  \`X done\` / \`X error\` when the invoked actor X finishes or fails; \`onDone\` when a compound
  state reaches a final state. An arrow leaving a compound state's border applies in every state
  inside it.
- "any state" (a dashed box): transitions of the enclosing compound state, or at the top of the
  machine itself, into a state inside it; taken in whichever of its states is active, unless
  that state handles the event first.
- Transitions that change no state (actions only) and every transition's actions are in the
  JSON. Its state ids are XState's state value paths (\`backup.timer.waiting\`); in the SVG a
  state's element has the id \`state:<id>\` and a transition's arrows the class \`t<n>\`, the
  transition's id in the JSON.

${sections.join('\n')}`);
  return files;
}

/** Write `generateCharts()` into dir (created if missing); returns the file names. */
export async function writeCharts(dir: string, onWarning?: (w: string) => void): Promise<string[]> {
  const files = await generateCharts(onWarning);
  await fs.mkdir(dir, { recursive: true });
  for (const [name, text] of files) await fs.writeFile(path.join(dir, name), text);
  return [...files.keys()];
}
