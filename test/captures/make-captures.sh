#!/usr/bin/env bash
# Remakes the capture fixtures in test/captures/ from real loopback traffic.
#
#   sudo test/captures/make-captures.sh      (root: tcpdump and dumpcap capture on lo and any)
#
# Needs tcpdump, dumpcap, editcap, mergecap, tshark, curl and node (with this checkout's
# node_modules for tsx). The tests read the checked-in files and never run this script; they
# compare what palisade reads with what tshark reads from the same file and derive record
# numbers and offsets from the files, so remade fixtures pass the same tests.
#
# What each file is and how it was made:
#   lo.pcap                tcpdump -i lo: Ethernet, microseconds, little-endian
#   lo-nsec.pcap           tcpdump -i lo --time-stamp-precision=nano (same traffic)
#   lo-editcap-nsec.pcap   editcap -F nsecpcap lo.pcap
#   lo.pcapng              editcap -F pcapng lo.pcap
#   lo-dumpcap.pcapng      dumpcap -i lo: if_tsresol 9, an Interface Statistics Block at the end
#   lo-blocks.pcapng       lo-dumpcap.pcapng + a Decryption Secrets Block (editcap
#                          --inject-secrets) and a Name Resolution Block (tshark -H -W n): blocks to skip
#   any-sll.pcap           tcpdump -i any -y LINUX_SLL (link type 113)
#   any-sll2.pcap          tcpdump -i any -y LINUX_SLL2 (link type 276)
#   multi-interface.pcapng mergecap of lo.pcapng, any-sll2.pcap, any-sll.pcap, raw.pcap:
#                          four interfaces, four link types, packets interleaved by time
#   snaplen-60.pcap(ng)    editcap -s 60: every record cut to 60 bytes, original length kept
#   lo-be.pcap, lo-nsec-be.pcap, lo-dumpcap-be.pcapng
#                          lo.pcap, lo-nsec.pcap, lo-dumpcap.pcapng with every header field
#                          byte-swapped by swap-byte-order.ts (no installed tool writes
#                          big-endian files; a big-endian host's libpcap would write these bytes)
#   two-sections.pcapng    cat lo.pcapng and any-sll.pcap as a big-endian pcapng: two sections,
#                          two byte orders, each with its own interface list
#   null.pcap loop.pcap raw.pcap raw-dlt12.pcap ipv4.pcap ipv6.pcap
#                          link types 0, 108, 101, 12 (old DLT_RAW), 228, 229, written by
#                          palisade's PcapWriter from lo.pcap's IP packets
#                          (make-link-type-captures.ts; the tests check them with tshark)
#   pcapng-features.pcapng lo.pcap's packets re-framed with if_tsresol 10^-3, 2^-20, 2^-30,
#                          if_tsoffset, SPB, obsolete PB, custom and unknown blocks and a
#                          big-endian second section (make-pcapng-features.ts)
#   cut-in-record-header.pcap, cut-in-record-body.pcap
#                          head -c of lo.pcap ending 9 bytes into record 4's header, and 20
#                          bytes into record 6's packet data
#   cut-in-block-header.pcapng, cut-in-block-body.pcapng
#                          head -c of lo.pcapng ending 10 bytes into the 4th packet's block,
#                          and 40 bytes into the 6th
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
work=$(mktemp -d)
port=18080
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

tsx() { "$root/node_modules/.bin/tsx" "$@"; }

# Waits until a capturer's stderr says it is capturing, so no packet of the exchange is missed.
wait_listening() {
  for _ in $(seq 100); do
    grep -qE 'listening on|Capturing on' "$1" && return 0
    sleep 0.1
  done
  echo "capturer did not start: $(cat "$1")" >&2
  return 1
}

# --- 1. Real traffic: two HTTP GETs over loopback (IPv4 then IPv6), each answered with 2 KB,
# captured at once by five capturers so every fixture holds the same exchange.
node -e "
  const http = require('node:http');
  const body = 'x'.repeat(2000) + '\n';
  for (const host of ['127.0.0.1', '::1'])
    http.createServer((req, res) => { res.setHeader('Connection', 'close'); res.end(body); }).listen($port, host);
  setTimeout(() => process.exit(0), 30000);
" &
pids+=($!)

filter="tcp port $port"
capture() { # name, then the capturer's command line
  local name=$1
  shift
  "$@" 2>"$work/$name.err" &
  pids+=($!)
  wait_listening "$work/$name.err"
}
capture lo tcpdump --immediate-mode -Z root -i lo -w "$work/lo.pcap" "$filter"
capture lo-nsec tcpdump --immediate-mode -Z root -i lo --time-stamp-precision=nano -w "$work/lo-nsec.pcap" "$filter"
capture any-sll tcpdump --immediate-mode -Z root -i any -y LINUX_SLL -w "$work/any-sll.pcap" "$filter"
capture any-sll2 tcpdump --immediate-mode -Z root -i any -y LINUX_SLL2 -w "$work/any-sll2.pcap" "$filter"
capture lo-dumpcap dumpcap -q -i lo -f "$filter" -w "$work/lo-dumpcap.pcapng"

