// The dashboard's routes on the real HTTP listener (loopback, real sockets): the token and the
// browser's session cookie, the page and its headers, the state live and at a past moment, the
// event pages, the charts, and server-sent events that outlive the request timeouts and resume.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createActor, SimulatedClock } from 'xstate';
import { Bus } from '../../actors/bus.js';
import { createDashboard, type Dashboard } from '../../actors/dashboard/routes.js';
import { serveHttp, type HttpServer } from '../../adapters/http/server.js';
import { vrrpMachine, type VrrpInput } from '../../machines/vrrp.machine.js';
import { memoryJournal } from '../fakes/memoryJournal.js';

const TOKEN = 'dashboard-token-0123456789';
const silent = { warn() {} };
const input: VrrpInput = {
  name: 'VI_1',
  vrid: 51,
  version: 2,
  basePriority: 100,
  advertIntervalCs: 100,
  initialState: 'BACKUP',
  nopreempt: false,
  preemptDelayMs: 0,
  downTimerAdverts: 3,
  lowerPrioNoAdvert: false,
  higherPrioSendAdvert: false,
  garp: { masterDelayMs: 0, masterRepeat: 5, masterRefreshMs: 0, masterRefreshRepeat: 1, lowerPrioRepeat: 0, lowerPrioDelayMs: 0 },
  srcIp: '10.0.0.2',
};

/** a node: one VRRP instance on a simulated clock, its events on the bus and in a journal */
function lab(token?: string) {
  const clock = new SimulatedClock();
  const bus = new Bus('lb1');
  const journal = memoryJournal();
  bus.subscribe((e) => void journal.append(e.id, e));
  const actor = createActor(vrrpMachine, { clock, input });
  actor.on('vrrp.state', (e) => bus.publish('vrrp', 'VI_1', 'vrrp.state', { ...e }));
  const dashboard = createDashboard({
    node: 'lb1',
    bus,
    journal,
    status: () => ({ node: 'lb1', instances: [{ instance: 'VI_1', vips: ['10.0.0.100/24 dev eth0'] }] }),
    actors: () => [{ kind: 'vrrp', name: 'VI_1', machine: 'vrrp', actor }],
    log: silent,
  });
  return { clock, bus, journal, actor, dashboard, token };
}

let node: ReturnType<typeof lab>;
let server: HttpServer;
let base: string;
let cookie: string;

const auth = { authorization: `Bearer ${TOKEN}` };
const get = (path: string, headers: Record<string, string> = {}) => fetch(`${base}${path}`, { headers });
const json = async (path: string, headers: Record<string, string> = { cookie }) => {
  const r = await get(path, headers);
  assert.equal(r.status, 200, `${path}: ${r.status} ${await r.clone().text()}`);
  return (await r.json()) as Record<string, any>;
};

async function serve(n: ReturnType<typeof lab>, token?: string, timeouts?: { headersMs: number; requestMs: number }) {
  return serveHttp({
    listen: '127.0.0.1:0',
    ...(token ? { token } : {}),
    handler: async () => ({ ok: true }),
    metrics: async () => '',
    metricsContentType: 'text/plain',
    health: () => ({ live: true, ready: true }),
    log: silent,
    routes: n.dashboard.routes,
    ...(timeouts ? { timeouts } : {}),
  });
}

/** read an event stream until `until` holds for the text so far */
async function readStream(res: Response, until: (text: string) => boolean, ms = 3000): Promise<string> {
  const reader = res.body!.getReader();
  const dec = new TextDecoder();
  let text = '';
  const deadline = Date.now() + ms;
  try {
    while (!until(text)) {
      const left = deadline - Date.now();
      if (left <= 0) assert.fail(`stream: not there within ${ms} ms; got:\n${text}`);
      const r = await Promise.race([reader.read(), new Promise<never>((_, rej) => setTimeout(() => rej(new Error(`stream: nothing within ${ms} ms; got:\n${text}`)), left))]);
      if (r.done) break;
      text += dec.decode(r.value, { stream: true });
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
  return text;
}

before(async () => {
  node = lab(TOKEN);
  // short request timeouts: a stream must outlive them
  server = await serve(node, TOKEN, { headersMs: 200, requestMs: 300 });
  base = `http://${server.address}`;
  node.actor.start();
  node.bus.publish('daemon', 'lb1', 'daemon.started', { version: 't', instances: 1, syncGroups: 0 });
});

after(async () => {
  await server?.close();
  await node?.dashboard.close();
  node?.actor.stop();
});

test('the page and its scripts are open; data needs the token or the session cookie', async () => {
  const page = await get('/');
  assert.equal(page.status, 200);
  assert.match(page.headers.get('content-type')!, /text\/html/);
  assert.match(page.headers.get('content-security-policy')!, /script-src 'self'/);
  assert.doesNotMatch(page.headers.get('content-security-policy')!, /unsafe-inline/);
  const app = await get('/dashboard/app.js');
  assert.equal(app.status, 200);
  assert.match(app.headers.get('content-type')!, /javascript/);
  assert.equal((await get('/dashboard/app.js', { 'if-none-match': app.headers.get('etag')! })).status, 304);

  for (const p of ['/api/state', '/api/events', '/api/events/stream', '/api/history']) assert.equal((await get(p)).status, 401, p);
  assert.equal((await get('/api/state', auth)).status, 200);

  const wrong = await fetch(`${base}/api/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token: 'nope' }) });
  assert.equal(wrong.status, 401);
  assert.equal(wrong.headers.get('set-cookie'), null);
  const ok = await fetch(`${base}/api/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token: TOKEN }) });
  assert.equal(ok.status, 200);
  const set = ok.headers.get('set-cookie')!;
  assert.match(set, /^vigil_session=[0-9a-f]{64}; HttpOnly; SameSite=Strict; Path=\/$/);
  assert.ok(!set.includes(TOKEN), 'the cookie holds a hash, not the token');
  cookie = set.split(';')[0]!;
  assert.equal((await get('/api/state', { cookie })).status, 200);
  assert.equal((await get('/api/state', { cookie: 'vigil_session=00' })).status, 401);
  // the cookie opens reads only: a privileged route still wants the header
  const prio = await fetch(`${base}/api/priority`, { method: 'POST', headers: { cookie, 'content-type': 'application/json' }, body: '{"instance":"VI_1","priority":50}' });
  assert.equal(prio.status, 401);
});

