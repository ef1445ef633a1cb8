/**
 * Traffic between real kernel TCP stacks in network namespaces, captured with tcpdump
 * (test/real-traffic/make-captures.sh): the bytes each endpoint application received, hashed at
 * the endpoint, must equal palisade's reassembled streams.
 */
import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { defineRules, tcpConnection } from 'palisade';
import { replay } from 'palisade/testing';

const dir = join(import.meta.dirname, '../real-traffic/captures');

interface Side {
  bytes: number;
  sha256: string;
}
interface Expected {
  connections: { client: string; server: string; up: Side; down: Side; end: 'fin' | 'rst' }[];
}

const endpoint = (ip: string, port: number): string => (ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`);

async function streams(capture: string) {
  const got = new Map<string, { up: ReturnType<typeof createHash>; down: ReturnType<typeof createHash>; bytes: { up: number; down: number }; next: { up: number; down: number }; end?: string }>();
  const rules = defineRules(({ rule }) => {
    rule({
      on: tcpConnection.events.newConnection,
      eval: (flow) => {
        got.set(`${endpoint(flow.client.ip, flow.client.port)} ${endpoint(flow.server.ip, flow.server.port)}`, {
          up: createHash('sha256'),
          down: createHash('sha256'),
          bytes: { up: 0, down: 0 },
          next: { up: 0, down: 0 },
        });
      },
    });
    rule({
      on: tcpConnection.events.receiveData,
      eval: (flow, data, dir, offset) => {
        const s = got.get(`${endpoint(flow.client.ip, flow.client.port)} ${endpoint(flow.server.ip, flow.server.port)}`);
        if (s === undefined) throw new Error('data before newConnection');
        // Never glued: each chunk starts where the stream really is (after any gap).
        if (offset < s.next[dir]) throw new Error(`offset ${offset} goes back (next ${s.next[dir]})`);
        s[dir].update(data);
        s.bytes[dir] += data.length;
        s.next[dir] = offset + data.length;
      },
    });
    rule({
      on: tcpConnection.events.endConnection,
      eval: (flow) => {
        const s = got.get(`${endpoint(flow.client.ip, flow.client.port)} ${endpoint(flow.server.ip, flow.server.port)}`);
        if (s) s.end = flow.endReason;
      },
    });
  });
  const r = await replay({ rules, capture: join(dir, capture) });
  return { got, r };
}

describe.each(['bulk', 'short', 'half-close', 'linger-rst', 'ipv6'])('%s.pcap', (scenario) => {
  it('reassembles exactly the bytes each endpoint application received', async () => {
    const expected = JSON.parse(readFileSync(join(dir, `${scenario}.json`), 'utf8')) as Expected;
    const { got, r } = await streams(`${scenario}.pcap`);
    expect(got.size).toBe(expected.connections.length);
    for (const c of expected.connections) {
      const s = got.get(`${c.client} ${c.server}`);
      expect(s, `${c.client} ${c.server}`).toBeDefined();
      if (!s) continue;
      expect({ up: s.bytes.up, down: s.bytes.down }).toEqual({ up: c.up.bytes, down: c.down.bytes });
      expect(s.up.digest('hex'), `${c.client} up`).toBe(c.up.sha256);
      expect(s.down.digest('hex'), `${c.client} down`).toBe(c.down.sha256);
      expect(s.end).toBe(c.end);
    }
    expect(r.dropped).toEqual([]);
    expect(r.stats.anomalyTotal).toBe(0);
  });
});

describe('snaplen.pcap (payloads cut at 200 bytes)', () => {
  it('reports gaps and never glues: delivered bytes sit at their true stream offsets', async () => {
    const expected = JSON.parse(readFileSync(join(dir, 'snaplen.json'), 'utf8')) as Expected;
    const { got, r } = await streams('snaplen.pcap');
    const c = expected.connections[0];
    if (c === undefined) throw new Error('snaplen.json lists no connection');
    const s = got.get(`${c.client} ${c.server}`);
    if (s === undefined) throw new Error(`no stream for ${c.client}`);
    expect(s.bytes.up).toBeGreaterThan(0);
    expect(s.bytes.up).toBeLessThan(c.up.bytes);
    // Offsets are kept through every gap: the last captured chunk sits in the stream's last
    // segment (whose cut tail is a gap of its own), not where a glued stream would end.
    for (const dir of ['up', 'down'] as const) {
      expect(s.next[dir]).toBeLessThanOrEqual(c[dir].bytes);
      expect(c[dir].bytes - s.next[dir]).toBeLessThan(1448);
      expect(s.bytes[dir]).toBeLessThan(c[dir].bytes / 4);
    }
    expect(r.stats.anomalies.get('tcp-gap')).toBeGreaterThan(100);
    expect(r.flows[0]?.history).toMatch(/G/);
  });
});
