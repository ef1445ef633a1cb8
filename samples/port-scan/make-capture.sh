#!/usr/bin/env bash
# Records samples/port-scan/input.pcap from real traffic between network namespaces (see
# ../netns-capture.sh). The server 192.168.20.80 listens on tcp/22 (a banner) and tcp/80 (http);
# every other port answers a SYN with a RST.
#
#   1. 192.168.10.10, a user: one web request, one connection to port 22;
#   2. 192.168.66.6, a scanner: a TCP connect scan of ports 15 to 34, one port every 20 ms;
#   3. the scanner: a web request (curl gives up after 1.5 s);
#   4. the user: another web request.
#
# Run as root: sudo samples/port-scan/make-capture.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
PREFIX=pal-scan
. "$here/../netns-capture.sh"

host server 192.168.20.80 02:00:00:50:00:50
host user 192.168.10.10 02:00:00:0a:00:0a
host scanner 192.168.66.6 02:00:00:42:00:06

cat >"$work/server.mjs" <<'JS'
import http from 'node:http';
import net from 'node:net';
http.createServer((req, res) => {
  res.setHeader('Connection', 'close');
  res.end('<html><body>palisade port-scan sample</body></html>\n');
}).listen(80, '192.168.20.80');
net.createServer((sock) => {
  sock.on('error', () => {});
  sock.end('SSH-2.0-OpenSSH_9.6p1 Ubuntu-3ubuntu13\r\n');
}).listen(22, '192.168.20.80');
JS

cat >"$work/scan.py" <<'PY'
import socket, time
open_ports = []
for port in range(15, 35):
    s = socket.socket()
    s.settimeout(0.5)
    if s.connect_ex(('192.168.20.80', port)) == 0:
        open_ports.append(port)
    s.close()
    time.sleep(0.02)
print('  open: %s' % open_ports)
PY

cat >"$work/banner.mjs" <<'JS'
import net from 'node:net';
const sock = net.connect(22, '192.168.20.80');
sock.on('data', (d) => process.stdout.write(`  banner: ${d.toString().trim()}\n`));
sock.on('end', () => sock.end());
JS

spawn server node "$work/server.mjs"
wait_listen server 2
start_capture "${1:-$here/input.pcap}"

echo "user: web, then ssh"
in_ns user curl -sS -o /dev/null -w '  status %{http_code}\n' --max-time 2 http://192.168.20.80/
in_ns user node "$work/banner.mjs"
sleep 0.2
echo "scanner: ports 15-34"
in_ns scanner python3 "$work/scan.py"
sleep 0.2
echo "scanner: web"
in_ns scanner curl -sS -o /dev/null -w '  status %{http_code}\n' --max-time 1.5 http://192.168.20.80/
sleep 0.2
echo "user: web"
in_ns user curl -sS -o /dev/null -w '  status %{http_code}\n' --max-time 2 http://192.168.20.80/

stop_capture
