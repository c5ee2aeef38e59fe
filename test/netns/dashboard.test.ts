// The web dashboard in a browser, against a running lab: two vigil nodes (hosts 1 and 2) exporting
// to a nats-server on host 3, and headless Chromium (Debian's, driven by playwright-core) also on
// host 3: an operator's workstation on the LAN. Each node's HTTP listener is bound to its lab
// address, so it needs the token: the browser opens http://10.99.0.12:PORT/#token=…, which the
// page trades for its session cookie. (The listener lives in the node's namespace: a browser in
// the root namespace could not reach it, and one on the node's loopback would not test the token.)
//
// Asserted without reloading the page: the state shown for the instance and on its chart; the
// master stopped (SIGTERM), the page follows (MASTER, the chart's lit state, the cluster view);
// the slider moved back before the failover shows BACKUP again; a tracker named with HTML is shown
// as text. Screenshots of each step go to the test's directory, which is kept when a step fails.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import type { Browser, Page } from 'playwright-core';
import { Lab, netnsSkipReason } from './lab.js';
import { cleanup, eventually, startVigil, tempDir, vigilBuilt, type Daemon } from './daemons.js';
import { natsServerPath } from '../../adapters/nats/server.js';

const CHROMIUM = '/usr/bin/chromium';
const NATS_BIN = natsServerPath();
const skip =
  netnsSkipReason() ?? vigilBuilt() ?? (NATS_BIN ? undefined : 'nats-server is not installed') ?? (existsSync(CHROMIUM) ? undefined : `${CHROMIUM} is not installed (infra/setup.sh installs it as root)`);
if (skip) console.log(`# skipping dashboard: ${skip}`);

const PORT = 9650;
const TOKEN = 'lab-dashboard-token-5f0c2a9e';
/** a tracker's name is text from the config: the page must show it, never run it */
const HOSTILE = '<b>chk</b><img/src=x/onerror=window.__xss=1>';

const CONF = (node: string, prio: number) => `global_defs {
  router_id ${node}
}
vrrp_script ${HOSTILE} {
  script "/bin/true"
  interval 1
  weight 10
}
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 62
  priority ${prio}
  advert_int 0.1
  version 3
  track_script {
    ${HOSTILE}
  }
  virtual_ipaddress {
    10.99.0.100/24
  }
}
`;

