/**
 * The SMTP samples (samples/smtp) replayed over their real captures, with the output capture
 * checked byte by byte: what a rule refused never reaches the server, the RSTs go out, and the
 * allowed session passes untouched. Then the SMTP dissector itself: the events it raises on the
 * real sessions, and the corners of RFC 5321 on sessions built byte by byte.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defineRules, tcpConnection } from 'palisade';
import { replay, tcpSession, type OutputPacket, type ReplayResult } from 'palisade/testing';
import { openCapture } from '../../core/io/capture.ts';
import { smtp } from '../../samples/smtp/dissector.ts';
import { root } from '../cli/run-cli.ts';

const samples = join(root, 'samples/smtp');
const SYN = 0x02;
const RST = 0x04;
const CANARY = 'CANARY-d33e92d96eb23e29d1937d25324eb538cfc76674d64a94585224c0f78399ecba';

interface Segment {
  /** Input frame number; 0 for a frame palisade crafted. */
  id: number;
  sport: number;
  dport: number;
  seq: number;
  flags: number;
  payload: Buffer;
  bytes: Buffer;
}

/** Ethernet II, IPv4, TCP, read at their offsets (RFC 791 §3.1, RFC 9293 §3.1): no palisade code involved. */
function decode(bytes: Buffer, id: number): Segment {
  expect(bytes.readUInt16BE(12), `frame ${id}: IPv4`).toBe(0x0800);
  const ip = 14;
  const tcp = ip + ((bytes[ip] ?? 0) & 0x0f) * 4;
  const end = ip + bytes.readUInt16BE(ip + 2); // the IP total length: a frame may be padded
  return {
    id,
    sport: bytes.readUInt16BE(tcp),
    dport: bytes.readUInt16BE(tcp + 2),
    seq: bytes.readUInt32BE(tcp + 4),
    flags: bytes[tcp + 13] ?? 0,
    payload: bytes.subarray(tcp + ((bytes[tcp + 12] ?? 0) >> 4) * 4, end),
    bytes,
  };
}

function inputOf(capture: string): Segment[] {
  const out: Segment[] = [];
  const reader = openCapture(capture);
  for (let rec = reader.next(), id = 1; rec !== null; rec = reader.next(), id++) out.push(decode(Buffer.from(rec.data), id));
  reader.close();
  return out;
}

const outputOf = (output: readonly OutputPacket[]): Segment[] => output.map((o) => decode(o.bytes, o.id));

/** The client ports of the capture's connections, in the order they opened. */
const clientPorts = (input: readonly Segment[]): number[] => input.filter((s) => s.flags === SYN).map((s) => s.sport);

/**
 * What the receiver of one direction got: each payload byte placed at its offset from the
 * sender's SYN, overlaps checked to agree, and no hole allowed.
 */
function assemble(segments: readonly Segment[], sport: number, dport: number): Buffer {
  const isn = segments.find((s) => s.sport === sport && s.dport === dport && (s.flags & SYN) !== 0)?.seq;
  if (isn === undefined) throw new Error(`no SYN from port ${sport}`);
  const bytes: number[] = [];
  for (const s of segments) {
    if (s.sport !== sport || s.dport !== dport || (s.flags & RST) !== 0) continue;
    const offset = (s.seq - isn - 1) >>> 0;
    s.payload.forEach((b, i) => {
      const was = bytes[offset + i];
      if (was !== undefined) expect(b, `frame ${s.id}: a resent byte differs`).toBe(was);
      bytes[offset + i] = b;
    });
  }
  for (let i = 0; i < bytes.length; i++) if (bytes[i] === undefined) throw new Error(`port ${sport}→${dport}: byte ${i} is missing`);
  return Buffer.from(bytes);
}

/** A connection's frames in one direction, in order. */
const leg = (segments: readonly Segment[], sport: number, dport: number): Buffer[] =>
  segments.filter((s) => s.id !== 0 && s.sport === sport && s.dport === dport).map((s) => s.bytes);

