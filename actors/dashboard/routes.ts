// The web dashboard (issue #9), as routes for the daemon's HTTP listener (adapters/http/server.ts,
// whose token rules apply: loopback without a token is read-only, anything else needs the token,
// which a browser trades for a session cookie at POST /api/session).
//
//   GET /                          the page (adapters/http/dashboard/, plain ES modules, no build)
//   GET /dashboard/<file>          its scripts and style
//   GET /api/charts                the machines with a chart
//   GET /api/charts/<m>.svg|.json  a machine's chart (rendered once, then from memory) and its model
//   GET /api/state                 every actor now: the fold of the events, the running actors'
//                                  exact states and last transitions, the control API's status
//   GET /api/state?at=ISO|seq=N    every actor at a past moment, rebuilt from the history
//   GET /api/events?…              the history, paged (since, until, type, instance, node, chain,
//                                  after, before, limit; source=cluster for every node's, via NATS)
//   GET /api/events/stream         server-sent events: the bus live, resumable (Last-Event-ID)
//   GET /api/history               the histories' bounds, the stream's counters
//
// The history is the local journal (or the last events in memory without one); the cluster view
// is the NATS stream's when the daemon exports to NATS, else this node's. Both are read only once
// someone asks: a daemon whose dashboard nobody opens does not read its journal for it.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { HttpReply, Route, RouteContext } from '../../adapters/http/server.js';
import { transitionLabel, type ChartModel } from '../../adapters/chart/model.js';
import { toDot } from '../../adapters/chart/dot.js';
import { loadModel, renderChart } from '../../adapters/chart/index.js';
import { MACHINES } from '../../adapters/chart/registry.js';
import type { BusEvent } from '../bus.js';
import type { ClusterView } from '../cluster-view.js';
import { parseSince } from '../format-event.js';
import { arrowsBetween } from './chart-state.js';
import { History, journalLog, MemoryLog, type EventLog, type EventQuery, type HistoryOptions } from './history.js';
import { LiveTracker, type LiveActor, type LiveState } from './live.js';
import { frame, SseHub, type SseOptions } from './sse.js';
import type { ActorRow, WorldView } from './world.js';

export interface DashboardPorts {
  /** this node's name (router_id) */
  readonly node: string;
  readonly bus: { subscribe(fn: (e: BusEvent) => void): () => void };
  /** the local journal; without one, the last events in memory are the history */
  readonly journal?: { read(after?: number, opts?: { follow?: boolean; signal?: AbortSignal }): AsyncIterable<{ seq: number; event: unknown }>; readonly lastSeq: number };
  /** the control API's status (actors/control.ts Control.status) */
  readonly status: () => unknown;
  /** the running actors with a chart (daemonActors(daemon), actors/dashboard/live.ts) */
  readonly actors?: () => readonly LiveActor[];
  /** the cluster's events (adapters/nats/history.ts natsEventLog); closed by close() */
  readonly cluster?: EventLog & { close?(): Promise<void> };
  readonly log: { warn(obj: object, msg: string): void };
  readonly sse?: SseOptions;
  readonly history?: HistoryOptions;
}

export interface Dashboard {
  readonly routes: readonly Route[];
  /** counters for /api/history (and metrics) */
  stats(): { clients: number; dropped: number; connections: number; resumes: number; resets: number; malformed: number };
  close(): Promise<void>;
}

/** A dashboard actor row as the page gets it: with the arrows to mark. */
export type ActorOut = ActorRow & {
  /**
   * chart transition ids: how it entered the state its last event names (live: the one it took;
   * past: the candidates the event's cause allows)
   */
  arrows: string[];
  /** the arrows in words: 'backup.timer.waiting → master: master.down' */
  arrowText: string[];
  /** live only: the last changes of its active states, newest last */
  recent?: (LiveState['recent'][number] & { text: string[] })[];
  /** live only: `ids` are the running actor's exact states */
  exact?: boolean;
};

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/** Scripts only from this origin, no inline code: a payload that slipped past escaping still cannot run. */
const PAGE_HEADERS = {
  'Content-Security-Policy': "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'Referrer-Policy': 'no-referrer',
  'X-Frame-Options': 'DENY',
};

/** A folder of the package: next to the sources (tsx), or back in the package's tree from dist/. */
function packageDir(path: string, probe: string): string | undefined {
  for (const up of ['../../', '../../../']) {
    const dir = fileURLToPath(new URL(`${up}${path}/`, import.meta.url));
    if (existsSync(join(dir, probe))) return dir;
  }
  return undefined;
}

/** The page's files. */
export const staticDir = () => packageDir('adapters/http/dashboard', 'index.html');

