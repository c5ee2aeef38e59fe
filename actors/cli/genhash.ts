// `vigil genhash`: keepalived's genhash (keepalived/check/check_genhash.c, `keepalived --genhash`):
// GET a URL exactly as HTTP_GET / SSL_GET do, through the checker's own fetch (httpFetch in
// adapters/checkers/http.ts), and print the MD5 digest of the body to paste into `digest`.
//
// As genhash: the flags (-s -p -u -S -I -V -P -t -v -h, long forms too), -s takes an IP address
// only, the status code is not checked, the output is the digest in hex on one line (keepalived
// 2.x; genhash 1.x printed "MD5SUM = ..."), and -v adds genhash's dumps (the header in hex and as
// text, the body in hex as it arrives, the digest) and "Global response time for [PATH] = N usecs".
// Usage errors print the usage on stderr and exit 1.
// Differences: a failed fetch ("connect ECONNREFUSED", a timeout) goes to stderr with exit 1;
// genhash prints it on stdout and exits 0, so a script could take the message for a digest.
// Without -t, genhash waits for ever; vigil gives up after 5 s without progress (keepalived's
// connect_timeout default). -m/--fwmark is refused: Node.js cannot set SO_MARK on a socket.
import { isIP } from 'node:net';
import { parseArgs } from 'node:util';
import { httpFetch, type HttpProtocol } from '../../adapters/checkers/http.js';
import { COMMANDS } from './commands.js';

const DEFAULT_TIMEOUT_S = 5;

const help = (): string => COMMANDS.find((c) => c.name === 'genhash')?.help ?? 'Usage: vigil genhash -s ADDRESS -p PORT -u PATH\n';

function usageError(message: string): number {
  process.stderr.write(`vigil genhash: ${message}\n${help()}`);
  return 1;
}

// keepalived's output delimiters (check_http.c)
const DELIM = (title: string) => `-----------------------[${title}]-----------------------\n`;
const HTTP_HEADER_HEXA = DELIM('    HTTP Header Buffer    ');
const HTTP_HEADER_ASCII = DELIM(' HTTP Header Ascii Buffer ');
const HTML_HEADER_HEXA = DELIM('        HTML Buffer        ');
const HTML_HASH = DELIM('    HTML hash resulting    ');
const HTML_HASH_FINAL = DELIM(' HTML hash final resulting ');

/** keepalived's dump_buffer (lib/utils.c): decimal offset, 16 bytes in hex split by '-', printable text. */
export function dumpBuffer(buf: Uint8Array): string {
  let out = '';
  for (let row = 0; row < buf.length; row += 16) {
    let line = String(row & 0xffff).padStart(4, '0') + ' ';
    let text = '';
    for (let i = row; i < row + 16; i++) {
      const b = buf[i];
      line += b === undefined ? '   ' : ` ${b.toString(16).padStart(2, '0')}`;
      text += b === undefined ? ' ' : b >= 0x20 && b <= 0x7e ? String.fromCharCode(b) : '.';
      if ((i + 1) % 8 === 0 && (i + 1) % 16 !== 0) line += ' -';
    }
    out += `${line}   ${text}\n`;
  }
  return out;
}

export async function genhash(args: readonly string[]): Promise<number> {
  let values;
  try {
    values = parseArgs({
      args: [...args],
      options: {
        server: { type: 'string', short: 's' },
        port: { type: 'string', short: 'p' },
        url: { type: 'string', short: 'u' },
        'use-ssl': { type: 'boolean', short: 'S' },
        'use-sni': { type: 'boolean', short: 'I' },
        'use-virtualhost': { type: 'string', short: 'V' },
        protocol: { type: 'string', short: 'P' },
        timeout: { type: 'string', short: 't' },
        fwmark: { type: 'string', short: 'm' },
        verbose: { type: 'boolean', short: 'v' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }).values;
  } catch (err) {
    return usageError((err as Error).message);
  }
  if (values.help) {
    process.stdout.write(help());
    return 0;
  }
  if (values.fwmark !== undefined) return usageError('--fwmark is not supported: Node.js cannot set SO_MARK on a socket');
  const { server, url: path } = values;
  if (server === undefined || values.port === undefined || path === undefined) return usageError('-s, -p and -u are required');
  const family = isIP(server);
  if (!family) return usageError(`server should be an IP, not ${server}`);
  const port = /^\d+$/.test(values.port) ? Number(values.port) : NaN;
  if (!(port >= 1 && port <= 65535)) return usageError(`invalid port number '${values.port}'`);
  const protocols: Record<string, HttpProtocol> = { '1.0': '1.0', '1.0c': '1.0C', '1.0C': '1.0C', '1.1': '1.1' };
  const protocol = protocols[values.protocol ?? '1.0'];
  if (!protocol) return usageError(`invalid HTTP protocol version '${values.protocol}'`);
  const timeoutS = values.timeout === undefined ? DEFAULT_TIMEOUT_S : /^\s*\d+$/.test(values.timeout) ? Number(values.timeout) : NaN;
  if (Number.isNaN(timeoutS)) return usageError(`invalid timeout '${values.timeout}'`);
  const vhost = values['use-virtualhost'];

  const out = (s: string | Uint8Array) => process.stdout.write(s);
  const verbose = values.verbose === true;
  let bodySeen = false;
  const t0 = performance.now();
  const r = await httpFetch({
    address: server, port, family: family as 4 | 6, path, protocol,
    ...(vhost !== undefined ? { virtualhost: vhost } : {}),
    ...(values['use-ssl'] ? { tls: values['use-sni'] && vhost !== undefined ? { servername: vhost } : {} } : {}),
  }, {
    timeoutMs: timeoutS * 1000,
    ...(verbose ? {
      onHeader: (h: Buffer) => {
        out(HTTP_HEADER_HEXA + dumpBuffer(h) + HTTP_HEADER_ASCII);
        out(Buffer.concat([h, Buffer.from('\n')]));
      },
      onBody: (chunk: Buffer) => {
        if (!bodySeen) out(HTML_HEADER_HEXA);
        bodySeen = true;
        out(dumpBuffer(chunk));
      },
    } : {}),
  });
  if (!r.ok) {
    process.stderr.write(r.detail === 'no data received' ? 'no data received from remote webserver\n' : `vigil genhash: ${r.detail}\n`);
    return 1;
  }
  if (verbose) out(`\n${HTML_HASH}${dumpBuffer(Buffer.from(r.value.md5, 'hex'))}${HTML_HASH_FINAL}`);
  out(`${r.value.md5}\n`);
  if (verbose) out(`\nGlobal response time for [${path}] = ${Math.round((performance.now() - t0) * 1000)} usecs\n`);
  return 0;
}

export const run = genhash;
