/**
 * A DNS record's data as text, in the presentation format of zone files and dig (RFC 1035 §5.1):
 * `10 mail.example.com` for an MX, `"v=spf1 -all" "second"` for a TXT, `\# 4 deadbeef` for a
 * type palisade does not decode (RFC 3597 §5), SvcParams as RFC 9460 §2.1 writes them. Names
 * are the dissector's text already (a byte outside printable ASCII as `\DDD`).
 */
import type { DnsRecord, DnsSvcb } from '../index.ts';

/** The record's data as text; null when its RDATA was malformed ('bad-rdata'). */
export function recordText(r: DnsRecord): string | null {
  if (r.data === null) return null;
  switch (r.typeName) {
    case 'A':
    case 'AAAA':
    case 'NS':
    case 'CNAME':
    case 'PTR':
    case 'DNAME':
      return r.data;
    case 'MX':
      return `${r.data.preference} ${r.data.exchange}`;
    case 'TXT':
      return r.data.map(characterString).join(' ');
    case 'SOA': {
      const s = r.data;
      return `${s.mname} ${s.rname} ${s.serial} ${s.refresh} ${s.retry} ${s.expire} ${s.minimum}`;
    }
    case 'SRV':
      return `${r.data.priority} ${r.data.weight} ${r.data.port} ${r.data.target}`;
    case 'CAA':
      return `${r.data.flags} ${r.data.tag} ${characterString(r.data.value)}`;
    case 'SVCB':
    case 'HTTPS':
      return svcb(r.data);
    case 'OPT':
      return `udpsize=${r.data.udpSize} version=${r.data.version}${r.data.dnssecOk ? ' do' : ''}`;
    default:
      return r.data.length === 0 ? '\\# 0' : `\\# ${r.data.length} ${r.data.toString('hex')}`;
  }
}

/** A <character-string> in quotes: `"` and `\` escaped, a byte outside printable ASCII as `\DDD`. */
function characterString(s: string): string {
  return `"${escaped(s, /["\\]/)}"`;
}

/** `s` (one character per byte) with `special` characters after a backslash and other bytes as `\DDD`. */
function escaped(s: string, special: RegExp): string {
  let out = '';
  for (const c of s) {
    const code = c.charCodeAt(0);
    if (code < 0x20 || code > 0x7e) out += `\\${String(code).padStart(3, '0')}`;
    else out += special.test(c) ? `\\${c}` : c;
  }
  return out;
}

const keyNames = ['mandatory', 'alpn', 'no-default-alpn', 'port', 'ipv4hint', 'ech', 'ipv6hint'];
const keyName = (key: number): string => keyNames[key] ?? `key${key}`;

/** `1 . alpn=h2,h3 port=8443 …`: the priority, the target, each SvcParam in the order sent. */
function svcb(s: DnsSvcb): string {
  const p = s.params;
  const others = new Map(p.others.map((o) => [o.key, o.value]));
  const params = p.keys.map((key) => {
    switch (key) {
      case 0:
        return `mandatory=${(p.mandatory ?? []).map(keyName).join(',')}`;
      case 1:
        // A comma inside an ALPN id is escaped twice (RFC 9460 §7.1.1).
        return `alpn=${(p.alpn ?? []).map((id) => escaped(id, /[",\\]/)).join(',')}`;
      case 2:
        return 'no-default-alpn';
      case 3:
        return `port=${p.port ?? ''}`;
      case 4:
        return `ipv4hint=${(p.ipv4hint ?? []).join(',')}`;
      case 5:
        return `ech=${p.ech?.toString('base64') ?? ''}`;
      case 6:
        return `ipv6hint=${(p.ipv6hint ?? []).join(',')}`;
      default: {
        const value = others.get(key);
        return value === undefined || value.length === 0 ? keyName(key) : `${keyName(key)}=${characterString(value.toString('latin1'))}`;
      }
    }
  });
  return [String(s.priority), s.target, ...params].join(' ');
}
