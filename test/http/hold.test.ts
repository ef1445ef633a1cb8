/**
 * A request is judged before any of it reaches the server: the packets that carry an
 * incomplete head are held (replay: kept out of the output until released), so a rule on
 * http.events.request that resets the connection leaves the server with none of the head.
 * The capture's connection 10 writes its request a byte at a time (samples/http/make-capture.sh).
 */
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { defineRules, http } from '../../index.ts';
import { replay, tcpSession } from '../../testing.ts';

const capture = fileURLToPath(new URL('../../samples/http/input.pcap', import.meta.url));

const denyEvil = defineRules(({ rule }) => {
  rule({
    name: 'deny-evil-host',
    on: http.events.request,
    eval: (flow, req) => {
      if (req.host === 'evil.example') flow.reset();
    },
  });
});

/** The TCP payload of an Ethernet/IPv4 frame. */
function payload(frame: Uint8Array): Buffer {
  const b = Buffer.from(frame);
  const ihl = ((b[14] as number) & 0x0f) * 4;
  const total = b.readUInt16BE(16);
  const tcpOff = 14 + ihl;
  const hl = ((b[tcpOff + 12] as number) >> 4) * 4;
  return b.subarray(tcpOff + hl, 14 + total);
}

describe('http: a request is judged before it reaches the server', () => {
  it('a header written a byte at a time: none of the head leaves, and the connection is reset', async () => {
    const r = await replay({ rules: denyEvil, capture });
    const flow = r.flows.find((f) => f['id.resp_p'] === 8080);
    expect(flow?.end_reason).toBe('rst');
    expect(flow?.drop_reason).toMatchObject({ kind: 'flow-action', action: 'reset', rule: 'deny-evil-host' });
    // Nothing reached the server on 8080: the first bytes waited for detection to tell it was
    // HTTP, then with the rest of the head for the rule, and were dropped with the reset.
    const toServer = r.output.filter((p) => !p.injected && Buffer.from(p.bytes).readUInt16BE(36) === 8080).map((p) => payload(p.bytes).toString('latin1')).join('');
    expect(toServer).toBe('');
    expect(r.injected).toHaveLength(2);
    // Every other connection went through whole.
    expect(r.flows.filter((f) => f['id.resp_p'] === 80).every((f) => f.end_reason === 'fin')).toBe(true);
  });

  it('a head in one segment is dropped with its segment; the packets before it went on', async () => {
    const frames = tcpSession().handshake().send('up', 'GET / HTTP/1.1\r\nHost: evil.example\r\n\r\n').close().frames();
    const r = await replay({ rules: denyEvil, packets: frames });
    expect(r.dropped[0]).toBe(4);
    expect(r.reasons.get(4)).toMatchObject({ kind: 'flow-action', action: 'reset', rule: 'deny-evil-host' });
  });

  it('a head split in three segments: the first two wait, and go out when the head is judged harmless', async () => {
    const head = 'GET / HTTP/1.1\r\nHost: good.example\r\n\r\n';
    const frames = tcpSession().handshake().send('up', head, { segments: 3 }).close().frames();
    const r = await replay({ rules: denyEvil, packets: frames });
    expect(r.dropped).toEqual([]);
    // Frames 4 and 5 wait for frame 6, which completes the head: all three go out in order after it.
    const order = r.output.map((p) => p.id);
    expect(order.indexOf(4)).toBeGreaterThan(-1);
    expect(order.slice(order.indexOf(4), order.indexOf(4) + 3)).toEqual([4, 5, 6]);
  });
});
