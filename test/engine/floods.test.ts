/**
 * Floods against the caps (bench/flood-traffic.ts, as `npm run bench -- --floods` sends them,
 * smaller here): what each cap bounds never passes it, and the engine goes on judging.
 */
import { describe, expect, it } from 'vitest';
import { runFlood } from '../../bench/floods.ts';

const MIB = 1024 * 1024;

describe('floods stay within their caps', () => {
  it('SYN flood: half-open flows stop at tcp.maxEmbryonic', async () => {
    const r = await runFlood('syn', 30_000, { tcp: { maxEmbryonic: 2000 } });
    expect(r.packets).toBe(30_000);
    expect(r.peakFlows).toBeLessThanOrEqual(2000);
    expect(r.peakFlows).toBeGreaterThan(1900);
  });

  it('IPv6 SYNs behind 30 extension headers: walked, tracked, bounded the same way', async () => {
    const r = await runFlood('ipv6-ext-chain', 20_000, { tcp: { maxEmbryonic: 1000 } });
    expect(r.peakFlows).toBeLessThanOrEqual(1000);
    expect(r.peakFlows).toBeGreaterThan(900);
  });

  it('endless out-of-order data: reassembly holds at most tcp.reassembly.memcap', async () => {
    const r = await runFlood('out-of-order', 60_000, { tcp: { reassembly: { memcap: 2 * MIB } } });
    expect(r.peakReassemblyMb).toBeLessThanOrEqual(2);
    expect(r.peakReassemblyMb).toBeGreaterThan(1);
    // Nothing past the hole is ever delivered.
    expect(r.delivered).toBe(0);
  });

  it('an overlap storm: bounded by tcp.reassembly.memcap, and the in-order bytes still delivered', async () => {
    const r = await runFlood('overlap', 60_000, { tcp: { reassembly: { memcap: MIB } } });
    expect(r.peakReassemblyMb).toBeLessThanOrEqual(1);
    // 1,000 connections, 3 handshake packets and 4 sends of each 100-byte segment: 14 segments
    // each; the shifted copies may not add a byte past what the originals carry, but nothing
    // the originals carry may be lost.
    expect(r.delivered).toBeGreaterThanOrEqual(1000 * 14 * 100);
    expect(r.delivered).toBeLessThanOrEqual(1000 * 14 * 100 + 1000 * 50);
  });

  it('fragment floods, tiny and padded to full frames: fragments.memcap counts the frames', async () => {
    for (const name of ['fragments-tiny', 'fragments-padded'] as const) {
      const r = await runFlood(name, 20_000, { fragments: { memcap: MIB, maxDatagrams: 100_000 } });
      expect(r.peakFragmentsMb, name).toBeLessThanOrEqual(1);
      expect(r.peakFragmentsMb, name).toBeGreaterThan(0.5);
    }
  });
});
