#!/usr/bin/env bash
# infra/setup.sh [--quiet]: make this machine ready to build, test and demo vigil.
# Idempotent: installs only what is missing (Debian packages as root, npm dependencies when
# package-lock.json changed since the last install), so `npm test` and `npm run demo` can call it
# every time.
set -euo pipefail
quiet=0; [[ ${1:-} == --quiet ]] && quiet=1
say() { ((quiet)) || echo "setup: $*"; }
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

# Debian packages later parts of the test suite and the demo use: nats-server (event backbone),
# nftables (the load balancer testable without IPVS), tcpdump/arping (namespace tests),
# keepalived (interop and benchmarks), iproute2 (VIPs), ipvsadm (IPVS driver), ping (VIP reachability),
# tshark (decodes our packets as a third party would), haproxy (the checker benchmark's baseline),
# chromium (the dashboard's browser tests, driven by playwright-core), openssl (certificates made
# at test time for SSL_GET).
need=()
for pair in nats-server:nats-server nft:nftables tcpdump:tcpdump arping:arping \
            keepalived:keepalived ip:iproute2 ipvsadm:ipvsadm ping:iputils-ping tshark:tshark \
            haproxy:haproxy chromium:chromium openssl:openssl; do
  cmd=${pair%%:*} pkg=${pair#*:}
  command -v "$cmd" >/dev/null 2>&1 || [[ -x /usr/sbin/$cmd ]] || need+=("$pkg")
done
if ((${#need[@]})); then
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
    say "installing ${need[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
    # keepalived's and haproxy's packages start services; vigil's tests and benches run their own copies.
    if command -v systemctl >/dev/null 2>&1; then systemctl disable --now keepalived haproxy >/dev/null 2>&1 || true; fi
  else
    say "missing ${need[*]} (not root or no apt-get): tests that need them will skip and say why"
  fi
fi

# npm dependencies: reinstall only when the lockfile changed.
stamp=node_modules/.vigil-setup-stamp
sum=$(sha256sum package.json package-lock.json 2>/dev/null | sha256sum | cut -c1-64)
if [[ ! -f $stamp || $(cat "$stamp") != "$sum" ]]; then
  say "installing npm dependencies"
  if [[ -f package-lock.json ]]; then npm ci --no-audit --no-fund --loglevel=error >/dev/null
  else npm install --no-audit --no-fund --loglevel=error >/dev/null; fi
  echo "$sum" > "$stamp"
fi

# The AF_PACKET addon that sends gratuitous ARP (adapters/ip/native); rebuilt only when its
# sources change. Without it vigil runs but cannot announce IPv4 takeovers, and says so.
bash adapters/ip/native/build.sh --quiet || say "gratuitous ARP addon not built (see above)"
say "ready"
