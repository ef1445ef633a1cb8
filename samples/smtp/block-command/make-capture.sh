#!/usr/bin/env bash
# Records samples/smtp/block-command/input.pcap from real traffic between network namespaces
# (see ../../netns-capture.sh): curl on 192.168.10.10 talks SMTP to ../smtp-server.js on
# 192.168.20.25:25, in three sessions:
#
#   1. a mail (../mails/report.txt), which the rules let through;
#   2. VRFY root: curl sends VRFY for a recipient when it has no mail to send;
#   3. EXPN staff: curl -X EXPN.
#
# It checks that the server application received the mail exactly as sent, and with tshark that
# each forbidden command crossed the wire in its own connection; only then does the capture
# replace input.pcap. Run as root: sudo samples/smtp/block-command/make-capture.sh [out.pcap]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
dest=${1:-$here/input.pcap} # not `out`: start_capture sets that
PREFIX=pal-smtp-bc
. "$here/../../netns-capture.sh"

host server 192.168.20.25 02:00:00:50:00:19
host client 192.168.10.10 02:00:00:0a:00:0a

# SMTP lines end in CRLF (RFC 5321 §2.3.8), and curl dot-stuffs a line only after one.
sed 's/$/\r/' "$here/../mails/report.txt" >"$work/report.eml"
mkdir "$work/received"
spawn server node "$here/../smtp-server.js" 192.168.20.25 25 "$work/received"
wait_listen server 1
start_capture "$work/input.pcap"

smtp() { in_ns client curl -sS --max-time 5 smtp://192.168.20.25/client.example "$@"; }
echo "a mail"
smtp --mail-from alice@client.example --mail-rcpt bob@example.net -T "$work/report.eml"
echo "VRFY root"
smtp --mail-rcpt root
echo "EXPN staff"
smtp --mail-rcpt staff -X EXPN

stop_capture
cmp "$work/report.eml" "$work/received/message-1.eml"
commands=$(tshark -r "$work/input.pcap" -Y 'smtp.req.command == "VRFY" || smtp.req.command == "EXPN"' \
  -T fields -e tcp.stream -e smtp.req.command 2>/dev/null)
[[ $commands == $'1\tVRFY\n2\tEXPN' ]] || { echo "expected VRFY in stream 1 and EXPN in stream 2, got: $commands" >&2; exit 1; }
mv "$work/input.pcap" "$dest"
chown --reference="$(dirname "$dest")" "$dest"
