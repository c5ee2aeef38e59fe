// The MailTransport over SMTP, with nodemailer. keepalived (keepalived/core/smtp.c) speaks a
// minimal SMTP itself: HELO smtp_helo_name, MAIL FROM, one RCPT TO per notification_email, DATA,
// each step bounded by smtp_connect_timeout, and forgets the mail on any failure. Here:
// - EHLO (HELO when refused) with smtp_helo_name, default the host name as keepalived's;
// - STARTTLS whenever the server offers it (nodemailer's default), certificates verified: a
//   server with a bad certificate is a failed attempt, never a silent downgrade to plain text;
//   port 465 is implicit TLS;
// - AUTH when credentials are given (vigil extension, vigil_smtp_auth_file; see loadSmtpAuth);
// - smtp_connect_timeout bounds the connect, the greeting and every reply (a server that hangs
//   mid-DATA is a failed attempt after that long);
// - one connection, reused while mails keep coming (a burst of notifications pays one connect
//   and greeting, not one each) and closed after IDLE_MS without one; the outbox sends one mail at
//   a time, so one connection keeps them in order.
// The reply decides what happens next: 5xx (but 503) or every recipient refused is permanent,
// anything else (refused connection, timeout, 4xx) is retried by the outbox.
import { closeSync, fstatSync, openSync, readFileSync, constants } from 'node:fs';
import { hostname } from 'node:os';
import type { ConnectionOptions } from 'node:tls';
import { createRequire } from 'node:module';
import type * as Nodemailer from 'nodemailer';
import { MailError } from './errors.js';
import type { MailMessage, MailResult, MailTransport } from './types.js';

export interface SmtpAuth {
  readonly user: string;
  readonly pass: string;
}

export interface SmtpOptions {
  readonly host: string;
  readonly port: number;
  /** smtp_helo_name; default the host name (keepalived's local_name) */
  readonly heloName?: string;
  /** smtp_connect_timeout: connect, greeting and each reply (default 30 s) */
  readonly timeoutMs?: number;
  readonly auth?: SmtpAuth;
  /** TLS options for STARTTLS (tests pass a CA or rejectUnauthorized: false) */
  readonly tls?: ConnectionOptions;
}

/** an unused connection is closed after this long: a server is not held open between alerts */
const IDLE_MS = 5000;

interface SmtpFailure {
  code?: string;
  response?: string;
  responseCode?: number;
  permanent?: boolean;
  message?: string;
}

export function createSmtpTransport(opts: SmtpOptions): MailTransport {
  const timeoutMs = opts.timeoutMs ?? 30_000;
  // loaded here, not at import: a daemon without smtp_server does not carry nodemailer (14 MB RSS)
  const { createTransport } = createRequire(import.meta.url)('nodemailer') as typeof Nodemailer;
  const transport = createTransport({
    pool: true,
    maxConnections: 1,
    idleTimeout: IDLE_MS,
    host: opts.host,
    port: opts.port,
    secure: opts.port === 465,
    name: opts.heloName ?? hostname(),
    connectionTimeout: timeoutMs,
    greetingTimeout: timeoutMs,
    socketTimeout: timeoutMs,
    // the message is ours, complete: nothing in it may make nodemailer read files or URLs
    disableFileAccess: true,
    disableUrlAccess: true,
    ...(opts.auth ? { auth: { user: opts.auth.user, pass: opts.auth.pass } } : {}),
    ...(opts.tls ? { tls: opts.tls } : {}),
  });
  let closed = false;
  return {
    async send(msg: MailMessage, signal?: AbortSignal): Promise<MailResult> {
      if (closed) return { ok: false, error: 'the transport is closed', permanent: false };
      try {
        const info = await transport.sendMail({
          from: msg.from,
          to: [...msg.to],
          subject: msg.subject,
          text: msg.text,
          messageId: msg.messageId,
          date: msg.date,
          headers: { ...msg.headers },
          ...(signal ? { signal } : {}),
        });
        const rejected = (info.rejected ?? []).map(String);
        return { ok: true, response: String(info.response ?? ''), rejected };
      } catch (err) {
        const e = err as SmtpFailure;
        const what = e.response ?? e.message ?? String(err);
        return { ok: false, error: e.code ? `${e.code}: ${what}` : what, permanent: e.permanent === true };
      }
    },
    close() {
      if (closed) return;
      closed = true;
      transport.close();
    },
  };
}

/**
 * vigil_smtp_auth_file: the SMTP user on the first line, the password on the second. Refused
 * (MailError BAD_AUTH_FILE, naming the problem) when another user could read or replace it.
 */
export function loadSmtpAuth(file: string): SmtpAuth {
  let fd: number;
  try {
    // O_NOFOLLOW: the checks below are about this file, not whatever a symlink points to later
    fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (err) {
    throw new MailError('BAD_AUTH_FILE', `${file}: cannot open the SMTP credentials file: ${(err as Error).message}`, { cause: err });
  }
  try {
    // checked on the open descriptor: no window between the check and the read
    const st = fstatSync(fd);
    if (!st.isFile()) throw new MailError('BAD_AUTH_FILE', `${file}: the SMTP credentials file is not a regular file`);
    if (st.mode & 0o077) {
      const mode = (st.mode & 0o777).toString(8).padStart(4, '0');
      throw new MailError('BAD_AUTH_FILE', `${file}: the SMTP credentials file has mode ${mode}; other users can read or change it (chmod 600 ${file})`);
    }
    const uid = process.getuid?.();
    if (uid !== undefined && st.uid !== uid && st.uid !== 0) {
      throw new MailError('BAD_AUTH_FILE', `${file}: the SMTP credentials file belongs to uid ${st.uid}, not to root or to this process (uid ${uid})`);
    }
    const [user, pass] = readFileSync(fd, 'utf8').split(/\r?\n/);
    if (!user?.trim() || !pass) throw new MailError('BAD_AUTH_FILE', `${file}: expected the SMTP user on the first line and the password on the second`);
    return { user: user.trim(), pass };
  } finally {
    closeSync(fd);
  }
}
