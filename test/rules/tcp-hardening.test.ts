/** The tcpHardening module: every tcp_connection anomaly alerted once per connection, evasion dropped in block mode. */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { defineRules, type RuleSet, type TcpAnomalyKind } from 'palisade';
import { tcpAnomalyRules, tcpHardening, type TcpHardeningOptions } from 'palisade/rules';
import { replay, tcpSession } from 'palisade/testing';

const install = (options?: TcpHardeningOptions): RuleSet => defineRules((ctx) => { tcpHardening(ctx, options); });

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

/** One connection per kind that reaches rules, with the frame that carries the anomaly. */
const sessions: [TcpAnomalyKind, Buffer[], number][] = [
  ['syn-with-data', tcpSession().segment('up', { offset: -1, data: 'x', flags: 'S' }).frames(), 1],
  ['invalid-flags', tcpSession().handshake().send('up', 'hello').segment('up', { offset: 5, data: 'x', flags: '' }).close().frames(), 6],
  ['out-of-window', tcpSession().handshake().send('up', 'hello').segment('up', { offset: 5_000_000, data: 'x' }).close().frames(), 6],
  ['overlap-different-data', overlapping(), 5],
  ['data-after-rst', tcpSession().handshake().send('up', 'hello').rst('down').segment('up', { offset: 5, data: 'more' }).frames(), 7],
  ['data-after-fin', tcpSession().handshake().send('up', 'hello').fin('up').segment('up', { offset: 6, data: 'late' }).close().frames(), 8],
  // Bytes 5-99 never captured, acknowledged by the server (frame 7), and the client goes on past
  // them (frame 8): a gap.
  ['gap', tcpSession().handshake().send('up', 'hello').segment('up', { offset: 100, data: 'x' }).segment('down', { offset: 0, flags: 'A', ack: 1_000_000 + 1 + 101 }).segment('up', { offset: 101, data: 'y' }).close().frames(), 8],
];
// Their packets pass, so what the module does is what shows.
const accepting = { tcp: { policies: Object.fromEntries(sessions.map(([kind]) => [kind, 'accept'])) } };

