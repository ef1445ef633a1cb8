/**
 * Every checked-in capture (every file format and link type, made by real tools) through the
 * whole engine: the TCP segments the rules see are exactly those tshark decodes, frame by frame.
 */
import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { defineRules, tcp } from 'palisade';
import { replay } from 'palisade/testing';

const dir = join(import.meta.dirname, '../captures');
const captures = readdirSync(dir).filter((f) => /\.pcap(ng)?$/.test(f) && !f.startsWith('cut-'));

function tsharkSegments(path: string): string[] {
  // ICMP errors quote a TCP header: those are not segments.
  const out = execFileSync(
    'tshark',
    ['-r', path, '-Y', 'tcp && !icmp && !icmpv6', '-T', 'fields', '-e', 'frame.number', '-e', 'tcp.srcport', '-e', 'tcp.dstport', '-e', 'tcp.seq_raw', '-e', 'tcp.len'],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] },
  );
  return out.trim().split('\n').filter((l) => l !== '').map((l) => l.split('\t').join(' '));
}

describe.each(captures)('%s', (name) => {
  it('delivers every TCP segment tshark sees, with the same ports, sequence number and length', async () => {
    const seen: string[] = [];
    const rules = defineRules(({ rule }) =>
      rule({
        on: tcp.events.receivePacket,
        eval: (pkt) => seen.push(`${pkt.ip.packet.id} ${pkt.srcport} ${pkt.dstport} ${pkt.seq} ${pkt.payloadLength}`),
      }),
    );
    const path = join(dir, name);
    const r = await replay({ rules, capture: path, config: { checksumValidation: 'never' } });
    const expected = tsharkSegments(path);
    expect(expected.length).toBeGreaterThan(0);
    if (name.startsWith('snaplen-')) {
      // tcp.len is the length on the wire, ours what was captured; and a segment whose fixed
      // header the capture cut (tshark shows its ports, nothing more) is an anomaly to us.
      const whole = expected.filter((l) => l.split(' ').length === 5 && !l.endsWith(' '));
      expect(seen.map((l) => l.split(' ').slice(0, 4).join(' '))).toEqual(whole.map((l) => l.split(' ').slice(0, 4).join(' ')));
      expect(r.stats.anomalies.get('tcp-truncated')).toBe(expected.length - whole.length);
    } else if (name === 'pcapng-features.pcapng') {
      // tshark numbers custom blocks as frames too, and one interface has a small snaplen:
      // compare ports and sequence numbers, not frame numbers and lengths.
      const strip = (l: string): string => l.split(' ').slice(1, 4).join(' ');
      expect(seen.map(strip)).toEqual(expected.map(strip));
    } else {
      expect(seen).toEqual(expected);
    }
    expect(r.error).toBeUndefined();
  });
});
