// What the replay needs from the configuration: every machine's input, built the way the daemon
// builds it (actors/vrrp.ts resolveAll, machines/lvs-input.ts), and who listens to whom (a sync
// group's members, a checker's virtual server, the VRRP instances holding a virtual server's
// address). The record carries decisions, not configuration, so the machines' inputs come from here.
import type { KeepalivedConfig } from '../../adapters/config/index.js';
import type { CheckerInput } from '../../machines/checker.machine.js';
import { checkerId, checkerInput, virtualServerInput, virtualServerName } from '../../machines/lvs-input.js';
import type { VirtualServerInput } from '../../machines/virtual-server.machine.js';
import type { VrrpInput } from '../../machines/vrrp.machine.js';
import { resolveAll } from '../vrrp.js';

export interface InstanceModel {
  readonly input: VrrpInput;
  /** interfaces whose loss is a FAULT for this instance (tracked with weight 0) */
  readonly faultInterfaces: readonly string[];
  readonly vips: readonly string[];
}

export interface VirtualServerModel {
  readonly input: VirtualServerInput;
  /** ha_suspend: the checks run only while a VRRP instance holding `address` is MASTER */
  readonly haSuspend: boolean;
  readonly address?: string;
  /** checker id → its machine's input, or why it has none */
  readonly checkers: ReadonlyMap<string, CheckerInput | string>;
}

export interface ReplayModel {
  /** in configuration order, the order the daemon starts and stops them in */
  readonly instances: ReadonlyMap<string, InstanceModel>;
  /** group → members that are configured instances, in configuration order */
  readonly groups: ReadonlyMap<string, readonly string[]>;
  readonly groupOf: ReadonlyMap<string, string>;
  readonly virtualServers: ReadonlyMap<string, VirtualServerModel>;
  /** checker id → its virtual server's name */
  readonly checkerVs: ReadonlyMap<string, string>;
  /** `script:NAME` / `process:NAME` → the instances it applies to, with the weight in force (actors/trackers.ts) */
  readonly trackers: ReadonlyMap<string, readonly TrackerUse[]>;
}

export interface TrackerUse {
  readonly instance: string;
  readonly weight: number;
  readonly reverse: boolean;
}

export function replayModel(config: KeepalivedConfig): ReplayModel {
  const instances = new Map<string, InstanceModel>();
  for (const r of resolveAll(config)) {
    instances.set(r.input.name, {
      // the advert source address the socket will use, when the config names it (the tie-break needs it)
      input: { ...r.input, ...(r.endpoint.srcIp ? { srcIp: r.endpoint.srcIp } : {}) },
      faultInterfaces: r.trackedInterfaces.filter((t) => t.weight === 0).map((t) => t.name),
      vips: r.vips.map((v) => v.address),
    });
  }
  const groups = new Map<string, string[]>();
  const groupOf = new Map<string, string>();
  for (const g of config.syncGroups) {
    const members = g.members.map((m) => m.name).filter((n) => instances.has(n));
    groups.set(g.name, members);
    for (const m of members) groupOf.set(m, g.name);
  }
  const virtualServers = new Map<string, VirtualServerModel>();
  const checkerVs = new Map<string, string>();
  for (const vs of config.virtualServers) {
    const name = virtualServerName(vs);
    const input = virtualServerInput(vs);
    const checkers = new Map<string, CheckerInput | string>();
    for (const rs of vs.realServers) {
      rs.checkers.forEach((ck, i) => {
        if (ck.type === 'BFD_CHECK') return; // not run (actors/lvs.ts)
        try {
          const c = checkerInput(vs, rs, i);
          checkers.set(c.id, c);
        } catch (err) {
          checkers.set(checkerId(vs, rs, i), (err as Error).message);
        }
      });
    }
    for (const id of checkers.keys()) checkerVs.set(id, name);
    virtualServers.set(name, {
      input,
      haSuspend: vs.haSuspend,
      ...(vs.kind === 'address' && vs.address ? { address: vs.address } : {}),
      checkers,
    });
  }
  return { instances, groups, groupOf, virtualServers, checkerVs, trackers: trackerUses(config) };
}

/** As TrackerSet subscribes them: an instance's own trackers, then its sync group's (keepalived copies those to members). */
function trackerUses(config: KeepalivedConfig): Map<string, TrackerUse[]> {
  const out = new Map<string, TrackerUse[]>();
  const groupOf = new Map<string, KeepalivedConfig['syncGroups'][number]>();
  for (const g of config.syncGroups) for (const m of g.members) groupOf.set(m.name, g);
  const own = (kind: 'script' | 'process', name: string) =>
    kind === 'script' ? config.vrrpScripts.find((s) => s.name === name) : config.trackProcesses.find((s) => s.name === name);
  for (const inst of config.instances) {
    const g = groupOf.get(inst.name);
    for (const refs of g ? [inst, g] : [inst]) {
      for (const [kind, list] of [['script', refs.trackScripts], ['process', refs.trackProcesses]] as const) {
        for (const ref of list) {
          const o = own(kind, ref.name);
          if (!o) continue;
          const key = `${kind}:${ref.name}`;
          out.set(key, [...(out.get(key) ?? []), {
            instance: inst.name,
            weight: ref.weight ?? o.weight,
            reverse: ref.weight !== undefined ? ref.reverse : o.reverse || ref.reverse,
          }]);
        }
      }
    }
  }
  return out;
}
