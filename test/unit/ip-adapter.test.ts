// The pure parts of the netlink IpNet: the RTM_NEWADDR/RTM_DELADDR messages it builds (keepalived's
// netlink_ipaddress() semantics), the `ip -batch` stderr parser and route-word guard, errno
// extraction, and the packet sender's fail-soft path. The sockets themselves: test/netns/ip.test.ts.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { errnoOf, errnoOfIpMessage, NO_PACKET_ADDON } from '../../adapters/ip/errors.js';
import { addressMessage, createIpNet } from '../../adapters/ip/netlink.js';
import { isOverflow, parseMonitorLine } from '../../adapters/ip/monitor.js';
import { loadPacketAddon, PacketSender } from '../../adapters/ip/packet.js';
import { BatchErrorParser, routeWords } from '../../adapters/ip/routes.js';
import type { VipSpec } from '../../adapters/ip/types.js';

const v4 = (o: Partial<VipSpec> = {}): VipSpec => ({ address: '10.1.2.3', prefix: 24, family: 4, dev: 'eth0', ...o });
const v6 = (o: Partial<VipSpec> = {}): VipSpec => ({ address: 'fd00::5', prefix: 64, family: 6, dev: 'eth0', ...o });
function built(spec: VipSpec, op: 'add' | 'del' = 'add') {
  const m = addressMessage(spec, 7, op);
  if (!m.ok) throw new Error(`${m.error}: ${m.detail}`);
  const { data, attrs } = m.msg;
  const hex = (b: Buffer | undefined) => b?.toString('hex');
  return { data, attrs, local: hex(attrs.local), address: hex(attrs.address), broadcast: hex(attrs.broadcast) };
}

describe('addressMessage (RTM_NEWADDR / RTM_DELADDR)', () => {
  it('IPv4: local and address, family, prefix, index', () => {
    const m = built(v4());
    assert.deepEqual(m.data, { family: 2, prefixlen: 24, index: 7 });
    assert.equal(m.local, '0a010203');
    assert.equal(m.address, '0a010203');
    assert.equal(m.attrs.flags, undefined);
    assert.equal(m.attrs.cacheInfo, undefined);
  });

  it('IPv4: label, scope by name or number', () => {
    const m = built(v4({ label: 'eth0:vip', scope: 'host' }));
    assert.equal(m.attrs.label, 'eth0:vip');
    assert.equal(m.data.scope, 254);
    assert.equal(built(v4({ scope: 'link' })).data.scope, 253);
    assert.equal(built(v4({ scope: '200' })).data.scope, 200);
    assert.equal(built(v4({ scope: 'global' })).data.scope, 0);
  });

  it('IPv4: brd as an address, + (host bits set) or - (host bits clear), as keepalived', () => {
    assert.equal(built(v4({ brd: '10.1.2.255' })).broadcast, '0a0102ff');
    assert.equal(built(v4({ brd: '+' })).broadcast, '0a0102ff');
    assert.equal(built(v4({ brd: '-' })).broadcast, '0a010200');
    assert.equal(built(v4({ brd: '+', prefix: 20 })).broadcast, '0a010fff');
    assert.equal(built(v4({ brd: '+', prefix: 31 })).broadcast, undefined, 'keepalived: prefix too long for broadcast');
    assert.equal(built(v4({ brd: '+', prefix: 0 })).broadcast, 'ffffffff');
    assert.equal(built(v4({ brd: '+', prefix: 32, peer: '10.1.2.4' })).broadcast, undefined, 'ignored with a peer');
  });

  it('peer: IFA_ADDRESS is the peer, IFA_LOCAL ours', () => {
    const m = built(v4({ prefix: 32, peer: '10.9.9.9' }));
    assert.equal(m.local, '0a010203');
    assert.equal(m.address, '0a090909');
    const m6 = built(v6({ prefix: 128, peer: 'fd00::9' }));
    assert.equal(m6.address, 'fd000000000000000000000000000009');
  });

  it('IPv6: NODAD unless -nodad; /128 deprecated (preferred_lft 0) unless preferred_lft given', () => {
    const m = built(v6());
    assert.deepEqual(m.data, { family: 10, prefixlen: 64, index: 7 });
    assert.deepEqual(m.attrs.flags, { nodad: true });
    assert.equal(m.attrs.cacheInfo, undefined, '/64: preferred forever (no IFA_CACHEINFO)');
    assert.deepEqual(built(v6({ prefix: 128 })).attrs.cacheInfo, { ifaPrefered: 0, ifaValid: 0xffffffff });
    assert.equal(built(v6({ prefix: 128, flags: ['preferred_lft forever'] })).attrs.cacheInfo, undefined);
    assert.deepEqual(built(v6({ flags: ['preferred_lft 30'] })).attrs.cacheInfo, { ifaPrefered: 30, ifaValid: 0xffffffff });
    assert.equal(built(v6({ flags: ['-nodad'] })).attrs.flags, undefined);
    assert.deepEqual(built(v6({ flags: ['home', 'noprefixroute', 'mngtmpaddr', 'autojoin', 'use_vmac'] })).attrs.flags,
      { homeaddress: true, noprefixroute: true, managetempaddr: true, mcautojoin: true, nodad: true });
  });

  it('IPv6: scope, label and brd are ignored, as keepalived does', () => {
    const m = built(v6({ scope: 'host', label: 'eth0:x', brd: '+' }));
    assert.equal(m.data.scope, undefined);
    assert.equal(m.attrs.label, undefined);
    assert.equal(m.attrs.broadcast, undefined);
  });

  it('delete: IPv4 by IFA_LOCAL alone (any prefix or label matches), IPv6 by IFA_ADDRESS and prefix', () => {
    const d4 = built(v4({ label: 'eth0:x', brd: '+' }), 'del');
    assert.deepEqual(Object.keys(d4.attrs), ['local']);
    assert.equal(d4.local, '0a010203');
    const d6 = built(v6(), 'del');
    assert.deepEqual(Object.keys(d6.attrs), ['address']);
    assert.equal(d6.data.prefixlen, 64);
  });

  it('refuses bad input with EINVAL and a reason, never throws', () => {
    const bad: VipSpec[] = [
      v4({ address: '10.1.2.300' }), v4({ address: 'fd00::1' }), v4({ prefix: 33 }), v4({ prefix: 1.5 }),
      v6({ prefix: 129 }), v4({ peer: 'x' }), v4({ scope: 'galaxy' }), v4({ scope: '256' }),
      v4({ label: 'a-label-far-too-long' }), v4({ label: '' }), v4({ brd: 'nope' }), v6({ flags: ['preferred_lft soon'] }),
    ];
    for (const spec of bad) {
      const m = addressMessage(spec, 1, 'add');
      assert.equal(m.ok, false, JSON.stringify(spec));
      if (!m.ok) {
        assert.equal(m.error, 'EINVAL');
        assert.ok(m.detail.length > 0);
      }
    }
  });
});

