// The generic netlink and IPVS codec against bytes built by hand from the header layouts
// (test/fixtures/genlBytes.ts never calls the codec), decoding of dump replies as the kernel
// writes them, and hostile input: decoding returns a typed error, never throws.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { decodeError, encodeGetFamily, splitMessages, decodeFamilyId, type NlMessage } from '../../adapters/lb/genl.js';
import { decodeDest, decodeService, encodeIpvsRequest } from '../../adapters/lb/ipvsCodec.js';
import type { LbDestination, LbService } from '../../adapters/lb/types.js';
import { addr16v4, ascii0, be16, genl, le16, le32, nla, nlmsg } from '../fixtures/genlBytes.js';

const FAMILY = 0x1f;
const one = (bytes: Uint8Array): NlMessage => {
  const s = splitMessages(bytes);
  assert.ok(s.ok && s.value.length === 1);
  return s.value[0] as NlMessage;
};
const tcp80: Omit<LbService, 'destinations'> = {
  match: { kind: 'address', address: '10.0.0.100', port: 80, protocol: 'TCP' },
  family: 4,
  algo: 'sh',
  flags: ['flag-2'],
  persistence: { timeoutS: 300, prefix: 24 },
};
const svcKey = [...nla(1, le16(2)), ...nla(2, le16(6)), ...nla(3, addr16v4('10.0.0.100')), ...nla(4, be16(80))];

describe('generic netlink framing', () => {
  it('CTRL_CMD_GETFAMILY "IPVS", byte for byte', () => {
    // nlmsghdr: len 32, type GENL_ID_CTRL 0x10, flags REQUEST|ACK, seq 1, pid 0
    // genlmsghdr: cmd 3 (GETFAMILY), version 1; CTRL_ATTR_FAMILY_NAME (2) = "IPVS\0", padded to 12
    assert.deepEqual(
      [...encodeGetFamily('IPVS', 1)],
      [32, 0, 0, 0, 0x10, 0, 5, 0, 1, 0, 0, 0, 0, 0, 0, 0, 3, 1, 0, 0, 9, 0, 2, 0, 0x49, 0x50, 0x56, 0x53, 0, 0, 0, 0],
    );
  });

  it('splits a datagram of several messages, and reads errors and family replies', () => {
    const reply = nlmsg(0x10, 0, 4, genl(1, 2, nla(2, ascii0('IPVS')), nla(1, le16(0x1f))));
    const ack = nlmsg(2, 0, 4, [...le32(0), ...new Array<number>(16).fill(0)]);
    const refused = nlmsg(2, 0, 5, [...le32(-2 >>> 0), ...new Array<number>(16).fill(0)]);
    const s = splitMessages(Uint8Array.from([...reply, ...ack, ...refused]));
    assert.ok(s.ok);
    assert.deepEqual(s.value.map((m) => [m.type, m.seq]), [[0x10, 4], [2, 4], [2, 5]]);
    assert.deepEqual(decodeFamilyId(s.value[0] as NlMessage), { ok: true, value: 0x1f });
    assert.deepEqual(decodeError(s.value[1] as NlMessage), { ok: true, value: 0 });
    assert.deepEqual(decodeError(s.value[2] as NlMessage), { ok: true, value: -2 });
  });

  it('bad framing is a typed error', () => {
    const r1 = splitMessages(Uint8Array.from([1, 2, 3]));
    assert.ok(!r1.ok && r1.error.code === 'TRUNCATED');
    const r2 = splitMessages(Uint8Array.from([...le32(64), ...new Array<number>(12).fill(0)]));
    assert.ok(!r2.ok && r2.error.code === 'BAD_LENGTH');
    const noId = decodeFamilyId(one(nlmsg(0x10, 0, 1, genl(1, 2, nla(2, ascii0('IPVS'))))));
    assert.ok(!noId.ok && noId.error.code === 'MISSING_ATTRIBUTE');
    const badAttr = decodeFamilyId(one(nlmsg(0x10, 0, 1, [1, 2, 0, 0, ...le16(40), ...le16(1)])));
    assert.ok(!badAttr.ok && badAttr.error.code === 'BAD_ATTRIBUTES');
  });
});

