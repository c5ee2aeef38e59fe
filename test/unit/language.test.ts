// The config language (keepalived.md §2): comments, quotes, braces, include, @id, $NAME, ~SEQ/~LST,
// and that every diagnostic keeps file, line and column through all of them.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { codes, parse } from '../helpers.js';

const vi = (body: string, name = 'VI_1') => `vrrp_instance ${name} {\n interface eth0\n virtual_router_id 51\n${body}\n}\n`;

describe('comments, quotes and braces', () => {
  test('# and ! comments anywhere outside quotes; \\# is a literal', () => {
    const r = parse(`! header\nglobal_defs { # trailing\n router_id "a#b" ! c\n notification_email_from x\\#y@z\n}\n`);
    assert.deepEqual(codes(r), []);
    assert.equal(r.config.global.routerId, 'a#b');
    assert.equal(r.config.global.notificationEmailFrom, 'x#y@z');
  });

  test('braces on the keyword line, on the next line, and blocks on one line', () => {
    const r = parse(`vrrp_instance VI_1\n{\n interface eth0\n virtual_router_id 7\n virtual_ipaddress { 10.0.0.1/24 }\n}\nvrrp_sync_group G { group { VI_1 } }\n`);
    assert.deepEqual(codes(r, 'error'), []);
    const inst = r.config.instances[0]!;
    assert.equal(inst.vrid, 7);
    assert.equal(inst.vips[0]?.address, '10.0.0.1');
    assert.deepEqual(r.config.syncGroups[0]?.members.map((m) => m.name), ['VI_1']);
  });

  test('a quoted string is one word; the script keyword splits it shell-like', () => {
    const r = parse(`vrrp_script chk {\n script "/bin/check --name 'a b' x\\ty"\n}\n${vi(' virtual_ipaddress {\n 10.0.0.1\n }\n track_script {\n chk\n }')}`);
    assert.deepEqual(codes(r, 'error'), []);
    assert.deepEqual(r.config.vrrpScripts[0]?.script?.argv, ['/bin/check', '--name', 'a b', 'x\ty']);
  });

  test('unmatched quote is an error at its column', () => {
    const r = parse(`global_defs {\n router_id "abc\n}\n`);
    assert.ok(codes(r).includes('2:12 unterminated-quote') || codes(r).includes('2:12 unmatched-quote'), codes(r).join());
  });

  test('missing and extra braces are reported where they are', () => {
    assert.deepEqual(codes(parse(`global_defs {\n router_id a\n`), 'error'), ['1:13 missing-brace']);
    assert.deepEqual(codes(parse(`global_defs {\n router_id a\n}\n}\n`), 'error'), ['4:1 extra-brace']);
    assert.deepEqual(codes(parse(`{\n router_id a\n}\n`), 'error'), ['1:1 unexpected-brace']);
  });
});

