/**
 * The addon's batch parser (core/io/nfqueue/batch.h) on recorded NFQUEUE datagrams
 * (fixtures/nfqueue/record.sh: an HTTP download over loopback, GSO on), then on the same bytes
 * cut and corrupted: a malformed or truncated message is counted and skipped, never read past.
 */
import { describe, expect, it } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { loadAddon, SKB_CSUMNOTREADY, SKB_GSO, type NfQueueAddon } from '../../core/io/nfqueue/index.ts';

const FIELDS = 8;
const [OFFSET, LENGTH, ID, , SKBINFO, ORIGLEN, HWPROTO, STATUS] = [0, 1, 2, 3, 4, 5, 6, 7] as const;
const MSG_TRUNC = 0x20;

/** The recording: [u32 length, u32 recvmsg flags, bytes] per datagram. */
function datagrams(): { bytes: Buffer; cut: boolean }[] {
  const f = readFileSync(new URL('./fixtures/nfqueue/tcp-download.bin', import.meta.url));
  const out: { bytes: Buffer; cut: boolean }[] = [];
  for (let o = 0; o < f.length; ) {
    const len = f.readUInt32LE(o);
    out.push({ bytes: Buffer.from(f.subarray(o + 8, o + 8 + len)), cut: (f.readUInt32LE(o + 4) & MSG_TRUNC) !== 0 });
    o += 8 + len;
  }
  return out;
}

const loaded = loadAddon();
// Where libmnl's headers are, `npm ci` builds the addon: its absence is then a failure.
const buildable = existsSync('/usr/include/libmnl/libmnl.h');

describe.skipIf(loaded instanceof Error && !buildable)('the NFQUEUE batch parser', () => {
  const addon = (): NfQueueAddon => {
    if (loaded instanceof Error) throw new Error(`the addon should have been built (libmnl-dev is installed): ${loaded.message}`);
    return loaded;
  };
  const parse = (dg: Buffer, cut = false, room = 4): { counts: ReturnType<NfQueueAddon['parse']>; meta: Uint32Array } => {
    const meta = new Uint32Array(room * FIELDS);
    return { counts: addon().parse(dg, cut, meta), meta };
  };

  it('finds one packet per recorded datagram: ids in order, the IP datagram in place, GSO flags, lengths', () => {
    const all = datagrams();
    expect(all.length).toBeGreaterThan(10);
    let gso = 0;
    let cutByCopyRange = 0;
    all.forEach(({ bytes, cut }, i) => {
      const { counts, meta } = parse(bytes, cut);
      expect(counts).toEqual({ packets: 1, malformed: 0, errors: 0, overflow: 0, other: 0 });
      expect(meta[ID]).toBe(i + 1);
      expect(meta[HWPROTO]).toBe(0x0800);
      expect(meta[STATUS]).toBe(0);
      const off = meta[OFFSET] as number;
      const len = meta[LENGTH] as number;
      expect(off + len).toBeLessThanOrEqual(bytes.length);
      expect(bytes[off]).toBe(0x45); // IPv4, 20-byte header
      const totalLength = bytes.readUInt16BE(off + 2);
      if ((meta[ORIGLEN] as number) > len) {
        // Larger than NFQUEUE's 64 KiB copy range (a BIG TCP super-packet on loopback): cut.
        cutByCopyRange++;
        expect(len).toBe(65531);
      } else {
        expect(totalLength).toBe(len);
      }
      if (((meta[SKBINFO] as number) & SKB_GSO) !== 0) {
        gso++;
        expect((meta[SKBINFO] as number) & SKB_CSUMNOTREADY).toBe(SKB_CSUMNOTREADY);
      }
    });
    expect(gso).toBeGreaterThan(0);
    expect(cutByCopyRange).toBeGreaterThan(0);
  });

  it('every truncation of every datagram: no read past the end; a packet only with its id, marked when incomplete', () => {
    for (const { bytes } of datagrams().slice(0, 12)) {
      const full = parse(bytes).meta;
      const step = bytes.length > 4096 ? 509 : 1;
      for (let n = 0; n < bytes.length; n += step) {
        const cutAt = Buffer.from(bytes.subarray(0, n));
        const { counts, meta } = parse(cutAt, true);
        expect(counts.packets + counts.malformed).toBeLessThanOrEqual(1);
        if (counts.packets === 1) {
          expect(meta[ID]).toBe(full[ID]);
          expect(meta[STATUS]).toBe(1);
          expect((meta[OFFSET] as number) + (meta[LENGTH] as number)).toBeLessThanOrEqual(n);
        } else if (n >= 16) {
          expect(counts.malformed).toBe(1);
        }
      }
    }
  });

  it('corrupt message and attribute lengths are counted, never followed', () => {
    const [first] = datagrams();
    if (first === undefined) throw new Error('no recording');
    for (const bad of [0, 8, 15]) {
      const b = Buffer.from(first.bytes);
      b.writeUInt32LE(bad, 0);
      expect(parse(b).counts).toMatchObject({ packets: 0, malformed: 1 });
    }
    // nlmsg_len past the datagram: read as cut.
    const longer = Buffer.from(first.bytes);
    longer.writeUInt32LE(first.bytes.length + 1000, 0);
    expect(parse(longer).counts).toMatchObject({ packets: 1 });
    expect(parse(longer).meta[STATUS]).toBe(1);
    // The first attribute (the packet header) with a length of 2, then of 60,000.
    for (const alen of [2, 60_000]) {
      const b = Buffer.from(first.bytes);
      b.writeUInt16LE(alen, 20);
      expect(parse(b).counts).toMatchObject({ packets: 0, malformed: 1 });
    }
    // An attribute after the packet header broken: the packet still gets its verdict, marked.
    const b = Buffer.from(first.bytes);
    const hdrLen = b.readUInt16LE(20);
    b.writeUInt16LE(3, 20 + ((hdrLen + 3) & ~3));
    const r = parse(b);
    expect(r.counts.packets).toBe(1);
    expect(r.meta[STATUS]).toBe(1);
  });

  it('several messages in one datagram, an error answer, and more packets than room', () => {
    const [a, b] = datagrams();
    if (a === undefined || b === undefined) throw new Error('no recording');
    // NLMSG_ERROR (type 2) with -ENOENT: a verdict for an id the kernel no longer had.
    const err = Buffer.alloc(36);
    err.writeUInt32LE(36, 0);
    err.writeUInt16LE(2, 4);
    err.writeInt32LE(-2, 16);
    const pad = (x: Buffer): Buffer => Buffer.concat([x, Buffer.alloc((4 - (x.length % 4)) % 4)]);
    const joined = Buffer.concat([pad(a.bytes), err, b.bytes]);
    const r = parse(joined);
    expect(r.counts).toEqual({ packets: 2, malformed: 0, errors: 1, overflow: 0, other: 0 });
    expect([r.meta[ID], r.meta[FIELDS + ID]]).toEqual([1, 2]);
    expect(joined[r.meta[FIELDS + OFFSET] as number]).toBe(0x45);
    expect(parse(joined, false, 1).counts).toMatchObject({ packets: 1, overflow: 1 });
  });
});
