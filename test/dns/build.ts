/** DNS messages byte by byte, for the crafted cases: every field literal, nothing checked. */

export interface HeaderSpec {
  id?: number;
  /** The flags word as sent: 0x8180 is a response with RD and RA. */
  flags?: number;
  qd?: number;
  an?: number;
  ns?: number;
  ar?: number;
}

export function header(h: HeaderSpec = {}): Buffer {
  const b = Buffer.alloc(12);
  b.writeUInt16BE(h.id ?? 0x1234, 0);
  b.writeUInt16BE(h.flags ?? 0x0100, 2);
  b.writeUInt16BE(h.qd ?? 0, 4);
  b.writeUInt16BE(h.an ?? 0, 6);
  b.writeUInt16BE(h.ns ?? 0, 8);
  b.writeUInt16BE(h.ar ?? 0, 10);
  return b;
}

/** 'a.b' as labels and the root; '.' or '' is the root alone. No escapes: labels are split on dots. */
export function name(text: string): Buffer {
  const labels = text === '.' || text === '' ? [] : text.split('.');
  return Buffer.concat([...labels.map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l, 'latin1')])), Buffer.from([0])]);
}

/** A compression pointer to `offset`. */
export function pointer(offset: number): Buffer {
  return Buffer.from([0xc0 | (offset >> 8), offset & 0xff]);
}

export function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
}

export function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}

export function question(owner: string | Buffer, type = 1, cls = 1): Buffer {
  return Buffer.concat([typeof owner === 'string' ? name(owner) : owner, u16(type), u16(cls)]);
}

/** A record; RDLENGTH is rdata's length unless `rdlength` says otherwise. */
export function record(owner: string | Buffer, type: number, rdata: Buffer, o: { cls?: number; ttl?: number; rdlength?: number } = {}): Buffer {
  return Buffer.concat([typeof owner === 'string' ? name(owner) : owner, u16(type), u16(o.cls ?? 1), u32(o.ttl ?? 300), u16(o.rdlength ?? rdata.length), rdata]);
}

/** An OPT record: `udpSize` in CLASS, the extended rcode, version and flags in TTL. */
export function opt(o: { udpSize?: number; extendedRcode?: number; version?: number; flags?: number; options?: Buffer; owner?: string | Buffer } = {}): Buffer {
  const ttl = ((o.extendedRcode ?? 0) << 24) | ((o.version ?? 0) << 16) | (o.flags ?? 0);
  return record(o.owner ?? '.', 41, o.options ?? Buffer.alloc(0), { cls: o.udpSize ?? 1232, ttl: ttl >>> 0 });
}

/** A TCP stream's bytes for `messages`: each after its two-byte length. */
export function tcpFrames(...messages: Buffer[]): Buffer {
  return Buffer.concat(messages.flatMap((m) => [u16(m.length), m]));
}
