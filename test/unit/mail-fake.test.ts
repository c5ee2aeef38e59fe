// The fake MailTransport keeps the contract the real one keeps (test/contract/mailTransport.contract.ts).
import { runMailTransportContract } from '../contract/mailTransport.contract.js';
import { FakeMailTransport } from '../fakes/mail.js';

runMailTransportContract('fake', async () => {
  const fake = new FakeMailTransport();
  return {
    transport: fake,
    received: () => fake.accepted.map((m) => ({
      to: m.to.filter((a) => !fake.badRecipients.has(a)),
      headers: {
        subject: m.subject, 'message-id': m.messageId, date: m.date, from: m.from, to: m.to.join(', '),
        ...Object.fromEntries(Object.entries(m.headers).map(([k, v]) => [k.toLowerCase(), v])),
      },
      text: m.text,
    })),
    down: async () => { fake.down = true; },
    up: async () => { fake.down = false; },
    dataReply: (code) => { fake.dataReply = code; },
    refuseRecipients: (addresses) => {
      fake.badRecipients.clear();
      for (const a of addresses) fake.badRecipients.add(a);
    },
    teardown: async () => {},
  };
});
