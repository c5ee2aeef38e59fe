// The notify FIFOs (notify_fifo, vrrp_notify_fifo, lvs_notify_fifo): the port the notifier
// writes lines through. Implemented in ./fifo.ts; a fake in test/fakes/fifo.ts.

export interface FifoStats {
  /** lines written whole */
  readonly written: number;
  /** lines dropped: the pipe was full (no reader draining it) or the write failed */
  readonly dropped: number;
  readonly lastError?: string;
}

export interface FifoWriter {
  readonly path: string;
  /**
   * Write one line (with its `\n`) without ever blocking. False when it was dropped (counted in
   * `stats`): a reader that went away or fell behind costs lines, never time.
   */
  write(line: string): boolean;
  stats(): FifoStats;
  /** close the FIFO, and remove it if it was created here; idempotent */
  close(): Promise<void>;
}

export interface FifoOpenOptions {
  /** owner of a FIFO created here (keepalived's `notify_fifo PATH [user [group]]`) */
  readonly user?: string;
  readonly group?: string;
}

export type OpenFifo = (path: string, opts?: FifoOpenOptions) => Promise<FifoWriter>;
