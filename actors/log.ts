// The one root logger (pino). Lines are JSON with keepalived's wording in `msg`, e.g.
// {"instance":"VI_1","msg":"(VI_1) Entering MASTER STATE"}. Synchronous destination so the last
// lines before an exit (SIGTERM, a refused config) are never lost.
import { pino, type Logger, type LevelWithSilent } from 'pino';

export type { Logger };

export function createLogger(opts: { level?: LevelWithSilent; name?: string; fd?: number } = {}): Logger {
  return pino(
    {
      name: opts.name ?? 'vigil',
      level: opts.level ?? 'info',
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    pino.destination({ fd: opts.fd ?? 1, sync: true }),
  );
}

/** A logger that drops everything (tests, library use). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
