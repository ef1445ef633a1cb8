/**
 * The fuzzer's seeds: every capture palisade ships or tests with (samples/, test/), as bytes and,
 * where palisade reads it whole and it has one link type, as records to mutate one by one. The
 * real HTTP, TLS and DNS captures are marked with their protocol, so that mutate.ts can aim at
 * the protocol dissectors as often as at the layers below them.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { openCapture } from '../../core/io/capture.ts';

export interface SeedRecord {
  data: Buffer;
  secs: number;
  nsecs: number;
}

export interface Seed {
  /** Path relative to the repository. */
  name: string;
  bytes: Buffer;
  /** Null when the file does not read whole or mixes link types: bytes mutations only. */
  records: SeedRecord[] | null;
  linkType: number;
  /** The application protocol the capture was recorded for, or null. */
  protocol: SeedProtocol | null;
}

export type SeedProtocol = 'http' | 'tls' | 'dns';

/** Captures of real HTTP, TLS and DNS traffic, by path (samples' and the dissectors' tests'). */
const PROTOCOL_CAPTURES: readonly (readonly [RegExp, SeedProtocol])[] = [
  [/^samples\/(http|haka\/httpfilter|haka\/stats_on_exit)\//, 'http'],
  [/^(samples|test\/captures)\/tls\//, 'tls'],
  [/^(samples|test\/captures)\/dns\//, 'dns'],
];

function protocolOf(name: string): SeedProtocol | null {
  for (const [path, protocol] of PROTOCOL_CAPTURES) if (path.test(name)) return protocol;
  return null;
}

/** Seeds larger than this are left out: a fuzz input should take milliseconds. */
const MAX_SEED_BYTES = 256 * 1024;

function captures(dir: string, into: string[]): void {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'node_modules' || entry.name.startsWith('.')) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) captures(path, into);
    else if (/\.pcap(ng)?$/.test(entry.name) && statSync(path).size <= MAX_SEED_BYTES) into.push(path);
  }
}

function readRecords(path: string): { records: SeedRecord[] | null; linkType: number } {
  const records: SeedRecord[] = [];
  let linkType = -1;
  try {
    const reader = openCapture(path);
    try {
      for (let rec = reader.next(); rec !== null; rec = reader.next()) {
        if (linkType !== -1 && rec.linkType !== linkType) return { records: null, linkType };
        linkType = rec.linkType;
        records.push({ data: Buffer.from(rec.data), secs: rec.secs, nsecs: rec.nsecs });
      }
    } finally {
      reader.close();
    }
  } catch {
    return { records: null, linkType };
  }
  return records.length === 0 ? { records: null, linkType } : { records, linkType };
}

export function loadSeeds(root: string): Seed[] {
  const paths: string[] = [];
  for (const dir of ['samples', 'test']) captures(join(root, dir), paths);
  paths.sort();
  return paths.map((path) => {
    const name = relative(root, path);
    return { name, bytes: readFileSync(path), ...readRecords(path), protocol: protocolOf(name) };
  });
}
