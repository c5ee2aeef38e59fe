// keepalived's notification texts, word for word: mail subjects and bodies (keepalived/core/smtp.c
// smtp_alert, vrrp/vrrp_notify.c, check/check_*.c, check/ipwrapper.c), FIFO lines and the generic
// notify script's arguments (vrrp/vrrp_notify.c notify_fifo, notify_script_exec; check/ipwrapper.c
// notify_fifo_vs, notify_fifo_rs). Pure.
import type { CheckerType, RealServer, VirtualServer } from '../adapters/config/model.js';
import type { BusEvent } from './bus.js';
import { formatLine } from './format-event.js';

/** The states a VRRP notification names (INIT is never notified). */
export type NotifyState = 'MASTER' | 'BACKUP' | 'FAULT' | 'STOP' | 'DELETED';

// ---------------------------------------------------------------- addresses as keepalived prints them

const proto = (vs: VirtualServer) => vs.protocol.toLowerCase();

/** keepalived's inet_sockaddrtotrio: `[10.0.0.1]:tcp:80`, `[2001:db8::1]:udp:53` */
const trio = (address: string, protocol: string, port: number | undefined) => `[${address}]:${protocol}:${port ?? 0}`;

/** FMT_VS (check_data.c format_vs): `[10.0.0.100]:tcp:80`, `FWM 5`, `[GROUP]:0` */
export function fmtVs(vs: VirtualServer): string {
  if (vs.kind === 'group') return `[${vs.group ?? ''}]:${vs.port ?? 0}`;
  if (vs.kind === 'fwmark') return `FWM ${vs.fwmark ?? 0}`;
  return trio(vs.address ?? '', proto(vs), vs.port);
}

/** FMT_RS (check_data.c format_rs): the real server with its virtual server's protocol */
export function fmtRs(rs: RealServer, vs: VirtualServer): string {
  return trio(rs.address, proto(vs), rs.port ?? vs.port);
}

// ---------------------------------------------------------------- mail

export interface MailText {
  readonly subject: string;
  readonly body: string;
}

const VRRP_MAIL: Record<NotifyState, MailText> = {
  MASTER: { subject: 'Entering MASTER state', body: '=> VRRP Instance is now owning VRRP VIPs <=' },
  BACKUP: { subject: 'Entering BACKUP state', body: '=> VRRP Instance is no longer owning VRRP VIPs <=' },
  FAULT: { subject: 'Entering FAULT state', body: '=> VRRP Instance is no longer owning VRRP VIPs <=' },
  STOP: { subject: 'Stopping', body: '=> VRRP Instance stopping <=' },
  DELETED: { subject: 'Deleted', body: '=> VRRP Deleted at reload <=' },
};

const GROUP_MAIL: Partial<Record<NotifyState, MailText>> = {
  MASTER: { subject: 'Entering MASTER state', body: '=> All VRRP group instances are now in MASTER state <=' },
  BACKUP: { subject: 'Entering BACKUP state', body: '=> All VRRP group instances are now in BACKUP state <=' },
  FAULT: { subject: 'Entering FAULT state', body: '=> All VRRP group instances are now in FAULT state <=' },
  STOP: { subject: 'Stopping', body: '=> All VRRP group instances are now stopping <=' },
};

/** vrrp_smtp_notifier: `[lb1] VRRP Instance VI_1 - Entering MASTER state` */
export function instanceMail(routerId: string, instance: string, state: NotifyState): MailText {
  const t = VRRP_MAIL[state];
  return { subject: `[${routerId}] VRRP Instance ${instance} - ${t.subject}`, body: t.body };
}

/** vrrp_sync_smtp_notifier (a group is never DELETED) */
export function groupMail(routerId: string, group: string, state: NotifyState): MailText | undefined {
  const t = GROUP_MAIL[state];
  return t && { subject: `[${routerId}] VRRP Group ${group} - ${t.subject}`, body: t.body };
}

/** SMTP_MSG_RS / SMTP_MSG_RS_SHUT: `[lb1] Realserver [10.0.0.1]:tcp:80 of virtual server [10.0.0.100]:tcp:80 - DOWN` */
export function realServerSubject(routerId: string, rs: RealServer, vs: VirtualServer, up: boolean): string {
  return `[${routerId}] Realserver ${fmtRs(rs, vs)} of virtual server ${fmtVs(vs)} - ${up ? 'UP' : 'DOWN'}`;
}

/** SMTP_MSG_VS: `[lb1] Virtualserver [10.0.0.100]:tcp:80 - UP` */
export function virtualServerSubject(routerId: string, vs: VirtualServer, up: boolean): string {
  return `[${routerId}] Virtualserver ${fmtVs(vs)} - ${up ? 'UP' : 'DOWN'}`;
}

/**
 * The body each checker sends when it changes state (check_tcp.c tcp_epilog, check_http.c,
 * check_smtp.c smtp_final, check_misc.c, check_dns.c, check_ping.c, check_udp.c, check_bfd.c).
 * FILE_CHECK sends no mail. `detail`: the failed check's reason (SMTP_CHECK and MISC_CHECK use it).
 */