/** The allowed connection went through untouched: every frame, byte for byte, in order each way. */
function expectUntouched(r: ReplayResult, input: readonly Segment[], client: number, server: number): void {
  const out = outputOf(r.output);
  expect(leg(out, client, server)).toEqual(leg(input, client, server));
  expect(leg(out, server, client)).toEqual(leg(input, server, client));
  expect(out.some((s) => s.id === 0 && (s.sport === client || s.dport === client))).toBe(false);
}

describe('samples/smtp/block-command', () => {
  const dir = join(samples, 'block-command');
  const capture = join(dir, 'input.pcap');
  const input = inputOf(capture);
  const [mail, vrfy, expn] = clientPorts(input) as [number, number, number];

  it('resets VRFY and EXPN before the command reaches the server; the server side never sees the line', async () => {
    const r = await replay({ rules: join(dir, 'rules.ts'), capture });
    expect(r.alerts.map((a) => a.description)).toEqual(['SMTP VRFY refused', 'SMTP EXPN refused']);
    const out = outputOf(r.output);
    for (const [port, verb, answer] of [[vrfy, 'VRFY root', '252 '], [expn, 'EXPN staff', '250-2.1.5 Alice']] as const) {
      const sent = assemble(input, port, 25);
      const at = sent.indexOf(`${verb}\r\n`);
      expect(at).toBeGreaterThan(0);
      // The server got exactly what came before the command: not one byte of it, nor anything after.
      expect(assemble(out, port, 25)).toEqual(sent.subarray(0, at));
      // So its answer never reaches the client either.
      expect(assemble(out, 25, port).toString('latin1')).not.toContain(answer);
      // A RST to each side, server→client first, at the next byte each receiver expects.
      const rsts = out.filter((s) => s.id === 0 && (s.sport === port || s.dport === port));
      expect(rsts.map((s) => [s.sport, s.flags])).toEqual([[25, RST], [port, RST]]);
      const isn = input.find((s) => s.sport === port && s.flags === SYN)?.seq ?? 0;
      expect(rsts[1]?.seq).toBe((isn + 1 + at) >>> 0);
    }
    expectUntouched(r, input, mail, 25);
    expect(r.flows.map((f) => f.end_reason)).toEqual(['fin', 'rst', 'rst']);
  });
});

describe('samples/smtp/reset-body', () => {
  const dir = join(samples, 'reset-body');
  const capture = join(dir, 'input.pcap');
  const input = inputOf(capture);
  const [mail, leak] = clientPorts(input) as [number, number];

  it('carries the canary token over at least three segments of at most 36 bytes', () => {
    const sent = assemble(input, leak, 587);
    const isn = input.find((s) => s.sport === leak && s.flags === SYN)?.seq ?? 0;
    const start = sent.indexOf(CANARY);
    const carriers = input.filter((s) => {
      const off = (s.seq - isn - 1) >>> 0;
      return s.sport === leak && s.payload.length > 0 && off < start + CANARY.length && off + s.payload.length > start;
    });
    expect(carriers.length).toBeGreaterThanOrEqual(3);
    expect(Math.max(...input.filter((s) => s.sport === leak).map((s) => s.payload.length))).toBe(36);
  });

  it('keeps every byte of the line holding the token, and all after it, from the server; RSTs go out', async () => {
    const r = await replay({ rules: join(dir, 'rules.ts'), capture });
    expect(r.alerts).toHaveLength(1);
    expect(r.alerts[0]?.description).toBe('canary token in a mail from <alice@client.example> to <mallory@example.net>');

    const sent = assemble(input, leak, 587);
    const lineStart = sent.lastIndexOf('\n', sent.indexOf(CANARY)) + 1;
    const out = outputOf(r.output);
    const got = assemble(out, leak, 587);
    // Byte for byte what the client sent, up to the forbidden line and not one byte into it…
    expect(got).toEqual(sent.subarray(0, got.length));
    expect(got.length).toBeLessThanOrEqual(lineStart);
    // …and everything before it: every segment that ends before the line went through (the one
    // carrying the line's first bytes was held with it).
    const isn = input.find((s) => s.sport === leak && s.flags === SYN)?.seq ?? 0;
    const before = input.filter((s) => s.sport === leak && s.payload.length > 0).map((s) => ((s.seq - isn - 1) >>> 0) + s.payload.length);
    expect(got.length).toBe(Math.max(...before.filter((end) => end <= lineStart)));

    const rsts = out.filter((s) => s.id === 0);
    expect(rsts.map((s) => [s.sport, s.flags])).toEqual([[587, RST], [leak, RST]]);
    // The server's RST carries the next byte it expects: only forwarded bytes count (RFC 5961).
    expect(rsts[1]?.seq).toBe((isn + 1 + got.length) >>> 0);
    // Nothing of the connection follows the RSTs.
    const after = r.output.findIndex((o) => o.injected);
    expect(outputOf(r.output.slice(after + 2)).filter((s) => s.sport === leak || s.dport === leak)).toEqual([]);

    expectUntouched(r, input, mail, 587);
    expect(r.stats.anomalies.get('tcp-hold-cap') ?? 0).toBe(0);
  });
});

