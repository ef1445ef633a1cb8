/**
 * Floods against the caps (bench/flood-traffic.ts, as `npm run bench -- --floods` sends them,
 * smaller here): what each cap bounds never passes it, and the engine goes on judging.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runFlood } from '../../bench/floods.ts';
import { FLOW_BYTES } from '../../dissectors/tcp-connection/index.ts';

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
    // each at least. Nothing the originals carry may be lost; the shifted copies (other bytes)
    // may add the new bytes they bring (normalize keeps them, first wins per byte), never a byte
    // past the farthest any frame of the connection carried.
    const { flood } = await import('../../bench/flood-traffic.ts');
    const { Chain } = await import('../dissectors/frames.ts');
    const c = new Chain();
    const farthest = new Map<string, number>();
    const isn = new Map<string, number>();
    flood('overlap', 60_000, (f) => {
      if (c.run(f) !== 'tcp') throw new Error('the flood sent a frame that is not TCP');
      const tcp = c.tcp;
      const client = c.ipv4.src;
      if (tcp.flags.syn && !tcp.flags.ack) isn.set(client, tcp.seq);
      const start = isn.get(client);
      if (tcp.payloadLength > 0 && start !== undefined) farthest.set(client, Math.max(farthest.get(client) ?? 0, ((tcp.seq - start - 1) >>> 0) + tcp.payloadLength));
    });
    expect(r.delivered).toBeGreaterThanOrEqual(1000 * 14 * 100);
    expect(r.delivered).toBeLessThanOrEqual([...farthest.values()].reduce((a, b) => a + b, 0));
  });

  it('fragment floods, tiny and padded to full frames: fragments.memcap counts the frames', async () => {
    for (const name of ['fragments-tiny', 'fragments-padded'] as const) {
      const r = await runFlood(name, 20_000, { fragments: { memcap: MIB, maxDatagrams: 100_000 } });
      expect(r.peakFragmentsMb, name).toBeLessThanOrEqual(1);
      expect(r.peakFragmentsMb, name).toBeGreaterThan(0.5);
    }
  });
});

describe('memcap: emergency mode', () => {
  it('a SYN flood past memcap: emergency timeouts, state kept under memcap, established connections still inspected, then back to normal', async () => {
    const { createEngine, defineRules, tcpConnection } = await import('../../index.ts');
    const { tcpSession } = await import('../../testing.ts');
    const { flood } = await import('../../bench/flood-traffic.ts');
    const { Writable } = await import('node:stream');
    const nowhere = new Writable({ write: (_c, _e, done) => { done(); } });
    const got = new Map<number, string>();
    const rules = defineRules(({ rule }) => {
      rule({ on: tcpConnection.events.receiveData, eval: (flow, data) => void got.set(flow.client.port, (got.get(flow.client.port) ?? '') + data.toString()) });
    });
    const ended: { host: string; reason: string }[] = [];
    const memcap = 4 * MIB;
    const engine = createEngine({
      rules,
      alerts: nowhere,
      log: nowhere,
      config: { checksumValidation: 'never', memcap, tcp: { maxEmbryonic: 1_000_000 } },
      onFlow: (r) => ended.push({ host: r['id.orig_h'], reason: r.end_reason }),
    });
    let now = 1_700_000_000;
    const push = (f: Buffer): void => {
      engine.push(f, { secs: Math.floor(now), nsecs: Math.round((now % 1) * 1e9) }, 1);
    };
    const sessions = Array.from({ length: 50 }, (_, i) => tcpSession({ client: `192.168.7.${i + 1}:${5000 + i}`, server: '192.0.2.80:80' }));
    for (const s of sessions) for (const f of s.handshake().send('up', 'before ').frames()) push(f);
    let peak = 0;
    flood('syn', 20_000, (f) => {
      now += 1e-4;
      push(f);
      peak = Math.max(peak, engine.memory);
    });
    expect(engine.emergency).toBe(true);
    expect(peak).toBeLessThanOrEqual(memcap);
    expect(engine.stats.anomalies.get('memcap-emergency')).toBe(1);
    // The flood's half-open connections made room for each other; the established ones stayed.
    expect(ended.filter((e) => e.reason === 'memcap').length).toBeGreaterThan(15_000);
    expect(ended.filter((e) => e.host.startsWith('192.168.7.'))).toEqual([]);
    for (const s of sessions) for (const f of s.send('up', 'after').frames().slice(-2)) push(f);
    expect([...got.values()].filter((v) => v === 'before after'), JSON.stringify([...got.entries()].slice(0, 3))).toHaveLength(50);
    // Idle past the emergency timeouts (5 s half-open, 60 s established), not the normal ones
    // (30 s, 600 s): the table empties, and emergency mode ends.
    now += 61;
    engine.tick({ secs: Math.floor(now), nsecs: 0 });
    expect(ended.filter((e) => e.host.startsWith('192.168.7.') && e.reason === 'timeout')).toHaveLength(50);
    expect(engine.flows).toBe(0);
    expect(engine.emergency).toBe(false);
    engine.close();
  });

  it('under memcap, nothing changes: no connection is forgotten', async () => {
    const r = await runFlood('syn', 20_000, { memcap: 64 * MIB, tcp: { maxEmbryonic: 1_000_000 } });
    expect(r.peakFlows).toBe(20_000);
  });
});

/** One flood in a process of its own, so that its peak RSS is its own. */
function inChild(packets: number, config: Record<string, unknown>, name = 'unacked'): { peakRssMb: number; peakMemoryMb: number; peakFlows: number; refused: number; packets: number } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'bench/floods.ts', '--one', name, '--packets', String(packets), '--config', JSON.stringify(config)], {
    cwd: fileURLToPath(new URL('../..', import.meta.url)),
    encoding: 'utf8',
    timeout: 120_000,
  });
  const line = r.stdout.trim().split('\n').pop() ?? '';
  if (r.status !== 0 || !line.startsWith('{')) throw new Error(`the flood failed (${String(r.status)}): ${r.stderr}`);
  return JSON.parse(line) as ReturnType<typeof inChild>;
}

