// actors/notifier.ts with fakes (test/fakes/mail.ts, runner.ts, fifo.ts): which notifications each
// event makes, in keepalived's words, with keepalived's triggers; the outbox's retries, restart and
// burst control; the per-instance script order. The real SMTP server, processes and FIFOs are in
// test/integration/notifier-smtp.test.ts.
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { Ajv } from 'ajv';
import { createDirOutbox, createMemoryOutbox, parseEntry } from '../../adapters/mail/outbox.js';
import type { OutboxStore } from '../../adapters/mail/types.js';
import { Bus, type BusEvent } from '../../actors/bus.js';
import type { EventMap } from '../../actors/event-types.js';
import { summary } from '../../actors/format-event.js';
import { silentLogger } from '../../actors/log.js';
import { NotifierActor, type NotifierOptions } from '../../actors/notifier.js';
import {
  checkerBody, fmtRs, fmtVs, genericArgs, instanceMail, quorumBody, rfc822, rsFifoLine, vrrpFifoLine, vsFifoLine,
} from '../../actors/notify-texts.js';
import type { VirtualServer } from '../../adapters/config/model.js';
import { FakeMailTransport } from '../fakes/mail.js';
import { memoryFifos } from '../fakes/fifo.js';
import { fakeRunner } from '../fakes/runner.js';
import { parse } from '../helpers.js';

const CONFIG = `global_defs {
  router_id lb1
  notification_email {
    ops@example.com
    oncall@example.com
  }
  notification_email_from vigil@example.com
  smtp_server 127.0.0.1 2525
  smtp_alert
  notify_fifo /run/all.fifo
  vrrp_notify_fifo /run/vrrp.fifo
  lvs_notify_fifo /run/lvs.fifo
  EXTRA
}
vrrp_sync_group G1 {
  group {
    VI_A
    VI_B
  }
  notify_master /bin/g-master
  notify /bin/g-notify
}
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 51
  priority 100
  virtual_ipaddress {
    10.0.0.100/24
  }
  notify_master "/bin/master arg1"
  notify_backup /bin/backup
  notify_fault /bin/fault
  notify_stop /bin/stop
  notify_deleted /bin/deleted
  notify /bin/generic
  notify_master_rx_lower_pri /bin/rxlow
  notify_priority_changes
}
vrrp_instance VI_2 {
  interface eth0
  virtual_router_id 52
  priority 100
  virtual_ipaddress {
    10.0.0.101/24
  }
  smtp_alert off
  notify /bin/generic2
}
vrrp_instance VI_A {
  interface eth0
  virtual_router_id 61
  virtual_ipaddress {
    10.0.1.1/24
  }
  notify_master /bin/a-master
}
vrrp_instance VI_B {
  interface eth0
  virtual_router_id 62
  virtual_ipaddress {
    10.0.1.2/24
  }
}
virtual_server 10.0.0.100 80 {
  protocol TCP
  quorum 2
  quorum_up /bin/qup
  quorum_down /bin/qdown
  real_server 10.0.0.1 80 {
    weight 1
    notify_up /bin/up
    notify_down "/bin/down now"
    TCP_CHECK {
      connect_timeout 1
    }
  }
  real_server 10.0.0.2 8080 {
    weight 1
    MISC_CHECK {
      misc_path /bin/true
    }
    HTTP_GET {
      url {
        path /
        status_code 200
      }
    }
  }
}
`;

const schema = new Ajv({ allErrors: true, strict: false }).compile(JSON.parse(readFileSync(join(import.meta.dirname, '../../docs/events.schema.json'), 'utf8')) as object);
/** every notify.* event the notifier published matches docs/events.schema.json */
function assertSchema(events: readonly BusEvent[]): void {
  const mine = events.filter((e) => e.kind === 'notify');
  assert.ok(mine.length > 0);
  for (const e of mine) assert.ok(schema(e), `${e.type}: ${JSON.stringify(schema.errors)}`);
}

/** promise chains and timers of a few ms settle */
const tick = () => new Promise((r) => setTimeout(r, 5));
async function until(what: string, cond: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await tick();
  }
}

async function setup(opts: { extra?: string; options?: NotifierOptions; store?: OutboxStore; transport?: FakeMailTransport; autoExit?: boolean; fifoCapacity?: number } = {}) {
  const loaded = parse(CONFIG.replace('EXTRA', opts.extra ?? ''));
  assert.deepEqual(loaded.diagnostics.filter((d) => d.severity === 'error').map((d) => d.message), []);
  const bus = new Bus('lb1');
  const events: BusEvent[] = [];
  bus.subscribe((e) => events.push(e));
  const scripts = fakeRunner(opts.autoExit === false ? {} : { autoExit: {} });
  const mail = opts.transport ?? new FakeMailTransport();
  const fifos = memoryFifos(opts.fifoCapacity);
  let config = loaded.config;
  const notifier = new NotifierActor({
    bus,
    log: silentLogger(),
    config: () => config,
    runner: scripts.runner,
    store: opts.store ?? createMemoryOutbox(),
    transport: () => mail,
    openFifo: fifos.openFifo,
    options: { backoff: { initialMs: 5, maxMs: 20, jitter: 0 }, ...opts.options },
  });
  await notifier.start();
  const publish = <K extends keyof EventMap>(kind: string, name: string, type: K, data: EventMap[K], link: { cause?: string } = {}) => bus.publish(kind, name, type, data, link);
  const vrrp = (name: string, from: string, to: string, extra: { cause?: string; priority?: number; link?: string } = {}) =>
    publish('vrrp', name, 'vrrp.state', {
      type: 'vrrp.state', instance: name, vrid: 51, from: from as never, to: to as never, cause: (extra.cause ?? 'master-down-timeout') as never, priority: extra.priority ?? 100,
    }, extra.link ? { cause: extra.link } : {});
  const group = (name: string, from: string, to: string) =>
    publish('sync-group', name, 'sync.state', { type: 'sync.state', group: name, from: from as never, to: to as never, cause: 'VI_A' });
  const argvs = () => scripts.runs.map((r) => r.spec.argv.join(' '));
  const of = (type: string) => events.filter((e) => e.type === type);
  return {
    bus, events, scripts, mail, fifos, notifier, publish, vrrp, group, argvs, of,
    setConfig: (text: string) => { config = parse(text).config; },
  };
}

