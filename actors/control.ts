// The control API's daemon side: status, reload, config-test and operator commands, one handler
// for the unix socket, HTTP and signals alike. A reload reads and fully checks the file first;
// on any error the running config stays untouched and the diagnostics are the answer.
import { formatDiagnostic } from '../adapters/config/format.js';
import { ExitCode, type LoadResult } from '../adapters/config/index.js';
import type { ControlHandler, ControlReply, ControlRequest } from '../adapters/control/types.js';
import type { Daemon, ReloadReport } from './daemon.js';
import type { Logger } from './log.js';
import type { Notifier } from '../adapters/service/notify.js';

export interface ControlDeps {
  readonly daemon: Daemon;
  /** read and check a config file, exactly as config-test does */
  readonly load: (file: string) => LoadResult;
  readonly log: Logger;
  readonly version: string;
  /** more status sections (journal, NATS export …), by name */
  readonly extra?: () => Record<string, unknown>;
  readonly now?: () => number;
  /** systemd hears RELOADING=1 when a reload starts and READY=1 when it is over, applied or not */
  readonly notifier?: Pick<Notifier, 'reloading' | 'ready'>;
  /**
   * claim the VRIDs of a configuration about to be applied (adapters/service/vrid-claims.ts): one
   * message per VRID another vigil on this host runs, and then nothing is applied
   */
  readonly claimVrids?: (config: LoadResult['config']) => Promise<string[]>;
}

/** diagnostics of a refused reload that go to the log and the daemon.reload-failed event */
export const MAX_RECORDED_DIAGNOSTICS = 200;

export type ReloadOutcome =
  | { ok: true; report: ReloadReport; warnings: string[] }
  | { ok: false; exitCode: number; error: string; diagnostics: string[] };

export class Control {
  private readonly startedAt: number;

  constructor(private readonly deps: ControlDeps) {
    this.startedAt = (deps.now ?? Date.now)();
  }

  status() {
    const d = this.deps.daemon;
    return {
      node: d.bus.node,
      version: this.deps.version,
      pid: process.pid,
      configFile: d.configFile,
      startedAt: new Date(this.startedAt).toISOString(),
      instances: d.status(),
      syncGroups: [...d.groups].map(([name, a]) => ({ name, state: String(a.getSnapshot().value) })),
      ...(d.lvs ? { virtualServers: d.lvs.status(), loadBalancer: d.lb ? { driver: d.lb.driver, failures: d.lb.failures } : null } : {}),
      ...(this.deps.extra?.() ?? {}),
    };
  }

  /** check `file` (default: the running one) without applying it */
  configTest(file?: string): { exitCode: number; diagnostics: string[] } {
    const f = file ?? this.deps.daemon.configFile;
    if (!f) return { exitCode: ExitCode.cannotRun, diagnostics: ['no configuration file is known to this daemon'] };
    const res = this.deps.load(f);
    return { exitCode: res.exitCode, diagnostics: res.diagnostics.map((x) => formatDiagnostic(x)) };
  }

  /** read, check, then apply `file` (default: the running one) as a minimal diff */
  async reload(file?: string): Promise<ReloadOutcome> {
    const { notifier, daemon } = this.deps;
    notifier?.reloading(`reloading ${file ?? daemon.configFile ?? ''}`);
    const r = await this.reloadNow(file);
    notifier?.ready(r.ok ? `reloaded ${daemon.configFile ?? ''}` : `reload refused (exit ${r.exitCode}); the previous configuration keeps running`);
    return r;
  }

  private async reloadNow(file?: string): Promise<ReloadOutcome> {
    const { daemon, log } = this.deps;
    const f = file ?? daemon.configFile;
    if (!f) return { ok: false, exitCode: ExitCode.cannotRun, error: 'no configuration file is known to this daemon', diagnostics: [] };
    const res = this.deps.load(f);
    const diagnostics = res.diagnostics.map((x) => formatDiagnostic(x));
    if (res.exitCode !== ExitCode.ok) {
      const error = `${f}: the new configuration has errors; the running one is kept unchanged`;
      // a file of junk has tens of thousands: the log and the event keep the first ones (an event
      // over the journal's record limit would be lost); the reply carries them all
      const kept = diagnostics.length > MAX_RECORDED_DIAGNOSTICS
        ? [...diagnostics.slice(0, MAX_RECORDED_DIAGNOSTICS), `… and ${diagnostics.length - MAX_RECORDED_DIAGNOSTICS} more diagnostics`]
        : diagnostics;
      log.error({ diagnostics: kept }, `Reload refused: ${error}`);
      for (const line of kept) log.error(line);
      daemon.bus.publish('daemon', daemon.bus.node, 'daemon.reload-failed', { configFile: f, exitCode: res.exitCode, diagnostics: kept });
      return { ok: false, exitCode: res.exitCode, error, diagnostics };
    }
    const conflicts = (await this.deps.claimVrids?.(res.config).catch((err: Error) => [`cannot claim the VRIDs: ${err.message}`])) ?? [];
    if (conflicts.length) {
      const error = `${f}: another vigil on this host runs some of its VRIDs; the running configuration is kept unchanged`;
      log.error({ conflicts }, `Reload refused: ${error}`);
      for (const line of conflicts) log.error(line);
      daemon.bus.publish('daemon', daemon.bus.node, 'daemon.reload-failed', { configFile: f, exitCode: ExitCode.cannotRun, diagnostics: conflicts });
      return { ok: false, exitCode: ExitCode.cannotRun, error, diagnostics: [...diagnostics, ...conflicts] };
    }
    try {
      const report = await daemon.reload(res.config, f);
      return { ok: true, report, warnings: diagnostics };
    } catch (err) {
      const error = `reload failed while applying: ${(err as Error).message}`;
      log.error({ err }, error);
      return { ok: false, exitCode: ExitCode.cannotRun, error, diagnostics };
    }
  }

