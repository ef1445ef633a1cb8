/**
 * A full disk cuts no record in half: each output (JSON lines, pcap, pcapng) that fails to
 * write ends at its last whole record, on a real filesystem that fills up (a 1 MiB tmpfs).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { LineWriter } from '../../core/io/line-writer.ts';
import { PcapWriter } from '../../core/io/pcap-writer.ts';
import { PcapngWriter } from '../../core/io/pcapng-writer.ts';
import { LINKTYPE_ETHERNET } from '../../core/link-types.ts';
import { PalisadeError } from '../../core/errors.ts';
import { readRecords } from '../captures/fixtures.ts';
import { mountSmallFilesystem, type SmallFilesystem } from './small-filesystem.ts';

// A filesystem of its own for each test: the one before left its own full.
let fs: SmallFilesystem;
beforeEach(() => {
  fs = mountSmallFilesystem('1m');
});
afterEach(() => {
  fs.unmount();
});

/** Frame `i`: its number in the first 4 bytes, then a length that varies, so that no record ends on a page. */
function frame(i: number): Buffer {
  const b = Buffer.alloc(60 + ((i * 37) % 1400), i & 0xff);
  b.writeUInt32BE(i, 0);
  return b;
}

/** What tshark says of a capture: its packet count, or its complaint. */
function tshark(path: string): { status: number | null; packets: number; stderr: string } {
  const r = spawnSync('tshark', ['-r', path, '-T', 'fields', '-e', 'frame.number'], { encoding: 'utf8' });
  return { status: r.status, packets: r.stdout.trim() === '' ? 0 : r.stdout.trim().split('\n').length, stderr: r.stderr };
}

/** Writes frames until the disk is full; returns how many writes returned and the error. */
function fill(write: (i: number) => void): { written: number; error: unknown } {
  for (let i = 0; i < 100_000; i++) {
    try {
      write(i);
    } catch (error) {
      return { written: i, error };
    }
  }
  throw new Error('the filesystem never filled up');
}

/** Every record the capture holds is whole and in order, and tshark reads it to its end. */
function expectWholeCapture(path: string): void {
  const back = readRecords(path);
  expect(back.error).toBeUndefined();
  expect(back.records.length).toBeGreaterThan(100);
  expect(back.records.findIndex((r, i) => !r.data.equals(frame(i)))).toBe(-1);
  const t = tshark(path);
  expect(t.stderr).not.toMatch(/cut short|appears to be damaged|corrupt/);
  expect(t.status).toBe(0);
  expect(t.packets).toBe(back.records.length);
}

describe('outputs on a full disk', () => {
  it('a JSON line file ends at its last whole line, multibyte characters counted in bytes', () => {
    const path = join(fs.dir, 'alerts.jsonl');
    const w = LineWriter.file(path);
    let lines = 0;
    // 'é' is two bytes in UTF-8: a boundary counted in characters would cut a line.
    while (w.write(`${JSON.stringify({ n: lines, text: 'é'.repeat(50 + ((lines * 13) % 200)) })}\n`)) lines++;
    w.close();
    expect(w.failure).toBeInstanceOf(PalisadeError);
    expect(w.failure?.code).toBe('PAL_ERR_OUTPUT');
    expect(w.failure?.message).toMatch(/ENOSPC.*what was written before is complete/);
    const text = readFileSync(path, 'utf8');
    expect(text.endsWith('\n')).toBe(true);
    const kept = text.slice(0, -1).split('\n').map((l) => (JSON.parse(l) as { n: number }).n);
    expect(kept.length).toBeGreaterThan(1000);
    expect(kept).toEqual(kept.map((_, i) => i));
  });

  it('a pcap ends at its last whole record, tshark reads it to its end', () => {
    const path = join(fs.dir, 'out.pcap');
    const w = new PcapWriter(path, { linkType: LINKTYPE_ETHERNET });
    const { error } = fill((i) => {
      w.write(frame(i), 1_700_000_000 + i, 0);
    });
    expect((error as PalisadeError).code).toBe('PAL_ERR_OUTPUT');
    expect((error as Error).message).toMatch(/ENOSPC.*what was written before is complete/);
    w.close();
    expectWholeCapture(path);
  });

  it('a pcap record larger than the write buffer, cut by the full disk, goes whole', () => {
    const path = join(fs.dir, 'big.pcap');
    const w = new PcapWriter(path, { linkType: LINKTYPE_ETHERNET, snaplen: 4 << 20 });
    for (let i = 0; i < 200; i++) w.write(frame(i), 1_700_000_000 + i, 0);
    // Past the 1 MiB buffer: written straight out, and more than the disk holds.
    expect(() => {
      w.write(Buffer.alloc(2 << 20), 1_700_001_000, 0);
    }).toThrow(/ENOSPC/);
    w.close();
    expectWholeCapture(path);
    expect(readRecords(path).records).toHaveLength(200);
  });

  it('a pcapng ends at its last whole block, tshark reads it to its end', () => {
    const path = join(fs.dir, 'out.pcapng');
    const w = new PcapngWriter(path);
    const { error } = fill((i) => {
      w.write(frame(i), 1_700_000_000 + i, 0, LINKTYPE_ETHERNET);
    });
    expect((error as PalisadeError).code).toBe('PAL_ERR_OUTPUT');
    w.close();
    expectWholeCapture(path);
  });

  it('a capture opened on a disk already full: nothing in it, and the error at close, the run going on until then', () => {
    const filler = openSync(join(fs.dir, 'filler'), 'w');
    expect(() => {
      for (;;) writeSync(filler, Buffer.alloc(4096));
    }).toThrow(/ENOSPC/);
    closeSync(filler);
    const path = join(fs.dir, 'late.pcap');
    const w = new PcapWriter(path, { linkType: LINKTYPE_ETHERNET });
    for (let i = 0; i < 10; i++) w.write(frame(i), 1_700_000_000 + i, 0);
    expect(() => {
      w.close();
    }).toThrow(/late\.pcap: cannot write the output capture \(ENOSPC.*what was written before is complete/);
    expect(readFileSync(path)).toHaveLength(0);
  });
});