export function checkerBody(type: CheckerType, up: boolean, detail: string | null, bfdName?: string): string | undefined {
  switch (type) {
    case 'TCP_CHECK':
      return up ? '=> TCP CHECK succeed on service <=' : '=> TCP CHECK failed on service <=';
    case 'HTTP_GET':
    case 'SSL_GET':
      return up ? '=> CHECK succeed on service <=' : '=> CHECK failed on service : HTTP/SSL request failed <=';
    case 'SMTP_CHECK':
      return up ? '=> CHECK succeed on service <=' : detail ? `=> CHECK failed on service : ${detail} <=` : '=> CHECK failed on service <=';
    case 'MISC_CHECK': {
      const how = up ? 'succeeded' : detail?.startsWith('timed out') ? 'timed out' : 'failed';
      return `=> MISC CHECK ${how} on service <=`;
    }
    case 'DNS_CHECK':
      return up ? '=> DNS_CHECK: succeed on service <=' : '=> DNS_CHECK: failed on service <=';
    case 'PING_CHECK':
      return up ? '=> ICMP CHECK succeed on service <=' : '=> ICMP CHECK failed on service <=';
    case 'UDP_CHECK':
      return up ? '=> UDP CHECK succeed on service <=' : '=> UDP CHECK failed on service <=';
    case 'BFD_CHECK':
      return `=> BFD CHECK ${bfdName ?? ''} ${up ? 'succeeded' : 'failed'} on service <=`;
    case 'FILE_CHECK':
      return undefined;
  }
}

/** do_vs_notifies: `=> Gained quorum 2+1=3 <= 4 <=`, `=> Starting with quorum down 3+0=3 <= 0 <=`, `=> Shutting down <=` */
export function quorumBody(q: { state: 'up' | 'down'; initial: boolean; quorum: number; hysteresis: number; threshold: number; weight: number; cause: string }): string {
  if (q.cause === 'shutdown') return '=> Shutting down <=';
  const what = q.state === 'up' ? (q.initial ? 'Starting with quorum up' : 'Gained quorum') : q.initial ? 'Starting with quorum down' : 'Lost quorum';
  return `=> ${what} ${q.quorum}+${q.hysteresis}=${q.threshold} <= ${q.weight} <=`;
}

/** clear_service_rs: a real server leaving at shutdown (omega) or at a reload */
export const rsRemovedBody = (shutdown: boolean) => (shutdown ? '=> Shutting down <=' : '=> Removing <=');

/**
 * The vigil addition below keepalived's body: the event the mail tells of, the chain of events
 * that caused it (as far as the notifier still remembers them) and the correlation id.
 */
export function vigilTrailer(e: BusEvent, causes: readonly BusEvent[]): string {
  const lines = ['', '-- ', `vigil event ${e.id}`, `  ${formatLine(e)}`];
  if (causes.length) lines.push('caused by:', ...causes.map((c) => `  ${formatLine(c)}`));
  if (e.correlation !== e.id) lines.push(`correlation ${e.correlation}`);
  return lines.join('\n');
}

/** RFC 822 date in local time, as keepalived's body_cmd (`%a, %d %b %Y %H:%M:%S %z`) */
export function rfc822(ms: number): string {
  const d = new Date(ms);
  const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
  const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const p2 = (n: number) => String(n).padStart(2, '0');
  const off = -d.getTimezoneOffset();
  const zone = `${off >= 0 ? '+' : '-'}${p2(Math.floor(Math.abs(off) / 60))}${p2(Math.abs(off) % 60)}`;
  return `${DAYS[d.getDay()]}, ${p2(d.getDate())} ${MONTHS[d.getMonth()]} ${d.getFullYear()} ${p2(d.getHours())}:${p2(d.getMinutes())}:${p2(d.getSeconds())} ${zone}`;
}

// ---------------------------------------------------------------- FIFO lines

/** vrrp_notify.c notify_fifo: `INSTANCE "VI_1" MASTER 100\n`, `GROUP "G1" BACKUP 0\n` (also MASTER_RX_LOWER_PRI, MASTER_PRIORITY, BACKUP_PRIORITY) */
export function vrrpFifoLine(group: boolean, name: string, state: string, priority: number): string {
  return `${group ? 'GROUP' : 'INSTANCE'} "${name}" ${state} ${priority}\n`;
}

/** ipwrapper.c notify_fifo_vs: `VS [10.0.0.100]:tcp:80 UP\n` */
export function vsFifoLine(vs: VirtualServer, up: boolean): string {
  return `VS ${fmtVs(vs)} ${up ? 'UP' : 'DOWN'}\n`;
}

/** ipwrapper.c notify_fifo_rs: `RS [10.0.0.1]:tcp:80 [10.0.0.100]:tcp:80 DOWN\n` */
export function rsFifoLine(rs: RealServer, vs: VirtualServer, up: boolean): string {
  return `RS ${fmtRs(rs, vs)} ${fmtVs(vs)} ${up ? 'UP' : 'DOWN'}\n`;
}

/** notify_script_exec: the generic `notify` script's four arguments (a group's priority is always 0) */
export function genericArgs(group: boolean, name: string, state: NotifyState, priority: number): string[] {
  return [group ? 'GROUP' : 'INSTANCE', name, state, String(group ? 0 : priority)];
}
