/** The keywordReset module: forbidden line starts matched across segments, a bounded line buffer. */
import { describe, expect, it } from 'vitest';
import { defineRules, type RuleSet } from 'palisade';
import { keywordReset, type KeywordResetOptions } from 'palisade/rules';
import { replay, tcpSession, type ReplayResult } from 'palisade/testing';

const siteExec = { pattern: /^\s*SITE\s+EXEC/i, description: 'FTP SITE EXEC', ref: 'CVE-1999-0080' };
const install = (options: KeywordResetOptions): RuleSet => defineRules((ctx) => { keywordReset(ctx, options); });
const ftp = (): ReturnType<typeof tcpSession> => tcpSession({ server: '10.9.0.1:21' }).handshake();
/** What the client's segments carried past palisade (the crafted RSTs left out). */
const forwardedUp = (r: ReplayResult): string => r.output.filter((p) => !p.injected).map((p) => p.bytes.toString('latin1')).join('');

describe('keywordReset', () => {
  const rules = install({ ports: 21, keywords: [siteExec] });

  it('finds a forbidden line split across segments and resets before the server has it whole', async () => {
    const s = ftp().send('up', 'USER a\r\n').send('up', 'SITE EX').send('up', 'EC /bin/sh\r\n').close();
    const r = await replay({ rules, packets: s.frames() });
    expect(r.alerts.map((a) => [a.rule, a.description, a.severity, a.method])).toEqual([['keyword-reset', 'forbidden command: SITE EXEC /bin/sh', 'high', { description: 'FTP SITE EXEC', ref: 'CVE-1999-0080' }]]);
    expect(r.alerts[0]).toMatchObject({ sources: [{ address: '192.168.10.10' }], targets: [{ address: '10.9.0.1', service: 'tcp/21' }] });
    expect(r.injected).toHaveLength(2);
    expect(r.flows[0]?.end_reason).toBe('rst');
    // The segment that completed the match went nowhere: the server has 'SITE EX' at most.
    expect(forwardedUp(r)).toContain('SITE EX');
    expect(forwardedUp(r)).not.toContain('EC /bin/sh');
  });

  it('reads only the ports given; a keyword inside a line is no line start', async () => {
    const other = tcpSession({ server: '10.9.0.1:2121' }).handshake().send('up', 'SITE EXEC /bin/sh\r\n').close();
    expect((await replay({ rules, packets: other.frames() })).alerts).toEqual([]);
    const inside = ftp().send('up', 'NOOP SITE EXEC\r\n').close();
    expect((await replay({ rules, packets: inside.frames() })).alerts).toEqual([]);
    // Without `ports`, every connection is read.
    const everywhere = install({ keywords: [siteExec] });
    expect((await replay({ rules: everywhere, packets: other.frames() })).alerts).toHaveLength(1);
  });

  it('matches a new line after a line end in the same segment, and stops at the reset', async () => {
    const s = ftp().send('up', 'NOOP\r\nSITE EXEC a\r\nSITE EXEC b\r\n').close();
    const r = await replay({ rules, packets: s.frames() });
    expect(r.alerts.map((a) => a.description)).toEqual(['forbidden command: SITE EXEC a']);
    expect(r.injected).toHaveLength(2);
  });

  it('keeps lineStart bytes of a line: what comes later in a long line is not read', async () => {
    const short = install({ keywords: [{ pattern: /^USER root/, description: 'root login' }], lineStart: 8 });
    expect((await replay({ rules: short, packets: ftp().send('up', 'USER root\r\n').close().frames() })).alerts).toEqual([]);
    const long = install({ keywords: [{ pattern: /^USER root/, description: 'root login' }], lineStart: 9 });
    expect((await replay({ rules: long, packets: ftp().send('up', 'USER root\r\n').close().frames() })).alerts).toHaveLength(1);
  });

  it("action 'alert' only alerts, once per line; 'drop' drops silently", async () => {
    const s = ftp().send('up', 'SITE EX').send('up', 'EC a').send('up', ' b\r\nSITE EXEC c\r\n').close();
    const alertOnly = await replay({ rules: install({ keywords: [siteExec], action: 'alert' }), packets: s.frames() });
    expect(alertOnly.alerts.map((a) => a.description)).toEqual(['forbidden command: SITE EXEC a', 'forbidden command: SITE EXEC c']);
    expect(alertOnly.dropped).toEqual([]);
    expect(alertOnly.flows[0]?.end_reason).toBe('fin');
    const drop = await replay({ rules: install({ keywords: [siteExec], action: 'drop' }), packets: s.frames() });
    expect(drop.alerts).toHaveLength(1);
    expect(drop.injected).toEqual([]);
    expect(drop.flows[0]?.end_reason).toBe('dropped');
  });

  it("direction 'down' reads the server's lines", async () => {
    const banner = install({ direction: 'down', description: 'vulnerable server', severity: 'medium', action: 'alert', keywords: [{ pattern: /^220 .*vsFTPd 2\.3\.4/, description: 'vsFTPd 2.3.4 backdoor' }] });
    const r = await replay({ rules: banner, packets: ftp().send('down', '220 (vsFTPd 2.3.4)\r\n').send('up', 'USER a\r\n').close().frames() });
    expect(r.alerts.map((a) => [a.description, a.severity, a.sources, a.targets])).toEqual([['vulnerable server: 220 (vsFTPd 2.3.4)', 'medium', [{ address: '10.9.0.1' }], [{ address: '192.168.10.10' }]]]);
  });

  it('a /g pattern matches on every connection (its lastIndex does not carry over)', async () => {
    const global = install({ keywords: [{ pattern: /SITE EXEC/g, description: 'SITE EXEC' }] });
    const three = [0, 1, 2].flatMap((i) => tcpSession({ client: `192.168.10.10:${40000 + i}`, server: '10.9.0.1:21' }).handshake().send('up', 'SITE EXEC x\r\n').close().frames());
    expect((await replay({ rules: global, packets: three })).alerts).toHaveLength(3);
  });

  it('refuses at load, naming the rule file line, the option and the value', async () => {
    const refused = async (options: unknown, message: RegExp): Promise<void> => {
      await expect(replay({ rules: install(options as KeywordResetOptions), packets: [] })).rejects.toMatchObject({ code: 'PAL_ERR_RULE_INVALID', message: expect.stringMatching(message) as unknown });
    };
    await refused({ keywords: [] }, /^test\/rules\/keyword-reset\.test\.ts:\d+: keywordReset 'keyword-reset': keywords is empty: give at least one keyword$/);
    await refused({ keywords: [{ pattern: 'SITE EXEC', description: 'x' }] }, /keywords\[0\]\.pattern must be a regular expression .*, not 'SITE EXEC'$/);
    await refused({ keywords: [siteExec, { pattern: /x/ }] }, /keywords\[1\]\.description must be a non-empty string, not undefined$/);
    await refused({ keywords: [siteExec], lineStart: 0 }, /lineStart must be a positive integer, not 0$/);
    await refused({ keywords: [siteExec], ports: [] }, /ports is an empty list, which matches no port/);
    await refused({ keywords: [siteExec], ignoreOtherPorts: true }, /ignoreOtherPorts needs ports: with no ports, every connection is read$/);
    await refused({ keywords: [siteExec], direction: 'both' }, /direction must be 'up' or 'down', not 'both'$/);
  });
});