describe('the dashboard in Chromium', { skip }, () => {
  let lab: Lab;
  let dir: string;
  let nats: ChildProcess;
  let browser: Browser;
  let page: Page;
  let failed = false;
  const nodes: Daemon[] = [];
  let shot = 0;
  /** a screenshot into the test's directory, numbered in order */
  const screenshot = async (what: string) => {
    const file = join(dir, `dashboard-${String(++shot).padStart(2, '0')}-${what}.png`);
    await page?.screenshot({ path: file, fullPage: true }).catch(() => undefined);
    return file;
  };
  /** a step that leaves a screenshot behind, and says where when it fails */
  const step = async (what: string, f: () => Promise<void>) => {
    try {
      await f();
      await screenshot(what);
    } catch (err) {
      failed = true;
      const file = await screenshot(`${what}-FAILED`);
      throw Object.assign(err as Error, { message: `${(err as Error).message}\n(screenshot: ${file})` });
    }
  };
  const cell = (node: string) => page.locator(`#instances tr[data-key="${node}/vrrp/VI_1"] .state`);
  const litStates = () => page.evaluate(() => [...document.querySelectorAll('#chart .vg-active')].map((e) => e.id));

  before(async () => {
    lab = await Lab.create({ hosts: 3, tag: 'dash' });
    dir = tempDir('dash');
    const conf = join(dir, 'nats.conf');
    writeFileSync(conf, `listen: "10.99.0.13:4222"\njetstream { store_dir: ${JSON.stringify(join(dir, 'js'))} }\n`);
    nats = lab.spawn(3, NATS_BIN!, ['-c', conf]);
    await eventually(() => lab.exec(1, 'bash', ['-c', 'exec 3<>/dev/tcp/10.99.0.13/4222']).then(() => true, () => false), 10_000, 'nats-server in host 3');
    const token = join(dir, 'http-token');
    writeFileSync(token, `${TOKEN}\n`, { mode: 0o600 });
    for (const [i, prio] of [[1, 150], [2, 100]] as const) {
      nodes.push(startVigil(lab, i, CONF(`node${i}`, prio), dir, ['--http', `${lab.addr(i)}:${PORT}`, '--http-token-file', token, '--nats', 'nats://10.99.0.13:4222', '--cluster', 'lab']));
    }
    // the browser runs in host 3's namespace: playwright talks to it over pipes, which cross namespaces
    const wrapper = join(dir, 'chromium-h3.sh');
    writeFileSync(wrapper, `#!/bin/sh\nexec ip netns exec ${lab.ns(3)} ${CHROMIUM} "$@"\n`);
    chmodSync(wrapper, 0o755);
    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({ executablePath: wrapper, args: ['--no-sandbox'] });
    page = await browser.newPage({ viewport: { width: 1400, height: 1100 } });
  });

  after(async () => {
    await browser?.close().catch(() => undefined);
    await Promise.all(nodes.map((d) => d.stop('SIGKILL')));
    nats?.kill('SIGKILL');
    await lab?.destroy();
    if (failed) console.log(`# dashboard: screenshots and logs kept in ${dir}`);
    else if (dir) cleanup(dir);
  });

  test('live state, a failover followed without reload, replay, escaping', async () => {
    const [n1, n2] = nodes as [Daemon, Daemon];
    await n1.waitFor(/Entering MASTER STATE/, 8000);
    await n2.waitFor(/Entering BACKUP STATE/, 8000);
    await n2.waitFor(/HTTP listener on/, 5000);

    await step('token-required', async () => {
      // from the workstation, without the token: the data is refused, the page itself is not
      const probe = `for (const p of ['/api/state', '/']) { const r = await fetch('http://${lab.addr(2)}:${PORT}' + p); console.log(p, r.status); }`;
      const out = await lab.exec(3, process.execPath, ['--input-type=module', '-e', probe]);
      assert.match(out, /^\/ 200$/m, `GET / on node2: ${out} (are the dashboard's routes wired into vigil run's HTTP listener?)`);
      assert.match(out, /^\/api\/state 401$/m);
    });

    await step('backup', async () => {
      await page.goto(`http://${lab.addr(2)}:${PORT}/#token=${TOKEN}`);
      await cell('node2').filter({ hasText: 'BACKUP' }).waitFor({ timeout: 10_000 });
      assert.equal(new URL(page.url()).hash, '', 'the token left the address bar');
      // the chart shown is this node's instance, in backup
      assert.equal(await page.locator('#actor').inputValue(), 'node2/vrrp/VI_1');
      await page.waitForFunction(() => document.getElementById('state:backup')?.classList.contains('vg-active'), undefined, { timeout: 5000 });
      assert.ok(!(await litStates()).includes('state:master'));
      // the cluster, from NATS: node1 MASTER next to node2 BACKUP
      await page.locator('#cluster td[data-node="node1"]').filter({ hasText: 'MASTER' }).waitFor({ timeout: 10_000 });
      assert.match(await page.locator('#cluster td[data-node="node2"]').innerText(), /BACKUP/);
    });

    const beforeFailover = Date.now();
    await new Promise((r) => setTimeout(r, 200));

    await step('failover', async () => {
      const stopped = Date.now();
      assert.equal(await n1.stop('SIGTERM'), 0);
      await n2.waitFor(/Entering MASTER STATE/, 3000);
      const masterAt = Date.now();
      // the same page, no reload: the table, the chart and the cluster follow
      await cell('node2').filter({ hasText: 'MASTER' }).waitFor({ timeout: 5000 });
      const shownAt = Date.now();
      await page.waitForFunction(() => document.getElementById('state:master')?.classList.contains('vg-active') && !document.getElementById('state:backup')?.classList.contains('vg-active'), undefined, { timeout: 5000 });
      // the arrow it took is marked: node1's priority-0 advert, then Skew_Time
      assert.ok((await page.locator('#chart g.edge.vg-arrow').count()) >= 1, 'an arrow is marked');
      assert.match(await page.locator('#recent li.main').first().innerText(), /→ master: after skew/);
      await page.locator('#cluster td[data-node="node1"]').filter({ hasText: 'STOP' }).waitFor({ timeout: 5000 });
      assert.match(await page.locator('#cluster th').filter({ hasText: 'node1' }).innerText(), /stopping/);
      await page.locator('#cluster td[data-node="node2"]').filter({ hasText: 'MASTER' }).waitFor({ timeout: 5000 });
      console.log(`# failover: node2 MASTER ${masterAt - stopped} ms after the SIGTERM, on the page within ${shownAt - masterAt} ms of the log line`);
    });

    await step('replay', async () => {
      // the slider's values are times: back to before the failover
      await page.locator('#slider').evaluate((el, at) => {
        (el as HTMLInputElement).value = String(at);
        el.dispatchEvent(new Event('input', { bubbles: true }));
      }, beforeFailover);
      await page.locator('#mode').filter({ hasText: 'REPLAY' }).waitFor({ timeout: 5000 });
      await cell('node2').filter({ hasText: 'BACKUP' }).waitFor({ timeout: 5000 });
      await page.waitForFunction(() => document.getElementById('state:backup')?.classList.contains('vg-active'), undefined, { timeout: 5000 });
      assert.match(await page.locator('#cluster td[data-node="node1"]').innerText(), /MASTER/);
      await screenshot('replay-before-failover');
      // and back
      await page.locator('#live').click();
      await cell('node2').filter({ hasText: 'MASTER' }).waitFor({ timeout: 5000 });
    });

    await step('escaping', async () => {
      // the tracker's name, in the timeline and the health list, as the characters it is
      await page.locator('#timeline li').filter({ hasText: HOSTILE }).first().waitFor({ timeout: 5000 });
      assert.match(await page.locator('#health').innerText(), new RegExp(HOSTILE.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')));
      assert.equal(await page.evaluate(() => (window as { __xss?: unknown }).__xss), undefined);
      assert.equal(await page.locator('#timeline img, #health img, #timeline b').count(), 0);
    });
    assert.doesNotMatch(readFileSync(join(dir, 'vigil-h2.conf'), 'utf8'), /^$/); // the config was the hostile one
  });
});
