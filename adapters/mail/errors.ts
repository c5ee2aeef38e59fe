// Errors of the mail adapter, matched on `name` and `code`. Delivery failures are values
// (MailResult), never thrown; only setup problems (a bad credentials file) throw.

export type MailErrorCode =
  /** vigil_smtp_auth_file cannot be read, is not private (mode 0600), or is malformed */
  | 'BAD_AUTH_FILE';

export class MailError extends Error {
  override readonly name = 'MailError';
  constructor(
    readonly code: MailErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
