// Mermaid `stateDiagram-v2` text (GitHub and GitLab render it in Markdown). Compound and parallel
// states are composite states, the regions of a parallel state separated by `--`.
//
// Shaped around Mermaid's grammar (stateDiagram.jison) and renderer:
// - ids are the state paths with '.' as '_' (an id cannot hold ':', '-', '{' or blanks, and the
//   renderer puts ids into DOM ids); the state's key is its label (`state "key" as id`);
// - every state is declared inside its composite first and every transition is written after all
//   of them at the top level: a state mentioned in another composite's block first would be drawn
//   in that block;
// - a label cannot hold ':', ';' or a newline (they end it), and '<', '>', '"', '{', '}', '#', '%'
//   are markup or syntax elsewhere, so they are replaced by look-alikes (MERMAID_UNSAFE);
// - as in the DOT chart, an arrow from a composite state to a state inside it starts at an
//   "any state" box inside the composite, and the machine's own transitions at a top-level one.
import { arrows, childrenOf, transitionLabel, type ChartModel, type ChartState } from './model.js';

/** Characters a Mermaid label must not contain, with what is printed instead. */
export const MERMAID_UNSAFE: Readonly<Record<string, string>> = {
  ':': '∶', ';': '⁏', '\n': ' ', '"': "'", '<': '‹', '>': '›', '{': '(', '}': ')', '#': '＃', '%': '％',
};

const safe = (s: string) => s.replace(/[:;\n"<>{}#%]/g, (c) => MERMAID_UNSAFE[c]!);

export function toMermaid(model: ChartModel): string {
  const children = childrenOf(model);
  const drawn = arrows(model, children);
  const needsAny = new Set(drawn.filter((a) => a.fromAny).map((a) => a.t.source));
  const root = model.states[0]!;
  if (root.invoke.length > 0) needsAny.add('');

  // Mermaid ids, checked to be distinct: state path → id, and path → id of its "any state" box
  const ids = new Map<string, string>();
  const anyIds = new Map<string, string>();
  const taken = new Map<string, string>();
  const claim = (id: string, what: string) => {
    // the lexer reads a leading "default" (any case) as a keyword
    const safeId = /^default/i.test(id) ? `s_${id}` : id;
    const clash = taken.get(safeId);
    if (clash !== undefined) throw new Error(`chart ${model.machine}: ${clash} and ${what} both map to the Mermaid id '${safeId}'`);
    taken.set(safeId, what);
    return safeId;
  };
  for (const s of model.states) {
    const base = s.id.replace(/[^A-Za-z0-9_]/g, '_');
    if (s.id !== '') ids.set(s.id, claim(base, `state '${s.id}'`));
    if (needsAny.has(s.id)) anyIds.set(s.id, claim(s.id === '' ? 'any' : `${base}__any`, `the "any state" box of '${s.id}'`));
  }
  const idOf = (state: string) => ids.get(state)!;

  const out = ['stateDiagram-v2'];
  const invokes = (s: ChartState) => s.invoke.map((i) => `invoke ${i.src}`);

  const block = (parent: ChartState, depth: number) => {
    const pad = '  '.repeat(depth);
    const kids = children.get(parent.id) ?? [];
    const first = kids.find((k) => k.initial);
    if (first) out.push(`${pad}[*] --> ${idOf(first.id)}`);
    kids.forEach((s, i) => {
      // `--` is only read inside a composite, so a parallel machine's regions go unseparated
      if (parent.type === 'parallel' && i > 0 && depth > 1) out.push(`${pad}--`);
      if (children.has(s.id)) {
        const text = s.invoke.length > 0 ? `${s.key} (${invokes(s).join(', ')})` : s.key;
        out.push(`${pad}state "${safe(text)}" as ${idOf(s.id)} {`);
        block(s, depth + 1);
        out.push(`${pad}}`);
      } else {
        out.push(`${pad}state "${safe(s.key)}" as ${idOf(s.id)}`);
        for (const line of invokes(s)) out.push(`${pad}${idOf(s.id)} : ${safe(line)}`);
      }
      if (s.type === 'final') out.push(`${pad}${idOf(s.id)} --> [*]`);
    });
    const any = anyIds.get(parent.id);
    if (any !== undefined) {
      out.push(`${pad}state "any state" as ${any}`);
      // the machine's invokes go here; a composite state's are in its label
      if (parent.id === '') for (const line of invokes(parent)) out.push(`${pad}${any} : ${safe(line)}`);
    }
  };
  block(root, 1);

  for (const { t, target, fromAny } of drawn) {
    out.push(`  ${fromAny ? anyIds.get(t.source)! : idOf(t.source)} --> ${idOf(target)} : ${safe(transitionLabel(t))}`);
  }
  return out.join('\n') + '\n';
}
