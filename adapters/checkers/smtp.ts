// SMTP_CHECK (keepalived/check/check_smtp.c): read the banner, expect 220; send `HELO helo_name`,
// expect 250; send QUIT and read one more line. Each read has the timeout.
// Difference: a multi-line reply (`220-first`, `220 last`, RFC 5321 §4.2.1) is read to its last
// line; keepalived reads only the first line, and a `220-` banner fails there.
import type { SmtpChecker } from '../config/model.js';
import { connectTcp, destination, requirePort } from './net.js';
import { scoped, toResult, type Verdict } from './scope.js';
import type { ProbeOptions, ProbeResult, ProbeTarget } from './types.js';

/** keepalived's SMTP_BUFF_MAX */
const MAX_LINE = 512;

interface Step {
  readonly what: string;
  /** the reply code required; none for the reply to QUIT */
  readonly expect?: number;
  /** what to send once the reply is right; none: done */
  readonly send?: string;
}

export async function probeSmtp(checker: SmtpChecker, target: ProbeTarget, opts: ProbeOptions): Promise<ProbeResult> {
  return toResult(await scoped<Verdict>(opts, (s) => {
    const dst = destination(checker, target);
    if (!requirePort(s, dst)) return;
    const steps: Step[] = [
      { what: 'waiting for the banner', expect: 220, send: `HELO ${checker.heloName}\r\n` },
      { what: 'waiting for the HELO reply', expect: 250, send: 'QUIT\r\n' },
      { what: 'waiting for the QUIT reply' },
    ];
    connectTcp(s, dst, checker, (sock) => {
      let step = 0;
      let buf = '';
      s.wait((steps[0] as Step).what);
      sock.on('data', (chunk: Buffer) => {
        buf += chunk.toString('latin1');
        let nl: number;
        while (!s.settled && (nl = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, nl).replace(/\r$/, '');
          buf = buf.slice(nl + 1);
          const m = /^(\d{3})(?:(-)| |$)/.exec(line);
          if (m?.[2]) continue; // a continuation line: the code is on the last one
          const cur = steps[step] as Step;
          if (cur.expect !== undefined && Number(m?.[1]) !== cur.expect) {
            s.fail(`expected ${cur.expect} ${cur.what.replace('waiting for ', 'in ')}, got '${line.slice(0, 80)}'`);
            return;
          }
          if (!cur.send) { s.succeed({ detail: 'banner 220, HELO 250, QUIT answered' }); return; }
          sock.write(cur.send);
          step++;
          s.wait((steps[step] as Step).what);
        }
        if (buf.length > MAX_LINE) s.fail(`reply line longer than ${MAX_LINE} bytes`);
      });
      sock.on('end', () => s.fail(`connection closed ${(steps[step] as Step).what}`));
    });
  }));
}
