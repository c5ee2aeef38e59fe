// A machine definition as a neutral graph: the states and transitions XState built from the
// machine's config (`machine.root` and its StateNodes), not a copy of the config. Every chart
// format is rendered from this one model, and its JSON is the `json` format.
//
// State ids are XState's state value paths ('master', 'backup.timer.waiting'), so a running
// actor's snapshot value maps onto them directly; the machine itself is the state with id ''.
// Order is definition order throughout, so the output is stable for a given machine.
import type { AnyStateMachine, StateNode } from 'xstate';

export type ChartStateType = 'atomic' | 'compound' | 'parallel' | 'final' | 'history';

export interface ChartState {
  /** the state value path joined with '.'; '' for the machine itself */
  readonly id: string;
  /** the state's key in its parent (the machine id for the machine itself) */
  readonly key: string;
  readonly parent: string | null;
  readonly type: ChartStateType;
  /** its parent is compound and enters it by default */
  readonly initial: boolean;
  readonly entry: readonly string[];
  readonly exit: readonly string[];
  /** actors running while in the state: `src` is the logic's name in `setup({ actors })` */
  readonly invoke: readonly { readonly id: string; readonly src: string }[];
}

/**
 * - event: a named event (`on`)
 * - after: a named delay ran out (`after`; `delay` holds the delay's name, or ms when inline)
 * - always: eventless, taken as soon as its guard holds
 * - done / error / snapshot: an invoked actor finished, failed, or changed (`actor` is its id)
 * - state.done: a compound state's final child was reached (`onDone`, drawn as 'onDone')
 */
export type ChartTransitionKind = 'event' | 'after' | 'always' | 'done' | 'error' | 'snapshot' | 'state.done';

export interface ChartTransition {
  /** 't<n>', its position in `transitions` */
  readonly id: string;
  readonly source: string;
  /** empty: no state change, only actions (drawn in no chart but the JSON) */
  readonly targets: readonly string[];
  readonly kind: ChartTransitionKind;
  /** the event type XState matches (xstate.after.…, xstate.done.actor.…); null for `always` */
  readonly event: string | null;
  /** what the charts print on the arrow, before the guard: 'advert.received', 'after skew', 'connect done' */
  readonly trigger: string;
  /** as the machine writes it: 'isOwner', 'and(senderWins, not(nopreempt))' */
  readonly guard?: string;
  /** `after`: the delay's name in `setup({ delays })`, or ms when the machine gives a number */
  readonly delay?: string | number;
  /** done / error / snapshot: the invoke's id */
  readonly actor?: string;
  readonly actions: readonly string[];
  /** exits and re-enters its target even when already there */
  readonly reenter: boolean;
}

export interface ChartModel {
  /** the registry name ('vrrp', 'track-script') */
  readonly machine: string;
  /** XState's machine id */
  readonly id: string;
  /** document order, the machine itself first */
  readonly states: readonly ChartState[];
  readonly transitions: readonly ChartTransition[];
}

type Node = StateNode<any, any>;
type Transition = Node['transitions'] extends Map<string, (infer T)[]> ? T : never;

const pathId = (node: Node) => node.path.join('.');

/** A guard as the machine's source writes it: 'isOwner', 'and(senderWins, not(nopreempt))'. */
function guardName(guard: unknown, machine: AnyStateMachine): string {
  if (typeof guard === 'string') return guard;
  if (typeof guard === 'function') {
    const g = guard as { guards?: unknown[]; stateValue?: unknown; name?: string };
    // xstate's and/or/not and stateIn are functions carrying their operands
    if (g.guards) return `${g.name}(${g.guards.map((x) => guardName(x, machine)).join(', ')})`;
    if ('stateValue' in g) return `stateIn(${stateInTarget(g.stateValue, machine)})`;
    return g.name || 'inline';
  }
  if (guard && typeof guard === 'object' && 'type' in guard) return String(guard.type);
  return 'inline';
}

/** stateIn('#vrrp.backup.preempt.expired') names the state by our path id: backup.preempt.expired */
function stateInTarget(value: unknown, machine: AnyStateMachine): string {
  if (typeof value === 'string') {
    if (!value.startsWith('#')) return value;
    try {
      return pathId(machine.getStateNodeById(value.slice(1)));
    } catch {
      return value.slice(1);
    }
  }
  // a state value object: its leaf paths
  const leaves = (v: unknown, prefix: string): string[] =>
    typeof v === 'string' ? [prefix + v]
      : Object.entries(v as Record<string, unknown>).flatMap(([k, sub]) => leaves(sub, `${prefix}${k}.`));
  return leaves(value, '').join(', ');
}

