// Replaying VRRP instances and sync groups. Adverts and timers are not recorded, so most inputs of
// an instance are inferred from the cause its recorded state change names; what the record does
// hold is fed as recorded: priority changes (vrrp.priority carries the value the machine was
// given), tracker states (track.state: the fault flags of unweighted trackers), and the daemon's
// stop. A sync group hears its replayed members exactly as the daemon wires them (their wishes
// and fault flags, which are not recorded, come from the replayed members), and its commands go
// back to them; so a group's decision, and every member's move it orders, is reproduced rather
// than inferred.
//
// What an inferred input checks: that the recorded decision is the one the machine makes, from the
// state the replay has reached, given the input the cause names: the state it leaves, the state it
// enters, the priority, the fault flag, and every group decision that follows. It does not check
// that the input happened (that a Master_Down timer really ran out with no advert): the record
// cannot tell.
import type { EventObject } from 'xstate';
import { syncFaultFlag, syncGroupMachine } from '../../machines/sync-group.machine.js';
import { stateName, vrrpMachine, type VrrpContext, type VrrpInput } from '../../machines/vrrp.machine.js';
import type { BusEvent } from '../bus.js';
import type { ActorState, Explanation, KindRules, Listener, Replay } from './engine.js';

type Data = Record<string, unknown>;

const FED = { fed: true } as const;
const DEFER = { defer: true } as const;

/** the fault flag given to an instance that the record shows starting in FAULT: its flags are not recorded */
export const UNRECORDED_FAULT = 'unrecorded';

const vrrpContext = (a: ActorState) => a.run!.context as unknown as VrrpContext;

/** the instance's sync group, when it is being replayed */
function activeGroup(r: Replay, instance: string): ActorState | undefined {
  const name = r.model.groupOf.get(instance);
  if (!name) return undefined;
  const g = r.actor('sync-group', name);
  return g.run?.active ? g : undefined;
}

export const vrrpRules: KindRules = {
  kind: 'vrrp',
  published: new Set(['vrrp.state', 'vrrp.priority', 'vrrp.conflict']),
  // a BACKUP's master comes from adverts, which are not recorded
  unknowable: { 'vrrp.state': ['master'] },
  isStart: (e) => e.type === 'vrrp.state' && (e.data as Data)['from'] === 'INIT',
  // a group decides on its members' wishes: without one of them, its decisions cannot be replayed
  onLost(r, a) {
    const g = activeGroup(r, a.name);
    if (g && !g.diverged) r.lose(g, `its member ${a.name} is no longer replayed (${a.lost ?? 'lost'})`);
  },
  // as actors/daemon.ts wireMember: wishes, fault flags and states go to the member's group
  route(r, from, e) {
    const g = activeGroup(r, from.name);
    if (!g) return;
    const x = e as EventObject & Data;
    if (e.type === 'vrrp.want' || e.type === 'vrrp.faults') r.feed(g, e, { provenance: 'derived', why: `${from.name} tells its group` });
    else if (e.type === 'vrrp.state') r.feed(g, { type: 'vrrp.state', instance: x['instance'], to: x['to'] }, { provenance: 'derived', why: `${from.name} tells its group` });
  },
  explain(r, a, e) {
    const inst = r.model.instances.get(a.name);
    if (!inst) return { unreplayable: `no vrrp_instance ${a.name} in the configuration` };
    const d = e.data as Data;
    if (e.type === 'vrrp.state' && d['from'] === 'INIT') return startInstance(r, a, inst.input, d);
    if (!a.run?.active) return { none: 'the instance had stopped' };
    const ctx = vrrpContext(a);
    switch (e.type) {
      case 'vrrp.priority':
        r.feed(a, { type: 'priority.set', priority: d['to'], ...(d['cause'] ? { cause: d['cause'] } : {}) }, { provenance: 'recorded', why: 'the priority it was given is recorded' });
        return FED;
      case 'vrrp.conflict':
        r.feed(a, { type: 'advert.received', src: d['src'], priority: 255, intervalCs: ctx.masterIntervalCs }, { provenance: 'inferred', why: 'the conflict names an address owner advertising' });
        return FED;
      default:
        return byCause(r, a, ctx, d);
    }
  },
};

/**
 * The instance started. Its start priority and faults come from trackers and links that reported
 * before the first state change, so they are taken from the record; the rest is the configuration.
 */
function startInstance(r: Replay, a: ActorState, base: VrrpInput, d: Data): Explanation {
  const input: VrrpInput = {
    ...base,
    ...(base.basePriority === 255 ? {} : { priority: Number(d['priority']) }),
    faults: d['to'] === 'FAULT' ? [UNRECORDED_FAULT] : [],
    trackersReady: true,
  };
  r.start(a, vrrpMachine, input, { provenance: 'inferred', why: `it started (priority ${String(d['priority'])}${d['to'] === 'FAULT' ? ', in FAULT' : ''}, from the record)` });
  if (a.run?.timer('startupDelay')) r.fire(a, 'startupDelay', { provenance: 'inferred', why: 'vrrp_startup_delay ran out' });
  return FED;
}

