// The trackers of a config, run once each and shared by every instance that references them
// (keepalived runs one vrrp_script for all its users): track scripts as actors of
// machines/track-script.machine.ts over the exec adapter, track files and tracked processes over
// their watchers. Each result goes to the referencing instances as a TrackerStatus with that
// instance's weight (its `weight` override, else the tracker's), and state changes to the bus.
import { createActor, type Actor } from 'xstate';
import type { KeepalivedConfig, TrackRef, Trackers as TrackerRefs } from '../adapters/config/model.js';
import { createSpawnerRunner, runScriptActor, type ScriptRunner, type SpawnerRunner } from '../adapters/exec/index.js';
import { watchTrackFile, type TrackFileWatch } from '../adapters/exec/trackFile.js';
import { processSpecFromConfig, trackProcesses, type ProcessSpec, type ProcessTracking } from '../adapters/exec/trackProcess.js';
import type { TrackerKind, TrackerStatus } from '../machines/priority.js';
import { trackScript } from '../machines/track-script.machine.js';
import type { Bus, BusEvent } from './bus.js';
import type { Logger } from './log.js';

/** Who listens to a tracker, with which weight. */
interface Subscription {
  readonly instance: string;
  readonly weight: number;
  readonly reverse: boolean;
}

/** `cause`: the bus event that reported the change, so the instance's reaction joins its chain */
export type TrackerSink = (instance: string, status: TrackerStatus, cause?: BusEvent) => void;

export class TrackerSet {
  private readonly scripts = new Map<string, Actor<typeof trackScript>>();
  private readonly files: TrackFileWatch[] = [];
  private processes: ProcessTracking | undefined;
  private readonly runner: ScriptRunner;
  /** the spawn server we started ourselves, closed by stop() (a reload makes a new TrackerSet) */
  private readonly ownRunner: SpawnerRunner | undefined;
  private readonly subs = new Map<string, Subscription[]>();

  constructor(
    private readonly config: KeepalivedConfig,
    private readonly ports: {
      bus: Bus;
      log: Logger;
      runner?: ScriptRunner;
      /** the last state each track script reported before a restart (actors/resume.ts) */
      resume?: ReadonlyMap<string, 'ok' | 'failed'>;
      /** on a reload: the states the previous set's trackers had, by `kind:name`, to start from */
      carry?: ReadonlyMap<string, 'ok' | 'failed'>;
    },
    private readonly sink: TrackerSink,
  ) {
    // forks happen in the spawn server, off this event loop (adapters/exec/spawner.ts)
    this.ownRunner = ports.runner ? undefined : createSpawnerRunner();
    this.runner = ports.runner ?? this.ownRunner!;
    // a sync group's trackers apply to each member (keepalived copies them to the instances)
    const groupOf = new Map<string, TrackerRefs>();
    for (const g of config.syncGroups) for (const m of g.members) groupOf.set(m.name, g);
    for (const inst of config.instances) {
      const g = groupOf.get(inst.name);
      for (const refs of g ? [inst, g] : [inst]) {
        this.subscribe('script', refs.trackScripts, inst.name);
        this.subscribe('file', refs.trackFiles, inst.name);
        this.subscribe('process', refs.trackProcesses, inst.name);
      }
    }
  }

  private subscribe(kind: TrackerKind, refs: readonly TrackRef[], instance: string) {
    for (const ref of refs) {
      const own = this.defaults(kind, ref.name);
      if (!own) continue; // the config checker has already reported an unknown tracker
      const list = this.subs.get(`${kind}:${ref.name}`) ?? [];
      list.push({
        instance,
        weight: ref.weight ?? own.weight,
        reverse: ref.weight !== undefined ? ref.reverse : own.reverse || ref.reverse,
      });
      this.subs.set(`${kind}:${ref.name}`, list);
    }
  }

  private defaults(kind: TrackerKind, name: string): { weight: number; reverse: boolean } | undefined {
    if (kind === 'script') return this.config.vrrpScripts.find((s) => s.name === name);
    if (kind === 'file') return this.config.trackFiles.find((s) => s.name === name);
    if (kind === 'process') return this.config.trackProcesses.find((s) => s.name === name);
    return undefined;
  }

  /** The trackers each instance waits for, in their initial (unknown) state. */
  initial(instance: string): TrackerStatus[] {
    const out: TrackerStatus[] = [];
    for (const [key, list] of this.subs) {
      const [kind, name] = [key.slice(0, key.indexOf(':')) as TrackerKind, key.slice(key.indexOf(':') + 1)];
      for (const s of list) {
        if (s.instance !== instance) continue;
        const resumed = this.lastState(kind, name);
        const initFail = kind === 'script' && this.config.vrrpScripts.find((x) => x.name === name)?.initFail;
        out.push({ kind, name, weight: s.weight, reverse: s.reverse, status: resumed ?? (initFail ? 'failed' : 'unknown') });
      }
    }
    return out;
  }

