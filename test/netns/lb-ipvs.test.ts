// The IPVS driver's transport and, where the kernel has IPVS, the driver itself, in a namespace:
// a generic netlink socket opened inside the namespace (test/netns/genl-agent.ts) with its bytes
// proxied to the test process. The transport part runs on any kernel (the netlink controller is
// always there); the LoadBalancer contract needs ip_vs and is skipped without it.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { after, before, describe, it, test } from 'node:test';
import { decodeFamilyId, encodeGetFamily, GENL_ID_CTRL, splitMessages } from '../../adapters/lb/genl.js';
import { createIpvsLb, detectIpvs, type GenlSocket } from '../../adapters/lb/ipvs.js';
import { runLbContract } from '../contract/lb.contract.js';
import { Lab, netnsSkipReason, sh } from './lab.js';

const skip = netnsSkipReason();
const root = new URL('../..', import.meta.url).pathname;
// decided before any test runs, without loading anything into the kernel
const noIpvs = existsSync('/proc/net/ip_vs') ? undefined : 'kernel has no IPVS (ip_vs module absent)';

/** A GenlSocket whose requests run in the agent's namespace. */
class AgentGenlSocket implements GenlSocket {
  private nextId = 1;
  private readonly calls = new Map<number, (m: { replies?: string[]; error?: string }) => void>();
  private constructor(private readonly child: ChildProcess) {}

  static start(lab: Lab, host: number): Promise<AgentGenlSocket> {
    const child = lab.spawn(host, process.execPath, ['--import', 'tsx', 'test/netns/genl-agent.ts'], { cwd: root });
    const agent = new AgentGenlSocket(child);
    let err = '';
    child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
    return new Promise((resolve, reject) => {
      child.once('exit', (code) => reject(new Error(`genl-agent exited (${code}): ${err}`)));
      createInterface({ input: child.stdout! }).on('line', (line) => {
        const m = JSON.parse(line) as { ready?: boolean; id?: number; replies?: string[]; error?: string };
        if (m.ready) resolve(agent);
        else if (m.id) agent.calls.get(m.id)?.(m);
      });
    });
  }

  request(message: Uint8Array): Promise<Uint8Array[]> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.calls.set(id, (m) => {
        this.calls.delete(id);
        if (m.error !== undefined) reject(new Error(m.error));
        else resolve((m.replies ?? []).map((h) => Uint8Array.from(Buffer.from(h, 'hex'))));
      });
      this.child.stdin!.write(`${JSON.stringify({ id, hex: Buffer.from(message).toString('hex') })}\n`);
    });
  }

  close(): void {
    this.child.stdin?.end();
  }
}

if (skip) {
  test('IPVS driver in network namespaces', { skip }, () => {});
} else {
  describe('generic netlink transport in a namespace', () => {
    let lab: Lab;
    let socket: AgentGenlSocket;
    before(async () => {
      lab = await Lab.create({ hosts: 1, tag: 'genl' });
      socket = await AgentGenlSocket.start(lab, 1);
    });
    after(async () => {
      socket?.close();
      await lab?.destroy();
    });

    it('resolves the controller family through a real socket', async () => {
      const replies = await socket.request(encodeGetFamily('nlctrl', 4242));
      const messages = replies.flatMap((r) => {
        const s = splitMessages(r);
        assert.ok(s.ok);
        return s.value;
      });
      assert.deepEqual(messages.map((m) => [m.type, m.seq]), [[GENL_ID_CTRL, 4242], [2, 4242]], 'the reply, then the ACK');
      assert.deepEqual(decodeFamilyId(messages[0]!), { ok: true, value: GENL_ID_CTRL });
    });

    it('detectIpvs tells whether the kernel has IPVS, and why not', async () => {
      const r = await detectIpvs(() => socket);
      if (noIpvs) assert.deepEqual(r, { available: false, reason: noIpvs });
      else assert.deepEqual(r, { available: true });
      socket = await AgentGenlSocket.start(lab, 1); // detectIpvs closed the one it was given
    });
  });

  if (noIpvs) {
    test('IPVS driver on the real kernel', { skip: noIpvs }, () => {});
  } else {
    let lab: Lab | undefined;
    let socket: AgentGenlSocket | undefined;
    runLbContract('IPVS driver on the real kernel, in a namespace', async () => {
      lab = await Lab.create({ hosts: 1, tag: 'ipvs' });
      socket = await AgentGenlSocket.start(lab, 1);
      const s = socket;
      return {
        create: () => createIpvsLb({ socket: s }),
        dataplane: async () => (await createIpvsLb({ socket: s })).read(),
        flushBehindBack: async () => void (await sh('ip', ['netns', 'exec', lab!.ns(1), 'ipvsadm', '-C'])),
        kinds: ['NAT', 'DR', 'TUN'],
        teardown: async () => {
          socket?.close();
          await lab?.destroy();
        },
      };
    });

    describe('lvs_timeouts on the real kernel, in a namespace', () => {
      let tlab: Lab;
      let ts: AgentGenlSocket;
      const read = async () => /Timeout \(tcp tcpfin udp\): (\d+) (\d+) (\d+)/.exec(await sh('ip', ['netns', 'exec', tlab.ns(1), 'ipvsadm', '-L', '--timeout']))?.slice(1).map(Number);
      before(async () => {
        tlab = await Lab.create({ hosts: 1, tag: 'ipvst' });
        ts = await AgentGenlSocket.start(tlab, 1);
      });
      after(async () => {
        ts?.close();
        await tlab?.destroy();
      });

      it('sets what is given, keeps the rest, and close() puts back what was found', async () => {
        const found = await read();
        assert.ok(found, 'ipvsadm -L --timeout answers');
        const lb = await createIpvsLb({ socket: ts });
        await lb.setTimeouts!({ tcp: 7200, udp: 61 });
        assert.deepEqual(await read(), [7200, found[1], 61]);
        await lb.close();
        assert.deepEqual(await read(), found);
      });

      it('lvs_sync_daemon: backup, then master, as ipvsadm --list --daemon shows; close() stops it', async () => {
        const daemons = async () => (await sh('ip', ['netns', 'exec', tlab.ns(1), 'ipvsadm', '-L', '--daemon'])).trim();
        const lb = await createIpvsLb({ socket: ts });
        await lb.syncDaemon!('backup', { ifname: 'eth0', syncId: 51 });
        assert.match(await daemons(), /^backup sync daemon \(mcast=eth0, syncid=51/m);
        await lb.syncDaemon!('master', { ifname: 'eth0', syncId: 51 });
        assert.match(await daemons(), /^master sync daemon \(mcast=eth0, syncid=51/m);
        assert.doesNotMatch(await daemons(), /^backup/m);
        await lb.close();
        assert.equal(await daemons(), '');
      });
    });
  }
}
