// The keyword reference, generated from the keyword tables themselves (docs/config-keywords.md;
// a test fails when that file is stale).
import { registry } from '../schema.js';
import './root.js';

export function keywordReference(): string {
  const head: string[] = [
    '# keepalived.conf keywords in vigil',
    '',
    'Generated from the keyword tables in `adapters/config/keywords/` (do not edit; `UPDATE_GOLDEN=1 npm test` rewrites it).',
    '',
    'Status: **yes**: parsed into the model vigil runs; **parsed only**: accepted and kept, with a warning',
    'that vigil does not act on it (the reason is given); **deprecated**: accepted with a warning naming the keyword to use.',
    '',
  ];
  const out: string[] = [];
  let total = 0;
  let acted = 0;
  for (const [block, t] of registry) {
    const names = Object.keys(t).sort();
    out.push(`## ${block}`, '', '| keyword | block | status |', '|---|---|---|');
    for (const name of names) {
      const kw = t[name]!;
      total++;
      if (!kw.unsupported) acted++;
      const status = [
        kw.unsupported ? `parsed only: ${kw.unsupported}` : 'yes',
        kw.deprecated ? `deprecated, use \`${kw.deprecated}\`` : '',
      ].filter(Boolean).join('; ');
      out.push(`| \`${name}\` | ${kw.block ?? ''} | ${status} |`);
    }
    out.push('');
  }
  head.push(`${total} keyword entries in ${registry.size} blocks; ${acted} parsed into the model, ${total - acted} parsed only.`, '');
  return [...head, ...out].join('\n');
}
