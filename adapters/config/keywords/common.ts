// Pieces shared by several blocks: address lines, route lines, tracker lists, notify scripts.
import { isIP } from 'node:net';
import type { AddressSpec, Family, Notifies, RouteSpec, TrackRef, Trackers } from '../model.js';
import { type Ctx, type Kw, suggest } from '../schema.js';
import type { Stmt, Word } from '../tree.js';

const ADDR_FLAGS = ['home', '-nodad', 'nodad', 'mngtmpaddr', 'noprefixroute', 'autojoin', 'use_vmac'];
const ADDR_OPTS = ['brd', 'broadcast', 'dev', 'scope', 'label', 'peer', 'track_group', 'preferred_lft', 'no_track', ...ADDR_FLAGS];
const SCOPES = ['site', 'link', 'host', 'nowhere', 'global'];

/** `IP[/MASK] [brd IP] [dev IF] [scope S] [label L] [peer IP] [no_track] ...` (one line of a VIP block). */
export function parseAddress(s: Stmt, c: Ctx, defaultDev?: string): AddressSpec | undefined {
  const first = s.words[0] as Word;
  const m = /^([^/]+)(?:\/(\d+))?$/.exec(first.text);
  const family = m ? (isIP(m[1] as string) as 0 | 4 | 6) : 0;
  if (!m || !family) {
    c.diags.error('invalid-address', `'${first.text}' is not an IP address or IP/prefix`, first.loc);
    return undefined;
  }
  const max = family === 4 ? 32 : 128;
  const prefix = m[2] === undefined ? max : Number(m[2]);
  if (prefix > max) {
    c.diags.error('invalid-prefix', `prefix /${prefix} is too long for an IPv${family} address (max /${max})`, first.loc);
    return undefined;
  }
  const spec: {
    -readonly [K in keyof AddressSpec]: AddressSpec[K];
  } = { loc: first.loc, address: canonical(m[1] as string, family), prefix, family: family as Family, noTrack: false, flags: [] };
  if (defaultDev) spec.dev = defaultDev;
  const flags: string[] = [];
  for (let i = 1; i < s.words.length; i++) {
    const w = s.words[i] as Word;
    const next = (): Word | undefined => {
      const v = s.words[++i];
      if (!v) c.diags.error('missing-value', `'${w.text}' needs a value`, w.loc);
      return v;
    };
    switch (w.text) {
      case 'brd': case 'broadcast': { const v = next(); if (v) spec.brd = v.text; break; }
      case 'dev': { const v = next(); if (v) spec.dev = v.text; break; }
      case 'scope': {
        const v = next();
        if (v && !SCOPES.includes(v.text) && !/^\d+$/.test(v.text)) {
          c.diags.error('invalid-value', `scope '${v.text}' is not one of ${SCOPES.join('|')}`, v.loc, hintFor(v.text, SCOPES));
        } else if (v) spec.scope = v.text;
        break;
      }
      case 'label': { const v = next(); if (v) spec.label = v.text; break; }
      case 'peer': { const v = next(); if (v) spec.peer = v.text; break; }
      case 'track_group': { const v = next(); if (v) spec.trackGroup = v.text; break; }
      case 'preferred_lft': { const v = next(); if (v) flags.push(`preferred_lft ${v.text}`); break; }
      case 'no_track': spec.noTrack = true; break;
      default:
        if (ADDR_FLAGS.includes(w.text)) flags.push(w.text);
        else c.diags.error('unknown-option', `unknown address option '${w.text}'`, w.loc, hintFor(w.text, ADDR_OPTS));
    }
  }
  if (s.block) c.diags.error('unexpected-block', 'an address line cannot have a block', s.blockLoc ?? s.loc);
  spec.flags = flags;
  return spec;
}

function hintFor(word: string, options: readonly string[]): string | undefined {
  const near = suggest(word, options);
  return near ? `did you mean '${near}'?` : undefined;
}

/** Lower-case canonical form of an address, so `10.0.0.1` and `fe80::1` compare as the kernel would. */
export function canonical(address: string, family: number): string {
  if (family !== 6) return address.split('.').map((o) => String(Number(o))).join('.');
  try {
    return new URL(`http://[${address}]/`).hostname.slice(1, -1);
  } catch {
    return address.toLowerCase();
  }
}