# "listening on" comes a moment before the any device sees every packet.
sleep 1
curl -sS -o /dev/null "http://127.0.0.1:$port/v4"
curl -sS -o /dev/null "http://[::1]:$port/v6"
sleep 1.5
# SIGINT lets each capturer flush (and dumpcap write its statistics block).
kill -INT "${pids[@]:1}"
for pid in "${pids[@]:1}"; do wait "$pid" || true; done
kill "${pids[0]}" 2>/dev/null || true

cd "$work"

# --- 2. Conversions with Wireshark's tools.
editcap -F nsecpcap lo.pcap lo-editcap-nsec.pcap
editcap -F pcapng lo.pcap lo.pcapng
editcap -F pcap -s 60 lo.pcap snaplen-60.pcap
editcap -s 60 lo.pcapng snaplen-60.pcapng
# editcap drops NRBs, so the secrets go in first; -T fields makes tshark resolve the names it
# then writes as an NRB.
printf 'CLIENT_RANDOM %064d %096d\n' 1 2 >keylog
editcap --inject-secrets tls,keylog lo-dumpcap.pcapng with-dsb.pcapng
printf '127.0.0.1 palisade-v4\n::1 palisade-v6\n' >hosts
tshark -r with-dsb.pcapng -N n -H hosts -W n -w lo-blocks.pcapng -T fields -e ip.src_host >/dev/null 2>&1

# --- 3. Formats and link types no tool here writes.
tsx "$here/swap-byte-order.ts" lo.pcap lo-be.pcap
tsx "$here/swap-byte-order.ts" lo-nsec.pcap lo-nsec-be.pcap
tsx "$here/swap-byte-order.ts" lo-dumpcap.pcapng lo-dumpcap-be.pcapng
editcap -F pcapng any-sll.pcap any-sll.pcapng
tsx "$here/swap-byte-order.ts" any-sll.pcapng any-sll-be.pcapng
cat lo.pcapng any-sll-be.pcapng >two-sections.pcapng
tsx "$here/make-link-type-captures.ts" lo.pcap .
tsx "$here/make-pcapng-features.ts" lo.pcap pcapng-features.pcapng
mergecap -F pcapng -w multi-interface.pcapng lo.pcapng any-sll2.pcap any-sll.pcap raw.pcap

# --- 4. Files cut short, at offsets found by walking the records.
pcap_record_offset() { # file, 1-based record: 24-byte file header, then 16 + caplen per record
  tshark -r "$1" -T fields -e frame.cap_len -c "$(($2 - 1))" 2>/dev/null | awk 'BEGIN { o = 24 } { o += 16 + $1 } END { print o }'
}
pcapng_packet_offset() { # little-endian file, 1-based packet block
  local file=$1 want=$2 off=0 n=0 type len size
  size=$(stat -c %s "$file")
  while ((off < size)); do
    read -r type len < <(od -An -tu4 -j "$off" -N8 "$file")
    if ((type == 6)) && ((++n == want)); then
      echo "$off"
      return
    fi
    off=$((off + len))
  done
  return 1
}
head -c "$(($(pcap_record_offset lo.pcap 4) + 9))" lo.pcap >cut-in-record-header.pcap
head -c "$(($(pcap_record_offset lo.pcap 6) + 16 + 20))" lo.pcap >cut-in-record-body.pcap
head -c "$(($(pcapng_packet_offset lo.pcapng 4) + 10))" lo.pcapng >cut-in-block-header.pcapng
head -c "$(($(pcapng_packet_offset lo.pcapng 6) + 40))" lo.pcapng >cut-in-block-body.pcapng

fixtures=(
  lo.pcap lo-nsec.pcap lo-editcap-nsec.pcap lo.pcapng lo-dumpcap.pcapng lo-blocks.pcapng
  any-sll.pcap any-sll2.pcap multi-interface.pcapng snaplen-60.pcap snaplen-60.pcapng
  lo-be.pcap lo-nsec-be.pcap lo-dumpcap-be.pcapng two-sections.pcapng
  null.pcap loop.pcap raw.pcap raw-dlt12.pcap ipv4.pcap ipv6.pcap pcapng-features.pcapng
  cut-in-record-header.pcap cut-in-record-body.pcap cut-in-block-header.pcapng cut-in-block-body.pcapng
)
for f in "${fixtures[@]}"; do
  if (($(stat -c %s "$f") > 50000)); then
    echo "$f is over 50 KB; the fixtures must stay small" >&2
    exit 1
  fi
  install -m 644 "$f" "$here/$f"
done
echo "wrote ${#fixtures[@]} fixtures to $here"
