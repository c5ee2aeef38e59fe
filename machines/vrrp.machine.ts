// One VRRP instance as a statechart: INIT, BACKUP, MASTER, FAULT, STOP (keepalived.md §3).
// Pure: only xstate and our types. Timers are named `after` delays (Master_Down, Skew_Time,
// preempt_delay, the GARP bursts) or, for the MASTER's advert interval, the actor system's scheduler
// (advertTicker); the wire, the addresses and the clock come from the VRRP actor through
// `.provide()` and `createActor(…, { clock })`.
//
// The rules are keepalived's (keepalived/vrrp/vrrp.c vrrp_state_backup, vrrp_state_master_rx,
// vrrp_state_leave_master, vrrp_state_leave_fault), which differ from RFC 5798 in places; each
// difference is marked "keepalived:".
import { and, assign, emit, fromCallback, not, or, raise, sendTo, setup, stateIn, type EventObject } from 'xstate';
import { compareAddresses } from './address.js';

export type VrrpStateName = 'INIT' | 'BACKUP' | 'MASTER' | 'FAULT' | 'STOP';

export interface GarpTiming {
  /** second burst this long after becoming MASTER (garp_master_delay, default 5 s; 0 = none) */
  readonly masterDelayMs: number;
  /** gratuitous ARPs / NAs per address in each burst (garp_master_repeat, default 5) */
  readonly masterRepeat: number;
  /** periodic refresh while MASTER (garp_master_refresh; 0 = none) */
  readonly masterRefreshMs: number;
  readonly masterRefreshRepeat: number;
  /** on a lower-priority advert received while MASTER (garp_lower_prio_repeat; 0 = none) */
  readonly lowerPrioRepeat: number;
  readonly lowerPrioDelayMs: number;
}

export interface VrrpInput {
  readonly name: string;
  readonly vrid: number;
  readonly version: 2 | 3;
  /** configured priority; 255 = address owner */
  readonly basePriority: number;
  /** effective priority at start (trackers may already lower it); defaults to basePriority */
  readonly priority?: number;
  /** advert_int in centiseconds */
  readonly advertIntervalCs: number;
  /** `state MASTER` in the config; only an owner acts on it at once (keepalived.md §3.3) */
  readonly initialState: 'MASTER' | 'BACKUP';
  readonly nopreempt: boolean;
  readonly preemptDelayMs: number;
  /** Master_Down_Interval = downTimerAdverts × Master_Adver_Interval + Skew_Time (default 3) */
  readonly downTimerAdverts: number;
  readonly lowerPrioNoAdvert: boolean;
  readonly higherPrioSendAdvert: boolean;
  readonly garp: GarpTiming;
  /** our advert source address, for the equal-priority tie-break; may arrive later (`src.set`) */
  readonly srcIp?: string;
  /** member of a vrrp_sync_group: go MASTER only when the group says so */
  readonly syncGroup?: string;
  /** vrrp_startup_delay (packets received meanwhile are discarded) */
  readonly startupDelayMs?: number;
  /** fault flags present at start (interface down, tracker failed, config error …) */
  readonly faults?: readonly string[];
  /** false while unweighted trackers have not reported: stay in INIT until `trackers.ready` */
  readonly trackersReady?: boolean;
}

/** Why a transition happened, as logs, events and notifications report it. */
export type VrrpCause =
  | 'startup'
  | 'master-down-timeout' // "Receive advertisement timeout"
  | 'priority-0-received'
  | 'higher-priority-advert'
  | 'equal-priority-higher-address'
  | 'fault'
  | 'fault-cleared'
  | 'vips-lost'
  | 'sync-group'
  | 'shutdown';

export type VrrpEvent =
  /** an advert that passed every wire check (adapters/vrrp/codec.ts validate) */
  | { type: 'advert.received'; src: string; priority: number; intervalCs: number }
  /** new effective priority from the trackers (machines/priority.ts) */
  | { type: 'priority.set'; priority: number; cause?: string }
  | { type: 'fault.set'; flag: string }
  | { type: 'fault.cleared'; flag: string }
  | { type: 'trackers.ready' }
  | { type: 'src.set'; srcIp: string }
  /** a VIP was removed behind our back while MASTER (unless no_track) */
  | { type: 'vips.lost'; address: string }
  /** sync group commands (machines/sync-group.machine.ts) */
  | { type: 'sync.master' }
  | { type: 'sync.backup' }
  /** stop; `release: false` (keepalived's -V, --dont-release-vrrp): no priority-0 advert, the VIPs stay */
  | { type: 'shutdown'; release?: boolean }
  /** a reload changed parameters that apply in place (actors/vrrp.ts reconfigure): no transition */
  | { type: 'reconfigure'; params: VrrpTunables }
  /** the MASTER's advert interval is over (advertTicker) */
  | { type: 'advert.due' }
  /** Master_Down_Interval ran out (masterDownTimer) */
  | { type: 'master.down' }
  /** raised by the MASTER when it hears a lower-priority advert (for its GARP regions) */
  | { type: 'lower-prio.heard' };

