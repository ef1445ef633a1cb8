import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openCapture } from '../../core/io/capture.ts';
import { LINKTYPE_ETHERNET, LINKTYPE_LINUX_SLL, LINKTYPE_LINUX_SLL2, LINKTYPE_RAW } from '../../core/link-types.ts';
import { encodePcap } from '../../core/io/pcap-writer.ts';
import { describeRecord, fixture, readRecords } from '../captures/fixtures.ts';

const dir = mkdtempSync(join(tmpdir(), 'palisade-pcap-'));
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});
let n = 0;
const temp = (bytes: Uint8Array): string => {
  const path = join(dir, `t${++n}.pcap`);
  writeFileSync(path, bytes);
  return path;
};

/** A pcap file header, little-endian unless told. */
function fileHeader(opts: { snaplen?: number; linkType?: number; nano?: boolean; major?: number } = {}): Buffer {
  const b = Buffer.alloc(24);
  b.writeUInt32LE(opts.nano === true ? 0xa1b23c4d : 0xa1b2c3d4, 0);
  b.writeUInt16LE(opts.major ?? 2, 4);
  b.writeUInt16LE(4, 6);
  b.writeUInt32LE(opts.snaplen ?? 65535, 16);
  b.writeUInt32LE(opts.linkType ?? 1, 20);
  return b;
}

function recordHeader(secs: number, frac: number, incl: number, orig = incl): Buffer {
  const b = Buffer.alloc(16);
  b.writeUInt32LE(secs, 0);
  b.writeUInt32LE(frac, 4);
  b.writeUInt32LE(incl, 8);
  b.writeUInt32LE(orig, 12);
  return b;
}

