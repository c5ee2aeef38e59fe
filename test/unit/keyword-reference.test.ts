// docs/config-keywords.md is generated from the keyword tables; this fails when it is stale.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { keywordReference } from '../../adapters/config/keywords/reference.js';

test('docs/config-keywords.md matches the keyword tables', () => {
  const file = path.resolve(import.meta.dirname, '../../docs/config-keywords.md');
  const now = keywordReference();
  if (process.env.UPDATE_GOLDEN) fs.writeFileSync(file, now);
  assert.equal(fs.readFileSync(file, 'utf8'), now, 'run UPDATE_GOLDEN=1 npm test and commit docs/config-keywords.md');
  // every block of keepalived.md §1 that issue #3 names is covered
  for (const block of ['global_defs', 'vrrp_script', 'vrrp_sync_group', 'vrrp_instance', 'virtual_server', 'real_server', 'HTTP_GET', 'SSL_GET', 'TCP_CHECK', 'SMTP_CHECK', 'MISC_CHECK', 'DNS_CHECK', 'UDP_CHECK', 'PING_CHECK', 'FILE_CHECK', 'track_file', 'vrrp_track_process']) {
    assert.match(now, new RegExp(`^## ${block}$`, 'm'), block);
  }
});