/**
 * The chart as docs/charts ships it, when it was drawn from this very DOT text: the same picture
 * Graphviz would draw now, without its tens of milliseconds of synchronous WebAssembly on the
 * daemon's event loop (VRRP's timers). A tree whose docs are stale gets a fresh rendering.
 */
function shippedSvg(name: string, dot: string): string | undefined {
  const dir = packageDir('docs/charts', `${name}.svg`);
  try {
    if (dir && readFileSync(join(dir, `${name}.dot`), 'utf8') === dot) return readFileSync(join(dir, `${name}.svg`), 'utf8');
  } catch {
    /* not shipped: drawn */
  }
  return undefined;
}

/** transitions in words, from the chart's model */
function describe(model: ChartModel | undefined, ids: readonly string[]): string[] {
  if (!model) return [];
  return ids.flatMap((id) => {
    const t = model.transitions[Number(id.slice(1))];
    return t ? [`${t.source || model.id} → ${t.targets.join(', ')}: ${transitionLabel(t)}`] : [];
  });
}

const withText = (model: ChartModel | undefined, recent: LiveState['recent']) => recent.map((r) => ({ ...r, text: describe(model, r.arrows) }));

const fail = (status: number, error: string): HttpReply => ({ status, json: { ok: false, error } });

class BadQuery extends Error {}

function time(q: URLSearchParams, name: string): number | undefined {
  const v = q.get(name);
  if (v === null || v === '') return undefined;
  const t = /^\d{10,}$/.test(v) ? Number(v) : parseSince(v);
  if (t === undefined) throw new BadQuery(`${name}=${v.slice(0, 60)}: not an ISO time, epoch milliseconds or a duration (10m)`);
  return t;
}

function int(q: URLSearchParams, name: string): number | undefined {
  const v = q.get(name);
  if (v === null || v === '') return undefined;
  if (!/^\d{1,15}$/.test(v)) throw new BadQuery(`${name}=${v.slice(0, 60)}: not a non-negative integer`);
  return Number(v);
}

function text(q: URLSearchParams, name: string): string | undefined {
  const v = q.get(name);
  return v === null || v === '' ? undefined : v.slice(0, 200);
}

/** a promise that gives up after `ms` (a NATS server that does not answer must not hang a page) */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms).unref())),
  ]);
}

