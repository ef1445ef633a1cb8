/**
 * The pcapng writer (replay -o FILE.pcapng): what it writes reads back exactly through
 * palisade's reader and through tshark, with several link types and 64-bit times.
 */
import { describe, expect, it, afterAll } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PcapngWriter } from '../../core/io/pcapng-writer.ts';
import { LINKTYPE_ETHERNET, LINKTYPE_RAW } from '../../core/link-types.ts';
import { ethernet, tcpSegment } from 'palisade/testing';
import { readRecords } from '../captures/fixtures.ts';
import { enhancedPacket, interfaceDescription, sectionHeader } from '../captures/pcapng-blocks.ts';
import { tsharkFields } from '../tshark-fields.ts';

const dir = mkdtempSync(join(tmpdir(), 'palisade-pcapng-writer-'));
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});
const bin = fileURLToPath(new URL('../../bin/palisade.js', import.meta.url));

const raw = tcpSegment({ src: '10.0.0.1', dst: '10.0.0.2', srcport: 1234, dstport: 80, flags: 'S' });
const eth = ethernet(tcpSegment({ src: '10.0.0.3', dst: '10.0.0.4', srcport: 4321, dstport: 443, flags: 'S' }));

describe('PcapngWriter', () => {
  it('writes several link types and times past 2106 exactly, as palisade and tshark read them', () => {
    const path = join(dir, 'mixed.pcapng');
    const w = new PcapngWriter(path);
    const times: [number, number][] = [
      [1_700_000_000, 123_456_789],
      [4_294_967_296, 999_999_999], // 2106, past pcap's 32 bits
      [4_499_999_999, 1],
      [9_999_999_999, 500_000_000], // the BigInt path
    ];
    times.forEach(([secs, nsecs], i) => {
      w.write(i % 2 === 0 ? raw : eth, secs, nsecs, i % 2 === 0 ? LINKTYPE_RAW : LINKTYPE_ETHERNET);
    });
    w.close();
    const { records, error } = readRecords(path);
    expect(error).toBeUndefined();
    expect(records.map((r) => [r.secs, r.nsecs])).toEqual(times);
    expect(records.map((r) => r.linkType)).toEqual([LINKTYPE_RAW, LINKTYPE_ETHERNET, LINKTYPE_RAW, LINKTYPE_ETHERNET]);
    expect(records.map((r) => r.data.equals(r.linkType === LINKTYPE_RAW ? raw : eth))).toEqual([true, true, true, true]);
    const seen = tsharkFields(readFileSync(path), ['frame.interface_id', 'ip.src', 'tcp.dstport', 'frame.time_epoch']);
    expect(seen.map((f) => [f['frame.interface_id'], f['ip.src'], f['tcp.dstport']])).toEqual([
      ['0', '10.0.0.1', '80'],
      ['1', '10.0.0.3', '443'],
      ['0', '10.0.0.1', '80'],
      ['1', '10.0.0.3', '443'],
    ]);
    expect(seen[0]?.['frame.time_epoch']).toBe('1700000000.123456789');
  });
});

describe('replay -o with a multi-interface pcapng', () => {
  const input = join(dir, 'two-interfaces.pcapng');
  writeFileSync(
    input,
    Buffer.concat([
      sectionHeader(true),
      interfaceDescription(true, LINKTYPE_ETHERNET),
      interfaceDescription(true, LINKTYPE_RAW),
      enhancedPacket(true, 0, 1_700_000_000_000_000n, eth),
      enhancedPacket(true, 1, 1_700_000_001_000_000n, raw),
      enhancedPacket(true, 0, 1_700_000_002_000_000n, eth),
    ]),
  );
  const rules = fileURLToPath(new URL('../../samples/haka/hellopacket/rules.ts', import.meta.url));
  const replay = (out: string) => spawnSync(process.execPath, [bin, 'replay', rules, input, '-o', out], { encoding: 'utf8', timeout: 60_000 });

  it('writes every packet to an output named .pcapng, each with its link type', () => {
    const out = join(dir, 'out.pcapng');
    const r = replay(out);
    expect(r.status, r.stderr).toBe(0);
    expect(readRecords(out).records.map((rec) => rec.linkType)).toEqual([LINKTYPE_ETHERNET, LINKTYPE_RAW, LINKTYPE_ETHERNET]);
  });

  it('into a pcap, stops with a coded error that names the way out', () => {
    const r = replay(join(dir, 'out.pcap'));
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/PAL_ERR_OUTPUT: .*link types 1 and 101 cannot share one pcap file \(name the output \.pcapng to write pcapng\)/);
  });
});
