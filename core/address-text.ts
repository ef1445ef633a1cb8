/**
 * Addresses as text, written one way everywhere: alerts, flow records, the rule API, and the
 * destination handed to raw sockets. IPv4 dotted quads; IPv6 per RFC 5952.
 */

/** Dotted text of an IPv4 address held as a uint32. */
export function ipv4Text(addr: number): string {
  return `${addr >>> 24}.${(addr >>> 16) & 255}.${(addr >>> 8) & 255}.${addr & 255}`;
}

/** Dotted text of the IPv4 address at `b[o..o+4]`. */
export function ipv4TextAt(b: Uint8Array, o: number): string {
  return `${b[o] as number}.${b[o + 1] as number}.${b[o + 2] as number}.${b[o + 3] as number}`;
}

const group = (b: Uint8Array, o: number): number => ((b[o] as number) << 8) | (b[o + 1] as number);

/**
 * RFC 5952 text of the IPv6 address at `b[o..o+16]`: lowercase, no leading zeros, the first
 * longest run of two or more zero groups as '::'. IPv4-mapped (::ffff:a.b.c.d, RFC 5952 §5) and
 * IPv4-compatible (::a.b.c.d) addresses end in a dotted quad, as inet_ntop writes them, so alerts
 * read like tcpdump, Wireshark and Zeek.
 */
export function ipv6TextAt(b: Uint8Array, o: number): string {
  let zeros = 0;
  while (zeros < 10 && b[o + zeros] === 0) zeros++;
  if (zeros === 10) {
    const g5 = group(b, o + 10);
    if (g5 === 0xffff) return `::ffff:${ipv4TextAt(b, o + 12)}`;
    if (g5 === 0 && group(b, o + 12) !== 0) return `::${ipv4TextAt(b, o + 12)}`;
  }
  let bestStart = -1;
  let bestLen = 1;
  let runStart = -1;
  for (let g = 0; g < 8; g++) {
    if (group(b, o + 2 * g) === 0) {
      if (runStart < 0) runStart = g;
      if (g - runStart + 1 > bestLen) {
        bestStart = runStart;
        bestLen = g - runStart + 1;
      }
    } else {
      runStart = -1;
    }
  }
  let s = '';
  for (let g = 0; g < 8; g++) {
    if (g === bestStart) {
      s += '::';
      g += bestLen - 1;
      continue;
    }
    if (g > 0 && g !== bestStart + bestLen) s += ':';
    s += group(b, o + 2 * g).toString(16);
  }
  return s;
}

/** Dotted-quad text (four decimal octets, no leading zeros past one digit) as a uint32, or -1. */
export function parseIpv4(text: string): number {
  const parts = text.split('.');
  if (parts.length !== 4) return -1;
  let v = 0;
  for (const p of parts) {
    // Leading zeros are refused: inet_aton would read them as octal (RFC 6943 §3.1.1).
    if (!/^(0|[1-9]\d{0,2})$/.test(p)) return -1;
    const n = Number(p);
    if (n > 255) return -1;
    v = v * 256 + n;
  }
  return v >>> 0;
}

/** RFC 4291 §2.2 text (`::` once, an IPv4 tail allowed) written as 16 bytes at `out[o]`; false when it is not an address. */
export function parseIpv6Into(text: string, out: Uint8Array, o: number): boolean {
  const halves = text.split('::');
  if (halves.length > 2) return false;
  const words = (s: string): number[] | null => {
    if (s === '') return [];
    const groups = s.split(':');
    const list: number[] = [];
    for (let i = 0; i < groups.length; i++) {
      const g = groups[i] as string;
      if (i === groups.length - 1 && g.includes('.')) {
        const v4 = parseIpv4(g);
        if (v4 < 0) return null;
        list.push(v4 >>> 16, v4 & 0xffff);
      } else if (/^[0-9a-fA-F]{1,4}$/.test(g)) list.push(parseInt(g, 16));
      else return null;
    }
    return list;
  };
  const head = words(halves[0] as string);
  const tail = halves.length === 2 ? words(halves[1] as string) : [];
  if (head === null || tail === null) return false;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return false;
  const all = [...head, ...new Array<number>(missing).fill(0), ...tail];
  for (let i = 0; i < 8; i++) {
    const w = all[i] as number;
    out[o + 2 * i] = w >>> 8;
    out[o + 2 * i + 1] = w & 0xff;
  }
  return true;
}
