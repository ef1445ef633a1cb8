// DNS over TCP: length-prefixed messages cut anywhere by TCP, delivered once each, from the
// chunk when whole in it; `buffered` counting what a rule has not seen judged; the end of a
// stream inside a message.
import { describe, expect, it } from 'vitest';
import { DnsTcpReader } from '../../dissectors/dns/tcp-framing.ts';
import { parseDnsMessage } from '../../dissectors/dns/message.ts';
import { captured } from './captured.ts';
import { header, question, tcpFrames } from './build.ts';

interface Seen {
  reader: DnsTcpReader;
  messages: Buffer[];
  at: number[];
  /** Whether each message was handed as a view of the chunk being fed. */
  views: boolean[];
  anomalies: string[];
  /** `buffered` after each feed. */
  buffered: number[];
  feed(chunk: Buffer): void;
}

function reader(): Seen {
  let current: Buffer | null = null;
  const seen: Seen = {
    messages: [],
    at: [],
    views: [],
    anomalies: [],
    buffered: [],
    reader: new DnsTcpReader({
      message: (bytes, at) => {
        seen.messages.push(Buffer.from(bytes));
        seen.at.push(at);
        seen.views.push(current !== null && bytes.buffer === current.buffer && bytes.byteOffset >= current.byteOffset && bytes.byteOffset + bytes.length <= current.byteOffset + current.length);
      },
      anomaly: (kind, detail) => seen.anomalies.push(`${kind}: ${detail}`),
    }),
    feed(chunk) {
      current = chunk;
      seen.reader.feed(chunk);
      current = null;
      seen.buffered.push(seen.reader.buffered);
    },
  };
  return seen;
}

const query = (n: string, id = 1): Buffer => Buffer.concat([header({ id, qd: 1 }), question(n)]);
const a = query('a.test', 1);
const b = query('bb.test', 2);

describe('DnsTcpReader', () => {
  it('delivers two messages in one chunk, each a view of the chunk (no copy), with its offset', () => {
    const s = reader();
    s.feed(tcpFrames(a, b));
    expect(s.messages).toEqual([a, b]);
    expect(s.views).toEqual([true, true]);
    expect(s.at).toEqual([0, 2 + a.length]);
    expect(s.buffered).toEqual([0]);
  });

  it('delivers a message fed one byte at a time, once, and buffers every byte of it until then', () => {
    const s = reader();
    const stream = tcpFrames(a, b);
    for (const byte of stream) s.feed(Buffer.from([byte]));
    expect(s.messages).toEqual([a, b]);
    expect(s.at).toEqual([0, 2 + a.length]);
    const first = Array.from({ length: a.length + 1 }, (_, k) => k + 1);
    const second = Array.from({ length: b.length + 1 }, (_, k) => k + 1);
    expect(s.buffered).toEqual([...first, 0, ...second, 0]);
    expect(parseDnsMessage(s.messages[1] as Buffer)?.questions[0]?.name).toBe('bb.test');
  });

  it('delivers the same messages wherever one cut splits the stream', () => {
    const stream = tcpFrames(a, b, a);
    for (let cut = 0; cut <= stream.length; cut++) {
      const s = reader();
      s.feed(stream.subarray(0, cut));
      s.feed(stream.subarray(cut));
      expect(s.messages, `cut at ${cut}`).toEqual([a, b, a]);
      expect(s.at, `cut at ${cut}`).toEqual([0, 2 + a.length, 4 + a.length + b.length]);
      expect(s.buffered[1]).toBe(0);
      // Only a message the cut falls inside (its prefix included) was copied.
      const inFirst = cut >= 2 + a.length;
      expect(s.views[0], `cut at ${cut}`).toBe(cut === 0 || inFirst);
    }
  });

  it('copies a message split across chunks into one of its own length, up to 65535 bytes', () => {
    const big = Buffer.alloc(65535, 7);
    const s = reader();
    const stream = tcpFrames(big);
    for (let i = 0; i < stream.length; i += 1000) s.feed(stream.subarray(i, i + 1000));
    expect(s.messages).toHaveLength(1);
    expect(s.messages[0]?.equals(big)).toBe(true);
    expect(s.views).toEqual([false]);
  });

  it('delivers a zero-length message as empty bytes (parseDnsMessage then says null), split or not', () => {
    const s = reader();
    s.feed(Buffer.from([0, 0, 0]));
    s.feed(Buffer.from([0]));
    expect(s.messages).toEqual([Buffer.alloc(0), Buffer.alloc(0)]);
    expect(s.at).toEqual([0, 2]);
    expect(parseDnsMessage(Buffer.alloc(0))).toBeNull();
  });

  it('reports a message left incomplete at the end, closed or cut; nothing when none is', () => {
    const closed = reader();
    closed.feed(tcpFrames(a).subarray(0, 5));
    closed.reader.end(false);
    expect(closed.anomalies).toEqual([`incomplete-tcp-message: 5 bytes of a message of ${a.length} bytes at 0 when the stream closed`]);
    expect(closed.reader.buffered).toBe(0);
    const cut = reader();
    cut.feed(tcpFrames(a));
    cut.feed(Buffer.from([0]));
    cut.reader.end(true);
    expect(cut.anomalies).toEqual([`incomplete-tcp-message: 1 bytes of a length prefix at ${2 + a.length} when the stream was cut`]);
    const clean = reader();
    clean.feed(tcpFrames(a));
    clean.reader.end(false);
    clean.reader.end(false);
    expect(clean.anomalies).toEqual([]);
  });

  it('ignores what is fed after the end', () => {
    const s = reader();
    s.reader.end(false);
    s.feed(tcpFrames(a));
    expect(s.messages).toEqual([]);
    expect(s.buffered).toEqual([0]);
  });

  it('reads every real stream of the TCP capture alike, fed as it came, byte by byte, or cut anywhere', async () => {
    const { streams } = await captured('tcp.pcap');
    expect(streams.length).toBeGreaterThanOrEqual(10);
    for (const { chunks, messages } of streams) {
      const whole = Buffer.concat(chunks);
      const bytes = reader();
      for (const byte of whole) bytes.feed(Buffer.from([byte]));
      expect(bytes.messages).toEqual(messages);
      for (let cut = 0; cut <= whole.length; cut += 7) {
        const s = reader();
        s.feed(whole.subarray(0, cut));
        s.feed(whole.subarray(cut));
        expect(s.messages).toEqual(messages);
      }
    }
  });
});
