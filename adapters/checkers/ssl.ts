// The `SSL { }` block made into the TLS context SSL_GET connects with (keepalived's check_ssl.c):
// a client certificate chain and its key (decrypted with `password`) for servers that ask for one,
// and the `ca` file, loaded as keepalived loads it. As in keepalived the server's certificate is
// not verified: the check is about the service answering, and real servers are named by address.
// config-test loads the same context (adapters/config/host.ts), so a missing file, a wrong password
// or a key that does not match its certificate is an error before vigil runs, not a checker that
// fails every check (keepalived's checker process terminates on it).
import { readFileSync } from 'node:fs';
import * as tls from 'node:tls';
import type { SslContextSpec } from '../config/model.js';

export type SslFiles = Pick<SslContextSpec, 'ca' | 'certificate' | 'key' | 'password'>;

export type SslContextResult =
  | { readonly ok: true; readonly context: tls.SecureContext }
  | { readonly ok: false; readonly keyword: 'ca' | 'certificate' | 'key'; readonly message: string };

/** A key without its certificate or the other way round (config-test says so without reading a file). */
export function sslIncomplete(spec: SslFiles): { keyword: 'certificate' | 'key'; message: string } | undefined {
  if (spec.key !== undefined && spec.certificate === undefined) return { keyword: 'key', message: 'a key without a certificate: add certificate FILE' };
  if (spec.certificate !== undefined && spec.key === undefined) return { keyword: 'certificate', message: 'a certificate without its key: add key FILE' };
  return undefined;
}

/** Read the files and build the context; which keyword's file is at fault when it cannot be made. */
export function loadSslContext(spec: SslFiles, read: (file: string) => Buffer = readFileSync): SslContextResult {
  const files: Partial<Record<'ca' | 'certificate' | 'key', Buffer>> = {};
  for (const k of ['ca', 'certificate', 'key'] as const) {
    const file = spec[k];
    if (file === undefined) continue;
    try {
      files[k] = read(file);
    } catch (err) {
      return { ok: false, keyword: k, message: `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` };
    }
  }
  // Node takes a CA file without a single certificate in it silently (OpenSSL's load_verify_locations does not)
  if (files.ca && !files.ca.includes('-----BEGIN CERTIFICATE-----')) return { ok: false, keyword: 'ca', message: `${spec.ca}: no PEM certificate in it` };
  const half = sslIncomplete(spec);
  if (half) return { ok: false, ...half };
  // one part at a time, so that the error names the file at fault
  const steps: ['ca' | 'certificate' | 'key', tls.SecureContextOptions][] = [
    ['ca', files.ca ? { ca: files.ca } : {}],
    ['certificate', files.certificate ? { cert: files.certificate } : {}],
    ['key', { ...(files.ca ? { ca: files.ca } : {}), ...(files.certificate ? { cert: files.certificate, key: files.key, ...(spec.password !== undefined ? { passphrase: spec.password } : {}) } : {}) }],
  ];
  let context: tls.SecureContext | undefined;
  for (const [k, opts] of steps) {
    try {
      context = tls.createSecureContext(opts);
    } catch (err) {
      const file = spec[k];
      const why = (err as Error).message.replace(/^error:[0-9A-F]+:[^:]*:[^:]*:/i, '');
      return { ok: false, keyword: k, message: `${file}: ${k === 'key' && /bad decrypt|bad password|interrupted or cancelled/i.test(why) ? 'cannot decrypt the key (wrong password?)' : why}` };
    }
  }
  return { ok: true, context: context! };
}