describe('include', () => {
  test('relative to the including file, with globs and braces, in order', () => {
    const r = parse(`include conf.d/*.conf\ninclude other/{b,a}.conf\n`, {
      '/etc/keepalived/conf.d/20.conf': vi(' virtual_ipaddress {\n 10.0.0.2\n }', 'VI_20').replace('51', '20'),
      '/etc/keepalived/conf.d/10.conf': vi(' virtual_ipaddress {\n 10.0.0.1\n }', 'VI_10').replace('51', '10'),
      '/etc/keepalived/other/a.conf': 'global_defs {\n router_id A\n}\n',
      '/etc/keepalived/other/b.conf': 'global_defs {\n router_id B\n}\n',
    });
    assert.deepEqual(codes(r, 'error'), []);
    assert.deepEqual(r.config.instances.map((i) => i.name), ['VI_10', 'VI_20']);
    assert.equal(r.config.global.routerId, 'A'); // b then a: a wins
    assert.equal(r.config.files.length, 5);
  });

  test('nested include is relative to the nested file', () => {
    const r = parse(`include sub/x.conf\n`, {
      '/etc/keepalived/sub/x.conf': 'include y.conf\n',
      '/etc/keepalived/sub/y.conf': 'global_defs {\n router_id Y\n}\n',
    });
    assert.equal(r.config.global.routerId, 'Y');
  });

  test('a missing named file is an error; a glob matching nothing a warning', () => {
    const r = parse(`include nothere.conf\ninclude none/*.conf\n`);
    assert.deepEqual(codes(r), ['1:9 include-not-found', '2:9 include-no-match']);
    assert.equal(r.diagnostics[1]?.severity, 'warning');
    assert.equal(r.exitCode, 4);
  });

  test('includew makes an empty glob an error', () => {
    assert.deepEqual(codes(parse(`includew none/*.conf\n`), 'error'), ['1:10 include-no-match']);
  });

  test('cycles are reported, not followed', () => {
    const r = parse(`include a.conf\n`, {
      '/etc/keepalived/a.conf': 'include b.conf\nglobal_defs {\n router_id A\n}\n',
      '/etc/keepalived/b.conf': 'include a.conf\n',
    });
    assert.equal(r.config.global.routerId, 'A');
    const d = r.diagnostics.find((x) => x.code === 'include-cycle');
    assert.ok(d);
    assert.equal(d.loc.file, '/etc/keepalived/b.conf');
    assert.equal(d.loc.line, 1);
    assert.equal(d.loc.via?.[0]?.loc.file, '/etc/keepalived/a.conf');
  });

  test('diagnostics inside an included file name that file and the include chain', () => {
    const r = parse(`include x.conf\n`, { '/etc/keepalived/x.conf': 'global_defs {\n routr_id a\n}\n' });
    const d = r.diagnostics[0]!;
    assert.equal(d.code, 'unknown-keyword');
    assert.deepEqual([d.loc.file, d.loc.line, d.loc.col], ['/etc/keepalived/x.conf', 2, 2]);
    assert.equal(d.hint, "did you mean 'router_id'?");
    assert.deepEqual([d.loc.via?.[0]?.what, d.loc.via?.[0]?.loc.line], ['included from', 1]);
  });

  test('the main file missing is fatal: exit 3', () => {
    const r = parse('', {}, { fs: { read: () => ({ ok: false, reason: 'not-found', detail: 'x: no such file' }), list: () => [], isDirectory: () => false, exists: () => false } });
    assert.equal(r.exitCode, 3);
    assert.equal(r.diagnostics[0]?.code, 'config-not-found');
  });
});

describe('@id conditional lines', () => {
  test('@id keeps the line on that node only; @^id everywhere else', () => {
    const text = `global_defs {\n@node1 router_id one\n@node2 router_id two\n@^node1 smtp_helo_name other\n}\n`;
    const a = parse(text, {}, { configId: 'node1' });
    assert.equal(a.config.global.routerId, 'one');
    assert.equal(a.config.global.smtpHeloName, undefined);
    const b = parse(text, {}, { configId: 'node2' });
    assert.equal(b.config.global.routerId, 'two');
    assert.equal(b.config.global.smtpHeloName, 'other');
  });
});

describe('$NAME parameters', () => {
  test('single-line definitions, $NAME and ${NAME}, recursive, undefined left alone', () => {
    // as keepalived: $NAME must end at whitespace, ',', ')' or the line end, so "$PFX.5" is literal
    assert.equal(parse(`$PFX=10\nglobal_defs {\n router_id $PFX.5\n}\n`).config.global.routerId, '$PFX.5');
    const r = parse(`$PFX=10.0.0\n$VIP=\${PFX}.5/24\nglobal_defs {\n router_id \${VIP}x\n notification_email_from $UNDEFINED\n}\n`);
    assert.equal(r.config.global.routerId, '10.0.0.5/24x');
    assert.equal(r.config.global.notificationEmailFrom, '$UNDEFINED');
  });

  test('multi-line definition expands to a whole block; errors inside point at the definition line', () => {
    const text = [
      '$INST= \\',
      'vrrp_instance VI_$N { \\',
      '  interface eth0 \\',
      '  virtual_router_id $N \\',
      '  priorty 100 \\',
      '  virtual_ipaddress { \\',
      '    10.0.0.$N \\',
      '  } \\',
      '}',
      '',
      '$N=1',
      '$INST',
      '$N=2',
      '$INST',
    ].join('\n');
    const r = parse(text);
    assert.deepEqual(r.config.instances.map((i) => [i.name, i.vrid, i.vips[0]?.address]), [['VI_1', 1, '10.0.0.1'], ['VI_2', 2, '10.0.0.2']]);
    const typos = r.diagnostics.filter((d) => d.code === 'unknown-keyword');
    assert.equal(typos.length, 2, 'one per expansion');
    assert.deepEqual([typos[0]!.loc.line, typos[0]!.loc.col], [5, 3]);
    assert.deepEqual(typos.map((d) => d.loc.via?.[0]?.loc.line), [12, 14]);
    assert.match(typos[0]!.loc.via?.[0]?.what ?? '', /expansion of \$INST/);
  });

  test('built-ins: _PWD, _INSTANCE, _ENV, _RANDOM, _HASH, _BANG', () => {
    const r = parse(`global_defs {\n router_id \${_INSTANCE}-\${_ENV HOME}\n smtp_helo_name \${_PWD}\n notification_email_from "a\${_HASH}b\${_BANG}c"\n smtp_connect_timeout \${_RANDOM 10 20}\n}\n`);
    assert.deepEqual(codes(r), []);
    assert.equal(r.config.global.routerId, 'node1-/root');
    assert.equal(r.config.global.smtpHeloName, '/etc/keepalived');
    assert.equal(r.config.global.notificationEmailFrom, 'a#b!c');
    assert.equal(r.config.global.smtpConnectTimeoutMs, 15_000); // random() = 0.5 → 10 + floor(0.5 * 11)
  });

  test('a definition that refers to itself stops with an error, not a hang', () => {
    const r = parse(`$A=x $A\nglobal_defs {\n router_id $A\n}\n`);
    assert.ok(codes(r).some((c) => c.endsWith('expansion-too-deep')), codes(r).join());
  });
});