/** What a reload may change on a running instance without restarting it (an owner stays an owner). */
export type VrrpTunables = Pick<
  VrrpInput,
  | 'basePriority'
  | 'advertIntervalCs'
  | 'nopreempt'
  | 'preemptDelayMs'
  | 'downTimerAdverts'
  | 'lowerPrioNoAdvert'
  | 'higherPrioSendAdvert'
  | 'garp'
  | 'startupDelayMs'
>;

export type VrrpEmitted =
  | {
      type: 'vrrp.state';
      instance: string;
      vrid: number;
      from: VrrpStateName;
      to: VrrpStateName;
      cause: VrrpCause;
      detail?: string;
      priority: number;
      master?: string;
    }
  | { type: 'vrrp.priority'; instance: string; from: number; to: number; cause?: string }
  /** wanted state, for the sync group (keepalived's `wantstate`) */
  | { type: 'vrrp.want'; instance: string; want: 'MASTER' | 'BACKUP' | 'FAULT' }
  /**
   * MASTER heard a lower-priority master: notify_master_rx_lower_pri. `suppressed` is never set by
   * the machine: the VRRP actor's rate limit (actors/event-throttle.ts) publishes the first from a
   * sender at once, then at most one per second: the last of the `suppressed` adverts folded since.
   */
  | { type: 'vrrp.rx-lower-priority'; instance: string; src: string; priority: number; ours: number; suppressed?: number }
  | { type: 'vrrp.ignored'; instance: string; src: string; priority: number; reason: 'not-ready' | 'lower-priority' }
  | { type: 'vrrp.conflict'; instance: string; src: string; detail: string }
  /** the set of fault flags changed (FAULT ⇔ non-empty) */
  | { type: 'vrrp.faults'; instance: string; flags: string[] };

export interface VrrpContext extends VrrpInput {
  /** effective priority (equal to basePriority for an owner) */
  priority: number;
  /** Master_Adver_Interval in centiseconds: v3 BACKUP adopts the master's (RFC 5798 §6.4.2) */
  masterIntervalCs: number;
  masterAddress: string | undefined;
  masterPriority: number | undefined;
  faults: string[];
  trackersReady: boolean;
  srcIp: string | undefined;
  /** the state the instance would be in without its sync group */
  want: 'MASTER' | 'BACKUP' | 'FAULT';
  /** the last state announced, for `from` in vrrp.state */
  announced: VrrpStateName;
  /** why the transition under way happens; read by the entered state's announcement */
  cause: VrrpCause;
  causeDetail: string | undefined;
}

/** Skew_Time in ms (vrrp.h VRRP_TIMER_SKEW): v2 (256−P)/256 s; v3 (256−P)×Master_Adver_Interval/256. */
export function skewMs(c: Pick<VrrpContext, 'version' | 'basePriority' | 'priority' | 'masterIntervalCs'>): number {
  const p = 256 - (c.basePriority === 255 ? 255 : c.priority);
  // keepalived computes in whole microseconds; so do we
  const us = c.version === 3 ? Math.floor((p * c.masterIntervalCs * 625) / 16) : Math.floor((p * 1_000_000) / 256);
  return us / 1000;
}

/** Master_Down_Interval in ms (vrrp.h VRRP_MS_DOWN_TIMER). */
export function masterDownMs(
  c: Pick<VrrpContext, 'version' | 'basePriority' | 'priority' | 'masterIntervalCs' | 'downTimerAdverts'>,
): number {
  return c.downTimerAdverts * c.masterIntervalCs * 10 + skewMs(c);
}

type Ev<T extends VrrpEvent['type']> = Extract<VrrpEvent, { type: T }>;
type AdvertEvent = Ev<'advert.received'>;

/** sender address vs ours: >0 sender higher, <0 lower, 0 equal or unknown (keepalived vrrp_saddr_cmp) */
function addrCmp(context: VrrpContext, event: AdvertEvent): number {
  return context.srcIp ? compareAddresses(event.src, context.srcIp) : 0;
}


/** Entry actions of a state: announce it, then remember it as the last announced. */
const enter = (to: VrrpStateName) =>
  [
    { type: 'announce', params: { to } },
    { type: 'markAnnounced', params: { to } },
  ] as const;

