// The `vigil` command line: one binary, subcommands, `--help` on each. Subcommands are imported
// lazily so `vigil config-test` starts as fast as a bare Node process allows.
import { COMMANDS, usage } from './commands.js';

export async function main(argv: readonly string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (!cmd || cmd === '-h' || cmd === '--help' || cmd === 'help') {
    const topic = cmd === 'help' ? rest[0] : undefined;
    const spec = topic ? COMMANDS.find((c) => c.name === topic) : undefined;
    process.stdout.write(spec ? spec.help : usage());
    return cmd ? 0 : 2;
  }
  if (cmd === '-v' || cmd === '--version') {
    const { readFileSync } = await import('node:fs');
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
    process.stdout.write(`vigil ${pkg.version}\n`);
    return 0;
  }
  const spec = COMMANDS.find((c) => c.name === cmd);
  if (!spec) {
    process.stderr.write(`vigil: unknown command '${cmd}'\n\n${usage()}`);
    return 2;
  }
  if (rest.includes('-h') || rest.includes('--help')) {
    process.stdout.write(spec.help);
    return 0;
  }
  const mod = await spec.load();
  return mod.run(rest);
}
