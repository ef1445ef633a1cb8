/**
 * The two byte streams of the one connection in a capture, read by palisade's own replay:
 * what the tests feed to TlsReader, as the engine's flow dissector will.
 */
import { fileURLToPath } from 'node:url';
import { defineRules, tcpConnection } from '../../index.ts';
import { replay } from '../../testing.ts';

export interface TlsStreams {
  /** Client to server ('up'). */
  client: Buffer;
  /** Server to client ('down'). */
  server: Buffer;
  /** Each direction as the engine delivered it, one chunk per receiveData event. */
  chunks: { client: Buffer[]; server: Buffer[] };
}

/** A capture of test/captures/tls by name ('tls12'). */
export function tlsCapture(name: string): string {
  return fileURLToPath(new URL(`../captures/tls/${name}.pcap`, import.meta.url));
}

export async function tlsStreams(capture: string): Promise<TlsStreams> {
  const parts: Record<'up' | 'down', Buffer[]> = { up: [], down: [] };
  const rules = defineRules(({ rule }) => {
    rule({
      name: 'copy-stream',
      on: tcpConnection.events.receiveData,
      // `data` is valid during the event only: copied.
      eval: (_flow, data, direction) => void parts[direction].push(Buffer.from(data)),
    });
  });
  const r = await replay({ rules, capture, config: { checksumValidation: 'never' } });
  if (r.error !== undefined) throw r.error;
  return { client: Buffer.concat(parts.up), server: Buffer.concat(parts.down), chunks: { client: parts.up, server: parts.down } };
}
