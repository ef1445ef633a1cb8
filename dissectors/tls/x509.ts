/**
 * The bridge to @peculiar/x509, which decodes certificates off the packet path: it is loaded on
 * the first certificate field a rule reads, not when palisade starts, and its name strings are
 * turned into RFC 4514's.
 */
import { createRequire } from 'node:module';
import type * as X509 from '@peculiar/x509';

let loaded: typeof X509 | undefined;

export function x509(): typeof X509 {
  if (loaded === undefined) {
    const require = createRequire(import.meta.url);
    // @peculiar/x509 registers its algorithms with tsyringe, which refuses to load without the
    // Reflect metadata API: the polyfill its authors name, loaded with it and only then.
    require('reflect-metadata');
    loaded = require('@peculiar/x509') as typeof X509;
  }
  return loaded;
}

/**
 * RFC 4514 §2.1 from @peculiar/x509's name string: the RDNs last first, joined by ','. Its string
 * keeps the ASN.1 order joined by ', ', and escapes values as RFC 4514 §2.4 does (every ',' in a
 * value as '\,'), so each unescaped ', ' is a separator.
 */
export function rfc4514(name: string): string {
  const rdns: string[] = [];
  let start = 0;
  for (let i = 0; i < name.length; i++) {
    const c = name[i];
    if (c === '\\') i++;
    else if (c === ',' && name[i + 1] === ' ') {
      rdns.push(name.slice(start, i));
      start = i + 2;
      i++;
    }
  }
  rdns.push(name.slice(start));
  return rdns.reverse().join(',');
}
