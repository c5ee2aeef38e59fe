// bench/nats-jitter.ts: does NATS being slow or wedged change VRRP timing? (issue #5)
// One vigil MASTER (v3, 20 ms adverts) exports its events to a nats-server in the lab while a
// track_file it watches is flipped every 100 ms (20 events/s through the journal and the export).
// Its adverts are captured on the bridge for 5 s with NATS up, then 5 s with nats-server frozen
// (SIGSTOP), and the advert intervals compared. Root only.
//   node --import tsx bench/nats-jitter.ts      (after npm run build)
import { writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Lab, netnsSkipReason } from '../test/netns/lab.js';
import { eventually, startVigil, tempDir, cleanup } from '../test/netns/daemons.js';
import { natsServerPath } from '../adapters/nats/server.js';

const skip = netnsSkipReason() ?? (natsServerPath() ? undefined : 'nats-server is not installed');
if (skip) {
  console.log(`nats-jitter: skipped: ${skip}`);
  process.exit(0);
}
const PHASE_MS = 5000;
const lab = await Lab.create({ hosts: 2, tag: 'njt' });
const dir = tempDir('njt');
try {
  const natsConf = join(dir, 'nats.conf');
  writeFileSync(natsConf, `listen: "10.99.0.12:4222"\npid_file: ${JSON.stringify(join(dir, 'nats.pid'))}\njetstream { store_dir: ${JSON.stringify(join(dir, 'js'))} }\n`);
  lab.spawn(2, natsServerPath()!, ['-c', natsConf]);
  await eventually(() => lab.exec(1, 'bash', ['-c', 'exec 3<>/dev/tcp/10.99.0.12/4222']).then(() => true, () => false), 10_000, 'nats-server');
  const natsPid = Number(readFileSync(join(dir, 'nats.pid'), 'utf8'));
  const flag = join(dir, 'flag');
  writeFileSync(flag, '0\n');
  const conf = `global_defs {\n  router_id j1\n}\ntrack_file flag {\n  file ${flag}\n  weight 1\n}\nvrrp_instance VI_1 {\n  interface eth0\n  virtual_router_id 51\n  priority 150\n  advert_int 0.02\n  version 3\n  track_file {\n    flag\n  }\n  virtual_ipaddress {\n    10.99.0.100/24\n  }\n}\n`;
  const v = startVigil(lab, 1, conf, dir, ['--nats', 'nats://10.99.0.12:4222', '--cluster', 'bench']);
  await v.waitFor(/Entering MASTER STATE/, 10_000);
  const times: number[] = [];
  const cap = lab.spawn('sw', 'tcpdump', ['-i', 'br0', '-n', '-tt', '-l', '--immediate-mode', 'ip proto 112 and src 10.99.0.11']);
  cap.stdout!.on('data', (d: Buffer) => {
    for (const l of String(d).split('\n')) {
      const m = /^(\d+\.\d+) /.exec(l);
      if (m) times.push(Number(m[1]) * 1000);
    }
  });
  let n = 0;
  const flipper = setInterval(() => writeFileSync(flag, `${++n % 2}\n`), 100);
  await new Promise((r) => setTimeout(r, 500));
  const phase = async (label: string) => {
    const from = times.length;
    await new Promise((r) => setTimeout(r, PHASE_MS));
    const t = times.slice(from);
    const iv = t.slice(1).map((x, i) => x - t[i]!).sort((a, b) => a - b);
    const q = (p: number) => iv[Math.min(iv.length - 1, Math.floor(p * iv.length))]!;
    return { label, adverts: t.length, p50: q(0.5), p99: q(0.99), max: iv.at(-1)!, min: iv[0]! };
  };
  const up = await phase('NATS up');
  process.kill(natsPid, 'SIGSTOP');
  const frozen = await phase('NATS frozen (SIGSTOP)');
  process.kill(natsPid, 'SIGCONT');
  clearInterval(flipper);
  await v.stop('SIGTERM');
  console.log('| phase | adverts | interval min | p50 | p99 | max |\n| --- | ---: | ---: | ---: | ---: | ---: |');
  for (const r of [up, frozen]) console.log(`| ${r.label} | ${r.adverts} | ${r.min.toFixed(2)} ms | ${r.p50.toFixed(2)} ms | ${r.p99.toFixed(2)} ms | ${r.max.toFixed(2)} ms |`);
  console.log(`track_file flips during the run: ${n} (each one an event journaled and exported)`);
} finally {
  await lab.destroy();
  cleanup(dir);
}
