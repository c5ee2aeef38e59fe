// The state of every actor of every node as the event stream tells it: VRRP instances, sync
// groups, trackers, checkers, virtual servers with their real servers, the NATS link, the load
// balancer, the daemons, and the cluster view (split brain, flapping: actors/cluster-view.ts).
// Pure: events are folded in order; a fold can be copied (the replay's snapshots) and read at any
// moment. The dashboard shows it live and at any past moment.
import type { BusEvent } from '../bus.js';
import { ClusterFold, type ClusterView } from '../cluster-view.js';
import { actorKey, eventState } from './chart-state.js';

/** One actor: where it stands, since when, and why. */
export interface ActorRow {
  /** `<node>/<kind>/<name>` */
  readonly key: string;
  readonly node: string;
  /** the envelope's kind: vrrp, sync-group, track, checker, vs, nats */
  readonly kind: string;
  readonly name: string;
  /** its chart (adapters/chart/registry.ts), when it has one */
  machine?: string;
  /** as the events name it: MASTER, up, ok, draining */
  state: string;
  from?: string;
  /** chart state ids active (from events: the state entered and its parents) */
  ids: string[];
  fromIds: string[];
  cause?: string;
  /** ISO time and id of the event that put it in this state */
  since: string;
  event: string;
  /** per kind: priority, master, vrid (vrrp); weight, latencyMs (checker); pending (nats) … */
  detail: Record<string, unknown>;
}

export interface RealServerRow {
  readonly rs: string;
  address?: string;
  port?: number | null;
  state?: 'up' | 'down';
  /** effective weight */
  weight?: number;
  drained?: boolean;
  /** keys of its checkers' actor rows */
  checkers: string[];
}

export interface VirtualServerRow {
  readonly key: string;
  readonly node: string;
  readonly name: string;
  quorum?: 'up' | 'down';
  /** sum of the alive real servers' weights, and what it was compared with */
  weight?: number;
  threshold?: number;
  sorry?: boolean;
  realServers: Record<string, RealServerRow>;
  table?: { key: string; weight: number; sorry: boolean }[];
}

export interface NodeRow {
  readonly node: string;
  status: 'running' | 'stopping' | 'unknown';
  version?: string;
  configFile?: string;
  /** ISO time of the last event heard from it */
  lastEvent: string;
  reloads: number;
  reloadFailures: number;
  lb?: { driver?: string; changes: number; errors: number; lastError?: string };
}

interface Data {
  nodes: Record<string, NodeRow>;
  actors: Record<string, ActorRow>;
  virtualServers: Record<string, VirtualServerRow>;
  count: number;
  last?: { id: string; time: string; type: string; seq?: number };
}

export interface WorldView {
  /** the moment shown (ISO) */
  readonly at: string;
  /** events folded */
  readonly events: number;
  /** the last event folded (seq: its position in the log it was read from) */
  readonly last?: { readonly id: string; readonly time: string; readonly type: string; readonly seq?: number };
  readonly nodes: NodeRow[];
  readonly actors: ActorRow[];
  readonly virtualServers: VirtualServerRow[];
  readonly cluster: ClusterView;
}

const num = (x: unknown) => (typeof x === 'number' ? x : undefined);
const str = (x: unknown) => (typeof x === 'string' ? x : undefined);

export class WorldFold {
  private constructor(
    private readonly d: Data,
    private readonly cluster: ClusterFold,
  ) {}

  static empty(): WorldFold {
    return new WorldFold({ nodes: {}, actors: {}, virtualServers: {}, count: 0 }, new ClusterFold());
  }

  get count(): number {
    return this.d.count;
  }

  get last(): Data['last'] {
    return this.d.last;
  }

  /** an independent copy */
  clone(): WorldFold {
    return new WorldFold(structuredClone(this.d), this.cluster.clone());
  }

