/** The flowQuota module: stream bytes per connection and direction, one alert updated with the total. */
import { describe, expect, it } from 'vitest';
import { defineRules, type RuleSet } from 'palisade';
import { flowQuota, type FlowQuotaOptions } from 'palisade/rules';
import { replay, tcpSession } from 'palisade/testing';

/** A client uploading `bytes` in one-MSS (1460) segments, each acknowledged, then 'ok' from the server. */
const upload = (bytes: number): Buffer[] => tcpSession().handshake().send('up', 'x'.repeat(bytes)).send('down', 'ok').close().frames();
const install = (options: FlowQuotaOptions): RuleSet => defineRules((ctx) => { flowQuota(ctx, options); });

describe('flowQuota', () => {
  it('one alert the moment a direction passes the quota, updated with the total at the end; retransmissions count once', async () => {
    const rules = install({ bytes: 4000 });
    const s = tcpSession().handshake().send('up', 'x'.repeat(3000), { ack: false }).resend('up').ack('down').send('up', 'y'.repeat(1500)).send('down', 'ok').close();
    const r = await replay({ rules, packets: s.frames() });
    expect(r.alerts.map((a) => [a.rule, a.description, a.update ?? false])).toEqual([
      // The quota is passed by the segment that brings the stream to 4460 (3000 + 1460).
      ['flow-quota', 'upload over quota: 4460 bytes sent, quota 4000', false],
      ['flow-quota', 'upload over quota: 4500 bytes sent in all, quota 4000', true],
    ]);
    expect(r.alerts[0]).toMatchObject({ severity: 'medium', sources: [{ address: '192.168.10.10' }], targets: [{ address: '192.168.20.80', service: 'tcp/80' }] });
    expect(r.dropped).toEqual([]);
    // Exactly the quota is within it.
    expect((await replay({ rules, packets: upload(4000) })).alerts).toEqual([]);
  });

  it("action 'reset' resets the connection past the quota, 'drop' drops it silently", async () => {
    const reset = await replay({ rules: install({ bytes: 1000, action: 'reset' }), packets: upload(3000) });
    expect(reset.alerts.filter((a) => a.update !== true)).toHaveLength(1);
    // Both RSTs sent while handling the segment that passed the quota (frame 4: 1460 bytes).
    expect(reset.injected.map((p) => p.after)).toEqual([4, 4]);
    expect(reset.flows[0]?.end_reason).toBe('rst');
    const drop = await replay({ rules: install({ bytes: 1000, action: 'drop' }), packets: upload(3000) });
    expect(drop.injected).toEqual([]);
    expect(drop.flows[0]?.end_reason).toBe('dropped');
    // The handshake (3 frames) passed; the first segment (1460 bytes) passed the quota and went nowhere, nor did anything after it.
    expect(drop.dropped[0]).toBe(4);
    expect(drop.dropped.at(-1)).toBe(upload(3000).length);
  });

  it("direction 'down' counts the server's bytes, 'both' each direction on its own", async () => {
    const down = await replay({ rules: install({ bytes: 1, direction: 'down' }), packets: upload(3000) });
    expect(down.alerts.map((a) => [a.description, a.sources])).toEqual([
      ['download over quota: 2 bytes sent, quota 1', [{ address: '192.168.20.80' }]],
      ['download over quota: 2 bytes sent in all, quota 1', [{ address: '192.168.20.80' }]],
    ]);
    const both = await replay({ rules: install({ bytes: 1, direction: 'both', severity: 'low', name: 'quota' }), packets: upload(3000) });
    expect(both.alerts.filter((a) => a.update !== true).map((a) => [a.rule, a.severity, a.description])).toEqual([
      ['quota', 'low', 'upload over quota: 1460 bytes sent, quota 1'],
      ['quota', 'low', 'download over quota: 2 bytes sent, quota 1'],
    ]);
  });

  it('refuses at load, naming the rule file line, the option and the value', async () => {
    const refused = async (options: unknown, message: RegExp): Promise<void> => {
      await expect(replay({ rules: install(options as FlowQuotaOptions), packets: [] })).rejects.toMatchObject({ code: 'PAL_ERR_RULE_INVALID', message: expect.stringMatching(message) as unknown });
    };
    await refused({}, /^test\/rules\/flow-quota\.test\.ts:\d+: flowQuota 'flow-quota': bytes must be a non-negative integer, not undefined$/);
    await refused({ bytes: '16k' }, /bytes must be a non-negative integer, not '16k'$/);
    await refused({ bytes: 10, direction: 'upload' }, /direction must be 'up', 'down' or 'both', not 'upload'$/);
    await refused({ bytes: 10, action: 'block' }, /action must be 'alert', 'reset' or 'drop', not 'block'$/);
  });
});
