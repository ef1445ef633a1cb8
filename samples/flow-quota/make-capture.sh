#!/usr/bin/env bash
# Records samples/flow-quota/input.pcap from real traffic between network namespaces (see
# ../netns-capture.sh): two HTTP uploads (POST) from 192.168.10.10 to 192.168.20.80:80, one of
# 3000 bytes and one of 24000 bytes, each on its own connection. The bodies are made-up text.
# Run as root: sudo samples/flow-quota/make-capture.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
PREFIX=pal-q
. "$here/../netns-capture.sh"

host server 192.168.20.80 02:00:00:50:00:50
host client 192.168.10.10 02:00:00:0a:00:0a

cat >"$work/server.mjs" <<'JS'
import http from 'node:http';
http.createServer((req, res) => {
  let n = 0;
  req.on('data', (d) => { n += d.length; });
  req.on('end', () => {
    res.setHeader('Connection', 'close');
    res.end(`stored ${n} bytes\n`);
  });
}).listen(80, '192.168.20.80');
JS

# body N: N bytes of numbered text lines.
body() { python3 -c "import sys; n=int(sys.argv[1]); t=''.join('line %05d of the upload\n' % i for i in range(n // 10)); sys.stdout.write(t[:n])" "$1"; }
body 3000 >"$work/small"
body 24000 >"$work/large"

spawn server node "$work/server.mjs"
wait_listen server 1
start_capture "${1:-$here/input.pcap}"

echo "a 3000-byte upload"
in_ns client curl -sS --max-time 2 -H 'Expect:' --data-binary @"$work/small" http://192.168.20.80/upload
sleep 0.2
echo "a 24000-byte upload"
in_ns client curl -sS --max-time 2 -H 'Expect:' --data-binary @"$work/large" http://192.168.20.80/upload

stop_capture