export function createDashboard(p: DashboardPorts): Dashboard {
  const warn = (err: Error, what: string) => p.log.warn({ err }, `dashboard: ${what}: ${err.message}`);
  const unsubscribe: (() => void)[] = [];

  // the history: the journal, else what the bus says from now on
  let log: EventLog;
  if (p.journal) log = journalLog(p.journal);
  else {
    const mem = new MemoryLog();
    unsubscribe.push(p.bus.subscribe((e) => mem.append(e)));
    log = mem;
  }
  const local = new History(log, { ...p.history, onError: (err) => warn(err, 'reading the journal') });

  const hub = new SseHub(p.bus.subscribe.bind(p.bus), { end: () => log.lastSeq(), seqOf: (id) => local.seqOf(id), range: (a, b) => local.range(a, b) }, p.sse);

  // cluster events other than ours go to the browsers as they arrive (ours come from the bus)
  let clusterError: string | undefined;
  const cluster = p.cluster
    ? new History(p.cluster, {
        ...p.history,
        onError: (err) => {
          clusterError = err.message;
          warn(err, 'reading the cluster stream');
        },
        onEvent: (e) => {
          clusterError = undefined;
          if (e.node !== p.node && hub.size) hub.broadcast(frame('cluster', e));
        },
      })
    : undefined;

  // the running actors: a change of their states is pushed (coalesced) so the charts follow
  let changed = new Set<string>();
  let flush: NodeJS.Timeout | undefined;
  const tracker = new LiveTracker(p.node, p.actors ?? (() => []), (key) => {
    if (!hub.size) return;
    changed.add(key);
    flush ??= setTimeout(() => {
      flush = undefined;
      hub.broadcast(frame('actors', { keys: [...changed] }));
      changed = new Set();
    }, 50);
  });
  tracker.sync();
  unsubscribe.push(
    p.bus.subscribe((e) => {
      // new actors after a start or a reload
      if (e.type === 'daemon.started' || e.type === 'daemon.reloaded') tracker.sync();
    }),
  );

  let models: Promise<Map<string, ChartModel>> | undefined;
  const chartModels = () => (models ??= Promise.all(MACHINES.map(async (m) => [m.name, await loadModel(m)] as const)).then((l) => new Map(l)));
  const svgs = new Map<string, Promise<string>>();
  const svg = (name: string) => {
    let s = svgs.get(name);
    if (!s) {
      const m = MACHINES.find((x) => x.name === name)!;
      s = loadModel(m).then((model) => shippedSvg(name, toDot(model)) ?? renderChart(model, 'svg'));
      s.catch(() => svgs.delete(name)); // not cached: tried again next time
      svgs.set(name, s);
    }
    return s;
  };

  /** the rows with their arrows; live: the running actors' exact states over the events' */
  const actorsOut = (view: WorldView, ms: Map<string, ChartModel>, live?: Map<string, LiveState>): ActorOut[] => {
    const rows: ActorOut[] = view.actors.map((a) => {
      const model = a.machine ? ms.get(a.machine) : undefined;
      const fromEvents = model ? arrowsBetween(model, a.fromIds, a.ids, a.cause) : [];
      const l = live?.get(a.key);
      if (!l) return { ...a, arrows: fromEvents, arrowText: describe(model, fromEvents) };
      // the arrow into the state the last event names, as the actor took it; its inner moves since
      // (a MASTER's gratuitous ARP phases) stay in `recent`
      const taken = [...l.recent].reverse().find((r) => r.arrows.some((t) => fromEvents.includes(t)));
      const arrows = taken ? taken.arrows.filter((t) => fromEvents.includes(t)) : fromEvents.length ? fromEvents : (l.recent.at(-1)?.arrows ?? []);
      return { ...a, ids: l.ids, exact: true, recent: withText(model, l.recent), arrows, arrowText: describe(model, arrows) };
    });
    // running actors without an event yet (a checker before its first result)
    for (const [key, l] of live ?? []) {
      if (view.actors.some((a) => a.key === key)) continue;
      const [node = p.node, kind = '', ...name] = key.split('/');
      const model = ms.get(l.machine);
      const arrows = l.recent.at(-1)?.arrows ?? [];
      rows.push({ key, node, kind, name: name.join('/'), machine: l.machine, state: l.ids[0] ?? '', ids: l.ids, fromIds: [], since: '', event: '', detail: {}, arrows, arrowText: describe(model, arrows), recent: withText(model, l.recent), exact: true });
    }
    return rows.sort((a, b) => a.key.localeCompare(b.key));
  };

  /** the cluster (its VRRP view and its nodes) now or at a moment: from NATS when there is a stream */
  const clusterAt = async (q: { at: number } | undefined, local: WorldView): Promise<{ cluster: ClusterView; clusterNodes: WorldView['nodes']; clusterSource: 'nats' | 'local'; clusterError?: string }> => {
    const mine = { cluster: local.cluster, clusterNodes: local.nodes, clusterSource: 'local' as const };
    if (!cluster) return mine;
    try {
      // live: the follower is at most a message behind; no round trip to NATS per page refresh
      const v = q ? await within(cluster.stateAt(q), 5000, 'the cluster stream') : await within(cluster.start().then(() => cluster.now()), 5000, 'the cluster stream');
      return { cluster: v.cluster, clusterNodes: v.nodes, clusterSource: 'nats', ...(clusterError ? { clusterError } : {}) };
    } catch (err) {
      return { ...mine, clusterError: (err as Error).message };
    }
  };

  const state = async ({ query }: RouteContext): Promise<HttpReply> => {
    const at = time(query, 'at');
    const seq = int(query, 'seq');
    const ms = await chartModels();
    if (at === undefined && seq === undefined) {
      tracker.sync();
      await local.settle();
      const view = local.now();
      return {
        status: 200,
        json: { ok: true, live: true, node: p.node, ...view, actors: actorsOut(view, ms, tracker.states(ms)), ...(await clusterAt(undefined, view)), status: p.status() },
      };
    }
    const view = await local.stateAt(seq !== undefined ? { seq } : { at: at! });
    // the cluster at the same moment: the time of the event asked for, when asked by seq
    const when = at ?? (view.last ? Date.parse(view.last.time) : 0);
    return { status: 200, json: { ok: true, live: false, node: p.node, ...view, actors: actorsOut(view, ms), ...(await clusterAt({ at: when }, view)) } };
  };

  const events = async ({ query }: RouteContext): Promise<HttpReply> => {
    const source = query.get('source') ?? 'local';
    if (source !== 'local' && source !== 'cluster') throw new BadQuery(`source=${source.slice(0, 20)}: local or cluster`);
    const h = source === 'cluster' ? cluster : local;
    if (!h) return fail(404, 'no cluster stream: this daemon does not export to NATS (--nats)');
    const q: EventQuery = {
      ...(int(query, 'after') !== undefined ? { after: int(query, 'after')! } : {}),
      ...(int(query, 'before') !== undefined ? { before: int(query, 'before')! } : {}),
      ...(time(query, 'since') !== undefined ? { since: time(query, 'since')! } : {}),
      ...(time(query, 'until') !== undefined ? { until: time(query, 'until')! } : {}),
      ...(text(query, 'node') ? { node: text(query, 'node')! } : {}),
      ...(text(query, 'instance') ? { instance: text(query, 'instance')! } : {}),
      ...(text(query, 'type') ? { type: text(query, 'type')! } : {}),
      ...(text(query, 'chain') ? { chain: text(query, 'chain')! } : {}),
      ...(int(query, 'limit') !== undefined ? { limit: int(query, 'limit')! } : {}),
    };
    const page = await (source === 'cluster' ? within(h.events(q), 10_000, 'the cluster stream') : h.events(q));
    return { status: 200, json: { ok: true, source, ...page } };
  };

  const stream = ({ query, headers }: RouteContext): HttpReply => {
    if (hub.full()) return fail(503, 'too many dashboard streams open; close one');
    const header = headers['last-event-id'];
    const last = (typeof header === 'string' ? header : undefined) ?? text(query, 'lastEventId');
    return {
      status: 200,
      contentType: 'text/event-stream; charset=utf-8',
      // no buffering in a reverse proxy (nginx) between the daemon and the browser
      headers: { 'X-Accel-Buffering': 'no' },
      stream: (res) => {
        res.socket?.setNoDelay(true);
        hub.connect(res, last).catch((err: Error) => {
          warn(err, 'event stream');
          res.destroy();
        });
      },
    };
  };

  /** a handler whose bad query is a 400 naming the parameter */
  const guarded =
    (h: (ctx: RouteContext) => Promise<HttpReply> | HttpReply) =>
    async (ctx: RouteContext): Promise<HttpReply> => {
      try {
        return await h(ctx);
      } catch (err) {
        if (err instanceof BadQuery) return fail(400, err.message);
        throw err;
      }
    };

  const routes: Route[] = [
    { method: 'GET', path: '/api/state', access: 'read', handle: guarded(state) },
    { method: 'GET', path: '/api/events', access: 'read', handle: guarded(events) },
    { method: 'GET', path: '/api/events/stream', access: 'read', handle: guarded(stream) },
    {
      method: 'GET',
      path: '/api/history',
      access: 'read',
      handle: async () => {
        await local.start();
        return { status: 200, json: { ok: true, node: p.node, local: local.bounds(), ...(cluster ? { cluster: cluster.bounds(), ...(clusterError ? { clusterError } : {}) } : {}), stream: stats() } };
      },
    },
    // the charts are the machine definitions, public like docs/charts
    { method: 'GET', path: '/api/charts', access: 'open', handle: () => ({ status: 200, json: { ok: true, machines: MACHINES.map((m) => ({ name: m.name, title: m.title })) } }) },
    ...MACHINES.flatMap((m): Route[] => [
      { method: 'GET', path: `/api/charts/${m.name}.svg`, access: 'open', handle: async () => ({ status: 200, text: await svg(m.name), contentType: 'image/svg+xml', headers: { 'Cache-Control': 'no-cache' } }) },
      { method: 'GET', path: `/api/charts/${m.name}.json`, access: 'open', handle: async () => ({ status: 200, json: (await chartModels()).get(m.name) }) },
    ]),
    ...staticRoutes(),
  ];

  function stats() {
    return { clients: hub.size, dropped: hub.dropped, connections: hub.connections, resumes: hub.resumes, resets: hub.resets, malformed: local.malformed + (cluster?.malformed ?? 0) };
  }

  return {
    routes,
    stats,
    async close() {
      for (const u of unsubscribe) u();
      clearTimeout(flush);
      hub.close();
      tracker.close();
      local.close();
      cluster?.close();
      await p.cluster?.close?.();
    },
  };
}

/** `/` and `/dashboard/<file>`: read once at start, answered with an ETag (304 when unchanged). */
function staticRoutes(): Route[] {
  const dir = staticDir();
  if (!dir) throw new Error('the dashboard page is missing (adapters/http/dashboard/index.html): a broken install');
  return readdirSync(dir)
    .filter((f) => TYPES[extname(f)])
    .map((f): Route => {
      const body = readFileSync(join(dir, f));
      const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`;
      const page = f === 'index.html';
      return {
        method: 'GET',
        path: page ? '/' : `/dashboard/${f}`,
        access: 'open',
        handle: ({ headers }) =>
          headers['if-none-match'] === etag
            ? { status: 304, text: '', contentType: TYPES[extname(f)]!, headers: { ETag: etag, 'Cache-Control': 'no-cache' } }
            : { status: 200, text: body, contentType: TYPES[extname(f)]!, headers: { ETag: etag, 'Cache-Control': 'no-cache', ...(page ? PAGE_HEADERS : {}) } },
      };
    });
}
