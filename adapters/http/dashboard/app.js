// vigil's dashboard: the daemon's state live (server-sent events from its bus) or at any past
// moment (rebuilt by the daemon from its journal), the actors on their state charts, the event
// timeline with its cause chains, and the cluster side by side. Plain ES modules, no build step.
import { $, h, clock, stateWord, summary } from './dom.js';
import { showChart } from './chart.js';

class NeedLogin extends Error {}

async function api(path, init) {
  const r = await fetch(path, { credentials: 'same-origin', ...init });
  if (r.status === 401) throw new NeedLogin();
  const body = await r.json().catch(() => ({ ok: false, error: `HTTP ${r.status}` }));
  if (!r.ok || body.ok === false) throw new Error(body.error ?? `HTTP ${r.status}`);
  return body;
}

// ---------------------------------------------------------------------------------------------
// What is shown

const ui = {
  /** the last /api/state answer */
  state: undefined,
  /** the last live status seen (VIPs and the like are configuration: shown in replay too) */
  status: undefined,
  /** undefined: live; else { at } or { seq } */
  replay: undefined,
  /** actor whose chart is shown */
  actor: undefined,
  events: [],
  older: undefined,
  filters: { source: 'local', node: '', instance: '', type: '' },
  bounds: undefined,
  lastEventId: undefined,
};

const matchesFilters = (e) => {
  const f = ui.filters;
  if (f.node && e.node !== f.node) return false;
  if (f.instance && e.name !== f.instance && e.data?.instance !== f.instance) return false;
  if (f.type && e.type !== f.type && !e.type.startsWith(`${f.type}.`)) return false;
  return true;
};

// ---------------------------------------------------------------------------------------------
// Rendering

function renderMode() {
  const m = $('mode');
  if (!ui.replay) {
    // live: the slider's end is now
    const slider = $('slider');
    slider.max = String(Date.now());
    slider.value = slider.max;
  }
  if (ui.replay) {
    m.className = 'badge replay';
    m.textContent = `REPLAY ${ui.state?.at ? new Date(ui.state.at).toLocaleString() : ''}`;
  } else {
    m.className = 'badge live';
    m.textContent = 'LIVE';
  }
  const last = ui.state?.last;
  $('at').textContent = last ? `after ${last.type} at ${clock(last.time)} (#${last.seq ?? '?'}) · ${ui.state.events} events` : 'no events yet';
}

function renderInstances() {
  const s = ui.state;
  const st = ui.status;
  const byName = new Map((st?.instances ?? []).map((i) => [i.instance, i]));
  const rows = s.actors.filter((a) => a.kind === 'vrrp' && a.node === s.node);
  // instances that have said nothing yet (live status only)
  for (const i of ui.replay ? [] : (st?.instances ?? [])) {
    if (!rows.some((r) => r.name === i.instance)) rows.push({ key: `${s.node}/vrrp/${i.instance}`, name: i.instance, state: i.state, detail: {}, kind: 'vrrp', node: s.node, machine: 'vrrp', ids: [] });
  }
  const table = $('instances');
  table.replaceChildren(
    h('tr', {}, ['Instance', 'State', 'Priority', 'Master', 'VRID', 'Virtual IPs', 'Since', 'Cause'].map((t) => h('th', {}, t))),
    ...rows.map((r) => {
      const i = byName.get(r.name);
      const prio = r.detail.priority ?? i?.priority;
      return h(
        'tr',
        { class: `pick${ui.actor === r.key ? ' selected' : ''}`, dataset: { key: r.key }, onclick: () => selectActor(r.key) },
        h('td', {}, r.name),
        h('td', { class: 'state' }, stateWord(r.state)),
        h('td', {}, prio ?? '', i && i.basePriority !== prio ? h('small', {}, ` (configured ${i.basePriority})`) : null),
        h('td', {}, r.detail.master ?? (r.state === 'MASTER' ? 'this node' : '')),
        h('td', {}, r.detail.vrid ?? i?.vrid ?? ''),
        h('td', {}, (i?.vips ?? []).join(', ')),
        h('td', { title: r.since ?? '' }, clock(r.since)),
        h('td', {}, r.cause ?? '', r.detail.why ? ` (${r.detail.why})` : ''),
      );
    }),
  );
}

