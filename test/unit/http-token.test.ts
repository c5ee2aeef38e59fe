// loadHttpToken (adapters/http/token.ts): where the HTTP token comes from, and the token files it
// refuses.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { HttpSetupError } from '../../adapters/http/errors.js';
import { loadHttpToken } from '../../adapters/http/token.js';

const TOKEN = '0123456789abcdef0123';

/** a temporary directory, with a helper writing a file of the given mode */
function inDir(f: (t: { d: string; file: (name: string, text: string, mode?: number) => string }) => void) {
  const d = mkdtempSync(path.join(tmpdir(), 'vigil-token-'));
  const file = (name: string, text: string, mode = 0o600) => {
    const p = path.join(d, name);
    writeFileSync(p, text);
    chmodSync(p, mode);
    return p;
  };
  try {
    f({ d, file });
  } finally {
    rmSync(d, { recursive: true, force: true });
  }
}

const refused = (why: RegExp) => (err: unknown) => err instanceof HttpSetupError && err.code === 'BAD_TOKEN' && why.test(err.message);

test('from the file (trailing newline trimmed), else the environment, else none', () => inDir((t) => {
  const f = t.file('token', `${TOKEN}\n`);
  assert.equal(loadHttpToken(f, {}), TOKEN);
  assert.equal(loadHttpToken(f, { VIGIL_HTTP_TOKEN: 'another-token-from-env' }), TOKEN, 'the file wins');
  assert.equal(loadHttpToken(undefined, { VIGIL_HTTP_TOKEN: 'another-token-from-env' }), 'another-token-from-env');
  assert.equal(loadHttpToken(undefined, {}), undefined);
  assert.equal(loadHttpToken(undefined, { VIGIL_HTTP_TOKEN: '' }), undefined);
}));

test('files other users could read or change, and unusable tokens, are refused with the reason', () => inDir((t) => {
  for (const mode of [0o644, 0o640, 0o620, 0o604, 0o602]) {
    const f = t.file(`m${mode.toString(8)}`, TOKEN, mode);
    assert.throws(() => loadHttpToken(f, {}), refused(new RegExp(`mode 0${mode.toString(8)}.*chmod 600`)));
  }
  assert.throws(() => loadHttpToken(path.join(t.d, 'missing'), {}), refused(/cannot open/));
  const link = path.join(t.d, 'link');
  symlinkSync(t.file('target', TOKEN), link);
  assert.throws(() => loadHttpToken(link, {}), refused(/cannot open/), 'a symlink is not followed');
  const sub = path.join(t.d, 'sub');
  mkdirSync(sub, { mode: 0o700 });
  assert.throws(() => loadHttpToken(sub, {}), refused(/not a regular file/));
  if (process.getuid?.() === 0) {
    // another user's file: they could change it (or its mode) at any time
    const theirs = t.file('theirs', TOKEN);
    chownSync(theirs, 65534, 65534);
    assert.throws(() => loadHttpToken(theirs, {}), refused(/belongs to uid 65534/));
  }
  assert.throws(() => loadHttpToken(t.file('empty', '\n'), {}), refused(/empty/));
  assert.throws(() => loadHttpToken(t.file('short', 'secret'), {}), refused(/6 characters; use at least 16/));
  assert.throws(() => loadHttpToken(t.file('spaces', 'two words in a token here'), {}), refused(/printable ASCII without spaces/));
  assert.throws(() => loadHttpToken(undefined, { VIGIL_HTTP_TOKEN: 'short' }), refused(/\$VIGIL_HTTP_TOKEN: .*5 characters/));
}));
