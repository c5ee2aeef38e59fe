// A soak in the lab: three vigil nodes (priorities 150, 120, 100; v3 at 100 ms) under continuous
// random faults, one every 0.5–2 s: a partition between two nodes, 30 % loss on the LAN, a link
// down and up, a SIGKILL and restart, an operator priority change, or everything healed. Checked
// throughout and at the end:
// - two MASTERs of the VRID only for a handover (one advert interval plus 200 ms of slack) or while
//   a fault can cause it (a partition or loss, and one Master_Down_Interval plus 1 s of slack after
//   it heals, or after a killed node restarts);
// - once all is healed and settled: exactly one MASTER, the highest priority, holding the VIP,
//   which no other node holds;
// - no daemon crashed (every exit is one the soak caused), and every transition each daemon logged,
//   in each of its lives, is in its journal.
// VIGIL_SOAK_S sets the duration (default 15 s, what `npm test` runs); VIGIL_SOAK_SEED the faults.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Lab, netnsSkipReason, sh } from '../netns/lab.js';
import { addresses, cleanup, eventually, startVigil, tempDir, vigilBuilt, type Daemon } from '../netns/daemons.js';
import { assertAlive, assertJournalHasTransitions, controlSock, journalDir, LanFilter, masterDownMs, rng, sleep, Timeline, vigilCli, vrrpConf } from './helpers.js';

const skip = netnsSkipReason() ?? vigilBuilt();
if (skip) console.log(`# skipping faults/soak: ${skip}`);

const SOAK_S = Number(process.env.VIGIL_SOAK_S ?? 15);
const SEED = Number(process.env.VIGIL_SOAK_SEED ?? Date.now() % 100_000);
const VIP = '10.99.0.100';
const PRIO = [0, 150, 120, 100];
const SLACK_MS = masterDownMs(100, 0.1) + 1000;
const HANDOVER_MS = 100 + 200;
/** how long before a SIGKILL a transition may still be on its way to the journal (see the journal test) */
const LOSS_WINDOW_MS = 500;


