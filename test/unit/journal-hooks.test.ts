// The daemon's side of the journal's backlog bound (actors/journal-hooks.ts): which bus events are
// essential, the log lines, the summary when the journal recovers, and the metrics. A real file
// journal in a temp directory whose writer runs only when the test flushes, as on a stalled disk
// (test/faults/disk-full.test.ts has the full disk).
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, test } from 'node:test';
import { pino } from 'pino';
import { openJournal } from '../../adapters/journal/file.js';
import { Bus } from '../../actors/bus.js';
import { Daemon } from '../../actors/daemon.js';
import { DaemonHealth } from '../../actors/health.js';
import { essentialEvent, journalHooks, type JournalRecovered } from '../../actors/journal-hooks.js';
import { silentLogger } from '../../actors/log.js';
import { createMetrics } from '../../actors/metrics.js';
import { createMemoryLan } from '../fakes/vrrpNet.js';
import { FakeIpNet } from '../fakes/ipNet.js';
import { parse } from '../helpers.js';
import { parsePromText, valueOf } from '../helpers/promtext.js';

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

test('essential: transitions, commands, the daemon, unknown types; not: per-packet and per-attempt reports', () => {
  for (const type of ['vrrp.state', 'vrrp.priority', 'sync.state', 'track.state', 'checker.state', 'vs.rs', 'lb.change', 'nats.state', 'daemon.started', 'operator.command', 'journal.recovered', 'some.future-type']) {
    assert.equal(essentialEvent({ type, data: {} }), true, type);
  }
  for (const type of ['vrrp.rx-lower-priority', 'vrrp.drop', 'lb.error', 'notify.script-exited', 'notify.mail-sent', 'notify.mail-failed']) {
    assert.equal(essentialEvent({ type, data: {} }), false, type);
  }
  // not an event at all: kept (the journal is not the place to judge it)
  assert.equal(essentialEvent(null), true);
  assert.equal(essentialEvent(42), true);
});

test('a stalled journal: reports dropped before transitions, one summary with the counts, log lines, metrics', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'vigil-jhooks-'));
  dirs.push(dir);
  const lines: { level: number; msg: string }[] = [];
  const sink = new Writable({ write: (c: Buffer, _e, done) => (lines.push(JSON.parse(c.toString()) as { level: number; msg: string }), done()) });
  const summaries: JournalRecovered[] = [];
  const LIMIT = 128 << 10;
  // nothing starts the writer but flush(): no timer within the test, no batch big enough
  const journal = await openJournal(dir, { maxBacklogBytes: LIMIT, syncIntervalMs: 60_000, batchBytes: 1 << 20, ...journalHooks({ dir, log: pino(sink), publish: (d) => summaries.push(d) }) });
  const bus = new Bus('n');
  bus.subscribe((e) => void journal.append(e.id, e));
  const daemon = new Daemon(parse('global_defs {\n  router_id n\n}\n').config, { net: createMemoryLan().net('n', { eth0: ['10.0.0.1'] }), ip: new FakeIpNet(), log: silentLogger(), bus });
  const health = new DaemonHealth(bus);
  const metrics = createMetrics({ daemon, version: 'x', health: health.report, processMetrics: false, journal: () => journal });

  // a flood of lower-priority reports, then transitions, all before the writer gets a turn
  let published = 0;
  for (let i = 0; i < 2000; i++, published++) {
    bus.publish('vrrp', 'VI_1', 'vrrp.rx-lower-priority', { type: 'vrrp.rx-lower-priority', instance: 'VI_1', src: `10.0.${i >> 8}.${i & 255}`, priority: 50, ours: 100 });
  }
  const reportsKept = journal.lastSeq;
  for (let i = 0; i < 1000; i++, published++) {
    bus.publish('vrrp', 'VI_1', 'vrrp.state', { type: 'vrrp.state', instance: 'VI_1', vrid: 51, from: 'BACKUP', to: 'MASTER', cause: 'master-down-timeout', priority: 100 });
  }
  const s = journal.stats();
  assert.ok(s.backlogBytes <= LIMIT, `${s.backlogBytes} bytes held`);
  assert.ok(reportsKept < 2000 && journal.lastSeq - reportsKept > 0, 'transitions had room the reports could not take');
  assert.equal(journal.lastSeq + s.droppedBacklog, published, 'every event journaled or counted as dropped');
  let f = parsePromText(await metrics.text());
  assert.equal(valueOf(f, 'vigil_journal_backlog_bytes'), s.backlogBytes);
  assert.equal(valueOf(f, 'vigil_journal_dropped_total', { essential: 'false' }), 2000 - reportsKept);
  assert.equal(valueOf(f, 'vigil_journal_dropped_total', { essential: 'true' }), s.droppedBacklogEssential);
  assert.ok(s.droppedBacklogEssential > 0, 'the scenario reaches the whole bound');
  const errors = () => lines.filter((l) => l.level === 50).map((l) => l.msg);
  assert.equal(errors().length, 2, errors().join('\n'));

  await journal.flush();
  assert.deepEqual(summaries, [
    {
      dir,
      failures: 0,
      durationMs: summaries[0]?.durationMs ?? -1,
      lost: s.droppedBacklog,
      lostEssential: s.droppedBacklogEssential,
      lostByType: { 'vrrp.rx-lower-priority': 2000 - reportsKept, 'vrrp.state': s.droppedBacklogEssential },
    },
  ]);
  assert.match(errors()[2]!, new RegExp(`journal ${dir}: ${s.droppedBacklog} events were dropped`));
  assert.ok(lines.some((l) => l.level === 40 && l.msg.includes(`${s.droppedBacklog} events lost (${s.droppedBacklogEssential} essential)`)));
  f = parsePromText(await metrics.text());
  assert.equal(valueOf(f, 'vigil_journal_backlog_bytes'), 0);
  metrics.close();
  health.close();
  await daemon.stop();
  await journal.close();
});
