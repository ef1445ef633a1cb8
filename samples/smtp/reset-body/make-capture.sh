#!/usr/bin/env bash
# Records samples/smtp/reset-body/input.pcap from real traffic between network namespaces (see
# ../../netns-capture.sh): curl on 192.168.10.10 submits two mails to ../smtp-server.js on
# 192.168.20.25:587, one session each:
#
#   1. ../mails/report.txt, which the rules let through;
#   2. ../mails/leak.txt, whose body carries a canary token.
#
# The server announces an MSS of 48 to the client (advmss on its route back), so each client
# segment carries at most 36 bytes (48 minus the 12 of the timestamp option): the mail, and the
# 71-byte token in it, cross many segments. It checks that the server application received both
# mails exactly as sent, and with tshark that the token crosses at least three segments; only
# then does the capture replace input.pcap. Run as root: sudo samples/smtp/reset-body/make-capture.sh [out.pcap]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
dest=${1:-$here/input.pcap} # not `out`: start_capture sets that
PREFIX=pal-smtp-rb
. "$here/../../netns-capture.sh"

host server 192.168.20.25 02:00:00:50:00:19
host client 192.168.10.10 02:00:00:0a:00:0a
in_ns server ip route replace 192.168.10.10/32 dev eth0 advmss 48

# SMTP lines end in CRLF (RFC 5321 §2.3.8), and curl dot-stuffs a line only after one.
for m in report leak; do sed 's/$/\r/' "$here/../mails/$m.txt" >"$work/$m.eml"; done
mkdir "$work/received"
spawn server node "$here/../smtp-server.js" 192.168.20.25 587 "$work/received"
wait_listen server 1
start_capture "$work/input.pcap"

submit() { in_ns client curl -sS --max-time 5 smtp://192.168.20.25:587/client.example --mail-from alice@client.example "$@"; }
echo "an allowed mail"
submit --mail-rcpt bob@example.net -T "$work/report.eml"
echo "a mail carrying a canary token"
submit --mail-rcpt mallory@example.net -T "$work/leak.eml"

stop_capture
cmp "$work/report.eml" "$work/received/message-1.eml"
cmp "$work/leak.eml" "$work/received/message-2.eml"
# The token in the second connection's client stream, and the segments carrying it.
python3 - "$work/input.pcap" <<'PY'
import subprocess, sys
token = b'CANARY-d33e92d96eb23e29d1937d25324eb538cfc76674d64a94585224c0f78399ecba'
fields = subprocess.run(
    ['tshark', '-r', sys.argv[1], '-Y', 'tcp.stream == 1 && tcp.dstport == 587 && tcp.len > 0',
     '-T', 'fields', '-e', 'frame.number', '-e', 'tcp.seq', '-e', 'tcp.payload'],
    capture_output=True, text=True, check=True).stdout.split('\n')
stream, segments = bytearray(), []
for line in filter(None, fields):
    frame, seq, payload = line.split('\t')
    data = bytes.fromhex(payload)
    assert int(seq) - 1 == len(stream), f'frame {frame} is out of order (a retransmission?): record again'
    segments.append((int(frame), len(stream), len(data)))
    stream += data
start = stream.find(token)
assert start >= 0, 'the token is not in the second connection'
frames = [f for f, off, n in segments if off < start + len(token) and off + n > start]
largest = max(n for _, _, n in segments)
print(f'token at client stream offset {start}, in frames {frames}; client segments carry at most {largest} bytes')
assert largest <= 36 and len(frames) >= 3, 'the token must cross at least 3 segments of at most 36 bytes'
PY
mv "$work/input.pcap" "$dest"
chown --reference="$(dirname "$dest")" "$dest"