describe('ip -batch stderr', () => {
  // what iproute2 6.1 printed for: ok, EEXIST, unknown object (the sentinel), ESRCH, extack error
  const stderr = [
    'RTNETLINK answers: File exists', 'Command failed -:2',
    'Object "vigil-sync" is unknown, try "ip help".', 'Command failed -:3',
    'RTNETLINK answers: No such process', 'Command failed -:4',
    'Error: Nexthop has invalid gateway.', 'Command failed -:12',
    '',
  ].join('\n');
  const expected = [
    { line: 2, message: 'RTNETLINK answers: File exists' },
    { line: 3, message: 'Object "vigil-sync" is unknown, try "ip help".' },
    { line: 4, message: 'RTNETLINK answers: No such process' },
    { line: 12, message: 'Error: Nexthop has invalid gateway.' },
  ];

  it('maps each failure to its line, whatever the chunking', () => {
    for (let cut = 0; cut <= stderr.length; cut++) {
      const p = new BatchErrorParser();
      assert.deepEqual([...p.feed(stderr.slice(0, cut)), ...p.feed(stderr.slice(cut))], expected, `cut at ${cut}`);
    }
    const p = new BatchErrorParser();
    assert.deepEqual([...stderr].flatMap((c) => p.feed(c)), expected, 'one character at a time');
  });

  it('keeps the last words of a command that made ip exit', () => {
    const p = new BatchErrorParser();
    p.feed('Command failed -:1\nError: argument "abc" is wrong: "metric" value is invalid\n');
    assert.equal(p.unfinished(), 'Error: argument "abc" is wrong: "metric" value is invalid');
  });

  it('knows the errno of the messages idempotency depends on', () => {
    assert.equal(errnoOfIpMessage('RTNETLINK answers: File exists'), 'EEXIST');
    assert.equal(errnoOfIpMessage('RTNETLINK answers: No such process'), 'ESRCH');
    assert.equal(errnoOfIpMessage('Cannot find device "nosuch"'), 'ENODEV');
    assert.equal(errnoOfIpMessage('Error: Device for nexthop is not up.'), 'ENETDOWN');
    assert.equal(errnoOfIpMessage('Error: argument "abc" is wrong: "metric" value is invalid'), 'EINVAL');
    assert.equal(errnoOfIpMessage('something new'), 'EIO');
  });
});

