/** A TlsReader fed from a test: what it reported, in order, and how the stream was cut. */
import type { TlsAnomalyKind } from '../../dissectors/tls/anomalies.ts';
import type { TlsCertificateChain } from '../../dissectors/tls/certificate.ts';
import type { ClientHello } from '../../dissectors/tls/client-hello.ts';
import { TlsReader, type TlsReaderLimits } from '../../dissectors/tls/reader.ts';
import type { ServerHello } from '../../dissectors/tls/server-hello.ts';

export type ReadEvent =
  | { event: 'clientHello'; hello: ClientHello }
  | { event: 'serverHello'; hello: ServerHello }
  | { event: 'certificate'; chain: TlsCertificateChain }
  | { event: 'anomaly'; kind: TlsAnomalyKind; detail: string };

export interface Reading {
  reader: TlsReader;
  events: ReadEvent[];
}

/** A reader whose reports go to `events`. */
export function reading(fromClient: boolean, limits?: TlsReaderLimits): Reading {
  const events: ReadEvent[] = [];
  const reader = new TlsReader(
    fromClient,
    {
      clientHello: (hello) => events.push({ event: 'clientHello', hello }),
      serverHello: (hello) => events.push({ event: 'serverHello', hello }),
      certificate: (chain) => events.push({ event: 'certificate', chain }),
      anomaly: (kind, detail) => events.push({ event: 'anomaly', kind, detail }),
    },
    limits,
  );
  return { reader, events };
}

/** Feeds each chunk in turn (each a fresh copy, as a stream hands out views of its own). */
export function read(fromClient: boolean, chunks: readonly Buffer[], limits?: TlsReaderLimits): Reading {
  const r = reading(fromClient, limits);
  for (const c of chunks) r.reader.feed(Buffer.from(c));
  return r;
}

/** `bytes` cut into chunks of `size` (the last one shorter). */
export function chunked(bytes: Buffer, size: number): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += size) out.push(bytes.subarray(i, i + size));
  return out;
}

/** `bytes` cut at these offsets. */
export function cutAt(bytes: Buffer, ...offsets: number[]): Buffer[] {
  const out: Buffer[] = [];
  let from = 0;
  for (const o of [...offsets, bytes.length]) {
    out.push(bytes.subarray(from, o));
    from = o;
  }
  return out;
}

/** The events as plain data (getters read, certificates as their DER and subject), to compare two readings. */
export function plain(events: readonly ReadEvent[]): unknown[] {
  return events.map((e) => {
    switch (e.event) {
      case 'clientHello':
      case 'serverHello':
        return { event: e.event, ...e.hello };
      case 'certificate':
        return { event: e.event, certificates: e.chain.certificates.map((c) => ({ der: c.der.toString('hex'), subject: c.subject })) };
      case 'anomaly':
        return e;
    }
  });
}

export function kinds(events: readonly ReadEvent[]): string[] {
  return events.map((e) => (e.event === 'anomaly' ? e.kind : e.event));
}
