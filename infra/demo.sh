#!/usr/bin/env bash
# npm run demo: what vigil can do today. Checks every shipped example config, then shows the
# diagnostics vigil gives for the broken ones that keepalived accepts in silence.
set -uo pipefail
cd "$(dirname "$0")/.."
vigil() { node bin/vigil.js "$@"; }
echo "== vigil config-test on the example configs (host checks off: this machine is not the router)"
for f in infra/examples/*.conf; do vigil config-test --no-host -f "$f"; done
echo
echo "== mistakes keepalived -t lets through (see infra/examples/broken/KEEPALIVED.md), as vigil reports them"
for f in duplicate-vip duplicate-vs include-missing typo-keyword; do
  echo "-- $f.conf"
  vigil config-test --no-host -f "infra/examples/broken/$f.conf"
  echo "   (exit $?)"
done
