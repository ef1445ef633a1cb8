/**
 * docs/rule-api.md's NAT example, run as a user runs it (palisade replay -o) over a real capture
 * recorded in front of the public address: tshark reads the output with every checksum checked,
 * the client's segments going to the private address, every TTL 64, and the same conversation
 * otherwise (the answers come from the public address in the capture, so they keep it).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { palisade, root } from '../cli/run-cli.ts';
import { tsharkFields } from '../tshark-fields.ts';

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
