// Graphviz DOT. Atomic states are nodes, compound and parallel states are clusters (a parallel
// state's regions have dashed borders), final states have a double border, eventless (`always`)
// transitions are dashed, and a filled dot points at each compound state's initial child.
//
// An arrow from or to a compound state meets its cluster's border: it runs to an invisible anchor
// node inside the cluster, named by the state's id, and `ltail`/`lhead` clip it there (graph
// attribute compound=true). An arrow from a compound state to a state inside it starts at an
// "any state" box in the cluster; the machine's own transitions start at a top-level one.
//
// In the SVG, each state's element has the id `state:<state id>` and each transition's arrows the
// class `t<n>` (its id in the JSON), for a page that lights up the current state.
import { arrows, childrenOf, transitionLabel, within, type ChartModel, type ChartState } from './model.js';

const quote = (s: string) => `"${s.replace(/["\\]/g, '\\$&').replace(/\n/g, '\\n')}"`;

const attrs = (a: Record<string, string | number>) =>
  `[${Object.entries(a).map(([k, v]) => `${k}=${typeof v === 'number' ? v : quote(v)}`).join(', ')}]`;

const FONT = 'Helvetica';

export function toDot(model: ChartModel): string {
  const children = childrenOf(model);
  const byId = new Map(model.states.map((s) => [s.id, s]));
  const root = byId.get('')!;
  const drawn = arrows(model, children);
  const needsAny = new Set(drawn.filter((a) => a.fromAny).map((a) => a.t.source));
  if (root.invoke.length > 0) needsAny.add('');
  const isCluster = (id: string) => id !== '' && children.has(id);
  const invokes = (s: ChartState) => s.invoke.map((i) => `invoke ${i.src}`);
  const anyId = (id: string) => `any:${id}`;

  const out = [
    `digraph ${quote(model.id)} {`,
    `  graph ${attrs({ compound: 'true', rankdir: 'LR', label: model.id, labelloc: 't', fontname: FONT, fontsize: 16 })};`,
    `  node ${attrs({ shape: 'box', style: 'rounded', fontname: FONT, fontsize: 11 })};`,
    `  edge ${attrs({ fontname: FONT, fontsize: 9 })};`,
  ];

  /** the initial marker and the "any state" box of a compound state (or the machine) */
  const pseudo = (parent: ChartState, pad: string) => {
    if (needsAny.has(parent.id)) {
      // the machine's invokes go here; a compound state's are in its cluster's label
      const text = ['any state', ...(parent.id === '' ? invokes(parent) : [])].join('\n');
      out.push(`${pad}${quote(anyId(parent.id))} ${attrs({ label: text, style: 'rounded,dashed', fontsize: 9 })};`);
    }
    const first = children.get(parent.id)?.find((k) => k.initial);
    if (!first) return;
    const dot = quote(`initial:${parent.id}`);
    out.push(`${pad}${dot} ${attrs({ shape: 'point', width: 0.12, label: '' })};`);
    out.push(`${pad}${dot} -> ${quote(first.id)}${isCluster(first.id) ? ` ${attrs({ lhead: `cluster_${first.id}` })}` : ''};`);
  };

  const state = (s: ChartState, depth: number) => {
    const pad = '  '.repeat(depth);
    const label = [s.key, ...invokes(s)].join('\n');
    if (!isCluster(s.id)) {
      const a: Record<string, string | number> = { id: `state:${s.id}`, label };
      if (s.type === 'final') a['peripheries'] = 2;
      out.push(`${pad}${quote(s.id)} ${attrs(a)};`);
      return;
    }
    const region = byId.get(s.parent!)?.type === 'parallel';
    out.push(`${pad}subgraph ${quote(`cluster_${s.id}`)} {`);
    out.push(`${pad}  graph ${attrs({ id: `state:${s.id}`, label, style: region ? 'rounded,dashed' : 'rounded', fontsize: 12 })};`);
    out.push(`${pad}  ${quote(s.id)} ${attrs({ shape: 'point', style: 'invis', width: 0, height: 0, label: '' })};`);
    pseudo(s, `${pad}  `);
    for (const child of children.get(s.id) ?? []) state(child, depth + 1);
    out.push(`${pad}}`);
  };

  pseudo(root, '  ');
  for (const s of children.get('') ?? []) state(s, 1);

  for (const { t, target, fromAny } of drawn) {
    const a: Record<string, string | number> = { label: transitionLabel(t, '\n'), class: t.id };
    if (isCluster(t.source) && !fromAny) a['ltail'] = `cluster_${t.source}`;
    if (isCluster(target) && !within(t.source, target)) a['lhead'] = `cluster_${target}`;
    if (t.kind === 'always') a['style'] = 'dashed';
    out.push(`  ${quote(fromAny ? anyId(t.source) : t.source)} -> ${quote(target)} ${attrs(a)};`);
  }
  out.push('}');
  return out.join('\n') + '\n';
}
