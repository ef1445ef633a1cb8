#!/usr/bin/env bash
# Records samples/dns/input.pcap from real traffic between network namespaces (see
# ../netns-capture.sh): dig at 192.168.10.10 against dnsmasq at 192.168.20.53:53, which answers
# from local records only: corp.example (--local, so that a missing name is NXDOMAIN) and, as a
# resolver that has not been told otherwise would, every name under blocked.example. One query
# per case, in this order:
#
#   1. www.corp.example A, over UDP;
#   2. www.corp.example AAAA, over UDP;
#   3. corp.example MX, over UDP (the mail host's address comes in the additional section);
#   4. shop.corp.example A, over UDP: a CNAME to www.corp.example, and its address;
#   5. nothere.corp.example A, over UDP: NXDOMAIN;
#   6. tracker.blocked.example A, over UDP: a name of the denied zone;
#   7. www.corp.example A, over TCP (dig +tcp);
#   8. ads.blocked.example A, over TCP.
#
# Run as root: sudo samples/dns/make-capture.sh [out.pcap]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
PREFIX=pal-dns
. "$here/../netns-capture.sh"

host server 192.168.20.53 02:00:00:50:00:35
host client 192.168.10.10 02:00:00:0a:00:0a

# No configuration file, no upstream, no /etc/hosts: only what is given here.
spawn server dnsmasq --keep-in-foreground --conf-file=/dev/null --no-resolv --no-hosts --pid-file= \
  --user=root --group=root --listen-address=192.168.20.53 --bind-interfaces --local-ttl=300 \
  --local=/corp.example/ \
  --host-record=www.corp.example,192.168.20.80,fd00:20::80 \
  --host-record=mail.corp.example,192.168.20.25 \
  --mx-host=corp.example,mail.corp.example,10 \
  --cname=shop.corp.example,www.corp.example \
  --address=/blocked.example/10.66.6.6
wait_listen server 2 # UDP and TCP
start_capture "${1:-$here/input.pcap}"

q() { # dig's answer section, one line per record
  in_ns client dig +tries=1 +time=2 +noall +answer +additional @192.168.20.53 "$@" | sed 's/^/  /' || true
  sleep 0.1
}
echo "1. www A"; q www.corp.example A
echo "2. www AAAA"; q www.corp.example AAAA
echo "3. MX"; q corp.example MX
echo "4. CNAME"; q shop.corp.example A
echo "5. NXDOMAIN"; q nothere.corp.example A
echo "6. blocked, UDP"; q tracker.blocked.example A
echo "7. www A, TCP"; q +tcp www.corp.example A
echo "8. blocked, TCP"; q +tcp ads.blocked.example A

stop_capture