function renderVirtualServers() {
  const s = ui.state;
  const box = $('vs');
  const actors = new Map(s.actors.map((a) => [a.key, a]));
  const list = s.virtualServers.filter((v) => v.node === s.node);
  if (!list.length) return box.replaceChildren(h('p', { class: 'muted' }, 'none'));
  box.replaceChildren(
    ...list.map((v) =>
      h(
        'div',
        {},
        h('h3', {}, v.name, ' ', h('small', {}, 'quorum '), stateWord(v.quorum ?? '?'), v.weight !== undefined ? h('small', {}, ` weight ${v.weight} / ${v.threshold}`) : null, v.sorry ? h('span', { class: 'alert' }, ' sorry server') : null),
        h(
          'table',
          {},
          h('tr', {}, ['Real server', 'State', 'Weight', 'Checkers'].map((t) => h('th', {}, t))),
          ...Object.values(v.realServers).map((rs) =>
            h(
              'tr',
              {},
              h('td', {}, rs.rs),
              h('td', {}, stateWord(rs.state ?? '?'), rs.drained ? h('small', {}, ' drained') : null),
              h('td', {}, rs.weight ?? ''),
              h(
                'td',
                {},
                rs.checkers.map((k) => {
                  const c = actors.get(k);
                  return h('span', { class: 'pick', onclick: () => selectActor(k), title: c?.cause ?? '' }, `${(c?.name ?? k).split(' ').slice(2).join(' ')} `, stateWord(c?.state ?? '?'), ' ');
                }),
              ),
            ),
          ),
        ),
      ),
    ),
  );
}

function renderHealth() {
  const s = ui.state;
  const items = [];
  for (const n of s.nodes.filter((x) => x.node === s.node)) {
    items.push(['daemon', [stateWord(n.status), ` vigil ${n.version ?? '?'}`, n.reloads ? `, ${n.reloads} reload(s)` : '', n.reloadFailures ? h('span', { class: 'alert' }, ` ${n.reloadFailures} refused`) : '']]);
    if (n.lb) items.push(['load balancer', [`${n.lb.driver ?? ''} ${n.lb.changes} change(s)`, n.lb.errors ? h('span', { class: 'alert' }, ` ${n.lb.errors} error(s): ${n.lb.lastError ?? ''}`) : '']]);
  }
  for (const a of s.actors.filter((x) => x.node === s.node && x.kind === 'nats')) items.push([`NATS ${a.name}`, [stateWord(a.state), ` ${a.detail.pending ?? 0} pending`]]);
  for (const a of s.actors.filter((x) => x.node === s.node && x.kind === 'track')) items.push([`tracker ${a.name}`, [stateWord(a.state), a.cause ? ` (${a.cause})` : '']]);
  // every other section of the status (journal, notifier, …) as it comes
  const known = new Set(['node', 'version', 'pid', 'configFile', 'startedAt', 'instances', 'syncGroups', 'virtualServers', 'loadBalancer']);
  for (const [k, v] of Object.entries(ui.status ?? {})) if (!known.has(k)) items.push([k, JSON.stringify(v)]);
  if (ui.status?.loadBalancer) items.push(['load balancer (now)', JSON.stringify(ui.status.loadBalancer)]);
  $('health').replaceChildren(...items.flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]));
}