type Seen = (string | number)[];

/** Every event the dissector raises, on connections to the given ports. */
function recorder(ports: readonly number[]) {
  const seen: Seen[] = [];
  const rules = defineRules(({ rule }) => {
    rule({
      on: tcpConnection.events.newConnection,
      eval: (flow) => {
        if (ports.includes(flow.server.port)) smtp.enable(flow);
      },
    });
    rule({ on: smtp.events.command, eval: (_f, c) => seen.push(['command', c.verb, c.args]) });
    rule({ on: smtp.events.response, eval: (_f, r) => seen.push(['response', r.command ?? '(greeting)', r.code, ...r.lines]) });
    rule({ on: smtp.events.mailContent, eval: (_f, line) => seen.push(['content', line]) });
    rule({ on: smtp.events.mailEnd, eval: (_f, e) => seen.push(['end', e.from, e.recipients.join(','), e.size]) });
    rule({ on: smtp.events.anomaly, eval: (_f, a) => seen.push(['anomaly', a.kind, a.line]) });
  });
  return { rules, seen };
}

const mailLines = (name: string): string[] => readFileSync(join(samples, 'mails', `${name}.txt`), 'latin1').split('\n').slice(0, -1);

describe('the SMTP dissector on the real sessions', () => {
  it('pairs replies with commands, joins multi-line replies, and gives back the mail as sent', async () => {
    const { rules, seen } = recorder([25]);
    await replay({ rules, capture: join(samples, 'block-command/input.pcap') });
    const report = mailLines('report');
    const size = report.reduce((n, l) => n + l.length + 2, 0);
    expect(seen).toEqual([
      ['response', '(greeting)', 220, 'mail.example.net ESMTP palisade sample'],
      ['command', 'EHLO', 'client.example'],
      ['response', 'EHLO', 250, 'mail.example.net greets client.example', 'SIZE 10485760', '8BITMIME', 'ENHANCEDSTATUSCODES', 'HELP'],
      ['command', 'MAIL', `FROM:<alice@client.example> SIZE=${size}`],
      ['response', 'MAIL', 250, '2.1.0 Ok'],
      ['command', 'RCPT', 'TO:<bob@example.net>'],
      ['response', 'RCPT', 250, '2.1.5 Ok'],
      ['command', 'DATA', ''],
      ['response', 'DATA', 354, 'End data with <CR><LF>.<CR><LF>'],
      // Dot-unstuffed: the lone "." and the lines starting with a period are the file's own.
      ...report.map((l) => ['content', l]),
      ['end', 'alice@client.example', 'bob@example.net', size],
      ['response', '.', 250, '2.0.0 Ok: queued as 1'],
      ['command', 'QUIT', ''],
      ['response', 'QUIT', 221, '2.0.0 Bye'],
      ['response', '(greeting)', 220, 'mail.example.net ESMTP palisade sample'],
      ['command', 'EHLO', 'client.example'],
      ['response', 'EHLO', 250, 'mail.example.net greets client.example', 'SIZE 10485760', '8BITMIME', 'ENHANCEDSTATUSCODES', 'HELP'],
      ['command', 'VRFY', 'root'],
      ['response', 'VRFY', 252, '2.0.0 root'],
      ['command', 'QUIT', ''],
      ['response', 'QUIT', 221, '2.0.0 Bye'],
      ['response', '(greeting)', 220, 'mail.example.net ESMTP palisade sample'],
      ['command', 'EHLO', 'client.example'],
      ['response', 'EHLO', 250, 'mail.example.net greets client.example', 'SIZE 10485760', '8BITMIME', 'ENHANCEDSTATUSCODES', 'HELP'],
      ['command', 'EXPN', 'staff'],
      ['response', 'EXPN', 250, '2.1.5 Alice Liddell <alice@example.net>', '2.1.5 Bob Marley <bob@example.net>', '2.1.5 Carol Danvers <carol@example.net>'],
      ['command', 'QUIT', ''],
      ['response', 'QUIT', 221, '2.0.0 Bye'],
    ]);
  });

  it('reads the mail data line by line however small the segments', async () => {
    const { rules, seen } = recorder([587]);
    await replay({ rules, capture: join(samples, 'reset-body/input.pcap') });
    const content = seen.filter((e) => e[0] === 'content').map((e) => e[1]);
    expect(content).toEqual([...mailLines('report'), ...mailLines('leak')]);
    expect(seen.filter((e) => e[0] === 'anomaly')).toEqual([]);
  });
});

