// Member.frames() (adapters/vrrp/demux.ts): a MASTER's adverts are encoded once and handed out
// again while nothing in them changes; whatever changes (priority, interval, source, the legacy
// checksum, AH's sequence number) gives the bytes a fresh encoding would.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Demux, Member, silentLog, zeroCounters, type Log } from '../../adapters/vrrp/demux.js';
import type { Parsed } from '../../adapters/vrrp/codec.js';
import type { EndpointSpec } from '../../adapters/vrrp/types.js';

const SRC = '10.99.0.11';

function spec(over: Partial<EndpointSpec> = {}): EndpointSpec {
  return {
    instance: 'VI_1', iface: 'eth0', family: 4, version: 2, vrid: 7, intervalCs: 100,
    addresses: ['10.99.0.100'], mcastGroup: '224.0.0.18', unicastPeers: [], ...over,
  };
}

const member = (s: EndpointSpec) => new Member(s, { onAdvert() {}, onDrop() {} }, zeroCounters(), silentLog);

/** what a member that never sent before encodes for these arguments */
function fresh(s: EndpointSpec, src: string, priority: number, intervalCs?: number, legacyChecksum = false): Uint8Array[] {
  const m = member(s);
  m.legacyChecksum = legacyChecksum;
  return m.frames(src, priority, intervalCs).map((f) => f.bytes);
}

describe('Member.frames', () => {
  it('hands out the same frames while the advert does not change', () => {
    const m = member(spec());
    const first = m.frames(SRC, 100);
    assert.equal(m.frames(SRC, 100), first);
    assert.equal(m.frames(SRC, 100, 100), first, 'the default interval is the spec one');
    assert.deepEqual(first.map((f) => f.bytes), fresh(spec(), SRC, 100));
  });

  it('re-encodes on a new priority, interval, source or checksum form, and back', () => {
    const s = spec({ version: 3, unicastPeers: [{ address: '10.99.0.12' }, { address: '10.99.0.13' }] });
    const m = member(s);
    const steps: [string, number, number | undefined, boolean][] = [
      [SRC, 100, undefined, false],
      [SRC, 90, undefined, false], // a tracker lowered the priority
      [SRC, 0, undefined, false], // leaving
      [SRC, 100, 50, false], // a v3 interval
      ['10.99.0.21', 100, undefined, false], // the interface was renumbered
      ['10.99.0.21', 100, undefined, true], // a peer sends keepalived's pre-1.3.6 unicast checksum
      [SRC, 100, undefined, false],
    ];
    let prev: unknown;
    for (const [src, priority, interval, legacy] of steps) {
      m.legacyChecksum = legacy;
      const frames = m.frames(src, priority, interval);
      assert.notEqual(frames, prev, `${src} ${priority} ${interval} ${legacy}: rebuilt`);
      assert.deepEqual(frames.map((f) => f.dst), ['10.99.0.12', '10.99.0.13']);
      assert.deepEqual(frames.map((f) => f.bytes), fresh(s, src, priority, interval, legacy));
      prev = frames;
    }
  });

  it('never reuses AH frames: each advert has the next sequence number', () => {
    const s = spec({ auth: { type: 'AH', pass: 'secret' } });
    const m = member(s);
    const seq = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset).getUint32(20 + 8); // AH sequence, after the IP header
    const a = m.frames(SRC, 100)[0]!.bytes;
    const b = m.frames(SRC, 100)[0]!.bytes;
    assert.deepEqual([seq(a), seq(b)], [1, 2]);
    assert.notDeepEqual(a, b);
  });
});

describe('Demux: log_unknown_vrids', () => {
  it('an advert for a VRID no instance has is counted, and logged at info only with log_unknown_vrids', () => {
    const unknown = { ok: true, ip: { src: '10.99.0.99', dst: '224.0.0.18' }, advert: { vrid: 99 } } as unknown as Parsed;
    for (const on of [false, true]) {
      const lines: string[] = [];
      const log: Log = { ...silentLog, debug: (_o, m) => void lines.push(`debug ${m}`), info: (_o, m) => void lines.push(`info ${m}`) };
      const counters = zeroCounters();
      const d = new Demux(counters, log, 'eth0 (IPv4)', on);
      d.add(member(spec()));
      d.deliver(unknown);
      assert.equal(counters['unknown-vrid'], 1);
      assert.deepEqual(lines, [`${on ? 'info' : 'debug'} unknown VRID 99 received on eth0 (IPv4) from 10.99.0.99`]);
    }
  });
});