describe('pcap reader', () => {
  it('reads microsecond and nanosecond files to the same packets', () => {
    const usec = readRecords(fixture('lo.pcap'));
    const fromEditcap = readRecords(fixture('lo-editcap-nsec.pcap'));
    expect(usec.error).toBeUndefined();
    expect(usec.records).toHaveLength(20);
    expect(fromEditcap.records).toEqual(usec.records);
    expect(usec.records.every((r) => r.nsecs % 1000 === 0 && r.linkType === LINKTYPE_ETHERNET)).toBe(true);
    // The nanosecond capture ran alongside: same packets, finer timestamps.
    const nsec = readRecords(fixture('lo-nsec.pcap'));
    expect(nsec.records.map((r) => r.data)).toEqual(usec.records.map((r) => r.data));
    expect(nsec.records.some((r) => r.nsecs % 1000 !== 0)).toBe(true);
  });

  it('reads big-endian files (headers byte-swapped from the little-endian captures) identically', () => {
    expect(readRecords(fixture('lo-be.pcap')).records).toEqual(readRecords(fixture('lo.pcap')).records);
    expect(readRecords(fixture('lo-nsec-be.pcap')).records).toEqual(readRecords(fixture('lo-nsec.pcap')).records);
  });

  it('numbers records from 1 and gives each record header offset', () => {
    const { records } = readRecords(fixture('lo.pcap'));
    let offset = 24;
    records.forEach((rec, i) => {
      expect(rec.record).toBe(i + 1);
      expect(rec.offset).toBe(offset);
      offset += 16 + rec.data.length;
    });
    expect(offset).toBe(readFileSync(fixture('lo.pcap')).length);
  });

  it('reuses one record object, and the data is a view into the chunk, not a copy', () => {
    const reader = openCapture(fixture('lo.pcap'));
    const first = reader.next();
    const firstData = first?.data;
    const second = reader.next();
    expect(second).toBe(first);
    expect(firstData?.buffer).toBe(second?.data.buffer);
    reader.close();
  });

  it.each([
    ['lo.pcap', LINKTYPE_ETHERNET],
    ['any-sll.pcap', LINKTYPE_LINUX_SLL],
    ['any-sll2.pcap', LINKTYPE_LINUX_SLL2],
    ['null.pcap', 0],
    ['loop.pcap', 108],
    ['raw.pcap', LINKTYPE_RAW],
    ['raw-dlt12.pcap', LINKTYPE_RAW],
    ['ipv4.pcap', 228],
    ['ipv6.pcap', 229],
  ])('%s has link type %i', (name, linkType) => {
    const { records, error } = readRecords(fixture(name));
    expect(error).toBeUndefined();
    expect(records.length).toBeGreaterThan(0);
    expect(records.every((r) => r.linkType === linkType)).toBe(true);
  });

  it('returns snaplen-truncated records with their length on the wire', () => {
    const full = readRecords(fixture('lo.pcap')).records;
    const cut = readRecords(fixture('snaplen-60.pcap')).records;
    expect(cut).toHaveLength(full.length);
    cut.forEach((rec, i) => {
      const orig = full[i];
      expect(rec.data).toEqual(orig?.data.subarray(0, 60));
      expect(rec.origLen).toBe(orig?.origLen);
    });
    expect(cut.some((r) => r.origLen > r.data.length)).toBe(true);
  });

  it('reports a file cut in a record header, after every earlier record', () => {
    const full = readRecords(fixture('lo.pcap')).records;
    const { records, error } = readRecords(fixture('cut-in-record-header.pcap'));
    const size = readFileSync(fixture('cut-in-record-header.pcap')).length;
    const at = full.findIndex((r) => r.offset + 16 > size);
    expect(records).toEqual(full.slice(0, at));
    const offset = full[at]?.offset ?? -1;
    expect(error).toMatchObject({
      code: 'PAL_ERR_PCAP_TRUNCATED',
      message: `${fixture('cut-in-record-header.pcap')}: record ${at + 1} at byte ${offset} is cut short (needs 16 bytes, ${size - offset} left); the ${at} packets before it were processed`,
    });
  });

  it('reports a file cut in a record body, after every earlier record', () => {
    const full = readRecords(fixture('lo.pcap')).records;
    const { records, error } = readRecords(fixture('cut-in-record-body.pcap'));
    const size = readFileSync(fixture('cut-in-record-body.pcap')).length;
    const at = full.findIndex((r) => r.offset + 16 + r.data.length > size);
    const cut = full[at];
    expect(records).toEqual(full.slice(0, at));
    expect(size - (cut?.offset ?? 0)).toBeGreaterThan(16);
    expect(error).toMatchObject({
      code: 'PAL_ERR_PCAP_TRUNCATED',
      message: expect.stringContaining(
        `record ${at + 1} at byte ${cut?.offset} is cut short (needs ${cut?.data.length} bytes, ${size - (cut?.offset ?? 0) - 16} left)`,
      ) as string,
    });
  });

  it('at every cut length, returns the whole records and then reports the cut one', () => {
    const bytes = readFileSync(fixture('lo.pcap')).subarray(0, 1200);
    const full = readRecords(fixture('lo.pcap')).records;
    for (let len = 24; len <= bytes.length; len++) {
      const { records, error } = readRecords(temp(bytes.subarray(0, len)));
      const whole = full.filter((r) => r.offset + 16 + r.data.length <= len);
      expect(records.map(describeRecord)).toEqual(whole.map(describeRecord));
      const next = full[whole.length];
      if (next === undefined || next.offset === len) expect(error).toBeUndefined();
      else expect(error).toMatchObject({ code: 'PAL_ERR_PCAP_TRUNCATED', message: expect.stringContaining(`record ${whole.length + 1} at byte ${next.offset} `) as string });
    }
  });

  it('keeps reporting the same error if called again', () => {
    const reader = openCapture(fixture('cut-in-record-body.pcap'));
    let first: unknown;
    try {
      while (reader.next() !== null);
    } catch (err) {
      first = err;
    }
    expect(() => reader.next()).toThrow((first as Error).message);
    reader.close();
  });

  it('reports a captured length past both the snaplen and 256 KiB as corrupt', () => {
    const path = temp(Buffer.concat([fileHeader({ snaplen: 65535 }), recordHeader(1, 0, 4, 4), Buffer.alloc(4), recordHeader(1, 0, 300_000)]));
    const { records, error } = readRecords(path);
    expect(records).toHaveLength(1);
    expect(error).toMatchObject({ code: 'PAL_ERR_PCAP_CORRUPT', message: expect.stringContaining(`record 2 at byte 44 is corrupt (captured length 300000`) as string });
  });

  it('accepts records above the snaplen up to 256 KiB, as libpcap does', () => {
    const data = Buffer.alloc(70_000, 7);
    const { records, error } = readRecords(temp(Buffer.concat([fileHeader({ snaplen: 65535 }), recordHeader(5, 6, data.length), data])));
    expect(error).toBeUndefined();
    expect(records[0]?.data).toEqual(data);
  });

  it('with snaplen 0, treats any record over 256 KiB as corrupt', () => {
    const { error } = readRecords(temp(Buffer.concat([fileHeader({ snaplen: 0 }), recordHeader(1, 0, 262_145)])));
    expect(error).toMatchObject({ code: 'PAL_ERR_PCAP_CORRUPT' });
  });

  it('carries a fraction of a second or more into the seconds', () => {
    const usec = temp(Buffer.concat([fileHeader(), recordHeader(10, 2_500_000, 0)]));
    expect(readRecords(usec).records[0]).toMatchObject({ secs: 12, nsecs: 500_000_000 });
    const nsec = temp(Buffer.concat([fileHeader({ nano: true }), recordHeader(10, 1_000_000_001, 0)]));
    expect(readRecords(nsec).records[0]).toMatchObject({ secs: 11, nsecs: 1 });
  });

  it('reads the link type from the low 16 bits, ignoring the FCS bits above', () => {
    const path = temp(Buffer.concat([fileHeader({ linkType: 0x14000001 }), recordHeader(1, 0, 0)]));
    expect(readRecords(path).records[0]?.linkType).toBe(LINKTYPE_ETHERNET);
  });

  it('refuses an unsupported link type when opening', () => {
    const path = temp(encodePcap([], { linkType: 105 }));
    expect(() => openCapture(path)).toThrow(expect.objectContaining({ code: 'PAL_ERR_LINKTYPE_UNSUPPORTED', message: expect.stringContaining('link type 105 (pcap file header)') as string }));
  });

  it('refuses a version other than 2.x and a file header cut short', () => {
    expect(() => openCapture(temp(fileHeader({ major: 3 })))).toThrow(expect.objectContaining({ code: 'PAL_ERR_CAPTURE_FORMAT', message: expect.stringContaining('version 3.4') as string }));
    expect(() => openCapture(temp(fileHeader().subarray(0, 20)))).toThrow(expect.objectContaining({ code: 'PAL_ERR_CAPTURE_FORMAT', message: expect.stringContaining('(20 of 24 bytes)') as string }));
  });

  it('reads a file with a header and no records as empty', () => {
    expect(readRecords(temp(fileHeader()))).toMatchObject({ records: [], error: undefined });
  });

  it('returns null after close', () => {
    const reader = openCapture(fixture('lo.pcap'));
    reader.close();
    reader.close();
    expect(reader.next()).toBeNull();
  });
});