test('the state now, with the running actor exact; the state at a past moment from the journal', async () => {
  let s = await json('/api/state');
  assert.equal(s['live'], true);
  let vi1 = s['actors'].find((a: { key: string }) => a.key === 'lb1/vrrp/VI_1');
  assert.equal(vi1.state, 'BACKUP');
  assert.equal(vi1.exact, true);
  assert.ok(vi1.ids.includes('backup.timer.waiting'), vi1.ids.join());
  const backupAt = Date.now();
  for (let i = 0; i < 3700; i++) node.clock.increment(1);
  s = await json('/api/state');
  vi1 = s['actors'].find((a: { key: string }) => a.key === 'lb1/vrrp/VI_1');
  assert.equal(vi1.state, 'MASTER');
  assert.deepEqual(vi1.arrowText, ['backup.timer.waiting → master: master.down']);
  assert.deepEqual(s['status'].instances[0].vips, ['10.0.0.100/24 dev eth0']);
  assert.deepEqual(s['cluster'].vrids, [{ vrid: 51, masters: ['lb1/VI_1'], splitBrain: false }]);

  // back in time: before the takeover (wall clock: the simulated one only drives the machine)
  const past = await json(`/api/state?at=${new Date(backupAt).toISOString()}`);
  assert.equal(past['live'], false);
  const was = past['actors'].find((a: { key: string }) => a.key === 'lb1/vrrp/VI_1');
  assert.equal(was.state, 'BACKUP');
  assert.deepEqual(was.ids, ['backup']);
  assert.equal(was.exact, undefined);
  // by position: after the first event
  const first = await json('/api/state?seq=1');
  assert.equal(first['events'], 1);
  const bad = await get('/api/state?at=yesterday-ish', { cookie });
  assert.equal(bad.status, 400);
  assert.match(((await bad.json()) as { error: string }).error, /^at=yesterday-ish: not an ISO time/);
});

test('event pages and chains; the charts', async () => {
  const page = await json('/api/events?type=vrrp.state');
  assert.deepEqual(page['events'].map((x: { event: { data: { to: string } } }) => x.event.data.to), ['BACKUP', 'MASTER']);
  assert.equal((await get('/api/events?source=cluster', { cookie })).status, 404);
  assert.equal((await get('/api/events?limit=-1', { cookie })).status, 400);
  const svg = await get('/api/charts/vrrp.svg');
  assert.equal(svg.status, 200);
  assert.match(await svg.text(), /<g id="state:master" class="cluster">/);
  const model = await json('/api/charts/vrrp.json', {});
  assert.equal(model['machine'], 'vrrp');
});

test('server-sent events: live, past the request timeouts, and resumed from the journal', async () => {
  const res = await get('/api/events/stream', { cookie });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type')!, /^text\/event-stream/);
  // longer than requestMs (300): the stream must still be open
  await new Promise((r) => setTimeout(r, 500));
  const e = node.bus.publish('vrrp', 'VI_1', 'vrrp.priority', { type: 'vrrp.priority', instance: 'VI_1', from: 100, to: 90 });
  const text = await readStream(res, (t) => t.includes(e.id));
  assert.match(text, new RegExp(`id: ${e.id}\nevent: bus\ndata: \\{`));

  // missed while away: resent from the journal, then live
  const missed = [1, 2, 3].map((i) => node.bus.publish('vrrp', 'VI_1', 'vrrp.priority', { type: 'vrrp.priority', instance: 'VI_1', from: 90, to: 90 - i }).id);
  const again = await get('/api/events/stream', { cookie, 'last-event-id': e.id });
  const got = await readStream(again, (t) => missed.every((id) => t.includes(id)));
  assert.deepEqual([...got.matchAll(/id: (\S+)/g)].map((m) => m[1]), missed);
  const h = await json('/api/history');
  assert.equal(h['stream'].resumes, 1);
});

test('loopback without a token: reads open, no session needed', async () => {
  const n = lab();
  const s = await serve(n);
  try {
    const r = await fetch(`http://${s.address}/api/state`);
    assert.equal(r.status, 200);
    const login = await fetch(`http://${s.address}/api/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    assert.deepEqual(((await login.json()) as { session: boolean }).session, false);
  } finally {
    await s.close();
    await n.dashboard.close();
  }
});
