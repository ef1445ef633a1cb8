/**
 * What a rule may keep: receiveData's `data` is a view, valid only during its event (it points
 * into the capture reader's reused buffer, or the frame's). A rule that keeps chunks to join at
 * endConnection gets other bytes by then, at scale. Check-views mode (replay()'s default, as in
 * `palisade test`) hands each listener a copy and poisons it after the event, so such a rule
 * fails its tests every run; one that copies what it keeps, and the output, are unaffected.
 */
import { describe, expect, it } from 'vitest';
import { defineRules, tcpConnection, udpConnection } from 'palisade';
import { pcap, replay, tcpSession, udpExchange } from 'palisade/testing';

/** One receiveData chunk as check-views mode leaves it after its event. */
const stale = (length: number): string => Buffer.alloc(length, 'PALISADE-STALE-VIEW ').toString('latin1');

/** Keeps each receiveData chunk as handed out (the mistake) and joins a flow's chunks when it ends. */
function keeper(copy: boolean) {
  const kept = new Map<number, Buffer[]>();
  const joined = new Map<number, string>();
  /** What a second listener of the same event read during it, after the first kept its chunk. */
  const during = new Map<number, string>();
  const rules = defineRules(({ rule }) => {
    rule({
      on: tcpConnection.events.receiveData,
      eval: (flow, data, direction) => {
        if (direction !== 'up') return;
        const chunks = kept.get(flow.client.port) ?? [];
        kept.set(flow.client.port, chunks);
        chunks.push(copy ? Buffer.from(data) : data);
      },
    });
    rule({
      on: tcpConnection.events.receiveData,
      eval: (flow, data, direction) => {
        if (direction === 'up') during.set(flow.client.port, (during.get(flow.client.port) ?? '') + data.toString('latin1'));
      },
    });
    rule({
      on: tcpConnection.events.endConnection,
      eval: (flow) => void joined.set(flow.client.port, Buffer.concat(kept.get(flow.client.port) ?? []).toString('latin1')),
    });
  });
  return { rules, kept, joined, during };
}

/** Sessions whose up stream is one letter repeated, their frames interleaved (as connections share a capture). */
function sessions(count: number, bytes: number): { frames: Buffer[]; sent: Map<number, string> } {
  const sent = new Map<number, string>();
  const each = Array.from({ length: count }, (_, i) => {
    const port = 40000 + i;
    const text = String.fromCharCode(0x61 + i).repeat(bytes);
    sent.set(port, text);
    return tcpSession({ client: `10.0.0.1:${port}`, server: '10.0.0.2:80' }).handshake().send('up', text).close().frames();
  });
  const frames: Buffer[] = [];
  for (let at = 0; each.some((f) => at < f.length); at++) for (const f of each) if (at < f.length) frames.push(f[at] as Buffer);
  return { frames, sent };
}

describe('a receiveData chunk kept past its event', () => {
  it('is overwritten by later frames without check-views: the capture reader reuses its buffer', async () => {
    // 1.2 MB: past the reader's 1 MiB chunk, so the first frames' bytes are read over.
    const { frames, sent } = sessions(3, 400_000);
    const k = keeper(false);
    await replay({ rules: k.rules, pcap: pcap(frames), checkViews: false });
    const wrong = [...sent].filter(([port, text]) => k.joined.get(port) !== text);
    expect(wrong.length).toBeGreaterThan(0);
    // Other connections' letters, in a stream that only ever carried its own.
    const [port, text] = wrong[0] as [number, string];
    expect(new Set(k.joined.get(port))).not.toEqual(new Set(text));
  });

  it('reads as the poison with check-views, every run, whatever the capture', async () => {
    const { frames } = sessions(2, 5000);
    for (let run = 0; run < 2; run++) {
      const k = keeper(false);
      await replay({ rules: k.rules, packets: frames });
      expect(k.kept.size).toBe(2);
      for (const [port, chunks] of k.kept) {
        expect(chunks.length).toBeGreaterThan(1);
        for (const c of chunks) expect(c.toString('latin1')).toBe(stale(c.length));
        expect(k.joined.get(port)).toBe(chunks.map((c) => stale(c.length)).join(''));
      }
    }
  });

  it('is the poison after an await in an async rule: it outlives its event there too', async () => {
    const seen: string[] = [];
    const rules = defineRules(({ rule }) => {
      rule({
        on: tcpConnection.events.receiveData,
        eval: async (_flow, data) => {
          const now = data.toString('latin1');
          await Promise.resolve();
          seen.push(`${now} then ${data.toString('latin1')}`);
        },
      });
    });
    await replay({ rules, packets: tcpSession().handshake().send('up', 'hello').close().frames() });
    expect(seen).toEqual([`hello then ${stale(5)}`]);
  });

  it('of a UDP datagram reads as the poison too', async () => {
    const kept: Buffer[] = [];
    let joined = '';
    const rules = defineRules(({ rule }) => {
      rule({ on: udpConnection.events.receiveData, eval: (_flow, data) => void kept.push(data) });
      rule({ on: udpConnection.events.endConnection, eval: () => void (joined = Buffer.concat(kept).toString('latin1')) });
    });
    await replay({ rules, packets: udpExchange().send('up', 'query').send('down', 'answer!').frames() });
    expect(joined).toBe(stale(5) + stale(7));
  });
});

describe('what a rule may keep as it is', () => {
  it("a streamed rule's reads: the stream's own bytes, not views of the reader's buffer, at 1.2 MB", async () => {
    const { frames, sent } = sessions(3, 400_000);
    const kept = new Map<number, Buffer[]>();
    const rules = defineRules(({ rule }) => {
      rule({
        on: tcpConnection.events.receiveData,
        options: { streamed: true },
        eval: async (flow, stream, direction) => {
          if (direction !== 'up') return;
          const chunks: Buffer[] = [];
          kept.set(flow.client.port, chunks);
          for await (const chunk of stream) chunks.push(chunk);
        },
      });
    });
    await replay({ rules, pcap: pcap(frames), checkViews: false });
    for (const [port, text] of sent) expect(Buffer.concat(kept.get(port) ?? []).toString('latin1') === text, `port ${port}`).toBe(true);
  });
});

describe('check-views leaves alone', () => {
  it('a rule that copies what it keeps, and a second listener of the same event', async () => {
    const { frames, sent } = sessions(2, 5000);
    const k = keeper(true);
    await replay({ rules: k.rules, packets: frames, checkViews: true });
    expect(Object.fromEntries(k.joined)).toEqual(Object.fromEntries(sent));
    expect(Object.fromEntries(k.during)).toEqual(Object.fromEntries(sent));
    // The second listener's copy is its own: the first one's kept chunks do not poison it.
    const careless = keeper(false);
    await replay({ rules: careless.rules, packets: frames, checkViews: true });
    expect(Object.fromEntries(careless.during)).toEqual(Object.fromEntries(sent));
  });

  it('the frames: the output capture is the input, byte for byte', async () => {
    const { frames } = sessions(2, 5000);
    const on = await replay({ rules: keeper(false).rules, packets: frames, checkViews: true });
    expect(on.output.map((p) => p.bytes)).toEqual(frames);
    const udpFrames = udpExchange().send('up', 'query').send('down', 'answer').frames();
    const rules = defineRules(({ rule }) => rule({ on: udpConnection.events.receiveData, eval: () => undefined }));
    expect((await replay({ rules, packets: udpFrames })).output.map((p) => p.bytes)).toEqual(udpFrames);
  });
});
