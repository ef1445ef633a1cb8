#!/usr/bin/env bash
# Records samples/http/input.pcap from real traffic between network namespaces (see
# ../netns-capture.sh): curl and Node clients against a Node `http` server at 192.168.20.80:80
# (and :8080), one connection per case, in this order:
#
#   1. curl, two GETs on one keep-alive connection (/index.html, then /admin/../etc/passwd);
#   2. curl -I: a HEAD (Content-Length in the answer, no body);
#   3. curl with If-None-Match: a 304 Not Modified;
#   4. curl POST of 3000 bytes with Expect: 100-continue (100, then 201);
#   5. curl -0: HTTP/1.0 (the server answers with a Content-Length and Connection: close);
#   6. a chunked answer with a trailer (Node res.write in pieces, addTrailers);
#   7. curl upload with Transfer-Encoding: chunked;
#   8. three requests pipelined in one write from a Node net client;
#   9. a WebSocket upgrade (101), then bytes either way that are not HTTP;
#  10. a GET to port 8080 with Host: evil.example, its header written a byte at a time.
#
# Run as root: sudo samples/http/make-capture.sh [out.pcap]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
PREFIX=pal-http
. "$here/../netns-capture.sh"

host server 192.168.20.80 02:00:00:50:00:50
host client 192.168.10.10 02:00:00:0a:00:0a

cat >"$work/server.mjs" <<'JS'
import http from 'node:http';
const handler = (req, res) => {
  const chunks = [];
  req.on('data', (d) => chunks.push(d));
  req.on('end', () => {
    const body = Buffer.concat(chunks);
    if (req.url === '/cached' && req.headers['if-none-match'] === '"v1"') {
      res.writeHead(304, { ETag: '"v1"' });
      return res.end();
    }
    if (req.url === '/chunked') {
      res.writeHead(200, { 'Content-Type': 'text/plain', Trailer: 'X-Checksum' });
      res.write('first piece\n');
      setTimeout(() => {
        res.write('second piece\n');
        res.addTrailers({ 'X-Checksum': 'abc123' });
        res.end();
      }, 30);
      return;
    }
    if (req.method === 'POST' || req.method === 'PUT') {
      res.writeHead(201, { 'Content-Type': 'text/plain' });
      return res.end(`got ${body.length} bytes\n`);
    }
    const text = `you asked for ${req.url}\n`;
    res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': Buffer.byteLength(text), ETag: '"v1"' });
    res.end(req.method === 'HEAD' ? undefined : text);
  });
};
for (const port of [80, 8080]) {
  const server = http.createServer({ keepAliveTimeout: 2000 }, handler);
  server.on('upgrade', (req, sock) => {
    sock.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n');
    sock.on('data', (d) => sock.write(d));
    sock.on('end', () => sock.end());
  });
  server.listen(port, '192.168.20.80');
}
JS

# raw.mjs PORT STEP…: writes each STEP (JSON string) on one connection, `bytewise:` ones a byte
# at a time with Nagle off, waits for answers, then closes.
cat >"$work/raw.mjs" <<'JS'
import net from 'node:net';
const [port, ...steps] = process.argv.slice(2);
const sock = net.connect(Number(port), '192.168.20.80');
sock.setNoDelay(true);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
sock.on('data', (d) => process.stdout.write(`  < ${d.length} bytes\n`));
sock.on('connect', async () => {
  for (const step of steps) {
    if (step.startsWith('bytewise:')) {
      for (const c of JSON.parse(step.slice(9))) {
        sock.write(c);
        await sleep(5);
      }
    } else {
      sock.write(JSON.parse(step));
    }
    await sleep(150);
  }
  sock.end();
});
sock.on('end', () => sock.destroy());
JS

spawn server node "$work/server.mjs"
wait_listen server 2
start_capture "${1:-$here/input.pcap}"
c() { in_ns client curl -sS -o /dev/null --max-time 5 "$@"; }
base=http://192.168.20.80

echo "1. two GETs, keep-alive"; c "$base/index.html" -o /dev/null "$base/admin/../etc/passwd" --path-as-is
echo "2. HEAD"; c -I "$base/index.html"
echo "3. 304"; c -H 'If-None-Match: "v1"' "$base/cached"
echo "4. POST, Expect: 100-continue"; head -c 3000 /dev/zero | tr '\0' a >"$work/body"; c -H 'Expect: 100-continue' --data-binary @"$work/body" "$base/upload"
echo "5. HTTP/1.0"; c -0 "$base/old"
echo "6. chunked answer with a trailer"; c "$base/chunked"
echo "7. chunked upload"; c -H 'Transfer-Encoding: chunked' --data-binary @"$work/body" "$base/upload-chunked"
echo "8. pipelined"; in_ns client node "$work/raw.mjs" 80 '"GET /p1 HTTP/1.1\r\nHost: 192.168.20.80\r\n\r\nGET /p2 HTTP/1.1\r\nHost: 192.168.20.80\r\n\r\nGET /p3 HTTP/1.1\r\nHost: 192.168.20.80\r\nConnection: close\r\n\r\n"'
echo "9. WebSocket upgrade"; in_ns client node "$work/raw.mjs" 80 '"GET /chat HTTP/1.1\r\nHost: 192.168.20.80\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"' '"\u0081\u0085not http"'
echo "10. Host: evil.example a byte at a time, port 8080"; in_ns client node "$work/raw.mjs" 8080 'bytewise:"GET /x HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n"'

stop_capture
