// The health checks in a worker thread (actors/lvs-worker.ts), driven from the daemon's thread as
// if they ran here: RemoteLvs is a HealthChecks like LvsSet. The worker's events arrive whole (ids,
// causes) and go out on this thread's bus in the worker's order; its destination tables go to the
// LB actor; its status is mirrored so `vigil status` and /metrics answer without a round trip.
// A worker that dies is started again from the health its checkers last reported, logged as an
// error: a bug in a checker costs a few seconds of checks, never VRRP.
import { Worker } from 'node:worker_threads';
import type { AnyActorRef, StateNode } from 'xstate';
import type { KeepalivedConfig, VirtualServer } from '../adapters/config/model.js';
import { checkerMachine } from '../machines/checker.machine.js';
import { checkerId, realServerKey, virtualServerName } from '../machines/lvs-input.js';
import { virtualServerMachine, type TableEntry } from '../machines/virtual-server.machine.js';
import type { Bus, BusEvent } from './bus.js';
import type { Logger } from './log.js';
import { checkerThreads } from './checker-threads.js';
import { planLvsReload, type HealthChecks, type LvsReloadReport, type VirtualServerStatus } from './lvs.js';
import type { FromWorker, LvsWorkerData, StepTransition, ToWorker } from './lvs-worker.js';

export interface RemoteLvsPorts {
  readonly bus: Bus;
  readonly log: Logger;
  /** a virtual server's destinations changed (and once at start): the LB actor's input */
  readonly onTable?: (vs: VirtualServer, name: string, entries: readonly TableEntry[], cause: BusEvent) => void;
  /** how long a crashed worker waits before it is started again (default 1 s) */
  readonly restartDelayMs?: number;
}

/**
 * The worker module beside this one: .js in dist/; under tsx (tests) the .ts, loaded through tsx's
 * loader registered in the thread first (a worker does not inherit the parent's loader hooks).
 */
const FROM_SOURCE = import.meta.url.endsWith('.ts');
/**
 * The checks allocate a lot of short-lived garbage (a socket, a promise, snapshots per check): left
 * to itself V8 grows the thread's young generation to 48 MB of RSS. 8 MB costs a few more
 * scavenges and saves about 30 MB at 1,000 checks a second (bench/soak.md).
 * VIGIL_CHECKER_YOUNG_MB=0: V8's default.
 */
const YOUNG_MB = Number(process.env['VIGIL_CHECKER_YOUNG_MB'] ?? 8) || 0;
const WORKER_URL = new URL(`./lvs-worker${FROM_SOURCE ? '.ts' : '.js'}`, import.meta.url);
function newWorker(data: LvsWorkerData): Worker {
  const options = { workerData: data, name: 'vigil-checkers', ...(YOUNG_MB > 0 ? { resourceLimits: { maxYoungGenerationSizeMb: YOUNG_MB } } : {}) };
  if (!FROM_SOURCE) return new Worker(WORKER_URL, options);
  const boot = `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((t) => t.register()).then(() => import(${JSON.stringify(WORKER_URL.href)}))`;
  return new Worker(boot, { ...options, eval: true });
}

/** a thread that keeps dying is started again after 1 s, 2 s, 4 s … at most 60 s; a minute of life resets it */
const MAX_RESTART_DELAY_MS = 60_000;
const HEALTHY_AFTER_MS = 60_000;

export class RemoteLvs implements HealthChecks {
  private worker: Worker | undefined;
  private mirror: VirtualServerStatus[] = [];
  /** checker id → up, from the checker.state events that went by: a restarted worker's start */
  private readonly health = new Map<string, boolean>();
  private readonly masters = new Set<string>();
  private stopped: Promise<void> | undefined;
  private started = false;
  private readonly proxies = new Map<string, ProxyActor>();
  private watchers = 0;
  /** worker restarts after a crash */
  restarts = 0;
  private delayMs: number;

  constructor(
    private config: KeepalivedConfig,
    private readonly ports: RemoteLvsPorts,
  ) {
    this.delayMs = ports.restartDelayMs ?? 1000;
  }

  /** `carry`: checker id → up, what checks elsewhere knew (LvsSet.handOff): each checker starts from it */
  start(carry?: ReadonlyMap<string, boolean>): void {
    this.started = true;
    if (carry) for (const [id, up] of carry) this.health.set(id, up);
    this.spawn(carry?.size ? new Map(carry) : undefined);
  }

