// The HTTP listener's bearer token: from a file (`--http-token-file`) or the environment
// (`VIGIL_HTTP_TOKEN`). The file is refused when another user could read or replace it: a token
// anyone on the host can read protects nothing, and one they can write they can choose.
import { closeSync, fstatSync, openSync, readFileSync, constants } from 'node:fs';
import { HttpSetupError } from './errors.js';

export const TOKEN_ENV = 'VIGIL_HTTP_TOKEN';
/** shorter tokens are refused: guessable, and a sign of a placeholder left in place */
export const MIN_TOKEN_LENGTH = 16;

/**
 * The token, or undefined when neither source gives one. The file wins over the variable (an
 * explicit option beats the environment). Throws HttpSetupError('BAD_TOKEN') naming the problem.
 */
export function loadHttpToken(file?: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (file !== undefined) return check(readTokenFile(file), file);
  const v = env[TOKEN_ENV];
  return v === undefined || v === '' ? undefined : check(v.trim(), `$${TOKEN_ENV}`);
}

function readTokenFile(file: string): string {
  let fd: number;
  try {
    // O_NOFOLLOW: the checks below are about this file, not whatever a symlink points to later
    fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (err) {
    throw new HttpSetupError('BAD_TOKEN', `${file}: cannot open the HTTP token file: ${(err as Error).message}`, { cause: err });
  }
  try {
    // checked on the open descriptor: no window between the check and the read
    const st = fstatSync(fd);
    if (!st.isFile()) throw new HttpSetupError('BAD_TOKEN', `${file}: the HTTP token file is not a regular file`);
    if (st.mode & 0o077) {
      const mode = (st.mode & 0o777).toString(8).padStart(4, '0');
      throw new HttpSetupError('BAD_TOKEN', `${file}: the HTTP token file has mode ${mode}; other users can read or change it (chmod 600 ${file})`);
    }
    const uid = process.getuid?.();
    if (uid !== undefined && st.uid !== uid && st.uid !== 0) {
      throw new HttpSetupError('BAD_TOKEN', `${file}: the HTTP token file belongs to uid ${st.uid}, not to root or to this process (uid ${uid})`);
    }
    return readFileSync(fd, 'utf8').trim();
  } finally {
    closeSync(fd);
  }
}

function check(token: string, source: string): string {
  if (!token) throw new HttpSetupError('BAD_TOKEN', `${source}: the HTTP token is empty`);
  if (/[^\x21-\x7e]/.test(token)) throw new HttpSetupError('BAD_TOKEN', `${source}: the HTTP token must be one line of printable ASCII without spaces`);
  if (token.length < MIN_TOKEN_LENGTH) throw new HttpSetupError('BAD_TOKEN', `${source}: the HTTP token is ${token.length} characters; use at least ${MIN_TOKEN_LENGTH} (e.g. openssl rand -hex 32)`);
  return token;
}
