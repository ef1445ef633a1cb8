/**
 * One record per finished connection, TCP or UDP, with Zeek conn.log's field names, for `--flows`.
 */
export interface FlowRecord {
  /** Start time, seconds since the epoch (capture time in replay). */
  ts: number;
  uid: string;
  'id.orig_h': string;
  'id.orig_p': number;
  'id.resp_h': string;
  'id.resp_p': number;
  proto: 'tcp' | 'udp';
  duration: number;
  orig_bytes: number;
  resp_bytes: number;
  conn_state: string;
  history: string;
  orig_pkts: number;
  orig_ip_bytes: number;
  resp_pkts: number;
  resp_ip_bytes: number;
  community_id: string;
  /** palisade's own: why the connection ended (flow.endReason). */
  end_reason: string;
  midstream: boolean;
}
