#!/usr/bin/env bash
# Records samples/firewall/capture.pcap from real traffic between network namespaces.
#
#   pal-fw-client 192.168.10.10 ──┐
#   pal-fw-other  10.20.0.5 ──────┤ pal-fw-gw (router) ── fw-gw-srv ── pal-fw-server 192.168.20.80
#                                                ^ tcpdump here
#
# Every packet to or from the server crosses the gateway's server-facing veth, where a bridge
# running palisade would sit, so one tcpdump sees all of it with the clients' own addresses.
# The server listens on tcp/80 (http), tcp/22 and tcp/23 (banners) and udp/53 (echoes a DNS
# answer). Run as root: sudo samples/firewall/make-capture.sh [out.pcap]
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here/capture.pcap}
namespaces=(pal-fw-client pal-fw-other pal-fw-server pal-fw-gw)
root_veths=(fw-cli fw-gw-cli fw-oth fw-gw-oth fw-srv fw-gw-srv)
work=
pids=()

cleanup() {
  local pid ns link
  # Processes this script started: the ones it remembers, and whatever still runs inside the
  # namespaces it made.
  for ns in "${namespaces[@]}"; do
    pids+=($(ip netns pids "$ns" 2>/dev/null || true))
  done
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  for ns in "${namespaces[@]}"; do
    # Deleting a namespace deletes the veth ends inside it (and so their peers).
    ip netns del "$ns" 2>/dev/null || true
  done
  for link in "${root_veths[@]}"; do ip link del "$link" 2>/dev/null || true; done
  [[ -z $work ]] || rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP # so that EXIT runs cleanup
cleanup # leftovers of an interrupted run
work=$(mktemp -d /tmp/pal-fw.XXXXXX)

nsx() { local ns=$1; shift; ip netns exec "pal-fw-$ns" "$@"; }

# veth offload leaves TCP/UDP checksums partial (pseudo-header only) in a capture; turn tx
# checksumming off so the stack writes full checksums. Uses ethtool when present, else the
# same ETHTOOL_STXCSUM ioctl from python.
no_csum_offload() {
  local ns=$1 dev=$2
  if command -v ethtool >/dev/null; then
    nsx "$ns" ethtool -K "$dev" tx off rx off >/dev/null
  else
    nsx "$ns" python3 - "$dev" <<'EOF'
import array, fcntl, socket, struct, sys
SIOCETHTOOL, ETHTOOL_STXCSUM = 0x8946, 0x17
val = array.array('I', [ETHTOOL_STXCSUM, 0])
addr, _ = val.buffer_info()
ifreq = struct.pack('16sP16x', sys.argv[1].encode(), addr)  # struct ifreq is 40 bytes
fcntl.ioctl(socket.socket(socket.AF_INET, socket.SOCK_DGRAM), SIOCETHTOOL, ifreq)
EOF
  fi
}

for ns in "${namespaces[@]}"; do
  ip netns add "$ns"
  ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
  ip netns exec "$ns" ip link set lo up
done
nsx gw sysctl -qw net.ipv4.ip_forward=1

# link NAME_IN_HOST HOST_NS HOST_MAC HOST_ADDR/PREFIX GW_NAME GW_MAC GW_ADDR/PREFIX
link() {
  local h=$1 ns=$2 hmac=$3 haddr=$4 g=$5 gmac=$6 gaddr=$7
  ip link add "$h" address "$hmac" type veth peer name "$g" address "$gmac"
  ip link set "$h" netns "pal-fw-$ns"
  ip link set "$g" netns pal-fw-gw
  nsx "$ns" ip addr add "$haddr" dev "$h"
  nsx gw ip addr add "$gaddr" dev "$g"
  nsx "$ns" ip link set "$h" up
  nsx gw ip link set "$g" up
  no_csum_offload "$ns" "$h"
  no_csum_offload gw "$g"
  # Static neighbours: no ARP in the capture, the sample is about IP.
  nsx "$ns" ip neigh replace "${gaddr%/*}" lladdr "$gmac" dev "$h" nud permanent
  nsx gw ip neigh replace "${haddr%/*}" lladdr "$hmac" dev "$g" nud permanent
  nsx "$ns" ip route add default via "${gaddr%/*}"
}
link fw-cli client 02:00:00:0a:00:0a 192.168.10.10/24 fw-gw-cli 02:00:00:0a:00:01 192.168.10.1/24
link fw-oth other 02:00:00:14:00:05 10.20.0.5/24 fw-gw-oth 02:00:00:14:00:01 10.20.0.1/24
link fw-srv server 02:00:00:50:00:50 192.168.20.80/24 fw-gw-srv 02:00:00:50:00:01 192.168.20.1/24

cat >"$work/server.mjs" <<'EOF'
import http from 'node:http';
import net from 'node:net';
import dgram from 'node:dgram';
const host = '192.168.20.80';
http.createServer((req, res) => {
  res.setHeader('Content-Type', 'text/html');
  res.setHeader('Connection', 'close');
  res.end('<html><body><h1>palisade firewall sample</h1></body></html>\n');
}).listen(80, host);
const banner = (port, text, reply) => net.createServer((sock) => {
  sock.on('error', () => {});
  sock.write(text);
  sock.on('data', () => { if (reply) sock.end(reply); });
}).listen(port, host);
banner(22, 'SSH-2.0-OpenSSH_9.6p1 Ubuntu-3ubuntu13\r\n');
banner(23, 'Ubuntu 24.04 LTS\r\nserver login: ', '\r\nLogin incorrect\r\n');
const dns = dgram.createSocket('udp4');
dns.on('message', (msg, rinfo) => {
  // Answer the query with one A record: same id and question, QR|RD|RA, 192.168.20.80.
  const answer = Buffer.from([0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0x0e, 0x10, 0, 4, 192, 168, 20, 80]);
  const reply = Buffer.concat([msg, answer]);
  reply.writeUInt16BE(0x8180, 2);
  reply.writeUInt16BE(1, 6);
  dns.send(reply, rinfo.port, rinfo.address);
});
dns.bind(53, host);
EOF

# client.mjs PORT [LINE]: connects to the server, reads the banner, optionally sends LINE,
# reads the reply and closes.
cat >"$work/client.mjs" <<'EOF'
import net from 'node:net';
const [port, line] = process.argv.slice(2);
const sock = net.connect(Number(port), '192.168.20.80');
sock.setTimeout(2000, () => sock.destroy());
sock.once('data', (d) => {
  process.stdout.write(`  banner: ${JSON.stringify(d.toString())}\n`);
  if (line) sock.write(`${line}\r\n`); else sock.end();
  sock.on('data', () => sock.end());
});
sock.on('end', () => sock.end());
EOF

cat >"$work/dns.mjs" <<'EOF'
import dgram from 'node:dgram';
// A standard query for www.example.com A, id 0x1a2b, RD.
const qname = Buffer.concat(['www', 'example', 'com'].map((l) => Buffer.from([l.length, ...Buffer.from(l)])));
const q = Buffer.concat([Buffer.from('1a2b01000001000000000000', 'hex'), qname, Buffer.from('0000010001', 'hex')]);
const s = dgram.createSocket('udp4');
s.bind(45353, () => s.send(q, 53, '192.168.20.80'));
s.on('message', (m) => { process.stdout.write(`  dns answer: ${m.length} bytes\n`); s.close(); });
setTimeout(() => s.close(), 1000).unref();
EOF

# ping.py: one ICMP echo request and its reply (iputils ping is not always installed).
cat >"$work/ping.py" <<'EOF'
import socket, struct, sys
def csum(b):
    s = sum(struct.unpack('!%dH' % (len(b) // 2), b))
    s = (s & 0xffff) + (s >> 16); s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff
payload = b'palisade firewall sample ping!!!'
hdr = struct.pack('!BBHHH', 8, 0, 0, 0x5046, 1)
pkt = struct.pack('!BBHHH', 8, 0, csum(hdr + payload), 0x5046, 1) + payload
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
s.settimeout(1)
s.sendto(pkt, (sys.argv[1], 0))
data, addr = s.recvfrom(2048)
print('  echo reply from %s, %d bytes' % (addr[0], len(data)))
EOF

# Started without the nsx function so that $! is the process itself, not a subshell.
ip netns exec pal-fw-server node "$work/server.mjs" &
pids+=($!)
for _ in $(seq 50); do
  [[ $(nsx server ss -Hltun | wc -l) -ge 4 ]] && break
  sleep 0.1
done

ip netns exec pal-fw-gw tcpdump -i fw-gw-srv --immediate-mode -U -s 0 -nn -w "$out" 2>"$work/tcpdump.err" &
pids+=($!)
for _ in $(seq 50); do grep -q listening "$work/tcpdump.err" && break; sleep 0.1; done

echo "allowed client -> http"
nsx client curl -sS -o /dev/null -w '  status %{http_code}\n' --max-time 2 http://192.168.20.80/
sleep 0.2
echo "allowed client -> ssh port 22"
nsx client node "$work/client.mjs" 22
sleep 0.2
echo "allowed client -> telnet port 23"
nsx client node "$work/client.mjs" 23 root
sleep 0.2
echo "other client -> http"
nsx other curl -sS -o /dev/null -w '  status %{http_code}\n' --max-time 2 http://192.168.20.80/
sleep 0.2
echo "allowed client -> udp/53"
nsx client node "$work/dns.mjs"
sleep 0.2
echo "allowed client -> ping"
nsx client python3 "$work/ping.py" 192.168.20.80
sleep 0.3

# Async commands ignore SIGINT in a script; tcpdump also stops on TERM. --immediate-mode above
# hands every packet over at once: with TPACKET_V3 blocks, the last second could be lost.
kill -TERM "${pids[1]}"
wait "${pids[1]}" 2>/dev/null || true
sed -n '/packets captured/p' "$work/tcpdump.err"
chown --reference="$(dirname "$out")" "$out" # tcpdump drops to its own user to write
echo "wrote $out ($(stat -c %s "$out") bytes)"
