#!/usr/bin/env bash
# Records test/real-traffic/captures/*.pcap from real traffic between two kernel TCP stacks,
# with what each endpoint application received (captures/<scenario>.json).
#
#   pal-rt-a: pal-rt-va 10.99.0.1/24 fd99::1/64  <── veth ──>  pal-rt-vb 10.99.0.2/24 fd99::2/64 :pal-rt-b
#             client (endpoint.js client)                          server (endpoint.js server)
#             ^ tcpdump -i pal-rt-va 'tcp'
#
# One capture per scenario (see endpoint.js and README.md). Checksum, segmentation and receive
# offloads are off on both veth ends, so the captured checksums are the ones the stack computed
# and every frame is at most MTU-sized. Neighbours are static: no ARP or NDP. Only TCP is
# captured. merge.js writes the JSON and checks both sides and the capture; a scenario's files
# replace those in captures/ only when it passes.
# Run as root:  test/real-traffic/make-captures.sh [SCENARIO...]   (default: all six)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
outdir=$here/captures
namespaces=(pal-rt-a pal-rt-b)
all=(bulk short half-close linger-rst ipv6 snaplen)
scenarios=("${@:-${all[@]}}")
work=
pids=()

cleanup() {
  local pid ns
  # Processes this script started: the ones it remembers, and whatever still runs inside the
  # namespaces it made.
  for ns in "${namespaces[@]}"; do
    pids+=($(ip netns pids "$ns" 2>/dev/null || true))
  done
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  pids=()
  # Deleting a namespace deletes the veth end inside it, and so its peer.
  for ns in "${namespaces[@]}"; do ip netns del "$ns" 2>/dev/null || true; done
  ip link del pal-rt-va 2>/dev/null || true # in case a run died between creating and moving it
  [[ -z $work ]] || rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP # so that EXIT runs cleanup
cleanup                      # leftovers of an interrupted run

for s in "${scenarios[@]}"; do
  [[ " ${all[*]} " == *" $s "* ]] || { echo "unknown scenario $s (known: ${all[*]})" >&2; exit 2; }
done
for tool in ip tcpdump node python3; do command -v "$tool" >/dev/null || { echo "needs $tool" >&2; exit 1; }; done
[[ $(id -u) -eq 0 ]] || { echo "run as root (network namespaces, tcpdump)" >&2; exit 1; }

work=$(mktemp -d /tmp/pal-rt.XXXXXX)
mkdir -p "$outdir"

nsx() { local ns=$1; shift; ip netns exec "pal-rt-$ns" "$@"; }

# veth offload leaves TCP checksums partial (pseudo-header only) in a capture; turn tx
# checksumming off so the stack writes full checksums. Segmentation and receive offloads go off
# too: every frame is then at most MTU-sized on the wire and in the capture, and libpcap sizes its
# ring slots by the MTU instead of 64 KiB (with 64 KiB slots tcpdump drops packets at veth speed).
# Uses ethtool when present, else the same ioctls from python (as samples/firewall/make-capture.sh
# does for tx checksumming); PAL_RT_NO_ETHTOOL=1 forces the python way.
no_offload() {
  local ns=$1 dev=$2
  if [[ -z ${PAL_RT_NO_ETHTOOL:-} ]] && command -v ethtool >/dev/null; then
    nsx "$ns" ethtool -K "$dev" tx off rx off tso off gso off gro off >/dev/null
  else
    nsx "$ns" python3 - "$dev" <<'EOF'
import array, fcntl, socket, struct, sys
SIOCETHTOOL = 0x8946
ETHTOOL_STXCSUM, ETHTOOL_STSO, ETHTOOL_SGSO, ETHTOOL_SGRO = 0x17, 0x1f, 0x24, 0x2c
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for cmd in (ETHTOOL_STXCSUM, ETHTOOL_STSO, ETHTOOL_SGSO, ETHTOOL_SGRO):
    val = array.array('I', [cmd, 0])  # struct ethtool_value { cmd; data = 0 (off) }
    addr, _ = val.buffer_info()
    ifreq = struct.pack('16sP16x', sys.argv[1].encode(), addr)  # struct ifreq is 40 bytes
    fcntl.ioctl(s, SIOCETHTOOL, ifreq)
EOF
  fi
}

for ns in "${namespaces[@]}"; do
  ip netns add "$ns"
  ip netns exec "$ns" ip link set lo up
  # IPv6 on, but quiet: no router solicitations, no DAD (addresses are nodad anyway).
  ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=0 net.ipv6.conf.default.router_solicitations=0 \
    net.ipv6.conf.all.accept_ra=0 net.ipv6.conf.default.accept_ra=0
done
ip link add pal-rt-va address 02:99:00:00:00:01 netns pal-rt-a type veth \
  peer name pal-rt-vb address 02:99:00:00:00:02 netns pal-rt-b
nsx a ip addr add 10.99.0.1/24 dev pal-rt-va
nsx b ip addr add 10.99.0.2/24 dev pal-rt-vb
nsx a ip -6 addr add fd99::1/64 dev pal-rt-va nodad
nsx b ip -6 addr add fd99::2/64 dev pal-rt-vb nodad
no_offload a pal-rt-va
no_offload b pal-rt-vb
nsx a ip link set pal-rt-va up
nsx b ip link set pal-rt-vb up
nsx a ip neigh replace 10.99.0.2 lladdr 02:99:00:00:00:02 dev pal-rt-va nud permanent
nsx b ip neigh replace 10.99.0.1 lladdr 02:99:00:00:00:01 dev pal-rt-vb nud permanent
nsx a ip -6 neigh replace fd99::2 lladdr 02:99:00:00:00:02 dev pal-rt-va nud permanent
nsx b ip -6 neigh replace fd99::1 lladdr 02:99:00:00:00:01 dev pal-rt-vb nud permanent

# scenario NAME PORT [SNAPLEN]: server in pal-rt-b, tcpdump and client in pal-rt-a.
run() {
  local name=$1 port=$2 snaplen=${3:-0} host=10.99.0.2 server client tcpdump
  [[ $name == ipv6 ]] && host=fd99::2
  local pcap=$work/$name.pcap
  echo "$name"
  # Started without nsx so that $! is the process itself, not a subshell.
  ip netns exec pal-rt-b node "$here/endpoint.js" server "$name" "$host" "$port" "$work/$name.server.json" \
    >"$work/$name.server.out" &
  server=$!
  pids+=("$server")
  for _ in $(seq 100); do grep -q listening "$work/$name.server.out" && break; sleep 0.05; done
  grep -q listening "$work/$name.server.out" || { echo "server did not start" >&2; return 1; }

  # -B 32768 (KiB): a whole scenario fits in the capture ring, so nothing is dropped even though
  # veth outruns tcpdump. -Z root: tcpdump would otherwise drop to its own user and could not
  # write in $work.
  ip netns exec pal-rt-a tcpdump -i pal-rt-va --immediate-mode -B 32768 -U -s "$snaplen" -nn -Z root -w "$pcap" tcp \
    2>"$work/$name.tcpdump.err" &
  tcpdump=$!
  pids+=("$tcpdump")
  for _ in $(seq 100); do grep -q listening "$work/$name.tcpdump.err" && break; sleep 0.05; done
  grep -q listening "$work/$name.tcpdump.err" || { cat "$work/$name.tcpdump.err" >&2; return 1; }

  # In the background and waited for, so that a signal interrupts the wait at once.
  ip netns exec pal-rt-a node "$here/endpoint.js" client "$name" "$host" "$port" "$work/$name.client.json" &
  client=$!
  pids+=("$client")
  wait "$client"
  wait "$server"
  sleep 0.3 # the last ACKs
  kill -TERM "$tcpdump"
  wait "$tcpdump" || true
  sed -n 's/^/  tcpdump: /; /packets \(captured\|dropped by kernel\)/p' "$work/$name.tcpdump.err"
  grep -q '^0 packets dropped by kernel' "$work/$name.tcpdump.err" || { echo "tcpdump dropped packets" >&2; return 1; }

  node "$here/merge.js" "$name" "$work/$name.server.json" "$work/$name.client.json" "$pcap" "$snaplen" \
    "$work/$name.json"
  mv "$pcap" "$outdir/$name.pcap"
  mv "$work/$name.json" "$outdir/$name.json"
  chown --reference="$here" "$outdir/$name.pcap" "$outdir/$name.json"
}

start=$SECONDS
for s in "${scenarios[@]}"; do
  case $s in
    bulk) run bulk 5001 ;;
    short) run short 5002 ;;
    half-close) run half-close 5003 ;;
    linger-rst) run linger-rst 5004 ;;
    ipv6) run ipv6 5005 ;;
    snaplen) run snaplen 5006 200 ;;
  esac
done
chown --reference="$here" "$outdir"
echo "done in $((SECONDS - start)) s:"
ls -l "$outdir"