describe('keepalived texts', () => {
  const vs = { kind: 'address', address: '10.0.0.100', port: 80, protocol: 'TCP' } as VirtualServer;
  const rs = { address: '10.0.0.1', port: 8080 } as VirtualServer['realServers'][number];

  test('addresses, FIFO lines and arguments', () => {
    assert.equal(fmtVs(vs), '[10.0.0.100]:tcp:80');
    assert.equal(fmtVs({ ...vs, kind: 'fwmark', fwmark: 5 }), 'FWM 5');
    assert.equal(fmtVs({ ...vs, kind: 'group', group: 'WEB', port: undefined } as VirtualServer), '[WEB]:0');
    assert.equal(fmtVs({ ...vs, address: '2001:db8::1', protocol: 'UDP' }), '[2001:db8::1]:udp:80');
    assert.equal(fmtRs(rs, vs), '[10.0.0.1]:tcp:8080');
    assert.equal(fmtRs({ ...rs, port: undefined } as typeof rs, vs), '[10.0.0.1]:tcp:80');
    assert.equal(vrrpFifoLine(false, 'VI_1', 'MASTER', 100), 'INSTANCE "VI_1" MASTER 100\n');
    assert.equal(vrrpFifoLine(true, 'G1', 'BACKUP', 0), 'GROUP "G1" BACKUP 0\n');
    assert.equal(vsFifoLine(vs, true), 'VS [10.0.0.100]:tcp:80 UP\n');
    assert.equal(rsFifoLine(rs, vs, false), 'RS [10.0.0.1]:tcp:8080 [10.0.0.100]:tcp:80 DOWN\n');
    assert.deepEqual(genericArgs(false, 'VI_1', 'MASTER', 150), ['INSTANCE', 'VI_1', 'MASTER', '150']);
    assert.deepEqual(genericArgs(true, 'G1', 'FAULT', 150), ['GROUP', 'G1', 'FAULT', '0']);
  });

  test('mail subjects and bodies', () => {
    assert.deepEqual(instanceMail('lb1', 'VI_1', 'MASTER'), { subject: '[lb1] VRRP Instance VI_1 - Entering MASTER state', body: '=> VRRP Instance is now owning VRRP VIPs <=' });
    assert.deepEqual(instanceMail('lb1', 'VI_1', 'STOP'), { subject: '[lb1] VRRP Instance VI_1 - Stopping', body: '=> VRRP Instance stopping <=' });
    assert.deepEqual(instanceMail('lb1', 'VI_1', 'DELETED'), { subject: '[lb1] VRRP Instance VI_1 - Deleted', body: '=> VRRP Deleted at reload <=' });
    assert.equal(checkerBody('TCP_CHECK', false, null), '=> TCP CHECK failed on service <=');
    assert.equal(checkerBody('HTTP_GET', false, null), '=> CHECK failed on service : HTTP/SSL request failed <=');
    assert.equal(checkerBody('SMTP_CHECK', false, 'connection refused'), '=> CHECK failed on service : connection refused <=');
    assert.equal(checkerBody('MISC_CHECK', false, 'timed out after 5000 ms'), '=> MISC CHECK timed out on service <=');
    assert.equal(checkerBody('MISC_CHECK', true, 'exit 0'), '=> MISC CHECK succeeded on service <=');
    assert.equal(checkerBody('DNS_CHECK', true, null), '=> DNS_CHECK: succeed on service <=');
    assert.equal(checkerBody('PING_CHECK', false, null), '=> ICMP CHECK failed on service <=');
    assert.equal(checkerBody('FILE_CHECK', false, null), undefined);
    const q = { quorum: 2, hysteresis: 1, weight: 4, cause: 'checker' };
    assert.equal(quorumBody({ ...q, state: 'up', initial: false, threshold: 3 }), '=> Gained quorum 2+1=3 <= 4 <=');
    assert.equal(quorumBody({ ...q, state: 'down', initial: false, threshold: 1, weight: 0 }), '=> Lost quorum 2+1=1 <= 0 <=');
    assert.equal(quorumBody({ ...q, state: 'down', initial: true, threshold: 3, weight: 0 }), '=> Starting with quorum down 2+1=3 <= 0 <=');
    assert.equal(quorumBody({ ...q, state: 'down', initial: false, threshold: 1, cause: 'shutdown' }), '=> Shutting down <=');
    assert.match(rfc822(Date.UTC(2026, 0, 5, 12, 0, 0)), /^Mon, 05 Jan 2026 \d\d:\d\d:00 [+-]\d{4}$/);
  });
});

