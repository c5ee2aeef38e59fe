// `vigil chart` through the built CLI: listing, formats, files, --all, exit codes.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, test } from 'node:test';
import { MACHINES } from '../../adapters/chart/registry.js';

const root = path.resolve(import.meta.dirname, '../..');
const bin = path.join(root, 'bin/vigil.js');
const vigil = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { cwd: root, encoding: 'utf8' });
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-chart-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('vigil chart', () => {
  test('with no machine: lists the machines', () => {
    const r = vigil('chart');
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(r.stdout.trimEnd().split('\n').map((l) => l.split(/\s+/)[0]), MACHINES.map((m) => m.name));
  });

  test('Mermaid by default, on stdout', () => {
    const r = vigil('chart', 'vrrp');
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^stateDiagram-v2\n/);
    assert.match(r.stdout, /backup_timer_waiting --> master : master.down$/m);
  });

  test('--format json: the model, with XState state paths', () => {
    const r = vigil('chart', 'nats-link', '--format', 'json');
    assert.equal(r.status, 0, r.stderr);
    const j = JSON.parse(r.stdout) as { machine: string; states: { id: string }[] };
    assert.equal(j.machine, 'nats-link');
    assert.ok(j.states.some((s) => s.id === 'connected.draining.waiting'));
  });

  test('-o FILE writes the SVG there and nothing on stdout', () => {
    const file = path.join(tmp, 'sync-group.svg');
    const r = vigil('chart', 'sync-group', '--format', 'svg', '-o', file);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, '');
    assert.match(fs.readFileSync(file, 'utf8'), /^<\?xml[\s\S]*id="state:master"[\s\S]*<\/svg>/);
  });

  test('--all -o DIR: every machine in every format, the same text as one at a time', () => {
    const dir = path.join(tmp, 'all');
    const r = vigil('chart', '--all', '-o', dir);
    assert.equal(r.status, 0, r.stderr);
    const names = MACHINES.flatMap((m) => ['dot', 'json', 'mmd', 'svg'].map((ext) => `${m.name}.${ext}`));
    assert.deepEqual(fs.readdirSync(dir).sort(), ['README.md', ...names].sort());
    assert.equal(fs.readFileSync(path.join(dir, 'track-script.dot'), 'utf8'), vigil('chart', 'track-script', '--format', 'dot').stdout);
  });

  test('unknown machine or format, or --all without -o: exit 2 naming what is known', () => {
    const m = vigil('chart', 'keepalived');
    assert.equal(m.status, 2);
    assert.match(m.stderr, new RegExp(`unknown machine 'keepalived'; known: ${MACHINES.map((x) => x.name).join(', ')}`));
    const f = vigil('chart', 'vrrp', '--format', 'png');
    assert.equal(f.status, 2);
    assert.match(f.stderr, /unknown format 'png'; known: mermaid, dot, svg, json/);
    assert.equal(vigil('chart', '--all').status, 2);
    assert.equal(vigil('chart', '--format', 'dot').status, 2);
  });

  test('an output that cannot be written: exit 3', () => {
    const r = vigil('chart', 'vrrp', '-o', path.join(tmp, 'missing', 'dir', 'vrrp.mmd'));
    assert.equal(r.status, 3);
    assert.match(r.stderr, /cannot write .*vrrp\.mmd/);
  });

  test('--help', () => {
    const r = vigil('chart', '--help');
    assert.equal(r.status, 0);
    assert.match(r.stdout, /^Usage: vigil chart \[MACHINE\]/);
  });
});
