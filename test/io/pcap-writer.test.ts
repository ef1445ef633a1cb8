import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LINKTYPE_ETHERNET, LINKTYPE_RAW } from '../../core/link-types.ts';
import { encodePcap, PcapWriter } from '../../core/io/pcap-writer.ts';
import { fixture, readRecords } from '../captures/fixtures.ts';

const dir = mkdtempSync(join(tmpdir(), 'palisade-writer-'));
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});
let n = 0;
const out = (): string => join(dir, `out${++n}.pcap`);

const real = readRecords(fixture('lo-nsec.pcap')).records;

function writeAll(path: string, records: { data: Uint8Array; secs: number; nsecs: number; origLen?: number }[], options: ConstructorParameters<typeof PcapWriter>[1]): void {
  const w = new PcapWriter(path, options);
  for (const r of records) w.write(r.data, r.secs, r.nsecs, r.origLen);
  w.close();
}

describe('PcapWriter', () => {
  it('round-trips a real capture: data, nanosecond timestamps, lengths, link type', () => {
    const path = out();
    writeAll(path, real, { linkType: LINKTYPE_ETHERNET });
    const back = readRecords(path);
    expect(back.error).toBeUndefined();
    expect(back.reader.format).toBe('pcap');
    expect(back.records.map(({ data, secs, nsecs, origLen, linkType }) => ({ data, secs, nsecs, origLen, linkType }))).toEqual(
      real.map(({ data, secs, nsecs, origLen, linkType }) => ({ data, secs, nsecs, origLen, linkType })),
    );
  });

  it('writes the same bytes as encodePcap, and as tcpdump wrote them', () => {
    const path = out();
    writeAll(path, real, { linkType: LINKTYPE_ETHERNET });
    const bytes = readFileSync(path);
    expect(bytes).toEqual(encodePcap(real, { linkType: LINKTYPE_ETHERNET }));
    // tcpdump's nanosecond file differs only in its header's snaplen, which is the same here.
    expect(bytes).toEqual(readFileSync(fixture('lo-nsec.pcap')));
  });

  it('writes microseconds when asked, as tcpdump did', () => {
    const path = out();
    writeAll(path, readRecords(fixture('lo.pcap')).records, { linkType: LINKTYPE_ETHERNET, nanosecond: false });
    expect(readFileSync(path)).toEqual(readFileSync(fixture('lo.pcap')));
    const w = new PcapWriter(out(), { linkType: LINKTYPE_RAW, nanosecond: false });
    w.write(Buffer.alloc(20), 1, 999_999_999);
    w.close();
    expect(readRecords(w.path).records[0]).toMatchObject({ secs: 1, nsecs: 999_999_000 });
  });

  it('is read by tcpdump with the same timestamps and lengths', () => {
    const path = out();
    writeAll(path, real, { linkType: LINKTYPE_ETHERNET });
    const run = spawnSync('tcpdump', ['-r', path, '-nn', '-tt', '--time-stamp-precision=nano', '-e'], { encoding: 'utf8' });
    if (run.error !== undefined) throw new Error(`tcpdump is required for this test (apt-get install tcpdump): ${run.error.message}`);
    expect(run.status).toBe(0);
    const lines = run.stdout.trim().split('\n');
    expect(lines).toHaveLength(real.length);
    lines.forEach((line, i) => {
      const r = real[i];
      expect(line.startsWith(`${r?.secs}.${String(r?.nsecs).padStart(9, '0')} `)).toBe(true);
      expect(line).toContain(`length ${r?.origLen}:`);
    });
  });

  it('copies the data at once, so the caller may reuse its buffer', () => {
    const path = out();
    const w = new PcapWriter(path, { linkType: LINKTYPE_RAW });
    const scratch = Buffer.from('first packet');
    w.write(scratch, 1, 2);
    scratch.write('other bytes!');
    w.write(scratch, 3, 4);
    w.close();
    expect(readRecords(path).records.map((r) => r.data.toString())).toEqual(['first packet', 'other bytes!']);
  });

  it('cuts packets to the snaplen and keeps their original length', () => {
    const path = out();
    const w = new PcapWriter(path, { linkType: LINKTYPE_RAW, snaplen: 8 });
    w.write(Buffer.from('0123456789abcdef'), 1, 0);
    w.write(Buffer.from('0123'), 1, 0, 1500);
    w.close();
    expect(readFileSync(path).readUInt32LE(16)).toBe(8);
    expect(readRecords(path).records.map((r) => [r.data.toString(), r.origLen])).toEqual([
      ['01234567', 16],
      ['0123', 1500],
    ]);
  });

  it('flushes across its buffer and writes records bigger than it', () => {
    const records = Array.from({ length: 3000 }, (_, i) => ({ data: Buffer.alloc(1000 + (i % 7), i & 0xff), secs: 1000 + i, nsecs: i }));
    records.splice(1500, 0, { data: Buffer.alloc(3 << 20, 0xab), secs: 5000, nsecs: 5 });
    const path = out();
    writeAll(path, records, { linkType: LINKTYPE_RAW, snaplen: 4 << 20 });
    const back = readRecords(path);
    expect(back.error).toBeUndefined();
    expect(back.records).toHaveLength(records.length);
    back.records.forEach((r, i) => {
      const want = records[i];
      if (want === undefined || !r.data.equals(want.data) || r.secs !== want.secs || r.nsecs !== want.nsecs) expect.fail(`record ${i + 1} differs`);
    });
  });

  it('closes once, and refuses writes after', () => {
    const w = new PcapWriter(out(), { linkType: LINKTYPE_RAW });
    w.close();
    w.close();
    expect(() => {
      w.write(Buffer.alloc(1), 0, 0);
    }).toThrow(expect.objectContaining({ code: 'PAL_ERR_OUTPUT', message: expect.stringContaining('write after close') as string }));
  });

  it('reports a path it cannot create', () => {
    const path = join(dir, 'missing-dir', 'out.pcap');
    expect(() => new PcapWriter(path, { linkType: 1 })).toThrow(expect.objectContaining({ code: 'PAL_ERR_OUTPUT', message: expect.stringContaining(path) as string }));
  });

  it.each([
    [-1, 0, undefined, 'timestamp seconds -1'],
    [2 ** 32, 0, undefined, 'timestamp seconds 4294967296'],
    [0, 1e9, undefined, 'timestamp nanoseconds 1000000000'],
    [0, 0.5, undefined, 'timestamp nanoseconds 0.5'],
    [0, 0, 3, 'original length 3 is below the 4 bytes'],
  ])('refuses secs %d nsecs %d origLen %s', (secs, nsecs, origLen, message) => {
    const w = new PcapWriter(out(), { linkType: LINKTYPE_RAW });
    expect(() => {
      w.write(Buffer.alloc(4), secs, nsecs, origLen);
    }).toThrow(expect.objectContaining({ code: 'PAL_ERR_OUTPUT', message: expect.stringContaining(message) as string }));
    w.close();
    expect(() => encodePcap([{ data: Buffer.alloc(4), secs, nsecs, origLen }], { linkType: 1 })).toThrow(message);
  });

  it('refuses a link type that is not 16 bits', () => {
    expect(() => new PcapWriter(out(), { linkType: 70000 })).toThrow(expect.objectContaining({ code: 'PAL_ERR_OUTPUT' }));
  });
});