describe('floods: the process, not only the count, stays within the caps', () => {
  it('SYNs, out-of-order data and padded fragments: peak RSS over the same process without the flood stays within the cap and the collector\'s slack', () => {
    // The flood, its caps, and what the memcap counts under them (MiB): the capped bytes plus the flows.
    const flowMb = FLOW_BYTES / MIB;
    const caps: [string, number, Record<string, unknown>, number][] = [
      ['syn', 200_000, { tcp: { maxEmbryonic: 2000 } }, 2000 * flowMb],
      ['out-of-order', 60_000, { tcp: { reassembly: { memcap: 8 * MIB } } }, 8 + 1000 * flowMb],
      ['fragments-padded', 100_000, { fragments: { memcap: 8 * MIB, maxDatagrams: 100_000 } }, 8],
    ];
    for (const [name, packets, config, capMb] of caps) {
      const base = inChild(2000, config, name);
      const r = inChild(packets, config, name);
      expect(r.peakMemoryMb, name).toBeLessThanOrEqual(capMb);
      // Garbage the collector has not taken yet (measured 16-75 MiB): bounded, whatever the flood's length.
      expect(r.peakRssMb - base.peakRssMb, name).toBeLessThan(capMb + 128);
    }
  }, 120_000);
});

describe('many connections holding unacknowledged bytes', () => {

  it('a million connections, each with 9 bytes never acknowledged: the memcap counts what they hold (rings too), refuses the rest, and peak RSS stays within it', () => {
    const memcap = 256 * MIB;
    // The process without the flood's state: the same run over a few connections.
    const base = inChild(4000, { memcap });
    const r = inChild(4_000_000, { memcap });
    expect(r.packets).toBe(4_000_000);
    // Checked as connections open: the ones already in may still add their bytes, a little past it.
    expect(r.peakMemoryMb).toBeLessThanOrEqual(257);
    expect(r.peakMemoryMb).toBeGreaterThan(200);
    // Past the memcap, new connections are refused (flow-table-full), not taken on credit.
    expect(r.refused).toBeGreaterThan(500_000);
    expect(r.peakFlows).toBeLessThan(400_000);
    // What the process really took for it: under the memcap, with a margin for the collector.
    expect(r.peakRssMb - base.peakRssMb).toBeLessThan(256 * 1.5);
  }, 120_000);
});
