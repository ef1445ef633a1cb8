// library-replay.ts
import { replay } from 'palisade/testing';

/** A rule file over a capture, in process: what `palisade replay` does, as data. */
export async function firewallReport(): Promise<{ dropped: number[]; refused: string[]; forwarded: number }> {
  const result = await replay({ rules: 'samples/firewall/rules.ts', capture: 'samples/firewall/capture.pcap' });
  return {
    dropped: result.dropped,
    refused: result.alerts.map((a) => `${a.flow?.server.ip ?? '?'}:${a.flow?.server.port ?? '?'}`),
    forwarded: result.output.length,
  };
}