  private spawn(carry?: Map<string, boolean>): void {
    const { log } = this.ports;
    const data: LvsWorkerData = {
      config: this.config,
      node: this.ports.bus.node,
      debug: log.isLevelEnabled('debug'),
      ...(carry?.size ? { carry: [...carry] } : {}),
    };
    const w = newWorker(data);
    this.worker = w;
    const born = performance.now();
    w.on('message', (batch: FromWorker[]) => {
      for (const m of batch) this.receive(m);
    });
    w.on('error', (err) => log.error({ err }, 'health-check thread failed'));
    w.on('exit', (code) => {
      if (this.worker !== w) return;
      this.worker = undefined;
      if (this.stopped) return;
      this.restarts++;
      checkerThreads.restarts++;
      if (performance.now() - born > HEALTHY_AFTER_MS) this.delayMs = this.ports.restartDelayMs ?? 1000;
      const delay = this.delayMs;
      this.delayMs = Math.min(this.delayMs * 2, MAX_RESTART_DELAY_MS);
      log.error(`health-check thread exited (code ${code}); restarting it in ${delay} ms from the checkers' last states`);
      setTimeout(() => {
        if (!this.stopped) this.spawn(new Map(this.health));
      }, delay).unref();
    });
    for (const i of this.masters) this.send({ t: 'vrrp', instance: i, state: 'MASTER' });
    this.send({ t: 'start' });
    if (this.watchers) this.send({ t: 'watch', on: true });
  }

  private send(m: ToWorker): void {
    this.worker?.postMessage(m);
  }

  private receive(m: FromWorker): void {
    switch (m.t) {
      case 'event': {
        const e = m.e;
        if (e.type === 'checker.state') this.health.set(String(e.data['checker']), e.data['to'] === 'up');
        this.ports.bus.forward(e);
        return;
      }
      case 'table': {
        // a virtual server a reload removed still reports while it stops: its LB entries are gone
        const vs = this.config.virtualServers.find((x) => virtualServerName(x) === m.name);
        if (vs) this.ports.onTable?.(vs, m.name, m.entries, m.cause);
        return;
      }
      case 'status':
        this.mirror = m.list;
        return;
      case 'log': {
        const { log } = this.ports;
        const obj = m.obj ? revive(m.obj) : undefined;
        if (obj) log[m.level](obj, m.msg);
        else log[m.level](m.msg);
        return;
      }
      case 'step':
        this.proxies.get(m.key)?.step(m.value, m.transitions);
        return;
      case 'loop':
        for (const fn of checkerThreads.delayListeners) fn(m.tally);
        return;
      case 'stopped':
        return;
    }
  }

  vrrpState(instance: string, state: string): void {
    if (state === 'MASTER') this.masters.add(instance);
    else this.masters.delete(instance);
    this.send({ t: 'vrrp', instance, state });
  }

  drain(vsName: string, rs: string, drained: boolean): string | undefined {
    const names = this.config.virtualServers.map(virtualServerName);
    if (!names.includes(vsName)) return `no virtual_server '${vsName}' (running: ${names.join(', ') || 'none'})`;
    const vs = this.config.virtualServers.find((x) => virtualServerName(x) === vsName)!;
    const keys = vs.realServers.map((r) => realServerKey(r.address, r.port ?? vs.port));
    if (!keys.includes(rs)) return `virtual_server ${vsName} has no real_server '${rs}' (it has: ${keys.join(', ')})`;
    this.send({ t: 'drain', vs: vsName, rs, drained });
    return undefined;
  }

  status(): VirtualServerStatus[] {
    const names = new Set(this.config.virtualServers.map(virtualServerName));
    return this.mirror.filter((v) => names.has(v.virtualServer));
  }

  reload(next: KeepalivedConfig, onRemoved: (name: string) => void): LvsReloadReport {
    const plan = planLvsReload(this.config.virtualServers, next.virtualServers);
    this.config = next;
    for (const name of plan.removed) onRemoved(name);
    this.send({ t: 'reload', config: next });
    return plan;
  }

