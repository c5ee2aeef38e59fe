// SVG from DOT, offline: Graphviz compiled to WebAssembly (@viz-js/viz), no browser, no service.
import type { Viz } from '@viz-js/viz';

export class ChartRenderError extends Error {
  override readonly name = 'ChartRenderError';
}

export interface SvgResult {
  readonly svg: string;
  /** Graphviz warnings (the SVG was still drawn) */
  readonly warnings: readonly string[];
}

// one instance per process: compiling the WebAssembly module is the slow part
let viz: Promise<Viz> | undefined;

export async function dotToSvg(dot: string): Promise<SvgResult> {
  viz ??= import('@viz-js/viz').then((m) => m.instance());
  const r = (await viz).render(dot, { format: 'svg' });
  const messages = r.errors.map((e) => `${e.level ?? 'error'}: ${e.message.trim()}`);
  if (r.status !== 'success') throw new ChartRenderError(`Graphviz could not render the chart: ${messages.join('; ')}`);
  return { svg: r.output, warnings: messages };
}