  /** a tracker's state carried over a reload, or (scripts) resumed from the journal */
  private lastState(kind: TrackerKind, name: string): 'ok' | 'failed' | undefined {
    return this.ports.carry?.get(`${kind}:${name}`) ?? (kind === 'script' ? this.ports.resume?.get(name) : undefined);
  }

  private fanOut(kind: TrackerKind, name: string, status: 'ok' | 'failed', cause: BusEvent, value?: number) {
    for (const s of this.subs.get(`${kind}:${name}`) ?? []) {
      this.sink(s.instance, { kind, name, weight: s.weight, reverse: s.reverse, status, ...(value !== undefined ? { value } : {}) }, cause);
    }
  }

  async start(): Promise<void> {
    const { log, bus } = this.ports;
    const g = this.config.global;
    // Many scripts starting together would fork all at once and stall the event loop (measured:
    // 1,000 at once held it for seconds). Their first runs are spread over count × 10 ms (at most
    // one interval), 100 starts per second; a handful start within milliseconds, as in keepalived.
    const used = this.config.vrrpScripts.filter((s) => this.subs.has(`script:${s.name}`) && s.script);
    for (const [index, script] of used.entries()) {
      const user = script.user ?? g.scriptUser;
      const logic = trackScript.provide({
        actors: {
          runScript: runScriptActor(this.runner, {
            argv: script.script!.argv,
            ...(user?.user ? { user: user.user } : {}),
            ...(user?.group ? { group: user.group } : {}),
          }),
        },
      });
      const actor = createActor(logic, {
        input: {
          name: script.name,
          intervalMs: script.intervalMs,
          ...(script.timeoutMs !== undefined ? { timeoutMs: script.timeoutMs } : {}),
          rise: script.rise,
          fall: script.fall,
          initFail: script.initFail,
          startDelayMs: Math.floor((index * Math.min(script.intervalMs, used.length * 10)) / used.length),
          ...(this.lastState('script', script.name) ? { resume: this.lastState('script', script.name)! } : {}),
          weight: script.weight,
          reverse: script.reverse,
        },
        id: `track:${script.name}`,
      });
      actor.on('track.state', (e) => {
        // keepalived: "VRRP_Script(chk) succeeded" / "VRRP_Script(chk) failed (exited with status 1)"
        if (e.state === 'ok') log.info({ tracker: e.tracker, cause: e.cause }, `VRRP_Script(${e.tracker}) succeeded`);
        else log.info({ tracker: e.tracker, cause: e.cause }, `VRRP_Script(${e.tracker}) failed (${e.cause})`);
        const ev = bus.publish('track', e.tracker, 'track.state', { ...e });
        this.fanOut('script', e.tracker, e.state, ev);
      });
      actor.on('track.skipped', (e) => log.warn(`Track script ${e.tracker} is still running, skipping this run`));
      actor.subscribe({ error: (err) => log.error({ err }, `track script ${script.name} failed`) });
      this.scripts.set(script.name, actor);
    }
    for (const a of this.scripts.values()) a.start();

    for (const tf of this.config.trackFiles) {
      if (!this.subs.has(`file:${tf.name}`) || !tf.file) continue;
      const report = (value: number, previous?: number) => {
        log.info(`Track file ${tf.name} value ${previous !== undefined ? `changed from ${previous} to ` : ''}${value}`);
        const ev = bus.publish('track', tf.name, 'track.value', { tracker: tf.name, kind: 'file', value, ...(previous !== undefined ? { previous } : {}) });
        this.fanOut('file', tf.name, 'ok', ev, value);
      };
      const started = await watchTrackFile(
        { path: tf.file, ...(tf.initFile ? { init: tf.initFile } : {}), onWarning: (m) => log.warn(`track file ${tf.name}: ${m}`) },
        (c) => report(c.value, c.previous),
      );
      if (!started.ok) {
        log.error(`track file ${tf.name}: ${started.error}`);
        continue;
      }
      this.files.push(started.watch);
      report(started.watch.value);
    }

    const specs: ProcessSpec[] = [];
    for (const tp of this.config.trackProcesses) {
      if (!this.subs.has(`process:${tp.name}`)) continue;
      const spec = processSpecFromConfig(tp);
      if (spec) specs.push(spec);
    }
    if (specs.length) {
      this.processes = await trackProcesses(specs, (c) => {
        if (!c.initial) log.info(`Track process ${c.tracker} ${c.up ? 'is up' : 'is down'} (${c.count} running)`);
        const ev = bus.publish('track', c.tracker, 'track.state', { type: 'track.state', tracker: c.tracker, kind: 'process', state: c.up ? 'ok' : 'failed', count: c.count });
        this.fanOut('process', c.tracker, c.up ? 'ok' : 'failed', ev);
      });
    }
  }

  stop(): void {
    for (const a of this.scripts.values()) a.stop();
    this.runner.killAll();
    this.ownRunner?.close(); // the server reaps what killAll terminated, then exits
    for (const f of this.files) f.close();
    this.processes?.close();
  }
}