function byCause(r: Replay, a: ActorState, ctx: VrrpContext, d: Data): Explanation {
  const cause = String(d['cause']);
  const master = typeof d['master'] === 'string' ? d['master'] : ctx.masterAddress;
  const advert = (src: string | undefined, priority: number) => ({ type: 'advert.received', src: src ?? 'unknown', priority, intervalCs: ctx.masterIntervalCs });
  const inferred = (why: string) => ({ provenance: 'inferred' as const, why });
  switch (cause) {
    case 'master-down-timeout':
      return fireOr(r, a, 'masterDown', 'no advert for Master_Down_Interval (adverts are not recorded)');
    case 'priority-0-received':
      r.feed(a, advert(ctx.masterAddress, 0), inferred('the master left: a priority-0 advert'));
      return fireOr(r, a, 'skew', 'Skew_Time after the priority-0 advert');
    case 'higher-priority-advert':
      r.feed(a, advert(master, Math.min(255, ctx.priority + 1)), inferred(`an advert from the recorded master${master ? ` ${master}` : ''} with a higher priority (its value is not recorded)`));
      return FED;
    case 'equal-priority-higher-address':
      if (!ctx.srcIp) return { unreplayable: "the tie-break needs this node's advert source address: neither the record nor the configuration (unicast_src_ip, mcast_src_ip) holds it" };
      if (!master) return { unreplayable: "the winner's address is not recorded" };
      r.feed(a, advert(master, ctx.priority), inferred(`an advert from ${master} with our priority`));
      return FED;
    case 'fault':
      return raiseFault(r, a, String(d['detail'] ?? UNRECORDED_FAULT));
    case 'fault-cleared':
      return clearFaults(r, a, ctx);
    case 'vips-lost':
      r.feed(a, { type: 'vips.lost', address: d['detail'] ?? 'unknown' }, inferred('the address was removed behind its back (netlink is not recorded)'));
      return FED;
    case 'sync-group':
      if (activeGroup(r, a.name)) return DEFER; // its group's command, replayed
      r.feed(a, { type: d['to'] === 'MASTER' ? 'sync.master' : 'sync.backup' }, inferred('its sync group moved it (the group is not replayed)'));
      return FED;
    case 'shutdown':
      r.feed(a, { type: 'shutdown' }, inferred('it was stopped'));
      return FED;
    default:
      return { unreplayable: `unknown cause '${cause}'` };
  }
}

function fireOr(r: Replay, a: ActorState, delay: string, why: string): Explanation {
  if (r.fire(a, delay, { provenance: 'inferred', why })) return FED;
  const armed = a.run!.timerNames();
  return { none: `no ${delay} timer is armed in the replayed state ${a.run!.state} (armed: ${armed.join(', ') || 'none'})` };
}

/**
 * A fault flag names a shared fact: a link down is a fault of every instance tracking that link
 * unweighted, raised on each in the daemon's order (their link watchers' order). The replay raises
 * it on all of them, so instances already in FAULT (no state change, nothing recorded) carry it too.
 */
function raiseFault(r: Replay, a: ActorState, flag: string): Explanation {
  const group = activeGroup(r, a.name);
  if (group && flag === syncFaultFlag(group.name)) return DEFER; // the group's command, replayed
  for (const x of sharing(r, a, flag)) {
    // (each feed may end another machine's replay: check again before each)
    if (!x.run?.active || vrrpContext(x).faults.includes(flag)) continue;
    r.feed(x, { type: 'fault.set', flag }, { provenance: 'inferred', why: x === a ? 'the state change names the flag' : `the same fact as ${a.name}'s fault` });
  }
  return FED;
}

/** FAULT → BACKUP: every fault of its own is gone (the group's flag is the group's to clear). */
function clearFaults(r: Replay, a: ActorState, ctx: VrrpContext): Explanation {
  const group = activeGroup(r, a.name);
  const own = ctx.faults.filter((f) => !group || f !== syncFaultFlag(group.name));
  if (!own.length) return group ? DEFER : { none: 'the replayed instance has no fault to clear' };
  for (const flag of own) {
    for (const x of sharing(r, a, flag)) {
      if (!x.run?.active || !vrrpContext(x).faults.includes(flag)) continue;
      r.feed(x, { type: 'fault.cleared', flag }, { provenance: 'inferred', why: x === a ? 'it left FAULT: its faults ended' : `the same fact as ${a.name}'s` });
    }
  }
  return FED;
}

/** the running instances a flag applies to, in configuration order (`a` alone unless it is a link's) */
function sharing(r: Replay, a: ActorState, flag: string): ActorState[] {
  if (!flag.startsWith('interface:')) return [a];
  const link = flag.slice('interface:'.length);
  const out: ActorState[] = [];
  for (const [name, inst] of r.model.instances) {
    if (!inst.faultInterfaces.includes(link)) continue;
    const x = r.actor('vrrp', name);
    if (x.run?.active) out.push(x);
  }
  return out.includes(a) ? out : [a];
}

