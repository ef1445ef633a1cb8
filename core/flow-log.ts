/**
 * One record per finished connection, with Zeek conn.log's field names, for `--flows`.
 */
import type { Sender, TcpFlow } from '../dissectors/tcp-connection/flow.ts';
import { connState } from '../dissectors/tcp-connection/state.ts';

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

/** As Zeek: from sequence numbers (retransmissions count once), else the payload seen. */
function bytesSent(sender: Sender, seen: number): number {
  return sender.nxtValid ? Math.max(0, (sender.dataEnd - (sender.isn + 1)) | 0) : seen;
}

export function flowRecord(flow: TcpFlow, now: number): FlowRecord {
  return {
    ts: flow.startTime,
    uid: `C${flow.id}`,
    'id.orig_h': flow.client.ip,
    'id.orig_p': flow.client.port,
    'id.resp_h': flow.server.ip,
    'id.resp_p': flow.server.port,
    proto: 'tcp',
    duration: Math.max(0, Math.min(flow.lastTime, now) - flow.startTime),
    orig_bytes: bytesSent(flow.up, flow.up.bytes),
    resp_bytes: bytesSent(flow.down, flow.down.bytes),
    conn_state: connState(flow),
    history: flow.history,
    orig_pkts: flow.up.packets,
    orig_ip_bytes: flow.up.ipBytes,
    resp_pkts: flow.down.packets,
    resp_ip_bytes: flow.down.ipBytes,
    community_id: flow.communityId,
    end_reason: flow.endReason ?? 'shutdown',
    midstream: flow.midstream,
  };
}
