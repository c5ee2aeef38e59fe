// The control API's wire: one JSON request per line, one JSON reply per line, over a unix socket
// (adapters/control/unix.ts) or HTTP. The daemon's side (actors/control.ts) owns the handler.

/** A request: `cmd` names the command; the other fields are its arguments. */
export interface ControlRequest {
  readonly cmd: string;
  readonly [arg: string]: unknown;
}

export type ControlReply = { ok: true; [k: string]: unknown } | { ok: false; error: string; [k: string]: unknown };

/** Answers one request; never throws (a failure is an `ok: false` reply). `peer` names the caller for the audit. */
export type ControlHandler = (req: ControlRequest, peer: string) => Promise<ControlReply>;

/** The longest request line accepted (a status request is ~20 bytes; this bounds a hostile client). */
export const MAX_REQUEST_BYTES = 64 * 1024;

/** Where `vigil run` listens and `vigil status` / `vigil reload` connect by default. */
export const DEFAULT_CONTROL_SOCKET = '/run/vigil/control.sock';

/** Parse one request line; a string on error, naming what is wrong. */
export function parseRequest(line: string): ControlRequest | string {
  // not an object at all: refused before JSON.parse, whose exception costs ~0.2 ms a line (a
  // client pasting junk would otherwise hold the event loop for seconds)
  if (!line.startsWith('{')) return 'malformed request: expected a JSON object';
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch (err) {
    return `malformed request: ${(err as Error).message}`;
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return 'malformed request: expected a JSON object';
  const cmd = (v as { cmd?: unknown }).cmd;
  if (typeof cmd !== 'string' || !cmd) return 'malformed request: "cmd" must be a non-empty string';
  return v as ControlRequest;
}
