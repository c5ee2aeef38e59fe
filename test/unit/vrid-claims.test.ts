// adapters/service/vrid-claims.ts: one virtual router per host across daemons, with the owner
// judged as the pidfile judges it (a fake /proc view here; the CLI test runs two real daemons).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Holder } from '../../adapters/service/pidfile.js';
import { openVridClaims, type VridClaim } from '../../adapters/service/vrid-claims.js';

const vi = (instance: string, vrid: number, extra: Partial<VridClaim> = {}): VridClaim => ({ instance, iface: 'eth0', family: 4, vrid, unicast: false, ...extra });

function setup(t: { after(fn: () => void): void }) {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-vrids-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  /** pid → what /proc says of it */
  const procs = new Map<number, Holder>([[100, { kind: 'vigil', argv: ['node', 'vigil', 'run'] }], [200, { kind: 'vigil', argv: ['node', 'vigil', 'run'] }]]);
  const inspect = async (pid: number): Promise<Holder> => procs.get(pid) ?? { kind: 'dead' };
  return { dir, procs, claims: (pid: number) => openVridClaims({ dir, pid, inspect }) };
}

test('a VRID held by a running vigil refuses another, naming it; nothing is half taken', async (t) => {
  const { dir, claims } = setup(t);
  const a = claims(100);
  assert.deepEqual(await a.sync([vi('VI_1', 51), vi('VI_2', 52)]), []);
  const b = claims(200);
  const conflicts = await b.sync([vi('VI_9', 53), vi('VI_X', 51)]);
  assert.equal(conflicts.length, 1);
  assert.match(conflicts[0]!, /VI_X: VRID 51 on eth0 \(IPv4\) is run by another vigil \(pid 100, instance VI_1\)/);
  // all or nothing: VRID 53 was let go again
  assert.equal(readdirSync(dir).filter((f) => f.endsWith('-v4-53')).length, 0);
  // another family, interface or VRID is another virtual router
  assert.deepEqual(await b.sync([vi('VI_6', 51, { family: 6 }), vi('VI_E', 51, { iface: 'eth1' }), vi('VI_3', 53)]), []);
});

test('a claim whose owner is gone (or whose pid now runs something else) is taken over', async (t) => {
  const { claims, procs } = setup(t);
  assert.deepEqual(await claims(100).sync([vi('VI_1', 51)]), []);
  procs.set(100, { kind: 'other', argv: ['sleep', '1000'] });
  assert.deepEqual(await claims(200).sync([vi('VI_1', 51)]), []);
  procs.delete(200);
  assert.deepEqual(await claims(300).sync([vi('VI_1', 51)]), []);
});

test('two unicast instances may share a VRID (their own peers); multicast and unicast may not', async (t) => {
  const { claims } = setup(t);
  assert.deepEqual(await claims(100).sync([vi('U1', 51, { unicast: true })]), []);
  assert.deepEqual(await claims(200).sync([vi('U2', 51, { unicast: true })]), []);
  assert.equal((await claims(200).sync([vi('M', 51)])).length, 1);
});

test('sync lets go of what a reload removed; release removes only our own claims', async (t) => {
  const { dir, claims, procs } = setup(t);
  const a = claims(100);
  await a.sync([vi('VI_1', 51), vi('VI_2', 52)]);
  await a.sync([vi('VI_2', 52)]);
  const b = claims(200);
  assert.deepEqual(await b.sync([vi('VI_1', 51)]), [], 'VRID 51 is free after the reload');
  // a's claim on 52 is taken over after a is seen dead; a's release must not remove b's file
  procs.delete(100);
  assert.deepEqual(await b.sync([vi('VI_1', 51), vi('VI_2', 52)]), []);
  a.release();
  const owners = readdirSync(dir).map((f) => (JSON.parse(readFileSync(join(dir, f), 'utf8')) as { pid: number }).pid);
  assert.deepEqual(owners, [200, 200]);
  b.release();
  assert.deepEqual(readdirSync(dir), []);
});

test('a torn claim file is stale; names carry the network namespace', async (t) => {
  const { dir, claims } = setup(t);
  const a = claims(100);
  await a.sync([vi('VI_1', 51)]);
  const [file] = readdirSync(dir);
  assert.match(file!, /^(\d+|host)-eth0-v4-51$/);
  a.release();
  writeFileSync(join(dir, file!), '{"pi');
  assert.deepEqual(await claims(200).sync([vi('VI_1', 51)]), []);
});
