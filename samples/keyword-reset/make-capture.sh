#!/usr/bin/env bash
# Records samples/keyword-reset/input.pcap from real traffic between network namespaces (see
# ../netns-capture.sh): an FTP control connection to 192.168.20.80:21 from 192.168.10.10, twice.
#
#   1. a harmless session: USER, PASS, PWD, QUIT;
#   2. the same login, then `SITE EXEC /bin/sh -c id` written in two pieces ("SITE EX", then
#      "EC /bin/sh -c id\r\n", 200 ms apart, Nagle off), so the command reaches the wire split
#      across two TCP segments, as an evasive client would send it.
#
# The server is a stand-in for an FTP daemon with the old SITE EXEC hole: it answers every
# command line (and would run SITE EXEC). Run as root: sudo samples/keyword-reset/make-capture.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
PREFIX=pal-kw
. "$here/../netns-capture.sh"

host server 192.168.20.80 02:00:00:50:00:50
host client 192.168.10.10 02:00:00:0a:00:0a

cat >"$work/server.mjs" <<'JS'
import net from 'node:net';
net.createServer((sock) => {
  sock.on('error', () => {});
  sock.write('220 palisade sample FTP server ready\r\n');
  let pending = '';
  sock.on('data', (d) => {
    pending += d.toString('latin1');
    for (let i; (i = pending.indexOf('\r\n')) >= 0; ) {
      const line = pending.slice(0, i);
      pending = pending.slice(i + 2);
      const verb = line.split(' ')[0].toUpperCase();
      if (verb === 'USER') sock.write('331 Password required\r\n');
      else if (verb === 'PASS') sock.write('230 Logged in\r\n');
      else if (verb === 'PWD') sock.write('257 "/" is the current directory\r\n');
      else if (verb === 'SITE') sock.write('200 uid=0(root) gid=0(root)\r\n');
      else if (verb === 'QUIT') sock.end('221 Goodbye\r\n');
      else sock.write('502 Command not implemented\r\n');
    }
  });
}).listen(21, '192.168.20.80');
JS

# client.mjs LINE…: sends each line after the previous reply; a line holding '|' is written in
# two pieces split there, 200 ms apart.
cat >"$work/client.mjs" <<'JS'
import net from 'node:net';
const lines = process.argv.slice(2);
const sock = net.connect(21, '192.168.20.80');
sock.setNoDelay(true);
sock.setTimeout(3000, () => sock.destroy());
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
let replies = 0;
sock.on('data', async (d) => {
  process.stdout.write(`  < ${d.toString().trim()}\n`);
  const line = lines[replies++];
  if (line === undefined) return;
  await sleep(50);
  const [a, b] = line.split('|');
  process.stdout.write(`  > ${line}\n`);
  if (b === undefined) { sock.write(`${a}\r\n`); return; }
  sock.write(a);
  await sleep(200);
  sock.write(`${b}\r\n`);
});
sock.on('end', () => sock.end());
JS

spawn server node "$work/server.mjs"
wait_listen server 1
start_capture "${1:-$here/input.pcap}"

echo "harmless session"
in_ns client node "$work/client.mjs" 'USER anonymous' 'PASS guest@' 'PWD' 'QUIT'
sleep 0.2
echo "SITE EXEC split across two segments"
in_ns client node "$work/client.mjs" 'USER anonymous' 'PASS guest@' 'SITE EX|EC /bin/sh -c id' 'QUIT'

stop_capture
