/**
 * docs/rule-api.md's examples of rewriting, run as a user runs them. The NAT example, run as a user runs it (palisade replay -o) over a real capture
 * recorded in front of the public address: tshark reads the output with every checksum checked,
 * the client's segments going to the private address, every TTL 64, and the same conversation
 * otherwise (the answers come from the public address in the capture, so they keep it).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { palisade, root } from '../cli/run-cli.ts';
import { tsharkFields } from '../tshark-fields.ts';
import { encodePcap } from '../../core/io/pcap-writer.ts';
import { ethernet, icmp } from '../../testing/packets.ts';
import { tcpSession } from '../../testing.ts';

const tmp = mkdtempSync(join(tmpdir(), 'palisade-rewrite-'));
afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
});

describe('docs/examples/rewrite-nat.ts', () => {
  it('sends the client to the private address, TTL 64, every checksum valid', () => {
    const input = join(root, 'samples/halfreset/input.pcap');
    const output = join(tmp, 'nat.pcap');
    const r = palisade(['replay', 'docs/examples/rewrite-nat.ts', input, '-o', output]);
    expect(r.status, r.stderr).toBe(0);
    const checks = { prefs: ['ip.check_checksum:TRUE', 'tcp.check_checksum:TRUE'] };
    const fields = ['ip.src', 'ip.dst', 'ip.ttl', 'ip.checksum.status', 'tcp.checksum.status', 'tcp.len'];
    const before = tsharkFields(readFileSync(input), fields, checks);
    const after = tsharkFields(readFileSync(output), fields, checks);
    expect(after).toHaveLength(before.length);
    const moved = (a: string | undefined): string | undefined => (a === '192.168.20.80' ? '10.20.0.80' : a);
    after.forEach((row, i) => {
      const was = before[i] as Record<string, string>;
      expect(row).toEqual({ ...was, 'ip.dst': moved(was['ip.dst']), 'ip.ttl': '64', 'ip.checksum.status': '1', 'tcp.checksum.status': '1' });
    });
    expect(after.filter((row) => row['ip.dst'] === '10.20.0.80').length).toBeGreaterThan(4);
  });
});

describe('docs/examples/rewrite-decoy-ping.ts', () => {
  it('answers pings to the decoy itself (an echo reply going back, the MACs turned around), drops them, and alerts; other pings pass', () => {
    const client = '02:00:00:00:00:0a';
    const bridge = '02:00:00:00:00:50';
    const ping = (dst: string, seq: number): Buffer =>
      ethernet(icmp({ src: '192.168.10.10', dst, type: 8, payload: Buffer.concat([Buffer.from([0x0b, 0xad, 0, seq]), Buffer.from('abcdefgh')]) }), { src: client, dst: bridge });
    const input = join(tmp, 'pings.pcap');
    writeFileSync(input, encodePcap([ping('192.168.20.99', 1), ping('192.168.20.80', 2), ping('192.168.20.99', 3)].map((data, i) => ({ data, secs: 1_700_000_000 + i, nsecs: 0 })), { linkType: 1 }));
    const output = join(tmp, 'replies.pcap');
    const alerts = join(tmp, 'alerts.jsonl');
    const r = palisade(['replay', 'docs/examples/rewrite-decoy-ping.ts', input, '-o', output, '--alerts', alerts]);
    expect(r.status, r.stderr).toBe(0);
    const rows = tsharkFields(readFileSync(output), ['eth.src', 'eth.dst', 'ip.src', 'ip.dst', 'icmp.type', 'icmp.ident', 'icmp.seq', 'data.data', 'icmp.checksum.status', 'ip.checksum.status'], { prefs: ['ip.check_checksum:TRUE'] });
    const reply = (seq: number): Record<string, string> => ({ 'eth.src': bridge, 'eth.dst': client, 'ip.src': '192.168.20.99', 'ip.dst': '192.168.10.10', 'icmp.type': '0', 'icmp.ident': String(0x0bad), 'icmp.seq': String(seq), 'data.data': Buffer.from('abcdefgh').toString('hex'), 'icmp.checksum.status': '1', 'ip.checksum.status': '1' });
    expect(rows).toEqual([reply(1), { ...reply(2), 'eth.src': client, 'eth.dst': bridge, 'ip.src': '192.168.10.10', 'ip.dst': '192.168.20.80', 'icmp.type': '8' }, reply(3)]);
    const raised = readFileSync(alerts, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { rule: string; description: string });
    expect(raised.map((a) => [a.rule, a.description])).toEqual([
      ['decoy-ping', 'ping to the decoy from 192.168.10.10'],
      ['decoy-ping', 'ping to the decoy from 192.168.10.10'],
    ]);
  });
});

describe('docs/examples/streams-no-gzip.ts', () => {
  it('erases the Accept-Encoding field from the request the server gets, the rest byte for byte, renumbered', () => {
    const request = 'GET / HTTP/1.1\r\nHost: a\r\nAccept-Encoding: gzip, br\r\nUser-Agent: curl\r\n\r\n';
    const frames = tcpSession({ client: '192.168.10.10:40000', server: '192.168.20.80:80', mss: 9 }).handshake().send('up', request).send('down', 'HTTP/1.1 204 No Content\r\n\r\n').close().frames();
    const input = join(tmp, 'gzip.pcap');
    writeFileSync(input, encodePcap(frames.map((data, i) => ({ data, secs: 1_700_000_000 + i, nsecs: 0 })), { linkType: 1 }));
    const output = join(tmp, 'no-gzip.pcap');
    const r = palisade(['replay', 'docs/examples/streams-no-gzip.ts', input, '-o', output]);
    expect(r.status, r.stderr).toBe(0);
    const rows = tsharkFields(readFileSync(output), ['tcp.seq', 'tcp.payload', 'tcp.checksum.status'], { prefs: ['tcp.check_checksum:TRUE', 'tcp.relative_sequence_numbers:TRUE'], filter: 'ip.src == 192.168.10.10 && tcp.len > 0' });
    const sent = rows.map((row) => Buffer.from(row['tcp.payload'] ?? '', 'hex').toString('latin1'));
    expect(sent.join('')).toBe('GET / HTTP/1.1\r\nHost: a\r\nUser-Agent: curl\r\n\r\n');
    let next = 1;
    rows.forEach((row, i) => {
      expect(Number(row['tcp.seq'])).toBe(next);
      expect(row['tcp.checksum.status']).toBe('1');
      next += (sent[i] as string).length;
    });
  });
});

describe('docs/examples/http-rewrite-headers.ts', () => {
  it('the server gets the request without Accept-Encoding, another User-Agent and a field added; the client the answer without Server', () => {
    const frames = tcpSession({ client: '192.168.10.10:40000', server: '192.168.20.80:80' })
      .handshake()
      .send('up', 'GET / HTTP/1.1\r\nHost: a\r\nUser-Agent: curl/8.5\r\nAccept-Encoding: gzip\r\n\r\n')
      .send('down', 'HTTP/1.1 200 OK\r\nServer: Apache/2.4\r\nContent-Length: 2\r\n\r\nok')
      .close()
      .frames();
    const input = join(tmp, 'http.pcap');
    writeFileSync(input, encodePcap(frames.map((data, i) => ({ data, secs: 1_700_000_000 + i, nsecs: 0 })), { linkType: 1 }));
    const output = join(tmp, 'http-out.pcap');
    const r = palisade(['replay', 'docs/examples/http-rewrite-headers.ts', input, '-o', output]);
    expect(r.status, r.stderr).toBe(0);
    const sent = (src: string): string =>
      tsharkFields(readFileSync(output), ['tcp.payload'], { filter: `ip.src == ${src} && tcp.len > 0` })
        .map((row) => Buffer.from(row['tcp.payload'] ?? '', 'hex').toString('latin1'))
        .join('');
    expect(sent('192.168.10.10')).toBe('GET / HTTP/1.1\r\nHost: a\r\nUser-Agent: Mozilla/5.0\r\nX-Inspected: palisade\r\n\r\n');
    expect(sent('192.168.20.80')).toBe('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
  });
});