  /** every virtual server and checker, as dashboard actors that mirror the worker's */
  actors(): { kind: 'vs' | 'checker'; name: string; actor: AnyActorRef }[] {
    const out: { kind: 'vs' | 'checker'; name: string; actor: AnyActorRef }[] = [];
    const seen = new Set<string>();
    const add = (kind: 'vs' | 'checker', name: string) => {
      const key = `${kind}\u0000${name}`;
      seen.add(key);
      let p = this.proxies.get(key);
      if (!p) this.proxies.set(key, (p = new ProxyActor(key, kind === 'vs' ? virtualServerMachine.root : checkerMachine.root, (d) => this.watch(d))));
      out.push({ kind, name, actor: p as unknown as AnyActorRef });
    };
    for (const vs of this.config.virtualServers) {
      add('vs', virtualServerName(vs));
      for (const rs of vs.realServers) rs.checkers.forEach((ck, i) => ck.type !== 'BFD_CHECK' && add('checker', checkerId(vs, rs, i)));
    }
    for (const key of [...this.proxies.keys()]) if (!seen.has(key)) this.proxies.delete(key);
    return out;
  }

  private watch(delta: number): void {
    const before = this.watchers;
    this.watchers += delta;
    if (!before !== !this.watchers) this.send({ t: 'watch', on: this.watchers > 0 });
  }

  /** the checkers stop (their virtual servers' last events arrive first), then the thread ends */
  stop({ announce = true }: { announce?: boolean } = {}): Promise<void> {
    this.stopped ??= new Promise<void>((resolve) => {
      const w = this.worker;
      if (!w || !this.started) return resolve();
      const done = () => {
        clearTimeout(timer);
        resolve();
      };
      // a wedged thread must not hold the daemon's stop: 2 s, then it is terminated
      const timer = setTimeout(() => void w.terminate().then(done, done), 2000);
      w.once('exit', done);
      this.send({ t: 'stop', announce });
    });
    return this.stopped;
  }
}

/** the worker's plain error objects back as Errors, so pino's err serializer shows them as before */
function revive(obj: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...obj };
  const err = obj['err'] as { type?: string; message?: string; stack?: string } | undefined;
  if (err && typeof err === 'object' && typeof err.message === 'string') {
    const e = new Error(err.message);
    if (err.type) e.name = err.type;
    if (err.stack) e.stack = err.stack;
    out['err'] = e;
  }
  return out;
}

type Inspector = (ev: { type: string; actorRef: unknown; snapshot: { value: unknown }; _transitions: unknown[] }) => void;

/**
 * What the dashboard's LiveTracker (actors/dashboard/live.ts) reads of an actor: its snapshot's
 * value and its microsteps through `system.inspect`. The transitions are this thread's copies of
 * the machine's (found by position), so the chart ids come out the same as for a local actor.
 */
class ProxyActor {
  private value: unknown;
  private readonly inspectors = new Set<Inspector>();
  readonly system: { inspect: (fn: Inspector) => { unsubscribe(): void } };

  constructor(
    readonly id: string,
    private readonly root: StateNode<any, any>,
    watch: (delta: number) => void,
  ) {
    this.system = {
      inspect: (fn) => {
        this.inspectors.add(fn);
        watch(1);
        let on = true;
        return {
          unsubscribe: () => {
            if (!on) return;
            on = false;
            this.inspectors.delete(fn);
            watch(-1);
          },
        };
      },
    };
  }

  getSnapshot(): { status: string; value: unknown } {
    return { status: this.value === undefined ? 'pending' : 'active', value: this.value };
  }

  step(value: unknown, transitions: readonly StepTransition[]): void {
    const first = this.value === undefined;
    this.value = value;
    if (first && !transitions.length) return;
    const taken = transitions.map((t) => this.transitionAt(t)).filter((t) => t !== undefined);
    for (const fn of this.inspectors) fn({ type: '@xstate.microstep', actorRef: this, snapshot: { value }, _transitions: taken });
  }

  private transitionAt(t: StepTransition): unknown {
    let node: StateNode<any, any> | undefined = this.root;
    for (const p of t.path) node = node?.states[p];
    if (!node) return undefined;
    const list = t.eventType === '' ? node.always : node.transitions.get(t.eventType);
    return list?.[t.index];
  }
}
