// systemd's readiness protocol (sd_notify(3)): newline-separated assignments in one datagram to the
// unix socket named by $NOTIFY_SOCKET (a path, or '@name' for an abstract socket). vigil sends
// READY=1 once its instances run, RELOADING=1 + MONOTONIC_USEC= while a reload is applied (then
// READY=1 again), STOPPING=1 on SIGTERM, STATUS= lines for `systemctl status`, and WATCHDOG=1
// every WATCHDOG_USEC/2 from the main event loop, so a stalled loop is what the watchdog catches.
//
// Node has no AF_UNIX datagram sockets: the datagram goes out through the native addon
// (adapters/ip/native, sendUnixDgram). Without NOTIFY_SOCKET every call is a no-op; without the
// addon the notifier says so once and is a no-op too: it never throws.
import { loadPacketAddon } from '../ip/packet.js';

/** A pino-like logger; pino's Logger fits. */
export interface NotifyLog {
  warn(obj: object, msg: string): void;
}

export interface Notifier {
  /** NOTIFY_SOCKET is set and usable: messages are sent */
  readonly enabled: boolean;
  /** the watchdog period systemd asked for (µs), when it asked us */
  readonly watchdogUsec: number | undefined;
  /** started, or done reloading; `mainPid` hands the service over to another process (--daemon) */
  ready(status?: string, mainPid?: number): void;
  /** a reload begins: READY=1 must follow when it is over, applied or not */
  reloading(status?: string): void;
  stopping(status?: string): void;
  status(text: string): void;
  /** stops the watchdog pings; idempotent */
  close(): void;
}

interface TimerHandle {
  unref?(): unknown;
}

export interface NotifierDeps {
  /** sends one datagram to `socket` (path or '@abstract'); throws with `code` on failure */
  readonly send?: (socket: string, data: Uint8Array) => void;
  readonly setInterval?: (fn: () => void, ms: number) => TimerHandle;
  readonly clearInterval?: (h: TimerHandle) => void;
  /** CLOCK_MONOTONIC in µs, what systemd compares MONOTONIC_USEC= with */
  readonly monotonicUsec?: () => bigint;
  readonly pid?: number;
}

const ENV_KEYS = ['NOTIFY_SOCKET', 'WATCHDOG_USEC', 'WATCHDOG_PID'] as const;

/** The addon's sender, or why there is none. */
function addonSender(): { send: (socket: string, data: Uint8Array) => void } | { error: string } {
  const loaded = loadPacketAddon();
  if (!loaded.ok) return { error: loaded.error };
  const send = loaded.addon.sendUnixDgram;
  if (!send) return { error: 'the native addon predates sendUnixDgram; rebuild it with adapters/ip/native/build.sh' };
  return { send: (socket, data) => void send(socket, data) };
}

const NOOP: Notifier = {
  enabled: false,
  watchdogUsec: undefined,
  ready: () => undefined,
  reloading: () => undefined,
  stopping: () => undefined,
  status: () => undefined,
  close: () => undefined,
};

/** One line of STATUS=: a newline would end the assignment early. */
const oneLine = (s: string) => s.replace(/[\r\n]+/g, ' ');

/**
 * Reads NOTIFY_SOCKET, WATCHDOG_USEC and WATCHDOG_PID from `env` and removes them, as
 * sd_notify(unset_environment=1) does, so the scripts vigil spawns cannot speak for it.
 */
export function createNotifier(env: NodeJS.ProcessEnv = process.env, log?: NotifyLog, deps: NotifierDeps = {}): Notifier {
  const [socket, watchdogUsecText, watchdogPid] = ENV_KEYS.map((k) => env[k]);
  for (const k of ENV_KEYS) delete env[k];
  if (!socket) return NOOP;
  if (!socket.startsWith('/') && !socket.startsWith('@')) {
    // e.g. systemd 256's vsock: addresses, which a VM's service manager uses
    log?.warn({ notifySocket: socket }, `NOTIFY_SOCKET=${socket} is not a unix socket path; systemd will not be notified`);
    return NOOP;
  }
  const sender = deps.send ? { send: deps.send } : addonSender();
  if ('error' in sender) {
    log?.warn({ notifySocket: socket }, `NOTIFY_SOCKET is set but systemd cannot be notified (Type=notify will time out): ${sender.error}`);
    return NOOP;
  }
  const send = sender.send;
  const pid = deps.pid ?? process.pid;
  const monotonicUsec = deps.monotonicUsec ?? (() => process.hrtime.bigint() / 1000n); // libuv's hrtime is CLOCK_MONOTONIC

  // a failure is logged once until a send succeeds again: a vanished socket must not flood the log
  let failing: string | undefined;
  const notify = (...assignments: string[]) => {
    try {
      send(socket, Buffer.from(assignments.join('\n')));
      failing = undefined;
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      const key = e.code ?? e.message;
      if (failing !== key) log?.warn({ err, notifySocket: socket }, `cannot notify systemd at ${socket}: ${e.message}`);
      failing = key;
    }
  };
  const withStatus = (status: string | undefined, ...assignments: string[]) =>
    notify(...assignments, ...(status === undefined ? [] : [`STATUS=${oneLine(status)}`]));

  // the watchdog is ours unless WATCHDOG_PID names another process (it was meant for a parent)
  const usec = Number(watchdogUsecText);
  const watchdogUsec = Number.isSafeInteger(usec) && usec > 0 && (!watchdogPid || Number(watchdogPid) === pid) ? usec : undefined;
  const setIntervalFn = deps.setInterval ?? ((fn: () => void, ms: number) => setInterval(fn, ms));
  const clearIntervalFn = deps.clearInterval ?? ((h: TimerHandle) => clearInterval(h as NodeJS.Timeout));
  let timer: TimerHandle | undefined;
  if (watchdogUsec !== undefined) {
    // half the timeout, as sd_watchdog_enabled(3) advises; unref'd: the watchdog keeps nothing alive
    timer = setIntervalFn(() => notify('WATCHDOG=1'), Math.max(1, Math.floor(watchdogUsec / 2000)));
    timer.unref?.();
  }

  return {
    enabled: true,
    watchdogUsec,
    ready: (status, mainPid) => withStatus(status, 'READY=1', ...(mainPid === undefined ? [] : [`MAINPID=${mainPid}`])),
    // MONOTONIC_USEC: systemd 253+ matches a RELOADING=1 to the reload it asked for by this time
    // (Type=notify-reload); without it the message can be ignored; older systemds ignore the field
    reloading: (status) => withStatus(status, 'RELOADING=1', `MONOTONIC_USEC=${monotonicUsec()}`),
    stopping: (status) => withStatus(status, 'STOPPING=1'),
    status: (text) => notify(`STATUS=${oneLine(text)}`),
    close: () => {
      if (timer) clearIntervalFn(timer);
      timer = undefined;
    },
  };
}
