#!/usr/bin/env bash
# adapters/ip/native/build.sh: build packet.node (AF_PACKET sender for gratuitous ARP, the health
# checks' probe engine, a few service calls) if it is missing or older than its sources.
# Idempotent and offline when Node's headers are installed (Debian/NodeSource: /usr/include/node).
# Exit 0 when built or up to date, 1 when it cannot be built
# (vigil then runs without IPv4 gratuitous ARP and says so once at the first announcement).
#
#   bash adapters/ip/native/build.sh [--force] [--quiet]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out="$here/build/Release/packet.node"
force=0 quiet=0
for a in "$@"; do
  case "$a" in
    --force) force=1 ;;
    --quiet) quiet=1 ;;
    *) echo "usage: $0 [--force] [--quiet]" >&2; exit 2 ;;
  esac
done
say() { [ "$quiet" = 1 ] || echo "packet addon: $*"; }

if [ "$force" = 0 ] && [ -f "$out" ] && [ "$out" -nt "$here/packet.c" ] && [ "$out" -nt "$here/probe.c" ] && [ "$out" -nt "$here/napi_errors.h" ] && [ "$out" -nt "$here/binding.gyp" ]; then
  say "up to date ($out)"
  exit 0
fi

# Node's headers: a local install avoids node-gyp's download from nodejs.org.
nodedir=""
for d in "$(dirname "$(dirname "$(readlink -f "$(command -v node)")")")" /usr /usr/local; do
  if [ -f "$d/include/node/node_api.h" ] && [ -f "$d/include/node/common.gypi" ]; then nodedir="$d"; break; fi
done

# node-gyp: the copy npm ships, else one on PATH.
gyp=""
if command -v npm >/dev/null; then
  for c in "$(dirname "$(readlink -f "$(command -v npm)")")/../node_modules/node-gyp/bin/node-gyp.js" \
           "$(npm prefix -g 2>/dev/null)/lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js"; do
    if [ -f "$c" ]; then gyp="$c"; break; fi
  done
fi

log="$(mktemp)"
trap 'rm -f "$log"' EXIT
built=0
if [ -n "$gyp" ]; then
  say "building with node-gyp${nodedir:+ (headers in $nodedir/include/node)}"
  if (cd "$here" && node "$gyp" rebuild ${nodedir:+--nodedir="$nodedir"}) >"$log" 2>&1; then built=1; fi
elif command -v node-gyp >/dev/null; then
  say "building with node-gyp from PATH"
  if (cd "$here" && node-gyp rebuild ${nodedir:+--nodedir="$nodedir"}) >"$log" 2>&1; then built=1; fi
fi
# Fallback: an N-API addon links against nothing, so a plain compiler is enough.
if [ "$built" = 0 ] && [ -n "$nodedir" ] && command -v cc >/dev/null; then
  say "node-gyp unavailable or failed; compiling with cc"
  mkdir -p "$(dirname "$out")"
  if cc -shared -fPIC -O2 -Wall -Wextra -DNODE_GYP_MODULE_NAME=packet -I"$nodedir/include/node" \
       -o "$out" "$here/packet.c" "$here/probe.c" >>"$log" 2>&1; then built=1
  # without libuv's headers: the addon without the probe engine (health checks stay in JavaScript)
  elif cc -shared -fPIC -O2 -Wall -Wextra -DNODE_GYP_MODULE_NAME=packet -DVIGIL_NO_PROBE_ENGINE -I"$nodedir/include/node" \
       -o "$out" "$here/packet.c" >>"$log" 2>&1; then
    built=1
    echo "packet addon: built without the probe engine (probe.c did not compile; see below); health checks run in JavaScript" >&2
    cat "$log" >&2
  fi
fi
if [ "$built" = 0 ]; then
  echo "packet addon: build failed; IPv4 gratuitous ARP will be unavailable. Output:" >&2
  cat "$log" >&2
  exit 1
fi
touch "$out"
say "built $out"
