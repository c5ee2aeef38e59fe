// Fault: the journal's disk fills up. Host 1's journal lives on a 256 KiB tmpfs mounted for the
// test; a filler file takes the rest of it. While the disk is full, host 1 keeps doing VRRP
// (handovers by operator priority both ways), logs the journal error once rather than once per
// retry, keeps the events in memory (nothing is lost: adapters/journal/file.ts retries the batch
// with a back-off up to 5 s) and, when the filler is removed, writes them all: the journal then
// holds every transition host 1 logged, in order.
//
// Then the disk fills again and events keep coming (a flood of refused operator commands, 12 KB of
// event each): the backlog in memory stops at its bound (16 MiB; RSS flat from one flood to the
// next), every event is journaled or counted as dropped, the dropping is logged once when it
// starts and once with the totals when the disk has room again (tmpfs grown), and the journal
// then holds what was kept. The file journal alone on a full tmpfs, with vigil's classification:
// reports dropped first, transitions kept, and the recovery's counts exact.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import type { JournalError } from '../../adapters/journal/errors.js';
import { JOURNAL_DEFAULTS, openJournal, type JournalRecovery } from '../../adapters/journal/file.js';
import { essentialEvent } from '../../actors/journal-hooks.js';
import { Lab, netnsSkipReason } from '../netns/lab.js';
import { addresses, cleanup, eventually, startVigil, tempDir, vigilBuilt, type Daemon } from '../netns/daemons.js';
import { parsePromText, samples, valueOf } from '../helpers/promtext.js';
import { assertAlive, assertJournalHasTransitions, controlSock, journalEvents, nextLine, sleep, status, Timeline, vigilCli, vrrpConf } from './helpers.js';

const skip = netnsSkipReason() ?? vigilBuilt();
if (skip) console.log(`# skipping faults/disk-full: ${skip}`);

const VIP = '10.99.0.100';
const PORT = 9782;
/** bytes free on the filesystem at `dir` */
const freeAt = (dir: string) => {
  const s = statfsSync(dir);
  return s.bavail * s.bsize;
};

