/**
 * The readers parse from one chunk buffer refilled as they go: records must come out the same
 * wherever the chunk boundaries fall, and the buffer must not grow with the file.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openCapture } from '../../core/io/capture.ts';
import { DEFAULT_CHUNK_SIZE } from '../../core/io/file-source.ts';
import { LINKTYPE_RAW } from '../../core/link-types.ts';
import { PcapReader } from '../../core/io/pcap-reader.ts';
import { PcapngReader } from '../../core/io/pcapng-reader.ts';
import { encodePcap } from '../../core/io/pcap-writer.ts';
import { describeRecord, fixture, readRecords } from '../captures/fixtures.ts';
import { enhancedPacket, interfaceDescription, sectionHeader, simplePacket } from '../captures/pcapng-blocks.ts';

const dir = mkdtempSync(join(tmpdir(), 'palisade-chunks-'));
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});
const temp = (name: string, bytes: Uint8Array): string => {
  const path = join(dir, name);
  writeFileSync(path, bytes);
  return path;
};

/** Records of 0..96 bytes, so boundaries fall at every offset modulo small chunk sizes. */
const small = Array.from({ length: 300 }, (_, i) => ({
  data: Buffer.from(Array.from({ length: (i * 37) % 97 }, (_, j) => (i + j) & 0xff)),
  secs: 1_700_000_000 + i,
  nsecs: (i * 7919) % 1e9,
}));
const smallPcap = temp('small.pcap', encodePcap(small, { linkType: LINKTYPE_RAW }));
const smallPcapng = temp(
  'small.pcapng',
  Buffer.concat([
    sectionHeader(true),
    interfaceDescription(true, LINKTYPE_RAW, { tsresol: 9 }),
    ...small.map((r, i) =>
      i % 10 === 9 ? simplePacket(true, r.data) : enhancedPacket(true, 0, BigInt(r.secs) * 1_000_000_000n + BigInt(r.nsecs), r.data),
    ),
  ]),
);

const bufferSize = (reader: ReturnType<typeof openCapture>): number => {
  if (reader instanceof PcapReader || reader instanceof PcapngReader) return reader.source.bufferSize;
  throw new Error('unknown reader');
};

describe('chunked reading', () => {
  it.each([
    ['pcap', smallPcap],
    ['pcapng', smallPcapng],
  ])('%s: the same records at every chunk size from 16 to 260 bytes', (_, path) => {
    const expected = readRecords(path).records.map(describeRecord);
    expect(expected).toHaveLength(small.length);
    for (let chunkSize = 16; chunkSize <= 260; chunkSize++) {
      const { records, error } = readRecords(path, { chunkSize });
      expect(error).toBeUndefined();
      expect(records.map(describeRecord), `chunk size ${chunkSize}`).toEqual(expected);
    }
  });

  it.each(['lo.pcap', 'lo-be.pcap', 'lo-dumpcap.pcapng', 'two-sections.pcapng', 'pcapng-features.pcapng', 'multi-interface.pcapng'])(
    '%s: the same records with tiny chunks that must grow for big packets',
    (name) => {
      const expected = readRecords(fixture(name)).records.map(describeRecord);
      for (const chunkSize of [16, 17, 64, 100, 333, 1024, 2047]) {
        expect(readRecords(fixture(name), { chunkSize }).records.map(describeRecord)).toEqual(expected);
      }
    },
  );

  it('reports truncation the same way at every chunk size', () => {
    const expected = readRecords(fixture('cut-in-block-body.pcapng'));
    for (let chunkSize = 16; chunkSize < 200; chunkSize += 7) {
      const { records, error } = readRecords(fixture('cut-in-block-body.pcapng'), { chunkSize });
      expect(records.map(describeRecord)).toEqual(expected.records.map(describeRecord));
      expect((error as Error).message).toBe((expected.error as Error).message);
    }
  });

  it('keeps the buffer at the chunk size while reading a file many times larger', () => {
    const records = Array.from({ length: 40_000 }, (_, i) => ({ data: Buffer.alloc(60 + (i % 41), i & 0xff), secs: i, nsecs: i }));
    const path = temp('big.pcap', encodePcap(records, { linkType: LINKTYPE_RAW }));
    const reader = openCapture(path, { chunkSize: 64 * 1024 });
    let count = 0;
    let maxBuffer = 0;
    for (let rec = reader.next(); rec !== null; rec = reader.next()) {
      if (rec.data.length !== 60 + (count % 41) || rec.data[0] !== (count & 0xff)) throw new Error(`record ${count + 1} differs`);
      count++;
      maxBuffer = Math.max(maxBuffer, bufferSize(reader));
    }
    reader.close();
    expect(count).toBe(records.length);
    expect(maxBuffer).toBe(64 * 1024);
  });

  it('reads a file bigger than the default 1 MiB chunk with records across its edges', () => {
    const records = Array.from({ length: 3000 }, (_, i) => ({ data: Buffer.alloc(1000 + ((i * 13) % 517), (i * 3) & 0xff), secs: i, nsecs: 999_999_999 - i }));
    const path = temp('over-a-chunk.pcap', encodePcap(records, { linkType: LINKTYPE_RAW }));
    const reader = openCapture(path);
    const seen: number[] = [];
    for (let rec = reader.next(); rec !== null; rec = reader.next()) {
      const want = records[rec.record - 1];
      if (want === undefined || !rec.data.equals(want.data) || rec.nsecs !== want.nsecs) throw new Error(`record ${rec.record} differs`);
      seen.push(rec.record);
      expect(bufferSize(reader)).toBe(DEFAULT_CHUNK_SIZE);
    }
    reader.close();
    expect(seen).toHaveLength(records.length);
  });

  it('grows the buffer for a record bigger than the chunk, and only to its size', () => {
    const big = Buffer.alloc(200_000, 9);
    const path = temp('one-big.pcap', encodePcap([{ data: Buffer.alloc(10), secs: 1, nsecs: 0 }, { data: big, secs: 2, nsecs: 0 }], { linkType: LINKTYPE_RAW }));
    const reader = openCapture(path, { chunkSize: 4096 });
    reader.next();
    expect(reader.next()?.data.equals(big)).toBe(true);
    expect(bufferSize(reader)).toBeGreaterThanOrEqual(200_016);
    expect(bufferSize(reader)).toBeLessThan(2 * 200_016);
    reader.close();
  });
});
