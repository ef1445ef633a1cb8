/**
 * Every checked-in capture read by palisade and by tshark must give the same packets: count,
 * timestamps to the nanosecond, captured and original lengths, and the bytes (MD5). tshark is
 * required (CI installs it): without it this suite fails, it does not skip.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { fixture, readRecords } from '../captures/fixtures.ts';

interface TsharkFrame {
  time: string;
  capLen: number;
  len: number;
  md5: string;
}

/** tshark's frames of a capture; a cut-short file still lists the frames before the cut. */
async function tsharkFrames(path: string): Promise<TsharkFrame[]> {
  const fields = ['frame.number', 'frame.time_epoch', 'frame.cap_len', 'frame.len', 'frame.interface_id', 'frame.md5_hash'];
  const args = ['-r', path, '-o', 'frame.generate_md5_hash:TRUE', '-T', 'fields', ...fields.flatMap((f) => ['-e', f])];
  const stdout = await new Promise<string>((resolve, reject) => {
    execFile('tshark', args, { encoding: 'utf8' }, (err, out) => {
      if (err !== null && typeof err.code === 'string') reject(new Error(`tshark is required for this suite (apt-get install tshark): ${err.message}`));
      else resolve(out);
    });
  });
  return (
    stdout
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => line.split('\t'))
      // Wireshark shows pcapng custom blocks as frames with neither time nor interface.
      .filter(([, time, , , iface]) => time !== '' || iface !== '')
      .map(([, time = '', capLen = '', len = '', , md5 = '']) => ({ time, capLen: Number(capLen), len: Number(len), md5 }))
  );
}

const epoch = (secs: number, nsecs: number): string => `${secs}.${String(nsecs).padStart(9, '0')}`;

const whole = [
  'lo.pcap',
  'lo-nsec.pcap',
  'lo-editcap-nsec.pcap',
  'lo-be.pcap',
  'lo-nsec-be.pcap',
  'lo.pcapng',
  'lo-dumpcap.pcapng',
  'lo-dumpcap-be.pcapng',
  'lo-blocks.pcapng',
  'any-sll.pcap',
  'any-sll2.pcap',
  'multi-interface.pcapng',
  'two-sections.pcapng',
  'snaplen-60.pcap',
  'snaplen-60.pcapng',
  'null.pcap',
  'loop.pcap',
  'raw.pcap',
  'raw-dlt12.pcap',
  'ipv4.pcap',
  'ipv6.pcap',
  'pcapng-features.pcapng',
];
const cut = ['cut-in-record-header.pcap', 'cut-in-record-body.pcap', 'cut-in-block-header.pcapng', 'cut-in-block-body.pcapng'];

describe('palisade reads what tshark reads', () => {
  it.concurrent.each(whole)('%s', async (name) => {
    const frames = await tsharkFrames(fixture(name));
    const { records, error } = readRecords(fixture(name));
    expect(error).toBeUndefined();
    expect(frames.length).toBeGreaterThan(0);
    expect(records.map((r) => r.record)).toEqual(frames.map((_, i) => i + 1));
    records.forEach((rec, i) => {
      const frame = frames[i];
      // Simple Packet Blocks carry no timestamp: tshark shows none, palisade keeps the previous one.
      const time = frame?.time === '' ? epoch(records[i - 1]?.secs ?? 0, records[i - 1]?.nsecs ?? 0) : frame?.time;
      expect({ time: epoch(rec.secs, rec.nsecs), capLen: rec.data.length, len: rec.origLen, md5: createHash('md5').update(rec.data).digest('hex') }).toEqual({
        ...frame,
        time,
      });
    });
  });

  it.concurrent.each(cut)('%s: the packets before the cut', async (name) => {
    const frames = await tsharkFrames(fixture(name));
    const { records, error } = readRecords(fixture(name));
    expect(error).toMatchObject({ code: 'PAL_ERR_PCAP_TRUNCATED' });
    expect(records.map((r) => ({ time: epoch(r.secs, r.nsecs), capLen: r.data.length, len: r.origLen }))).toEqual(
      frames.map(({ time, capLen, len }) => ({ time, capLen, len })),
    );
  });
});
