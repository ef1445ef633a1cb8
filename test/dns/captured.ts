/**
 * The DNS messages of the captures in test/captures/dns/, read the way the engine will read
 * them: replayed through palisade, a rule copying each UDP datagram's data, and each TCP
 * direction's data through a DnsTcpReader.
 */
import { fileURLToPath } from 'node:url';
import { defineRules, tcpConnection, udpConnection } from 'palisade';
import { replay } from 'palisade/testing';
import { DnsTcpReader } from '../../dissectors/dns/tcp-framing.ts';

export const capturePath = (file: 'udp.pcap' | 'tcp.pcap'): string => fileURLToPath(new URL(`../captures/dns/${file}`, import.meta.url));

export interface Captured {
  /** Each message, in the order the engine delivered it (a copy). */
  messages: Buffer[];
  /** TCP only: each direction, in order of first data: its data chunk by chunk as the engine delivered it, and its messages (copies). */
  streams: { chunks: Buffer[]; messages: Buffer[] }[];
  /** Anomalies the TCP readers reported. */
  anomalies: string[];
}

export async function captured(file: 'udp.pcap' | 'tcp.pcap'): Promise<Captured> {
  const messages: Buffer[] = [];
  const streams = new Map<string, { chunks: Buffer[]; messages: Buffer[] }>();
  const readers = new Map<string, DnsTcpReader>();
  const anomalies: string[] = [];
  const rules = defineRules(({ rule }) => {
    rule({ on: udpConnection.events.receiveData, eval: (_flow, data) => void messages.push(Buffer.from(data)) });
    rule({
      on: tcpConnection.events.receiveData,
      eval: (flow, data, dir) => {
        const key = `${flow.id} ${dir}`;
        let reader = readers.get(key);
        let stream = streams.get(key);
        if (reader === undefined || stream === undefined) {
          const s = { chunks: [] as Buffer[], messages: [] as Buffer[] };
          stream = s;
          reader = new DnsTcpReader({
            message: (bytes) => {
              messages.push(Buffer.from(bytes));
              s.messages.push(Buffer.from(bytes));
            },
            anomaly: (kind, detail) => void anomalies.push(`${kind}: ${detail}`),
          });
          readers.set(key, reader);
          streams.set(key, s);
        }
        stream.chunks.push(Buffer.from(data));
        reader.feed(data);
      },
    });
  });
  // Loopback captures carry partial checksums (offloaded): not the engine's business here.
  const r = await replay({ rules, capture: capturePath(file), config: { checksumValidation: 'never' } });
  if (r.error !== undefined) throw r.error;
  for (const reader of readers.values()) reader.end(false);
  return { messages, streams: [...streams.values()], anomalies };
}