describe('~SEQ and ~LST generators', () => {
  test('~SEQ(var, start, step, end), ~SEQx, and nesting', () => {
    const r = parse(`vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 1\n virtual_ipaddress {\n~SEQ(i, 1, 2, 5) 10.0.0.$i\n~SEQx(h, 9, 11) fd00::$h\n }\n}\n`);
    assert.deepEqual(r.config.instances[0]!.vips.map((v) => v.address), ['10.0.0.1', '10.0.0.3', '10.0.0.5', 'fd00::9', 'fd00::a', 'fd00::b']);
    const nested = parse(`vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 1\n virtual_ipaddress {\n~SEQ(a, 1, 2) ~SEQ(b, 1, 2) 10.\${a}.\${b}.1\n }\n}\n`);
    assert.deepEqual(nested.config.instances[0]!.vips.map((v) => v.address), ['10.1.1.1', '10.1.2.1', '10.2.1.1', '10.2.2.1']);
  });

  test('~LST with one variable and with a tuple of variables', () => {
    const r = parse(['$INST= \\', 'vrrp_instance VI_$n { \\', ' interface eth0 \\', ' virtual_router_id $v \\', ' virtual_ipaddress { \\', ' 10.0.0.$v \\', ' } \\', '}', '', '~LST({n, v}, {A, 1}, {B, 2}) $INST'].join('\n'));
    assert.deepEqual(r.config.instances.map((i) => [i.name, i.vrid]), [['VI_A', 1], ['VI_B', 2]]);
  });

  test('a bad generator is an error with its line; a diagnostic inside one says which iteration', () => {
    assert.deepEqual(codes(parse(`~SEQ(i, 1, -1, 5) x\n`)), ['1:1 bad-seq']);
    const r = parse(`global_defs {\n~SEQ(i, 1, 2) bogus_$i 1\n}\n`);
    assert.deepEqual(codes(r), ['2:15 unknown-keyword', '2:15 unknown-keyword']);
    assert.deepEqual(r.diagnostics.map((d) => d.loc.via?.[0]?.what), ['generated by ~SEQ with i=1 at', 'generated by ~SEQ with i=2 at']);
  });
});

describe('limits', () => {
  test('a definition that doubles on every expansion is cut at the line limit, not run out of memory', () => {
    const r = parse(`$X=$X $X\nglobal_defs {\n router_id $X\n}\n`);
    assert.ok(codes(r).some((c) => c.endsWith('line-too-long') || c.endsWith('expansion-too-deep')), codes(r).join());
  });
  test('a generator that would make too many lines stops with a fatal error', () => {
    const r = parse(`~SEQ(i, 1, 5000) ~SEQ(j, 1, 5000) global_defs {\n`, {}, { maxLines: 10_000 });
    assert.ok(codes(r).some((c) => c.endsWith('too-many-lines')), codes(r).join());
    assert.equal(r.exitCode, 3);
  });
});
