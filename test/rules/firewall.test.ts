/** The firewall module: a default-deny group on newConnection over declarative allow entries. */
import { describe, expect, it } from 'vitest';
import { defineRules, type RuleSet } from 'palisade';
import { firewall, type FirewallOptions } from 'palisade/rules';
import { replay, tcpSession, udpExchange } from 'palisade/testing';

/** A whole connection: handshake, a request, close (8 frames). */
const connect = (client: string, server: string): Buffer[] => tcpSession({ client, server }).handshake().send('up', 'hello').close().frames();
const install = (options: FirewallOptions): RuleSet => defineRules((ctx) => { firewall(ctx, options); });
/** The rule set fails to load (replay installs it first) with this message. */
const refusedAtLoad = async (options: unknown, message: RegExp): Promise<void> => {
  await expect(replay({ rules: install(options as FirewallOptions), packets: [] })).rejects.toMatchObject({ code: 'PAL_ERR_RULE_INVALID', message: expect.stringMatching(message) as unknown });
};

describe('firewall', () => {
  const rules = install({
    allow: [
      { name: 'web', clients: ['192.168.10.0/24', 'fd00:10::/32'], ports: [80, 443] },
      { name: 'high-ports', servers: '10.9.0.1', ports: { from: 8000, to: 8099 } },
    ],
  });

  it('allows what an entry allows, refuses the rest with one alert each, every frame of a refused connection dropped', async () => {
    const cases: [string, string, boolean][] = [
      ['192.168.10.5:40000', '10.9.0.9:80', true],
      ['192.168.10.5:40001', '10.9.0.9:443', true],
      ['192.168.10.5:40002', '10.9.0.9:22', false],
      ['192.168.11.5:40003', '10.9.0.9:80', false],
      ['[fd00:10::5]:40004', '[fd00:99::1]:443', true],
      ['[fd00:11::5]:40005', '[fd00:99::1]:443', false],
      ['172.16.0.1:40006', '10.9.0.1:8000', true],
      ['172.16.0.1:40007', '10.9.0.1:8099', true],
      ['172.16.0.1:40008', '10.9.0.2:8042', false],
      ['172.16.0.1:40009', '10.9.0.1:8100', false],
    ];
    for (const [client, server, allowed] of cases) {
      const r = await replay({ rules, packets: connect(client, server) });
      expect(r.alerts.map((a) => [a.rule, a.description, a.severity, a.packet]), `${client} -> ${server}`).toEqual(allowed ? [] : [['firewall', 'connection refused by the firewall', 'low', 1]]);
      expect(r.dropped, `${client} -> ${server}`).toEqual(allowed ? [] : [1, 2, 3, 4, 5, 6, 7, 8]);
    }
  });

  it('names who tried and what in the alert', async () => {
    const r = await replay({ rules, packets: connect('192.168.10.5:40002', '10.9.0.9:22') });
    expect(r.alerts[0]).toMatchObject({ sources: [{ address: '192.168.10.5' }], targets: [{ address: '10.9.0.9', service: 'tcp/22' }], flow: { server: { port: 22 } } });
  });

  it('refuses every TCP connection with an empty allow list, and leaves UDP alone', async () => {
    const none = install({ allow: [] });
    expect((await replay({ rules: none, packets: connect('192.168.10.5:40000', '10.9.0.9:80') })).dropped).toHaveLength(8);
    const dns = udpExchange().send('up', 'query').send('down', 'answer').frames();
    const u = await replay({ rules: none, packets: dns });
    expect(u.alerts).toEqual([]);
    expect(u.dropped).toEqual([]);
  });

  it('takes its name, severity and description, and refuses silently with alert: false', async () => {
    const named = install({ name: 'perimeter', severity: 'high', description: 'not on the list', allow: [] });
    const r = await replay({ rules: named, packets: connect('192.168.10.5:40000', '10.9.0.9:80') });
    expect(r.alerts.map((a) => [a.rule, a.severity, a.description])).toEqual([['perimeter', 'high', 'not on the list']]);
    const silent = await replay({ rules: install({ alert: false, allow: [] }), packets: connect('192.168.10.5:40000', '10.9.0.9:80') });
    expect(silent.alerts).toEqual([]);
    expect(silent.dropped).toHaveLength(8);
  });

  it('logs each connection it checks at debug level', async () => {
    const r = await replay({ rules, packets: connect('192.168.10.5:40000', '10.9.0.9:80'), config: { logLevel: 'debug' } });
    expect(r.logs.filter((l) => l.msg === 'filtering new connection')).toHaveLength(1);
  });

  it('refuses at load, naming the rule file line, the option and the value', async () => {
    const here = /^test\/rules\/firewall\.test\.ts:\d+: firewall 'firewall': /;
    await refusedAtLoad({ allow: [{ client: '10.0.0.0/8' }] }, new RegExp(`${here.source}allow\\[0\\] has no option 'client' \\(its options are name, clients, servers, ports\\)$`));
    await refusedAtLoad({ allow: [{ clients: '10.0.0.0/33' }] }, /firewall 'firewall': allow\[0\]\.clients must be an address or a network .*, not '10\.0\.0\.0\/33'$/);
    await refusedAtLoad({ allow: [{ servers: ['10.0.0.1', 'fd00::/129'] }] }, /allow\[0\]\.servers\[1\] must be an address or a network .*, not 'fd00::\/129'$/);
    await refusedAtLoad({ allow: [{ servers: [] }] }, /allow\[0\]\.servers is an empty list, which matches no address/);
    await refusedAtLoad({ allow: [{}, { ports: 70000 }] }, /allow\[1\]\.ports must be a port, an integer from 0 to 65535, not 70000$/);
    await refusedAtLoad({ allow: [{ ports: [80, '443'] }] }, /allow\[0\]\.ports\[1\] must be a port, an integer from 0 to 65535, not '443'$/);
    await refusedAtLoad({ allow: [{ ports: { from: 90, to: 80 } }] }, /allow\[0\]\.ports is the range 90-80, which is empty$/);
    await refusedAtLoad({ allow: { clients: '10.0.0.0/8' } }, /firewall 'firewall': allow must be a list, not an object$/);
    await refusedAtLoad({ name: 'edge', allow: [], severity: 'critical' }, /firewall 'edge': severity must be 'low', 'medium' or 'high', not 'critical'$/);
    await refusedAtLoad({ allow: [], deny: [] }, /options has no option 'deny' \(the options are name, allow, alert, severity, description\)$/);
  });
});
