// The notifier's figures (issue #7), not part of `npm run bench`:
//   node --import tsx bench/notifier.ts latency [N]        (default 1,000 transitions)
//   node --import tsx bench/notifier.ts outage [SECONDS]   (default 600: a 10-minute SMTP outage)
// latency: N VRRP transitions, one every 20 ms, spread over 10 instances (burst control off), with
//   a generic notify script on each; from the transition's publication to (a) the mail accepted by
//   a local SMTP server (smtp-server on loopback, nodemailer, the outbox on disk) and (b) the
//   script's first command (`date +%s%N`, one fork after the shell starts): p50/p99/max.
// outage: the SMTP server is down for SECONDS while 5 instances flap (4 transitions a second in
//   all); then it comes back. Every mail owed (one per transition, or the digest burst control
//   made of it) must be delivered, once: owed = delivered is the figure. Default backoff (1 s → 5 min)
//   and burst control (10 a minute per instance).
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SMTPServer } from 'smtp-server';
import { loadConfig } from '../adapters/config/index.js';
import { createDirOutbox } from '../adapters/mail/outbox.js';
import { Bus } from '../actors/bus.js';
import { silentLogger } from '../actors/log.js';
import { NotifierActor } from '../actors/notifier.js';
import { memoryFs } from '../test/fakes/memoryFs.js';
import { recordFigures } from './common.js';

