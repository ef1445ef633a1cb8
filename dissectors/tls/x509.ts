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
    provideReflectMetadata();
    loaded = createRequire(import.meta.url)('@peculiar/x509') as typeof X509;
  }
  return loaded;
}

interface MetadataApi {
  getMetadata(key: unknown, target: object): unknown;
  getOwnMetadata(key: unknown, target: object): unknown;
  defineMetadata(key: unknown, value: unknown, target: object): void;
}

/**
 * @peculiar/x509 registers its algorithms with tsyringe, which refuses to load unless the
 * Reflect metadata API (the `reflect-metadata` polyfill) is there, and reads only the
 * constructor parameter types that TypeScript decorators would have stored (none here). These
 * three functions are that API, installed only where nothing provides it already.
 */
function provideReflectMetadata(): void {
  const api = Reflect as unknown as Partial<MetadataApi>;
  if (api.getMetadata !== undefined) return;
  const store = new WeakMap<object, Map<unknown, unknown>>();
  api.getOwnMetadata = (key, target) => store.get(target)?.get(key);
  api.getMetadata = (key, target) => {
    for (let t: object | null = target; t !== null; t = Object.getPrototypeOf(t) as object | null) {
      const m = store.get(t);
      if (m?.has(key) === true) return m.get(key);
    }
    return undefined;
  };
  api.defineMetadata = (key, value, target) => {
    let m = store.get(target);
    if (m === undefined) store.set(target, (m = new Map()));
    m.set(key, value);
  };
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
