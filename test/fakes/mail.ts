// A scripted SMTP "server" behind the MailTransport port: it accepts, is down, refuses (4xx/5xx)
// or refuses some recipients as the test says, and records what it accepted. Sends can be held
// (`hold`) to test what happens while one is in flight.
import type { MailMessage, MailResult, MailTransport } from '../../adapters/mail/types.js';

export class FakeMailTransport implements MailTransport {
  /** messages accepted, in order */
  readonly accepted: MailMessage[] = [];
  attempts = 0;
  down = false;
  /** a reply to DATA: 4xx transient, 5xx permanent; null accepts */
  dataReply: number | null = null;
  readonly badRecipients = new Set<string>();
  closed = false;
  private held: (() => void)[] = [];
  private holding = false;

  /** sends wait until release() */
  hold(): void {
    this.holding = true;
  }

  release(): void {
    this.holding = false;
    for (const go of this.held.splice(0)) go();
  }

  async send(msg: MailMessage, signal?: AbortSignal): Promise<MailResult> {
    this.attempts++;
    if (this.holding) {
      await new Promise<void>((resolve) => {
        this.held.push(resolve);
        signal?.addEventListener('abort', () => resolve(), { once: true });
      });
    }
    if (signal?.aborted) return { ok: false, error: 'aborted', permanent: false };
    if (this.closed) return { ok: false, error: 'the transport is closed', permanent: false };
    if (this.down) return { ok: false, error: 'ESOCKET: connect ECONNREFUSED 127.0.0.1:25', permanent: false };
    const rejected = msg.to.filter((a) => this.badRecipients.has(a));
    if (rejected.length === msg.to.length) return { ok: false, error: `EENVELOPE: 550 no such user ${rejected.join(', ')}`, permanent: true };
    if (this.dataReply !== null) {
      const permanent = this.dataReply >= 500 && this.dataReply !== 503;
      return { ok: false, error: `EMESSAGE: ${this.dataReply} refused`, permanent };
    }
    this.accepted.push(msg);
    return { ok: true, response: '250 OK: queued', rejected };
  }

  close(): void {
    this.closed = true;
  }
}