  /** fold one event; `seq` is its position in the log it came from */
  add(e: BusEvent, seq?: number): void {
    const d = this.d;
    d.count++;
    d.last = { id: e.id, time: e.time, type: e.type, ...(seq !== undefined ? { seq } : {}) };
    this.cluster.add(e);
    const node = (d.nodes[e.node] ??= { node: e.node, status: 'unknown', lastEvent: e.time, reloads: 0, reloadFailures: 0 });
    node.lastEvent = e.time;
    const data = e.data;

    const st = eventState(e);
    if (st) {
      const key = actorKey(e.node, e.kind, e.name);
      const prev = d.actors[key];
      d.actors[key] = {
        key,
        node: e.node,
        kind: e.kind,
        name: e.name,
        ...(st.machine ? { machine: st.machine } : {}),
        state: st.state,
        ...(st.from !== undefined ? { from: st.from } : {}),
        ids: [...st.ids],
        fromIds: [...st.fromIds],
        ...(st.cause !== undefined ? { cause: st.cause } : {}),
        since: e.time,
        event: e.id,
        detail: { ...prev?.detail },
      };
    }
    const actor = d.actors[actorKey(e.node, e.kind, e.name)];

    switch (e.type) {
      case 'vrrp.state': {
        const a = actor;
        if (!a) return; // malformed: no `to`
        a.detail['vrid'] = data['vrid'];
        a.detail['priority'] = data['priority'];
        if (data['master']) a.detail['master'] = data['master'];
        else delete a.detail['master'];
        if (data['detail']) a.detail['why'] = data['detail'];
        else delete a.detail['why'];
        return;
      }
      case 'vrrp.priority':
        if (actor) actor.detail['priority'] = data['to'];
        return;
      case 'track.state':
        if (actor) {
          for (const k of ['weight', 'consecutive', 'count', 'reverse']) if (data[k] !== undefined) actor.detail[k] = data[k];
        }
        return;
      case 'checker.state': {
        const a = actor;
        if (!a) return;
        for (const k of ['attempts', 'consecutive', 'latencyMs', 'detail']) if (data[k] !== undefined && data[k] !== null) a.detail[k] = data[k];
        // the id is `VS RS TYPE#n` (machines/lvs-input.ts checkerId)
        const [vs, rs] = e.name.split(' ');
        if (vs && rs) {
          const r = this.realServer(e.node, vs, rs);
          if (!r.checkers.includes(a.key)) r.checkers.push(a.key);
        }
        return;
      }
      case 'checker.weight':
        if (actor) actor.detail['weight'] = data['to'];
        return;
      case 'vs.rs': {
        const r = this.realServer(e.node, e.name, String(data['rs']));
        r.address = str(data['address']) ?? r.address;
        r.port = (data['port'] as number | null | undefined) ?? r.port ?? null;
        r.state = data['state'] === 'up' ? 'up' : 'down';
        if (num(data['weight']) !== undefined) r.weight = num(data['weight']);
        return;
      }
      case 'vs.weight':
        this.realServer(e.node, e.name, String(data['rs'])).weight = num(data['to']);
        return;
      case 'vs.drain':
        this.realServer(e.node, e.name, String(data['rs'])).drained = data['drained'] === true;
        return;
      case 'vs.quorum': {
        const v = this.virtualServer(e.node, e.name);
        v.quorum = data['state'] === 'up' ? 'up' : 'down';
        v.weight = num(data['weight']);
        v.threshold = num(data['threshold']);
        return;
      }
      case 'vs.table': {
        const v = this.virtualServer(e.node, e.name);
        const entries = Array.isArray(data['entries']) ? (data['entries'] as Record<string, unknown>[]) : [];
        v.table = entries.map((x) => ({ key: String(x['key']), weight: num(x['weight']) ?? 0, sorry: x['sorry'] === true }));
        v.sorry = data['sorry'] === true;
        return;
      }
      case 'nats.state':
        if (actor) actor.detail['pending'] = data['pending'];
        return;
      case 'lb.change':
      case 'lb.error': {
        const lb = (node.lb ??= { changes: 0, errors: 0 });
        lb.driver = str(data['driver']) ?? lb.driver;
        if (e.type === 'lb.change') lb.changes++;
        else {
          lb.errors++;
          lb.lastError = str(data['error']);
        }
        return;
      }
      case 'daemon.started':
      case 'daemon.stopping':
        node.status = e.type === 'daemon.started' ? 'running' : 'stopping';
        node.version = str(data['version']) ?? node.version;
        node.configFile = str(data['configFile']) ?? node.configFile;
        return;
      case 'daemon.reloaded': {
        node.reloads++;
        // gone from the configuration: gone from the view (their STOP was the last word)
        const gone = (list: unknown, kind: string) => {
          for (const name of Array.isArray(list) ? list : []) {
            delete d.actors[actorKey(e.node, kind, String(name))];
            if (kind === 'vs') delete d.virtualServers[actorKey(e.node, kind, String(name))];
          }
        };
        gone(data['removed'], 'vrrp');
        gone((data['syncGroups'] as { removed?: unknown } | undefined)?.removed, 'sync-group');
        gone((data['virtualServers'] as { removed?: unknown } | undefined)?.removed, 'vs');
        return;
      }
      case 'daemon.reload-failed':
        node.reloadFailures++;
        return;
    }
  }

  private virtualServer(node: string, name: string): VirtualServerRow {
    const key = actorKey(node, 'vs', name);
    return (this.d.virtualServers[key] ??= { key, node, name, realServers: {} });
  }

  private realServer(node: string, vs: string, rs: string): RealServerRow {
    const v = this.virtualServer(node, vs);
    return (v.realServers[rs] ??= { rs, checkers: [] });
  }

  /** The view at `atMs` (flapping is counted back from it); the caller owns the copy returned. */
  view(atMs: number): WorldView {
    const d = structuredClone(this.d);
    const byKey = <T extends { key: string }>(a: T, b: T) => a.key.localeCompare(b.key);
    return {
      at: new Date(atMs).toISOString(),
      events: d.count,
      ...(d.last ? { last: d.last } : {}),
      nodes: Object.values(d.nodes).sort((a, b) => a.node.localeCompare(b.node)),
      actors: Object.values(d.actors).sort(byKey),
      virtualServers: Object.values(d.virtualServers).sort(byKey),
      // view() prunes the flapping windows: on a copy, so reading never changes the fold
      cluster: this.cluster.clone().view(atMs),
    };
  }
}
