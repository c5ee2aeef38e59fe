// Mail for the notifier (actors/notifier.ts), behind two ports its consumer owns: the transport
// that hands one message to an SMTP server, and the durable outbox that holds every message until
// a server has accepted it. Implementations: smtp.ts (nodemailer) and outbox.ts (a directory of
// JSON files, or memory); fakes in test/fakes/mail.ts.

/** One mail, fully formed: the transport adds nothing but the envelope and MIME framing. */
export interface MailMessage {
  /** with its angle brackets: `<EVENT_ID.NODE@vigil>`; the same on every retry, so duplicates are recognisable */
  readonly messageId: string;
  readonly from: string;
  readonly to: readonly string[];
  readonly subject: string;
  /** the Date header as sent (keepalived: local time, `%a, %d %b %Y %H:%M:%S %z`) */
  readonly date: string;
  /** plain text, lines separated by `\n` */
  readonly text: string;
  /** further headers (X-Mailer, X-Vigil-Event …) */
  readonly headers: Readonly<Record<string, string>>;
}

export type MailResult =
  /** the server accepted the message (for at least one recipient; `rejected` lists the others) */
  | { readonly ok: true; readonly response: string; readonly rejected: readonly string[] }
  /**
   * not accepted. `permanent`: the server refused it for good (a 5xx reply other than 503, every
   * recipient refused), so retrying the same message is pointless; otherwise (connection refused,
   * timeout, 4xx) it is retried.
   */
  | { readonly ok: false; readonly error: string; readonly permanent: boolean };

export interface MailTransport {
  /** Never throws: every failure is a `{ ok: false }`. `signal` abandons the attempt (a transient failure). */
  send(msg: MailMessage, signal?: AbortSignal): Promise<MailResult>;
  /** idempotent */
  close(): void;
}

/** One mail owed, as the outbox keeps it until a server accepts it. */
export interface OutboxEntry {
  /** a ULID: unique, and the delivery order */
  readonly id: string;
  /** what the mail is about, for burst control: `vrrp/VI_1`, `sync-group/G1`, `vs/10.0.0.1:80/tcp` */
  readonly key: string;
  /** the id of the event the mail tells of (a digest: of its first) */
  readonly event: string;
  /** that event's correlation id (the chain the delivery reports join) */
  readonly correlation?: string;
  /** when the mail was owed (ms since the epoch) */
  readonly createdAt: number;
  readonly message: MailMessage;
  /** held back by burst control, waiting to be coalesced into a digest */
  readonly held?: boolean;
  /** a digest: the ids of the held entries it replaces */
  readonly covers?: readonly string[];
}

export interface OutboxStore {
  /** every entry stored, oldest id first; unreadable files are skipped and counted */
  load(): Promise<{ entries: OutboxEntry[]; skipped: number }>;
  /** store (or replace) an entry durably; resolves once it would survive a crash */
  put(entry: OutboxEntry): Promise<void>;
  /** forget an entry (delivered, given up, or coalesced); a missing one is no error */
  remove(id: string): Promise<void>;
  /** where it lives, for logs ('memory' when nowhere) */
  readonly where: string;
}
