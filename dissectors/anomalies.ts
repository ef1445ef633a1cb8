/**
 * Names of the anomalies the packet dissectors count. A malformed packet is never an exception:
 * its dissector counts one of these and returns false; the packet then follows
 * `config.malformedPolicy`. Names are stable: they appear in stats and in JSON output.
 */
export const packetAnomalies = [
  'link-truncated', // frame shorter than its link-layer header
  'snaplen-truncated', // captured length < wire length: the capture cut the packet
  'ipv4-truncated', // fewer bytes than the IPv4 header needs
  'ipv4-invalid-header', // version, header length or total length impossible
  'ipv4-bad-length', // total length past the end of a frame the capture did not cut
  'ipv4-bad-checksum',
  'ipv6-truncated',
  'ipv6-invalid-header',
  'ipv6-invalid-extension', // extension header chain runs past the packet
  'ipv6-bad-length', // payload length past the end of a frame the capture did not cut
  'tcp-truncated',
  'tcp-invalid-header', // data offset < 5 or past the segment
  'tcp-bad-checksum',
  'udp-truncated',
  'udp-invalid-length',
  'udp-bad-checksum',
  'icmp-truncated',
  'icmp-bad-checksum',
  'fragment-overlap', // first-wins; the later copy's overlapping bytes are ignored
  'fragment-overlap-different-data', // the overlap carried other bytes: datagram dropped
  'fragment-invalid', // beyond 65535 bytes, or a non-final fragment not a multiple of 8
  'fragment-incomplete', // timed out or flushed before all fragments arrived
  'fragment-memcap', // reassembly memory or datagram cap reached
] as const;

export type PacketAnomaly = (typeof packetAnomalies)[number];

/** Where dissectors count anomalies: the engine's Stats (core/stats.ts) is one. */
export interface AnomalyCounter {
  anomaly(kind: PacketAnomaly | (string & {})): void;
}
