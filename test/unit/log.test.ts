// The root logger's formats and per-module levels (actors/log.ts), written to a real file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createLogger, parseLevels, prettyLine, syslogLine, type LoggerOptions } from '../../actors/log.js';

function capture(opts: LoggerOptions, f: (log: ReturnType<typeof createLogger>) => void): string[] {
  const dir = mkdtempSync(path.join(tmpdir(), 'vigil-log-'));
  const file = path.join(dir, 'out');
  const fd = openSync(file, 'w');
  try {
    f(createLogger({ ...opts, fd }));
  } finally {
    closeSync(fd);
  }
  const out = readFileSync(file, 'utf8').split('\n').filter(Boolean);
  rmSync(dir, { recursive: true });
  return out;
}

test('level specs: a base level and per-module levels; mistakes named', () => {
  assert.deepEqual(parseLevels('debug'), { base: 'debug', modules: new Map() });
  assert.deepEqual(parseLevels('warn,lb=debug, vrrp=error'), { base: 'warn', modules: new Map([['lb', 'debug'], ['vrrp', 'error']]) });
  assert.match(parseLevels('loud') as string, /unknown log level 'loud'/);
  assert.match(parseLevels('info,lb=chatty') as string, /unknown log level 'chatty'/);
  assert.match(parseLevels('info,L B=debug') as string, /bad module name/);
});

test('per-module levels: each record is let through by its own module level', () => {
  const spec = parseLevels('warn,lb=debug,vrrp=info');
  assert.ok(typeof spec !== 'string');
  const lines = capture({ level: spec, format: 'json' }, (log) => {
    log.info('daemon info, dropped');
    log.warn('daemon warn, kept');
    log.child({ actor: 'lb' }).debug('lb debug, kept');
    log.child({ actor: 'lb' }).trace('lb trace, dropped');
    log.child({ instance: 'VI_1' }).info('(VI_1) Entering MASTER STATE');
    log.child({ instance: 'VI_1' }).debug('vrrp debug, dropped');
    log.child({ actor: 'http' }).info('http info, dropped (base warn)');
  });
  assert.deepEqual(lines.map((l) => (JSON.parse(l) as { msg: string }).msg), ['daemon warn, kept', 'lb debug, kept', '(VI_1) Entering MASTER STATE']);
});

test('pretty: time, level and keepalived\'s message on one line, bindings after it', () => {
  const r = { level: 'warn', time: '2026-11-25T23:14:30.123Z', msg: '(VI_1) Entering MASTER STATE', instance: 'VI_1', from: 'BACKUP', pid: 7 };
  assert.equal(prettyLine(r, false), '23:14:30.123 WARN  (VI_1) Entering MASTER STATE  from=BACKUP\n');
  const lines = capture({ format: 'pretty' }, (log) => log.child({ actor: 'lb' }).info({ weight: 3 }, 'applied'));
  assert.match(lines[0]!, /^\d\d:\d\d:\d\d\.\d{3} INFO  applied {2}actor=lb weight=3$/);
});

test('syslog: RFC 3164 lines to the sender, facility daemon; stdout when the sender fails', () => {
  assert.equal(syslogLine({ level: 'error', msg: 'boom' }, 'vigil', 42, new Date('2026-11-05T01:02:03Z')), '<27>Nov  5 01:02:03 vigil[42]: boom');
  const sent: string[] = [];
  let up = true;
  const lines = capture({ format: 'syslog', syslogSend: (l) => (up ? (sent.push(l), true) : false) }, (log) => {
    log.info('one');
    up = false;
    log.warn('two');
  });
  assert.equal(sent.length, 1);
  assert.match(sent[0]!, /^<30>\w{3} [ \d]\d \d\d:\d\d:\d\d vigil\[\d+\]: one$/);
  assert.deepEqual(lines.map((l) => (JSON.parse(l) as { msg: string }).msg), ['two']);
});