describe('VRRP notifications', () => {
  test('a transition: its script, the generic one with four arguments, FIFO lines and a mail, all in its chain', async () => {
    const t = await setup();
    const e = t.vrrp('VI_1', 'BACKUP', 'MASTER', { priority: 150 });
    await until('scripts reported', () => t.of('notify.script-exited').length === 2);
    assert.deepEqual(t.argvs(), ['/bin/master arg1', '/bin/generic INSTANCE VI_1 MASTER 150']);
    assert.deepEqual(t.fifos.lines('/run/all.fifo'), ['INSTANCE "VI_1" MASTER 150\n']);
    assert.deepEqual(t.fifos.lines('/run/vrrp.fifo'), ['INSTANCE "VI_1" MASTER 150\n']);
    assert.deepEqual(t.fifos.lines('/run/lvs.fifo'), []);
    await until('the mail', () => t.mail.accepted.length === 1);
    const m = t.mail.accepted[0]!;
    assert.equal(m.subject, '[lb1] VRRP Instance VI_1 - Entering MASTER state');
    assert.equal(m.text.split('\n')[0], '=> VRRP Instance is now owning VRRP VIPs <=');
    assert.match(m.text, new RegExp(`vigil event ${e.id}`));
    assert.deepEqual([m.from, m.to], ['vigil@example.com', ['ops@example.com', 'oncall@example.com']]);
    assert.equal(m.headers['X-Mailer'], 'Keepalived');
    assert.match(m.messageId, new RegExp(`^<${e.id}@`));
    for (const n of t.events.filter((x) => x.kind === 'notify')) {
      assert.equal(n.cause, e.id);
      assert.equal(n.correlation, e.correlation);
      assert.equal(n.name, 'VI_1');
    }
    const exited = t.of('notify.script-exited')[0]!.data as unknown as EventMap['notify.script-exited'];
    assert.equal(exited.script, 'notify_master');
    assert.equal(exited.exitCode, 0);
    await until('mail-sent', () => t.of('notify.mail-sent').length === 1);
    // as `vigil events` / `vigil history` show them
    assert.equal(summary(t.of('notify.script-exited')[0]!), 'notify_master MASTER: exit 0');
    assert.equal(summary(t.of('notify.mail-sent')[0]!), 'mail sent: [lb1] VRRP Instance VI_1 - Entering MASTER state (attempt 1)');
    assertSchema(t.events);
    await t.notifier.close();
  });

  test('the cause chain goes into the mail', async () => {
    const t = await setup();
    const track = t.publish('track', 'chk', 'track.state', { type: 'track.state', tracker: 'chk', state: 'failed', previous: 'ok', cause: 'exit 1', consecutive: 2, weight: -60, reverse: false } as never);
    const prio = t.publish('vrrp', 'VI_1', 'vrrp.priority', { type: 'vrrp.priority', instance: 'VI_1', from: 150, to: 90 }, { cause: track.id });
    t.vrrp('VI_1', 'MASTER', 'BACKUP', { cause: 'higher-priority-advert', priority: 90, link: prio.id });
    await until('the mail', () => t.mail.accepted.length === 1);
    const text = t.mail.accepted[0]!.text;
    assert.match(text, /caused by:\n {2}.*vrrp\.priority priority 150 → 90\n {2}.*track\/chk track\.state failed \(exit 1\)/);
    // notify_priority_changes: the priority change was a FIFO line, the state MASTER at the time
    assert.deepEqual(t.fifos.lines('/run/vrrp.fifo'), ['INSTANCE "VI_1" BACKUP_PRIORITY 90\n', 'INSTANCE "VI_1" BACKUP 90\n']);
    await t.notifier.close();
  });

  test('smtp_alert: the instance wins over smtp_alert_vrrp over smtp_alert; mail only on a change of state', async () => {
    const t = await setup({ extra: 'smtp_alert_vrrp off' });
    t.vrrp('VI_1', 'INIT', 'BACKUP', { cause: 'startup' });
    t.vrrp('VI_2', 'INIT', 'BACKUP', { cause: 'startup' });
    await tick();
    assert.equal(t.notifier.stats().mail.pending + t.mail.accepted.length, 0, 'smtp_alert_vrrp off, instances without smtp_alert');
    await t.notifier.close();

    const u = await setup();
    u.vrrp('VI_1', 'INIT', 'BACKUP', { cause: 'startup' });
    u.vrrp('VI_2', 'INIT', 'BACKUP', { cause: 'startup' }); // smtp_alert off in the instance
    u.vrrp('VI_1', 'BACKUP', 'MASTER');
    u.vrrp('VI_1', 'MASTER', 'BACKUP', { cause: 'higher-priority-advert' });
    u.vrrp('VI_1', 'BACKUP', 'BACKUP', { cause: 'higher-priority-advert' });
    await until('three mails', () => u.mail.accepted.length === 3);
    await tick();
    assert.deepEqual(u.mail.accepted.map((m) => m.subject), [
      '[lb1] VRRP Instance VI_1 - Entering BACKUP state',
      '[lb1] VRRP Instance VI_1 - Entering MASTER state',
      '[lb1] VRRP Instance VI_1 - Entering BACKUP state',
    ]);
    await u.notifier.close();
  });

  test('no_email_faults: FAULT runs its scripts but sends no mail', async () => {
    const t = await setup({ extra: 'no_email_faults' });
    t.vrrp('VI_1', 'BACKUP', 'FAULT', { cause: 'fault' });
    await until('scripts', () => t.of('notify.script-exited').length === 2);
    assert.deepEqual(t.argvs(), ['/bin/fault', '/bin/generic INSTANCE VI_1 FAULT 100']);
    await tick();
    assert.equal(t.mail.accepted.length + t.notifier.stats().mail.pending, 0);
    await t.notifier.close();
  });

  test('no mail without notification_email or smtp_server', async () => {
    const t = await setup();
    t.setConfig(CONFIG.replace('EXTRA', '').replace('smtp_server 127.0.0.1 2525', ''));
    t.vrrp('VI_1', 'BACKUP', 'MASTER');
    await until('scripts', () => t.of('notify.script-exited').length === 2);
    assert.equal(t.notifier.stats().mail.pending + t.mail.accepted.length, 0);
    await t.notifier.close();
  });

  test('sync group: the group notifies; a member already in the group state sends nothing more', async () => {
    const t = await setup();
    t.vrrp('VI_A', 'INIT', 'BACKUP', { cause: 'startup' });
    t.group('G1', 'INIT', 'BACKUP');
    t.group('G1', 'BACKUP', 'MASTER');
    t.vrrp('VI_A', 'BACKUP', 'MASTER', { cause: 'sync-group' });
    await until('scripts', () => t.of('notify.script-exited').length === 3);
    await tick();
    assert.deepEqual(t.argvs(), ['/bin/g-notify GROUP G1 BACKUP 0', '/bin/g-master', '/bin/g-notify GROUP G1 MASTER 0']);
    assert.deepEqual(t.fifos.lines('/run/vrrp.fifo'), ['INSTANCE "VI_A" BACKUP 100\n', 'GROUP "G1" BACKUP 0\n', 'GROUP "G1" MASTER 0\n']);
    await until('mails', () => t.mail.accepted.length === 3);
    assert.deepEqual(t.mail.accepted.map((m) => [m.subject, m.text.split('\n')[0]]), [
      ['[lb1] VRRP Instance VI_A - Entering BACKUP state', '=> VRRP Instance is no longer owning VRRP VIPs <='],
      ['[lb1] VRRP Group G1 - Entering BACKUP state', '=> All VRRP group instances are now in BACKUP state <='],
      ['[lb1] VRRP Group G1 - Entering MASTER state', '=> All VRRP group instances are now in MASTER state <='],
    ]);
    await t.notifier.close();
  });

  test('rx lower priority and priority changes', async () => {
    const t = await setup();
    t.vrrp('VI_1', 'BACKUP', 'MASTER', { priority: 120 });
    t.publish('vrrp', 'VI_1', 'vrrp.rx-lower-priority', { type: 'vrrp.rx-lower-priority', instance: 'VI_1', src: '10.0.0.2', priority: 50, ours: 120 });
    t.publish('vrrp', 'VI_1', 'vrrp.priority', { type: 'vrrp.priority', instance: 'VI_1', from: 120, to: 110 });
    await until('scripts', () => t.of('notify.script-exited').length === 3);
    assert.deepEqual(t.argvs(), ['/bin/master arg1', '/bin/generic INSTANCE VI_1 MASTER 120', '/bin/rxlow']);
    assert.deepEqual(t.fifos.lines('/run/vrrp.fifo'), ['INSTANCE "VI_1" MASTER 120\n', 'INSTANCE "VI_1" MASTER_RX_LOWER_PRI 120\n', 'INSTANCE "VI_1" MASTER_PRIORITY 110\n']);
    await t.notifier.close();
  });

  test('daemon stop: STOP scripts with a 1 s timeout; group STOP', async () => {
    const t = await setup();
    t.publish('daemon', 'lb1', 'daemon.stopping', { version: 'x', instances: 4, syncGroups: 1 });
    t.vrrp('VI_1', 'MASTER', 'STOP', { cause: 'shutdown' });
    t.group('G1', 'MASTER', 'STOP');
    await until('scripts', () => t.of('notify.script-exited').length === 3);
    // two queues (the instance's and the group's): in order within each
    assert.deepEqual(t.argvs().filter((a) => !a.includes('GROUP')), ['/bin/stop', '/bin/generic INSTANCE VI_1 STOP 100']);
    assert.deepEqual(t.argvs().filter((a) => a.includes('GROUP')), ['/bin/g-notify GROUP G1 STOP 0']);
    assert.deepEqual(t.scripts.runs.map((r) => r.spec.timeoutMs), [1000, 1000, 1000]);
    await until('mails', () => t.mail.accepted.length === 2);
    assert.deepEqual(t.mail.accepted.map((m) => m.subject), ['[lb1] VRRP Instance VI_1 - Stopping', '[lb1] VRRP Group G1 - Stopping']);
    await t.notifier.close();
  });

  test('reload: a removed instance is DELETED, a replaced one is not STOPped', async () => {
    const t = await setup();
    t.vrrp('VI_1', 'INIT', 'BACKUP', { cause: 'startup' });
    t.vrrp('VI_2', 'INIT', 'BACKUP', { cause: 'startup' });
    await until('scripts', () => t.scripts.runs.length === 3);
    t.scripts.runs.length = 0;
    t.vrrp('VI_1', 'BACKUP', 'STOP', { cause: 'shutdown' });
    t.vrrp('VI_2', 'BACKUP', 'STOP', { cause: 'shutdown' });
    t.vrrp('VI_2', 'INIT', 'BACKUP', { cause: 'startup' }); // the replacement, behind the held STOP
    await tick();
    assert.deepEqual(t.argvs(), [], 'held until the reload report');
    t.publish('daemon', 'lb1', 'daemon.reloaded', {
      added: [], removed: ['VI_1'], replaced: ['VI_2'], changed: [], unchanged: 2,
      syncGroups: { added: [], removed: [], replaced: [] }, virtualServers: { added: [], removed: [], replaced: [], unchanged: 1 },
      trackers: 'kept', durationMs: 1,
    });
    await until('scripts', () => t.scripts.runs.length === 3);
    assert.deepEqual(t.argvs().filter((a) => !a.includes('VI_2')), ['/bin/deleted', '/bin/generic INSTANCE VI_1 DELETED 100']);
    assert.deepEqual(t.argvs().filter((a) => a.includes('VI_2')), ['/bin/generic2 INSTANCE VI_2 BACKUP 100']);
    await until('mails', () => t.mail.accepted.length === 2);
    assert.equal(t.mail.accepted[1]!.subject, '[lb1] VRRP Instance VI_1 - Deleted');
    await t.notifier.close();
  });

  test('fifo_write_vrrp_states_on_reload: the states a reload kept are written to the VRRP FIFOs (only with it)', async () => {
    for (const on of [true, false]) {
      const t = await setup(on ? { extra: 'fifo_write_vrrp_states_on_reload' } : {});
      t.vrrp('VI_1', 'INIT', 'BACKUP', { cause: 'startup' });
      t.vrrp('VI_1', 'BACKUP', 'MASTER', { priority: 120 });
      t.vrrp('VI_2', 'INIT', 'BACKUP', { cause: 'startup' });
      t.vrrp('VI_A', 'INIT', 'BACKUP', { cause: 'startup' });
      t.group('G1', 'INIT', 'BACKUP');
      await tick();
      const before = t.fifos.lines('/run/vrrp.fifo').length;
      // VI_2 replaced: it announces its own state; VI_1, VI_A and G1 kept theirs
      t.publish('daemon', 'lb1', 'daemon.reloaded', {
        added: [], removed: [], replaced: ['VI_2'], changed: [], unchanged: 3,
        syncGroups: { added: [], removed: [], replaced: [] }, virtualServers: { added: [], removed: [], replaced: [], unchanged: 1 },
        trackers: 'kept', durationMs: 1,
      });
      await until('fifo', () => !on || t.fifos.lines('/run/vrrp.fifo').length > before);
      await tick();
      const after = t.fifos.lines('/run/vrrp.fifo').slice(before);
      assert.deepEqual(after, on ? ['GROUP "G1" BACKUP 0\n', 'INSTANCE "VI_1" MASTER 120\n', 'INSTANCE "VI_A" BACKUP 100\n'] : []);
      assert.deepEqual(t.fifos.lines('/run/all.fifo').slice(before), after, 'notify_fifo too');
      assert.deepEqual(t.fifos.lines('/run/lvs.fifo'), []);
      await t.notifier.close();
    }
  });

  test('reload without notify_deleted: FAULT, the old way (and nothing when already in FAULT)', async () => {
    const t = await setup();
    t.setConfig(CONFIG.replace('EXTRA', '').replace('notify_deleted /bin/deleted', ''));
    t.vrrp('VI_1', 'BACKUP', 'STOP', { cause: 'shutdown' });
    t.vrrp('VI_A', 'FAULT', 'STOP', { cause: 'shutdown' });
    t.publish('daemon', 'lb1', 'daemon.reloaded', {
      added: [], removed: ['VI_1', 'VI_A'], replaced: [], changed: [], unchanged: 2,
      syncGroups: { added: [], removed: [], replaced: [] }, virtualServers: { added: [], removed: [], replaced: [], unchanged: 1 },
      trackers: 'kept', durationMs: 1,
    });
    await until('scripts', () => t.scripts.runs.length === 2);
    await tick();
    assert.deepEqual(t.argvs(), ['/bin/fault', '/bin/generic INSTANCE VI_1 FAULT 100']);
    assert.deepEqual(t.fifos.lines('/run/vrrp.fifo'), ['INSTANCE "VI_1" FAULT 100\n']);
    await t.notifier.close();
  });

  test('a STOP held for a reload report that never comes is a STOP', async () => {
    const t = await setup({ options: { reloadHoldMs: 20 } });
    t.vrrp('VI_1', 'MASTER', 'STOP', { cause: 'shutdown' });
    await until('scripts', () => t.scripts.runs.length === 2);
    assert.deepEqual(t.argvs(), ['/bin/stop', '/bin/generic INSTANCE VI_1 STOP 100']);
    await t.notifier.close();
  });
});

