// The pure half of bench/checkers.ts: the configs it runs, what it reads from /proc, Prometheus
// text and the daemons' logs, and the figures it derives. The measurements themselves are the bench's.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../adapters/config/index.js';
import {
  detectionBoundMs, haproxyConfig, haproxyRsChange, loopWindow, parseLoopMetrics, parseProcStat, spread, treeCpu,
  vigilConfig, vigilRsChange, type Plan,
} from '../../bench/checkers-lib.js';

const plan: Plan = {
  servers: 250, perVs: 100, rsAddress: '10.99.0.12', rsBasePort: 20000, vip: '10.99.0.100', vsBasePort: 8001,
  delayLoopS: 1, retry: 1, delayBeforeRetryS: 1, connectTimeoutS: 1, advertMs: 100,
};

function load(text: string) {
  const dir = mkdtempSync(join(tmpdir(), 'bench-checkers-'));
  try {
    const file = join(dir, 'keepalived.conf');
    writeFileSync(file, text);
    return loadConfig(file, { configId: 'bench', env: {} });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('vigil configs: accepted by the checker, one checker per real server with the plan timings', () => {
  for (const check of ['tcp', 'http'] as const) {
    const r = load(vigilConfig(plan, check));
    assert.deepEqual(r.diagnostics.filter((d) => d.severity === 'error'), []);
    assert.equal(r.exitCode, 0);
    const vss = r.config.virtualServers;
    assert.deepEqual(vss.map((v) => v.realServers.length), [100, 100, 50]);
    const cks = vss.flatMap((v) => v.realServers.flatMap((rs) => rs.checkers));
    assert.equal(cks.length, 250);
    assert.ok(cks.every((c) => c.type === (check === 'tcp' ? 'TCP_CHECK' : 'HTTP_GET')));
    assert.deepEqual(cks[0]!.resolved, { delayLoopMs: 1000, connectTimeoutMs: 1000, retry: 1, delayBeforeRetryMs: 1000, warmupMs: 1000 });
    assert.equal(r.config.global.lbDriver, 'nftables');
  }
  const idle = load(vigilConfig(plan, undefined));
  assert.equal(idle.exitCode, 0);
  assert.equal(idle.config.virtualServers.length, 0);
  assert.deepEqual(idle.config.instances.map((i) => [i.name, i.version, i.advertIntMs]), [['VI_1', 3, 100]]);
});

test('HAProxy config: the same servers, fall = retry + 1, inter = delay_loop, httpchk only for HTTP', () => {
  const tcp = haproxyConfig(plan, 'tcp', '/tmp/s.sock');
  const http = haproxyConfig(plan, 'http', '/tmp/s.sock');
  assert.equal(tcp.match(/^ {2}server rs\d+ 10\.99\.0\.12:\d+ check$/gm)?.length, 250);
  assert.equal(tcp.match(/^backend /gm)?.length, 3);
  assert.match(tcp, /default-server inter 1s fall 2 rise 1/);
  assert.match(tcp, /timeout connect 1s\n {2}timeout check 1s/);
  assert.doesNotMatch(tcp, /httpchk/);
  assert.equal(http.match(/option httpchk GET \//g)?.length, 3);
  assert.throws(() => haproxyConfig({ ...plan, delayBeforeRetryS: 3 }, 'tcp', '/tmp/s.sock'), RangeError);
});

test('/proc/PID/stat: a comm with spaces and parentheses; a tree sums live descendants and reaped children', () => {
  const line = (pid: number, ppid: number, comm: string, u: number, s: number, cu: number, cs: number) =>
    `${pid} (${comm}) S ${ppid} 1 1 0 -1 4194560 100 0 0 0 ${u} ${s} ${cu} ${cs} 20 0 11 0 5 100 200`;
  const root = parseProcStat(line(10, 1, 'node) (x', 300, 50, 7, 3));
  assert.deepEqual(root, { pid: 10, ppid: 1, user: 300, system: 50, own: 350, reaped: 10 });
  assert.equal(parseProcStat('garbage'), undefined);
  const all = [root!, parseProcStat(line(11, 10, 'spawn', 5, 5, 0, 0))!, parseProcStat(line(12, 11, 'sh', 1, 1, 2, 0))!, parseProcStat(line(13, 1, 'other', 99, 99, 0, 0))!];
  assert.deepEqual(treeCpu(all, 10), { self: 350, user: 300, system: 50, children: 10 + 10 + 4 });
  assert.equal(treeCpu(all, 99), undefined);
});

test('event-loop window: deltas of the cumulative histogram between two scrapes, and prom-client lag of the later one', () => {
  const text = (c: number[], sum: number, lag: string) => [
    '# HELP vigil_event_loop_delay_seconds x',
    ...[0.001, 0.01, 0.05, 0.1].map((le, i) => `vigil_event_loop_delay_seconds_bucket{le="${le}"} ${c[i]}`),
    `vigil_event_loop_delay_seconds_bucket{le="+Inf"} ${c[4]}`,
    `vigil_event_loop_delay_seconds_sum ${sum}`,
    `vigil_event_loop_delay_seconds_count ${c[4]}`,
    lag,
  ].join('\n');
  const a = parseLoopMetrics(text([10, 10, 10, 10, 10], 0.005, ''))!;
  const b = parseLoopMetrics(text([60, 100, 109, 110, 110], 0.305, 'vigil_nodejs_eventloop_lag_p99_seconds 0.09\nvigil_nodejs_eventloop_lag_max_seconds 0.14'))!;
  const w = loopWindow(a, b)!;
  assert.equal(w.samples, 100);
  assert.ok(Math.abs(w.meanMs - 3) < 1e-9);
  assert.equal(w.p50BoundMs, 1);
  assert.equal(w.p99BoundMs, 50);
  assert.ok(Math.abs(w.over10ms - 0.1) < 1e-9);
  assert.ok(Math.abs(w.over50ms - 0.01) < 1e-9);
  // less the monitor's 50 ms interval: the lateness
  assert.ok(Math.abs(w.lagP99Ms! - 40) < 1e-9);
  assert.ok(Math.abs(w.lagMaxMs! - 90) < 1e-9);
  assert.equal(w.lagP50Ms, null);
  assert.equal(loopWindow(b, b), undefined);
  assert.equal(parseLoopMetrics('nothing here'), undefined);
});

test('SYN spread: counts per 10 ms slot over whole slots of the window', () => {
  const s = spread([1000, 1001, 1009, 1010, 1035, 999, 1050], 1000, 1050);
  assert.deepEqual(s, { slots: 5, syns: 5, p50: 1, p99: 3, max: 3 });
});

test('log lines: vigil removal/addition, HAProxy DOWN/UP, by port', () => {
  assert.deepEqual(vigilRsChange('Removing service 10.99.0.12:20017 from VS 10.99.0.100:8001/tcp'), { port: 20017, up: false });
  assert.deepEqual(vigilRsChange('Adding service 10.99.0.12:20017 to VS 10.99.0.100:8001/tcp'), { port: 20017, up: true });
  assert.equal(vigilRsChange('10.99.0.100:8001/tcp 10.99.0.12:20017 TCP_CHECK#0: DOWN (failed)'), undefined);
  assert.deepEqual(haproxyRsChange('[WARNING]  (1) : Server vs8001/rs20017 is DOWN, reason: Layer4 connection problem, info: "Connection refused"'), { port: 20017, up: false });
  assert.deepEqual(haproxyRsChange('Server vs8001/rs20017 is UP, reason: Layer7 check passed'), { port: 20017, up: true });
  assert.equal(haproxyRsChange('Health check for server vs8001/rs20017 failed'), undefined);
});

test('detection bound: delay_loop + retry × delay_before_retry, plus connect_timeout per attempt for a silent server', () => {
  assert.deepEqual(detectionBoundMs(plan), { refused: 2000, silent: 4000 });
  assert.deepEqual(detectionBoundMs({ ...plan, delayLoopS: 6, retry: 3, delayBeforeRetryS: 2, connectTimeoutS: 5 }), { refused: 12_000, silent: 32_000 });
});