function renderCluster() {
  const s = ui.state;
  const c = s.cluster;
  $('cluster-source').textContent = s.clusterSource === 'nats' ? 'every node (NATS)' : `this node only${s.clusterError ? `: ${s.clusterError}` : ' (no NATS)'}`;
  if (!c || !c.instances.length) return $('cluster').replaceChildren(h('p', { class: 'muted' }, 'no VRRP states yet'));
  const nodes = c.nodes;
  const statusOf = new Map((s.clusterNodes ?? s.nodes).map((n) => [n.node, n.status]));
  // one row per VRID (instances without one: per name), one column per node
  const rows = new Map();
  for (const i of c.instances) {
    const k = i.vrid !== undefined ? `VRID ${i.vrid}` : i.instance;
    if (!rows.has(k)) rows.set(k, { vrid: i.vrid, cells: new Map() });
    rows.get(k).cells.set(i.node, i);
  }
  const split = new Map(c.vrids.map((v) => [v.vrid, v]));
  $('cluster').replaceChildren(
    h(
      'table',
      { class: 'cluster-grid' },
      h('tr', {}, h('th', {}, ''), nodes.map((n) => h('th', {}, n, ' ', h('small', {}, statusOf.get(n) ?? '')))),
      ...[...rows].map(([label, r]) => {
        const v = split.get(r.vrid);
        return h(
          'tr',
          { class: v?.splitBrain ? 'alert' : '', dataset: { vrid: r.vrid ?? '' } },
          h('th', {}, label, v?.splitBrain ? h('div', {}, `SPLIT BRAIN: ${v.masters.join(', ')}`) : null),
          nodes.map((n) => {
            const i = r.cells.get(n);
            if (!i) return h('td', { class: 'muted' }, '—');
            return h(
              'td',
              { class: i.flapping ? 'alert' : '', dataset: { node: n, instance: i.instance }, title: `since ${i.since}` },
              `${i.instance} `,
              stateWord(i.state),
              i.priority !== undefined ? h('small', {}, ` prio ${i.priority}`) : null,
              i.flapping ? h('div', {}, `FLAPPING: ${i.recentChanges} changes in 10 min`) : null,
            );
          }),
        );
      }),
    ),
  );
}

function renderActorList() {
  const sel = $('actor');
  const rows = ui.state.actors.filter((a) => a.machine);
  if (!ui.actor || !rows.some((r) => r.key === ui.actor)) ui.actor = (rows.find((r) => r.kind === 'vrrp' && r.node === ui.state.node) ?? rows[0])?.key;
  const keys = rows.map((r) => r.key).join('\n');
  if (sel.dataset.keys !== keys) {
    sel.replaceChildren(...rows.map((r) => h('option', { value: r.key }, `${r.node} ${r.kind} ${r.name}`)));
    sel.dataset.keys = keys;
  }
  if (ui.actor) sel.value = ui.actor;
}

let charting = Promise.resolve();
function renderChart() {
  const row = ui.state.actors.find((a) => a.key === ui.actor);
  $('actor-info').replaceChildren(
    ...(row
      ? [stateWord(row.state), row.since ? ` since ${clock(row.since)}` : '', row.from ? ` (from ${row.from}` : '', row.cause ? `${row.from ? ', ' : ' ('}${row.cause}` : '', row.from || row.cause ? ')' : '', row.exact ? '' : h('small', {}, ' · from the events: the state entered, not its inner states')]
      : []),
  );
  // how it got there, then its latest inner moves (live)
  $('recent').replaceChildren(
    ...(row?.arrowText ?? []).map((t) => h('li', { class: 'main' }, t)),
    ...(row?.recent ?? []).slice().reverse().map((r) => h('li', {}, `${clock(r.time)} ${r.text.join('; ')}`)),
  );
  // one chart update at a time, in order
  charting = charting.then(() => showChart($('chart'), row)).catch((err) => $('chart').replaceChildren(h('p', { class: 'error' }, err.message)));
  return charting;
}

function renderTimeline() {
  const shownSeq = ui.replay ? ui.state?.last?.seq : undefined;
  $('timeline').replaceChildren(
    ...ui.events
      .slice()
      .reverse()
      .map(({ seq, event: e }) =>
        h(
          'li',
          { dataset: { id: e.id, seq: seq ?? '' }, class: seq !== undefined && seq === shownSeq ? 'shown' : '', onclick: () => showChainOf(e), title: e.id },
          h('span', { class: 't' }, clock(e.time)),
          ` ${e.node} ${e.kind}/${e.name} `,
          h('span', { class: 'ty' }, e.type),
          ` ${summary(e)}`,
          e.cause ? h('small', {}, ' ↳ chain') : null,
        ),
      ),
  );
  $('older').hidden = ui.older === undefined;
}

async function render() {
  $('node').textContent = ui.state.node;
  renderMode();
  renderInstances();
  renderVirtualServers();
  renderCluster();
  renderActorList();
  renderHealth();
  renderTimeline();
  await renderChart();
  // what the screen shows now (tests and the latency benchmark watch it)
  document.body.dataset.lastEvent = ui.state.last?.id ?? '';
  if (!performance.getEntriesByName('vigil:first-render').length) performance.mark('vigil:first-render');
}