/** An action's name: its type in setup, or the built-in's (assign, raise, emit, sendTo…). */
function actionName(action: unknown): string {
  if (typeof action === 'string') return action;
  if (action && (typeof action === 'object' || typeof action === 'function')) {
    const a = action as { type?: unknown; name?: string };
    if (typeof a.type === 'string') return a.type.replace(/^xstate\./, '');
    if (typeof action === 'function' && a.name) return a.name;
  }
  return 'inline';
}

const actionList = (a: unknown): unknown[] => (a === undefined ? [] : Array.isArray(a) ? a : [a]);

function srcName(src: unknown, id: string): string {
  return typeof src === 'string' ? src : id;
}

function classify(t: Transition, source: Node): Pick<ChartTransition, 'kind' | 'event' | 'delay' | 'actor' | 'trigger'> {
  const event = t.eventType as string;
  if ('delay' in t) {
    const delay = typeof t.delay === 'number' || typeof t.delay === 'string' ? t.delay : 'expression';
    return { kind: 'after', event, delay, trigger: typeof delay === 'number' ? `after ${delay}ms` : `after ${delay}` };
  }
  const actorEvent = /^xstate\.(done\.actor|error\.actor|snapshot)\.(.+)$/.exec(event);
  if (actorEvent) {
    const actor = actorEvent[2]!;
    const kind = actorEvent[1] === 'done.actor' ? 'done' : actorEvent[1] === 'error.actor' ? 'error' : 'snapshot';
    const inv = source.invoke.find((i) => i.id === actor);
    return { kind, event, actor, trigger: `${inv ? srcName(inv.src, actor) : actor} ${kind}` };
  }
  if (event.startsWith('xstate.done.state.')) return { kind: 'state.done', event, trigger: 'onDone' };
  return { kind: 'event', event, trigger: event };
}

/** The chart model of a machine, walked from `machine.root`. */
export function chartModel(name: string, machine: AnyStateMachine): ChartModel {
  const states: ChartState[] = [];
  const transitions: ChartTransition[] = [];

  const add = (t: Transition, source: Node, c: ReturnType<typeof classify>) => {
    const guard = t.guard === undefined ? undefined : guardName(t.guard, machine);
    transitions.push({
      id: `t${transitions.length}`,
      source: pathId(source),
      targets: (t.target ?? []).map(pathId),
      kind: c.kind,
      event: c.event,
      trigger: c.trigger,
      ...(guard !== undefined ? { guard } : {}),
      ...(c.delay !== undefined ? { delay: c.delay } : {}),
      ...(c.actor !== undefined ? { actor: c.actor } : {}),
      actions: t.actions.map(actionName),
      reenter: t.reenter,
    });
  };

  const walk = (node: Node, initial: boolean) => {
    states.push({
      id: pathId(node),
      key: node.parent ? node.key : machine.id,
      parent: node.parent ? pathId(node.parent) : null,
      type: node.type,
      initial,
      // from the config: node.entry/exit also hold the timers XState arms for `after`
      entry: actionList(node.config.entry).map(actionName),
      exit: actionList(node.config.exit).map(actionName),
      invoke: node.invoke.map((i) => ({ id: i.id, src: srcName(i.src, i.id) })),
    });
    for (const list of node.transitions.values()) for (const t of list) add(t, node, classify(t, node));
    for (const t of node.always ?? []) add(t, node, { kind: 'always', event: null, trigger: 'always' });
    const first = node.type === 'compound' ? node.initial.target[0] : undefined;
    for (const child of Object.values(node.states) as Node[]) walk(child, child === first);
  };
  walk(machine.root as Node, false);
  return { machine: name, id: machine.id, states, transitions };
}

/** The arrow's text: 'advert.received [priorityZero]', with `sep` before the guard. */
export const transitionLabel = (t: ChartTransition, sep = ' ') => (t.guard === undefined ? t.trigger : `${t.trigger}${sep}[${t.guard}]`);

/** Children of each state id, in document order. */
export function childrenOf(model: ChartModel): Map<string, ChartState[]> {
  const map = new Map<string, ChartState[]>();
  for (const s of model.states) {
    if (s.parent === null) continue;
    const list = map.get(s.parent) ?? [];
    list.push(s);
    map.set(s.parent, list);
  }
  return map;
}

/** a is b or one of b's descendants */
export const within = (a: string, b: string) => b === '' || a === b || a.startsWith(`${b}.`);

/**
 * The transitions the charts draw (those with a target), one arrow per target. An arrow from a
 * compound state to a state inside it cannot start at the state's border, so it starts at an
 * "any state" box inside (`fromAny`); the machine's own transitions always do.
 */
export function arrows(model: ChartModel, children: Map<string, ChartState[]>) {
  return model.transitions.flatMap((t) =>
    t.targets.map((target) => ({ t, target, fromAny: children.has(t.source) && within(target, t.source) })));
}
