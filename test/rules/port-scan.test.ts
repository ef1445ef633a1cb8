/** The portScan module: distinct ports per source in a window on the engine clock, a bounded source table. */
import { describe, expect, it } from 'vitest';
import { defineRules, type RuleSet } from 'palisade';
import { portScan, type PortScanOptions } from 'palisade/rules';
import { pcap, replay, tcpSession } from 'palisade/testing';

/** The SYN of a probe from `from` to port `port` of 10.9.0.1. */
const probe = (from: string, port: number): Buffer => tcpSession({ client: `${from}:${20000 + port}`, server: `10.9.0.1:${port}` }).handshake().frames()[0] as Buffer;
/** One source probing `ports` ports, 1 ms apart (pcap's spacing). */
const scan = (ports: number, from = '10.66.0.1'): Buffer => pcap(Array.from({ length: ports }, (_, i) => probe(from, 1000 + i)));
const install = (options?: PortScanOptions): RuleSet => defineRules((ctx) => { portScan(ctx, options); });

describe('portScan', () => {
  it('alerts on the probe past the threshold and refuses the source for blockS; a client under it is not touched', async () => {
    const rules = install({ threshold: 5, windowS: 5, blockS: 60 });
    const r = await replay({ rules, pcap: scan(9) });
    expect(r.alerts.map((a) => [a.rule, a.description, a.severity, a.packet])).toEqual([['port-scan', 'port scan: 6 ports in 5 s', 'medium', 6]]);
    expect(r.alerts[0]).toMatchObject({ sources: [{ address: '10.66.0.1' }], targets: [{ address: '10.9.0.1' }] });
    // The sixth probe and every later one refused.
    expect(r.dropped).toEqual([6, 7, 8, 9]);
    const honest = await replay({ rules, pcap: scan(5) });
    expect(honest.alerts).toEqual([]);
    expect(honest.dropped).toEqual([]);
  });

  it('counts distinct ports: one port opened again and again is no scan', async () => {
    const rules = install({ threshold: 2 });
    const r = await replay({ rules, pcap: pcap(Array.from({ length: 10 }, (_, i) => tcpSession({ client: `10.66.0.1:${30000 + i}`, server: '10.9.0.1:80' }).handshake().frames()[0] as Buffer)) });
    expect(r.alerts).toEqual([]);
  });

  it('lets a blocked source in again after blockS', async () => {
    // Probes 1 ms apart: the block set at probe 3 covers probes 4 and 5 (2.5 ms), not probe 6.
    const rules = install({ threshold: 2, blockS: 0.0025 });
    const r = await replay({ rules, pcap: scan(6) });
    expect(r.alerts.map((a) => a.packet)).toEqual([3]);
    expect(r.dropped).toEqual([3, 4, 5]);
  });

  it('blockS 0 alerts and refuses nothing; ports older than the window are forgotten', async () => {
    const narrow = install({ threshold: 5, windowS: 0.004, blockS: 0 });
    // Never more than 4 ports in a 4 ms window.
    expect((await replay({ rules: narrow, pcap: scan(20) })).alerts).toEqual([]);
    const wide = install({ threshold: 5, blockS: 0 });
    const w = await replay({ rules: wide, pcap: scan(12) });
    expect(w.alerts.map((a) => a.packet)).toEqual([6, 12]);
    expect(w.dropped).toEqual([]);
  });

  it('remembers at most maxSources sources, forgetting the one seen longest ago', async () => {
    // Two scanners taking turns: with room for one source, each probe forgets the other scanner.
    const turns = pcap(Array.from({ length: 12 }, (_, i) => probe(i % 2 === 0 ? '10.66.0.1' : '10.66.0.2', 1000 + i)));
    expect((await replay({ rules: install({ threshold: 5, maxSources: 1 }), pcap: turns })).alerts).toEqual([]);
    const both = await replay({ rules: install({ threshold: 5, maxSources: 2 }), pcap: turns });
    expect(both.alerts.map((a) => [a.packet, a.sources])).toEqual([
      [11, [{ address: '10.66.0.1' }]],
      [12, [{ address: '10.66.0.2' }]],
    ]);
  });

  it('refuses at load, naming the rule file line, the option and the value', async () => {
    const refused = async (options: unknown, message: RegExp): Promise<void> => {
      await expect(replay({ rules: install(options as PortScanOptions), packets: [] })).rejects.toMatchObject({ code: 'PAL_ERR_RULE_INVALID', message: expect.stringMatching(message) as unknown });
    };
    await refused({ threshold: 2.5 }, /^test\/rules\/port-scan\.test\.ts:\d+: portScan 'port-scan': threshold must be a positive integer, not 2\.5$/);
    await refused({ windowS: 0 }, /windowS must be a positive number, not 0$/);
    await refused({ blockS: -1 }, /blockS must be a non-negative number, not -1$/);
    await refused({ name: 'scan', maxSources: Infinity }, /portScan 'scan': maxSources must be a positive integer, not Infinity$/);
    await refused({ window: 5 }, /options has no option 'window'/);
  });
});
