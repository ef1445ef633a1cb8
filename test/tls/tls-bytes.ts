/**
 * TLS bytes built field by field for the crafted cases: records, handshake messages, hellos and
 * their extensions, as RFC 8446 and RFC 5246 lay them out.
 */

export const HANDSHAKE = 22;
export const CHANGE_CIPHER_SPEC = 20;
export const ALERT = 21;
export const APPLICATION_DATA = 23;

/** `value` as `bytes` big-endian bytes. */
export function int(value: number, bytes: 1 | 2 | 3): Buffer {
  const b = Buffer.alloc(bytes);
  b.writeUIntBE(value, 0, bytes);
  return b;
}

/** A vector: its parts behind a `prefix`-byte length. */
export function vector(prefix: 1 | 2 | 3, ...parts: Buffer[]): Buffer {
  const body = Buffer.concat(parts);
  return Buffer.concat([int(body.length, prefix), body]);
}

export function u16s(values: readonly number[]): Buffer {
  return Buffer.concat(values.map((v) => int(v, 2)));
}

export function record(type: number, payload: Buffer, version = 0x0303): Buffer {
  return Buffer.concat([int(type, 1), int(version, 2), int(payload.length, 2), payload]);
}

/** `payload` in records of at most `size` bytes. */
export function records(type: number, payload: Buffer, size: number): Buffer {
  const out: Buffer[] = [];
  for (let i = 0; i < payload.length; i += size) out.push(record(type, payload.subarray(i, i + size)));
  return Buffer.concat(out);
}

export function handshake(type: number, body: Buffer): Buffer {
  return Buffer.concat([int(type, 1), int(body.length, 3), body]);
}

export function extension(type: number, data: Buffer = Buffer.alloc(0)): Buffer {
  return Buffer.concat([int(type, 2), vector(2, data)]);
}

/** Extensions with their values, each the syntax its RFC gives. */
export const ext = {
  serverName: (...names: string[]) => extension(0, vector(2, ...names.map((n) => Buffer.concat([int(0, 1), vector(2, Buffer.from(n, 'latin1'))])))),
  alpn: (...protocols: (string | Buffer)[]) => extension(16, vector(2, ...protocols.map((p) => vector(1, typeof p === 'string' ? Buffer.from(p, 'latin1') : p)))),
  supportedGroups: (...groups: number[]) => extension(10, vector(2, u16s(groups))),
  ecPointFormats: (...formats: number[]) => extension(11, vector(1, Buffer.from(formats))),
  signatureAlgorithms: (...algorithms: number[]) => extension(13, vector(2, u16s(algorithms))),
  supportedVersions: (...versions: number[]) => extension(43, vector(1, u16s(versions))),
  keyShare: (...groups: number[]) => extension(51, vector(2, ...groups.map((g) => Buffer.concat([int(g, 2), vector(2, Buffer.alloc(32, 7))])))),
  pskModes: (...modes: number[]) => extension(45, vector(1, Buffer.from(modes))),
  /** An outer ECH extension (draft-ietf-tls-esni §5): type outer, cipher suite, config_id, enc, payload. */
  ech: () => extension(0xfe0d, Buffer.concat([int(0, 1), int(0x0001, 2), int(0x0001, 2), int(0x42, 1), vector(2, Buffer.alloc(32, 1)), vector(2, Buffer.alloc(64, 2))])),
  serverVersion: (version: number) => extension(43, int(version, 2)),
  serverAlpn: (protocol: string) => extension(16, vector(2, vector(1, Buffer.from(protocol)))),
};

export interface ClientHelloSpec {
  legacyVersion?: number;
  sessionId?: Buffer;
  cipherSuites?: number[];
  compression?: number[];
  /** Each an extension(); null: no extensions block at all (TLS 1.2 allows it). */
  extensions?: Buffer[] | null;
}

export function clientHelloBody(spec: ClientHelloSpec = {}): Buffer {
  const parts = [
    int(spec.legacyVersion ?? 0x0303, 2),
    Buffer.alloc(32, 0x11),
    vector(1, spec.sessionId ?? Buffer.alloc(32, 0x22)),
    vector(2, u16s(spec.cipherSuites ?? [0x1301, 0x1302, 0xc02b])),
    vector(1, Buffer.from(spec.compression ?? [0])),
  ];
  const extensions = spec.extensions === undefined ? [ext.serverName('example.com'), ext.supportedVersions(0x0304, 0x0303)] : spec.extensions;
  if (extensions !== null) parts.push(vector(2, ...extensions));
  return Buffer.concat(parts);
}

export function clientHello(spec: ClientHelloSpec = {}): Buffer {
  return handshake(1, clientHelloBody(spec));
}

export interface ServerHelloSpec {
  legacyVersion?: number;
  random?: Buffer;
  cipherSuite?: number;
  extensions?: Buffer[];
}

export const HRR_RANDOM = Buffer.from('cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c', 'hex');

export function serverHello(spec: ServerHelloSpec = {}): Buffer {
  return handshake(
    2,
    Buffer.concat([
      int(spec.legacyVersion ?? 0x0303, 2),
      spec.random ?? Buffer.alloc(32, 0x33),
      vector(1, Buffer.alloc(32, 0x22)),
      int(spec.cipherSuite ?? 0xc02f, 2),
      int(0, 1),
      vector(2, ...(spec.extensions ?? [extension(0xff01, Buffer.from([0])), ext.serverAlpn('h2')])),
    ]),
  );
}

/** A TLS 1.2 Certificate message (RFC 5246 §7.4.2). */
export function certificate(ders: Buffer[]): Buffer {
  return handshake(11, vector(3, ...ders.map((d) => vector(3, d))));
}

export const serverHelloDone = handshake(14, Buffer.alloc(0));
