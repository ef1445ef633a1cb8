/**
 * Stream edits (Haka's tcp streaminsert and streamdelete tests): a streamed rule inserts, erases
 * and replaces bytes at its read position; the output capture carries the edited stream, every
 * later segment of that direction renumbered to match (its FIN and the RSTs palisade forges
 * included), each checksum valid as tshark reads it. Live (inline), the receiver's
 * acknowledgments of the edited stream are numbered back for the sender.
 */
import { describe, expect, it } from 'vitest';
import { encodePcap } from '../../core/io/pcap-writer.ts';
import { createEngine, defineRules, tcpConnection } from '../../index.ts';
import type { RuleSet, TcpStream } from '../../index.ts';
import { replay, tcpSession } from '../../testing.ts';
import { tsharkFields } from '../tshark-fields.ts';
import { internetChecksum, ipv4PseudoSum } from '../../dissectors/checksum.ts';

const C4 = '192.168.10.10';
const S4 = '192.168.20.80';
const CHECKS = ['ip.check_checksum:TRUE', 'tcp.check_checksum:TRUE'];

/** A streamed rule on the client's bytes running `edit` over its stream. */
function editing(edit: (stream: TcpStream) => Promise<void>): RuleSet {
  return defineRules(({ rule }) => {
    rule({
      name: 'edit',
      on: tcpConnection.events.receiveData,
      options: { streamed: true },
      eval: async (_flow, stream, direction) => {
        if (direction === 'up') await edit(stream);
      },
    });
  });
}

/** The client's segments in the output, as tshark reads them: relative seq, payload, flags, checksums. */
function clientSegments(output: { bytes: Buffer }[]): { seq: number; data: string; flags: string; ok: boolean }[] {
  const pcap = encodePcap(output.map((p, i) => ({ data: p.bytes, secs: 1_700_000_000 + i, nsecs: 0 })), { linkType: 1 });
  return tsharkFields(pcap, ['tcp.seq', 'tcp.payload', 'tcp.flags.str', 'ip.checksum.status', 'tcp.checksum.status'], { prefs: [...CHECKS, 'tcp.relative_sequence_numbers:TRUE'], filter: `ip.src == ${C4}` }).map((r) => ({
    seq: Number(r['tcp.seq']),
    data: Buffer.from(r['tcp.payload'] ?? '', 'hex').toString('latin1'),
    flags: (r['tcp.flags.str'] ?? '').replace(/·/g, ''),
    ok: r['ip.checksum.status'] === '1' && r['tcp.checksum.status'] === '1',
  }));
}

