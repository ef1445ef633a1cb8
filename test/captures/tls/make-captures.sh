#!/usr/bin/env bash
# Records test/captures/tls/*.pcap: real TLS handshakes between OpenSSL and Node on loopback,
# read by test/tls/captures.test.ts.
#
#   sudo test/captures/tls/make-captures.sh      (root: tcpdump captures on lo)
#   KEEP=1 keeps the work directory (keys, certificates, each side's output) and prints its path.
#
# Needs openssl (s_server, s_client, ca), tcpdump, ss and node. Each capture is one connection,
# 127.0.0.1 to 127.0.0.1:1844N, to an `openssl s_server` that serves server.pem:
#   tls12.pcap   s_client -tls1_2: the Certificate is in clear; the server's records are at most
#                512 bytes (-max_send_frag), so its Certificate spans two records
#   tls13.pcap   s_client, TLS 1.3: everything after the ServerHello is encrypted
#   node13.pcap  a Node tls.connect client (servername, ALPNProtocols), TLS 1.3
#   hrr13.pcap   TLS 1.3 with a HelloRetryRequest: the server takes only P-256 and the client's
#                first key share is X25519; in middlebox compatibility mode the client sends a
#                ChangeCipherSpec before its second ClientHello (RFC 8446 §4.1.4, D.4)
#   mtls12.pcap  TLS 1.2 with a client certificate (s_server -Verify, s_client -cert)
# The tests assert what this script configures: the server certificate's subject, SANs,
# validity and serial, the SNI and ALPN sent, and the cipher suites the server is held to.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  [[ -n ${KEEP:-} ]] && echo "kept $work" || rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

for tool in openssl tcpdump ss node; do command -v "$tool" >/dev/null || { echo "needs $tool" >&2; exit 1; }; done
[[ $(id -u) -eq 0 ]] || { echo "run as root (tcpdump)" >&2; exit 1; }

# A self-signed server certificate with fixed dates and serial, so the tests can name them:
# `openssl ca -selfsign` takes -startdate/-enddate, which `req -x509` (OpenSSL 3.0) does not.
# It orders the subject as the policy lists its attributes: C, O, CN, as certificates usually are.
cat >"$work/ca.cnf" <<CNF
[ca]
default_ca = self
[self]
dir = $work
database = $work/index.txt
serial = $work/serial
new_certs_dir = $work
default_md = sha256
policy = any
copy_extensions = copy
unique_subject = no
[any]
countryName = optional
organizationName = optional
commonName = supplied
[server]
subjectAltName = DNS:palisade.test,DNS:*.palisade.test,IP:127.0.0.1,IP:::1
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
[client]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = clientAuth
CNF
: >"$work/index.txt"
selfsign() { # name subject extensions-section serial
  echo "$4" >"$work/serial"
  openssl req -new -newkey rsa:2048 -nodes -keyout "$work/$1.key" -out "$work/$1.csr" -subj "$2" 2>/dev/null
  openssl ca -batch -config "$work/ca.cnf" -selfsign -keyfile "$work/$1.key" -in "$work/$1.csr" \
    -startdate 20260101000000Z -enddate 20360101000000Z -extensions "$3" -out "$work/$1.pem" -notext 2>/dev/null
}
selfsign server '/C=FR/O=Palisade Test, Inc/CN=palisade.test' server 5A1E5ADE01
selfsign client '/CN=palisade client' client 5A1E5ADE02

# Waits until a capturer's stderr says it is capturing, so no packet of the exchange is missed.
wait_listening() {
  for _ in $(seq 100); do
    grep -q 'listening on' "$1" 2>/dev/null && return 0
    sleep 0.05
  done
  echo "tcpdump did not start: $(cat "$1")" >&2
  exit 1
}
wait_port() {
  for _ in $(seq 100); do
    ss -ltnH "sport = :$1" | grep -q . && return 0
    sleep 0.05
  done
  echo "nothing listens on port $1" >&2
  exit 1
}

# capture NAME PORT 'server options' client-command...: one connection, recorded.
capture() {
  local name=$1 port=$2 server_opts=$3
  shift 3
  tcpdump --immediate-mode -Z root -i lo -w "$work/$name.pcap" "tcp port $port" 2>"$work/$name.tcpdump" &
  local dump=$!
  pids+=("$dump")
  wait_listening "$work/$name.tcpdump"
  sleep 0.5 # "listening on" comes a moment before every packet is seen
  # shellcheck disable=SC2086 # server_opts is a list of options
  openssl s_server -accept "127.0.0.1:$port" -cert "$work/server.pem" -key "$work/server.key" \
    -alpn h2,http/1.1 -naccept 1 -quiet $server_opts </dev/null >"$work/$name.server" 2>&1 &
  local server=$!
  pids+=("$server")
  wait_port "$port"
  "$@" </dev/null >"$work/$name.client" 2>&1
  wait "$server" || true
  sleep 0.2
  kill -INT "$dump" # lets tcpdump flush
  wait "$dump" || true
  cp "$work/$name.pcap" "$here/$name.pcap"
  echo "$name.pcap: $(stat -c %s "$here/$name.pcap") bytes"
}

client() { openssl s_client -connect "127.0.0.1:$1" -servername palisade.test -alpn h2,http/1.1 "${@:2}"; }

capture tls12 18441 '-max_send_frag 512 -cipher ECDHE-RSA-CHACHA20-POLY1305' client 18441 -tls1_2
capture tls13 18442 '-ciphersuites TLS_CHACHA20_POLY1305_SHA256' client 18442
capture node13 18443 '-ciphersuites TLS_AES_256_GCM_SHA384' node -e '
  const tls = require("node:tls");
  const s = tls.connect({ host: "127.0.0.1", port: 18443, servername: "palisade.test", ALPNProtocols: ["h2", "http/1.1"], rejectUnauthorized: false });
  s.on("secureConnect", () => { console.log(s.alpnProtocol, s.getProtocol()); s.end(); });
  s.on("error", (e) => { console.error(e.message); process.exit(1); });'
capture hrr13 18444 '-groups P-256' client 18444 -groups X25519:P-256
capture mtls12 18445 "-Verify 1 -CAfile $work/client.pem -cipher ECDHE-RSA-AES128-GCM-SHA256" \
  client 18445 -tls1_2 -cert "$work/client.pem" -key "$work/client.key"
