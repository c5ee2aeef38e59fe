// The health checks' thread: actors/lvs.ts's LvsSet (every checker and virtual server actor, and
// the sockets of their probes) on an event loop of its own, as keepalived runs its checkers in a
// process of their own. A thousand checks a second cost the main thread nothing but the events
// they produce, so VRRP's adverts keep their schedule (bench/checkers.md).
//
// actors/lvs-remote.ts starts this file as a worker and speaks the protocol below; nothing else
// should import it. Events are made here (ids included) and travel whole to the main thread's bus.
import { parentPort, workerData } from 'node:worker_threads';
import type { AnyActorRef } from 'xstate';
import type { KeepalivedConfig } from '../adapters/config/model.js';
import { createProber, proberOptionsFor } from '../adapters/checkers/index.js';
import { loadPacketAddon } from '../adapters/ip/packet.js';
import { Bus, type BusEvent } from './bus.js';
import { LvsSet, type LvsLog, type VirtualServerStatus } from './lvs.js';
import { EVENT_LOOP_SAMPLE_MS } from './checker-threads.js';
import { LoopDelay, type DelayTally } from './loop-delay.js';
import type { TableEntry } from '../machines/virtual-server.machine.js';

export interface LvsWorkerData {
  readonly config: KeepalivedConfig;
  /** router_id: the node of the events made here */
  readonly node: string;
  /** forward debug lines (the main logger's level decides) */
  readonly debug: boolean;
  /** checker id → up: health to start from (a restarted worker) */
  readonly carry?: readonly (readonly [string, boolean])[];
}

/** A transition an actor took, by position: the main thread finds the same one in its copy of the machine. */
export interface StepTransition {
  readonly path: readonly string[];
  readonly eventType: string;
  readonly index: number;
}

export type ToWorker =
  | { t: 'start' }
  | { t: 'vrrp'; instance: string; state: string }
  | { t: 'drain'; vs: string; rs: string; drained: boolean }
  | { t: 'reload'; config: KeepalivedConfig }
  /** the dashboard watches the actors' places on their charts (costs a message per change) */
  | { t: 'watch'; on: boolean }
  | { t: 'stop'; announce: boolean };

export type FromWorker =
  | { t: 'event'; e: BusEvent }
  | { t: 'table'; name: string; entries: readonly TableEntry[]; cause: BusEvent }
  | { t: 'status'; list: VirtualServerStatus[] }
  | { t: 'log'; level: 'debug' | 'info' | 'warn' | 'error'; obj?: Record<string, unknown>; msg: string }
  | { t: 'step'; key: string; value: unknown; transitions: StepTransition[] }
  /** how late this thread's 20 ms sampling timer fired, seconds, since the last report (once a second) */
  | { t: 'loop'; tally: DelayTally }
  | { t: 'stopped' };

const port = parentPort;
if (!port) throw new Error('actors/lvs-worker.ts runs as a worker thread (actors/lvs-remote.ts starts it)');
const data = workerData as LvsWorkerData;

// Everything for the main thread goes out in one message per turn of the loop: a thousand checks
// a second make a handful of messages, not a thousand.
let queue: FromWorker[] = [];
let statusDirty = false;
const post = (m: FromWorker) => {
  if (!queue.length && !statusDirty) setImmediate(flush);
  queue.push(m);
};
function flush(): void {
  if (statusDirty) {
    statusDirty = false;
    queue.push({ t: 'status', list: lvs.status() });
  }
  if (!queue.length) return;
  const batch = queue;
  queue = [];
  try {
    port!.postMessage(batch);
  } catch {
    // something in it cannot be cloned (a log object holding a function): sent as JSON instead,
    // rather than losing the batch or the thread
    port!.postMessage(batch.map((m) => JSON.parse(JSON.stringify(m)) as FromWorker));
  }
}
const markStatus = () => {
  if (!queue.length && !statusDirty) setImmediate(flush);
  statusDirty = true;
};

/** an Error does not survive postMessage's clone with its fields: send what pino shows */
function plain(obj: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) out[k] = v instanceof Error ? { type: v.name, message: v.message, stack: v.stack } : v;
  return out;
}
function logAt(level: 'debug' | 'info' | 'warn' | 'error') {
  return (a: unknown, b?: unknown) => {
    if (level === 'debug' && !data.debug) return;
    if (typeof a === 'string') post({ t: 'log', level, msg: a });
    else post({ t: 'log', level, obj: plain((a ?? {}) as Record<string, unknown>), msg: typeof b === 'string' ? b : '' });
  };
}
const log = { debug: logAt('debug'), info: logAt('info'), warn: logAt('warn'), error: logAt('error') } as unknown as LvsLog;