describe('stream edits', () => {
  it('insert, erase and replace at the read position: the receiver gets the edited stream, cut to its MSS, each later segment renumbered, the FIN too', async () => {
    const rules = editing(async (stream) => {
      // "GET /old HTTP/1.1\r\n" + "Accept-Encoding: gzip\r\n" + "Host: a\r\n\r\n", in segments of 7.
      await stream.peek(3);
      stream.replace(3, 'DELETE');
      await stream.read(6); // " /old "
      stream.insert('(was old) ');
      await stream.read(10); // "HTTP/1.1\r\n"
      await stream.peek(23);
      stream.erase(23);
      for await (const chunk of stream) expect(chunk.length).toBeGreaterThan(0);
    });
    const request = 'GET /old HTTP/1.1\r\nAccept-Encoding: gzip\r\nHost: a\r\n\r\n';
    const frames = tcpSession({ client: `${C4}:40000`, server: `${S4}:80`, mss: 7 }).handshake().send('up', request).send('down', 'HTTP/1.1 200 OK\r\n\r\n').close().frames();
    const r = await replay({ rules, packets: frames });
    expect(r.stats.ruleErrors).toBe(0);
    const segments = clientSegments(r.output);
    const data = segments.filter((s) => s.data.length > 0);
    const edited = 'DELETE /old (was old) HTTP/1.1\r\nHost: a\r\n\r\n';
    expect(data.map((s) => s.data).join('')).toBe(edited);
    // Each segment starts where the bytes before it end, as the receiver counts them.
    let next = 1;
    for (const s of data) {
      expect(s.seq).toBe(next);
      next += s.data.length;
    }
    // Cut to the receiver's MSS (7, from its SYN): the insertions added segments.
    expect(data.every((s) => s.data.length <= 7)).toBe(true);
    expect(r.injected.length).toBeGreaterThan(0);
    // The FIN comes after the edited stream.
    const fin = segments.find((s) => s.flags.includes('F'));
    expect(fin?.seq).toBe(1 + edited.length);
    expect(segments.every((s) => s.ok)).toBe(true);
  });

  it('a RST palisade forges after an edit carries the number the receiver expects', async () => {
    const rules = defineRules(({ rule }) => {
      rule({
        name: 'edit',
        on: tcpConnection.events.receiveData,
        options: { streamed: true },
        eval: async (flow, stream, direction) => {
          if (direction !== 'up') return;
          await stream.peek(1);
          stream.insert('>>');
          for await (const line of stream.lines()) if (line === 'stop') flow.reset();
        },
      });
    });
    const frames = tcpSession({ client: `${C4}:40000`, server: `${S4}:80` }).handshake().send('up', 'go\n').send('up', 'stop\n').frames();
    const r = await replay({ rules, packets: frames });
    const segments = clientSegments(r.output);
    expect(segments.filter((s) => s.data.length > 0).map((s) => [s.seq, s.data])).toEqual([[1, '>>go\n']]);
    // The RST to the server: after '>>go\n' (5 bytes), though the client had sent 3.
    expect(segments.filter((s) => s.flags === 'R').map((s) => s.seq)).toEqual([6]);
  });

  it("live, the receiver's acknowledgments of the edited stream are numbered back to what the sender sent", async () => {
    const rules = editing(async (stream) => {
      await stream.peek(1);
      stream.insert('12345');
      for await (const chunk of stream) expect(chunk.length).toBeGreaterThan(0);
    });
    const session = tcpSession({ client: `${C4}:40000`, server: `${S4}:80` }).handshake().send('up', 'hello', { ack: false }).ack('down');
    const frames = session.frames();
    // The server got 'hello' behind 5 inserted bytes: it acknowledges 10 bytes, not 5.
    const ackFrame = Buffer.from(frames[frames.length - 1] as Buffer);
    const ackAt = 14 + 20 + 8;
    const acked = ackFrame.readUInt32BE(ackAt);
    ackFrame.writeUInt32BE((acked + 5) >>> 0, ackAt);
    ackFrame.writeUInt16BE(0, 14 + 20 + 16);
    ackFrame.writeUInt16BE(internetChecksum(ackFrame, 34, ackFrame.length, ipv4PseudoSum(ackFrame, 14, 6, ackFrame.length - 34)), 14 + 20 + 16);
    const sent: Buffer[] = [];
    const engine = createEngine({ rules, live: true, output: { forward: (bytes) => sent.push(Buffer.from(bytes)) } });
    for (const [i, f] of [...frames.slice(0, -1), ackFrame].entries()) {
      engine.push(f, { secs: 1 + i, nsecs: 0 }, 1);
      // The streamed rule runs between packets, as inline.
      await new Promise((resolve) => setImmediate(resolve));
    }
    const last = sent[sent.length - 1] as Buffer;
    // Forwarded to the client: the acknowledgment of the 5 bytes it sent.
    expect(last.readUInt32BE(ackAt)).toBe(acked);
    const pcap = encodePcap([{ data: last, secs: 1, nsecs: 0 }], { linkType: 1 });
    expect(tsharkFields(pcap, ['tcp.checksum.status'], { prefs: CHECKS })).toEqual([{ 'tcp.checksum.status': '1' }]);
  });

  it('edits refused: an erase of bytes not arrived yet, and any edit under --pass-through (nothing is held)', async () => {
    const messages: string[] = [];
    const tryEdit = (what: string, f: () => void): void => {
      try {
        f();
      } catch (err) {
        messages.push(`${what}: ${(err as Error).message}`);
      }
    };
    const rules = editing(async (stream) => {
      await stream.peek(2);
      tryEdit('erase', () => stream.erase(1000));
      stream.insert('a');
      await stream.read(2);
      stream.replace(1, 'b');
      for await (const chunk of stream) expect(chunk.length).toBeGreaterThan(0);
    });
    const frames = tcpSession({ client: `${C4}:40000`, server: `${S4}:80` }).handshake().send('up', 'hello').close().frames();
    const r = await replay({ rules, packets: frames });
    expect(r.stats.ruleErrors).toBe(0);
    expect(messages).toEqual(['erase: TcpStream.erase(1000): only 5 bytes have arrived past the read position: await stream.peek(1000) first']);
    expect(clientSegments(r.output).map((s) => s.data).join('')).toBe('aheblo');
    const monitor = await replay({ rules: editing(async (stream) => {
      await stream.peek(1);
      tryEdit('pass-through', () => stream.insert('x'));
    }), packets: frames, passThrough: true });
    expect(monitor.output.map((p) => p.bytes)).toEqual(frames);
    expect(messages[messages.length - 1]).toBe('pass-through: TcpStream: with --pass-through nothing is held, so nothing can be edited: streams are read-only (run without it to edit)');
  });
});
