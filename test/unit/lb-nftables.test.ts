// The nftables LB model and driver without a kernel: the model of a table equals what a real
// `nft -j -t list` of it parses to (fixture listed by nft 1.0.6 after applying that table), the
// rules it renders, what it refuses, the transactions it writes, and the driver's retries and
// forwarding handling over a fake command runner.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { LbError } from '../../adapters/lb/errors.js';
import {
  buildModel,
  modelToTable,
  parseListing,
  renderRule,
  sameModel,
  transaction,
  unsupportedByNftables,
  type NftModel,
} from '../../adapters/lb/nftModel.js';
import { createNftablesLb, type CommandRunner } from '../../adapters/lb/nftables.js';
import { normalizeTable } from '../../adapters/lb/table.js';
import type { LbService, LbTable } from '../../adapters/lb/types.js';

const listing = JSON.parse(readFileSync(new URL('../fixtures/nft-lb-listing.json', import.meta.url), 'utf8')) as unknown;

const nat = (address: string, port: number, weight: number) => ({ address, port, weight, kind: 'NAT' as const });
/** the table the fixture was listed after */
const fixtureTable: LbTable = {
  services: [
    {
      match: { kind: 'address', address: '10.0.0.100', port: 80, protocol: 'TCP' },
      family: 4,
      algo: 'wrr',
      persistence: { timeoutS: 300, prefix: 24 },
      destinations: [nat('10.0.0.1', 80, 1), nat('10.0.0.2', 8080, 3), nat('10.0.0.3', 80, 0)],
    },
    {
      match: { kind: 'fwmark', fwmark: 7 },
      family: 6,
      algo: 'sh',
      flags: ['flag-2'],
      destinations: [nat('fd00::1', 0, 2), nat('fd00::2', 443, 1)],
    },
    {
      match: { kind: 'address', address: 'fd00::100', port: 53, protocol: 'UDP' },
      family: 6,
      algo: 'fo',
      sorry: { address: 'fd00::9', port: 53, kind: 'NAT' },
      destinations: [],
    },
    {
      match: { kind: 'address', address: '10.0.0.200', port: 443, protocol: 'SCTP' },
      family: 4,
      algo: 'rr',
      destinations: [nat('10.0.0.1', 443, 7), nat('10.0.0.2', 443, 2)],
    },
    { match: { kind: 'fwmark', fwmark: 9 }, family: 4, algo: 'dh', persistence: { timeoutS: 60 }, destinations: [nat('10.0.0.5', 0, 1)] },
  ],
};
const model = () => buildModel(normalizeTable(fixtureTable), { masquerade: true });
const rulesOf = (m: NftModel, chain: string) => (m.chains.get(chain)?.rules ?? []).map(renderRule);

