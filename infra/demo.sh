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

echo
echo "== VRRP failover: vigil on two hosts in network namespaces, a third host pinging the VIP"
if [[ $(id -u) -ne 0 ]]; then
  echo "(skipped: network namespaces and raw sockets need root; run 'sudo npm run demo')"
  exit 0
fi
work=$(mktemp -d /tmp/vigil-demo.XXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -9 -- "-$p" 2>/dev/null || true; done
  bash infra/lab.sh down
  rm -rf "$work"
}
trap cleanup EXIT
bash infra/lab.sh up 3
# this host joins the lab's LAN (a veth into the bridge; it goes away with the lab's namespaces),
# so a browser here reaches the dashboards
ip link del vg-host 2>/dev/null || true  # left by a previous run whose namespaces are still being freed
ip link add vg-host type veth peer name p0 netns vg-sw
ip -n vg-sw link set p0 master br0 up
ip addr add 10.99.0.1/24 dev vg-host
ip link set vg-host up
head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$work/token"
chmod 600 "$work/token"
for i in 1 2; do
  cat > "$work/h$i.conf" <<CONF
global_defs {
  router_id h$i
}
vrrp_instance VI_1 {
  state BACKUP
  interface eth0
  virtual_router_id 51
  priority $((i == 1 ? 150 : 100))
  advert_int 1
  virtual_ipaddress {
    10.99.0.100/24
  }
}
CONF
done
start() { # host
  setsid ip netns exec "vg-h$1" node bin/vigil.js run -f "$work/h$1.conf" --journal "$work/journal-h$1" --control "$work/control-h$1.sock" --http "10.99.0.1$1:9650" --http-token-file "$work/token" >>"$work/h$1.log" 2>&1 &
  pids[$1]=$!
  disown
}
wait_for() { # host pattern seconds [occurrences]
  for _ in $(seq 1 $(($3 * 10))); do
    (($(grep -c "$2" "$work/h$1.log" 2>/dev/null || true) >= ${4:-1})) && return 0
    sleep 0.1
  done
  echo "host $1: '$2' not seen in $3 s"; tail -5 "$work/h$1.log"; return 1
}
show() { # what holds the VIP
  for i in 1 2; do
    if ip -n "vg-h$i" -o addr show dev eth0 | grep -q 10.99.0.100; then
      if ip -n "vg-h$i" link show eth0 | grep -q 'state DOWN'; then
        echo "   host $i still has 10.99.0.100 configured, behind its dead link (its crash left it)"
      else
        echo "   host $i holds 10.99.0.100"
      fi
    fi
  done
}
msgs() { node -e 'for (const l of require("fs").readFileSync(process.argv[1], "utf8").split("\n")) { try { const j = JSON.parse(l); console.log("   h" + process.argv[2] + " " + j.time.slice(11, 23) + " " + j.msg) } catch {} }' "$work/h$1.log" "$1"; }
echo "-- starting vigil on host 1 (priority 150), then host 2 (priority 100)"
start 1; wait_for 1 'Entering MASTER' 10
start 2; wait_for 2 'Entering BACKUP' 10
sleep 0.5; show
echo "-- watch it on the dashboard: http://10.99.0.12:9650/#token=$(cat "$work/token")  (host 2; host 1 is 10.99.0.11)"
if [[ -t 0 ]]; then read -rp "   open it, then press Enter for the failover " _; fi
echo "-- host 3 pings 10.99.0.100 every 50 ms; host 1 fails: its link goes down and vigil is killed (no goodbye)"
ip netns exec vg-h3 ping -i 0.05 -W 1 10.99.0.100 >"$work/ping.log" 2>&1 &
ping_pid=$!
sleep 1
t0=$(date +%s.%N)
ip -n vg-h1 link set eth0 down
kill -9 -- "-${pids[1]}"
wait_for 2 'Entering MASTER' 10
echo "   host 2 took over $(node -e "console.log(((Date.now() / 1000 - $t0)).toFixed(2))") s after the kill"
sleep 1; show
kill -INT "$ping_pid"; wait "$ping_pid" 2>/dev/null
echo "   ping: $(grep -E 'packets transmitted' "$work/ping.log")"
echo "   (each lost ping is 50 ms: the gap is Master_Down_Interval = 3 × 1 s + (256-100)/256 s = 3.61 s, as in keepalived)"
echo "-- host 1 comes back (vigil first removes the VIP its crash left behind); with the higher"
echo "   priority it preempts; then a SIGTERM hands over in Skew_Time"
ip -n vg-h1 link set eth0 up
start 1; wait_for 1 'Entering MASTER' 10 2
sleep 0.5; show
ip netns exec vg-h3 ping -i 0.05 -W 1 10.99.0.100 >"$work/ping2.log" 2>&1 &
ping_pid=$!
sleep 0.5
kill -TERM "${pids[1]}"
wait_for 2 'Entering MASTER' 10 2
sleep 1
kill -INT "$ping_pid"; wait "$ping_pid" 2>/dev/null
show
echo "   ping: $(grep -E 'packets transmitted' "$work/ping2.log")"
echo "   (host 1 sent priority 0 on its way out: host 2 waited only Skew_Time = (256-100)/256 s = 0.61 s)"
echo "-- host 2 reloads a config with a second VIP (vigil reload): checked first, applied as a diff;"
echo "   the MASTER stays MASTER, and the ping to the first VIP loses nothing"
sed -i 's#10.99.0.100/24#10.99.0.100/24\n    10.99.0.101/24#' "$work/h2.conf"
ip netns exec vg-h3 ping -i 0.02 -W 1 10.99.0.100 >"$work/ping3.log" 2>&1 &
ping_pid=$!
sleep 0.5
vigil reload --control "$work/control-h2.sock" | sed 's/^/   /'
sleep 0.5
kill -INT "$ping_pid"; wait "$ping_pid" 2>/dev/null
echo "   ping: $(grep -E 'packets transmitted' "$work/ping3.log")"
echo "-- a broken config is refused; host 2 keeps running the old one (vigil reload exits 4)"
cp "$work/h2.conf" "$work/h2.good"
sed -i 's/priority 100/priority 300/' "$work/h2.conf"
vigil reload --control "$work/control-h2.sock" 2>&1 | sed 's/^/   /'
cp "$work/h2.good" "$work/h2.conf"
echo "-- vigil status (the control socket)"
vigil status --control "$work/control-h2.sock" | sed 's/^/   /'
echo "-- the logs"
msgs 1; msgs 2
echo "-- every transition is also an event in each host's journal: host 2's, as vigil events prints it"
node bin/vigil.js events --journal "$work/journal-h2" --kind vrrp | sed 's/^/   /'
echo "-- and the cluster as the two journals tell it (vigil status --cluster; --nats URL reads JetStream)"
node bin/vigil.js status --cluster --journal "$work/journal-h1" --journal "$work/journal-h2" | sed 's/^/   /'