describe('routeWords', () => {
  it('drops keepalived-only words', () => {
    assert.deepEqual(routeWords(['10.0.0.0/8', 'via', '10.1.1.1', 'no_track', 'track_group', 'G1', 'table', '100']),
      { ok: true, words: ['10.0.0.0/8', 'via', '10.1.1.1', 'table', '100'] });
  });

  it('refuses what would split, quote or comment a batch line', () => {
    for (const w of ['a b', 'a\nroute flush all', '"x"', "'x'", '#', 'x#y', 'a\\', '', '\t']) {
      assert.equal(routeWords(['10.0.0.0/8', 'dev', w]).ok, false, JSON.stringify(w));
    }
    assert.equal(routeWords(['no_track']).ok, false, 'nothing left');
  });
});

describe('errnoOf', () => {
  it('reads netlink rejections and Node errors', () => {
    assert.equal(errnoOf(new Error('Request rejected: EEXIST')), 'EEXIST');
    assert.equal(errnoOf(Object.assign(new Error('x'), { code: 'EPERM' })), 'EPERM');
    assert.equal(errnoOf('weird'), 'EIO');
    assert.equal(errnoOf(undefined), 'EIO');
  });
});

describe('PacketSender', () => {
  it('reports a missing addon as a value, pointing at build.sh', () => {
    const r = loadPacketAddon(['/nonexistent/packet.node']);
    assert.equal(r.ok, false);
    if (!r.ok) assert.match(r.error, /build\.sh/);
    const s = new PacketSender(() => r);
    const err = s.send(2, new Uint8Array(42));
    assert.equal(err?.code, NO_PACKET_ADDON);
    s.close();
  });

  it('opens one socket, turns thrown errno errors into codes, closes once', () => {
    const calls: string[] = [];
    const addon = {
      open: () => { calls.push('open'); return 9; },
      send: (fd: number, ifindex: number, f: Uint8Array) => {
        calls.push(`send ${fd} ${ifindex} ${f.length}`);
        if (ifindex === 99) throw Object.assign(new Error('sendto: No such device or address'), { code: 'ENXIO' });
        return f.length;
      },
      close: (fd: number) => void calls.push(`close ${fd}`),
    };
    const s = new PacketSender(() => ({ ok: true, addon }));
    assert.equal(s.send(2, new Uint8Array(42)), undefined);
    assert.deepEqual(s.send(99, new Uint8Array(42)), { code: 'ENXIO', detail: 'sendto: No such device or address' });
    s.close();
    s.close();
    assert.deepEqual(calls, ['open', 'send 9 2 42', 'send 9 99 42', 'close 9']);
  });
});

describe('createIpNet after close()', () => {
  it('answers batch calls with ECLOSED, rejects queries, closes idempotently', async () => {
    const net = createIpNet(); // an rtnetlink socket: nothing is read or changed before close
    await net.close();
    await net.close();
    const spec = v4();
    assert.deepEqual((await net.addAddresses([spec])).map((r) => r.error), ['ECLOSED']);
    assert.deepEqual((await net.removeAddresses([spec])).map((r) => r.error), ['ECLOSED']);
    assert.deepEqual((await net.addRoutes([{ words: ['10.0.0.0/8', 'dev', 'eth0'], family: 4 }])).map((r) => r.error), ['ECLOSED']);
    assert.deepEqual((await net.announce('eth0', ['10.1.2.3'])).map((r) => r.error), ['ECLOSED']);
    await assert.rejects(net.links(), { name: 'IpError', code: 'ECLOSED' });
    await assert.rejects(net.hasAddress(spec), { name: 'IpError' });
  });
});

