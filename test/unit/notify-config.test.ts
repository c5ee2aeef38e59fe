// The global_defs keywords the notifier reads: no_checker_emails, vrrp_notify_priority_changes,
// vigil_smtp_auth_file (vigil extension), and the mail addresses config-test warns about.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { codes, parse } from '../helpers.js';

const conf = (body: string) => `global_defs {\n${body}\n}\n`;

test('no_checker_emails, vrrp_notify_priority_changes and vigil_smtp_auth_file are read into the model', () => {
  const r = parse(conf('  no_checker_emails\n  vrrp_notify_priority_changes\n  vigil_smtp_auth_file /etc/vigil/smtp-auth'));
  assert.deepEqual(codes(r), []);
  assert.equal(r.config.global.noCheckerEmails, true);
  assert.equal(r.config.global.vrrpNotifyPriorityChanges, true);
  assert.equal(r.config.global.vigil.smtpAuthFile, '/etc/vigil/smtp-auth');
  const unset = parse(conf('  router_id a'));
  assert.equal(unset.config.global.noCheckerEmails, undefined);
  assert.equal(unset.config.global.vigil.smtpAuthFile, undefined);
});

test('a recipient address that is not one is a warning at config-test', () => {
  const r = parse(conf(`  notification_email {
    ops@example.com
    "Ops Team <team@example.com>"
    root@localhost
    admin@[192.0.2.1]
    nobody
    two@@example.com
  }`));
  assert.deepEqual(codes(r), ['7:5 invalid-email', '8:5 invalid-email']);
  assert.match(r.diagnostics[0]!.message, /'nobody' is not a mail address/);
  assert.deepEqual(r.config.global.notificationEmail.length, 6, 'kept: keepalived would send to it');
});
