/**
 * A rule test imports from 'palisade' and 'palisade/testing' side by side: no name may mean one
 * thing in one and another thing in the other (the packet builders once shadowed the `tcp`,
 * `udp`, `ipv4`… event namespaces, so tests had to rename them on import).
 */
import { describe, expect, it } from 'vitest';
import * as palisade from '../../index.ts';
import * as testing from '../../testing.ts';

describe("palisade/testing's names", () => {
  it('never repeat a name of palisade', () => {
    const shared = Object.keys(testing).filter((name) => name in palisade);
    expect(shared).toEqual([]);
  });

  it('name each packet builder for what it builds', () => {
    // tcpSegment builds the segment in its IP packet (the checksum needs the addresses).
    const frame = testing.ethernet(testing.tcpSegment({ src: '10.0.0.1', dst: '10.0.0.2', srcport: 1, dstport: 2 }));
    // Ethernet carrying IPv4 (0x0800) carrying TCP (6) from port 1 to port 2.
    expect([frame.readUInt16BE(12), frame[14 + 9], frame.readUInt16BE(34), frame.readUInt16BE(36)]).toEqual([0x0800, 6, 1, 2]);
    expect(typeof testing.ipv6Packet).toBe('function');
    expect(typeof testing.udpDatagram).toBe('function');
    expect(typeof testing.icmpMessage).toBe('function');
  });
});
