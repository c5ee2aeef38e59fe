// FILE_CHECK (keepalived/check/check_file.c, trackers/track_file.c
// process_update_checker_track_file_status): the value of a `track_file`, read with the reader of
// adapters/exec/trackFile.ts (strtol, a missing file is 0, an out-of-range value is ignored and
// the previous one stays). The checker's `weight N [reverse]`, else the track_file's, decides:
// - weight 0: up when the value is 0 (reverse: when it is not), contributing nothing;
// - weight W: status = value × W (× −1 with reverse), clamped to 32 bits; INT32_MIN is down,
//   anything else is up and adds status to the real server's weight.
// keepalived watches the file with inotify and applies a change at once; a probe reads it when
// asked (the actor may call `fileCheckVerdict` on watchTrackFile's changes for the same effect).
// The `dynamic` keyword changes nothing: keepalived documents it but never parses it (2.2.7 and
// master), and always applies the weight as above.
import { readTrackFile } from '../exec/trackFile.js';
import type { FileChecker, TrackFile } from '../config/model.js';
import type { DynamicWeight, ProbeResult } from './types.js';

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;

export function fileCheckVerdict(value: number, weight: number, reverse: boolean): { ok: boolean; weight?: DynamicWeight } {
  if (weight === 0) return (value !== 0) !== reverse ? { ok: false } : { ok: true, weight: { mode: 'add', value: 0 } };
  const status = Math.min(INT32_MAX, Math.max(INT32_MIN, value * weight * (reverse ? -1 : 1)));
  return status === INT32_MIN ? { ok: false } : { ok: true, weight: { mode: 'add', value: status } };
}

export class FileChecks {
  /** the last value read per file, kept when a new one is out of range (keepalived keeps it) */
  private readonly last = new Map<string, number>();

  constructor(private readonly trackFiles: readonly TrackFile[]) {}

  async probe(checker: FileChecker): Promise<ProbeResult> {
    const t0 = performance.now();
    const result = (ok: boolean, detail: string, weight?: DynamicWeight): ProbeResult =>
      ({ ok, detail, latencyMs: performance.now() - t0, ...(weight ? { weight } : {}) });
    const tf = this.trackFiles.find((t) => t.name === checker.trackFile);
    if (!tf?.file) return result(false, `track_file '${checker.trackFile ?? ''}' is not defined`);
    const read = await readTrackFile(tf.file);
    const value = read ?? this.last.get(tf.file) ?? 0;
    this.last.set(tf.file, value);
    const weight = checker.weight ?? tf.weight;
    const reverse = checker.weight !== undefined ? checker.reverse : tf.reverse;
    const v = fileCheckVerdict(value, weight, reverse);
    return result(v.ok, `${tf.file} = ${value}${read === null ? ' (out of range, previous value kept)' : ''}`, v.weight);
  }
}