const want = (w: VrrpContext['want']) => [{ type: 'setWant', params: { want: w } }, 'emitWant'] as const;

/** MASTER → BACKUP on a winning advert: cause, v3 interval, master recorded, addresses removed. */
const yieldTo = () => ['becauseYield', 'adoptInterval', 'recordMaster', ...want('BACKUP'), 'removeVips'] as const;

/** MASTER hearing a lower-priority master: GARP burst and notify_master_rx_lower_pri */
// and `lower-prio.heard` for the GARP regions (lowerPrioBurst, lowerPrio). Raised, because a
// region's own `advert.received` transition would take the event from the MASTER state's
// (XState takes a parallel state's own transitions only when no region has one).
const answerLower = () => ['rxLowerPriority', 'heardLower'] as const;

const clampPriority = (p: number) => Math.max(1, Math.min(254, Math.trunc(p)));

/** the MASTER's advert interval (advert_int; a v3 BACKUP adopts the master's, a MASTER uses its own) */
export const advertIntervalMs = (c: Pick<VrrpContext, 'advertIntervalCs'>): number => c.advertIntervalCs * 10;

/** what the advert ticker reads its instance's priority and interval from: the machine's actor */
export interface AdvertTickerInput {
  readonly parent: { getSnapshot(): { context: VrrpContext } };
}

const ADVERT_TICK = 'vrrp.advert.tick';

/**
 * The MASTER's advert timer, invoked while MASTER: `advert.due` every advert_int, on the actor
 * system's scheduler (the clock `after` delays run on: a SimulatedClock in tests), re-armed from the
 * instance's current interval; the machine then sends the advert with its current priority.
 *
 * The VRRP actor (actors/vrrp.ts) provides its own ticker, which sends the advert itself with the
 * instance's current priority and interval, and the machine takes no step for it. An advert is the
 * MASTER's steady state (ten a second per instance at advert_int 0.1), and a step of this machine
 * costs about 0.2-0.3 ms of a CPU whose caches went cold in the 100 ms between adverts (measured:
 * half the CPU of an idle daemon). The machine still decides when adverts run (the ticker lives
 * exactly while MASTER) and sends every other advert itself: on entering MASTER, priority 0 on
 * leaving, answers to a leaving or lower-priority master.
 */
export const advertTicker = fromCallback<EventObject, AdvertTickerInput>(({ input, self, system, sendBack, receive }) => {
  const arm = () => system.scheduler.schedule(self, self, { type: ADVERT_TICK }, advertIntervalMs(input.parent.getSnapshot().context), 'advert');
  receive((e) => {
    if (e.type !== ADVERT_TICK) return;
    arm(); // first: a step that stops the ticker cancels it
    sendBack({ type: 'advert.due' });
  });
  arm();
  return () => system.scheduler.cancel(self, 'advert');
});

/** what the Master_Down timer is started with: its parent and its first length */
export interface MasterDownTimerInput {
  readonly parent: { getSnapshot(): { context: VrrpContext } };
  readonly ms: number;
}

/** sent to the Master_Down timer by an accepted advert: start again, this long */
export interface MasterDownRestart {
  readonly type: 'restart';
  readonly ms: number;
}

const MASTER_DOWN_TICK = 'vrrp.master-down.tick';

/** timers this machine runs as invoked children, by child id: the event each sends when it runs out (replay) */
export const invokedTimers: Readonly<Record<string, EventObject>> = { masterDown: { type: 'master.down' } };

/**
 * The BACKUP's Master_Down timer, invoked while it waits for the master (backup.timer.waiting):
 * `master.down` once `ms` has passed since the start or the last `restart` (each accepted advert
 * sends one, with the length of the Master_Down_Interval then), on the actor system's scheduler
 * (a SimulatedClock in tests).
 *
 * The VRRP actor (actors/vrrp.ts) provides its own on the instance's clock, which it can also
 * restart itself: an advert identical to the one last accepted (same master, priority and
 * interval, ours unchanged) would only restart this timer, so the actor restarts it and the
 * machine takes no step. A BACKUP's steady state is ten such adverts a second per instance at
 * advert_int 0.1, and a machine step costs about 0.2-0.3 ms of a CPU whose caches went cold in
 * between (as the MASTER's adverts did, see advertTicker).
 */
