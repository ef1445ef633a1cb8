/**
 * tshark's view of a capture, one record of named fields per frame: what the builder, RST and
 * fragment tests check palisade's bytes against. tshark is required (CI installs it): without
 * it these suites fail, they do not skip.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TsharkOptions {
  /** `-o name:value` preferences, e.g. 'tcp.check_checksum:TRUE'. */
  prefs?: readonly string[];
  /** A display filter (-Y): only the frames it matches. */
  filter?: string;
  /** Two passes (-2), so that a fragment names the frame that completes its datagram. */
  twoPass?: boolean;
}

/** The fields of every frame of `capture` (a pcap file's bytes), in order; [] when no frame matches. */
export function tsharkFields(capture: Uint8Array, fields: readonly string[], options: TsharkOptions = {}): Record<string, string>[] {
  const dir = mkdtempSync(join(tmpdir(), 'palisade-tshark-'));
  try {
    const path = join(dir, 'capture.pcap');
    writeFileSync(path, capture);
    const out = execFileSync(
      'tshark',
      [
        ...(options.twoPass === true ? ['-2'] : []),
        '-r', path,
        ...(options.prefs ?? []).flatMap((p) => ['-o', p]),
        ...(options.filter === undefined ? [] : ['-Y', options.filter]),
        '-T', 'fields',
        ...fields.flatMap((f) => ['-e', f]),
      ],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
    );
    if (out === '') return [];
    return out
      .replace(/\n$/, '')
      .split('\n')
      .map((line) => Object.fromEntries(line.split('\t').map((v, i) => [fields[i] as string, v])));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
