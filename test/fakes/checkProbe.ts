// A hand-driven stand-in for the probe actor of machines/checker.machine.ts: each attempt is a
// `FakeProbe` the test answers (`reply`), and which records being stopped (its I/O cancelled).
import { fromCallback } from 'xstate';
import type { CheckerEvent, CheckResult, ProbeInput } from '../../machines/checker.machine.js';

export interface FakeProbe {
  readonly input: ProbeInput;
  /** the machine stopped the attempt (timeout, stop): a real probe aborts its I/O here */
  stopped: boolean;
  reply(result: CheckResult): void;
}

export function fakeCheckProbe() {
  const probes: FakeProbe[] = [];
  const logic = fromCallback<{ type: 'none' }, ProbeInput>(({ input, sendBack }) => {
    const probe: FakeProbe = {
      input, stopped: false,
      reply: (r) => sendBack({ type: 'check.result', ...r } satisfies CheckerEvent),
    };
    probes.push(probe);
    return () => { probe.stopped = true; };
  });
  return {
    logic,
    probes,
    /** the attempt started last */
    get current(): FakeProbe {
      const p = probes.at(-1);
      if (!p) throw new Error('no probe started');
      return p;
    },
  };
}
