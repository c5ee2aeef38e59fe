// The notifier against real things on this host: an SMTP server (smtp-server on loopback), notify
// scripts as processes (through the spawn server), FIFOs with a reader process. Mails arrive with
// keepalived's subject and body; an SMTP outage is retried and then delivered once; a restart over
// the same outbox sends what was owed and nothing twice; burst control; 4xx/5xx; a server hanging
// mid-DATA; STARTTLS and AUTH; scripts in order per instance and killed with their process group at
// the timeout; FIFO lines read by a reader, and a FIFO nobody reads never blocks.
import assert from 'node:assert/strict';
import { chmodSync, createReadStream, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';
import { openFifo } from '../../adapters/fifo/fifo.js';
import { createDirOutbox } from '../../adapters/mail/outbox.js';
import { createSmtpTransport, loadSmtpAuth } from '../../adapters/mail/smtp.js';
import type { OutboxStore } from '../../adapters/mail/types.js';
import { Bus, type BusEvent } from '../../actors/bus.js';
import type { EventMap } from '../../actors/event-types.js';
import { silentLogger } from '../../actors/log.js';
import { NotifierActor, type NotifierOptions } from '../../actors/notifier.js';
import { rfc822 } from '../../actors/notify-texts.js';
import { runFifoContract } from '../contract/fifo.contract.js';
import { runMailTransportContract, type ReceivedMail } from '../contract/mailTransport.contract.js';
import { parse } from '../helpers.js';

const BOUND = { timeout: 20_000 };
const dir = mkdtempSync(join(tmpdir(), 'vigil-notifier-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const tick = (ms = 10) => new Promise((r) => setTimeout(r, ms));
async function until(what: string, cond: () => boolean, ms = 8000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await tick();
  }
}

// ---------------------------------------------------------------- an SMTP server to talk to

interface Stored extends ReceivedMail {
  readonly secure: boolean;
  readonly user?: string;
}

/** Undo quoted-printable (nodemailer uses it for long lines). */
function unQp(s: string): string {
  const t = s.replace(/=\r?\n/g, '');
  const bytes: number[] = [];
  for (let i = 0; i < t.length; i++) {
    if (t[i] === '=' && /^[0-9A-F]{2}$/.test(t.slice(i + 1, i + 3))) {
      bytes.push(parseInt(t.slice(i + 1, i + 3), 16));
      i += 2;
    } else bytes.push(t.charCodeAt(i));
  }
  return Buffer.from(bytes).toString('utf8');
}

function parseMail(raw: string, to: string[], secure: boolean, user?: string): Stored {
  const cut = raw.indexOf('\r\n\r\n');
  const head = raw.slice(0, cut).replace(/\r\n(?=[ \t])/g, '');
  const headers: Record<string, string> = {};
  for (const line of head.split('\r\n')) {
    const i = line.indexOf(':');
    headers[line.slice(0, i).toLowerCase()] = line.slice(i + 1).trim();
  }
  let text = raw.slice(cut + 4);
  if (/quoted-printable/i.test(headers['content-transfer-encoding'] ?? '')) text = unQp(text);
  return { to, headers, text: text.replace(/\r\n/g, '\n'), secure, ...(user ? { user } : {}) };
}

class TestSmtp {
  port = 0;
  readonly mails: Stored[] = [];
  dataCode: number | null = null;
  refused = new Set<string>();
  /** the next DATA is never answered */
  hangOnce = false;
  private server: SMTPServer | undefined;

  constructor(private readonly extra: Partial<SMTPServerOptions> = { hideSTARTTLS: true }) {}

  async up(): Promise<void> {
    const server = new SMTPServer({
      authOptional: true,
      logger: false,
      disableReverseLookup: true,
      ...this.extra,
      onRcptTo: (address, _session, cb) => {
        if (this.refused.has(address.address)) cb(Object.assign(new Error(`no such user ${address.address}`), { responseCode: 550 }));
        else cb();
      },
      onData: (stream, session, cb) => {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => {
          if (this.hangOnce) { this.hangOnce = false; return; }
          if (this.dataCode !== null) { cb(Object.assign(new Error('not now'), { responseCode: this.dataCode })); return; }
          this.mails.push(parseMail(Buffer.concat(chunks).toString('utf8'), session.envelope.rcptTo.map((r) => r.address), session.secure, session.user as string | undefined));
          cb(null, 'queued');
        });
      },
    });
    server.on('error', () => {});
    await new Promise<void>((resolve) => server.listen(this.port, '127.0.0.1', () => resolve()));
    this.port = (server.server.address() as AddressInfo).port;
    this.server = server;
  }

  async down(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
  }

  /** mails by subject ending */
  count(id: string): number {
    return this.mails.filter((m) => m.headers['message-id'] === id).length;
  }
}

// ---------------------------------------------------------------- the notifier under test

function script(name: string, body: string): string {
  const p = join(dir, name);
  writeFileSync(p, `#!/bin/sh\n${body}\n`);
  chmodSync(p, 0o755);
  return p;
}

function config(smtpPort: number, extra = '', instances = ''): string {
  return `global_defs {
  router_id lb1
  notification_email {
    ops@example.com
  }
  notification_email_from vigil@example.com
  smtp_server 127.0.0.1 ${smtpPort}
  smtp_connect_timeout 2
  smtp_alert
${extra}
}
vrrp_instance VI_1 {
  interface lo
  virtual_router_id 51
  virtual_ipaddress {
    10.0.0.100/24
  }
}
${instances}`;
}

async function notifier(text: string, opts: { store?: OutboxStore; options?: NotifierOptions } = {}) {
  const loaded = parse(text);
  assert.deepEqual(loaded.diagnostics.filter((d) => d.severity === 'error').map((d) => d.message), []);
  const bus = new Bus('lb1');
  const events: BusEvent[] = [];
  bus.subscribe((e) => events.push(e));
  const n = new NotifierActor({
    bus,
    log: silentLogger(),
    config: () => loaded.config,
    ...(opts.store ? { store: opts.store } : {}),
    options: { backoff: { initialMs: 50, maxMs: 200, jitter: 0 }, ...opts.options },
  });
  await n.start();
  let prio = 0;
  const vrrp = (name: string, from: string, to: string, priority = 100 + (prio++ % 100)) =>
    bus.publish('vrrp', name, 'vrrp.state', { type: 'vrrp.state', instance: name, vrid: 51, from: from as never, to: to as never, cause: 'master-down-timeout', priority });
  const of = <K extends keyof EventMap>(type: K) => events.filter((e) => e.type === type).map((e) => e.data as EventMap[K]);
  return { bus, events, n, vrrp, of };
}

// ---------------------------------------------------------------- the transport

describe('nodemailer transport', () => {
  const smtp = new TestSmtp();
  runMailTransportContract('nodemailer → smtp-server', async () => {
    await smtp.up();
    return {
      transport: createSmtpTransport({ host: '127.0.0.1', port: smtp.port, timeoutMs: 2000 }),
      received: () => smtp.mails,
      down: () => smtp.down(),
      up: () => smtp.up(),
      dataReply: (code) => { smtp.dataCode = code; },
      refuseRecipients: (a) => { smtp.refused = new Set(a); },
      teardown: () => smtp.down(),
    };
  });

  test('a server that hangs mid-DATA: a failure to retry once smtp_connect_timeout passes', BOUND, async () => {
    const s = new TestSmtp();
    await s.up();
    s.hangOnce = true;
    const t = createSmtpTransport({ host: '127.0.0.1', port: s.port, timeoutMs: 300 });
    const r = await t.send({ messageId: '<hang@x>', from: 'a@example.com', to: ['b@example.com'], subject: 's', date: rfc822(Date.now()), text: 'x', headers: {} });
    assert.equal(r.ok, false);
    assert.equal(!r.ok && r.permanent, false);
    assert.match(!r.ok ? r.error : '', /timeout|timed out/i);
    t.close();
    await s.down();
  });

  test('STARTTLS when offered: certificates are checked; with the check relaxed the mail goes encrypted', BOUND, async () => {
    const s = new TestSmtp({}); // smtp-server's own self-signed localhost certificate
    await s.up();
    const m = { messageId: '<tls@x>', from: 'a@example.com', to: ['b@example.com'], subject: 's', date: rfc822(Date.now()), text: 'x', headers: {} };
    const strict = createSmtpTransport({ host: '127.0.0.1', port: s.port, timeoutMs: 2000 });
    const refused = await strict.send(m);
    assert.equal(refused.ok, false, 'a self-signed certificate is not trusted');
    assert.equal(!refused.ok && refused.permanent, false);
    const relaxed = createSmtpTransport({ host: '127.0.0.1', port: s.port, timeoutMs: 2000, tls: { rejectUnauthorized: false } });
    assert.equal((await relaxed.send(m)).ok, true);
    assert.equal(s.mails.at(-1)!.secure, true);
    strict.close();
    relaxed.close();
    await s.down();
  });

  test('AUTH with vigil_smtp_auth_file; a file others can read is refused', BOUND, async () => {
    const s = new TestSmtp({
      authOptional: false,
      onAuth: (auth, _session, cb) => (auth.username === 'vigil' && auth.password === 's3cret:pw' ? cb(null, { user: 'vigil' }) : cb(new Error('bad credentials'))),
    });
    await s.up();
    const file = join(dir, 'smtp-auth');
    writeFileSync(file, 'vigil\ns3cret:pw\n', { mode: 0o644 });
    chmodSync(file, 0o644);
    assert.throws(() => loadSmtpAuth(file), { name: 'MailError', message: /mode 0644.*chmod 600/ });
    chmodSync(file, 0o600);
    const t = createSmtpTransport({ host: '127.0.0.1', port: s.port, timeoutMs: 2000, auth: loadSmtpAuth(file), tls: { rejectUnauthorized: false } });
    const r = await t.send({ messageId: '<auth@x>', from: 'a@example.com', to: ['b@example.com'], subject: 's', date: rfc822(Date.now()), text: 'x', headers: {} });
    assert.equal(r.ok, true, !r.ok ? r.error : '');
    assert.equal(s.mails.at(-1)!.user, 'vigil');
    t.close();
    await s.down();
  });
});

// ---------------------------------------------------------------- mails

describe('notification mails over SMTP', () => {
  test("keepalived's subject, body and headers, with the cause chain below", BOUND, async () => {
    const s = new TestSmtp();
    await s.up();
    const t = await notifier(config(s.port));
    const prio = t.bus.publish('vrrp', 'VI_1', 'vrrp.priority', { type: 'vrrp.priority', instance: 'VI_1', from: 100, to: 150 });
    const e = t.bus.publish('vrrp', 'VI_1', 'vrrp.state', { type: 'vrrp.state', instance: 'VI_1', vrid: 51, from: 'BACKUP', to: 'MASTER', cause: 'master-down-timeout', priority: 150 }, { cause: prio.id });
    await until('the mail', () => s.mails.length === 1);
    const m = s.mails[0]!;
    assert.equal(m.headers['subject'], '[lb1] VRRP Instance VI_1 - Entering MASTER state');
    assert.equal(m.text.split('\n')[0], '=> VRRP Instance is now owning VRRP VIPs <=');
    assert.match(m.text, /\n-- \nvigil event \S+\n {2}\S+ lb1 vrrp\/VI_1 vrrp\.state BACKUP → MASTER \(master-down-timeout, priority 150\)\ncaused by:\n {2}\S+ lb1 vrrp\/VI_1 vrrp\.priority priority 100 → 150/);
    assert.equal(m.headers['from'], 'vigil@example.com');
    assert.equal(m.headers['to'], 'ops@example.com');
    assert.equal(m.headers['x-mailer'], 'Keepalived');
    assert.equal(m.headers['date'], rfc822(Date.parse(e.time)));
    assert.match(m.headers['message-id']!, new RegExp(`^<${e.id}@`));
    assert.deepEqual(m.to, ['ops@example.com']);
    await until('mail-sent', () => t.of('notify.mail-sent').length === 1);
    await t.n.close();
    await s.down();
  });

  test('SMTP down: retried with backoff; delivered once after it comes back', BOUND, async () => {
    const s = new TestSmtp();
    await s.up();
    const port = s.port;
    await s.down();
    s.port = port;
    const t = await notifier(config(port));
    t.vrrp('VI_1', 'BACKUP', 'MASTER');
    t.vrrp('VI_1', 'MASTER', 'BACKUP');
    await until('failed attempts', () => t.of('notify.mail-failed').length >= 3);
    assert.ok(t.of('notify.mail-failed').every((f) => !f.permanent && /ECONNREFUSED/.test(f.error)));
    await s.up();
    await until('both delivered', () => s.mails.length === 2);
    await tick(300); // time for a duplicate to show
    assert.equal(s.mails.length, 2);
    assert.deepEqual(s.mails.map((m) => m.headers['subject']!.split(' - ')[1]), ['Entering MASTER state', 'Entering BACKUP state']);
    await t.n.close();
    await s.down();
  });

  test('vigil stopped with mails owed: a new notifier over the outbox delivers them, once; nothing twice', BOUND, async () => {
    const s = new TestSmtp();
    await s.up();
    const outbox = join(dir, 'outbox-restart');
    const a = await notifier(config(s.port), { store: createDirOutbox(outbox), options: { finalDrainMs: 0 } });
    a.vrrp('VI_1', 'BACKUP', 'MASTER');
    await until('the first', () => s.mails.length === 1);
    const port = s.port;
    await s.down();
    s.port = port;
    a.vrrp('VI_1', 'MASTER', 'BACKUP');
    a.vrrp('VI_1', 'BACKUP', 'FAULT');
    await until('an attempt', () => a.of('notify.mail-failed').length >= 1);
    await a.n.close();
    assert.equal(readdirSync(outbox).length, 2, 'two mails owed on disk');

    await s.up();
    const b = await notifier(config(s.port), { store: createDirOutbox(outbox) });
    await until('delivered after the restart', () => s.mails.length === 3);
    await until('the outbox empties', () => readdirSync(outbox).length === 0);
    await b.n.close();
    const c = await notifier(config(s.port), { store: createDirOutbox(outbox) });
    await tick(300);
    await c.n.close();
    assert.deepEqual(s.mails.map((m) => m.headers['subject']!.split(' - ')[1]), ['Entering MASTER state', 'Entering BACKUP state', 'Entering FAULT state']);
    for (const m of s.mails) assert.equal(s.count(m.headers['message-id']!), 1);
    await s.down();
  });

  test('burst control: a flapping instance gets the first mails, then one digest', BOUND, async () => {
    const s = new TestSmtp();
    await s.up();
    const t = await notifier(config(s.port), { options: { burst: { limit: 2, windowMs: 400 } } });
    for (let i = 0; i < 6; i++) t.vrrp('VI_1', i % 2 ? 'MASTER' : 'BACKUP', i % 2 ? 'BACKUP' : 'MASTER');
    await until('the digest', () => s.mails.length === 3);
    assert.deepEqual(s.mails.map((m) => m.headers['subject']), [
      '[lb1] VRRP Instance VI_1 - Entering MASTER state',
      '[lb1] VRRP Instance VI_1 - Entering BACKUP state',
      '[lb1] VRRP Instance VI_1 - Entering BACKUP state (digest of 4)',
    ]);
    assert.equal(s.mails[2]!.headers['x-vigil-digest'], '4');
    await t.n.close();
    await s.down();
  });

  test('a 5xx is given up and reported, the queue goes on; a 4xx is retried', BOUND, async () => {
    const s = new TestSmtp();
    await s.up();
    s.dataCode = 554;
    const t = await notifier(config(s.port));
    t.vrrp('VI_1', 'BACKUP', 'MASTER');
    await until('refused', () => t.of('notify.mail-failed').some((f) => f.permanent));
    s.dataCode = 451;
    t.vrrp('VI_1', 'MASTER', 'BACKUP');
    await until('a 4xx', () => t.of('notify.mail-failed').some((f) => !f.permanent));
    s.dataCode = null;
    await until('delivered', () => s.mails.length === 1);
    assert.equal(s.mails[0]!.headers['subject'], '[lb1] VRRP Instance VI_1 - Entering BACKUP state');
    assert.match(t.of('notify.mail-failed').find((f) => f.permanent)!.error, /554/);
    await t.n.close();
    await s.down();
  });
});

// ---------------------------------------------------------------- scripts

describe('notify scripts as processes', () => {
  test("a slow script holds its instance's next notify, not another instance's", BOUND, async () => {
    const rec = join(dir, 'order.log');
    const marker = join(dir, 'vi2.done');
    // the first script waits for VI_2's script (at most 5 s): run in parallel, VI_2 comes first
    const slow = script('slow.sh', `echo "start $1" >> ${rec}; i=0; while [ ! -e ${marker} ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done; echo "end $1" >> ${rec}`);
    const quick = script('quick.sh', `echo "quick $1" >> ${rec}; touch ${marker}`);
    const t = await notifier(config(1, '', `vrrp_instance VI_2 {
  interface lo
  virtual_router_id 52
  virtual_ipaddress {
    10.0.0.101/24
  }
  notify_master "${quick} VI_2"
}`).replace('  virtual_router_id 51', `  virtual_router_id 51\n  notify_master "${slow} VI_1"\n  notify_backup "${quick} VI_1"`), { options: { scriptTimeoutMs: 10_000 } });
    t.vrrp('VI_1', 'BACKUP', 'MASTER');
    t.vrrp('VI_1', 'MASTER', 'BACKUP');
    t.vrrp('VI_2', 'BACKUP', 'MASTER');
    await until('three scripts', () => t.of('notify.script-exited').length === 3);
    assert.deepEqual(readFileSync(rec, 'utf8').trim().split('\n'), ['start VI_1', 'quick VI_2', 'end VI_1', 'quick VI_1']);
    const exits = t.of('notify.script-exited');
    assert.ok(exits.every((x) => x.exitCode === 0));
    assert.ok(exits.find((x) => x.argv.includes('VI_1') && x.script === 'notify_backup')!.queuedMs > 0);
    await t.n.close();
  });

  test('a script past its timeout is killed with its whole process group', BOUND, async () => {
    const pidFile = join(dir, 'child.pid');
    const hung = script('hung.sh', `sleep 30 & echo $! > ${pidFile}; wait`);
    // the timeout counts from the request, which includes starting the spawn server: leave room for it
    const t = await notifier(config(1).replace('  virtual_router_id 51', `  virtual_router_id 51\n  notify_master ${hung}`), { options: { scriptTimeoutMs: 1500 } });
    t.vrrp('VI_1', 'BACKUP', 'MASTER');
    await until('killed', () => t.of('notify.script-exited').length === 1);
    const x = t.of('notify.script-exited')[0]!;
    assert.deepEqual([x.script, x.timedOut, x.exitCode], ['notify_master', true, null]);
    const child = Number(readFileSync(pidFile, 'utf8'));
    await until('the background child gone too', () => {
      try { process.kill(child, 0); return false; } catch { return true; }
    });
    await t.n.close();
  });

  test('a burst of 100 transitions: the generic notify runs them in event order', BOUND, async () => {
    const rec = join(dir, 'burst.log');
    const gen = script('generic.sh', `echo "$3 $4" >> ${rec}`);
    const t = await notifier(config(1).replace('smtp_alert\n', '').replace('  virtual_router_id 51', `  virtual_router_id 51\n  notify ${gen}`));
    const want: string[] = [];
    for (let i = 0; i < 100; i++) {
      const to = i % 2 ? 'BACKUP' : 'MASTER';
      t.vrrp('VI_1', i % 2 ? 'MASTER' : 'BACKUP', to, i + 1);
      want.push(`${to} ${i + 1}`);
    }
    await until('100 scripts', () => t.of('notify.script-exited').length === 100, 15_000);
    assert.deepEqual(readFileSync(rec, 'utf8').trim().split('\n'), want);
    await t.n.close();
  });
});

// ---------------------------------------------------------------- FIFOs

runFifoContract('mkfifo, O_RDWR | O_NONBLOCK', async () => {
  let n = 0;
  return {
    openFifo: (path, opts) => openFifo(path, opts),
    path: (name) => join(dir, `${name}-${++n}.fifo`),
    read: (path) => {
      const got: string[] = [];
      const stream = createReadStream(path);
      createInterface({ input: stream }).on('line', (l) => got.push(l));
      return { lines: () => got, stop: async () => { stream.destroy(); } };
    },
    teardown: async () => {},
  };
});

describe('notify FIFOs', () => {
  test("keepalived's lines, read by the notify_fifo_script started with the FIFO's path", BOUND, async () => {
    const fifo = join(dir, 'notify.fifo');
    const out = join(dir, 'fifo.out');
    const reader = script('reader.sh', `exec cat "$1" > ${out}`);
    const t = await notifier(config(1, `  notify_fifo ${fifo}\n  notify_fifo_script ${reader}`).replace('smtp_alert\n', '') + `
vrrp_sync_group G1 {
  group {
    VI_1
  }
}
virtual_server 10.0.0.100 80 {
  protocol TCP
  real_server 10.0.0.1 8080 {
    TCP_CHECK {
      connect_timeout 1
    }
  }
}
`);
    assert.equal(existsSync(fifo), true, 'created');
    t.vrrp('VI_1', 'BACKUP', 'MASTER', 150);
    t.bus.publish('sync-group', 'G1', 'sync.state', { type: 'sync.state', group: 'G1', from: 'BACKUP', to: 'MASTER', cause: 'VI_1' });
    t.bus.publish('vs', '10.0.0.100:80/tcp', 'vs.rs', { type: 'vs.rs', vs: '10.0.0.100:80/tcp', rs: '10.0.0.1:8080', address: '10.0.0.1', port: 8080, state: 'down', cause: 'x', initial: false, weight: 1 });
    t.bus.publish('vs', '10.0.0.100:80/tcp', 'vs.quorum', { type: 'vs.quorum', vs: '10.0.0.100:80/tcp', state: 'down', weight: 0, quorum: 1, hysteresis: 0, threshold: 1, initial: false, cause: 'x' });
    const lines = () => (existsSync(out) ? readFileSync(out, 'utf8') : '');
    await until('four lines', () => lines().split('\n').length === 5);
    assert.equal(lines(), [
      'INSTANCE "VI_1" MASTER 150',
      'GROUP "G1" MASTER 0',
      'RS [10.0.0.1]:tcp:8080 [10.0.0.100]:tcp:80 DOWN',
      'VS [10.0.0.100]:tcp:80 DOWN',
      '',
    ].join('\n'));
    await t.n.close();
    assert.equal(existsSync(fifo), false, 'the FIFO it created is removed at close');
    await until('the reader stopped', () => t.of('notify.script-exited').some((x) => x.script === 'notify_fifo_script'));
  });

  test('a FIFO nobody reads: writes never block, the overflow is dropped and counted', BOUND, async () => {
    const fifo = join(dir, 'unread.fifo');
    const t = await notifier(config(1, `  vrrp_notify_fifo ${fifo}`).replace('smtp_alert\n', ''));
    // ~35 bytes a line: 4,000 lines are twice a 64 KiB pipe
    for (let i = 0; i < 4000; i++) t.vrrp('VI_1', i % 2 ? 'MASTER' : 'BACKUP', i % 2 ? 'BACKUP' : 'MASTER');
    const f = t.n.stats().fifos[0]!;
    assert.equal(f.written + f.dropped, 4000);
    assert.ok(f.written > 0 && f.dropped > 0, JSON.stringify(f));
    assert.match(f.lastError ?? '', /full/);
    await t.n.close();
  });
});
