// What every MailTransport must do, run against the fake (test/unit/mail-fake.test.ts) and against
// nodemailer talking to a real smtp-server on loopback (test/integration/notifier-smtp.test.ts).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { MailMessage, MailTransport } from '../../adapters/mail/types.js';

/** A mail as the server stored it. */
export interface ReceivedMail {
  /** envelope recipients the server accepted */
  readonly to: readonly string[];
  /** header values by lower-case name (unfolded) */
  readonly headers: Readonly<Record<string, string>>;
  /** the body, transfer encoding undone, `\n` line ends */
  readonly text: string;
}

export interface MailHarness {
  readonly transport: MailTransport;
  received(): readonly ReceivedMail[];
  /** the server stops listening / listens again on the same port */
  down(): Promise<void>;
  up(): Promise<void>;
  /** the server's reply to DATA (a 4xx or 5xx), or null to accept */
  dataReply(code: number | null): void;
  /** the server refuses RCPT TO for these addresses */
  refuseRecipients(addresses: readonly string[]): void;
  teardown(): Promise<void>;
}

// a hang must fail the test, not stall the run; this bound is no timing assertion
const BOUND = { timeout: 15_000 };

let n = 0;
const message = (over: Partial<MailMessage> = {}): MailMessage => ({
  messageId: `<01CONTRACT${++n}@test.invalid>`,
  from: 'vigil@example.com',
  to: ['ops@example.com', 'oncall@example.com'],
  subject: '[lb1] VRRP Instance VI_1 - Entering MASTER state',
  date: 'Mon, 05 Jan 2026 12:00:00 +0100',
  text: '=> VRRP Instance is now owning VRRP VIPs <=\n\n-- \nvigil event 01CONTRACT',
  headers: { 'X-Mailer': 'Keepalived', 'X-Vigil-Event': '01CONTRACT' },
  ...over,
});

export function runMailTransportContract(name: string, setup: () => Promise<MailHarness>): void {
  describe(`MailTransport contract: ${name}`, () => {
    let h: MailHarness;
    before(async () => { h = await setup(); });
    after(async () => { h?.transport.close(); await h?.teardown(); });

    it('a mail the server takes: ok, and it arrives as given', BOUND, async () => {
      const m = message();
      const r = await h.transport.send(m);
      assert.deepEqual(r, { ok: true, response: r.ok ? r.response : '', rejected: [] });
      const got = h.received().at(-1)!;
      assert.deepEqual([...got.to], ['ops@example.com', 'oncall@example.com']);
      assert.equal(got.headers['subject'], m.subject);
      assert.equal(got.headers['message-id'], m.messageId);
      assert.equal(got.headers['date'], m.date);
      assert.equal(got.headers['from'], 'vigil@example.com');
      assert.equal(got.headers['to'], 'ops@example.com, oncall@example.com');
      assert.equal(got.headers['x-mailer'], 'Keepalived');
      assert.equal(got.headers['x-vigil-event'], '01CONTRACT');
      assert.equal(got.text.trimEnd(), m.text);
    });

    it('the server down: a failure to retry; back up: it goes through', BOUND, async () => {
      await h.down();
      const r = await h.transport.send(message());
      assert.equal(r.ok, false);
      assert.equal(!r.ok && r.permanent, false);
      await h.up();
      assert.equal((await h.transport.send(message())).ok, true);
    });

    it('a 4xx reply to DATA is retried later, a 5xx is final', BOUND, async () => {
      h.dataReply(451);
      const soft = await h.transport.send(message());
      h.dataReply(554);
      const hard = await h.transport.send(message());
      h.dataReply(null);
      assert.deepEqual([soft.ok, !soft.ok && soft.permanent], [false, false]);
      assert.deepEqual([hard.ok, !hard.ok && hard.permanent], [false, true]);
      assert.match(!hard.ok ? hard.error : '', /554/);
    });

    it('a refused recipient: the others get it, the refused one is reported', BOUND, async () => {
      h.refuseRecipients(['oncall@example.com']);
      const r = await h.transport.send(message());
      assert.equal(r.ok, true);
      assert.deepEqual(r.ok && r.rejected, ['oncall@example.com']);
      assert.deepEqual([...h.received().at(-1)!.to], ['ops@example.com']);
      h.refuseRecipients(['ops@example.com', 'oncall@example.com']);
      const all = await h.transport.send(message());
      h.refuseRecipients([]);
      assert.deepEqual([all.ok, !all.ok && all.permanent], [false, true]);
    });
  });
}
