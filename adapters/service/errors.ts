// Errors of the service adapter (pidfile, detach), matched on `name` and `code`.

export type ServiceErrorCode =
  /** the pidfile names a running vigil (or a process we cannot inspect) */
  | 'PIDFILE_IN_USE'
  /** the pidfile cannot be written, read or removed */
  | 'PIDFILE_IO';

export class ServiceError extends Error {
  override readonly name = 'ServiceError';
  constructor(
    readonly code: ServiceErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Another vigil holds the pidfile: `pid` is the one to look at (or stop). */
export class PidfileInUse extends ServiceError {
  constructor(
    readonly path: string,
    readonly pid: number,
    /** why `pid` counts as a running vigil */
    readonly reason: string,
  ) {
    super('PIDFILE_IN_USE', `${path}: another vigil is running as pid ${pid} (${reason}); stop it first, or give this one its own --pidfile`);
  }
}
