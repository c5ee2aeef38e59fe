// `vigil run -f FILE`: check the config (refused on any error, exactly as config-test reports it),
// then run it in the foreground until SIGTERM/SIGINT, which stop every instance gracefully.
import { parseArgs } from 'node:util';
import { formatDiagnostic } from '../../adapters/config/format.js';
import { nodeHost } from '../../adapters/config/host.js';
import { ExitCode, loadConfig } from '../../adapters/config/index.js';
import { createLogger } from '../log.js';
import { DEFAULT_CONFIG } from './config-test.js';

const LATER: Record<string, string> = {
  nats: 'the NATS export is issue #5',
  journal: 'the event journal is issue #5',
  control: 'the control socket is issue #8',
  http: 'the HTTP listener is issue #8',
  daemon: 'detaching (--daemon) is issue #8; run in the foreground under systemd',
};

export async function run(args: readonly string[]): Promise<number> {
  let opts;
  try {
    opts = parseArgs({
      args: [...args],
      options: {
        file: { type: 'string', short: 'f' },
        'config-id': { type: 'string', short: 'i' },
        'log-level': { type: 'string', short: 'l' },
        nats: { type: 'string' },
        journal: { type: 'string' },
        control: { type: 'string' },
        http: { type: 'string' },
        daemon: { type: 'boolean' },
      },
      strict: true,
    }).values;
  } catch (err) {
    process.stderr.write(`vigil run: ${(err as Error).message}\n(see vigil run --help)\n`);
    return 2;
  }
  for (const k of Object.keys(LATER)) {
    if (opts[k as keyof typeof opts] !== undefined) {
      process.stderr.write(`vigil run: --${k} is not available in this version yet (${LATER[k]})\n`);
      return 2;
    }
  }
  const file = opts.file ?? DEFAULT_CONFIG;
  const loaded = loadConfig(file, { host: nodeHost, ...(opts['config-id'] ? { configId: opts['config-id'] } : {}) });
  for (const d of loaded.diagnostics) process.stderr.write(formatDiagnostic(d) + '\n');
  if (loaded.exitCode !== ExitCode.ok) {
    process.stderr.write(`vigil run: ${file}: the configuration has errors; not starting (exit ${loaded.exitCode})\n`);
    return loaded.exitCode;
  }
  const log = createLogger({ level: (opts['log-level'] as 'info' | undefined) ?? 'info' });
  // the adapters are loaded only here: config-test must not pay for native modules
  const [{ createRawVrrpNet }, { createIpNet }, { Daemon }] = await Promise.all([
    import('../../adapters/vrrp/socket.js'),
    import('../../adapters/ip/netlink.js'),
    import('../daemon.js'),
  ]);
  const daemon = new Daemon(loaded.config, { net: createRawVrrpNet({ log }), ip: createIpNet(), log });
  // a daemon lives until it is told to stop, even with no socket open (every instance in FAULT
  // waiting for its interface, or nothing to run yet): signal handlers alone do not keep Node up
  const keepAlive = setInterval(() => undefined, 1 << 30);
  const stopped = new Promise<number>((resolve) => {
    const stop = (sig: string) => {
      log.info(`Received ${sig}, stopping`);
      daemon.stop().then(
        () => resolve(0),
        (err) => {
          log.error({ err }, 'error while stopping');
          resolve(1);
        },
      );
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  try {
    await daemon.start();
  } catch (err) {
    log.error({ err }, `cannot start: ${(err as Error).message}`);
    await daemon.stop().catch(() => undefined);
    clearInterval(keepAlive);
    return ExitCode.cannotRun;
  }
  log.info({ instances: daemon.status() }, 'VRRP started');
  const code = await stopped;
  clearInterval(keepAlive);
  return code;
}
