/**
 * The DNS dissector in the engine: dns.events over UDP and TCP (the captures of
 * test/captures/dns/make-captures.sh, dig against dnsmasq), responses paired with their query,
 * app_proto, anomalies counted and policed, and a query refused before it leaves: its datagram
 * dropped, or over TCP its segments held and the connection reset.
 */
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { defineRules, dns, udpConnection, type DnsFlow, type DnsMessage } from '../../index.ts';
import { replay, tcpSession, udpExchange } from '../../testing.ts';
import { header, pointer, question, tcpFrames } from './build.ts';

const capture = (name: string): string => fileURLToPath(new URL(`../captures/dns/${name}.pcap`, import.meta.url));

interface Seen {
  queries: { flow: number; name: string; type: string }[];
  responses: { flow: number; id: number; matched: boolean; rcode: number }[];
  anomalies: string[];
}

async function run(input: { capture?: string; packets?: Buffer[] }, deny?: string, config?: unknown): Promise<{ seen: Seen; result: Awaited<ReturnType<typeof replay>> }> {
  const seen: Seen = { queries: [], responses: [], anomalies: [] };
  const rules = defineRules(({ rule }) => {
    rule({
      name: 'query',
      on: dns.events.query,
      eval: (flow: DnsFlow, q: DnsMessage) => {
        const first = q.questions[0];
        seen.queries.push({ flow: flow.id, name: first?.name ?? '', type: first?.typeName ?? '' });
        if (deny !== undefined && first !== undefined && dns.inZone(first.name, deny)) flow.drop();
      },
    });
    rule({
      name: 'response',
      on: dns.events.response,
      eval: (flow, r, q) => void seen.responses.push({ flow: flow.id, id: r.id, matched: q !== null && q.id === r.id, rcode: r.rcode }),
    });
    rule({ name: 'anomaly', on: dns.events.anomaly, eval: (flow, a) => void seen.anomalies.push(a.kind) });
  });
  const result = await replay({ rules, ...input, ...(config === undefined ? {} : { config }) });
  return { seen, result };
}

describe('dns dissector', () => {
  it('over UDP: every query and its response, paired by id and question, the flows named dns', async () => {
    const { seen, result } = await run({ capture: capture('udp') });
    expect(seen.queries.length).toBeGreaterThan(10);
    expect(seen.responses).toHaveLength(seen.queries.length);
    expect(seen.responses.every((r) => r.matched)).toBe(true);
    expect(seen.queries).toContainEqual(expect.objectContaining({ name: 'host.pal.test', type: 'AAAA' }));
    expect(seen.responses.some((r) => r.rcode === 3)).toBe(true); // NXDOMAIN
    expect(seen.anomalies).toEqual([]);
    expect(new Set(result.flows.map((f) => `${f.proto} ${f.app_proto}`))).toEqual(new Set(['udp dns']));
  });

  it('over TCP: length-prefixed messages, two on one connection, paired', async () => {
    const { seen, result } = await run({ capture: capture('tcp') });
    expect(seen.queries.length).toBeGreaterThanOrEqual(2);
    expect(seen.responses.every((r) => r.matched)).toBe(true);
    expect(result.flows.every((f) => f.proto === 'tcp' && f.app_proto === 'dns')).toBe(true);
  });

  it('names port-53 flows dns in their records even when no rule reads DNS', async () => {
    const rules = defineRules(({ rule }) => rule({ name: 'n', on: udpConnection.events.newConnection, eval: () => undefined }));
    const r = await replay({ rules, capture: capture('udp') });
    expect(r.flows.every((f) => f.app_proto === 'dns')).toBe(true);
  });

  it('a query for a denied zone is dropped with its datagram: the response never comes, nothing else is lost', async () => {
    const q = (id: number, n: string): Buffer => Buffer.concat([header({ id, qd: 1 }), question(n)]);
    const a = (id: number, n: string): Buffer => Buffer.concat([header({ id, flags: 0x8180, qd: 1 }), question(n)]);
    const frames = [
      ...udpExchange({ client: '192.168.10.10:40001' }).send('up', q(1, 'www.good.example')).send('down', a(1, 'www.good.example')).frames(),
      ...udpExchange({ client: '192.168.10.10:40002' }).send('up', q(2, 'x.Evil.Example')).frames(),
    ];
    const { seen, result } = await run({ packets: frames }, 'evil.example');
    expect(result.dropped).toEqual([3]);
    expect(result.reasons.get(3)).toMatchObject({ kind: 'flow-action', action: 'drop', rule: 'query' });
    expect(seen.responses).toEqual([{ flow: 1, id: 1, matched: true, rcode: 0 }]);
  });

  it('over TCP a query split across segments waits whole: a reset leaves none of it to the server', async () => {
    const message = tcpFrames(Buffer.concat([header({ id: 7, qd: 1 }), question('a.evil.example')]));
    const frames = tcpSession({ server: '192.168.20.80:53' }).handshake().send('up', message, { segments: 5 }).close().frames();
    const rules = defineRules(({ rule }) =>
      rule({
        name: 'deny',
        on: dns.events.query,
        eval: (flow) => {
          if ('reset' in flow) flow.reset();
        },
      }),
    );
    const r = await replay({ rules, packets: frames });
    expect(r.output.filter((p) => !p.injected && p.id > 3)).toEqual([]);
    expect(r.injected).toHaveLength(2);
    expect(r.flows[0]?.end_reason).toBe('rst');
  });

  it('a compression loop is an anomaly, counted, and with drop-flow its flow is dropped for the policy', async () => {
    const loop = Buffer.concat([header({ id: 9, qd: 1 }), pointer(12), Buffer.from([0, 1, 0, 1])]);
    const frames = udpExchange().send('up', loop).frames();
    const accepted = await run({ packets: frames });
    expect(accepted.seen.anomalies).toContain('pointer-loop');
    expect(accepted.result.stats.anomalies.get('dns-pointer-loop')).toBe(1);
    expect(accepted.result.dropped).toEqual([]);
    const dropped = await run({ packets: frames }, undefined, { dns: { policies: { 'pointer-loop': 'drop-flow' } } });
    expect(dropped.result.dropped).toEqual([1]);
    expect(dropped.result.reasons.get(1)).toEqual({ kind: 'policy', policy: 'dns.policies.pointer-loop', anomaly: 'dns-pointer-loop' });
    expect(dropped.seen.queries).toEqual([]);
  });
});
