#!/usr/bin/env bash
# Checks the real-traffic fixtures without palisade: for each captures/<scenario>.pcap, tshark
# follows every TCP stream (`-z follow,tcp,raw,N`), and the bytes of each direction are hashed
# and compared with what the endpoint applications recorded in captures/<scenario>.json
# (up = client -> server, down = server -> client). Also counts packets whose IPv4 header or TCP
# checksum tshark finds bad, and the packets tshark's TCP analysis flags (retransmission,
# out-of-order, lost segment...).
#
# snaplen.pcap was captured with -s 200: tshark only has the first bytes of each segment, so
# its streams are expected to differ (it follows what was captured, gaps left out).
#
#   test/real-traffic/verify-with-tshark.sh [-v] [CAPTURE.pcap...]   (-v: one row per connection
#   everywhere, not only for captures of at most 4 connections). Exit 1 on an unexpected result.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
verbose=0
[[ ${1:-} == -v ]] && { verbose=1; shift; }
files=("$@")
[[ ${#files[@]} -gt 0 ]] || files=("$here"/captures/{bulk,short,half-close,linger-rst,ipv6,snaplen}.pcap)
command -v tshark >/dev/null || { echo "needs tshark" >&2; exit 1; }

VERBOSE=$verbose python3 - "${files[@]}" <<'EOF'
import hashlib, json, os, re, subprocess, sys

verbose = os.environ.get('VERBOSE') == '1'

def tshark(*args):
    return subprocess.run(['tshark', *args], check=True, capture_output=True, text=True).stdout

def follow(pcap):
    """{(node0, node1): (bytes from node 0, bytes from node 1)} for every TCP stream."""
    streams = sorted({int(s) for s in tshark('-r', pcap, '-T', 'fields', '-e', 'tcp.stream').split()})
    result = {}
    for i in range(0, len(streams), 50):  # one tshark pass follows up to 50 streams
        args = ['-r', pcap, '-q']
        for n in streams[i:i + 50]:
            args += ['-z', f'follow,tcp,raw,{n}']
        out = tshark(*args)
        for block in out.split('=' * 67):
            m = re.search(r'^Node 0: (\S+)\nNode 1: (\S+)\n', block, re.M)
            if not m:
                continue
            data = [bytearray(), bytearray()]
            for line in block[m.end():].splitlines():
                if not line.strip():
                    continue
                data[1 if line.startswith('\t') else 0] += bytes.fromhex(line.strip())
            result[(m.group(1), m.group(2))] = (bytes(data[0]), bytes(data[1]))
    return result

failed = False
print(f"{'capture':<16} {'connection':<34} {'dir':<4} {'recorded B':>10} {'tshark B':>10}  {'result':<26} end")
for pcap in sys.argv[1:]:
    name = os.path.basename(pcap)
    meta = json.load(open(pcap[:-len('.pcap')] + '.json'))
    truncated = bool(meta.get('snaplen'))
    streams = follow(pcap)
    bad_csum = int(tshark('-r', pcap, '-o', 'tcp.check_checksum:TRUE', '-o', 'ip.check_checksum:TRUE',
                          '-Y', 'tcp.checksum.status == 0 || ip.checksum.status == 0', '-T', 'fields',
                          '-e', 'frame.number').count('\n'))
    flagged = int(tshark('-r', pcap, '-Y', 'tcp.analysis.retransmission || tcp.analysis.fast_retransmission'
                         ' || tcp.analysis.out_of_order || tcp.analysis.lost_segment || tcp.analysis.ack_lost_segment'
                         ' || tcp.analysis.spurious_retransmission', '-T', 'fields', '-e', 'frame.number').count('\n'))
    rows, counts, used = [], {'match': 0, 'differs': 0}, set()
    for c in meta['connections']:
        key = (c['client'], c['server'])
        got = streams.get(key)
        used.add(key)
        for d, idx in (('up', 0), ('down', 1)):
            rec = c[d]
            if got is None:
                res, n = 'MISSING in tshark', 0
            else:
                data = got[idx]
                n = len(data)
                same = hashlib.sha256(data).hexdigest() == rec['sha256'] and n == rec['bytes']
                res = 'match' if same else ('differs (expected: snaplen)' if truncated else 'DIFFERS')
            counts['match' if res == 'match' else 'differs'] += 1
            if res not in ('match', 'differs (expected: snaplen)'):
                failed = True
            if truncated and res == 'match' and rec['bytes'] > 0:
                res = 'MATCH? (snaplen should cut)'
                failed = True
            rows.append((f"{c['client']} > {c['server']}", d, rec['bytes'], n, res, c['end']))
    extra = [k for k in streams if k not in used]
    if verbose or len(meta['connections']) <= 4:
        for conn, d, rb, tb, res, end in rows:
            print(f'{name:<16} {conn:<34} {d:<4} {rb:>10} {tb:>10}  {res:<26} {end}')
    else:
        shown = [r for r in rows if r[4] != 'match']
        for conn, d, rb, tb, res, end in shown:
            print(f'{name:<16} {conn:<34} {d:<4} {rb:>10} {tb:>10}  {res:<26} {end}')
        ends = {}
        for c in meta['connections']:
            ends[c['end']] = ends.get(c['end'], 0) + 1
        up = sum(c['up']['bytes'] for c in meta['connections'])
        down = sum(c['down']['bytes'] for c in meta['connections'])
        tup = sum(len(streams[k][0]) for k in used if k in streams)
        tdown = sum(len(streams[k][1]) for k in used if k in streams)
        endtxt = ' '.join(f'{e}x{n}' for e, n in ends.items())
        print(f"{name:<16} {str(len(meta['connections'])) + ' connections':<34} {'up':<4} {up:>10} {tup:>10}  "
              f"{str(counts['match']) + '/' + str(len(rows)) + ' directions match':<26} {endtxt}")
        print(f"{'':<16} {'':<34} {'down':<4} {down:>10} {tdown:>10}")
    print(f"{name:<16} tshark: {len(streams)} TCP streams, {len(extra)} not in the JSON, "
          f"{bad_csum} bad checksums{' (not checkable: truncated)' if truncated else ''}, "
          f"{flagged} packets flagged by TCP analysis")
    if extra or (bad_csum and not truncated):
        failed = True
sys.exit(1 if failed else 0)
EOF