describe('nftables model', () => {
  it('a real listing of the table parses to the model built from it, and reads back as the table', () => {
    const parsed = parseListing(listing, 'vigil_lb');
    assert.ok(sameModel(parsed, model()));
    assert.deepEqual(modelToTable(parsed), normalizeTable(fixtureTable));
    assert.equal(parseListing(listing, 'other').chains.size, 0, 'only the named table');
  });

  it('renders weights as ranges, schedulers as numgen/jhash, and persistence per destination', () => {
    const m = model();
    assert.deepEqual(rulesOf(m, 'svc_tcp_10.0.0.100_80'), [
      'counter comment "vigil algo=wrr"',
      'ip saddr & 255.255.255.0 @svc_tcp_10.0.0.100_80/10.0.0.1_80/p300 goto svc_tcp_10.0.0.100_80/10.0.0.1_80',
      'ip saddr & 255.255.255.0 @svc_tcp_10.0.0.100_80/10.0.0.2_8080/p300 goto svc_tcp_10.0.0.100_80/10.0.0.2_8080',
      'ip saddr & 255.255.255.0 @svc_tcp_10.0.0.100_80/10.0.0.3_80/p300 goto svc_tcp_10.0.0.100_80/10.0.0.3_80',
      'numgen inc mod 4 vmap { 0 : goto svc_tcp_10.0.0.100_80/10.0.0.1_80, 1-3 : goto svc_tcp_10.0.0.100_80/10.0.0.2_8080 }',
    ]);
    assert.deepEqual(rulesOf(m, 'svc_tcp_10.0.0.100_80/10.0.0.3_80'), [
      'update @svc_tcp_10.0.0.100_80/10.0.0.3_80/p300 { ip saddr & 255.255.255.0 }',
      'meta l4proto tcp counter dnat ip to 10.0.0.3:80 comment "weight 0"',
    ]);
    // rr ignores weights (one slot each); sh hashes the client address and, with flag-2, its port
    assert.equal(rulesOf(m, 'svc_sctp_10.0.0.200_443')[1], 'numgen inc mod 2 vmap { 0 : goto svc_sctp_10.0.0.200_443/10.0.0.1_443, 1 : goto svc_sctp_10.0.0.200_443/10.0.0.2_443 }');
    assert.equal(rulesOf(m, 'svc_fwm_7_v6')[1], 'jhash ip6 saddr . th sport mod 3 seed 0 vmap { 0-1 : goto svc_fwm_7_v6/fd00--1_0, 2 : goto svc_fwm_7_v6/fd00--2_443 }');
    assert.deepEqual(rulesOf(m, 'svc_fwm_7_v6/fd00--2_443'), ['meta l4proto { sctp, tcp, udp } counter dnat ip6 to [fd00::2]:443 comment "weight 1"']);
    assert.deepEqual(rulesOf(m, 'svc_fwm_7_v6/fd00--1_0'), ['counter dnat ip6 to fd00::1 comment "weight 2"'], 'port 0 keeps the port');
    assert.deepEqual(rulesOf(m, 'svc_udp_fd00--100_53'), ['counter comment "vigil algo=fo"', 'goto svc_udp_fd00--100_53/sorry']);
    assert.deepEqual(rulesOf(m, 'services'), [
      'meta nfproto ipv4 meta mark vmap { 9 : jump svc_fwm_9_v4 }',
      'meta nfproto ipv6 meta mark vmap { 7 : jump svc_fwm_7_v6 }',
      'ip daddr . meta l4proto . th dport vmap { 10.0.0.100 . tcp . 80 : jump svc_tcp_10.0.0.100_80, 10.0.0.200 . sctp . 443 : jump svc_sctp_10.0.0.200_443 }',
      'ip6 daddr . meta l4proto . th dport vmap { fd00::100 . udp . 53 : jump svc_udp_fd00--100_53 }',
    ]);
    assert.deepEqual(rulesOf(m, 'postrouting'), [
      'ct status dnat ip daddr { 10.0.0.1, 10.0.0.2, 10.0.0.3, 10.0.0.5 } masquerade',
      'ct status dnat ip6 daddr { fd00::1, fd00::2, fd00::9 } masquerade',
    ]);
  });

  it('maps each scheduler as documented', () => {
    const selectOf = (algo: LbService['algo']) => {
      const t = normalizeTable({ services: [{ ...fixtureTable.services[3]!, algo }] });
      return rulesOf(buildModel(t, { masquerade: false }), 'svc_sctp_10.0.0.200_443')[1];
    };
    const A = 'svc_sctp_10.0.0.200_443/10.0.0.1_443';
    const B = 'svc_sctp_10.0.0.200_443/10.0.0.2_443';
    const weighted = `mod 9 vmap { 0-6 : goto ${A}, 7-8 : goto ${B} }`;
    for (const algo of ['lc', 'wlc', 'sed', 'nq', 'twos'] as const) assert.equal(selectOf(algo), `numgen random ${weighted}`, algo);
    assert.equal(selectOf('wrr'), `numgen inc ${weighted}`);
    for (const algo of ['sh', 'mh'] as const) assert.equal(selectOf(algo), `jhash ip saddr ${weighted.replace('mod 9', 'mod 9 seed 0')}`, algo);
    for (const algo of ['dh', 'lblc', 'lblcr'] as const) assert.equal(selectOf(algo), `jhash ip daddr ${weighted.replace('mod 9', 'mod 9 seed 0')}`, algo);
    for (const algo of ['fo', 'ovf'] as const) assert.equal(selectOf(algo), `goto ${A}`, algo);
  });

  it('refuses what NAT in nftables cannot do, naming the service and the reason', () => {
    const svc = fixtureTable.services[0]!;
    const cases: [Partial<LbService>, RegExp][] = [
      [{ destinations: [{ ...nat('10.0.0.1', 80, 1), kind: 'DR' }] }, /lb_kind DR.*NAT only/],
      [{ destinations: [{ ...nat('10.0.0.1', 80, 1), kind: 'TUN' }] }, /lb_kind TUN/],
      [{ destinations: [{ ...nat('fd00::1', 80, 1), kind: 'TUN' }] }, /lb_kind TUN/],
      [{ flags: ['ops'] }, /one-packet scheduling/],
      [{ destinations: [{ ...nat('10.0.0.1', 80, 1), upperThreshold: 10 }] }, /thresholds/],
      [{ match: { kind: 'address', address: '10.0.0.100', port: 0, protocol: 'TCP' } }, /port-0/],
    ];
    for (const [o, re] of cases) {
      const s = normalizeTable({ services: [{ ...svc, ...o }] }).services[0]!;
      assert.match(unsupportedByNftables(s) ?? '', re);
      assert.throws(() => buildModel({ services: [s] }, { masquerade: false }), (e: unknown) => e instanceof LbError && e.code === 'UNSUPPORTED' && e.detail.service === 'TCP 10.0.0.100:' + (o.match ? '0' : '80'));
    }
    assert.equal(unsupportedByNftables(normalizeTable({ services: [svc] }).services[0]!), undefined);
  });

  it('a service whose hooks are gone, or that vigil cannot read, is not reported', () => {
    const m = model();
    const chains = new Map(m.chains);
    chains.set('output', { ...chains.get('output')!, rules: [] });
    assert.deepEqual(modelToTable({ chains, sets: m.sets }), { services: [] });
    const edited = new Map(m.chains);
    edited.set('svc_tcp_10.0.0.100_80', { name: 'svc_tcp_10.0.0.100_80', rules: [{ op: 'unknown', json: '{}' }] });
    assert.deepEqual(modelToTable({ chains: edited, sets: m.sets }).services.map((s) => s.match.kind === 'address' && s.match.address), [false, false, '10.0.0.200', 'fd00::100']);
    assert.equal(sameModel({ chains: edited, sets: m.sets }, m), false);
  });

  it('a transaction touches only what changed and keeps the persistence sets', () => {
    const before = model();
    const t = normalizeTable({
      services: fixtureTable.services.map((s, i) => (i === 0 ? { ...s, destinations: [nat('10.0.0.1', 80, 2), nat('10.0.0.2', 8080, 3)] } : s)),
    });
    const script = transaction('vigil_lb', before, buildModel(t, { masquerade: true }));
    assert.equal(
      script,
      [
        'add table inet vigil_lb',
        'flush chain inet vigil_lb svc_tcp_10.0.0.100_80/10.0.0.1_80',
        'flush chain inet vigil_lb svc_tcp_10.0.0.100_80/10.0.0.3_80',
        'flush chain inet vigil_lb svc_tcp_10.0.0.100_80',
        'flush chain inet vigil_lb postrouting',
        'delete chain inet vigil_lb svc_tcp_10.0.0.100_80/10.0.0.3_80',
        'delete set inet vigil_lb svc_tcp_10.0.0.100_80/10.0.0.3_80/p300',
        'add rule inet vigil_lb svc_tcp_10.0.0.100_80/10.0.0.1_80 update @svc_tcp_10.0.0.100_80/10.0.0.1_80/p300 { ip saddr & 255.255.255.0 }',
        'add rule inet vigil_lb svc_tcp_10.0.0.100_80/10.0.0.1_80 meta l4proto tcp counter dnat ip to 10.0.0.1:80 comment "weight 2"',
        'add rule inet vigil_lb svc_tcp_10.0.0.100_80 counter comment "vigil algo=wrr"',
        'add rule inet vigil_lb svc_tcp_10.0.0.100_80 ip saddr & 255.255.255.0 @svc_tcp_10.0.0.100_80/10.0.0.1_80/p300 goto svc_tcp_10.0.0.100_80/10.0.0.1_80',
        'add rule inet vigil_lb svc_tcp_10.0.0.100_80 ip saddr & 255.255.255.0 @svc_tcp_10.0.0.100_80/10.0.0.2_8080/p300 goto svc_tcp_10.0.0.100_80/10.0.0.2_8080',
        'add rule inet vigil_lb svc_tcp_10.0.0.100_80 numgen inc mod 5 vmap { 0-1 : goto svc_tcp_10.0.0.100_80/10.0.0.1_80, 2-4 : goto svc_tcp_10.0.0.100_80/10.0.0.2_8080 }',
        'add rule inet vigil_lb postrouting ct status dnat ip daddr { 10.0.0.1, 10.0.0.2, 10.0.0.5 } masquerade',
        'add rule inet vigil_lb postrouting ct status dnat ip6 daddr { fd00::1, fd00::2, fd00::9 } masquerade',
        '',
      ].join('\n'),
    );
    assert.equal(transaction('vigil_lb', before, before), 'add table inet vigil_lb\n');
    const created = transaction('vigil_lb', undefined, before);
    assert.match(created, /^add chain inet vigil_lb prerouting \{ type nat hook prerouting priority -100; policy accept; \}$/m);
    assert.match(created, /^add set inet vigil_lb svc_fwm_9_v4\/10\.0\.0\.5_0\/p60 \{ type ipv4_addr; flags dynamic,timeout; timeout 60s; size 65536; \}$/m);
    assert.doesNotMatch(created, /flush|delete/);
  });
});

