// A vrrp_sync_group: its members change state together (keepalived.md §3.11; keepalived/vrrp/
// vrrp_sync.c). Pure. It listens to its members' `vrrp.want`, `vrrp.state` and `vrrp.faults`
// events and answers with `sync.command` events that the VRRP actor delivers to the members:
//   - MASTER only when every member wants MASTER ("prefer backup state to avoid thrashing");
//   - a member falling back to BACKUP takes the others with it;
//   - a member in FAULT puts the whole group in FAULT (the others get the 'sync-group' fault flag)
//     until no member has a fault of its own.
import { assign, emit, enqueueActions, setup } from 'xstate';
import type { VrrpStateName } from './vrrp.machine.js';

export type SyncState = 'INIT' | 'BACKUP' | 'MASTER' | 'FAULT' | 'STOP';
type Want = 'MASTER' | 'BACKUP' | 'FAULT';

export interface SyncGroupInput {
  readonly name: string;
  readonly members: readonly string[];
}

export type SyncGroupEvent =
  | { type: 'vrrp.want'; instance: string; want: Want }
  | { type: 'vrrp.state'; instance: string; to: VrrpStateName }
  | { type: 'vrrp.faults'; instance: string; flags: readonly string[] }
  | { type: 'shutdown' };

/** A command for one member, as a VRRP machine event. */
export type SyncCommand =
  | { type: 'sync.master' }
  | { type: 'sync.backup' }
  | { type: 'fault.set'; flag: string }
  | { type: 'fault.cleared'; flag: string };

export type SyncGroupEmitted =
  | { type: 'sync.state'; group: string; from: SyncState; to: SyncState; cause: string }
  | { type: 'sync.command'; group: string; instance: string; command: SyncCommand };

interface Member {
  want: Want;
  state: VrrpStateName;
  /** fault flags of the member's own (not the group's) */
  ownFaults: number;
  /** the member carries the group's fault flag */
  groupFlag: boolean;
}

export interface SyncGroupContext {
  name: string;
  members: Record<string, Member>;
  state: SyncState;
  /** the member whose change moved the group */
  cause: string;
}

/** The fault flag the group sets on members that have no fault of their own. */
export const syncFaultFlag = (group: string) => `sync-group:${group}`;

type MemberEvent = Exclude<SyncGroupEvent, { type: 'shutdown' }>;

/** The members after one report (pure; guards use it to decide on the state the event creates). */
function apply(c: SyncGroupContext, e: SyncGroupEvent): Record<string, Member> {
  if (e.type === 'shutdown') return c.members;
  const m = c.members[e.instance];
  if (!m) return c.members;
  const next: Member = { ...m };
  if (e.type === 'vrrp.want') next.want = e.want;
  if (e.type === 'vrrp.state') next.state = e.to;
  if (e.type === 'vrrp.faults') {
    next.ownFaults = e.flags.filter((f) => f !== syncFaultFlag(c.name)).length;
    next.groupFlag = e.flags.includes(syncFaultFlag(c.name));
  }
  return { ...c.members, [e.instance]: next };
}

const anyOwnFault = (ms: Record<string, Member>) => Object.values(ms).some((m) => m.ownFaults > 0);

type Pick = 'not-master' | 'master' | 'needs-flag' | 'all';
const picks: Record<Pick, (m: Member) => boolean> = {
  'not-master': (m) => m.state !== 'MASTER',
  master: (m) => m.state === 'MASTER',
  'needs-flag': (m) => m.ownFaults === 0 && !m.groupFlag,
  all: () => true,
};
type CommandName = 'master' | 'backup' | 'fault-set' | 'fault-cleared';
function command(name: CommandName, group: string): SyncCommand {
  switch (name) {
    case 'master':
      return { type: 'sync.master' };
    case 'backup':
      return { type: 'sync.backup' };
    case 'fault-set':
      return { type: 'fault.set', flag: syncFaultFlag(group) };
    case 'fault-cleared':
      return { type: 'fault.cleared', flag: syncFaultFlag(group) };
  }
}

