import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { openCapture } from '../../core/io/capture.ts';
import { PalisadeError } from '../../core/errors.ts';
import { fixture } from '../captures/fixtures.ts';

const dir = mkdtempSync(join(tmpdir(), 'palisade-capture-'));
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

const openError = (path: string): PalisadeError => {
  try {
    openCapture(path).close();
  } catch (err) {
    if (err instanceof PalisadeError) return err;
    throw err;
  }
  throw new Error(`${path} opened`);
};

describe('openCapture', () => {
  it('picks the format by magic number, not by file name', () => {
    const pcapng = join(dir, 'really-pcapng.pcap');
    const pcap = join(dir, 'really-pcap.pcapng');
    copyFileSync(fixture('lo.pcapng'), pcapng);
    copyFileSync(fixture('lo.pcap'), pcap);
    const a = openCapture(pcapng);
    const b = openCapture(pcap);
    expect([a.format, b.format]).toEqual(['pcapng', 'pcap']);
    expect(a.path).toBe(pcapng);
    expect(a.next()?.data).toEqual(b.next()?.data);
    a.close();
    b.close();
  });

  it.each([
    ['lo.pcap', 'pcap'],
    ['lo-be.pcap', 'pcap'],
    ['lo-nsec.pcap', 'pcap'],
    ['lo-nsec-be.pcap', 'pcap'],
    ['lo.pcapng', 'pcapng'],
    ['lo-dumpcap-be.pcapng', 'pcapng'],
  ])('%s is %s', (name, format) => {
    const reader = openCapture(fixture(name));
    expect(reader.format).toBe(format);
    reader.close();
  });

  it('reports a missing file', () => {
    const path = join(dir, 'nope.pcap');
    expect(openError(path)).toMatchObject({ code: 'PAL_ERR_FILE_NOT_FOUND', message: `capture '${path}' does not exist or cannot be read` });
  });

  it('reports a directory as not a readable capture', () => {
    const path = join(dir, 'a-directory.pcap');
    mkdirSync(path);
    expect(openError(path)).toMatchObject({ code: 'PAL_ERR_FILE_NOT_FOUND' });
  });

  it('names the four bytes of an unknown magic number', () => {
    const path = join(dir, 'image.pcap');
    writeFileSync(path, 'GIF89a and more');
    expect(openError(path)).toMatchObject({
      code: 'PAL_ERR_CAPTURE_FORMAT',
      message: expect.stringMatching(/image\.pcap: unknown magic number 47 49 46 38; palisade reads pcap/) as string,
    });
  });

  it('says when a capture is gzip-compressed or a modified pcap', () => {
    const gz = join(dir, 'lo.pcap.gz');
    writeFileSync(gz, gzipSync(readFileSync(fixture('lo.pcap'))));
    expect(openError(gz).message).toContain('gunzip it first');
    const modified = join(dir, 'modified.pcap');
    writeFileSync(modified, Buffer.from('34cdb2a1020004000000000000000000ffff000001000000', 'hex'));
    expect(openError(modified).message).toContain('modified (Kuznetzov) pcap');
  });

  it('reports an empty or tiny file as no capture', () => {
    const path = join(dir, 'empty.pcap');
    writeFileSync(path, Buffer.from([0xd4, 0xc3]));
    expect(openError(path)).toMatchObject({ code: 'PAL_ERR_CAPTURE_FORMAT', message: expect.stringContaining('2 bytes long') as string });
  });
});