describe('tcpHardening', () => {
  it('alerts on every kind that reaches rules, with its severity and the Suricata event and sid where there is one', async () => {
    const rules = install();
    for (const [kind, frames, packet] of sessions) {
      const r = await replay({ rules, packets: frames, config: accepting });
      const { severity, suricata } = tcpAnomalyRules[kind];
      expect(r.alerts.map((a) => [a.rule, a.description, a.severity, a.packet, a.method]), kind).toEqual([
        ['tcp-hardening', `tcp ${kind} (from the client)`, severity, packet, suricata ? { description: `tcp-${kind}`, ref: [suricata.event, `sid:${suricata.sid}`] } : { description: `tcp-${kind}` }],
      ]);
      expect(r.alerts[0], kind).toMatchObject({ sources: [{ address: '192.168.10.10' }], targets: [{ address: '192.168.20.80', service: 'tcp/80' }] });
      // Alert mode drops nothing.
      expect(r.dropped, kind).toEqual([]);
    }
  });

  it('alerts once per connection and kind, however many segments', async () => {
    const r = await replay({ rules: install(), packets: overlapping(), config: accepting });
    expect(r.stats.anomalies.get('tcp-overlap-different-data')).toBe(3);
    expect(r.alerts).toHaveLength(1);
    expect(r.flows[0]?.end_reason).toBe('fin');
  });

  it('block mode drops the connection on the evasion kinds, from the anomalous frame on, and only alerts on the others', async () => {
    const rules = install({ mode: 'block' });
    for (const [kind, frames, packet] of sessions) {
      const r = await replay({ rules, packets: frames, config: accepting });
      expect(r.alerts, kind).toHaveLength(1);
      const evasion = tcpAnomalyRules[kind].evasion;
      // A reset connection's late packets are dropped whatever the module does.
      const dropped = evasion || kind === 'data-after-rst' ? frames.map((_, i) => i + 1).filter((n) => n >= packet) : [];
      expect(r.dropped, kind).toEqual(dropped);
      if (kind !== 'data-after-rst') expect(r.flows[0]?.end_reason, kind).toBe(evasion ? 'dropped' : kind === 'syn-with-data' ? 'shutdown' : 'fin');
    }
    expect(Object.entries(tcpAnomalyRules).filter(([, r]) => r.evasion).map(([kind]) => kind)).toEqual(['invalid-flags', 'syn-with-data', 'overlap-different-data', 'data-after-rst', 'data-after-fin']);
  });

  it('per-kind actions override the mode: ignore, alert, reset', async () => {
    const ignore = await replay({ rules: install({ mode: 'block', actions: { 'overlap-different-data': 'ignore' } }), packets: overlapping(), config: accepting });
    expect(ignore.alerts).toEqual([]);
    expect(ignore.flows[0]?.end_reason).toBe('fin');
    const alertOnly = await replay({ rules: install({ mode: 'block', actions: { 'overlap-different-data': 'alert' } }), packets: overlapping(), config: accepting });
    expect(alertOnly.alerts).toHaveLength(1);
    expect(alertOnly.dropped).toEqual([]);
    const reset = await replay({ rules: install({ actions: { 'overlap-different-data': 'reset' } }), packets: overlapping(), config: accepting });
    expect(reset.injected.map((p) => p.after)).toEqual([5, 5]);
    expect(reset.flows[0]?.end_reason).toBe('rst');
    const gapDrops = await replay({ rules: install({ actions: { gap: 'drop-flow' } }), packets: sessions[6]?.[1] ?? [], config: accepting });
    expect(gapDrops.flows[0]?.end_reason).toBe('dropped');
  });

  it("leaves the anomalous packet to tcp.policies: in alert mode the default normalises an inconsistent retransmission's segments, drop-packet drops them", async () => {
    const r = await replay({ rules: install(), packets: overlapping() });
    expect(r.alerts).toHaveLength(1);
    expect(r.dropped).toEqual([]);
    // Each resent copy goes out as the first one: the server never sees /etc/passwd.
    expect(r.output.filter((o) => [5, 6, 7].includes(o.id)).every((o) => o.bytes.includes('GET /index.html'))).toBe(true);
    expect(r.flows[0]?.end_reason).toBe('fin');
    const dropping = await replay({ rules: install(), packets: overlapping(), config: { tcp: { policies: { 'overlap-different-data': 'drop-packet' } } } });
    expect(dropping.dropped).toEqual([5, 6, 7]);
  });

  it('refuses at load, naming the rule file line, the option and the value', async () => {
    const refused = async (options: unknown, message: RegExp): Promise<void> => {
      await expect(replay({ rules: install(options as TcpHardeningOptions), packets: [] })).rejects.toMatchObject({ code: 'PAL_ERR_RULE_INVALID', message: expect.stringMatching(message) as unknown });
    };
    await refused({ mode: 'drop' }, /^test\/rules\/tcp-hardening\.test\.ts:\d+: tcpHardening 'tcp-hardening': mode must be 'alert' or 'block', not 'drop'$/);
    await refused({ actions: { overlap: 'drop-flow' } }, /actions has no option 'overlap' \(its options are invalid-flags, syn-with-data, .*, hold-cap\)$/);
    await refused({ actions: { gap: 'drop' } }, /actions\['gap'\] must be 'ignore', 'alert', 'drop-flow' or 'reset', not 'drop'$/);
  });

  it('is documented kind by kind in docs/rules.md, as tcpAnomalyRules has it', () => {
    const page = readFileSync(new URL('../../docs/rules.md', import.meta.url), 'utf8');
    const rows = [...page.matchAll(/^\| `([a-z-]+)` \| (low|medium|high) \| (yes|no) \| (.*) \|$/gm)].map((m) => [m[1], m[2], m[3], m[4]]);
    expect(rows).toEqual(
      Object.entries(tcpAnomalyRules).map(([kind, r]) => [kind, r.severity, r.evasion ? 'yes' : 'no', r.suricata ? `\`${r.suricata.event}\` (sid ${r.suricata.sid})` : '—']),
    );
  });
});