describe('checker and virtual server notifications', () => {
  const checker = (t: Awaited<ReturnType<typeof setup>>, id: string, from: 'up' | 'down', to: 'up' | 'down', extra: { first?: boolean; detail?: string } = {}) =>
    t.publish('checker', id, 'checker.state', {
      type: 'checker.state', checker: id, from, to, cause: to === 'up' ? 'succeeded' : 'failed', first: extra.first ?? false,
      attempts: 1, consecutive: 1, detail: extra.detail ?? null, latencyMs: 1,
    });
  const TCP = '10.0.0.100:80/tcp 10.0.0.1:80 TCP_CHECK#0';
  const MISC = '10.0.0.100:80/tcp 10.0.0.2:8080 MISC_CHECK#0';
  const HTTP = '10.0.0.100:80/tcp 10.0.0.2:8080 HTTP_GET#1';

  test("a checker changing state mails with its checker's text and the real server's state", async () => {
    const t = await setup();
    checker(t, TCP, 'up', 'up', { first: true }); // no change: nothing
    checker(t, MISC, 'up', 'up', { first: true }); // MISC reports its first result
    checker(t, TCP, 'up', 'down');
    checker(t, HTTP, 'up', 'down');
    checker(t, MISC, 'up', 'down', { detail: 'timed out after 5000 ms' });
    checker(t, HTTP, 'down', 'up');
    await until('mails', () => t.mail.accepted.length === 5);
    await tick();
    assert.deepEqual(t.mail.accepted.map((m) => [m.subject, m.text.split('\n')[0]]), [
      ['[lb1] Realserver [10.0.0.2]:tcp:8080 of virtual server [10.0.0.100]:tcp:80 - UP', '=> MISC CHECK succeeded on service <='],
      ['[lb1] Realserver [10.0.0.1]:tcp:80 of virtual server [10.0.0.100]:tcp:80 - DOWN', '=> TCP CHECK failed on service <='],
      ['[lb1] Realserver [10.0.0.2]:tcp:8080 of virtual server [10.0.0.100]:tcp:80 - DOWN', '=> CHECK failed on service : HTTP/SSL request failed <='],
      ['[lb1] Realserver [10.0.0.2]:tcp:8080 of virtual server [10.0.0.100]:tcp:80 - DOWN', '=> MISC CHECK timed out on service <='],
      // MISC is still down: the real server stays DOWN
      ['[lb1] Realserver [10.0.0.2]:tcp:8080 of virtual server [10.0.0.100]:tcp:80 - DOWN', '=> CHECK succeed on service <='],
    ]);
    await t.notifier.close();
  });

  test('no_checker_emails: only when the real server changes state', async () => {
    const t = await setup({ extra: 'no_checker_emails' });
    checker(t, HTTP, 'up', 'down');
    checker(t, MISC, 'up', 'down');
    checker(t, HTTP, 'down', 'up');
    checker(t, MISC, 'down', 'up');
    await until('mails', () => t.mail.accepted.length === 2);
    await tick();
    assert.deepEqual(t.mail.accepted.map((m) => m.text.split('\n')[0]), ['=> CHECK failed on service : HTTP/SSL request failed <=', '=> MISC CHECK succeeded on service <=']);
    await t.notifier.close();
  });

  test('real servers: notify_up/notify_down and RS lines; quorum: scripts, VS lines and mail', async () => {
    const t = await setup();
    const rs = (state: 'up' | 'down', cause = 'checker') =>
      t.publish('vs', '10.0.0.100:80/tcp', 'vs.rs', { type: 'vs.rs', vs: '10.0.0.100:80/tcp', rs: '10.0.0.1:80', address: '10.0.0.1', port: 80, state, cause, initial: false, weight: 1 });
    const quorum = (state: 'up' | 'down', weight: number, cause = 'checker') =>
      t.publish('vs', '10.0.0.100:80/tcp', 'vs.quorum', { type: 'vs.quorum', vs: '10.0.0.100:80/tcp', state, weight, quorum: 2, hysteresis: 0, threshold: 2, initial: false, cause });
    rs('down');
    quorum('down', 1);
    rs('up');
    quorum('up', 2);
    await until('scripts', () => t.scripts.runs.length === 4);
    assert.deepEqual(t.argvs(), ['/bin/down now', '/bin/qdown', '/bin/up', '/bin/qup']);
    assert.deepEqual(t.fifos.lines('/run/lvs.fifo'), [
      'RS [10.0.0.1]:tcp:80 [10.0.0.100]:tcp:80 DOWN\n', 'VS [10.0.0.100]:tcp:80 DOWN\n',
      'RS [10.0.0.1]:tcp:80 [10.0.0.100]:tcp:80 UP\n', 'VS [10.0.0.100]:tcp:80 UP\n',
    ]);
    assert.deepEqual(t.fifos.lines('/run/all.fifo'), t.fifos.lines('/run/lvs.fifo'));
    assert.deepEqual(t.fifos.lines('/run/vrrp.fifo'), []);
    await until('mails', () => t.mail.accepted.length === 2);
    assert.deepEqual(t.mail.accepted.map((m) => [m.subject, m.text.split('\n')[0]]), [
      ['[lb1] Virtualserver [10.0.0.100]:tcp:80 - DOWN', '=> Lost quorum 2+0=2 <= 1 <='],
      ['[lb1] Virtualserver [10.0.0.100]:tcp:80 - UP', '=> Gained quorum 2+0=2 <= 2 <='],
    ]);
    // omega at a stop: scripts with the STOP timeout, the real server's "Shutting down" mail
    t.publish('daemon', 'lb1', 'daemon.stopping', { version: 'x', instances: 4, syncGroups: 1 });
    rs('down', 'shutdown');
    await until('scripts', () => t.scripts.runs.length === 5);
    assert.equal(t.scripts.runs[4]!.spec.timeoutMs, 1000);
    await until('mails', () => t.mail.accepted.length === 3);
    assert.deepEqual([t.mail.accepted[2]!.subject, t.mail.accepted[2]!.text.split('\n')[0]], ['[lb1] Realserver [10.0.0.1]:tcp:80 of virtual server [10.0.0.100]:tcp:80 - DOWN', '=> Shutting down <=']);
    await t.notifier.close();
  });

  test('events naming nothing configured are counted, not fatal', async () => {
    const t = await setup();
    checker(t, 'nope', 'up', 'down');
    t.vrrp('VI_X', 'BACKUP', 'MASTER');
    await tick();
    assert.equal(t.notifier.stats().unknownTargets, 2);
    await t.notifier.close();
  });
});