describe('IPVS requests', () => {
  it('NEW_SERVICE carries the key and the full field set (sched, flags with full mask, timeout, netmask)', () => {
    const bytes = encodeIpvsRequest(FAMILY, 7, { cmd: 'NEW_SERVICE', service: tcp80 });
    const expected = nlmsg(FAMILY, 0x5, 7, genl(1, 1, nla(1, [
      ...svcKey,
      ...nla(6, ascii0('sh')),
      ...nla(7, [...le32(0x10 | 0x1), ...le32(0xffffffff)]), // flag-2 (sh-port) | PERSISTENT
      ...nla(8, le32(300)),
      ...nla(9, [255, 255, 255, 0]), // IPv4 netmask: network-order bytes
    ])));
    assert.deepEqual([...bytes], [...expected]);
  });

  it('an IPv6 fwmark service: AF_INET6, FWMARK, and the netmask as a prefix length', () => {
    const s: Omit<LbService, 'destinations'> = { match: { kind: 'fwmark', fwmark: 7 }, family: 6, algo: 'wrr' };
    const expected = nlmsg(FAMILY, 0x5, 1, genl(2, 1, nla(1, [
      ...nla(1, le16(10)),
      ...nla(5, le32(7)),
      ...nla(6, ascii0('wrr')),
      ...nla(7, [...le32(0), ...le32(0xffffffff)]),
      ...nla(8, le32(0)),
      ...nla(9, le32(128)),
    ])));
    assert.deepEqual([...encodeIpvsRequest(FAMILY, 1, { cmd: 'SET_SERVICE', service: s })], [...expected]);
  });

  it('SET_DEST (a weight change) names the service by its key and sends all four destination fields', () => {
    const dest: LbDestination = { address: '10.0.0.1', port: 8080, weight: 5, kind: 'NAT' };
    const expected = nlmsg(FAMILY, 0x5, 9, genl(6, 1,
      nla(1, svcKey),
      nla(2, [
        ...nla(1, addr16v4('10.0.0.1')),
        ...nla(2, be16(8080)),
        ...nla(3, le32(0)), // masquerading
        ...nla(4, le32(5)),
        ...nla(5, le32(0)),
        ...nla(6, le32(0)),
      ]),
    ));
    assert.deepEqual([...encodeIpvsRequest(FAMILY, 9, { cmd: 'SET_DEST', service: tcp80, dest })], [...expected]);
  });

  it('DEL_DEST and the GET_DEST dump carry keys only; a tunnel to the other family says its family', () => {
    const dest: LbDestination = { address: '10.0.0.1', port: 80, weight: 1, kind: 'DR' };
    assert.deepEqual(
      [...encodeIpvsRequest(FAMILY, 2, { cmd: 'DEL_DEST', service: tcp80, dest })],
      [...nlmsg(FAMILY, 0x5, 2, genl(7, 1, nla(1, svcKey), nla(2, [...nla(1, addr16v4('10.0.0.1')), ...nla(2, be16(80))])))],
    );
    assert.deepEqual([...encodeIpvsRequest(FAMILY, 3, { cmd: 'GET_DEST', service: tcp80 })], [...nlmsg(FAMILY, 0x301, 3, genl(8, 1, nla(1, svcKey)))]);
    assert.deepEqual([...encodeIpvsRequest(FAMILY, 4, { cmd: 'GET_SERVICE' })], [...nlmsg(FAMILY, 0x301, 4, genl(4, 1))]);
    const tun: LbDestination = { address: 'fd00::1', port: 80, weight: 2, kind: 'TUN', upperThreshold: 100 };
    const fd001 = [0xfd, 0, ...new Array<number>(13).fill(0), 1];
    assert.deepEqual(
      [...encodeIpvsRequest(FAMILY, 5, { cmd: 'NEW_DEST', service: tcp80, dest: tun })],
      [...nlmsg(FAMILY, 0x5, 5, genl(5, 1, nla(1, svcKey), nla(2, [
        ...nla(11, le16(10)),
        ...nla(1, fd001),
        ...nla(2, be16(80)),
        ...nla(3, le32(2)), // tunnel
        ...nla(4, le32(2)),
        ...nla(5, le32(100)),
        ...nla(6, le32(0)),
      ])))],
    );
  });
});

