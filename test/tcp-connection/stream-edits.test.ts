/**
 * The map stream edits make between the sender's numbering and the receiver's, checked against
 * the edited stream itself: every segmentation of a stream, edited, gives the edited stream
 * (apply), each segment starting where the edited bytes before it end (startOf), and every
 * acknowledgment of the edited stream maps back to how much of the original it covers (originalOf).
 */
import { describe, expect, it } from 'vitest';
import { StreamEdits } from '../../dissectors/tcp-connection/stream-edits.ts';
import { Prng } from '../../bench/prng.ts';

/** The stream as the receiver gets it, and for each of its offsets the original bytes it has all of. */
function edited(original: Buffer, edits: readonly [at: number, erase: number, insert: string][]): { out: Buffer; covered: number[] } {
  const parts: Buffer[] = [];
  const covered: number[] = [];
  let from = 0;
  let len = 0;
  for (const [at, erase, insert] of edits) {
    for (let o = from; o < at; o++) covered.push(o);
    parts.push(original.subarray(from, at));
    len += at - from;
    // Inside inserted bytes the receiver has the original up to `at`.
    for (let k = 0; k < insert.length; k++) covered.push(at);
    parts.push(Buffer.from(insert));
    len += insert.length;
    from = at + erase;
  }
  for (let o = from; o < original.length; o++) covered.push(o);
  parts.push(original.subarray(from));
  covered.push(original.length);
  expect(covered).toHaveLength(len + original.length - from + 1);
  return { out: Buffer.concat(parts), covered };
}

describe('StreamEdits', () => {
  it('inserts, erases and replaces: every segmentation sends the edited stream, numbered as the receiver counts', () => {
    const original = Buffer.from('GET /index.html HTTP/1.1\r\nAccept-Encoding: gzip\r\nHost: a\r\n\r\n');
    const list: [number, number, string][] = [
      [0, 0, 'X-'],
      [4, 11, '/other'],
      [26, 23, ''],
      [original.length, 0, 'tail'],
    ];
    const edits = new StreamEdits(1000);
    for (const [at, erase, insert] of list) edits.add(at, erase, Buffer.from(insert));
    const { out, covered } = edited(original, list);
    expect(out.toString()).toBe('X-GET /other HTTP/1.1\r\nHost: a\r\n\r\ntail');
    expect(edits.shift).toBe(out.length - original.length);
    const rng = new Prng(7);
    for (let round = 0; round < 200; round++) {
      // Cut the original anywhere, the last piece carrying the FIN.
      const cuts = [0];
      while ((cuts[cuts.length - 1] as number) < original.length) cuts.push(Math.min(original.length, (cuts[cuts.length - 1] as number) + rng.int(1, 12)));
      const sent: Buffer[] = [];
      for (let i = 0; i + 1 < cuts.length; i++) {
        const s = cuts[i] as number;
        const e = cuts[i + 1] as number;
        const fin = e === original.length;
        const bytes = edits.apply(original.subarray(s, e), s, fin);
        expect(edits.startOf(s), `segment ${s}-${e}`).toBe(Buffer.concat(sent).length);
        expect(edits.touches(s, e, fin), `segment ${s}-${e}`).toBe(!bytes.equals(original.subarray(s, e)));
        sent.push(bytes);
      }
      expect(Buffer.concat(sent).toString()).toBe(out.toString());
    }
    for (let n = 0; n <= out.length; n++) expect(edits.originalOf(n), `ack of ${n}`).toBe(covered[n]);
  });

  it('works in sequence numbers across the 32-bit wrap', () => {
    const edits = new StreamEdits(0xfffffff0 | 0);
    edits.add(20, 0, Buffer.from('abc'));
    // Offset 30 is sequence number 14 past the wrap; it goes out 3 later, and an ack of that comes back.
    expect(edits.sentSeq(14) >>> 0).toBe(17);
    expect(edits.originalSeq(17) >>> 0).toBe(14);
    expect(edits.sentSeq(0xfffffff5 | 0) >>> 0).toBe(0xfffffff5);
  });
});
