#!/usr/bin/env node
// vigil's launcher: runs the compiled CLI (npm run build writes dist/).
import { main } from '../dist/actors/cli/main.js';

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (err) => { process.stderr.write(`vigil: ${err?.stack ?? err}\n`); process.exitCode = 70; },
);