const dir = mkdtempSync(join(tmpdir(), 'vigil-notifier-bench-'));
const pct = (xs: number[], p: number) => xs[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;
const ms = (x: number) => `${x.toFixed(1)} ms`;
const sleep = (t: number) => new Promise((r) => setTimeout(r, t));

function smtpServer(onMail: (messageId: string, at: number) => void) {
  let server: SMTPServer | undefined;
  let port = 0;
  return {
    get port() { return port; },
    async up() {
      const s = new SMTPServer({
        authOptional: true, hideSTARTTLS: true, logger: false, disableReverseLookup: true,
        onData(stream, _session, cb) {
          let head = '';
          stream.on('data', (c: Buffer) => { if (head.length < 4096) head += c.toString('latin1'); });
          stream.on('end', () => {
            const id = /^message-id:\s*(\S+)/im.exec(head)?.[1] ?? '';
            onMail(id, Date.now());
            cb(null, 'queued');
          });
        },
      });
      await new Promise<void>((resolve) => s.listen(port, '127.0.0.1', () => resolve()));
      port = (s.server.address() as AddressInfo).port;
      server = s;
    },
    async down() {
      const s = server;
      server = undefined;
      if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
    },
  };
}

function config(port: number, notify: string, instances: number): string {
  let text = `global_defs {
  router_id bench
  notification_email {
    ops@example.com
  }
  notification_email_from vigil@example.com
  smtp_server 127.0.0.1 ${port}
  smtp_alert
}
`;
  for (let i = 0; i < instances; i++) {
    text += `vrrp_instance VI_${i} {
  interface lo
  virtual_router_id ${i + 1}
  virtual_ipaddress {
    10.0.${i}.1/24
  }
${notify ? `  notify ${notify}\n` : ''}}
`;
  }
  const r = loadConfig('/k.conf', { fs: memoryFs({ '/k.conf': text }) });
  if (r.exitCode) throw new Error(r.diagnostics.map((d) => d.message).join('\n'));
  return JSON.stringify(r.config);
}

async function latency(n: number): Promise<void> {
  const accepted = new Map<string, number>();
  const smtp = smtpServer((id, at) => accepted.set(id, at));
  await smtp.up();
  const rec = join(dir, 'started.log');
  const script = join(dir, 'notify.sh');
  writeFileSync(script, `#!/bin/sh\necho "$4 $(date +%s%N)" >> ${rec}\n`);
  chmodSync(script, 0o755);
  const cfg = JSON.parse(config(smtp.port, script, 10));
  const bus = new Bus('bench');
  const n_ = new NotifierActor({
    bus, log: silentLogger(), config: () => cfg, store: createDirOutbox(join(dir, 'outbox-latency')),
    options: { burst: { limit: Number.MAX_SAFE_INTEGER } },
  });
  await n_.start();
  const published = new Map<string, { id: string; at: number }>();
  const states = new Map<string, string>();
  for (let i = 0; i < n; i++) {
    const name = `VI_${i % 10}`;
    const from = states.get(name) ?? 'BACKUP';
    const to = from === 'MASTER' ? 'BACKUP' : 'MASTER';
    states.set(name, to);
    // the priority argument carries the transition's number to the script
    const e = bus.publish('vrrp', name, 'vrrp.state', { type: 'vrrp.state', instance: name, vrid: 1, from: from as never, to: to as never, cause: 'master-down-timeout', priority: i });
    published.set(String(i), { id: e.id, at: Date.parse(e.time) });
    await sleep(20);
  }
  const deadline = Date.now() + 60_000;
  while ((accepted.size < n || n_.stats().scripts.running || n_.stats().scripts.waiting) && Date.now() < deadline) await sleep(50);
  const mailLat: number[] = [];
  for (const p of published.values()) {
    const at = [...accepted].find(([id]) => id.startsWith(`<${p.id}@`))?.[1];
    if (at !== undefined) mailLat.push(at - p.at);
  }
  const scriptLat: number[] = [];
  for (const line of readFileSync(rec, 'utf8').trim().split('\n')) {
    const [i, ns] = line.split(' ');
    const p = published.get(i!);
    if (p) scriptLat.push(Number(BigInt(ns!) / 1000n) / 1000 - p.at);
  }
  mailLat.sort((a, b) => a - b);
  scriptLat.sort((a, b) => a - b);
  console.log(`latency: ${n} transitions, one every 20 ms over 10 instances`);
  console.log(`  transition → mail accepted:   ${mailLat.length}/${n} mails; p50 ${ms(pct(mailLat, 50))} p99 ${ms(pct(mailLat, 99))} max ${ms(mailLat.at(-1)!)}`);
  console.log(`  transition → script started: ${scriptLat.length}/${n} scripts; p50 ${ms(pct(scriptLat, 50))} p99 ${ms(pct(scriptLat, 99))} max ${ms(scriptLat.at(-1)!)}`);
  recordFigures('notifier', [
    { name: 'transition → mail accepted by the SMTP server', unit: 'ms', samples: mailLat, note: `${mailLat.length} of ${n} transitions` },
    { name: 'transition → notify script started', unit: 'ms', samples: scriptLat, note: `${scriptLat.length} of ${n} transitions` },
  ]);
  await n_.close();
  await smtp.down();
}

async function outage(seconds: number): Promise<void> {
  const received = new Map<string, number>();
  const smtp = smtpServer((id) => received.set(id, (received.get(id) ?? 0) + 1));
  await smtp.up();
  const cfg = JSON.parse(config(smtp.port, '', 5));
  const bus = new Bus('bench');
  const n_ = new NotifierActor({ bus, log: silentLogger(), config: () => cfg, store: createDirOutbox(join(dir, 'outbox-outage')) });
  await n_.start();
  await smtp.down();
  const t0 = Date.now();
  const states = new Map<string, string>();
  let transitions = 0;
  while (Date.now() - t0 < seconds * 1000) {
    const name = `VI_${transitions % 5}`;
    const from = states.get(name) ?? 'BACKUP';
    const to = from === 'MASTER' ? 'BACKUP' : 'MASTER';
    states.set(name, to);
    bus.publish('vrrp', name, 'vrrp.state', { type: 'vrrp.state', instance: name, vrid: 1, from: from as never, to: to as never, cause: 'master-down-timeout', priority: 100 });
    transitions++;
    await sleep(250);
  }
  const during = n_.stats().mail;
  await smtp.up();
  const back = Date.now();
  // the backoff is at most 5 min; then the queue drains
  while (Date.now() - back < 400_000) {
    const s = n_.stats().mail;
    if (s.pending === 0 && s.held === 0) break;
    await sleep(500);
  }
  const took = (Date.now() - back) / 1000;
  const s = n_.stats().mail;
  // one mail per transition, except those burst control folded into digests (one mail each)
  const owed = transitions - s.coalesced + s.digests;
  const twice = [...received.values()].filter((c) => c > 1).length;
  console.log(`outage: SMTP down ${seconds} s; ${transitions} transitions (5 instances, 4 a second in all)`);
  console.log(`  when it came back: ${during.pending} mails queued, ${during.held} held for digests, ${during.failedAttempts} failed attempts`);
  console.log(`  mails owed ${owed} (${transitions - s.coalesced} single, ${s.digests} digests of ${s.coalesced}); delivered ${s.delivered}; ` +
    `still pending ${s.pending}, given up ${s.refused}; the server got ${received.size} distinct Message-IDs, ${twice} more than once; ` +
    `all delivered ${took.toFixed(1)} s after the server came back`);
  const outageNote = `SMTP down ${seconds} s, ${transitions} transitions`;
  recordFigures('notifier', [
    { name: 'outage: mails owed', unit: 'mails', value: owed, note: outageNote },
    { name: 'outage: mails delivered', unit: 'mails', value: s.delivered, note: outageNote },
    { name: 'outage: mails delivered more than once', unit: 'mails', value: twice, note: outageNote },
    { name: 'outage: last mail delivered after the server came back', unit: 's', value: took, note: outageNote },
  ]);
  await n_.close();
  await smtp.down();
}

const [mode = 'latency', arg] = process.argv.slice(2);
try {
  if (mode === 'outage') await outage(Number(arg ?? 600));
  else await latency(Number(arg ?? 1000));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
