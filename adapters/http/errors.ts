// Why the HTTP listener cannot start. Matched on `code`; the message names what to fix.
export type HttpSetupErrorCode =
  | 'BAD_LISTEN' //     --http is not HOST:PORT / [V6]:PORT with an IP literal or localhost
  | 'TOKEN_REQUIRED' // a non-loopback address without a token
  | 'BAD_TOKEN' //      the token file or variable is unusable (permissions, owner, empty, spaces)
  | 'LISTEN'; //        the kernel refused the bind (address in use, not ours, …)

export class HttpSetupError extends Error {
  override readonly name = 'HttpSetupError';
  constructor(
    readonly code: HttpSetupErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
