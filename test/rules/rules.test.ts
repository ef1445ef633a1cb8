/** palisade/rules: each module installed in a rule set, replayed over sessions built in code. */
import { describe, expect, it } from 'vitest';
import { defineRules, PalisadeError } from 'palisade';
import { firewall, flowQuota, keywordReset, portScan, tcpHardening } from 'palisade/rules';
import { pcap, replay, tcpSession } from 'palisade/testing';

const connect = (client: string, server: string): Buffer[] => tcpSession({ client, server }).handshake().send('up', 'hello').close().frames();

describe('firewall', () => {
  const rules = defineRules((ctx) => {
    firewall(ctx, {
      allow: [
        { name: 'web', clients: ['192.168.10.0/24', 'fd00:10::/32'], ports: [80, 443] },
        { name: 'high-ports', servers: '10.9.0.1', ports: { from: 8000, to: 8099 } },
      ],
    });
  });

  it('allows what an entry allows, refuses the rest with one alert each, its SYN dropped', async () => {
    const cases: [string, string, boolean][] = [
      ['192.168.10.5:40000', '10.9.0.9:80', true],
      ['192.168.10.5:40001', '10.9.0.9:443', true],
      ['192.168.10.5:40002', '10.9.0.9:22', false],
      ['192.168.11.5:40003', '10.9.0.9:80', false],
      ['[fd00:10::5]:40004', '[fd00:99::1]:443', true],
      ['[fd00:11::5]:40005', '[fd00:99::1]:443', false],
      ['172.16.0.1:40006', '10.9.0.1:8042', true],
      ['172.16.0.1:40007', '10.9.0.2:8042', false],
      ['172.16.0.1:40008', '10.9.0.1:8100', false],
    ];
    for (const [client, server, allowed] of cases) {
      const r = await replay({ rules, packets: connect(client, server) });
      expect(r.alerts.map((a) => [a.rule, a.description]), `${client} -> ${server}`).toEqual(allowed ? [] : [['firewall', 'connection refused by the firewall']]);
      expect(r.dropped.includes(1), `${client} -> ${server}`).toBe(!allowed);
    }
  });

  it('names the bad option: a network, a port, an empty range or list', () => {
    const bad = (allow: Parameters<typeof firewall>[1]['allow'], message: RegExp): void => {
      const set = defineRules((ctx) => { firewall(ctx, { allow }); });
      expect(() => { set.setup({ ruleGroup: () => ({ rule: () => undefined }), alert: () => undefined, log: {} } as never); }).toThrow(message);
    };
    bad([{ clients: '10.0.0.0/33' }], /'10\.0\.0\.0\/33' is not an IPv4 network/);
    bad([{ ports: 70000 }], /firewall 'firewall', allow\[0\]\.ports: 70000 is not a port/);
    bad([{ ports: { from: 90, to: 80 } }], /the range 90-80 is empty/);
    bad([{ servers: [] }], /allow\[0\]\.servers: an empty list matches nothing/);
    try {
      bad([{ ports: -1 }], /is not a port/);
    } catch (err) {
      expect(err).toBeInstanceOf(PalisadeError);
    }
  });
});

describe('portScan', () => {
  /** One source probing `ports` ports of one server, 100 ms apart. */
  const scan = (ports: number, from = '10.66.0.1'): Buffer => {
    const frames = Array.from({ length: ports }, (_, i) => tcpSession({ client: `${from}:${30000 + i}`, server: `10.9.0.1:${1000 + i}` }).handshake().frames()[0] as Buffer);
    return pcap(frames);
  };

  it('alerts on the probe past the threshold and refuses the source for blockS; an honest client is not touched', async () => {
    const rules = defineRules((ctx) => { portScan(ctx, { threshold: 5, windowS: 5, blockS: 60 }); });
    const r = await replay({ rules, pcap: scan(9) });
    expect(r.alerts.map((a) => [a.rule, a.description, a.packet])).toEqual([['port-scan', 'port scan: 6 ports in 5 s', 6]]);
    // The sixth probe and every later one refused.
    expect(r.dropped).toEqual([6, 7, 8, 9]);
    const honest = await replay({ rules, pcap: scan(5) });
    expect(honest.alerts).toEqual([]);
    expect(honest.dropped).toEqual([]);
  });

  it('blockS 0 alerts and refuses nothing; ports older than the window are forgotten', async () => {
    const rules = defineRules((ctx) => { portScan(ctx, { threshold: 5, windowS: 0.004, blockS: 0 }); });
    // pcap() puts frames 1 ms apart: never more than 4 ports in a 4 ms window.
    const r = await replay({ rules, pcap: scan(20) });
    expect(r.alerts).toEqual([]);
    const wide = defineRules((ctx) => { portScan(ctx, { threshold: 5, blockS: 0 }); });
    const w = await replay({ rules: wide, pcap: scan(12) });
    expect(w.alerts.map((a) => a.packet)).toEqual([6, 12]);
    expect(w.dropped).toEqual([]);
  });

  it('refuses a threshold that is not a positive integer', () => {
    const set = defineRules((ctx) => { portScan(ctx, { threshold: 2.5 }); });
    expect(() => { set.setup({ rule: () => undefined } as never); }).toThrow(/portScan 'port-scan': threshold must be a positive integer, not 2\.5/);
  });
});