describe(`soak: ${SOAK_S} s of random faults (seed ${SEED})`, { skip, timeout: SOAK_S * 1000 + 90_000 }, () => {
  let lab: Lab;
  let dir: string;
  let lan: LanFilter;
  const lives: Daemon[][] = [[], [], [], []];
  const killed = new Set<Daemon>();
  const killedAt = new Map<Daemon, number>();
  const tl = new Timeline();
  /** intervals in which two MASTERs are the protocol's doing, not a bug */
  const excused: { from: number; to: number; why: string }[] = [];
  const log: string[] = [];
  let soakStart = 0;

  const start = (i: number) => {
    const d = startVigil(lab, i, vrrpConf({ node: `h${i}`, prio: PRIO[i]! }), dir);
    tl.watch(d);
    lives[i]!.push(d);
    return d;
  };
  const current = (i: number) => lives[i]!.at(-1)!;
  const running = (i: number) => current(i).proc.exitCode === null && current(i).proc.signalCode === null;

  before(async () => {
    lab = await Lab.create({ hosts: 3, tag: 'fsok' });
    dir = tempDir('fsok');
    lan = await LanFilter.create(lab);
    for (const i of [3, 2, 1]) start(i);
    await current(1).waitFor(/Entering MASTER STATE/, 5000);
    await eventually(() => tl.masters('VI_1').join() === '1', 5000, 'host 1 the only MASTER');
  });
  after(async () => {
    await Promise.all(lives.flat().map((d) => d.stop('SIGKILL')));
    await lab?.destroy();
    if (dir) cleanup(dir);
  });

  test('invariants hold under continuous faults', async () => {
    const r = rng(SEED);
    let lanFault: { since: number; why: string } | undefined;
    const linkDown = new Set<number>();
    const opPrio = new Set<number>();
    const end = Date.now() + SOAK_S * 1000;
    soakStart = Date.now();
    const healLan = async () => {
      if (!lanFault) return;
      await lan.clear();
      excused.push({ from: lanFault.since, to: Date.now() + SLACK_MS, why: lanFault.why });
      lanFault = undefined;
    };
    while (Date.now() < end) {
      const kind = r.pick(['partition', 'loss', 'link', 'kill', 'priority', 'heal', 'heal']);
      const h = 1 + r.int(3);
      const t = Date.now();
      switch (kind) {
        case 'partition': {
          await healLan();
          const other = 1 + ((h + r.int(2)) % 3);
          await lan.set(LanFilter.partition(h, other));
          lanFault = { since: t, why: `partition ${h}|${other}` };
          break;
        }
        case 'loss':
          await healLan();
          await lan.set(['ip protocol vrrp numgen random mod 100 < 30 drop']);
          lanFault = { since: t, why: '30 % loss' };
          break;
        case 'link':
          if (linkDown.has(h)) {
            await sh('ip', ['-n', lab.ns(h), 'link', 'set', 'eth0', 'up']);
            linkDown.delete(h);
          } else {
            await sh('ip', ['-n', lab.ns(h), 'link', 'set', 'eth0', 'down']);
            linkDown.add(h);
          }
          break;
        case 'kill':
          if (running(h)) {
            killed.add(current(h));
            killedAt.set(current(h), Date.now());
            await current(h).stop('SIGKILL');
          } else {
            start(h);
            // a restarted node is BACKUP until its Master_Down: no MASTER can hear it meanwhile
            excused.push({ from: t, to: t + 3000 + SLACK_MS, why: `host ${h} restarted` });
          }
          break;
        case 'priority':
          if (!running(h)) break;
          await vigilCli(['priority', 'VI_1', opPrio.has(h) ? 'restore' : '1', '--control', controlSock(dir, h)]);
          if (opPrio.has(h)) opPrio.delete(h);
          else opPrio.add(h);
          break;
        case 'heal':
          await healLan();
          for (const l of linkDown) await sh('ip', ['-n', lab.ns(l), 'link', 'set', 'eth0', 'up']);
          linkDown.clear();
          break;
      }
      log.push(`${((t - end) / 1000 + SOAK_S).toFixed(1)}s ${kind} ${h}`);
      await sleep(500 + r.int(1500));
    }

    // heal everything, bring every node back, restore priorities: one MASTER, the highest
    await healLan();
    for (const l of linkDown) await sh('ip', ['-n', lab.ns(l), 'link', 'set', 'eth0', 'up']);
    for (const i of [1, 2, 3]) if (!running(i)) start(i);
    for (const i of [1, 2, 3]) await eventually(async () => vigilCli(['priority', 'VI_1', 'restore', '--control', controlSock(dir, i)]).then((x) => x.code === 0), 5000, `host ${i} answers`);
    const settled = Date.now();
    excused.push({ from: settled - 1, to: settled + 3000 + SLACK_MS, why: 'final heal' });
    await eventually(() => tl.masters('VI_1').join() === '1', 10_000, 'host 1 the only MASTER after the soak');
    await sleep(1000);
    assert.deepEqual(tl.masters('VI_1'), [1]);
    assert.ok((await addresses(lab, 1)).includes(VIP), 'the MASTER holds the VIP');
    for (const i of [2, 3]) assert.ok(!(await addresses(lab, i)).includes(VIP), `host ${i} does not`);

    // two MASTERs outside every excuse
    const windows = tl.splitBrains('VI_1');
    // a handover overlaps by design: the new MASTER's first advert ends the old one's reign, within
    // one advert interval (plus delivery and scheduling: 200 ms of slack)
    // the excuses as one timeline: a split brain a loss began and the partition that followed it
    // kept going is excused from start to end, though neither fault's window holds it alone
    const covered: { from: number; to: number }[] = [];
    for (const e of [...excused].sort((a, b) => a.from - b.from)) {
      const last = covered.at(-1);
      if (last && e.from <= last.to) last.to = Math.max(last.to, e.to);
      else covered.push({ from: e.from, to: e.to });
    }
    const unexcused = windows.filter((w) => w.end - w.start > HANDOVER_MS && !covered.some((e) => w.start >= e.from && w.end <= e.to));
    const sum = windows.reduce((n, w) => n + (w.end - w.start), 0);
    const rel = (t: number) => ((t - soakStart) / 1000).toFixed(1);
    console.log(`# soak ${SOAK_S} s, seed ${SEED}: ${log.length} faults (${log.join(', ')}); ${tl.changes.length} transitions; ` +
      `${windows.length} split-brain windows (${sum} ms in all: ${windows.map((w) => `${w.hosts.join('+')} ${w.end - w.start} ms from ${rel(w.start)}s`).join(', ')}), ` +
      `${unexcused.length} outside the protocol's bounds; excused ${covered.map((e) => `${rel(e.from)}-${rel(e.to)}s`).join(', ')}`);
    assert.deepEqual(unexcused.map((w) => `${w.hosts.join('+')} ${w.end - w.start} ms from ${rel(w.start)}s`), [],
      `no split brain outside a partition or loss (+ Master_Down + 1 s); excused: ${covered.map((e) => `${rel(e.from)}-${rel(e.to)}s`).join(', ')}`);

    // nobody died of its own accord
    for (const d of lives.flat()) if (!killed.has(d)) assert.equal(d.proc.exitCode, null, `host ${d.host} exited by itself (${d.proc.exitCode ?? d.proc.signalCode})`);
    for (const i of [1, 2, 3]) await assertAlive(current(i), controlSock(dir, i));
  });

  test('every transition of every life is in its node\'s journal', async () => {
    // a transition logged shortly before a SIGKILL may not have reached the journal: its batch is
    // written 1 ms after it, by the thread pool, but only once the batch before has been written
    // and fdatasync'ed (one writer at a time), and on a loaded machine (CI runs test files side by
    // side) an fdatasync alone has taken over 100 ms. A record written is safe from a SIGKILL.
    const mayLoseLast = new Map<Daemon, number>();
    for (const d of killed) {
      const at = killedAt.get(d)!;
      mayLoseLast.set(d, tl.changes.filter((c) => c.d === d && c.state !== 'DEAD' && at - c.t < LOSS_WINDOW_MS).length);
    }
    const excusedLoss = [...mayLoseLast.values()].reduce((a, b) => a + b, 0);
    if (excusedLoss) console.log(`# soak: ${excusedLoss} transition(s) logged < ${LOSS_WINDOW_MS} ms before a SIGKILL, allowed to be missing from the journal`);
    for (const i of [1, 2, 3]) {
      assert.equal(await current(i).stop(), 0);
      await assertJournalHasTransitions(lives[i]!, journalDir(dir, i), { mayLoseLast });
    }
  });
});
