// Golden tests: every shipped example is accepted; every broken example gives exactly the
// diagnostics in its `.expected` file (regenerate with UPDATE_GOLDEN=1 after reviewing a change).
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import { formatDiagnostic } from '../../adapters/config/format.js';
import { loadConfig } from '../../adapters/config/index.js';
import { fakeHost } from '../fakes/host.js';

const root = path.resolve(import.meta.dirname, '../..');
const examples = path.join(root, 'infra/examples');
const rel = (f: string) => path.relative(root, f);
const list = (dir: string) => fs.readdirSync(dir).filter((f) => f.endsWith('.conf')).sort().map((f) => path.join(dir, f));

describe('infra/examples: accepted', () => {
  // the router these configs are written for: eth0 exists, every script is installed root-owned 0755
  const host = fakeHost({ interfaces: ['lo', 'eth0'], allScriptsExist: true });
  for (const file of list(examples)) {
    for (const configId of ['node1', 'node2']) {
      test(`${rel(file)} (config id ${configId})`, () => {
        const r = loadConfig(file, { host, configId, env: {}, random: () => 0 });
        const errors = r.diagnostics.filter((d) => d.severity !== 'warning');
        assert.deepEqual(errors.map((d) => formatDiagnostic(d, { name: rel })), []);
        assert.equal(r.exitCode, 0);
        assert.ok(r.config.instances.length + r.config.virtualServers.length > 0, 'the example configures something');
      });
    }
  }
});

describe('infra/examples/broken: exact diagnostics', () => {
  for (const file of list(path.join(examples, 'broken'))) {
    test(rel(file), () => {
      const r = loadConfig(file, { configId: 'node1', env: {}, random: () => 0 });
      const got = (r.diagnostics.map((d) => formatDiagnostic(d, { name: rel })).join('\n') + `\nexit ${r.exitCode}\n`).replaceAll(root, '<root>');
      const expectedFile = file.replace(/\.conf$/, '.expected');
      if (process.env.UPDATE_GOLDEN) fs.writeFileSync(expectedFile, got);
      assert.equal(got, fs.readFileSync(expectedFile, 'utf8'));
      // the first line of each broken file says what must be caught
      const first = fs.readFileSync(file, 'utf8').split('\n')[0] ?? '';
      assert.match(first, /^# expect: /);
      assert.ok(r.diagnostics.length > 0, 'a broken example must be reported');
    });
  }
});
