# Sourced by samples/*/make-capture.sh: records real traffic between network namespaces.
#
#   host A ──┐
#   host B ──┤ bridge (namespace $PREFIX-wire) ── port w-server ── server
#            ^ every host is a namespace               ^ tcpdump here
#
# The capture point is the server's bridge port, where an inline palisade would sit in front of
# the server: it sees both directions of every conversation with the server. Hosts share one
# /16, so nothing is routed, and neighbours are static, so there is no ARP in the capture.
#
#   PREFIX=pal-kw; . "$(dirname "$0")/../netns-capture.sh"
#   host server 192.168.20.80 02:00:00:50:00:50
#   host client 192.168.10.10 02:00:00:0a:00:0a
#   start_capture out.pcap; in_ns client …; stop_capture
#
# Run as root. Everything made here (namespaces, processes in them) is removed on exit.
set -euo pipefail

: "${PREFIX:?set PREFIX (a short namespace prefix such as pal-kw) before sourcing}"
hosts=()
pids=()
work=
tcpdump_pid=

cleanup() {
  local pid ns
  # Processes this script started: the ones it remembers, and whatever still runs inside its
  # namespaces.
  for ns in $(ip netns list | awk '{print $1}' | grep "^$PREFIX-" || true); do
    pids+=($(ip netns pids "$ns" 2>/dev/null || true))
  done
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  # Deleting a namespace deletes the veth ends inside it (and so their peers).
  for ns in $(ip netns list | awk '{print $1}' | grep "^$PREFIX-" || true); do ip netns del "$ns" 2>/dev/null || true; done
  [[ -z $work ]] || rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP # so that EXIT runs cleanup
cleanup # leftovers of an interrupted run
work=$(mktemp -d "/tmp/$PREFIX.XXXXXX")

in_ns() { local ns=$1; shift; ip netns exec "$PREFIX-$ns" "$@"; }

# veth offloads leave TCP checksums partial and segments larger than the MTU in a capture; turn
# them off so the capture holds what a wire would carry.
no_offload() {
  in_ns "$1" ethtool -K "$2" tx off rx off tso off gso off gro off >/dev/null 2>&1 || true
}

ip netns add "$PREFIX-wire"
in_ns wire sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
in_ns wire ip link set lo up
in_ns wire ip link add br0 type bridge mcast_snooping 0
in_ns wire ip link set br0 up

# host NAME ADDR MAC: a namespace with one interface (eth0) on the bridge, port w-NAME.
host() {
  local name=$1 addr=$2 mac=$3 other
  ip netns add "$PREFIX-$name"
  in_ns "$name" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
  in_ns "$name" ip link set lo up
  ip link add "w-$name" netns "$PREFIX-wire" type veth peer name eth0 netns "$PREFIX-$name" address "$mac"
  in_ns wire ip link set "w-$name" master br0 up
  in_ns "$name" ip addr add "$addr/16" dev eth0
  in_ns "$name" ip link set eth0 up
  no_offload wire "w-$name"
  no_offload "$name" eth0
  for other in "${hosts[@]}"; do
    local o_name=${other%% *} rest=${other#* }
    local o_addr=${rest%% *} o_mac=${rest#* }
    in_ns "$name" ip neigh replace "$o_addr" lladdr "$o_mac" dev eth0 nud permanent
    in_ns "$o_name" ip neigh replace "$addr" lladdr "$mac" dev eth0 nud permanent
  done
  hosts+=("$name $addr $mac")
}

# spawn NS CMD…: a background process in a namespace, remembered for cleanup. Started without
# in_ns so that $! is the process itself, not a subshell.
spawn() {
  local ns=$1; shift
  ip netns exec "$PREFIX-$ns" "$@" &
  pids+=($!)
}

# wait_listen NS COUNT: until COUNT sockets listen in the namespace.
wait_listen() {
  for _ in $(seq 50); do
    [[ $(in_ns "$1" ss -Hltun | wc -l) -ge $2 ]] && return 0
    sleep 0.1
  done
  echo "nothing listens in $PREFIX-$1" >&2
  return 1
}

start_capture() {
  out=$1
  ip netns exec "$PREFIX-wire" tcpdump -i w-server --immediate-mode -U -s 0 -nn -w "$out" 2>"$work/tcpdump.err" &
  tcpdump_pid=$!
  pids+=("$tcpdump_pid")
  for _ in $(seq 50); do grep -q listening "$work/tcpdump.err" && return 0; sleep 0.1; done
  echo "tcpdump did not start: $(cat "$work/tcpdump.err")" >&2
  return 1
}

stop_capture() {
  sleep 0.3
  kill -TERM "$tcpdump_pid"
  wait "$tcpdump_pid" 2>/dev/null || true
  sed -n '/packets captured/p' "$work/tcpdump.err"
  chown --reference="$(dirname "$out")" "$out" # tcpdump drops to its own user to write
  echo "wrote $out ($(stat -c %s "$out") bytes)"
}
