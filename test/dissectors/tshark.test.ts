/**
 * Cross-checks every field palisade reads against Wireshark's dissectors: random but valid
 * packets (seeded) are written to a capture, tshark decodes it, and each value must agree,
 * checksum verdicts included. Skipped where tshark is not installed.
 */

import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Chain } from './frames.ts';

/** tshark is required (CI installs it): without it this suite fails, it does not skip. */
function requireTshark(): void {
  try {
    execFileSync('tshark', ['--version'], { stdio: 'ignore' });
  } catch (err) {
    throw new Error(`tshark is required for this suite (apt-get install tshark): ${(err as Error).message}`);
  }
}

/** Deterministic pseudo-random numbers (mulberry32). */
function rng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** RFC 1071, word by word, independent of dissectors/checksum.ts. */
function naiveChecksum(...parts: Buffer[]): number {
  const b = Buffer.concat(parts);
  let sum = 0;
  for (let i = 0; i < b.length; i += 2) sum += ((b[i] ?? 0) << 8) | (b[i + 1] ?? 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

function pcap(frames: Buffer[]): Buffer {
  const header = Buffer.alloc(24);
  header.writeUInt32LE(0xa1b2c3d4, 0);
  header.writeUInt16LE(2, 4);
  header.writeUInt16LE(4, 6);
  header.writeUInt32LE(65535, 16);
  header.writeUInt32LE(1, 20);
  const records = frames.map((f, i) => {
    const r = Buffer.alloc(16);
    r.writeUInt32LE(1_700_000_000 + i, 0);
    r.writeUInt32LE(f.length, 8);
    r.writeUInt32LE(f.length, 12);
    return Buffer.concat([r, f]);
  });
  return Buffer.concat([header, ...records]);
}

function generate(next: () => number): Buffer {
  const int = (n: number): number => Math.floor(next() * n);
  const bytes = (n: number): Buffer => Buffer.from(Array.from({ length: n }, () => int(256)));
  const v6 = next() < 0.45;
  const proto = [6, 17, v6 ? 58 : 1][int(3)] as number;
  const payload = bytes(int(40));

  let l4: Buffer;
  let checksumAt: number;
  if (proto === 6) {
    const opts: Buffer[] = [];
    if (next() < 0.5) opts.push(Buffer.from([2, 4, int(256), int(256)]));
    if (next() < 0.5) opts.push(Buffer.from([1, 3, 3, int(15)]));
    if (next() < 0.5) opts.push(Buffer.from([4, 2]));
    if (next() < 0.5) opts.push(Buffer.concat([Buffer.from([1, 1, 8, 10]), bytes(8)]));
    let options = Buffer.concat(opts);
    if (options.length % 4) options = Buffer.concat([options, Buffer.alloc(4 - (options.length % 4))]);
    const h = Buffer.concat([bytes(12), Buffer.alloc(8), options]);
    h[12] = ((20 + options.length) / 4) << 4;
    h[13] = int(256);
    h.writeUInt16BE(int(65536), 14);
    h.writeUInt16BE(next() < 0.2 ? int(65536) : 0, 18);
    l4 = Buffer.concat([h, payload]);
    checksumAt = 16;
  } else if (proto === 17) {
    l4 = Buffer.concat([bytes(4), Buffer.alloc(4), payload]);
    l4.writeUInt16BE(l4.length, 4);
    checksumAt = 6;
  } else {
    l4 = Buffer.concat([Buffer.from([proto === 1 ? [0, 8, 3, 11][int(4)] as number : [128, 129, 1, 2][int(4)] as number, int(4), 0, 0]), bytes(4), payload]);
    checksumAt = 2;
  }
  if (l4.length % 2) l4 = Buffer.concat([l4, Buffer.from([int(256)])]); // keeps the naive sum simple

  let ip: Buffer;
  let pseudo: Buffer;
  if (v6) {
    const addr = (): Buffer => {
      const a = bytes(16);
      // Zero runs of every length and place, for RFC 5952 compression.
      for (let g = 0; g < 8; g++) if (next() < 0.4) a.writeUInt16BE(0, 2 * g);
      if (next() < 0.1) a.writeUInt16BE(1, 0);
      return a;
    };
    const src = addr();
    const dst = addr();
    const ext: Buffer[] = [];
    let first = proto;
    if (next() < 0.3) {
      const dstOpts = Buffer.from([proto, 0, 1, 4, 0, 0, 0, 0]); // destination options, PadN
      ext.push(dstOpts);
      first = 60;
    }
    if (next() < 0.3) {
      ext.unshift(Buffer.from([first, 0, 1, 4, 0, 0, 0, 0])); // hop-by-hop, PadN
      first = 0;
    }
    const extensions = Buffer.concat(ext);
    const fixed = Buffer.alloc(40);
    fixed.writeUInt32BE(((0x60000000 | (int(256) << 20) | int(1 << 20)) >>> 0), 0);
    fixed.writeUInt16BE(extensions.length + l4.length, 4);
    fixed[6] = first;
    fixed[7] = int(256);
    src.copy(fixed, 8);
    dst.copy(fixed, 24);
    ip = Buffer.concat([fixed, extensions]);
    const p = Buffer.alloc(8);
    p.writeUInt32BE(l4.length, 0);
    p[7] = proto;
    pseudo = Buffer.concat([src, dst, p]);
  } else {
    const options = next() < 0.3 ? Buffer.from([1, 7, 7, 4, int(256), int(256), int(256), int(256)]) : Buffer.alloc(0);
    ip = Buffer.concat([Buffer.alloc(20), options]);
    ip[0] = 0x40 | (ip.length / 4);
    ip[1] = int(256);
    ip.writeUInt16BE(ip.length + l4.length, 2);
    ip.writeUInt16BE(int(65536), 4);
    ip[6] = [0, 0x40, 0x80][int(3)] as number;
    ip[8] = int(256);
    ip[9] = proto;
    bytes(8).copy(ip, 12);
    ip.writeUInt16BE(naiveChecksum(ip), 10);
    if (next() < 0.15) ip.writeUInt16BE(ip.readUInt16BE(10) ^ 0x0101, 10);
    pseudo = Buffer.concat([ip.subarray(12, 20), Buffer.from([0, proto, l4.length >> 8, l4.length & 0xff])]);
  }
  const sum = naiveChecksum(proto === 1 ? Buffer.alloc(0) : pseudo, l4);
  l4.writeUInt16BE(proto === 17 && sum === 0 ? 0xffff : sum, checksumAt);
  if (next() < 0.2) l4.writeUInt16BE(l4.readUInt16BE(checksumAt) ^ 0x0110, checksumAt);
  if (!v6 && proto === 17 && next() < 0.1) l4.writeUInt16BE(0, checksumAt); // "no checksum"
  return Buffer.concat([Buffer.from('020000000002020000000001', 'hex'), Buffer.from(v6 ? [0x86, 0xdd] : [0x08, 0x00]), ip, l4]);
}

const FIELDS = [
  'ip.hdr_len', 'ip.dsfield', 'ip.len', 'ip.id', 'ip.flags.rb', 'ip.flags.df', 'ip.flags.mf', 'ip.ttl', 'ip.proto', 'ip.checksum',
  'ip.checksum.status', 'ip.src', 'ip.dst',
  'ipv6.tclass', 'ipv6.flow', 'ipv6.plen', 'ipv6.nxt', 'ipv6.hlim', 'ipv6.src', 'ipv6.dst',
  'tcp.srcport', 'tcp.dstport', 'tcp.seq_raw', 'tcp.ack_raw', 'tcp.hdr_len', 'tcp.flags', 'tcp.window_size_value', 'tcp.checksum',
  'tcp.checksum.status', 'tcp.urgent_pointer', 'tcp.options.mss_val', 'tcp.options.wscale.shift', 'tcp.options.timestamp.tsval',
  'tcp.options.timestamp.tsecr', 'tcp.len',
  'udp.srcport', 'udp.dstport', 'udp.length', 'udp.checksum', 'udp.checksum.status',
  'icmp.type', 'icmp.code', 'icmp.checksum', 'icmp.checksum.status',
  'icmpv6.type', 'icmpv6.code', 'icmpv6.checksum', 'icmpv6.checksum.status',
] as const;

type Row = Record<(typeof FIELDS)[number], string>;

function tshark(frames: Buffer[]): Row[] {
  const dir = mkdtempSync(join(tmpdir(), 'palisade-tshark-'));
  try {
    const file = join(dir, 'random.pcap');
    writeFileSync(file, pcap(frames));
    const args = ['-r', file, '-n', '-T', 'fields', '-E', 'separator=|', '-E', 'occurrence=f'];
    for (const pref of ['ip.check_checksum:TRUE', 'tcp.check_checksum:TRUE', 'udp.check_checksum:TRUE', 'tcp.relative_sequence_numbers:FALSE', 'tcp.analyze_sequence_numbers:FALSE']) {
      args.push('-o', pref);
    }
    // Port-based dissectors must not claim the random payloads.
    args.push('-d', 'tcp.port==1-65535,data', '-d', 'udp.port==1-65535,data');
    for (const f of FIELDS) args.push('-e', f);
    const out = execFileSync('tshark', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 64 << 20 });
    return out
      .trimEnd()
      .split('\n')
      .map((line) => Object.fromEntries(line.split('|').map((v, i) => [FIELDS[i], v])) as Row);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const num = (s: string): number | undefined => (s === '' ? undefined : Number(s));
/** tshark's checksum status: 0 bad, 1 good, 3 not present (a zero UDP checksum over IPv4), 4 illegal (over IPv6). */
const good = (s: string): boolean => s === '1' || s === '3';

describe('agreement with tshark', () => {
  requireTshark();
  it('every field and checksum verdict of 1000 random packets', () => {
    const next = rng(2024);
    const frames = Array.from({ length: 1000 }, () => generate(next));
    const rows = tshark(frames);
    expect(rows).toHaveLength(frames.length);
    const c = new Chain();
    frames.forEach((frame, i) => {
      const t = rows[i] as Row;
      const layer = c.run(frame);
      const where = `frame ${i + 1}: ${frame.toString('hex')}`;
      const mine: Record<string, unknown> = {};
      const theirs: Record<string, unknown> = {};
      const same = (name: string, a: unknown, b: unknown): void => {
        mine[name] = a;
        theirs[name] = b;
      };
      if (c.link.etherType === 0x0800) {
        const ip = c.ipv4;
        same('hdrLen', ip.hdrLen, num(t['ip.hdr_len']));
        same('tos', ip.tos, num(t['ip.dsfield']));
        same('len', ip.len, num(t['ip.len']));
        same('id', ip.id, num(t['ip.id']));
        same('flags', [ip.flags.rb, ip.flags.df, ip.flags.mf], [t['ip.flags.rb'] === '1', t['ip.flags.df'] === '1', t['ip.flags.mf'] === '1']);
        same('ttl', ip.ttl, num(t['ip.ttl']));
        same('proto', ip.proto, num(t['ip.proto']));
        same('checksum', ip.checksum, num(t['ip.checksum']));
        same('checksumOk', ip.verifyChecksum(), good(t['ip.checksum.status']));
        same('src', ip.src, t['ip.src']);
        same('dst', ip.dst, t['ip.dst']);
      } else {
        const ip = c.ipv6;
        same('trafficClass', ip.trafficClass, num(t['ipv6.tclass']));
        same('flowLabel', ip.flowLabel, num(t['ipv6.flow']));
        same('payloadLength', ip.payloadLength, num(t['ipv6.plen']));
        same('nextHeader', ip.nextHeader, num(t['ipv6.nxt']));
        same('hopLimit', ip.hopLimit, num(t['ipv6.hlim']));
        same('src', ip.src, t['ipv6.src']);
        same('dst', ip.dst, t['ipv6.dst']);
      }
      if (layer === 'tcp') {
        const s = c.tcp;
        same('ports', [s.srcport, s.dstport], [num(t['tcp.srcport']), num(t['tcp.dstport'])]);
        same('seq', [s.seq, s.ack], [num(t['tcp.seq_raw']), num(t['tcp.ack_raw'])]);
        same('tcpHdrLen', s.hdrLen, num(t['tcp.hdr_len']));
        same('flags', s.flagsByte, (num(t['tcp.flags']) ?? -1) & 0xff);
        same('window', s.window, num(t['tcp.window_size_value']));
        same('tcpChecksum', s.checksum, num(t['tcp.checksum']));
        same('tcpChecksumOk', s.verifyChecksum(), good(t['tcp.checksum.status']));
        same('urgent', s.urgentPointer, num(t['tcp.urgent_pointer']));
        same('mss', s.mss, num(t['tcp.options.mss_val']));
        same('ws', s.windowScale, num(t['tcp.options.wscale.shift']));
        same('ts', s.timestamps, t['tcp.options.timestamp.tsval'] === '' ? undefined : { value: num(t['tcp.options.timestamp.tsval']), echo: num(t['tcp.options.timestamp.tsecr']) });
        same('tcpLen', s.payloadLength, num(t['tcp.len']));
      } else if (layer === 'udp') {
        const u = c.udp;
        same('ports', [u.srcport, u.dstport], [num(t['udp.srcport']), num(t['udp.dstport'])]);
        same('udpLength', u.length, num(t['udp.length']));
        same('udpChecksum', u.checksum, num(t['udp.checksum']));
        same('udpChecksumOk', u.verifyChecksum(), good(t['udp.checksum.status']));
      } else if (layer === 'icmp') {
        const m = c.icmp;
        const p = m.version === 4 ? 'icmp' : 'icmpv6';
        same('type', m.type, num(t[`${p}.type`]));
        same('code', m.code, num(t[`${p}.code`]));
        same('icmpChecksum', m.checksum, num(t[`${p}.checksum`]));
        same('icmpChecksumOk', m.verifyChecksum(), t[`${p}.checksum.status`] === '1');
      } else {
        throw new Error(`${where}: reached ${layer}`);
      }
      expect(mine, where).toEqual(theirs);
    });
  });
});
