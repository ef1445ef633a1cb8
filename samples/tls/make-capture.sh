#!/usr/bin/env bash
# Records samples/tls/input.pcap from real traffic between network namespaces (see
# ../netns-capture.sh): TLS clients at 192.168.10.10 against `openssl s_server` at
# 192.168.20.80:443, which serves one self-signed certificate (CN shop.example, SANs shop.example
# and *.shop.example, made here) and offers ALPN h2 and http/1.1. One connection per case, in
# this order:
#
#   1. openssl s_client, TLS 1.3, server name shop.example, ALPN http/1.1;
#   2. openssl s_client -tls1_2, shop.example: the Certificate travels in clear;
#   3. a Node tls.connect client, TLS 1.3, api.shop.example, ALPN h2 and http/1.1;
#   4. openssl s_client -tls1_2, mail.example: a name the certificate does not cover;
#   5. openssl s_client -tls1_1, shop.example: a client that offers nothing newer than TLS 1.1
#      (both ends at OpenSSL's security level 0, which TLS 1.1 needs);
#   6. curl -k https://www.blocked.example/: a name on the sample's deny list.
#
# Run as root: sudo samples/tls/make-capture.sh [out.pcap]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
PREFIX=pal-tls
. "$here/../netns-capture.sh"

host server 192.168.20.80 02:00:00:50:00:50
host client 192.168.10.10 02:00:00:0a:00:0a

openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -set_serial 0x5A1E5ADE10 \
  -keyout "$work/server.key" -out "$work/server.pem" -subj '/C=FR/O=Shop Example/CN=shop.example' \
  -addext 'subjectAltName=DNS:shop.example,DNS:*.shop.example' \
  -addext 'basicConstraints=critical,CA:FALSE' -addext 'extendedKeyUsage=serverAuth' 2>/dev/null

# -www answers an HTTP GET with a status page; the clients here only shake hands and close.
spawn server openssl s_server -accept 192.168.20.80:443 -cert "$work/server.pem" -key "$work/server.key" \
  -alpn h2,http/1.1 -min_protocol TLSv1.1 -cipher 'DEFAULT:@SECLEVEL=0' -www -quiet
wait_listen server 1
start_capture "${1:-$here/input.pcap}"

s_client() { # NAME OPTION…: a handshake to server name NAME, then close (stdin is empty)
  local name=$1; shift
  in_ns client timeout 5 openssl s_client -connect 192.168.20.80:443 -servername "$name" "$@" </dev/null 2>&1 \
    | grep -E '^ *(Protocol *:|ALPN protocol|No ALPN|subject=|.*errno)' | sed 's/^ */  /' || true
  sleep 0.2
}

echo "1. TLS 1.3, shop.example"; s_client shop.example -alpn http/1.1
echo "2. TLS 1.2, shop.example"; s_client shop.example -tls1_2
echo "3. Node, TLS 1.3, api.shop.example, ALPN h2"
in_ns client node -e '
  const tls = require("node:tls");
  const s = tls.connect({ host: "192.168.20.80", port: 443, servername: "api.shop.example", ALPNProtocols: ["h2", "http/1.1"], rejectUnauthorized: false });
  s.on("secureConnect", () => { console.log("  ", s.getProtocol(), s.alpnProtocol); s.end(); });
  s.on("error", (e) => { console.error("  ", e.message); process.exit(1); });'
sleep 0.2
echo "4. TLS 1.2, mail.example"; s_client mail.example -tls1_2
echo "5. TLS 1.1, shop.example"; s_client shop.example -tls1_1 -cipher 'DEFAULT:@SECLEVEL=0'
echo "6. curl -k, www.blocked.example"
in_ns client curl -sS -k --http1.1 -o /dev/null --max-time 5 --resolve www.blocked.example:443:192.168.20.80 https://www.blocked.example/ || true

stop_capture