describe('tcpHardening', () => {
  /** A connection whose client re-sends its first bytes with other content, three times. */
  const overlapping = (): Buffer[] =>
    tcpSession()
      .handshake()
      .send('up', 'GET /index.html\r\n', { ack: false })
      .resend('up', 'GET /etc/passwd\r\n', { at: 0 })
      .resend('up', 'GET /etc/shadow\r\n', { at: 0 })
      .resend('up', 'GET /etc/groups\r\n', { at: 0 })
      .ack('down')
      .send('up', 'more\r\n')
      .close()
      .frames();

  it('alert mode: one alert per connection and kind, however many segments; the flow goes on', async () => {
    const rules = defineRules((ctx) => { tcpHardening(ctx); });
    const r = await replay({ rules, packets: overlapping(), config: { tcp: { policies: { 'overlap-different-data': 'accept' } } } });
    expect(r.stats.anomalies.get('tcp-overlap-different-data')).toBe(3);
    expect(r.alerts.map((a) => [a.rule, a.description, a.severity, a.method])).toEqual([
      ['tcp-hardening', 'tcp overlap-different-data (from the client)', 'high', { description: 'tcp-overlap-different-data', ref: 'stream.reassembly_overlap_different_data' }],
    ]);
    expect(r.flows[0]?.end_reason).toBe('fin');
  });

  it('block mode drops the connection on an evasion kind; an override can ignore one', async () => {
    const block = defineRules((ctx) => { tcpHardening(ctx, { mode: 'block' }); });
    const config = { tcp: { policies: { 'overlap-different-data': 'accept' } } };
    const r = await replay({ rules: block, packets: overlapping(), config });
    expect(r.alerts).toHaveLength(1);
    expect(r.flows[0]?.end_reason).toBe('dropped');
    const ignore = defineRules((ctx) => { tcpHardening(ctx, { mode: 'block', actions: { 'overlap-different-data': 'ignore' } }); });
    const i = await replay({ rules: ignore, packets: overlapping(), config });
    expect(i.alerts).toEqual([]);
    expect(i.flows[0]?.end_reason).toBe('fin');
  });
});

describe('flowQuota', () => {
  const upload = (bytes: number): Buffer[] => tcpSession().handshake().send('up', 'x'.repeat(bytes)).send('down', 'ok').close().frames();

  it('one alert the moment a direction passes the quota, updated with the total at the end; retransmissions count once', async () => {
    const rules = defineRules((ctx) => { flowQuota(ctx, { bytes: 4000 }); });
    const s = tcpSession().handshake().send('up', 'x'.repeat(3000), { ack: false }).resend('up').ack('down').send('up', 'y'.repeat(1500)).send('down', 'ok').close();
    const r = await replay({ rules, packets: s.frames() });
    expect(r.alerts.map((a) => [a.rule, a.description, a.update ?? false])).toEqual([
      // Segments of one MSS (1460): the quota is passed by the one that brings the stream to 4460.
      ['flow-quota', 'upload over quota: 4460 bytes sent, quota 4000', false],
      ['flow-quota', 'upload over quota: 4500 bytes sent in all, quota 4000', true],
    ]);
    expect((await replay({ rules, packets: upload(4000) })).alerts).toEqual([]);
  });

  it("action 'reset' resets the connection past the quota; direction 'down' counts the server's bytes", async () => {
    const reset = defineRules((ctx) => { flowQuota(ctx, { bytes: 1000, action: 'reset' }); });
    const r = await replay({ rules: reset, packets: upload(3000) });
    expect(r.injected).toHaveLength(2);
    expect(r.flows[0]?.end_reason).toBe('rst');
    const down = defineRules((ctx) => { flowQuota(ctx, { bytes: 1, direction: 'down' }); });
    const d = await replay({ rules: down, packets: upload(3000) });
    expect(d.alerts[0]?.description).toBe('download over quota: 2 bytes sent, quota 1');
    expect(d.alerts[0]?.sources).toEqual([{ address: '192.168.20.80' }]);
  });
});

describe('keywordReset', () => {
  const rules = defineRules((ctx) => {
    keywordReset(ctx, { ports: 21, keywords: [{ pattern: /^\s*SITE\s+EXEC/i, description: 'FTP SITE EXEC', ref: 'CVE-1999-0080' }] });
  });

  it('finds a forbidden line split across segments and resets before the server has it whole', async () => {
    const s = tcpSession({ server: '10.9.0.1:21' }).handshake().send('up', 'USER a\r\n').send('up', 'SITE EX').send('up', 'EC /bin/sh\r\n').close();
    const r = await replay({ rules, packets: s.frames() });
    expect(r.alerts.map((a) => [a.rule, a.description, a.method])).toEqual([['keyword-reset', 'forbidden command: SITE EXEC /bin/sh', { description: 'FTP SITE EXEC', ref: 'CVE-1999-0080' }]]);
    expect(r.injected).toHaveLength(2);
    // The segment that completed the match went nowhere: the server has 'SITE EX' at most.
    const up = r.output.filter((p) => !p.injected).map((p) => p.bytes.toString('latin1')).join('');
    expect(up).not.toContain('EC /bin/sh');
  });

  it('reads only the ports given; a keyword inside a line is no line start', async () => {
    const other = tcpSession({ server: '10.9.0.1:2121' }).handshake().send('up', 'SITE EXEC /bin/sh\r\n').close();
    expect((await replay({ rules, packets: other.frames() })).alerts).toEqual([]);
    const inside = tcpSession({ server: '10.9.0.1:21' }).handshake().send('up', 'NOOP SITE EXEC\r\n').close();
    expect((await replay({ rules, packets: inside.frames() })).alerts).toEqual([]);
    const set = defineRules((ctx) => { keywordReset(ctx, { keywords: [] }); });
    expect(() => { set.setup({ rule: () => undefined } as never); }).toThrow(/keywordReset 'keyword-reset': keywords is empty/);
  });
});
