/**
 * The fuzz slice of every `npm test` (and so of CI): a fixed, seeded run of the harness, which
 * must find nothing; and the harness's own checks, so that a slice
 * finding nothing means something: it reports a hang, a dissector's exception, a rule error, a
 * limit breached and a crash when there is one, and the same seed makes the same inputs.
 * `npm run fuzz -- --seconds N` runs it longer, from any seed.
 */
import { describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { defineFlowDissector, defineRules, flowEvent, http, tcpConnection, type TcpFlow } from '../../index.ts';
import { replay, tcpSession } from '../../testing.ts';
import { loadSeeds } from './corpus.ts';
import { fuzz } from './harness.ts';
import { makeInput, strategies } from './mutate.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
/** About a minute on the CI machine. */
const SLICE = 10_000;

describe('fuzz', () => {
  it(`a seeded slice of ${SLICE} mutated captures through HTTP, TLS and DNS: no crash, hang, exception, limit breached or leak`, async () => {
    const report = await fuzz({ root, seed: 20261203, inputs: SLICE, heapLimitMb: 512 });
    expect(report.findings).toEqual([]);
    expect(report.inputs).toBe(SLICE);
    for (const s of strategies) expect(report.byStrategy[s], s).toBeGreaterThan(SLICE / 20);
    // Half the inputs are the protocols' captures, and half of those have their payloads mutated.
    expect(report.byStrategy.payload).toBeGreaterThan(SLICE / 5);
    // Most inputs get through the readers to the engine, and the dissectors hand over what they read.
    expect(report.captureErrors).toBeLessThan(SLICE / 2);
    expect(report.packets).toBeGreaterThan(SLICE * 10);
    expect(report.protocolEvents.http).toBeGreaterThan(SLICE);
    expect(report.protocolEvents.tls).toBeGreaterThan(SLICE / 4);
    expect(report.protocolEvents.dns).toBeGreaterThan(SLICE);
  }, 300_000);

  it('the same seed and number make the same input, another seed another', () => {
    const seeds = loadSeeds(root);
    expect(seeds.length).toBeGreaterThan(20);
    for (let n = 0; n < 50; n++) {
      const a = makeInput(seeds, 5, n);
      expect(makeInput(seeds, 5, n).pcap.equals(a.pcap)).toBe(true);
      expect(a.seed).toMatch(new RegExp(` 5:${n}$`));
    }
    expect(Array.from({ length: 20 }, (_, n) => makeInput(seeds, 6, n).pcap.equals(makeInput(seeds, 5, n).pcap)).every(Boolean)).toBe(false);
  });

  it('reports a rule that never returns as a hang and a throwing rule as a rule error, naming the input', async () => {
    let packets = 0;
    const spins = defineRules(({ rule }) => {
      rule({
        name: 'spin-on-fifth',
        on: tcpConnection.events.receivePacket,
        eval: () => {
          if (++packets === 5) for (;;) Math.random();
        },
      });
    });
    const hang = await fuzz({ root, seed: 1, inputs: 40, rules: spins, timeoutMs: 100 });
    expect(hang.findings.filter((f) => f.kind === 'hang')).toHaveLength(1);
    expect(hang.findings[0]?.message).toMatch(/PAL_ERR_RULE_TIMEOUT|spin-on-fifth/);
    expect(hang.findings[0]?.input).toMatch(/ \w+ 1:\d+$/);

    const throws = defineRules(({ rule }) => {
      rule({
        name: 'throws',
        on: tcpConnection.events.newConnection,
        eval: () => {
          throw new Error('boom');
        },
      });
    });
    const errors = await fuzz({ root, seed: 1, inputs: 20, rules: throws });
    expect(errors.findings.length).toBeGreaterThan(0);
    expect(errors.findings.every((f) => f.kind === 'rule-error')).toBe(true);
  }, 60_000);

  it('reports a limit the rules saw breached, with what they said', async () => {
    const probe = (watch: { breach(what: string): void }) =>
      defineRules(({ rule }) => {
        rule({
          name: 'head-probe',
          on: http.events.request,
          eval: (_flow, request) => {
            watch.breach(`a head of ${request.headLength} bytes`);
          },
        });
      });
    const report = await fuzz({ root, seed: 3, inputs: 6, only: /^samples\/http\//, rules: probe });
    expect(report.seeds).toBe(1);
    expect(report.findings.length).toBeGreaterThan(0);
    expect(report.findings.every((f) => f.kind === 'limit')).toBe(true);
    expect(report.findings[0]?.message).toMatch(/^a head of \d+ bytes/);
  }, 60_000);

  it("reports a detected dissector's parser that throws as a dissector error named for it, with its stack", async () => {
    // FTP's client speaks second, after the server's greeting: its first bytes are a command.
    const ftp = defineFlowDissector({
      name: 'fuzz-ftp',
      events: { command: flowEvent<[flow: TcpFlow, line: string]>() },
      detect: (head) => (head.length < 5 ? undefined : head.subarray(0, 5).toString('latin1') === 'USER '),
      parser: () => ({
        buffered: 0,
        data: () => {
          throw new Error('parser bug');
        },
        end: () => undefined,
      }),
    });
    const rules = defineRules(({ rule }) => {
      rule({ name: 'ftp-command', on: ftp.events.command, eval: () => undefined });
    });
    const report = await fuzz({ root, seed: 4, inputs: 12, only: /keyword-reset/, rules });
    const found = report.findings.filter((f) => f.kind === 'dissector-error');
    expect(found.length).toBeGreaterThan(0);
    expect(found[0]?.message).toMatch(/^dissector 'fuzz-ftp' threw \d+ times?; first: Error: parser bug\n\s+at /);
    expect(report.findings.every((f) => f.kind === 'dissector-error')).toBe(true);
  }, 60_000);
});

describe('fuzz findings, reduced', () => {
  // Found by the slice (fragments of samples/http/input.pcap, tls12.pcap, dns/tcp.pcap with
  // reset-flow policies): the RSTs were built from the trigger's frame, the datagram's last
  // fragment, which has no TCP header; the flow's frames were dropped and neither end was told.
  it('a reset in http.events.request whose request came in IP fragments sends a RST to each end', async () => {
    const rules = defineRules(({ rule }) => {
      rule({
        name: 'reset-every-request',
        on: http.events.request,
        eval: (flow) => {
          flow.reset();
        },
      });
    });
    const capture = tcpSession().handshake().send('up', 'GET / HTTP/1.1\r\nHost: a\r\n\r\n', { fragment: 16 }).close();
    const frames = capture.frames();
    const r = await replay({ rules, packets: frames });
    expect(r.stats.ruleErrors).toBe(0);
    // Ethernet, IPv4 without options: the ports at 34. The SYN gives the client's and the server's.
    const ports = (b: Buffer): [number, number] => [b.readUInt16BE(34), b.readUInt16BE(36)];
    const syn = frames[0];
    if (syn === undefined) throw new Error('no SYN');
    const [client, server] = ports(syn);
    expect(r.injected.map((p) => [ports(p.bytes), p.bytes[47]])).toEqual([
      [[server, client], 0x04],
      [[client, server], 0x04],
    ]);
  });
});