describe('scripts in event order', () => {
  test("an instance's next script waits for the previous one; another instance's does not", async () => {
    const t = await setup({ autoExit: false });
    t.vrrp('VI_1', 'BACKUP', 'MASTER');
    t.vrrp('VI_2', 'BACKUP', 'MASTER');
    await tick();
    assert.deepEqual(t.argvs(), ['/bin/master arg1', '/bin/generic2 INSTANCE VI_2 MASTER 100']);
    t.scripts.runs[1]!.exit();
    await tick();
    assert.equal(t.scripts.runs.length, 2, "VI_1's generic notify waits for its notify_master");
    t.scripts.runs[0]!.exit();
    await until('the next', () => t.scripts.runs.length === 3);
    assert.equal(t.argvs()[2], '/bin/generic INSTANCE VI_1 MASTER 100');
    const queued = t.of('notify.script-exited').map((e) => (e.data as unknown as EventMap['notify.script-exited']).queuedMs);
    assert.equal(queued.length, 2);
    t.scripts.runs[2]!.exit();
    await t.notifier.close();
  });

  test('a script still running at its timeout is terminated, and the queue moves on', async () => {
    const t = await setup({ autoExit: false, options: { scriptTimeoutMs: 20 } });
    t.vrrp('VI_1', 'BACKUP', 'MASTER');
    await until('terminated', () => t.scripts.runs[0]?.terminated === true);
    await until('the next', () => t.scripts.runs.length === 2);
    const first = t.of('notify.script-exited')[0]!.data as unknown as EventMap['notify.script-exited'];
    assert.deepEqual([first.timedOut, first.signal, first.exitCode], [true, 'SIGTERM', null]);
    assertSchema(t.events);
    t.scripts.runs[1]!.exit();
    await t.notifier.close();
  });

  test('a full queue drops (and counts) instead of growing', async () => {
    const t = await setup({ autoExit: false, options: { scriptQueueLimit: 3 } });
    for (let i = 0; i < 4; i++) t.vrrp('VI_1', 'BACKUP', i % 2 ? 'BACKUP' : 'MASTER');
    await tick();
    // 1 running, 3 waiting, the other 4 of the 8 dropped
    assert.deepEqual([t.notifier.stats().scripts.running, t.notifier.stats().scripts.waiting, t.notifier.stats().scripts.dropped], [1, 3, 4]);
    // let the rest run to their end
    while (t.notifier.stats().scripts.running) {
      for (const r of t.scripts.runs) r.exit();
      await tick();
    }
    await t.notifier.close();
  });

  test('close waits for the scripts, and terminates what outlives the grace', async () => {
    const t = await setup({ autoExit: false, options: { stopScriptTimeoutMs: 10 } });
    t.publish('daemon', 'lb1', 'daemon.stopping', { version: 'x', instances: 4, syncGroups: 1 });
    t.vrrp('VI_1', 'MASTER', 'STOP', { cause: 'shutdown' });
    await t.notifier.close();
    assert.ok(t.scripts.runs.every((r) => r.exited));
  });
});