describe('fault: the journal\'s disk is full', { skip, timeout: 60_000 }, () => {
  let lab: Lab;
  let dir: string;
  let mnt: string;
  let mounted = false;
  const d: Daemon[] = [];
  const tl = new Timeline();
  const journal = () => join(mnt, 'journal');
  const filler = () => join(mnt, 'filler');
  const journalErrors = () => d[1]!.lines.filter((l) => l.startsWith(`journal ${journal()}: `));
  const free = () => freeAt(mnt);

  /** host 1's metrics that count events (fetched inside its namespace) */
  async function counts() {
    const f = parsePromText(await lab.exec(1, 'curl', ['-sf', `http://127.0.0.1:${PORT}/metrics`]));
    return {
      events: samples(f, 'vigil_events_total').reduce((n, x) => n + x.value, 0),
      lastSeq: valueOf(f, 'vigil_journal_last_seq'),
      backlog: valueOf(f, 'vigil_journal_backlog_bytes'),
      dropped: samples(f, 'vigil_journal_dropped_total').reduce((n, x) => n + x.value, 0),
      writeErrors: valueOf(f, 'vigil_journal_write_errors_total'),
      /** Buffers outside the JS heap, the backlog's records among them */
      external: valueOf(f, 'vigil_nodejs_external_memory_bytes'),
    };
  }
  const rssMb = async () => {
    const pid = (await status(controlSock(dir, 1))).pid as number;
    return Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;
  };

  /** one handover each way by operator priority on host 1 */
  async function failovers() {
    for (const [prio, to] of [['1', 2], ['restore', 1]] as const) {
      const took = nextLine(d[to]!, /\(VI_1\) Entering MASTER STATE/, 5000);
      const r = await vigilCli(['priority', 'VI_1', prio, '--control', controlSock(dir, 1)]);
      assert.equal(r.code, 0, r.stderr);
      await took;
      await eventually(async () => (await addresses(lab, to)).includes(VIP), 2000, `VIP on host ${to}`);
    }
  }

  before(async () => {
    lab = await Lab.create({ hosts: 2, tag: 'fdsk' });
    dir = tempDir('fdsk');
    mnt = join(dir, 'mnt');
    mkdirSync(mnt);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', mnt]);
    mounted = true;
    d[2] = startVigil(lab, 2, vrrpConf({ node: 'h2', prio: 100 }), dir);
    d[1] = startVigil(lab, 1, vrrpConf({ node: 'h1', prio: 150 }), dir, ['--journal', journal(), '--http', `127.0.0.1:${PORT}`]);
    for (const i of [1, 2]) tl.watch(d[i]!);
    await d[1]!.waitFor(/Entering MASTER STATE/, 5000);
    await eventually(() => tl.masters('VI_1').join() === '1', 5000, 'host 1 the only MASTER');
  });
  after(async () => {
    await Promise.all(d.filter(Boolean).map((x) => x.stop('SIGKILL')));
    if (mounted) execFileSync('umount', ['-l', mnt]);
    await lab?.destroy();
    if (dir) cleanup(dir);
  });

  test('disk full: VRRP goes on, one error line, nothing lost; space freed: the journal catches up', async () => {
    // fill the tmpfs to the last block
    writeFileSync(filler(), Buffer.alloc(free()));
    assert.equal(free(), 0, 'the disk is full');

    await failovers();
    await failovers();
    await sleep(3000); // the writer retries meanwhile (back-off 10 ms, 20 ms … 5 s)
    const errs = journalErrors();
    console.log(`# disk full: ${errs.length} journal error line(s) in ~4 s of retries: ${errs[0] ?? ''}`);
    assert.ok(errs.length >= 1, 'the failure is reported');
    assert.match(errs[0]!, /ENOSPC|no space/i);
    assert.equal(errs.length, 1, `reported once, not per retry:\n${errs.join('\n')}`);
    assert.deepEqual(tl.masters('VI_1'), [1], 'VRRP unaffected');
    await assertAlive(d[1]!, controlSock(dir, 1));
    // (what fitted in the segment's last allocated page was written; the rest waits in memory)

    rmSync(filler());
    const freed = Date.now();
    // everything held in memory is written within the retry back-off (at most 5 s)
    await eventually(async () => (await journalEvents(journal())).filter((e) => e.type === 'vrrp.state').length >= tl.count('VI_1', 'MASTER', 0, 1) + tl.count('VI_1', 'BACKUP', 0, 1), 8000, 'the journal caught up');
    console.log(`# space freed: the journal caught up within ${Date.now() - freed} ms`);
    await failovers(); // and appends go on as usual
  });

  test('disk full and an event flood: the backlog stays bounded; every event journaled or counted; the loss logged on recovery', async () => {
    const LIMIT = JOURNAL_DEFAULTS.maxBacklogBytes;
    const N = 4000;
    const FLOODS = 4;
    /** N refused operator commands on one connection: each a 12 KB operator.command event */
    const NAME = `flood-${'x'.repeat(4000)}`;
    const flood = () =>
      new Promise<number>((resolve, reject) => {
        const c = net.connect(controlSock(dir, 1));
        let replies = 0;
        let buf = '';
        c.setEncoding('utf8');
        c.on('data', (chunk: string) => {
          buf += chunk;
          for (let nl; (nl = buf.indexOf('\n')) >= 0; buf = buf.slice(nl + 1)) replies++;
          if (replies === N) c.end(() => resolve(replies));
        });
        c.on('error', reject);
        c.write(`${JSON.stringify({ cmd: 'priority', instance: NAME, priority: 1 })}\n`.repeat(N));
      });
    const errorsBefore = journalErrors().length;
    writeFileSync(filler(), Buffer.alloc(free()));
    assert.equal(free(), 0, 'the disk is full');
    const c0 = await counts();
    const rss0 = await rssMb();
    const after: { c: Awaited<ReturnType<typeof counts>>; rss: number; ms: number }[] = [];
    for (let k = 0; k < FLOODS; k++) {
      const t = Date.now();
      assert.equal(await flood(), N);
      after.push({ c: await counts(), rss: await rssMb(), ms: Date.now() - t });
    }
    const MiB = (n: number) => (n / 2 ** 20).toFixed(1);
    const last = after.at(-1)!.c;
    console.log(`# disk full, ${FLOODS} floods of ${N} events of 12 KB (${MiB(FLOODS * N * 12_300)} MiB): backlog ${after.map((x) => MiB(x.c.backlog)).join(', ')} MiB (limit ${MiB(LIMIT)}); ` +
      `external memory ${MiB(c0.external)} → ${after.map((x) => MiB(x.c.external)).join(', ')} MiB; RSS ${rss0.toFixed(0)} → ${after.map((x) => x.rss.toFixed(0)).join(', ')} MB; ` +
      `dropped ${last.dropped - c0.dropped}; ${last.writeErrors - c0.writeErrors} failed writes; floods took ${after.map((x) => x.ms).join(', ')} ms`);
    // bounded: the backlog reaches its bound and stays there, and so does the memory holding it (the
    // records are Buffers: external memory; the retries write them where they are, no copy); RSS
    // does not follow the floods (unbounded, each would add its 47 MiB; what varies is JS garbage)
    assert.ok(after[0]!.c.backlog > LIMIT - (64 << 10), `the first flood fills the backlog (${after[0]!.c.backlog} bytes)`);
    for (const x of after) {
      assert.ok(x.c.backlog <= LIMIT, `backlog ${x.c.backlog} bytes`);
      assert.ok(x.c.external < c0.external + LIMIT + (4 << 20), `external memory ${MiB(x.c.external)} MiB`);
    }
    const grew = after.at(-1)!.rss - after[0]!.rss;
    assert.ok(grew < 2 * (N * 12_300) / 2 ** 20, `RSS grew ${grew.toFixed(0)} MB over ${FLOODS - 1} more floods`);
    // counted: every event published is journaled (a seq) or dropped
    const published = last.events - c0.events;
    assert.ok(published >= FLOODS * N, `${published} events published`);
    const dropped = last.dropped - c0.dropped;
    assert.equal(last.lastSeq - c0.lastSeq + dropped, published, 'journaled + dropped = published');
    assert.ok(dropped >= (FLOODS - 1) * N, `${dropped} dropped`);
    const started = journalErrors().slice(errorsBefore).filter((l) => /dropped and counted until the journal catches up/.test(l));
    assert.equal(started.length, 1, `the dropping reported once:\n${journalErrors().slice(errorsBefore).join('\n')}`);
    assert.deepEqual(tl.masters('VI_1'), [1], 'VRRP unaffected');
    await assertAlive(d[1]!, controlSock(dir, 1));

    // the disk grows: the journal writes its backlog and reports what was lost, once
    const totals = nextLine(d[1]!, /events were dropped, never written/, 15_000);
    rmSync(filler());
    execFileSync('mount', ['-o', 'remount,size=64m', mnt]);
    const line = await totals;
    console.log(`# disk grown: ${line}`);
    assert.equal(Number(/(\d+) events were dropped/.exec(line)![1]), dropped);
    assert.match(line, new RegExp(`: ${dropped} operator\\.command$`));
    const ev = await journalEvents(journal());
    const kept = ev.filter((e) => e.type === 'operator.command' && e.data.instance === NAME).length;
    assert.equal(kept + dropped, FLOODS * N, 'the journal holds the flood\'s events that were not dropped');
    // and the loss is itself an event, in the journal, with the same count
    const recovered = ev.filter((e) => e.type === 'journal.recovered');
    assert.ok(recovered.some((e) => e.data.lost === dropped), `a journal.recovered event with lost = ${dropped}: ${JSON.stringify(recovered.map((e) => e.data))}`);
    assert.equal((await counts()).backlog, 0);
  });

  test('the journal holds every transition host 1 logged, before, during and after the full disk', async () => {
    assert.equal(await d[1]!.stop(), 0);
    await assertJournalHasTransitions([d[1]!], journal());
  });
});

