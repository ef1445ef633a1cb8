import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openCapture } from '../../core/io/capture.ts';
import { LINKTYPE_ETHERNET, LINKTYPE_LINUX_SLL, LINKTYPE_LINUX_SLL2, LINKTYPE_RAW } from '../../core/link-types.ts';
import { describeRecord, fixture, readRecords } from '../captures/fixtures.ts';
import {
  block,
  customBlock,
  enhancedPacket,
  EPB,
  IDB,
  interfaceDescription,
  ISB,
  obsoletePacket,
  option,
  sectionHeader,
  simplePacket,
} from '../captures/pcapng-blocks.ts';

const dir = mkdtempSync(join(tmpdir(), 'palisade-pcapng-'));
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});
let n = 0;
const temp = (...blocks: Uint8Array[]): string => {
  const path = join(dir, `t${++n}.pcapng`);
  writeFileSync(path, Buffer.concat(blocks));
  return path;
};

const packet = Buffer.from('45000014000000004006000000000000000000000000', 'hex');

describe('pcapng reader', () => {
  it('reads the same packets as the pcap it was converted from', () => {
    const pcap = readRecords(fixture('lo.pcap')).records;
    const { records, error } = readRecords(fixture('lo.pcapng'));
    expect(error).toBeUndefined();
    const strip = ({ data, secs, nsecs, origLen, linkType, record }: (typeof pcap)[number]) => ({ data, secs, nsecs, origLen, linkType, record });
    expect(records.map(strip)).toEqual(pcap.map(strip));
  });

  it('skips interface statistics, name resolution and decryption secrets blocks', () => {
    const plain = readRecords(fixture('lo-dumpcap.pcapng')).records;
    const withBlocks = readRecords(fixture('lo-blocks.pcapng'));
    expect(withBlocks.error).toBeUndefined();
    expect(withBlocks.records.map((r) => r.data)).toEqual(plain.map((r) => r.data));
    expect(withBlocks.records.map((r) => [r.secs, r.nsecs])).toEqual(plain.map((r) => [r.secs, r.nsecs]));
  });

  it('reads a big-endian section (byte-swapped from the dumpcap capture) identically', () => {
    expect(readRecords(fixture('lo-dumpcap-be.pcapng')).records).toEqual(readRecords(fixture('lo-dumpcap.pcapng')).records);
  });

  it('reads several sections, each with its own byte order and interfaces', () => {
    const eth = readRecords(fixture('lo.pcap')).records;
    const sll = readRecords(fixture('any-sll.pcap')).records;
    const { records, error } = readRecords(fixture('two-sections.pcapng'));
    expect(error).toBeUndefined();
    expect(records.map((r) => [r.linkType, r.data])).toEqual([...eth, ...sll].map((r) => [r.linkType, r.data]));
    expect(records.map((r) => r.record)).toEqual(records.map((_, i) => i + 1));
  });

  it('gives each packet the link type of its interface', () => {
    const { records, error } = readRecords(fixture('multi-interface.pcapng'));
    expect(error).toBeUndefined();
    expect(new Set(records.map((r) => r.linkType))).toEqual(new Set([LINKTYPE_ETHERNET, LINKTYPE_LINUX_SLL2, LINKTYPE_LINUX_SLL, LINKTYPE_RAW]));
    // mergecap interleaves by time.
    const times = records.map((r) => r.secs * 1e9 + r.nsecs);
    expect(times).toEqual([...times].sort((a, b) => a - b));
  });

  it('applies if_tsresol (10^-n and 2^-n) and if_tsoffset', () => {
    const at = (ts: bigint, tsresol: number, tsoffset?: bigint) =>
      readRecords(temp(sectionHeader(true), interfaceDescription(true, 1, { tsresol, tsoffset }), enhancedPacket(true, 0, ts, packet))).records[0];
    expect(at(1_700_000_000_123n, 3)).toMatchObject({ secs: 1_700_000_000, nsecs: 123_000_000 });
    expect(at(1_700_000_000_123_456_789n, 9)).toMatchObject({ secs: 1_700_000_000, nsecs: 123_456_789 });
    expect(at(17_000_000_001n, 1)).toMatchObject({ secs: 1_700_000_000, nsecs: 100_000_000 });
    // 2^-20 s: 2^19 units is half a second.
    expect(at((1_700_000_000n << 20n) + (1n << 19n), 0x80 | 20)).toMatchObject({ secs: 1_700_000_000, nsecs: 500_000_000 });
    expect(at((5n << 20n) + 1n, 0x80 | 20)).toMatchObject({ secs: 5, nsecs: 953 }); // 1e9 / 2^20 = 953.67
    expect(at(1_000_123_456n, 6, -1000n)).toMatchObject({ secs: 0, nsecs: 123_456_000 });
    expect(at(1_000_000n, 6, 1_700_000_000n)).toMatchObject({ secs: 1_700_000_001, nsecs: 0 });
  });

  it('converts 64-bit timestamps exactly, including resolutions past nanoseconds', () => {
    const exact = (ts: bigint, unitsPerSec: bigint) => ({ secs: Number(ts / unitsPerSec), nsecs: Number(((ts % unitsPerSec) * 1_000_000_000n) / unitsPerSec) });
    const cases: [bigint, number, bigint][] = [
      [0xffff_ffff_ffff_ffffn, 9, 10n ** 9n],
      [0x0020_0000_0000_0000n, 9, 10n ** 9n], // first high word past 2^53
      [0x001f_ffff_ffff_ffffn, 9, 10n ** 9n],
      [1_795_461_769_125_944_865n, 9, 10n ** 9n],
      [0xffff_ffff_ffff_ffffn, 6, 10n ** 6n],
      [0xffff_ffff_ffff_ffffn, 0x80 | 32, 1n << 32n],
      [0xffff_ffff_ffff_ffffn, 0x80 | 9, 1n << 9n],
      [0xffff_ffff_ffff_ffffn, 0x80 | 3, 1n << 3n],
      [1_700_000_123_456_789_012n, 12, 10n ** 12n], // picoseconds
      [0xdead_beef_1234_5678n, 0x80 | 40, 1n << 40n],
    ];
    let seed = 12345;
    for (let i = 0; i < 200; i++) {
      seed = (seed * 1103515245 + 12345) >>> 0;
      const ts = (BigInt(seed) << 32n) | BigInt((seed * 2654435761) >>> 0);
      cases.push([ts, 9, 10n ** 9n], [ts, 0x80 | 30, 1n << 30n], [ts, 7, 10n ** 7n]);
    }
    for (const [ts, tsresol, units] of cases) {
      const blocks = [sectionHeader(true), interfaceDescription(true, 1, { tsresol }), enhancedPacket(true, 0, ts, packet)];
      expect(readRecords(temp(...blocks)).records[0], `${ts} at ${tsresol}`).toMatchObject(exact(ts, units));
    }
  });

  it('reads Simple Packet Blocks with the previous timestamp and the snaplen of interface 0', () => {
    const { records, error } = readRecords(
      temp(
        sectionHeader(true),
        interfaceDescription(true, LINKTYPE_RAW, { snaplen: 10 }),
        simplePacket(true, Buffer.alloc(0), 0),
        enhancedPacket(true, 0, 3_000_001n, packet.subarray(0, 10), packet.length),
        simplePacket(true, packet.subarray(0, 10), packet.length),
      ),
    );
    expect(error).toBeUndefined();
    expect(records).toMatchObject([
      { secs: 0, nsecs: 0, origLen: 0, linkType: LINKTYPE_RAW },
      { secs: 3, nsecs: 1000, origLen: packet.length },
      { secs: 3, nsecs: 1000, origLen: packet.length, data: packet.subarray(0, 10) },
    ]);
  });

  it('reads the obsolete Packet Block', () => {
    const { records } = readRecords(temp(sectionHeader(false), interfaceDescription(false, LINKTYPE_RAW), obsoletePacket(false, 0, 7_000_002n, packet, 100)));
    expect(records).toMatchObject([{ secs: 7, nsecs: 2000, origLen: 100, data: packet, linkType: LINKTYPE_RAW }]);
  });

  it('skips custom, statistics and unknown blocks by their length', () => {
    const { records, error } = readRecords(
      temp(
        sectionHeader(true),
        customBlock(true, 32473, Buffer.from('abc')),
        interfaceDescription(true, 1),
        block(true, ISB, Buffer.alloc(12)),
        block(true, 0x40000bad, Buffer.alloc(20)),
        enhancedPacket(true, 0, 1n, packet),
        block(true, 0x7fffffff, Buffer.alloc(0)),
        enhancedPacket(true, 0, 2n, packet),
      ),
    );
    expect(error).toBeUndefined();
    expect(records.map((r) => r.record)).toEqual([1, 2]);
  });

  it('offsets point at the packet blocks', () => {
    const path = fixture('pcapng-features.pcapng');
    const bytes = readFileSync(path);
    const types = readRecords(path).records.map((r) => Math.min(bytes.readUInt32LE(r.offset), bytes.readUInt32BE(r.offset)));
    expect(types).toContain(3); // SPB
    expect(types).toContain(2); // PB
    expect(types.every((t) => t === 2 || t === 3 || t === 6)).toBe(true);
  });

  it('refuses a link type only when a packet uses its interface', () => {
    const unused = temp(sectionHeader(true), interfaceDescription(true, 147), interfaceDescription(true, 1), enhancedPacket(true, 1, 1n, packet));
    expect(readRecords(unused)).toMatchObject({ error: undefined, records: [{ linkType: 1 }] });
    const used = temp(sectionHeader(true), interfaceDescription(true, 1), interfaceDescription(true, 147), enhancedPacket(true, 0, 1n, packet), enhancedPacket(true, 1, 1n, packet));
    const { records, error } = readRecords(used);
    expect(records).toHaveLength(1);
    expect(error).toMatchObject({ code: 'PAL_ERR_LINKTYPE_UNSUPPORTED', message: expect.stringContaining('link type 147 (interface 1 of pcapng section 1)') as string });
  });

  describe('corrupt blocks', () => {
    const head = [sectionHeader(true), interfaceDescription(true, 1), enhancedPacket(true, 0, 1n, packet)];
    const start = Buffer.concat(head).length;
    const corrupt = (bad: Buffer, detail: string) => {
      const { records, error } = readRecords(temp(...head, bad, enhancedPacket(true, 0, 2n, packet)));
      expect(records).toHaveLength(1);
      expect(error).toMatchObject({ code: 'PAL_ERR_PCAP_CORRUPT', message: expect.stringContaining(`record 2 at byte ${start} is corrupt (${detail}`) as string });
    };
    const withLength = (b: Buffer, len: number, at = 4): Buffer => {
      const copy = Buffer.from(b);
      copy.writeUInt32LE(len, at);
      return copy;
    };
    const good = enhancedPacket(true, 0, 2n, packet);

    it('a total length that is not a multiple of 4', () => {
      corrupt(withLength(good, good.length - 2), `block type 0x6 has total length ${good.length - 2}`);
    });
    it('a total length below 12', () => {
      corrupt(withLength(good, 8), 'block type 0x6 has total length 8');
    });
    it('a trailing length that differs', () => {
      corrupt(withLength(good, good.length + 4, good.length - 4), `block total length ${good.length} does not match its trailing copy ${good.length + 4}`);
    });
    it('a total length past 256 MiB', () => {
      corrupt(withLength(good, 0xfffffff0), 'block type 0x6 has total length 4294967280');
    });
    it('a captured length larger than its block', () => {
      const bad = Buffer.from(good);
      bad.writeUInt32LE(packet.length + 8, 20);
      corrupt(bad, `captured length ${packet.length + 8} does not fit`);
    });
    it('a packet of an interface the section does not describe', () => {
      corrupt(enhancedPacket(true, 3, 2n, packet), 'packet refers to interface 3, but section 1 describes 1');
    });
    it('a packet block too short for its fields', () => {
      corrupt(block(true, EPB, Buffer.alloc(16)), 'enhanced packet block of 28 bytes is shorter than 32');
    });
    it('an interface option running past its block', () => {
      const body = Buffer.concat([Buffer.from([1, 0, 0, 0, 0, 0, 0, 0]), option(true, 9, Uint8Array.of(6))]);
      body.writeUInt16LE(40, 10);
      corrupt(block(true, IDB, body), 'interface option 9 of 40 bytes runs past its block');
    });
    it('a section header with a bad byte-order magic', () => {
      const shb = Buffer.from(sectionHeader(true));
      shb.writeUInt32LE(0x12345678, 8);
      corrupt(shb, 'section header byte-order magic is 12345678');
    });
  });

  it('reports a file cut in a block header and in a block body, after every earlier packet', () => {
    const full = readRecords(fixture('lo.pcapng')).records;
    for (const name of ['cut-in-block-header.pcapng', 'cut-in-block-body.pcapng']) {
      const size = readFileSync(fixture(name)).length;
      const { records, error } = readRecords(fixture(name));
      const at = full.findIndex((r) => r.offset + 32 + r.data.length > size);
      expect(records).toEqual(full.slice(0, at));
      const cut = full[at];
      const blockLen = readFileSync(fixture('lo.pcapng')).readUInt32LE((cut?.offset ?? 0) + 4);
      expect(error).toMatchObject({
        code: 'PAL_ERR_PCAP_TRUNCATED',
        message: `${fixture(name)}: record ${at + 1} at byte ${cut?.offset} is cut short (needs ${blockLen} bytes, ${size - (cut?.offset ?? 0)} left); the ${at} packets before it were processed`,
      });
    }
  });

  it('at every cut length, returns the whole packets and then reports the cut block', () => {
    const file = readFileSync(fixture('pcapng-features.pcapng'));
    const bytes = file.subarray(0, 1800);
    const full = readRecords(fixture('pcapng-features.pcapng')).records;
    const blockEnd = (offset: number) => offset + file.readUInt32LE(offset + 4);
    for (let len = 28; len <= bytes.length; len++) {
      const path = temp(bytes.subarray(0, len));
      const { records, error } = readRecords(path);
      const whole = full.filter((r) => blockEnd(r.offset) <= len);
      expect(records.map(describeRecord)).toEqual(whole.map(describeRecord));
      if (error !== undefined) expect(error).toMatchObject({ code: 'PAL_ERR_PCAP_TRUNCATED', message: expect.stringContaining(`record ${whole.length + 1} at byte `) as string });
      else expect([...blockOffsets(bytes), bytes.length]).toContain(len);
    }
  });

  it('refuses a section header cut before its fixed fields, or of another major version', () => {
    const shb = sectionHeader(true);
    expect(() => openCapture(temp(shb.subarray(0, 20)))).toThrow(expect.objectContaining({ code: 'PAL_ERR_CAPTURE_FORMAT' }));
    const v2 = Buffer.from(shb);
    v2.writeUInt16LE(2, 12);
    const { error } = readRecords(temp(v2));
    expect(error).toMatchObject({ code: 'PAL_ERR_CAPTURE_FORMAT', message: expect.stringContaining('version 2.0') as string });
  });
});

/** Offsets where a block starts (and so where a cut leaves only whole blocks). */
function blockOffsets(bytes: Buffer): number[] {
  const out: number[] = [];
  let le = true;
  for (let o = 0; o + 12 <= bytes.length; ) {
    out.push(o);
    if (bytes.readUInt32LE(o) === 0x0a0d0d0a) le = bytes.readUInt32LE(o + 8) === 0x1a2b3c4d;
    o += le ? bytes.readUInt32LE(o + 4) : bytes.readUInt32BE(o + 4);
  }
  return out;
}
