// FIFOs in memory behind the OpenFifo port: lines kept per path, a capacity in lines standing for
// the pipe buffer (a reader that stopped reading), and the same counting as adapters/fifo/fifo.ts.
import type { FifoStats, FifoWriter, OpenFifo } from '../../adapters/fifo/types.js';

export function memoryFifos(capacity = Infinity) {
  const lines = new Map<string, string[]>();
  const open = new Set<string>();
  const openFifo: OpenFifo = async (path) => {
    if (!lines.has(path)) lines.set(path, []);
    open.add(path);
    let written = 0;
    let dropped = 0;
    let lastError: string | undefined;
    const writer: FifoWriter = {
      path,
      write(line) {
        const buf = lines.get(path)!;
        if (!open.has(path) || buf.length >= capacity) {
          dropped++;
          lastError = 'the FIFO is full (no reader draining it)';
          return false;
        }
        buf.push(line);
        written++;
        return true;
      },
      stats: (): FifoStats => ({ written, dropped, ...(lastError ? { lastError } : {}) }),
      close: async () => { open.delete(path); },
    };
    return writer;
  };
  return {
    openFifo,
    /** what a reader would have read from `path` */
    lines: (path: string) => lines.get(path) ?? [],
    isOpen: (path: string) => open.has(path),
  };
}
