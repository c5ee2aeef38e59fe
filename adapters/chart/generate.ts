// `npm run charts`: rewrite docs/charts from the machines without a build (the same files as
// `vigil chart --all -o docs/charts`; test/unit/charts.test.ts fails when they are stale).
import { writeCharts } from './index.js';

const dir = process.argv[2] ?? 'docs/charts';
const files = await writeCharts(dir, (w) => void process.stderr.write(`graphviz ${w}\n`));
process.stdout.write(`${files.length} files written to ${dir}\n`);