describe('nftables driver over a fake runner', () => {
  /** a fake `nft`: lists what the last successful transaction left (as the fixture), fails on demand */
  function fakeNft(opts: { failTransactions?: number; forwarding?: string } = {}) {
    const calls: string[] = [];
    const scripts: string[] = [];
    let hasTable = false;
    let failures = opts.failTransactions ?? 0;
    const sysctls = new Map<string, string>();
    const forwarding = (key: string) => sysctls.get(key) ?? opts.forwarding ?? '1';
    const run: CommandRunner = async (argv, input) => {
      calls.push(argv.join(' '));
      const [cmd, ...args] = argv.slice(2); // after the prefix
      if (cmd === 'sysctl') {
        if (args[0] === '-n') return `${forwarding(String(args[1]))}\n`;
        const [key, value] = String(args[1]).split('=') as [string, string];
        sysctls.set(key, value);
        return '';
      }
      if (args[0] === '-j') {
        if (!hasTable) throw new Error('Error: No such file or directory\nlist table inet vigil_lb\n');
        return JSON.stringify(listing);
      }
      if (failures > 0) {
        failures--;
        throw new Error('Error: Could not process rule: No such file or directory');
      }
      hasTable = !/delete table/.test(input ?? '');
      scripts.push(input ?? '');
      return '';
    };
    return { run, calls, scripts, forwarding: () => [forwarding('net.ipv4.ip_forward'), forwarding('net.ipv6.conf.all.forwarding')] };
  }

  it('retries a transaction that failed because the table moved, on a fresh listing', async () => {
    const nft = fakeNft({ failTransactions: 1 });
    const lb = createNftablesLb({ prefix: ['ip', 'netns'], run: nft.run, masquerade: true });
    const r = await lb.apply(fixtureTable);
    assert.equal(r.changes.filter((c) => c.kind === 'service.added').length, 5);
    assert.deepEqual(
      nft.calls.filter((c) => c.includes(' nft ')).map((c) => c.split(' ').slice(3, 5).join(' ')),
      ['-j -t', '-f -', '-j -t', '-f -'],
    );
    assert.deepEqual((await lb.apply(fixtureTable)).changes, [], 'the listing now equals the model');
  });

  it('gives up after three failed transactions with NFT_FAILED and nft’s message', async () => {
    const lb = createNftablesLb({ run: fakeNft({ failTransactions: 3 }).run, prefix: ['x', 'y'] });
    await assert.rejects(lb.apply(fixtureTable), (e: unknown) => e instanceof LbError && e.code === 'NFT_FAILED' && /Could not process rule/.test(e.message));
  });

  it('turns forwarding on for the families it serves and restores it on close', async () => {
    const nft = fakeNft({ forwarding: '0' });
    const lb = createNftablesLb({ run: nft.run, prefix: ['p', 'q'], masquerade: true });
    await lb.apply(fixtureTable);
    await lb.apply(fixtureTable);
    assert.deepEqual(nft.forwarding(), ['1', '1']);
    assert.deepEqual(nft.calls.filter((c) => c.includes('sysctl -qw')).sort(), [
      'p q sysctl -qw net.ipv4.ip_forward=1',
      'p q sysctl -qw net.ipv6.conf.all.forwarding=1',
    ]);
    await lb.close();
    assert.deepEqual(nft.forwarding(), ['0', '0']);
    const untouched = fakeNft({ forwarding: '0' });
    await createNftablesLb({ run: untouched.run, prefix: ['p', 'q'], manageForwarding: false, masquerade: true }).apply(fixtureTable);
    assert.equal(untouched.calls.filter((c) => c.includes('sysctl')).length, 0);
  });

  it('the same table again over an unchanged listing is not rebuilt; a changed listing is compared in full and repaired', async () => {
    const nft = fakeNft();
    const lb = createNftablesLb({ run: nft.run, prefix: ['p', 'q'], masquerade: true });
    let reads = 0;
    const table = { get services() { reads++; return fixtureTable.services; } };
    await lb.apply(table); // creates the table
    assert.deepEqual((await lb.apply(table)).changes, []); // compared in full: in sync
    const before = reads;
    const transactions = () => nft.calls.filter((c) => c.includes('-f')).length;
    const tx = transactions();
    assert.deepEqual((await lb.apply(table)).changes, []);
    assert.equal(reads, before, 'the table was not read: the listing is the text it matched last time');
    assert.equal(transactions(), tx);
    // someone changed the table behind our back: another listing text, compared and rewritten
    const items = (listing as { nftables: unknown[] }).nftables;
    const saved = items.pop();
    try {
      const r = await lb.apply(table);
      assert.ok(reads > before, 'a changed listing is compared with the table');
      assert.equal(transactions(), tx + 1);
      assert.ok(r.changes.length > 0);
    } finally {
      items.push(saved);
    }
    // a new table object is always compared
    const copy = { services: [...fixtureTable.services] };
    assert.deepEqual((await lb.apply(copy)).changes, []);
  });

  it('while the ruleset generation stands still, a re-apply lists nothing; a moved or unreadable generation lists', async () => {
    const nft = fakeNft();
    let gen = 7;
    let broken = false;
    const lb = createNftablesLb({ run: nft.run, prefix: ['p', 'q'], masquerade: true, generation: async () => { if (broken) throw new Error('EPERM'); return gen; } });
    const lists = () => nft.calls.filter((c) => c.includes(' list ')).length;
    await lb.apply(fixtureTable);
    assert.deepEqual((await lb.apply(fixtureTable)).changes, []); // listed and compared: in sync at generation 7
    const n = lists();
    for (let i = 0; i < 5; i++) assert.deepEqual((await lb.apply(fixtureTable)).changes, []);
    assert.equal(lists(), n, 'generation unchanged: no nft run at all');
    gen = 8; // a change somewhere in the namespace: the table is listed (same text: in sync again)
    assert.deepEqual((await lb.apply(fixtureTable)).changes, []);
    assert.equal(lists(), n + 1);
    assert.deepEqual((await lb.apply(fixtureTable)).changes, []);
    assert.equal(lists(), n + 1, 'generation 8 recorded');
    broken = true; // cannot read it: every re-apply lists, as without it
    await lb.apply(fixtureTable);
    await lb.apply(fixtureTable);
    assert.equal(lists(), n + 3);
    // drift behind our back at a new generation: found and repaired
    broken = false;
    gen = 9;
    const items = (listing as { nftables: unknown[] }).nftables;
    const saved = items.pop();
    try {
      const r = await lb.apply(fixtureTable);
      assert.ok(r.changes.length > 0, 'repaired');
    } finally {
      items.push(saved);
    }
  });

  it('after a commit that alone moved the generation, a changed table is applied from the model committed: no listing, only its own chains rewritten', async () => {
    const nft = fakeNft();
    let gen = 7;
    let step = 1; // how far an `nft -f` moves the generation (2: someone else committed meanwhile)
    const run: CommandRunner = async (argv, input) => {
      const out = await nft.run(argv, input);
      if (argv.includes('-f')) gen += step;
      return out;
    };
    const lb = createNftablesLb({ run, prefix: ['p', 'q'], masquerade: true, generation: async () => gen });
    const lists = () => nft.calls.filter((c) => c.includes(' list ')).length;
    const sent = () => nft.calls.length;
    await lb.apply(fixtureTable); // no table yet: listed, then created
    assert.equal(lists(), 1);
    assert.equal(gen, 8);
    // the SCTP service's weights change; the other services are the same objects (as the LB actor keeps them)
    const sctp = fixtureTable.services[3]!;
    const changed = { services: fixtureTable.services.map((s) => (s === sctp ? { ...s, destinations: [nat('10.0.0.1', 443, 7), nat('10.0.0.2', 443, 5)] } : s)) };
    const before = sent();
    const r = await lb.apply(changed);
    assert.equal(lists(), 1, 'nothing listed: generation 8 is our own commit');
    assert.deepEqual(r.changes, [
      { kind: 'destination.changed', service: 'SCTP 10.0.0.200:443', destination: '10.0.0.2:443', weight: 5, previousWeight: 2, fields: ['weight'] },
    ]);
    const script = nft.scripts.at(-1)!;
    assert.equal(sent(), before + 1, 'one transaction');
    const flushed = [...script.matchAll(/^flush chain inet vigil_lb (\S+)$/gm)].map((m) => m[1]);
    // rr: the weight is only in the destination's own chain (the selection map gives each one slot)
    assert.deepEqual(flushed, ['svc_sctp_10.0.0.200_443/10.0.0.2_443'], script);
    // the same table again: nothing to do, nothing run
    const n = sent();
    assert.deepEqual((await lb.apply(changed)).changes, []);
    assert.equal(sent(), n);
    // a commit of someone else's between our read and ours (the generation moved by 2): the next change is listed first
    step = 2;
    await lb.apply(fixtureTable);
    step = 1;
    const listed = lists();
    await lb.apply(changed);
    assert.equal(lists(), listed + 1, 'listed: our commit was not the only one');
    // a change behind our back (the generation moved) is listed too
    gen += 1;
    await lb.apply(fixtureTable);
    assert.equal(lists(), listed + 2);
  });

  it('an empty table means no table at all', async () => {
    const nft = fakeNft();
    const lb = createNftablesLb({ run: nft.run, prefix: ['p', 'q'] });
    assert.deepEqual((await lb.apply({ services: [] })).changes, []);
    assert.equal(nft.calls.filter((c) => c.includes('-f')).length, 0);
  });
});
