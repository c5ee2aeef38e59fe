// The strict Prometheus text-format parser the metrics tests rely on (test/helpers/promtext.ts):
// it reads the format's own example and prom-client's escaping, and refuses every malformed input.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Gauge, Histogram, Registry } from 'prom-client';
import { parsePromText, PromTextError, samples, valueOf } from '../helpers/promtext.js';

// the example of https://prometheus.io/docs/instrumenting/exposition_formats/
const EXAMPLE = String.raw`# HELP http_requests_total The total number of HTTP requests.
# TYPE http_requests_total counter
http_requests_total{method="post",code="200"} 1027 1395066363000
http_requests_total{method="post",code="400"}    3 1395066363000

# Escaping in label values:
msdos_file_access_time_seconds{path="C:\\DIR\\FILE.TXT",error="Cannot find file:\n\"FILE.TXT\""} 1.458255915e9

# Minimalistic line:
metric_without_timestamp_and_labels 12.47

# A weird metric from before the epoch:
something_weird{problem="division by zero"} +Inf -3982045

# A histogram, which has a pretty complex representation in the text format:
# HELP http_request_duration_seconds A histogram of the request duration.
# TYPE http_request_duration_seconds histogram
http_request_duration_seconds_bucket{le="0.05"} 24054
http_request_duration_seconds_bucket{le="0.1"} 33444
http_request_duration_seconds_bucket{le="0.2"} 100392
http_request_duration_seconds_bucket{le="0.5"} 129389
http_request_duration_seconds_bucket{le="1"} 133988
http_request_duration_seconds_bucket{le="+Inf"} 144320
http_request_duration_seconds_sum 53423
http_request_duration_seconds_count 144320

# Finally a summary, which has a complex representation, too:
# HELP rpc_duration_seconds A summary of the RPC duration in seconds.
# TYPE rpc_duration_seconds summary
rpc_duration_seconds{quantile="0.01"} 3102
rpc_duration_seconds{quantile="0.05"} 3272
rpc_duration_seconds{quantile="0.5"} 4773
rpc_duration_seconds{quantile="0.9"} 9001
rpc_duration_seconds{quantile="0.99"} 76656
rpc_duration_seconds_sum 1.7560473e+07
rpc_duration_seconds_count 2693
`;

test("the format's own example", () => {
  const f = parsePromText(EXAMPLE);
  assert.equal(f.get('http_requests_total')?.type, 'counter');
  assert.equal(f.get('http_requests_total')?.help, 'The total number of HTTP requests.');
  assert.deepEqual(samples(f, 'http_requests_total', { code: '400' })[0], { name: 'http_requests_total', labels: { method: 'post', code: '400' }, value: 3, timestamp: 1395066363000 });
  assert.deepEqual(samples(f, 'msdos_file_access_time_seconds')[0]?.labels, { path: 'C:\\DIR\\FILE.TXT', error: 'Cannot find file:\n"FILE.TXT"' });
  assert.equal(valueOf(f, 'msdos_file_access_time_seconds'), 1458255915);
  assert.equal(valueOf(f, 'something_weird'), Infinity);
  assert.equal(samples(f, 'something_weird')[0]?.timestamp, -3982045);
  assert.equal(f.get('metric_without_timestamp_and_labels')?.type, 'untyped');
  assert.equal(f.get('http_request_duration_seconds')?.samples.length, 8);
  assert.equal(valueOf(f, 'http_request_duration_seconds_bucket', { le: '+Inf' }), 144320);
  assert.equal(valueOf(f, 'rpc_duration_seconds_sum'), 17560473);
  assert.equal(f.size, 6);
});

test('values: NaN and Inf in any case (Go ParseFloat), signs, exponents; blanks around labels', () => {
  const f = parsePromText('a NaN\nb Nan\nc -Inf\nd +inf\ne -1.5e-3\nf .5\ng { x = "1" , } 2\nh{} 3\n');
  assert.ok(Number.isNaN(valueOf(f, 'a')) && Number.isNaN(valueOf(f, 'b')));
  assert.deepEqual(['c', 'd', 'e', 'f', 'g', 'h'].map((n) => valueOf(f, n)), [-Infinity, Infinity, -0.0015, 0.5, 2, 3]);
  assert.deepEqual(samples(f, 'g')[0]?.labels, { x: '1' });
  assert.equal(parsePromText('').size, 0);
  assert.equal(parsePromText('\n').size, 0);
});