export const masterDownTimer = fromCallback<EventObject, MasterDownTimerInput>(({ input, self, system, sendBack, receive }) => {
  const arm = (ms: number) => system.scheduler.schedule(self, self, { type: MASTER_DOWN_TICK }, ms, 'masterDown');
  receive((e) => {
    if (e.type === MASTER_DOWN_TICK) sendBack({ type: 'master.down' });
    else if (e.type === 'restart') {
      system.scheduler.cancel(self, 'masterDown');
      arm((e as unknown as MasterDownRestart).ms);
    }
  });
  arm(input.ms);
  return () => system.scheduler.cancel(self, 'masterDown');
});

export const vrrpMachine = setup({
  types: {
    input: {} as VrrpInput,
    context: {} as VrrpContext,
    events: {} as VrrpEvent,
    emitted: {} as VrrpEmitted,
  },
  actors: {
    advertTicker,
    masterDownTimer,
  },
  actions: {
    // I/O, provided by actors/vrrp.ts; empty here so the machine runs anywhere.
    sendAdvert: (_, _params: { priority: number }) => {},
    addVips: () => {},
    removeVips: () => {},
    sendGarp: (_, _params: { repeat: number; reason: 'master' | 'master-delayed' | 'refresh' | 'lower-prio' }) => {},

    because: assign((_, params: { cause: VrrpCause; detail?: string }) => ({
      cause: params.cause,
      causeDetail: params.detail,
    })),
    /** entry of every state: one `vrrp.state` event, from the last announced state */
    announce: emit(({ context }, params: { to: VrrpStateName }) => ({
      type: 'vrrp.state' as const,
      instance: context.name,
      vrid: context.vrid,
      from: context.announced,
      to: params.to,
      cause: context.cause,
      ...(context.causeDetail !== undefined ? { detail: context.causeDetail } : {}),
      priority: context.priority,
      ...(params.to === 'BACKUP' && context.masterAddress ? { master: context.masterAddress } : {}),
    })),
    markAnnounced: assign((_, params: { to: VrrpStateName }) => ({ announced: params.to, causeDetail: undefined })),
    /**
     * keepalived's `wantstate`, which a sync group decides on. Published on every decision (a
     * group ignores repeats); the VRRP actor routes `vrrp.want` to the group only, not the bus.
     */
    setWant: assign((_, params: { want: VrrpContext['want'] }) => ({ want: params.want })),
    /** restart the running Master_Down timer with the interval as it is now (after adoptInterval) */
    restartMasterDown: sendTo('masterDown', ({ context }): MasterDownRestart => ({ type: 'restart', ms: masterDownMs(context) })),
    emitWant: emit(({ context }) => ({ type: 'vrrp.want' as const, instance: context.name, want: context.want })),

    becauseYield: assign(({ context, event }) => ({
      cause: (event as AdvertEvent).priority > context.priority ? ('higher-priority-advert' as const) : ('equal-priority-higher-address' as const),
      causeDetail: undefined,
    })),
    recordMaster: assign(({ event }) => {
      const e = event as AdvertEvent;
      return { masterAddress: e.src, masterPriority: e.priority };
    }),
    // RFC 5798 §6.4.2: a v3 backup takes Master_Adver_Interval from the advert it accepts.
    adoptInterval: assign(({ context, event }) => {
      const e = event as AdvertEvent;
      return context.version === 3 && e.intervalCs > 0 ? { masterIntervalCs: e.intervalCs } : {};
    }),
    resetInterval: assign(({ context }) => ({ masterIntervalCs: context.advertIntervalCs })),
    /**
     * A reload's new parameters. Running timers keep their length; the new values apply from the
     * next one started (the next advert sent or accepted). Master_Adver_Interval follows our own
     * interval unless a v3 backup has adopted the master's.
     */
    applyConfig: assign(({ context, event }) => {
      const { params } = event as Ev<'reconfigure'>;
      return {
        ...params,
        masterIntervalCs: context.masterIntervalCs === context.advertIntervalCs ? params.advertIntervalCs : context.masterIntervalCs,
      };
    }),

    addFault: assign(({ context, event }) => {
      const { flag } = event as Ev<'fault.set'>;
      return context.faults.includes(flag) ? {} : { faults: [...context.faults, flag] };
    }),
    /** the fault flags after a change, for the sync group and the bus */
    emitFaults: emit(({ context }) => ({ type: 'vrrp.faults' as const, instance: context.name, flags: [...context.faults] })),
    removeFault: assign(({ context, event }) => {
      const { flag } = event as Ev<'fault.cleared'>;
      return { faults: context.faults.filter((f) => f !== flag) };
    }),
    emitPriority: emit(({ context, event }) => {
      const e = event as Ev<'priority.set'>;
      return {
        type: 'vrrp.priority' as const,
        instance: context.name,
        from: context.priority,
        to: clampPriority(e.priority),
        ...(e.cause ? { cause: e.cause } : {}),
      };
    }),
    setPriority: assign(({ event }) => ({ priority: clampPriority((event as Ev<'priority.set'>).priority) })),
    ignored: emit(({ context, event }, params: { reason: 'not-ready' | 'lower-priority' }) => {
      const e = event as AdvertEvent;
      return { type: 'vrrp.ignored' as const, instance: context.name, src: e.src, priority: e.priority, reason: params.reason };
    }),
    heardLower: raise({ type: 'lower-prio.heard' }),
    rxLowerPriority: emit(({ context, event }) => {
      const e = event as AdvertEvent;
      return { type: 'vrrp.rx-lower-priority' as const, instance: context.name, src: e.src, priority: e.priority, ours: context.priority };
    }),
    conflict: emit(({ context, event }, params: { detail: string }) => ({
      type: 'vrrp.conflict' as const,
      instance: context.name,
      src: (event as AdvertEvent).src,
      detail: params.detail,
    })),
  },
  guards: {
    hasFaults: ({ context }) => context.faults.length > 0,
    noStartupDelay: ({ context }) => !context.startupDelayMs,
    /** the fault being cleared is the last one */
    lastFault: ({ context, event }) => event.type === 'fault.cleared' && context.faults.every((f) => f === event.flag),
    trackersReady: ({ context }) => context.trackersReady,
    isOwner: ({ context }) => context.basePriority === 255,
    /** becoming or ceasing to be the address owner is a new instance, never a reconfiguration */
    ownerUnchanged: ({ context, event }) => event.type === 'reconfigure' && (event.params.basePriority === 255) === (context.basePriority === 255),
    inSyncGroup: ({ context }) => context.syncGroup !== undefined,
    priorityZero: ({ event }) => event.type === 'advert.received' && event.priority === 0,
    nopreempt: ({ context }) => context.nopreempt,
    preemptDelayConfigured: ({ context }) => context.preemptDelayMs > 0,
    senderHigherOrEqual: ({ context, event }) => event.type === 'advert.received' && event.priority >= context.priority,
    // A BACKUP accepts an advert (Master_Down restarts, master recorded) when preemption is off,
    // the sender's priority is ≥ ours (keepalived: equal priority is accepted, a BACKUP never
    // compares addresses), or preempt_delay is configured and has not run out yet.
    accepted: or([
      'nopreempt',
      'senderHigherOrEqual',
      and(['preemptDelayConfigured', not(stateIn('#vrrp.backup.preempt.expired'))]),
    ]),
    senderLower: ({ context, event }) =>
      event.type === 'advert.received' && event.priority > 0 && event.priority < context.priority,
    /** MASTER yields: higher priority, or equal priority and a higher address */
    senderWins: ({ context, event }) =>
      event.type === 'advert.received' &&
      (event.priority > context.priority || (event.priority === context.priority && addrCmp(context, event) > 0)),
    /** MASTER stays and forces a new election: lower priority, or equal and a lower address */
    senderLoses: ({ context, event }) =>
      event.type === 'advert.received' &&
      (event.priority < context.priority || (event.priority === context.priority && addrCmp(context, event) < 0)),
    higherPrioSendAdvert: ({ context }) => context.higherPrioSendAdvert,
    ownerConflict: ({ context, event }) =>
      event.type === 'advert.received' && context.priority === 255 && event.priority === 255,
    priorityChanges: ({ context, event }) =>
      event.type === 'priority.set' && context.basePriority !== 255 && clampPriority(event.priority) !== context.priority,
    garpDelayed: ({ context }) => context.garp.masterDelayMs > 0,
    garpRefresh: ({ context }) => context.garp.masterRefreshMs > 0,
    lowerPrioNoAdvert: ({ context }) => context.lowerPrioNoAdvert,
    lowerPrioGarp: ({ context }) => context.garp.lowerPrioRepeat > 0,
    keepOnShutdown: ({ event }) => event.type === 'shutdown' && event.release === false,
    lowerPrioGarpDelayed: ({ context }) => context.garp.lowerPrioRepeat > 0 && context.garp.lowerPrioDelayMs > 0,
  },
  delays: {
    startupDelay: ({ context }) => context.startupDelayMs ?? 0,
    masterDown: ({ context }) => masterDownMs(context),
    skew: ({ context }) => skewMs(context),
    preemptDelay: ({ context }) => context.preemptDelayMs,
    garpMasterDelay: ({ context }) => context.garp.masterDelayMs,
    garpMasterRefresh: ({ context }) => context.garp.masterRefreshMs,
    garpLowerPrioDelay: ({ context }) => context.garp.lowerPrioDelayMs,
    advertInterval: ({ context }) => advertIntervalMs(context),
  },
}).createMachine({
  id: 'vrrp',
  context: ({ input }) => ({
    ...input,
    priority: input.basePriority === 255 ? 255 : clampPriority(input.priority ?? input.basePriority),
    masterIntervalCs: input.advertIntervalCs,
    masterAddress: undefined,
    masterPriority: undefined,
    faults: [...(input.faults ?? [])],
    trackersReady: input.trackersReady ?? true,
    srcIp: input.srcIp,
    want: 'BACKUP',
    announced: 'INIT',
    cause: 'startup',
    causeDetail: undefined,
  }),
  initial: 'init',
  on: {
    shutdown: { target: '.stopping', actions: { type: 'because', params: { cause: 'shutdown' } } },
    'src.set': { actions: assign({ srcIp: ({ event }) => event.srcIp }) },
    reconfigure: { guard: 'ownerUnchanged', actions: 'applyConfig' },
    // keepalived shifts a running Master_Down timer by the change in Skew_Time; here the new value
    // applies from the next accepted advert (the difference is less than one Skew_Time).
    'priority.set': { guard: 'priorityChanges', actions: ['emitPriority', 'setPriority'] },
  },
  states: {
    // INIT: waiting out vrrp_startup_delay, then for the first result of every unweighted tracker
    // (keepalived.md §3.3). Adverts are discarded meanwhile.
    init: {
      initial: 'delaying',
      on: {
        'advert.received': { actions: { type: 'ignored', params: { reason: 'not-ready' } } },
        'fault.set': { actions: ['addFault', 'emitFaults'] },
        'fault.cleared': { actions: ['removeFault', 'emitFaults'] },
        'trackers.ready': { actions: assign({ trackersReady: true }) },
      },
      states: {
        delaying: {
          always: { guard: 'noStartupDelay', target: 'deciding' },
          after: { startupDelay: 'deciding' },
        },
        deciding: {
          always: [
            { guard: 'hasFaults', target: '#vrrp.fault', actions: [...want('FAULT')] },
            // keepalived: the address owner (255) takes over at once; every other instance starts
            // as BACKUP whatever `state` says and waits Master_Down_Interval ("state MASTER" on a
            // non-owner changes nothing but the log line).
            { guard: and(['trackersReady', 'isOwner']), target: '#vrrp.master', actions: [...want('MASTER')] },
            { guard: 'trackersReady', target: '#vrrp.backup' },
          ],
        },
      },
    },

    backup: {
      type: 'parallel',
      entry: enter('BACKUP'),
      on: {
        'fault.set': {
          target: 'fault',
          actions: ['addFault', 'emitFaults', { type: 'because', params: ({ event }) => ({ cause: 'fault' as const, detail: event.flag }) }, ...want('FAULT')],
        },
        'fault.cleared': { actions: ['removeFault', 'emitFaults'] },
        'sync.master': {
          target: 'master',
          actions: [{ type: 'because', params: { cause: 'sync-group' } }, ...want('MASTER')],
        },
      },
      states: {
        timer: {
          initial: 'waiting',
          states: {
            /** Master_Down_Interval (masterDownTimer), restarted by every accepted advert */
            waiting: {
              invoke: { id: 'masterDown', src: 'masterDownTimer', input: ({ self, context }) => ({ parent: self, ms: masterDownMs(context) }) },
              on: {
                'master.down': [
                  // keepalived: a sync-group member whose timer runs out only *wants* MASTER and
                  // re-arms; the group moves everyone once all want it (vrrp_sync_can_goto_master).
                  { guard: 'inSyncGroup', actions: [...want('MASTER'), 'restartMasterDown'] },
                  {
                    target: '#vrrp.master',
                    actions: [{ type: 'because', params: { cause: 'master-down-timeout' } }, ...want('MASTER')],
                  },
                ],
              },
            },
            /** a priority-0 advert: the master is leaving, so only Skew_Time remains */
            fast: {
              after: {
                skew: [
                  { guard: 'inSyncGroup', target: 'waiting', actions: [...want('MASTER')] },
                  {
                    target: '#vrrp.master',
                    actions: [{ type: 'because', params: { cause: 'priority-0-received' } }, ...want('MASTER')],
                  },
                ],
              },
            },
          },
          on: {
            'advert.received': [
              { guard: 'priorityZero', target: '.fast' },
              {
                // accepted (the guard says when): the master recorded, Master_Down restarted
                guard: and(['accepted', stateIn('#vrrp.backup.timer.waiting')]),
                actions: ['adoptInterval', 'recordMaster', ...want('BACKUP'), 'restartMasterDown'],
              },
              // after a priority-0 advert (fast): a new master, a new timer
              { guard: 'accepted', target: '.waiting', actions: ['adoptInterval', 'recordMaster', ...want('BACKUP')] },
              // A lower-priority master and we may preempt: "received lower priority (N) advert -
              // discarding". The timer is not restarted, so it runs out and we take over.
              { actions: { type: 'ignored', params: { reason: 'lower-priority' } } },
            ],
          },
        },
        /** preempt_delay: started by the first lower-priority advert, stopped by a higher one */
        preempt: {
          initial: 'idle',
          states: {
            idle: {
              on: {
                'advert.received': {
                  guard: and(['preemptDelayConfigured', not('nopreempt'), 'senderLower']),
                  target: 'delaying',
                },
              },
            },
            delaying: {
              after: { preemptDelay: 'expired' },
              on: { 'advert.received': { guard: 'senderHigherOrEqual', target: 'idle' } },
            },
            expired: {
              on: { 'advert.received': { guard: 'senderHigherOrEqual', target: 'idle' } },
            },
          },
        },
      },
    },

    master: {
      type: 'parallel',
      entry: [
        'resetInterval',
        // keepalived vrrp_state_master_tx: the advert goes first, so the old master drops the
        // addresses before our gratuitous ARPs claim them; then addresses, GARP, notify.
        { type: 'sendAdvert', params: ({ context }) => ({ priority: context.priority }) },
        'addVips',
        { type: 'sendGarp', params: ({ context }) => ({ repeat: context.garp.masterRepeat, reason: 'master' as const }) },
        ...enter('MASTER'),
      ],
      on: {
        'fault.set': {
          target: 'fault',
          // keepalived vrrp_state_leave_master (wantstate FAULT): priority-0 advert, then remove
          actions: [
            'addFault', 'emitFaults',
            { type: 'because', params: ({ event }) => ({ cause: 'fault' as const, detail: event.flag }) },
            ...want('FAULT'),
            { type: 'sendAdvert', params: { priority: 0 } },
            'removeVips',
          ],
        },
        'fault.cleared': { actions: ['removeFault', 'emitFaults'] },
        // the group follows a member that fell back; no priority-0 advert (vrrp_sync_backup)
        'sync.backup': {
          target: 'backup',
          actions: [{ type: 'because', params: { cause: 'sync-group' } }, ...want('BACKUP'), 'removeVips'],
        },
        // keepalived: an address removed behind our back → priority-0 advert, BACKUP, and a quick
        // re-election after Skew_Time, which puts the address back
        'vips.lost': {
          target: '#vrrp.backup.timer.fast',
          actions: [
            { type: 'because', params: ({ event }) => ({ cause: 'vips-lost' as const, detail: event.address }) },
            { type: 'sendAdvert', params: { priority: 0 } },
            'removeVips',
          ],
        },
        shutdown: [
          { guard: 'keepOnShutdown', target: 'stopping', actions: { type: 'because', params: { cause: 'shutdown' } } },
          {
            target: 'stopping',
            actions: [{ type: 'because', params: { cause: 'shutdown' } }, { type: 'sendAdvert', params: { priority: 0 } }, 'removeVips'],
          },
        ],
        'advert.received': [
          // keepalived: answer a leaving master at once and stay MASTER
          { guard: 'priorityZero', actions: { type: 'sendAdvert', params: ({ context }) => ({ priority: context.priority }) } },
          {
            guard: and(['senderWins', 'ownerConflict']),
            target: 'backup',
            actions: [
              { type: 'conflict', params: { detail: 'both configured as address owner (255), the other has the higher address' } },
              { type: 'because', params: { cause: 'equal-priority-higher-address' } },
              'recordMaster',
              ...want('BACKUP'),
              'removeVips',
            ],
          },
          {
            // higher_prio_send_advert: one last advert of ours before yielding
            guard: and(['senderWins', 'higherPrioSendAdvert']),
            target: 'backup',
            actions: [{ type: 'sendAdvert', params: ({ context }) => ({ priority: context.priority }) }, ...yieldTo()],
          },
          { guard: 'senderWins', target: 'backup', actions: yieldTo() },
          // "Received advert from X with lower priority N, ours M, forcing new election": our advert
          // (unless lower_prio_no_advert), garp_lower_prio_repeat GARPs, notify_master_rx_lower_pri
          {
            guard: and(['senderLoses', not('lowerPrioNoAdvert')]),
            actions: [{ type: 'sendAdvert', params: ({ context }) => ({ priority: context.priority }) }, ...answerLower()],
          },
          { guard: 'senderLoses', actions: answerLower() },
          // equal priority and our own address: keepalived logs a warning and stays
        ],
      },
      states: {
        adverts: {
          initial: 'advertising',
          states: {
            // one advert every advert_int (advertTicker)
            advertising: {
              invoke: { src: 'advertTicker', input: ({ self }) => ({ parent: self }) },
              on: {
                'advert.due': { actions: { type: 'sendAdvert', params: ({ context }) => ({ priority: context.priority }) } },
              },
            },
          },
        },
        /** the second GARP burst after garp_master_delay, then the refresh every garp_master_refresh */
        garp: {
          initial: 'delayed',
          states: {
            delayed: {
              always: { guard: not('garpDelayed'), target: 'refreshing' },
              after: {
                garpMasterDelay: {
                  target: 'refreshing',
                  actions: { type: 'sendGarp', params: ({ context }) => ({ repeat: context.garp.masterRepeat, reason: 'master-delayed' as const }) },
                },
              },
            },
            refreshing: {
              always: { guard: not('garpRefresh'), target: 'done' },
              after: {
                garpMasterRefresh: {
                  target: 'refreshing',
                  reenter: true,
                  actions: {
                    type: 'sendGarp',
                    params: ({ context }) => ({ repeat: context.garp.masterRefreshRepeat, reason: 'refresh' as const }),
                  },
                },
              },
            },
            done: {},
          },
        },
        /**
         * garp_lower_prio_repeat: GARPs answer a lower-priority advert (keepalived), at most one burst
         * per advert interval: a peer advertising as it should gets one per advert, a flood of
         * lower-priority adverts is not multiplied into GARPs
         */
        lowerPrioBurst: {
          initial: 'ready',
          states: {
            ready: {
              on: {
                'lower-prio.heard': {
                  guard: 'lowerPrioGarp',
                  target: 'quiet',
                  actions: { type: 'sendGarp', params: ({ context }) => ({ repeat: context.garp.lowerPrioRepeat, reason: 'lower-prio' as const }) },
                },
              },
            },
            quiet: { after: { advertInterval: 'ready' } },
          },
        },
        /** garp_lower_prio_delay: the second burst after a lower-priority advert */
        lowerPrio: {
          initial: 'idle',
          states: {
            idle: {
              on: { 'lower-prio.heard': { guard: 'lowerPrioGarpDelayed', target: 'waiting' } },
            },
            waiting: {
              after: {
                garpLowerPrioDelay: {
                  target: 'idle',
                  actions: { type: 'sendGarp', params: ({ context }) => ({ repeat: context.garp.lowerPrioRepeat, reason: 'lower-prio' as const }) },
                },
              },
            },
          },
        },
      },
    },

    fault: {
      entry: enter('FAULT'),
      on: {
        'advert.received': { actions: { type: 'ignored', params: { reason: 'not-ready' } } },
        'fault.set': { actions: ['addFault', 'emitFaults'] },
        // keepalived vrrp_state_leave_fault: Master_Adver_Interval back to ours, a fresh
        // Master_Down_Interval as BACKUP; an owner that wants MASTER goes straight there.
        'fault.cleared': [
          {
            guard: and(['lastFault', 'isOwner']),
            target: 'master',
            actions: ['removeFault', 'emitFaults', { type: 'because', params: { cause: 'fault-cleared' } }, ...want('MASTER')],
          },
          {
            guard: 'lastFault',
            target: 'backup',
            actions: [
              'removeFault', 'emitFaults',
              'resetInterval',
              { type: 'because', params: { cause: 'fault-cleared' } },
              ...want('BACKUP'),
            ],
          },
          { actions: ['removeFault', 'emitFaults'] },
        ],
      },
    },

    /** shutdown is an event, not actor.stop(): the priority-0 advert leaves before the actor ends */
    stopping: {
      entry: enter('STOP'),
      always: 'stopped',
    },
    stopped: { type: 'final' },
  },
});

/** The state name keepalived would print for a snapshot value. */
export function stateName(value: unknown): VrrpStateName {
  const top = typeof value === 'string' ? value : Object.keys(value as object)[0];
  switch (top) {
    case 'backup':
      return 'BACKUP';
    case 'master':
      return 'MASTER';
    case 'fault':
      return 'FAULT';
    case 'stopping':
    case 'stopped':
      return 'STOP';
    default:
      return 'INIT';
  }
}