describe('the file journal on a full tmpfs: reports dropped first, transitions kept, the loss counted', { skip: process.getuid?.() === 0 ? false : 'needs root (mounts a tmpfs)', timeout: 30_000 }, () => {
  let dir: string;
  let mnt: string;
  let mounted = false;
  before(() => {
    dir = tempDir('fdskj');
    mnt = join(dir, 'mnt');
    mkdirSync(mnt);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', mnt]);
    mounted = true;
  });
  after(() => {
    if (mounted) execFileSync('umount', ['-l', mnt]);
    if (dir) cleanup(dir);
  });

  test('a backlog of 64 KiB: writes fail, reports stop at half, transitions use the rest; recovery reports the counts', async () => {
    const LIMIT = 64 << 10;
    const errors: JournalError[] = [];
    const recoveries: JournalRecovery[] = [];
    const j = await openJournal(join(mnt, 'journal'), {
      syncIntervalMs: 1,
      maxBacklogBytes: LIMIT,
      essential: essentialEvent,
      onError: (e) => errors.push(e as JournalError),
      onRecovered: (r) => recoveries.push(r),
    });
    const report = (i: number) => ({ type: 'vrrp.rx-lower-priority', data: { src: `10.0.0.${i % 250}`, pad: 'r'.repeat(300) } });
    const transition = (i: number) => ({ type: 'vrrp.state', data: { to: i % 2 ? 'MASTER' : 'BACKUP', pad: 's'.repeat(300) } });
    const kept: string[] = [];
    const append = (id: string, e: unknown) => {
      if (j.append(id, e)) kept.push(id);
    };
    append('before', transition(0));
    await j.flush();
    writeFileSync(join(mnt, 'filler'), Buffer.alloc(freeAt(mnt)));
    // events arrive over time while every write fails (the writer retries meanwhile)
    for (let i = 0; i < 600; i++) {
      append(`r${i}`, report(i));
      if (i % 20 === 0) await sleep(1);
    }
    for (let i = 0; i < 300; i++) {
      append(`s${i}`, transition(i));
      if (i % 20 === 0) await sleep(1);
    }
    const s = j.stats();
    const reportsKept = kept.filter((k) => k.startsWith('r')).length;
    const transitionsKept = kept.filter((k) => k.startsWith('s')).length;
    console.log(`# file journal, full disk, 64 KiB backlog: ${reportsKept}/600 reports and ${transitionsKept}/300 transitions kept; backlog ${s.backlogBytes} bytes; ${s.writeErrors} failed writes`);
    assert.ok(s.writeErrors > 0, 'the writes failed');
    assert.ok(s.backlogBytes <= LIMIT, `backlog ${s.backlogBytes}`);
    assert.ok(reportsKept < 600 && transitionsKept > 0, 'reports dropped, transitions kept in the reserve');
    assert.deepEqual([s.droppedBacklog, s.droppedBacklogEssential], [900 - reportsKept - transitionsKept, 300 - transitionsKept]);
    assert.deepEqual(errors.map((e) => e.code).filter((c) => c === 'BACKLOG_FULL').length, transitionsKept < 300 ? 2 : 1);
    assert.ok(errors.some((e) => e.code === 'IO' && /ENOSPC/.test(e.message)));
    assert.equal(recoveries.length, 0);

    rmSync(join(mnt, 'filler'));
    await eventually(() => recoveries.length > 0, 8000, 'the journal recovered (retry back-off up to 5 s)');
    const r = recoveries[0]!;
    assert.ok(r.failures >= 1 && r.failures === j.stats().writeErrors, `${r.failures} failures`);
    assert.deepEqual({ ...r, failures: 0, ms: 0 }, {
      failures: 0, ms: 0, dropped: s.droppedBacklog, droppedEssential: s.droppedBacklogEssential,
      droppedByType: { 'vrrp.rx-lower-priority': 600 - reportsKept, ...(transitionsKept < 300 ? { 'vrrp.state': 300 - transitionsKept } : {}) },
    });
    await j.close();
    const k = await openJournal(join(mnt, 'journal'));
    const got: string[] = [];
    for await (const e of k.read()) got.push(e.id);
    assert.deepEqual(got, kept, 'the kept events, in order, with no gap');
    assert.equal(k.stats().skippedOnOpen, 0);
    await k.close();
  });
});