// ---------------------------------------------------------------------------------------------
// Loading

async function loadState() {
  const q = ui.replay ? (ui.replay.seq !== undefined ? `?seq=${ui.replay.seq}` : `?at=${encodeURIComponent(new Date(ui.replay.at).toISOString())}`) : '';
  const s = await api(`/api/state${q}`);
  // a live answer that arrives after the user went to replay (or back) is stale
  if (!!ui.replay !== !s.live) return;
  ui.state = s;
  if (s.live) ui.status = s.status;
  await render();
}

/** live: fetch the state again after an event; events arriving meanwhile make one more fetch */
let refreshing = false;
let again = false;
async function refreshSoon() {
  if (ui.replay) return;
  if (refreshing) return void (again = true);
  refreshing = true;
  try {
    do {
      again = false;
      await loadState();
    } while (again && !ui.replay);
  } catch (err) {
    handle(err);
  } finally {
    refreshing = false;
  }
}

function eventQuery(extra) {
  const f = ui.filters;
  const q = new URLSearchParams({ source: f.source, limit: '200', ...extra });
  for (const k of ['node', 'instance', 'type']) if (f[k]) q.set(k, f[k]);
  return q;
}

async function loadEvents() {
  const page = await api(`/api/events?${eventQuery({})}`);
  ui.events = page.events;
  ui.older = page.older;
  renderTimeline();
}

async function loadOlder() {
  if (ui.older === undefined) return;
  const page = await api(`/api/events?${eventQuery({ before: String(ui.older) })}`);
  ui.events = [...page.events, ...ui.events];
  ui.older = page.older;
  renderTimeline();
}

async function loadBounds() {
  const b = await api('/api/history');
  ui.bounds = b;
  const slider = $('slider');
  const first = b.local.first ? Date.parse(b.local.first.time) : Date.now();
  slider.min = String(first);
  slider.max = String(Math.max(Date.now(), first + 1));
  if (!ui.replay) slider.value = slider.max;
  $('f-source').replaceChildren(h('option', { value: 'local' }, 'this node'), b.cluster ? h('option', { value: 'cluster' }, 'every node (NATS)') : null);
  $('f-source').value = ui.filters.source;
}

async function showChainOf(e) {
  for (const li of $('timeline').children) li.classList.toggle('selected', li.dataset.id === e.id);
  const page = await api(`/api/events?${new URLSearchParams({ source: ui.filters.source, chain: e.correlation, limit: '200' })}`);
  // as a tree: each event under the one that caused it
  const kids = new Map();
  const ids = new Set(page.events.map((x) => x.event.id));
  for (const x of page.events) {
    const parent = x.event.cause && ids.has(x.event.cause) ? x.event.cause : '';
    if (!kids.has(parent)) kids.set(parent, []);
    kids.get(parent).push(x);
  }
  const tree = (parent) =>
    h(
      'ol',
      {},
      (kids.get(parent) ?? []).map((x) =>
        h(
          'li',
          { class: x.event.id === e.id ? 'selected' : '' },
          h('span', { class: 't' }, clock(x.event.time)),
          ` ${x.event.node} ${x.event.kind}/${x.event.name} ${x.event.type} ${summary(x.event)} `,
          ui.filters.source === 'local' ? h('button', { type: 'button', onclick: () => replayTo({ seq: x.seq }) }, 'state here') : null,
          tree(x.event.id),
        ),
      ),
    );
  const chain = $('chain');
  chain.hidden = false;
  chain.replaceChildren(h('h3', {}, `Chain ${e.correlation}`), h('p', { class: 'muted' }, `${page.events.length} event(s)${page.newer ? ', more after these' : ''}`), tree(''));
}

// ---------------------------------------------------------------------------------------------
// Live and replay

