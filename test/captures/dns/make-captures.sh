#!/usr/bin/env bash
# Records test/captures/dns/udp.pcap and tcp.pcap: real DNS traffic between dig and dnsmasq,
# inside a network namespace this script makes (pal-dns) so that nothing leaves it and no
# resolver of the host is touched.
#
#   sudo test/captures/dns/make-captures.sh      (root: a namespace, tcpdump)
#
# Needs ip, tcpdump, dnsmasq and dig (Debian: apt-get install -y dnsmasq bind9-dnsutils tcpdump).
# The dnsmasq package may start a system service; this script runs its own dnsmasq, in the
# namespace, with no configuration file, so the two never meet.
#
# Inside pal-dns, on lo: dnsmasq answers on 127.0.0.1 and ::1 from local records (pal.test,
# --local so that a missing name is NXDOMAIN), and authoritatively on 10.53.0.1 for auth.test
# (--auth-zone: SOA, NS, and NXDOMAIN with the SOA in the authority section). The tests read the
# checked-in files and never run this script; they compare what palisade decodes with what
# tshark decodes from the same file, so remade captures pass the same tests.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
ns=pal-dns
work=
pids=()

cleanup() {
  local pid
  pids+=($(ip netns pids "$ns" 2>/dev/null || true))
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  pids=()
  ip netns del "$ns" 2>/dev/null || true
  [[ -z $work ]] || rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP # so that EXIT runs cleanup
cleanup                      # leftovers of an interrupted run

for tool in ip tcpdump dnsmasq dig; do command -v "$tool" >/dev/null || { echo "needs $tool (apt-get install -y dnsmasq bind9-dnsutils tcpdump)" >&2; exit 1; }; done
[[ $(id -u) -eq 0 ]] || { echo "run as root (a network namespace, tcpdump)" >&2; exit 1; }

work=$(mktemp -d /tmp/pal-dns.XXXXXX)
nsx() { ip netns exec "$ns" "$@"; }

ip netns add "$ns"
nsx ip link set lo up
nsx sysctl -qw net.ipv6.conf.lo.disable_ipv6=0
nsx ip addr add 10.53.0.1/32 dev lo

# RDATA that dnsmasq has no option for, in hex (--dns-rr):
# HTTPS (RFC 9460): priority 1, target ".", mandatory=alpn,port alpn=h2,h3 port=8443
# ipv4hint=10.0.0.1,10.0.0.2 ech=<8 bytes> ipv6hint=fd00::1 key65001="abc".
https=0001''00''0000000400010003''000100060268320268330003000220fb
https+=000400080a0000010a000002''00050008000611223344aabb
https+=00060010fd000000000000000000000000000001''fde90003616263
# SVCB in AliasMode (priority 0) to svc.pal.test.
svcb=0000037376630370616c047465737400
# DNAME (RFC 6672) to other.example.
dname=056f74686572076578616d706c6500
# 3000 bytes of TXT: over UDP with dig's default 1232-byte buffer it comes back truncated (TC)
# and dig asks again over TCP; with +bufsize=4096 it comes whole over UDP.
big=$(for i in $(seq -w 0 11); do printf 's%s%0246d,' "$i" 0; done)
big=${big%,}

# Started with ip netns exec, not nsx: $! is then the process itself, not a subshell (a
# background subshell ignores SIGINT, and tcpdump needs SIGINT to flush).
ip netns exec "$ns" dnsmasq --keep-in-foreground --conf-file=/dev/null --no-resolv --no-hosts --pid-file= \
  --user=root --group=root --listen-address=127.0.0.1,::1,10.53.0.1 --bind-interfaces \
  --log-facility="$work/dnsmasq.log" --log-queries --local-ttl=300 --edns-packet-max=4096 \
  --local=/pal.test/ \
  --host-record=host.pal.test,10.0.0.4,fd00::4 \
  --host-record=mail.pal.test,10.0.0.25 \
  --cname=www.pal.test,host.pal.test \
  --mx-host=pal.test,mail.pal.test,10 \
  --txt-record=txt.pal.test,"v=spf1 -all","second string" \
  --txt-record=big.pal.test,"$big" \
  --srv-host=_sip._udp.pal.test,sip.pal.test,5060,10,20 \
  --ptr-record=9.0.0.10.in-addr.arpa,printer.pal.test \
  --caa-record=pal.test,128,issue,letsencrypt.org \
  --naptr-record=naptr.pal.test,100,10,S,SIP+D2U,,_sip._udp.pal.test \
  --dns-rr=svc.pal.test,65,"$https" \
  --dns-rr=alias.pal.test,64,"$svcb" \
  --dns-rr=dname.pal.test,39,"$dname" \
  --dns-rr=odd.pal.test,65534,deadbeef \
  --auth-server=ns.auth.test,10.53.0.1 --auth-zone=auth.test \
  --auth-soa=2024010101,hostmaster.auth.test,1200,180,1209600 \
  --host-record=ns.auth.test,10.53.0.1 --host-record=www.auth.test,10.1.0.1 \
  2>"$work/dnsmasq.err" &
pids+=($!)

capture() { # name, filter
  ip netns exec "$ns" tcpdump --immediate-mode -U -i lo -nn -Z root -w "$work/$1.pcap" "$2" 2>"$work/$1.err" &
  pids+=($!)
  for _ in $(seq 100); do grep -q 'listening on' "$work/$1.err" && return 0; sleep 0.05; done
  echo "tcpdump did not start: $(cat "$work/$1.err")" >&2
  return 1
}
capture udp 'udp port 53'
capture tcp 'tcp port 53'
for _ in $(seq 100); do nsx dig +tries=1 +time=1 @127.0.0.1 host.pal.test >/dev/null 2>&1 && break; sleep 0.05; done
# That probe is captured too: the tests skip nothing, it is one more A query.

q() { nsx dig +tries=1 +time=2 "$@" >>"$work/dig.out" 2>&1 || { echo "dig $* failed" >&2; cat "$work/dig.out" >&2; return 1; }; }
s=@127.0.0.1
a=@10.53.0.1
# --- UDP
q $s host.pal.test AAAA
q $s www.pal.test # CNAME, then the A it names
q $s pal.test MX
q $s txt.pal.test TXT
q $s _sip._udp.pal.test SRV
q $s -x 10.0.0.4
q $s 9.0.0.10.in-addr.arpa PTR
q $s -x fd00::4
q $s pal.test CAA
q $s svc.pal.test HTTPS
q $s alias.pal.test SVCB
q $s dname.pal.test DNAME
q $s odd.pal.test TYPE65534
q $s naptr.pal.test NAPTR
q $s nothere.pal.test # NXDOMAIN, no SOA (not authoritative)
q $a nothere.auth.test # NXDOMAIN with the zone's SOA in the authority section
q $a auth.test SOA
q $a auth.test NS
q $a www.auth.test # answer, NS in authority, glue in additional
q $s +dnssec +bufsize=1232 +nsid +subnet=10.0.0.0/24 host.pal.test # EDNS: DO, options
q $s +noedns host.pal.test
q $s +cdflag +noadflag host.pal.test
q $s HoSt.PaL.tEsT # 0x20 mixed case
q $s 'we\.ird\032x.pal.test' # a dot and a space inside a label
q $s +opcode=status host.pal.test
q @::1 host.pal.test AAAA
q $s big.pal.test TXT +bufsize=4096 # 3 KB over UDP
q $s big.pal.test TXT # TC over UDP, then again over TCP
# --- TCP
q $s +tcp host.pal.test
q $s +tcp svc.pal.test HTTPS
q $s +tcp pal.test MX
q $s +tcp +keepopen host.pal.test A txt.pal.test TXT # two queries on one connection
q $a +tcp nothere.auth.test
q @::1 +tcp host.pal.test AAAA

sleep 0.5
# SIGINT lets tcpdump flush its buffer.
for pid in "${pids[@]:1}"; do kill -INT "$pid" 2>/dev/null || true; done
for pid in "${pids[@]:1}"; do wait "$pid" || true; done

for f in udp.pcap tcp.pcap; do
  if (($(stat -c %s "$work/$f") > 100000)); then
    echo "$f is over 100 KB; the fixtures must stay small" >&2
    exit 1
  fi
  install -m 644 "$work/$f" "$here/$f"
done
echo "wrote udp.pcap and tcp.pcap to $here"
