#!/usr/bin/env bash
# lab.sh up [N] | down : a LAN in network namespaces for the demo and for trying vigil by hand:
# a bridge in namespace vg-sw and hosts vg-h1..vg-hN, each with eth0 = 10.99.0.(10+i)/24 and
# fd99::(10+i)/64. Nothing leaves the namespaces. Needs root. (The tests build their own labs with
# per-run names: test/netns/lab.ts.)
set -euo pipefail
cmd=${1:-up} n=${2:-3}
down() { for ns in $(ip netns list | awk '{print $1}' | grep '^vg-' || true); do ip netns del "$ns"; done; }
if [[ $cmd == down ]]; then down; exit 0; fi
[[ $cmd == up ]] || { echo "usage: $0 up [N] | down" >&2; exit 2; }
down
ip netns add vg-sw
ip -n vg-sw link add br0 type bridge
ip -n vg-sw link set br0 up
ip -n vg-sw link set lo up
for i in $(seq 1 "$n"); do
  h=vg-h$i
  ip netns add "$h"
  ip netns exec "$h" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
  ip link add eth0 netns "$h" type veth peer name "p$i" netns vg-sw
  ip -n vg-sw link set "p$i" master br0 up
  ip -n "$h" link set lo up
  ip -n "$h" addr add "10.99.0.$((10 + i))/24" dev eth0
  ip -n "$h" addr add "fd99::$((10 + i))/64" dev eth0
  ip -n "$h" link set eth0 up
done
echo "lab: vg-h1..vg-h$n on bridge vg-sw/br0 (10.99.0.11-$((10 + n))/24); 'ip netns exec vg-h1 bash' to look around"
