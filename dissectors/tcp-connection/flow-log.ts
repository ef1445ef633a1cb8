/** A finished TCP connection as a flow record (Zeek conn.log fields, dissectors/flow/record.ts). */
import { flowRecordOf, type FlowRecord } from '../flow/record.ts';
import type { Sender, TcpFlow } from './flow.ts';
import { connState } from './history.ts';


/** As Zeek: from sequence numbers (retransmissions count once), else the payload seen. */
function bytesSent(sender: Sender, seen: number): number {
  return sender.nxtValid ? Math.max(0, (sender.dataEnd - (sender.isn + 1)) | 0) : seen;
}

export function flowRecord(flow: TcpFlow, now: number): FlowRecord {
  return flowRecordOf(flow, 'tcp', now, {
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
    drop_reason: flow.reason ?? undefined,
    midstream: flow.midstream,
  });
}
