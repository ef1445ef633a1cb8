#!/usr/bin/env bash
# Records samples/halfreset/input.pcap from real traffic between network namespaces (see
# ../netns-capture.sh): two HTTP downloads by 192.168.10.10 from a file server at
# 192.168.20.80:80 that has a path traversal hole.
#
#   1. GET /files?name=report.txt: the file it is meant to serve;
#   2. GET /files?name=../../etc/passwd: the traversal; the server answers with a password file.
#
# The server serves a made-up file tree from memory (the password file is invented, not this
# machine's). Run as root: sudo samples/halfreset/make-capture.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
PREFIX=pal-hr
. "$here/../netns-capture.sh"

host server 192.168.20.80 02:00:00:50:00:50
host client 192.168.10.10 02:00:00:0a:00:0a

cat >"$work/server.mjs" <<'JS'
import http from 'node:http';
import path from 'node:path';
const files = {
  '/srv/files/report.txt': 'Quarterly report: all systems nominal.\n',
  '/etc/passwd': [
    'root:x:0:0:root:/root:/bin/bash',
    'daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin',
    'www-data:x:33:33:www-data:/var/www:/usr/sbin/nologin',
    'alice:x:1000:1000:Alice,,,:/home/alice:/bin/bash',
    '',
  ].join('\n'),
};
http.createServer((req, res) => {
  const name = new URL(req.url, 'http://x').searchParams.get('name') ?? '';
  // The hole: the name is joined to the directory without checking it stays inside.
  const body = files[path.join('/srv/files', name)];
  res.setHeader('Connection', 'close');
  if (body === undefined) { res.statusCode = 404; res.end('not found\n'); return; }
  res.setHeader('Content-Type', 'text/plain');
  res.end(body);
}).listen(80, '192.168.20.80');
JS

spawn server node "$work/server.mjs"
wait_listen server 1
start_capture "${1:-$here/input.pcap}"

echo "the intended download"
in_ns client curl -sS --max-time 2 'http://192.168.20.80/files?name=report.txt'
sleep 0.2
echo "the traversal"
in_ns client curl -sS --max-time 2 --path-as-is 'http://192.168.20.80/files?name=../../etc/passwd'

stop_capture