describe('the SMTP dissector, byte by byte', () => {
  const greet = (s: ReturnType<typeof tcpSession>) => s.handshake().send('down', '220 mx ESMTP\r\n').send('up', 'EHLO c\r\n').send('down', '250-mx\r\n250 PIPELINING\r\n');
  const session = () => greet(tcpSession({ server: '192.168.20.80:25' }));
  const run = async (pcap: Buffer) => {
    const { rules, seen } = recorder([25]);
    const r = await replay({ rules, pcap });
    return { seen, r };
  };

  it('raises the same events wherever the segments split the mail data', async () => {
    const data = 'Subject: x\r\n\r\n..stuffed\r\n.\r\n';
    const build = (split: number) =>
      session()
        .send('up', 'DATA\r\n')
        .send('down', '354 go\r\n')
        .send('up', data.slice(0, split))
        .send('up', `${data.slice(split)}QUIT\r\n`)
        .send('down', '250 ok\r\n221 bye\r\n')
        .close()
        .pcap();
    const { seen: whole } = await run(build(data.length));
    expect(whole.slice(5)).toEqual([
      ['content', 'Subject: x'],
      ['content', ''],
      ['content', '.stuffed'],
      ['end', '', '', 24],
      ['command', 'QUIT', ''],
      ['response', '.', 250, 'ok'],
      ['response', 'QUIT', 221, 'bye'],
    ]);
    for (let split = 1; split < data.length; split++) expect((await run(build(split))).seen, `split at ${split}`).toEqual(whole);
  });

  it('ends the data only at <CRLF>.<CRLF>: a lone "." after a bare LF is data, and an anomaly (SMTP smuggling)', async () => {
    const { seen } = await run(
      session()
        .send('up', 'DATA\r\n')
        .send('down', '354 go\r\n')
        .send('up', 'hello\n.\r\nMAIL FROM:<smuggled@example.org>\r\n.\nbye\r\n.\r\n')
        .send('down', '250 ok\r\n')
        .close()
        .pcap(),
    );
    expect(seen.slice(5)).toEqual([
      ['anomaly', 'bare-lf', 'hello'],
      ['content', 'hello'],
      ['anomaly', 'ambiguous-end', '.'],
      ['content', '.'],
      ['content', 'MAIL FROM:<smuggled@example.org>'],
      ['anomaly', 'ambiguous-end', '.'],
      ['content', '.'],
      ['content', 'bye'],
      ['end', '', '', 50],
      ['response', '.', 250, 'ok'],
    ]);
  });

  it('goes on with commands when the server refuses DATA, and reads early data as mail data', async () => {
    const refused = await run(session().send('up', 'DATA\r\n').send('down', '554 no valid recipients\r\n').send('up', 'QUIT\r\n').close().pcap());
    expect(refused.seen.slice(3)).toEqual([
      ['command', 'DATA', ''],
      ['response', 'DATA', 554, 'no valid recipients'],
      ['command', 'QUIT', ''],
    ]);
    const early = await run(session().send('up', 'DATA\r\nbody\r\n.\r\n').send('down', '354 go\r\n250 ok\r\n').close().pcap());
    expect(early.seen.slice(3)).toEqual([
      ['command', 'DATA', ''],
      ['anomaly', 'early-data', 'body'],
      ['content', 'body'],
      ['end', '', '', 6],
      ['response', 'DATA', 354, 'go'],
      ['response', '.', 250, 'ok'],
    ]);
  });

  it('stops reading at STARTTLS once the server agrees, holding nothing back; goes on when it refuses', async () => {
    // A ClientHello's first bytes, with an LF in them that must not read as a line end.
    const hello = Buffer.from('160301005a0100005603030a0a0d0a', 'hex');
    const tls = await run(
      session().send('up', 'STARTTLS\r\n').send('down', '220 go ahead\r\n').send('up', hello).send('down', Buffer.from('160303', 'hex')).close().pcap(),
    );
    expect(tls.seen.slice(3)).toEqual([
      ['command', 'STARTTLS', ''],
      ['response', 'STARTTLS', 220, 'go ahead'],
    ]);
    expect(tls.r.dropped).toEqual([]);
    expect(outputOf(tls.r.output).filter((s) => s.id !== 0)).toHaveLength(tls.r.verdicts.size);

    const refused = await run(session().send('up', 'STARTTLS\r\n').send('down', '454 not now\r\n').send('up', 'QUIT\r\n').close().pcap());
    expect(refused.seen.slice(3)).toEqual([
      ['command', 'STARTTLS', ''],
      ['response', 'STARTTLS', 454, 'not now'],
      ['command', 'QUIT', ''],
    ]);
  });

  it('holds a command split over segments until its line is complete, so a reset drops all of it', async () => {
    const rules = defineRules(({ rule }) => {
      smtp.onPort(25);
      rule({ on: smtp.events.command, eval: (flow, c) => (c.verb === 'VRFY' ? flow.reset() : undefined) });
    });
    const r = await replay({ rules, pcap: session().send('up', 'VRFY root\r\n', { segments: 4 }).send('up', 'QUIT\r\n').close().pcap() });
    const out = outputOf(r.output);
    expect(assemble(out, 40000, 25).toString('latin1')).toBe('EHLO c\r\n');
    expect(out.filter((s) => s.id === 0)).toHaveLength(2);
  });
});

describe('docs/streams.md', () => {
  it('quotes the SMTP dissector verbatim in its excerpts', () => {
    const page = readFileSync(join(root, 'docs/streams.md'), 'utf8');
    const source = readFileSync(join(samples, 'dissector.ts'), 'utf8');
    // The ```ts blocks without a `// name.ts` header; test/docs.test.ts checks the others.
    const excerpts = [...page.matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map((m) => m[1] ?? '').filter((b) => !/^\/\/ [\w-]+\.ts\n/.test(b));
    expect(excerpts.length).toBeGreaterThanOrEqual(4);
    for (const e of excerpts) expect(source, e).toContain(e);
  });
});