describe('parseMonitorLine (ip -o monitor label link address, iproute2 6.1)', () => {
  it('reads link lines: index, name, up = UP without NO-CARRIER, MAC, deletion', () => {
    assert.deepEqual(
      parseMonitorLine('[LINK]3: vt0@vt1: <NO-CARRIER,BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue state LOWERLAYERDOWN group default \\    link/ether 0e:48:25:ea:ca:cf brd ff:ff:ff:ff:ff:ff'),
      { type: 'link', deleted: false, index: 3, name: 'vt0', up: false, mac: '0e:48:25:ea:ca:cf' });
    assert.deepEqual(
      parseMonitorLine('[LINK]3: vt0@vt1: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue state UP group default \\    link/ether 0e:48:25:ea:ca:cf brd ff:ff:ff:ff:ff:ff'),
      { type: 'link', deleted: false, index: 3, name: 'vt0', up: true, mac: '0e:48:25:ea:ca:cf' });
    assert.deepEqual(
      parseMonitorLine('[LINK]Deleted 4: x2@NONE: <BROADCAST,MULTICAST> mtu 1500 qdisc noop state DOWN group default \\    link/ether 22:cf:86:4e:c4:ac brd ff:ff:ff:ff:ff:ff'),
      { type: 'link', deleted: true, index: 4, name: 'x2', up: false, mac: '22:cf:86:4e:c4:ac' });
    assert.deepEqual(
      parseMonitorLine('[LINK]1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue state UNKNOWN group default \\    link/loopback 00:00:00:00:00:00 brd 00:00:00:00:00:00'),
      { type: 'link', deleted: false, index: 1, name: 'lo', up: true, mac: '00:00:00:00:00:00' });
  });

  it('reads address lines: family, address, prefix, scope, IPv4 label, peer, deletion', () => {
    assert.deepEqual(parseMonitorLine('[ADDR]3: vt0    inet 10.77.5.1/24 brd 10.77.5.255 scope global secondary vt0:vg\\       valid_lft forever preferred_lft forever'),
      { type: 'address', deleted: false, index: 3, dev: 'vt0', family: 4, address: '10.77.5.1', prefix: 24, scope: 0, label: 'vt0:vg' });
    assert.deepEqual(parseMonitorLine('[ADDR]3: vt0    inet 10.77.1.1 peer 10.77.1.2/32 scope global vt0\\       valid_lft forever preferred_lft forever'),
      { type: 'address', deleted: false, index: 3, dev: 'vt0', family: 4, address: '10.77.1.1', prefix: 32, scope: 0, label: 'vt0', peer: '10.77.1.2' });
    assert.deepEqual(parseMonitorLine('[ADDR]Deleted 3: vt0    inet 10.77.6.3/24 scope link vt0\\       valid_lft forever preferred_lft forever'),
      { type: 'address', deleted: true, index: 3, dev: 'vt0', family: 4, address: '10.77.6.3', prefix: 24, scope: 253, label: 'vt0' });
    assert.deepEqual(parseMonitorLine('[ADDR]Deleted 3: vt0    inet6 FD77:0::1/64 scope global nodad \\       valid_lft forever preferred_lft forever'),
      { type: 'address', deleted: true, index: 3, dev: 'vt0', family: 6, address: 'fd77::1', prefix: 64, scope: 0 });
    assert.deepEqual(parseMonitorLine('[ADDR]2: vt1    inet6 fe80::5c99:b0ff:fe7e:263a/64 scope link tentative \\       valid_lft forever preferred_lft forever'),
      { type: 'address', deleted: false, index: 2, dev: 'vt1', family: 6, address: 'fe80::5c99:b0ff:fe7e:263a', prefix: 64, scope: 253 });
  });

  it('ignores what it does not use, never throws', () => {
    for (const l of ['', '[NEIGH]10.0.0.1 dev eth0 lladdr 02:00:00:00:00:01 REACHABLE', '[ADDR]3: vt0    inet 999.1.1.1/24 scope global vt0', 'garbage [LINK]']) {
      assert.equal(parseMonitorLine(l), undefined, l);
    }
    fc.assert(fc.property(fc.string(), fc.constantFrom('[LINK]', '[ADDR]', '[ADDR]Deleted ', ''), (rest, head) => {
      parseMonitorLine(head + rest);
    }));
  });

  it('recognises the ENOBUFS report', () => {
    assert.equal(isOverflow('netlink receive error No buffer space available (105)'), true);
    assert.equal(isOverflow('Dump terminated'), false);
  });
});
