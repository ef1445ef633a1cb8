/** The address parsers packet writes use: what inet_pton takes, and nothing it refuses. */
import { describe, expect, it } from 'vitest';
import { isIP } from 'node:net';
import { ipv6TextAt, parseIpv4, parseIpv6Into } from '../../core/address-text.ts';

describe('parseIpv4', () => {
  it('reads dotted quads, refusing octal-looking, short, long and out-of-range text', () => {
    expect(parseIpv4('192.168.0.1')).toBe(0xc0a80001);
    expect(parseIpv4('0.0.0.0')).toBe(0);
    expect(parseIpv4('255.255.255.255')).toBe(0xffffffff);
    for (const bad of ['010.0.0.1', '1.2.3', '1.2.3.4.5', '256.0.0.1', '1.2.3.-4', ' 1.2.3.4', '1.2.3.4 ', '', 'a.b.c.d', '1..2.3']) {
      expect(parseIpv4(bad), bad).toBe(-1);
      expect(isIP(bad), bad).toBe(0);
    }
  });
});

describe('parseIpv6Into', () => {
  it('reads RFC 4291 text as Node does, and writes it back as RFC 5952 text', () => {
    const out = Buffer.alloc(16);
    const cases: [string, string][] = [
      ['::', '::'],
      ['::1', '::1'],
      ['2001:db8::1', '2001:db8::1'],
      ['fd00:0:0:1::80', 'fd00:0:0:1::80'],
      ['2001:DB8:0:0:8:800:200C:417A', '2001:db8::8:800:200c:417a'],
      ['::ffff:192.0.2.1', '::ffff:192.0.2.1'],
      ['1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8'],
    ];
    for (const [text, shown] of cases) {
      expect(parseIpv6Into(text, out, 0), text).toBe(true);
      expect(ipv6TextAt(out, 0), text).toBe(shown);
    }
    for (const bad of ['1:2:3:4:5:6:7:8:9', '1::2::3', '12345::', ':1', '1:2:3:4:5:6:7', 'g::1', '::1.2.3', '']) {
      expect(parseIpv6Into(bad, out, 0), bad).toBe(false);
      expect(isIP(bad), bad).not.toBe(6);
    }
  });
});
