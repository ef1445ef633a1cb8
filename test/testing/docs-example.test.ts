/**
 * docs/testing.md's vitest example runs here, as a reader's own suite would run it; and the
 * capture of the page's example case is what its builder script makes.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { telnetCapture } from '../../docs/examples/telnet-capture.ts';
// Registers the page's describe() block in this file.
import '../../docs/examples/telnet-guard-spec.ts';

describe('docs/examples/cases/telnet', () => {
  it('holds the capture telnet-capture.ts writes (run `npx tsx docs/examples/telnet-capture.ts` after changing it)', () => {
    const checkedIn = readFileSync(new URL('../../docs/examples/cases/telnet/input.pcap', import.meta.url));
    expect(telnetCapture().equals(checkedIn)).toBe(true);
  });
});