/** A route or rule line in ip-route / ip-rule syntax; vigil keeps the words and notes dest, dev, family. */
export function parseRoute(s: Stmt, c: Ctx, kind: 'route' | 'rule'): RouteSpec {
  const words = s.words.map((w) => w.text);
  let family: Family = 4;
  let dest: string | undefined;
  let dev: string | undefined;
  let noTrack = false;
  for (let i = 0; i < words.length; i++) {
    const w = words[i] as string;
    if (w === 'inet6') family = 6;
    else if (w === 'no_track') noTrack = true;
    else if ((w === 'dev' || w === 'oif' || w === 'iif') && words[i + 1]) dev = words[++i];
    else if (kind === 'route' && dest === undefined && i === 0 && !['src', 'to', 'blackhole', 'unreachable', 'prohibit', 'throw'].includes(w)) dest = w;
    else if (w === 'to' && words[i + 1]) dest = words[++i];
    else if ((w === 'via' || w === 'gw' || w === 'src' || w === 'from') && words[i + 1]) {
      const a = words[++i] as string;
      if (a.includes(':')) family = 6;
    }
  }
  if (dest && dest !== 'default' && dest !== 'all') {
    const addr = dest.split('/')[0] as string;
    const f = isIP(addr);
    if (!f) c.diags.error('invalid-address', `${kind} destination '${dest}' is not an address or prefix`, (s.words.find((w) => w.text === dest) ?? s.words[0] as Word).loc);
    else if (f === 6) family = 6;
  }
  return { loc: s.loc, words, family, ...(dest ? { dest } : {}), ...(dev ? { dev } : {}), noTrack };
}

/** `IF|SCRIPT [weight W [reverse|noreverse]]` lines of a track_* block. */
export function parseTrackList(s: Stmt, c: Ctx, minW: number, maxW: number): TrackRef[] {
  const out: TrackRef[] = [];
  for (const line of s.block ?? []) {
    const name = line.words[0] as Word;
    let weight: number | undefined;
    let reverse = false;
    for (let i = 1; i < line.words.length; i++) {
      const w = line.words[i] as Word;
      if (w.text === 'weight') {
        const v = line.words[++i];
        if (!v) c.diags.error('missing-value', `'weight' needs a number`, w.loc);
        else weight = c.intWord(v, minW, maxW, 'weight');
      } else if (w.text === 'reverse') reverse = true;
      else if (w.text === 'noreverse') reverse = false;
      else {
        // keepalived's old form: track_interface { eth0 eth1 } on one line
        if (i === 1 && !line.words.some((x) => x.text === 'weight')) {
          for (const extra of line.words.slice(1)) out.push({ loc: extra.loc, name: extra.text, reverse: false });
          break;
        }
        c.diags.error('unknown-option', `unknown tracking option '${w.text}' (want weight N [reverse])`, w.loc);
      }
    }
    if (line.block) c.diags.error('unexpected-block', 'a tracking line cannot have a block', line.blockLoc ?? line.loc);
    out.unshift({ loc: name.loc, name: name.text, ...(weight !== undefined ? { weight } : {}), reverse });
  }
  return out;
}

export function emptyTrackers(): Trackers {
  return { trackInterfaces: [], trackScripts: [], trackFiles: [], trackProcesses: [], trackBfds: [] };
}

/** track_interface/track_script/track_file/track_process/track_bfd, shared by instances and groups. */
export function trackerKeywords<T extends Trackers>(): Record<string, Kw<T>> {
  return {
    track_interface: { block: 'required', multi: true, h: (s, c, t) => t.trackInterfaces.push(...parseTrackList(s, c, -253, 253)) },
    track_script: { block: 'required', multi: true, h: (s, c, t) => t.trackScripts.push(...parseTrackList(s, c, -253, 253)) },
    track_file: { block: 'required', multi: true, h: (s, c, t) => t.trackFiles.push(...parseTrackList(s, c, -254, 254)) },
    track_process: { block: 'required', multi: true, h: (s, c, t) => t.trackProcesses.push(...parseTrackList(s, c, -254, 254)) },
    track_bfd: {
      block: 'required', multi: true, unsupported: 'BFD is not implemented',
      h: (s, c, t) => t.trackBfds.push(...parseTrackList(s, c, -253, 253)),
    },
  };
}

/** notify_master/backup/fault/stop and the generic notify, for instances and sync groups. */
export function notifyKeywords<T extends { notify: Notifies; notifyPriorityChanges?: boolean; smtpAlert?: boolean }>(): Record<string, Kw<T>> {
  const set = (key: keyof Notifies): Kw<T> => ({
    h: (s, c, t) => {
      const v = c.script(s);
      if (v) t.notify[key] = v;
    },
  });
  return {
    notify_master: set('master'),
    notify_backup: set('backup'),
    notify_fault: set('fault'),
    notify_stop: set('stop'),
    notify: set('generic'),
    notify_priority_changes: { h: (s, c, t) => { t.notifyPriorityChanges = c.bool(s); } },
    smtp_alert: { h: (s, c, t) => { t.smtpAlert = c.bool(s); } },
  };
}

/** A keyword vigil accepts and keeps the words of, without acting on it. */
export function keep<T extends { other: Record<string, string[]> }>(reason = 'not implemented yet; the setting is kept', block?: 'required' | 'optional'): Kw<T> {
  return {
    unsupported: reason,
    ...(block ? { block } : {}),
    multi: true,
    h: (s, c, t) => { t.other[s.keyword] = c.rest(s); },
  };
}