describe('FIFOs', () => {
  test('a full FIFO drops lines and counts them; nothing waits', async () => {
    const t = await setup({ fifoCapacity: 2 });
    for (let i = 0; i < 5; i++) t.vrrp('VI_2', 'BACKUP', i % 2 ? 'BACKUP' : 'MASTER');
    const vrrpFifo = t.notifier.stats().fifos.find((f) => f.path === '/run/vrrp.fifo')!;
    assert.deepEqual([vrrpFifo.written, vrrpFifo.dropped], [2, 3]);
    assert.match(vrrpFifo.lastError ?? '', /full/);
    await t.notifier.close();
    assert.equal(t.fifos.isOpen('/run/vrrp.fifo'), false, 'closed with the notifier');
  });
});

describe('the mail outbox', () => {
  test('SMTP down: retried with backoff, delivered once when it is back', async () => {
    const mail = new FakeMailTransport();
    mail.down = true;
    const t = await setup({ transport: mail });
    t.vrrp('VI_1', 'BACKUP', 'MASTER');
    t.vrrp('VI_1', 'MASTER', 'BACKUP', { cause: 'higher-priority-advert' });
    await until('retries', () => mail.attempts >= 4);
    assert.equal(t.notifier.stats().mail.pending, 2);
    const failed = t.of('notify.mail-failed').map((e) => e.data as unknown as EventMap['notify.mail-failed']);
    assert.ok(failed.every((f) => !f.permanent && f.subject.endsWith('Entering MASTER state')), 'only the head is retried');
    assert.deepEqual(failed.slice(0, 3).map((f) => f.attempt), [1, 2, 3]);
    mail.down = false;
    await until('delivered', () => mail.accepted.length === 2);
    await tick();
    assert.deepEqual(mail.accepted.map((m) => m.subject.split(' - ')[1]), ['Entering MASTER state', 'Entering BACKUP state']);
    const sent = t.of('notify.mail-sent').map((e) => e.data as unknown as EventMap['notify.mail-sent']);
    assert.equal(sent.length, 2);
    assert.ok(sent[0]!.attempt > 1);
    assertSchema(t.events);
    await t.notifier.close();
  });

  test('a mail refused for good is given up, reported, and the next one goes', async () => {
    const mail = new FakeMailTransport();
    mail.dataReply = 554;
    const t = await setup({ transport: mail });
    t.vrrp('VI_1', 'BACKUP', 'MASTER');
    await until('refused', () => t.of('notify.mail-failed').length === 1);
    mail.dataReply = null;
    t.vrrp('VI_1', 'MASTER', 'BACKUP', { cause: 'higher-priority-advert' });
    await until('the next', () => mail.accepted.length === 1);
    const f = t.of('notify.mail-failed')[0]!.data as unknown as EventMap['notify.mail-failed'];
    assert.equal(f.permanent, true);
    assert.equal(t.notifier.stats().mail.refused, 1);
    await t.notifier.close();
  });

  test('a restart over the same outbox sends what was owed, and nothing twice', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vigil-outbox-'));
    after(() => rmSync(dir, { recursive: true, force: true }));
    const mail = new FakeMailTransport();
    const a = await setup({ transport: mail, store: createDirOutbox(dir), options: { finalDrainMs: 0 } });
    a.vrrp('VI_1', 'BACKUP', 'MASTER');
    await until('delivered', () => mail.accepted.length === 1);
    mail.down = true;
    a.vrrp('VI_1', 'MASTER', 'BACKUP', { cause: 'higher-priority-advert' });
    a.vrrp('VI_1', 'BACKUP', 'FAULT', { cause: 'fault' });
    await until('an attempt', () => mail.attempts >= 2);
    await a.notifier.close();
    await until('the files', () => readdirSync(dir).length === 2);
    const owed = readdirSync(dir).map((f) => parseEntry(readFileSync(join(dir, f), 'utf8'))!.message.subject);
    assert.deepEqual(owed.map((s) => s.split(' - ')[1]), ['Entering BACKUP state', 'Entering FAULT state']);

    mail.down = false;
    mail.closed = false; // the next vigil has a transport of its own
    const b = await setup({ transport: mail, store: createDirOutbox(dir) });
    await until('delivered after the restart', () => mail.accepted.length === 3);
    await tick();
    assert.deepEqual(mail.accepted.map((m) => m.subject.split(' - ')[1]), ['Entering MASTER state', 'Entering BACKUP state', 'Entering FAULT state']);
    await until('the outbox empties', () => readdirSync(dir).length === 0);
    await b.notifier.close();
    mail.closed = false;
    // a third start finds nothing owed
    const c = await setup({ transport: mail, store: createDirOutbox(dir) });
    await tick();
    assert.equal(mail.accepted.length, 3);
    await c.notifier.close();
  });

  test('burst control: past the limit, the rest of the window becomes one digest', async () => {
    const t = await setup({ options: { burst: { limit: 3, windowMs: 150 } } });
    for (let i = 0; i < 8; i++) t.vrrp('VI_1', i % 2 ? 'MASTER' : 'BACKUP', i % 2 ? 'BACKUP' : 'MASTER', { cause: 'higher-priority-advert' });
    t.publish('vs', '10.0.0.100:80/tcp', 'vs.quorum', { type: 'vs.quorum', vs: '10.0.0.100:80/tcp', state: 'down', weight: 0, quorum: 2, hysteresis: 0, threshold: 2, initial: false, cause: 'x' });
    await until('the first three and the other key', () => t.mail.accepted.length === 4);
    assert.equal(t.notifier.stats().mail.held, 5);
    await until('the digest', () => t.mail.accepted.length === 5);
    const d = t.mail.accepted[4]!;
    assert.equal(d.subject, '[lb1] VRRP Instance VI_1 - Entering BACKUP state (digest of 5)');
    assert.match(d.text, /^=> 5 notifications about vrrp\/VI_1 within 1 min, coalesced into this mail \(burst control\); the latest says: <=\n=> VRRP Instance is no longer owning VRRP VIPs <=/);
    assert.equal(d.text.match(/vigil event /g)?.length, 5);
    const sent = t.of('notify.mail-sent').map((e) => e.data as unknown as EventMap['notify.mail-sent']);
    assert.equal(sent.at(-1)!.coalesced, 5);
    assertSchema(t.events);
    await t.notifier.close();
  });

  test('held mails found at start (the window ended while vigil was down) become a digest at once', async () => {
    const store = createMemoryOutbox();
    const mail = new FakeMailTransport();
    mail.down = true;
    const a = await setup({ transport: mail, store, options: { burst: { limit: 1, windowMs: 60_000 }, finalDrainMs: 0 } });
    for (let i = 0; i < 4; i++) a.vrrp('VI_1', 'BACKUP', i % 2 ? 'BACKUP' : 'MASTER');
    await tick();
    // close folds the held ones into a digest before it stops
    await a.notifier.close();
    const left = (await store.load()).entries;
    assert.deepEqual(left.map((e) => (e.covers ? `digest of ${e.covers.length}` : 'mail')), ['mail', 'digest of 3']);
    mail.down = false;
    mail.closed = false;
    const b = await setup({ transport: mail, store });
    await until('delivered', () => mail.accepted.length === 2);
    await b.notifier.close();
  });
});