export const syncGroupMachine = setup({
  types: {
    input: {} as SyncGroupInput,
    context: {} as SyncGroupContext,
    events: {} as SyncGroupEvent,
    emitted: {} as SyncGroupEmitted,
  },
  actions: {
    record: assign(({ context, event }) => ({
      members: apply(context, event),
      cause: event.type === 'shutdown' ? 'shutdown' : event.instance,
    })),
    announce: emit(({ context }, params: { to: SyncState }) => ({
      type: 'sync.state' as const,
      group: context.name,
      from: context.state,
      to: params.to,
      cause: context.cause,
    })),
    setState: assign((_, params: { to: SyncState }) => ({ state: params.to })),
    /** one `sync.command` to every member `pick` chooses */
    commandMembers: enqueueActions(({ context, enqueue }, params: { pick: Pick; command: CommandName }) => {
      for (const [instance, m] of Object.entries(context.members)) {
        if (picks[params.pick](m)) {
          enqueue.emit({ type: 'sync.command', group: context.name, instance, command: command(params.command, context.name) });
        }
      }
    }),
  },
  guards: {
    faultAfter: ({ context, event }) => anyOwnFault(apply(context, event)),
    noFaultAfter: ({ context, event }) => !anyOwnFault(apply(context, event)),
    allWantMasterAfter: ({ context, event }) => Object.values(apply(context, event)).every((m) => m.want === 'MASTER'),
    memberFellBack: ({ context, event }) =>
      event.type === 'vrrp.state' && event.to === 'BACKUP' && context.members[event.instance] !== undefined,
  },
}).createMachine({
  id: 'syncGroup',
  context: ({ input }) => ({
    name: input.name,
    members: Object.fromEntries(input.members.map((n) => [n, { want: 'BACKUP' as Want, state: 'INIT' as VrrpStateName, ownFaults: 0, groupFlag: false }])),
    state: 'INIT',
    cause: 'startup',
  }),
  initial: 'backup',
  on: {
    shutdown: { target: '.stopped', actions: 'record' },
  },
  states: {
    backup: {
      entry: [{ type: 'announce', params: { to: 'BACKUP' } }, { type: 'setState', params: { to: 'BACKUP' } }],
      on: {
        'vrrp.want': [
          { guard: 'faultAfter', target: 'fault', actions: 'record' },
          // vrrp_sync_can_goto_master: only when every member wants it
          { guard: 'allWantMasterAfter', target: 'master', actions: 'record' },
          { actions: 'record' },
        ],
        'vrrp.state': [
          { guard: 'faultAfter', target: 'fault', actions: 'record' },
          { guard: 'allWantMasterAfter', target: 'master', actions: 'record' },
          { actions: 'record' },
        ],
        'vrrp.faults': [{ guard: 'faultAfter', target: 'fault', actions: 'record' }, { actions: 'record' }],
      },
    },
    master: {
      entry: [
        { type: 'announce', params: { to: 'MASTER' } },
        { type: 'setState', params: { to: 'MASTER' } },
        // vrrp_sync_master: every member not yet MASTER goes there now
        { type: 'commandMembers', params: { pick: 'not-master', command: 'master' } },
      ],
      on: {
        'vrrp.state': [
          { guard: 'faultAfter', target: 'fault', actions: 'record' },
          // vrrp_sync_backup: the members still MASTER leave it (without a priority-0 advert)
          {
            guard: 'memberFellBack',
            target: 'backup',
            actions: ['record', { type: 'commandMembers', params: { pick: 'master', command: 'backup' } }],
          },
          { actions: 'record' },
        ],
        'vrrp.faults': [{ guard: 'faultAfter', target: 'fault', actions: 'record' }, { actions: 'record' }],
        'vrrp.want': { actions: 'record' },
      },
    },
    fault: {
      entry: [
        { type: 'announce', params: { to: 'FAULT' } },
        { type: 'setState', params: { to: 'FAULT' } },
        // vrrp_sync_fault: everyone without a fault of its own follows, through the group's flag
        { type: 'commandMembers', params: { pick: 'needs-flag', command: 'fault-set' } },
      ],
      on: {
        'vrrp.faults': [
          {
            guard: 'noFaultAfter',
            target: 'backup',
            actions: ['record', { type: 'commandMembers', params: { pick: 'all', command: 'fault-cleared' } }],
          },
          // a member whose own faults are gone stays in FAULT with the group's flag
          { actions: ['record', { type: 'commandMembers', params: { pick: 'needs-flag', command: 'fault-set' } }] },
        ],
        'vrrp.state': { actions: 'record' },
        'vrrp.want': { actions: 'record' },
      },
    },
    stopped: {
      type: 'final',
      entry: [{ type: 'announce', params: { to: 'STOP' } }, { type: 'setState', params: { to: 'STOP' } }],
    },
  },
});