let source;
function connect() {
  source?.close();
  const q = ui.lastEventId ? `?lastEventId=${encodeURIComponent(ui.lastEventId)}` : '';
  source = new EventSource(`/api/events/stream${q}`);
  const conn = $('conn');
  source.onopen = () => {
    conn.className = 'badge live';
    conn.textContent = 'connected';
  };
  source.onerror = () => {
    conn.className = 'badge down';
    conn.textContent = 'reconnecting…';
  };
  const add = (e) => {
    if (!matchesFilters(e)) return;
    ui.events.push({ event: e });
    if (ui.events.length > 2000) ui.events.splice(0, ui.events.length - 2000);
    renderTimeline();
  };
  source.addEventListener('bus', (m) => {
    const e = JSON.parse(m.data);
    ui.lastEventId = e.id;
    if (ui.filters.source === 'local' || e.node === ui.state?.node) add(e);
    refreshSoon();
  });
  source.addEventListener('cluster', (m) => {
    if (ui.filters.source === 'cluster') add(JSON.parse(m.data));
    refreshSoon();
  });
  source.addEventListener('actors', () => refreshSoon());
  source.addEventListener('reset', () => {
    // the daemon cannot resend what was missed: start over from what it has now
    ui.lastEventId = undefined;
    void Promise.all([loadEvents(), refreshSoon()]).catch(handle);
  });
}

async function replayTo(r) {
  ui.replay = r;
  if (r.at !== undefined) $('slider').value = String(r.at);
  await loadState();
  if (r.seq !== undefined && ui.state.last) $('slider').value = String(Date.parse(ui.state.last.time));
}

async function goLive() {
  ui.replay = undefined;
  await loadBounds();
  await loadState();
}

/** the event before or after the one shown (with the timeline's filters) */
async function step(dir) {
  const seq = ui.state?.last?.seq ?? 0;
  const page = await api(`/api/events?${eventQuery(dir < 0 ? { before: String(seq), limit: '1' } : { after: String(seq), limit: '1' })}`);
  const target = page.events.at(-1);
  if (!target) return;
  await replayTo({ seq: target.seq });
  renderTimeline();
}

function selectActor(key) {
  ui.actor = key;
  $('actor').value = key;
  renderInstances();
  void renderChart();
}

function handle(err) {
  if (err instanceof NeedLogin) return showLogin();
  $('mode').className = 'badge down';
  $('mode').textContent = err.message;
}

// ---------------------------------------------------------------------------------------------
// Session: the token from the URL's fragment (never sent to the server in a URL, never logged) or
// typed in, traded for an HttpOnly cookie

async function login(token) {
  await api('/api/session', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token }) });
}

function showLogin(message) {
  $('main').hidden = true;
  $('login').hidden = false;
  $('login-error').textContent = message ?? '';
}

async function start() {
  const m = /^#token=(.+)$/.exec(location.hash);
  if (m) {
    history.replaceState(null, '', location.pathname + location.search);
    try {
      await login(decodeURIComponent(m[1]));
    } catch (err) {
      return showLogin(err instanceof NeedLogin ? 'wrong token' : err.message);
    }
  }
  try {
    await loadBounds();
    await loadEvents();
    ui.lastEventId = ui.events.at(-1)?.event.id;
    await loadState();
  } catch (err) {
    return handle(err);
  }
  $('login').hidden = true;
  $('main').hidden = false;
  connect();
}

$('login-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  login($('token').value).then(
    () => {
      $('token').value = '';
      return start();
    },
    (err) => showLogin(err instanceof NeedLogin ? 'wrong token' : err.message),
  );
});
$('live').addEventListener('click', () => void goLive().catch(handle));
$('prev').addEventListener('click', () => void step(-1).catch(handle));
$('next').addEventListener('click', () => void step(1).catch(handle));
let sliding;
$('slider').addEventListener('input', (ev) => {
  clearTimeout(sliding);
  const at = Number(ev.target.value);
  sliding = setTimeout(() => void replayTo({ at }).then(renderTimeline).catch(handle), 120);
});
$('actor').addEventListener('change', (ev) => selectActor(ev.target.value));
$('older').addEventListener('click', () => void loadOlder().catch(handle));
$('filters').addEventListener('submit', (ev) => {
  ev.preventDefault();
  ui.filters = { source: $('f-source').value, node: $('f-node').value.trim(), instance: $('f-instance').value.trim(), type: $('f-type').value.trim() };
  void loadEvents().catch(handle);
});

void start();
