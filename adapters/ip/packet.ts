// Loads native/packet.node (built by native/build.sh) and sends whole Ethernet frames with it
// (adapters/service/ loads it too, for its unix-socket and fd calls).
// Fails soft: without the addon, `send` returns NO_PACKET_ADDON and the adapter reports it in the
// announcement results (and logs it once) instead of crashing.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { NO_PACKET_ADDON, errnoOf } from './errors.js';

export interface PacketAddon {
  open(): number;
  send(fd: number, ifindex: number, frame: Uint8Array): number;
  close(fd: number): void;
  // for adapters/service/; optional because an addon built from an older packet.c lacks them
  sendUnixDgram?(path: string, data: Uint8Array): number;
  dup2?(oldfd: number, newfd: number): void;
  /** names the calling thread (15 bytes at most), as top -H and /proc show it */
  threadName?(name: string): void;
  /** glibc malloc_trim(0): free pages of every arena back to the kernel; true when some were */
  mallocTrim?(): boolean;
}

const ADDON = 'native/build/Release/packet.node';

/**
 * Where the addon may be: `$VIGIL_PACKET_ADDON` alone when set; else beside this file (tsx), or in
 * the source tree when running from dist/.
 */
function candidates(): string[] {
  const env = process.env['VIGIL_PACKET_ADDON'];
  if (env) return [env];
  return [
    fileURLToPath(new URL(`./${ADDON}`, import.meta.url)),
    fileURLToPath(new URL(`../../../adapters/ip/${ADDON}`, import.meta.url)),
  ];
}

export type LoadResult = { ok: true; addon: PacketAddon } | { ok: false; error: string };

export function loadPacketAddon(paths: readonly string[] = candidates()): LoadResult {
  const require = createRequire(import.meta.url);
  const tried: string[] = [];
  for (const p of paths) {
    if (!existsSync(p)) {
      tried.push(`${p} (missing)`);
      continue;
    }
    try {
      return { ok: true, addon: require(p) as PacketAddon };
    } catch (err) {
      tried.push(`${p} (${(err as Error).message})`);
    }
  }
  return { ok: false, error: `packet addon not loaded; run adapters/ip/native/build.sh. Tried: ${tried.join('; ')}` };
}

/** One AF_PACKET socket, opened at the first send, for the adapter's lifetime. */
export class PacketSender {
  private loaded: LoadResult | undefined;
  private fd = -1;

  constructor(private readonly load: () => LoadResult = loadPacketAddon) {}

  /** Why frames cannot be sent, or undefined when they can (loads the addon on first call). */
  unavailable(): string | undefined {
    this.loaded ??= this.load();
    return this.loaded.ok ? undefined : this.loaded.error;
  }

  /** Send one frame; returns undefined or an error `{ code, detail }`. Never throws. */
  send(ifindex: number, frame: Uint8Array): { code: string; detail: string } | undefined {
    const why = this.unavailable();
    if (why !== undefined || !this.loaded?.ok) return { code: NO_PACKET_ADDON, detail: why ?? '' };
    const addon = this.loaded.addon;
    try {
      if (this.fd < 0) this.fd = addon.open();
      addon.send(this.fd, ifindex, frame);
      return undefined;
    } catch (err) {
      return { code: errnoOf(err), detail: (err as Error).message };
    }
  }

  close(): void {
    if (this.fd >= 0 && this.loaded?.ok) {
      try {
        this.loaded.addon.close(this.fd);
      } catch {
        /* already closed: nothing to release */
      }
    }
    this.fd = -1;
  }
}
