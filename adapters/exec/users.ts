// Script user/group names → uid/gid, read from /etc/passwd and /etc/group (no shelling out, no
// NSS: like getpwnam_r/getgrnam_r on a files-only host). Parsed files are cached and re-read when
// their mtime or size changes, so a user added after start is found.
//
// keepalived (keepalived/core/notify.c set_uid_gid): the gid is the user's primary group unless a
// group is named. A group written `:GROUP` (or a lone `:`) also asks for the user's supplementary
// groups; Node's spawn cannot set those (libuv calls setgroups(0, NULL) when it changes uid), so
// vigil drops all supplementary groups, and says so in `note`.
import { readFile, stat } from 'node:fs/promises';

export interface Ids { readonly uid: number; readonly gid: number }
export type Resolved = ({ ok: true; note?: string } & Ids) | { ok: false; error: string };

/** `name:pw:uid:gid:gecos:home:shell` lines; malformed lines are skipped. */
export function parsePasswd(text: string): Map<string, Ids> {
  const users = new Map<string, Ids>();
  for (const line of text.split('\n')) {
    const f = line.split(':');
    if (f.length < 4 || !f[0] || line.startsWith('#') || line.startsWith('+') || line.startsWith('-')) continue;
    const uid = toId(f[2]);
    const gid = toId(f[3]);
    if (uid !== undefined && gid !== undefined && !users.has(f[0])) users.set(f[0], { uid, gid });
  }
  return users;
}

/** `name:pw:gid:members` lines; malformed lines are skipped. */
export function parseGroup(text: string): Map<string, number> {
  const groups = new Map<string, number>();
  for (const line of text.split('\n')) {
    const f = line.split(':');
    if (f.length < 3 || !f[0] || line.startsWith('#') || line.startsWith('+') || line.startsWith('-')) continue;
    const gid = toId(f[2]);
    if (gid !== undefined && !groups.has(f[0])) groups.set(f[0], gid);
  }
  return groups;
}

function toId(s: string | undefined): number | undefined {
  if (!s || !/^\d{1,10}$/.test(s)) return undefined;
  const n = Number(s);
  return n <= 0xffff_ffff ? n : undefined;
}

interface Cached<T> { key: string; value: T }

export class UserResolver {
  #passwd: Cached<Map<string, Ids>> | undefined;
  #group: Cached<Map<string, number>> | undefined;

  constructor(readonly paths: { passwd: string; group: string } = { passwd: '/etc/passwd', group: '/etc/group' }) {}

  /** Never throws: an unknown name or an unreadable file is `{ ok: false }`. */
  async resolve(user: string, group?: string): Promise<Resolved> {
    let note: string | undefined;
    let name = group;
    if (name?.startsWith(':')) {
      note = 'supplementary groups are not set (Node spawn clears them)';
      name = name.slice(1) || undefined;
    }
    try {
      const users = await this.#load('passwd', parsePasswd);
      const u = users.get(user);
      if (!u) return { ok: false, error: `script user '${user}' does not exist` };
      let gid = u.gid;
      if (name !== undefined) {
        const g = (await this.#load('group', parseGroup)).get(name);
        if (g === undefined) return { ok: false, error: `script group '${name}' does not exist` };
        gid = g;
      }
      return { ok: true, uid: u.uid, gid, ...(note ? { note } : {}) };
    } catch (err) {
      return { ok: false, error: `cannot read user database: ${(err as Error).message}` };
    }
  }

  async #load<T>(which: 'passwd' | 'group', parse: (text: string) => T): Promise<T> {
    const path = this.paths[which];
    const st = await stat(path);
    const key = `${st.mtimeMs}:${st.size}:${st.ino}`;
    const cached = (which === 'passwd' ? this.#passwd : this.#group) as Cached<T> | undefined;
    if (cached?.key === key) return cached.value;
    const value = parse(await readFile(path, 'utf8'));
    if (which === 'passwd') this.#passwd = { key, value: value as Map<string, Ids> };
    else this.#group = { key, value: value as Map<string, number> };
    return value;
  }
}