// `top -H` and /proc/PID/task/*/comm tell this thread from V8's and libuv's (all "node" otherwise)
const named = loadPacketAddon();
if (named.ok) {
  try {
    named.addon.threadName?.('vigil-checks');
  } catch { /* a name is a convenience */ }
}

const bus = new Bus(data.node);
bus.subscribe((e) => {
  post({ t: 'event', e });
  if (e.kind === 'vs' || e.type === 'checker.state') markStatus();
});

const prober = createProber(proberOptionsFor(data.config));
const lvs = new LvsSet(data.config, {
  bus,
  log,
  prober,
  onTable: (_vs, name, entries, cause) => post({ t: 'table', name, entries, cause }),
});

// Dashboard inspection: each actor's state value when it changes, with the transitions taken.
const watched = new Map<AnyActorRef, { unsubscribe(): void }>();
let watching = false;
function syncWatch(): void {
  const live = watching ? lvs.actors() : [];
  const keep = new Set(live.map((a) => a.actor));
  for (const [actor, sub] of watched) if (!keep.has(actor)) { sub.unsubscribe(); watched.delete(actor); }
  for (const a of live) {
    if (watched.has(a.actor)) continue;
    const key = `${a.kind}\u0000${a.name}`;
    let last = JSON.stringify(a.actor.getSnapshot().value ?? null);
    post({ t: 'step', key, value: a.actor.getSnapshot().value, transitions: [] });
    watched.set(a.actor, a.actor.system.inspect((ev) => {
      if (ev.type !== '@xstate.microstep' || ev.actorRef !== a.actor) return;
      const value = (ev.snapshot as { value?: unknown }).value;
      const text = JSON.stringify(value ?? null);
      if (text === last) return;
      last = text;
      post({ t: 'step', key, value, transitions: stepTransitions(ev._transitions as unknown as TakenLike[]) });
    }));
  }
}

interface TakenLike {
  readonly source: { readonly path: readonly string[]; readonly transitions: ReadonlyMap<string, readonly unknown[]>; readonly always?: readonly unknown[] };
  readonly eventType: string;
  readonly target?: readonly unknown[] | undefined;
}
function stepTransitions(list: readonly TakenLike[]): StepTransition[] {
  const out: StepTransition[] = [];
  for (const t of list) {
    if (!t.target?.length) continue;
    const siblings = t.eventType === '' ? t.source.always : t.source.transitions.get(t.eventType);
    const index = siblings?.indexOf(t) ?? -1;
    if (index >= 0) out.push({ path: [...t.source.path], eventType: t.eventType, index });
  }
  return out;
}

// This thread's event-loop delay, sampled as actors/metrics.ts samples the main one's (natively, no
// JavaScript per sample): the delay a check's timers suffer (a late delay_loop or retry is a late
// detection, bench/checkers.md). Posted once a second when there is something to post.
const loopDelay = new LoopDelay(EVENT_LOOP_SAMPLE_MS);
setInterval(() => {
  const tally = loopDelay.take();
  if (tally.counts.some((n) => n > 0)) post({ t: 'loop', tally });
}, 1000).unref();

const carry = data.carry ? new Map(data.carry) : undefined;

port.on('message', (m: ToWorker) => {
  switch (m.t) {
    case 'start':
      if (carry?.size) lvs.reload(data.config, () => {}, carry); // a restart: every checker from its last health
      else lvs.start();
      markStatus();
      break;
    case 'vrrp':
      lvs.vrrpState(m.instance, m.state);
      break;
    case 'drain': {
      const err = lvs.drain(m.vs, m.rs, m.drained);
      if (err) log.warn(`drain: ${err}`);
      break;
    }
    case 'reload':
      // the caller planned the same reload (planLvsReload) and removed the LB entries of the gone
      lvs.reload(m.config, () => {});
      markStatus();
      if (watching) syncWatch();
      break;
    case 'watch':
      watching = m.on;
      syncWatch();
      break;
    case 'stop':
      void lvs.stop({ announce: m.announce }).then(async () => {
        await prober.close();
        flush();
        port!.postMessage([{ t: 'stopped' }]);
        port!.close();
      });
      break;
  }
});