describe('IPVS dump replies', () => {
  const stats = nla(10, [...nla(1, le32(12)), ...nla(4, [...le32(1), ...le32(0)])]);
  const serviceMsg = (attrs: number[]) => one(nlmsg(FAMILY, 2, 1, genl(1, 1, nla(1, attrs))));

  it('a service as ip_vs_genl_fill_service writes it', () => {
    const m = serviceMsg([
      ...svcKey,
      ...nla(6, ascii0('sh')),
      ...nla(7, [...le32(0x10 | 0x2 | 0x1), ...le32(0xffffffff)]), // sh-port, HASHED, PERSISTENT
      ...nla(8, le32(300)),
      ...nla(9, [255, 255, 255, 0]),
      ...stats,
    ]);
    assert.deepEqual(decodeService(m), { ok: true, value: tcp80 });
    const plain = decodeService(serviceMsg([...nla(1, le16(10)), ...nla(5, le32(7)), ...nla(6, ascii0('rr')), ...nla(7, [...le32(2), ...le32(~0 >>> 0)]), ...nla(8, le32(0)), ...nla(9, le32(128))]));
    assert.deepEqual(plain, { ok: true, value: { match: { kind: 'fwmark', fwmark: 7 }, family: 6, algo: 'rr', flags: [] } });
  });

  it('a destination, with counters and stats ignored, and its own family when it has one', () => {
    const destMsg = (attrs: number[]) => one(nlmsg(FAMILY, 2, 1, genl(5, 1, nla(2, attrs))));
    const common = [...nla(2, be16(80)), ...nla(3, le32(3)), ...nla(4, le32(9)), ...nla(5, le32(0)), ...nla(6, le32(4)), ...nla(7, le32(10)), ...stats];
    assert.deepEqual(decodeDest(destMsg([...nla(1, addr16v4('10.0.0.2')), ...common]), 4), {
      ok: true,
      value: { address: '10.0.0.2', port: 80, weight: 9, kind: 'DR', lowerThreshold: 4 },
    });
    const v6 = [0xfd, 0, ...new Array<number>(13).fill(0), 2];
    assert.deepEqual(decodeDest(destMsg([...nla(11, le16(10)), ...nla(1, v6), ...common]), 4), {
      ok: true,
      value: { address: 'fd00::2', port: 80, weight: 9, kind: 'DR', lowerThreshold: 4 },
    });
  });

  it('what vigil cannot describe is a typed error', () => {
    const base = [...nla(6, ascii0('rr')), ...nla(7, [...le32(0), ...le32(0)]), ...nla(8, le32(0)), ...nla(9, le32(0xffffffff))];
    const cases: [number[], string][] = [
      [[...nla(1, le16(7)), ...nla(5, le32(1)), ...base], 'BAD_VALUE'], // AF 7
      [[...nla(1, le16(2)), ...nla(2, le16(1)), ...nla(3, addr16v4('10.0.0.1')), ...nla(4, be16(80)), ...base], 'BAD_VALUE'], // ICMP
      [[...nla(1, le16(2)), ...nla(5, le32(1)), ...nla(6, ascii0('fancy')), ...base.slice(8)], 'BAD_VALUE'],
      [[...nla(1, le16(2)), ...nla(5, le32(1)), ...nla(6, ascii0('rr'))], 'MISSING_ATTRIBUTE'],
    ];
    for (const [attrs, code] of cases) {
      const r = decodeService(serviceMsg(attrs));
      assert.ok(!r.ok && r.error.code === code, `${code}: ${JSON.stringify(r)}`);
    }
    const none = decodeService(one(nlmsg(FAMILY, 2, 1, genl(1, 1))));
    assert.ok(!none.ok && none.error.code === 'MISSING_ATTRIBUTE');
  });

  it('random bytes decode to a value or a typed error, never a throw', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        const s = splitMessages(bytes);
        if (!s.ok) return;
        for (const m of s.value) {
          decodeService(m);
          decodeDest(m, 4);
          decodeDest(m, 6);
          decodeError(m);
          decodeFamilyId(m);
        }
      }),
    );
    // and well-framed messages with random attribute bytes
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 120 }), fc.constantFrom(1, 5), (attrs, cmd) => {
        const m = one(nlmsg(FAMILY, 2, 1, genl(cmd, 1, [...attrs])));
        for (const r of [decodeService(m), decodeDest(m, 4)]) assert.ok(r.ok || r.error.name === 'GenlDecodeError');
      }),
    );
  });
});
