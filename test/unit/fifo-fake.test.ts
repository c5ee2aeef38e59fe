// The in-memory FIFOs keep the contract real FIFOs keep (test/contract/fifo.contract.ts).
import { runFifoContract } from '../contract/fifo.contract.js';
import { memoryFifos } from '../fakes/fifo.js';

runFifoContract('memory', async () => {
  const f = memoryFifos(4096);
  let n = 0;
  return {
    openFifo: f.openFifo,
    path: (name) => `/run/${name}-${++n}.fifo`,
    read: (path) => ({ lines: () => f.lines(path).map((l) => l.trimEnd()), stop: async () => {} }),
    teardown: async () => {},
  };
});
