// An HTTP client for test/netns/lb-nftables.test.ts, run in the client host's namespace. JSON lines
// on stdin, one JSON reply line per request on stdout:
//   {id, op: 'fresh', url, n}         n requests, each on a new connection → {counts: {name: n}, failed}
//   {id, op: 'keep', url, want, tries} keep-alive connections until one is answered by `want`; keeps it → {ok}
//   {id, op: 'again'}                 one more request on the kept connection → {name, reused}
// The servers answer "NAME CLIENT-ADDRESS"; counts are by the whole answer.
import http from 'node:http';
import { createInterface } from 'node:readline';

const CONCURRENCY = 16;
let kept: { agent: http.Agent; url: string } | undefined;

function get(url: string, agent: http.Agent | false): Promise<{ body: string; reused: boolean }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent, timeout: 3000 }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ body, reused: req.reusedSocket }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

async function fresh(url: string, n: number) {
  const counts: Record<string, number> = {};
  let failed = 0;
  let next = 0;
  const worker = async () => {
    while (next < n) {
      next++;
      try {
        const { body } = await get(url, false);
        counts[body] = (counts[body] ?? 0) + 1;
      } catch {
        failed++;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, n) }, worker));
  return { counts, failed };
}

async function keep(url: string, want: string, tries: number) {
  for (let i = 0; i < tries; i++) {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const { body } = await get(url, agent);
    if (body.split(' ')[0] === want) {
      kept = { agent, url };
      return { ok: true };
    }
    agent.destroy();
  }
  return { ok: false };
}

createInterface({ input: process.stdin }).on('line', (line) => {
  const m = JSON.parse(line) as { id: number; op: string; url: string; n: number; want: string; tries: number };
  const reply = (v: unknown) => process.stdout.write(`${JSON.stringify({ id: m.id, v })}\n`);
  const fail = (e: unknown) => process.stdout.write(`${JSON.stringify({ id: m.id, e: String(e) })}\n`);
  if (m.op === 'fresh') fresh(m.url, m.n).then(reply, fail);
  else if (m.op === 'keep') keep(m.url, m.want, m.tries).then(reply, fail);
  else if (m.op === 'again' && kept) {
    get(kept.url, kept.agent).then(({ body, reused }) => reply({ name: body.split(' ')[0], reused }), fail);
  } else fail(`bad request ${line}`);
});
process.stdout.write('{"ready":true}\n');
