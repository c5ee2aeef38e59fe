// A machine's chart (the SVG the daemon renders from the machine definition) with an actor's
// states lit: each state's element has the id `state:<id>`, each transition's arrows the class
// `t<n>` (adapters/chart/dot.ts).
import { h } from './dom.js';

const svgs = new Map(); // machine → Promise<string>
let shown; // machine whose SVG is in the DOM

async function svgText(machine) {
  let p = svgs.get(machine);
  if (!p) {
    p = fetch(`/api/charts/${encodeURIComponent(machine)}.svg`).then((r) => {
      if (!r.ok) throw new Error(`chart ${machine}: HTTP ${r.status}`);
      return r.text();
    });
    p.catch(() => svgs.delete(machine));
    svgs.set(machine, p);
  }
  return p;
}

/**
 * Show `row`'s chart in `box`: its active states (row.ids) lit, the arrows into its state
 * (row.arrows) marked, and its other recent moves (row.recent) fainter.
 */
export async function showChart(box, row) {
  if (!row?.machine) {
    shown = undefined;
    box.replaceChildren(h('p', { class: 'muted' }, row ? `${row.kind}/${row.name} has no chart` : 'no actor'));
    return;
  }
  if (shown !== row.machine) {
    const doc = new DOMParser().parseFromString(await svgText(row.machine), 'image/svg+xml');
    const svg = document.importNode(doc.documentElement, true);
    // scaled by CSS, the viewBox keeps the proportions
    svg.removeAttribute('width');
    svg.removeAttribute('height');
    box.replaceChildren(svg);
    shown = row.machine;
  }
  for (const cls of ['vg-active', 'vg-arrow', 'vg-arrow-old']) {
    for (const el of [...box.getElementsByClassName(cls)]) el.classList.remove(cls);
  }
  for (const id of row.ids ?? []) document.getElementById(`state:${id}`)?.classList.add('vg-active');
  const mark = (ids, cls) => {
    for (const t of ids ?? []) for (const el of box.getElementsByClassName(t)) if (el.classList.contains('edge')) el.classList.add(cls);
  };
  const main = new Set(row.arrows ?? []);
  for (const r of row.recent ?? []) mark(r.arrows.filter((t) => !main.has(t)), 'vg-arrow-old');
  mark(row.arrows, 'vg-arrow');
}