test("prom-client's output, escapes included, reads back to the same values", async () => {
  const r = new Registry();
  const g = new Gauge({ name: 'vigil_test_info', help: 'back\\slash and\nnewline', labelNames: ['v'], registers: [r] });
  const tricky = 'a "quoted" \\ back\nslash';
  g.set({ v: tricky }, 1);
  g.set({ v: '' }, NaN);
  const h = new Histogram({ name: 'vigil_test_seconds', help: 'h', labelNames: ['k'], buckets: [0.1, 1], registers: [r] });
  for (const x of [0.05, 0.5, 5]) h.observe({ k: 'a' }, x);
  h.observe({ k: 'b' }, 0.05);
  const f = parsePromText(await r.metrics());
  assert.equal(f.get('vigil_test_info')?.help, 'back\\slash and\nnewline');
  assert.equal(valueOf(f, 'vigil_test_info', { v: tricky }), 1);
  assert.ok(Number.isNaN(valueOf(f, 'vigil_test_info', { v: '' })));
  assert.deepEqual(samples(f, 'vigil_test_seconds_bucket', { k: 'a' }).map((s) => s.value), [1, 2, 3]);
  assert.equal(valueOf(f, 'vigil_test_seconds_count', { k: 'b' }), 1);
});

const refused: [string, string, RegExp][] = [
  ['no final line feed', 'a 1', /does not end with a line feed/],
  ['metric name starting with a digit', '1a 1\n', /must start with a metric name/],
  ['invalid character in a name', 'a-b 1\n', /blank expected before the value/],
  ['label name starting with a digit', 'a{1x="y"} 1\n', /invalid label name/],
  ['reserved label name', 'a{__x="y"} 1\n', /reserved/],
  ['label twice', 'a{x="1",x="2"} 1\n', /label x twice/],
  ['unknown escape in a label value', 'a{x="\\t"} 1\n', /invalid escape/],
  ['unterminated label value', 'a{x="y} 1\n', /unterminated/],
  ['unquoted label value', 'a{x=y} 1\n', /'"' expected/],
  ['missing comma', 'a{x="1" y="2"} 1\n', /',' or '}' expected/],
  ['missing value', 'a{x="1"}\n', /expected a value/],
  ['only a name', 'a \n', /expected a value/],
  ['value glued to the labels', 'a{x="1"}1\n', /blank expected/],
  ['invalid value', 'a 1,5\n', /invalid value/],
  ['hex value', 'a 0x10\n', /invalid value/],
  ['fractional timestamp', 'a 1 1.5\n', /invalid timestamp/],
  ['extra field', 'a 1 2 3\n', /expected a value and an optional timestamp/],
  ['unknown type', '# TYPE a gauges\na 1\n', /unknown type/],
  ['second TYPE', '# TYPE a gauge\n# TYPE a gauge\na 1\n', /second TYPE/],
  ['second HELP', '# HELP a x\n# HELP a y\na 1\n', /second HELP/],
  ['TYPE after the samples', 'a 1\n# TYPE a gauge\n', /after its samples/],
  ['invalid HELP escape', '# HELP a tab\\t\na 1\n', /invalid escape/],
  ['HELP for an invalid name', '# HELP 0a x\n', /invalid metric name/],
  ['families interleaved', 'a{x="1"} 1\nb 1\na{x="2"} 1\n', /not together/],
  ['duplicate series', 'a{x="1",y="2"} 1\na{y="2",x="1"} 2\n', /duplicate series/],
  ['negative counter', '# TYPE a counter\na -1\n', /negative/],
  ['histogram without +Inf', '# TYPE h histogram\nh_bucket{le="1"} 1\nh_sum 1\nh_count 1\n', /no le="\+Inf"/],
  ['histogram buckets decreasing', '# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="2"} 1\nh_bucket{le="+Inf"} 2\nh_sum 1\nh_count 2\n', /below/],
  ['histogram +Inf bucket ≠ count', '# TYPE h histogram\nh_bucket{le="+Inf"} 2\nh_sum 1\nh_count 3\n', /differs from _count/],
  ['histogram without _sum', '# TYPE h histogram\nh_bucket{le="+Inf"} 1\nh_count 1\n', /no _sum/],
  ['histogram without _count', '# TYPE h histogram\nh_bucket{le="+Inf"} 1\nh_sum 1\n', /no _count/],
  ['histogram bucket without le', '# TYPE h histogram\nh_bucket 1\n', /without an le/],
  ['histogram le not a number', '# TYPE h histogram\nh_bucket{le="x"} 1\n', /not a number/],
  ['histogram sample of another name', '# TYPE h histogram\nh 1\n', /has a sample named/],
  ['summary quantile out of range', '# TYPE s summary\ns{quantile="1.5"} 1\ns_sum 1\ns_count 1\n', /not in \[0, 1\]/],
  ['summary without _count', '# TYPE s summary\ns{quantile="0.5"} 1\ns_sum 1\n', /no _count/],
];

for (const [what, text, message] of refused) {
  test(`refused: ${what}`, () => {
    assert.throws(
      () => parsePromText(text),
      (err: unknown) => err instanceof PromTextError && message.test(err.message),
    );
  });
}