export const groupRules: KindRules = {
  kind: 'sync-group',
  published: new Set(['sync.state']),
  isStart: (e) => (e.data as Data)['from'] === 'INIT',
  // as actors/daemon.ts createGroup: commands go to the members
  route(r, from, e) {
    if (e.type !== 'sync.command') return;
    const c = e as EventObject & { instance: string; command: EventObject };
    const m = r.actor('vrrp', c.instance);
    if (m.run?.active) r.feed(m, c.command, { provenance: 'derived', why: `sync group ${from.name} commands it` });
  },
  explain(r, a, e) {
    const members = r.model.groups.get(a.name);
    if (!members) return { unreplayable: `no vrrp_sync_group ${a.name} in the configuration` };
    const d = e.data as Data;
    if (d['from'] === 'INIT') return startGroup(r, a, members);
    if (!a.run?.active) return { none: 'the group had stopped' };
    if (d['to'] === 'STOP') {
      r.feed(a, { type: 'shutdown' }, { provenance: 'inferred', why: 'it was stopped' });
      return FED;
    }
    if (d['to'] === 'MASTER') return membersTimeOut(r, members, String(d['cause']));
    // FAULT, BACKUP: a member's change moved it; that change is replayed (its own cause)
    return DEFER;
  },
};

function startGroup(r: Replay, a: ActorState, members: readonly string[]): Explanation {
  r.start(a, syncGroupMachine, { name: a.name, members }, { provenance: 'inferred', why: 'it started' });
  // a group rebuilt by a reload learns where its running members stand (actors/daemon.ts); in a
  // new process (a restart after a crash) the members still running in the replay are the old ones
  if (r.processStart()) return FED;
  for (const m of members) {
    const x = r.actor('vrrp', m);
    if (!x.run?.active || stateName(x.run.snapshot.value) === 'INIT') continue;
    const ctx = vrrpContext(x);
    const why = { provenance: 'derived' as const, why: 'a rebuilt group learns its running members' };
    r.feed(a, { type: 'vrrp.state', instance: m, to: stateName(x.run.snapshot.value) }, why);
    r.feed(a, { type: 'vrrp.faults', instance: m, flags: [...ctx.faults] }, why);
    r.feed(a, { type: 'vrrp.want', instance: m, want: ctx.want }, why);
  }
  return FED;
}

/**
 * BACKUP → MASTER: every member wanted MASTER, each when its Master_Down timer ran out (no advert
 * came). Those wishes are not recorded; the replay lets the members' armed timers run out, the
 * member the record names last, and the group's decision follows from them.
 */
function membersTimeOut(r: Replay, members: readonly string[], last: string): Explanation {
  const order = [...members.filter((m) => m !== last), ...members.filter((m) => m === last)];
  for (const m of order) {
    const x = r.actor('vrrp', m);
    if (!x.run?.active || vrrpContext(x).want === 'MASTER') continue; // (checked again: feeds may end a replay)
    const why = { provenance: 'inferred' as const, why: 'its Master_Down timer ran out: no advert (adverts are not recorded)' };
    if (!r.fire(x, 'masterDown', why)) r.fire(x, 'skew', why);
  }
  return FED;
}

/** Recorded inputs of instances and groups: tracker states, and the daemon stopping. */
export const vrrpListener: Listener = (r, e) => {
  if (e.type === 'track.state') trackerChanged(r, e);
  else if (e.type === 'daemon.stopping') {
    const why = { provenance: 'recorded' as const, why: 'the daemon stopped' };
    for (const a of r.known('vrrp')) if (a.run?.active) r.feed(a, { type: 'shutdown' }, why);
    for (const g of r.known('sync-group')) if (g.run?.active) r.feed(g, { type: 'shutdown' }, why);
    for (const a of [...r.known('vrrp'), ...r.known('sync-group')]) a.stoppedByDaemon = true;
  }
};

/**
 * A script or process tracker changed state: an unweighted one raises or clears its fault flag on
 * every instance using it (machines/priority.ts contribution), in the order TrackerSet tells them.
 * Weighted ones change priorities, which are recorded as vrrp.priority and fed from there.
 */
function trackerChanged(r: Replay, e: BusEvent): void {
  const d = e.data as Data;
  const kind = d['kind'];
  if ((kind !== 'script' && kind !== 'process') || (d['state'] !== 'ok' && d['state'] !== 'failed')) return;
  const flag = `track:${kind}:${e.name}`;
  for (const use of r.model.trackers.get(`${kind}:${e.name}`) ?? []) {
    if (use.weight !== 0) continue;
    const a = r.actor('vrrp', use.instance);
    if (!a.run?.active) continue;
    const fault = use.reverse ? d['state'] === 'ok' : d['state'] === 'failed';
    const has = vrrpContext(a).faults.includes(flag);
    if (fault === has) continue;
    r.feed(a, { type: fault ? 'fault.set' : 'fault.cleared', flag }, { provenance: 'recorded', why: `tracker ${e.name} is ${String(d['state'])}` });
  }
}
