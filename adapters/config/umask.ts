// keepalived's umask syntax (global_defs `umask`, `keepalived -u`): a number as strtol(…, 0) reads
// it (0077 octal, 0x3f hex, 63 decimal), or the mode bits by name joined with '|', spaces allowed
// around them: `IWGRP|IWOTH`, `IRWXG | IRWXO`.

const BITS: Readonly<Record<string, number>> = {
  IRWXU: 0o700, IRUSR: 0o400, IWUSR: 0o200, IXUSR: 0o100,
  IRWXG: 0o070, IRGRP: 0o040, IWGRP: 0o020, IXGRP: 0o010,
  IRWXO: 0o007, IROTH: 0o004, IWOTH: 0o002, IXOTH: 0o001,
};

/** the umask the words give, or why they give none */
export function parseUmask(words: readonly string[]): { ok: true; mask: number } | { ok: false; error: string } {
  const first = words[0];
  if (first === undefined || first === '') return { ok: false, error: 'missing umask value' };
  if (/^\d/.test(first)) {
    if (words.length !== 1) return { ok: false, error: 'extra parameters after the umask value' };
    const n = /^0[xX][0-9a-fA-F]+$/.test(first) ? Number.parseInt(first.slice(2), 16) : /^0[0-7]*$/.test(first) ? Number.parseInt(first, 8) : /^[1-9]\d*$/.test(first) ? Number(first) : NaN;
    if (!Number.isInteger(n) || n < 0 || n > 0o777) return { ok: false, error: `invalid umask value ${first} (octal 0000..0777, or bit names like IWGRP|IWOTH)` };
    return { ok: true, mask: n };
  }
  let mask = 0;
  const names = words.join(' ').split('|').map((x) => x.trim());
  for (const name of names) {
    const bit = BITS[name.toUpperCase().replace(/^S_/, '')];
    if (bit === undefined) return { ok: false, error: `invalid umask bit '${name}' (one of ${Object.keys(BITS).join(', ')})` };
    mask |= bit;
  }
  return { ok: true, mask };
}

/** 0022 */
export const formatUmask = (mask: number): string => `0${mask.toString(8).padStart(3, '0')}`;