  /** the handler for every transport */
  readonly handle: ControlHandler = async (req: ControlRequest, peer: string): Promise<ControlReply> => {
    switch (req.cmd) {
      case 'ping':
        return { ok: true };
      case 'status':
        return { ok: true, status: this.status() };
      case 'config-test': {
        if (req.file !== undefined && typeof req.file !== 'string') return { ok: false, error: '"file" must be a string' };
        const r = this.configTest(req.file as string | undefined);
        return { ok: true, ...r };
      }
      case 'reload': {
        if (req.file !== undefined && typeof req.file !== 'string') return { ok: false, error: '"file" must be a string' };
        const r = await this.reload(req.file as string | undefined);
        return r.ok ? { ok: true, report: r.report, warnings: r.warnings } : { ok: false, error: r.error, exitCode: r.exitCode, diagnostics: r.diagnostics };
      }
      case 'priority':
        return this.priority(req, peer);
      case 'drain':
      case 'restore':
        return this.drain(req, peer);
      default:
        return { ok: false, error: `unknown command '${req.cmd}' (known: status, reload, config-test, priority, drain, restore, ping)` };
    }
  };

  /** maintenance: drain a real server (weight 0, established connections go on) or restore it */
  private drain(req: ControlRequest, peer: string): ControlReply {
    const { daemon } = this.deps;
    const vs = req.virtualServer;
    const rs = req.realServer;
    const error =
      typeof vs !== 'string' || typeof rs !== 'string'
        ? '"virtualServer" and "realServer" must name them as vigil status shows them (e.g. 10.0.0.100:80/tcp and 10.0.0.1:80)'
        : !daemon.lvs
          ? 'no virtual_server is running'
          : daemon.lvs.drain(vs, rs, req.cmd === 'drain');
    daemon.bus.publish('operator', typeof vs === 'string' ? vs : '-', 'operator.command', {
      command: req.cmd,
      ...(typeof vs === 'string' && typeof rs === 'string' ? { instance: `${vs} ${rs}` } : {}),
      by: peer,
      ok: !error,
      ...(error ? { error } : {}),
    });
    if (error) return { ok: false, error };
    this.deps.log.warn({ virtualServer: vs, realServer: rs, by: peer }, `operator ${req.cmd === 'drain' ? 'drained' : 'restored'} ${rs as string} in ${vs as string}`);
    return { ok: true, virtualServers: daemon.lvs!.status().filter((x) => x.virtualServer === vs) };
  }

  /** maintenance: set an instance's priority (1-254), or `null` to restore the configured one */
  private priority(req: ControlRequest, peer: string): ControlReply {
    const { daemon } = this.deps;
    const instance = req.instance;
    const value = req.priority;
    const audit = (ok: boolean, error?: string) =>
      daemon.bus.publish('operator', typeof instance === 'string' ? instance : '-', 'operator.command', {
        command: 'priority',
        ...(typeof instance === 'string' ? { instance } : {}),
        ...(typeof value === 'number' ? { value } : {}),
        by: peer,
        ok,
        ...(error ? { error } : {}),
      });
    const fail = (error: string): ControlReply => {
      audit(false, error);
      return { ok: false, error };
    };
    if (typeof instance !== 'string') return fail('"instance" must name a vrrp_instance');
    const inst = daemon.instances.get(instance);
    if (!inst) return fail(`no vrrp_instance '${instance}' is running (running: ${[...daemon.instances.keys()].join(', ') || 'none'})`);
    if (value !== null && (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > 254)) return fail('"priority" must be an integer 1-254, or null to restore the configured priority');
    if (inst.resolved.input.basePriority === 255) return fail(`${instance} is the address owner (priority 255); its priority cannot be changed`);
    this.deps.log.warn({ instance, priority: value, by: peer }, `operator ${value === null ? 'restored the configured priority of' : `set priority ${value} on`} ${instance}`);
    inst.setOperatorPriority(value === null ? undefined : value);
    audit(true);
    return { ok: true, instance: inst.status() };
  }
}
