import { describe, expect, it } from 'vitest';
import {
  isSupportedLinkType,
  LINKTYPE_ETHERNET,
  LINKTYPE_IPV4,
  LINKTYPE_IPV6,
  LINKTYPE_LINUX_SLL,
  LINKTYPE_LINUX_SLL2,
  LINKTYPE_LOOP,
  LINKTYPE_NULL,
  LINKTYPE_RAW,
  normalizeLinkType,
} from '../core/link-types.ts';

describe('link types', () => {
  it('have their tcpdump.org LINKTYPE_ values', () => {
    expect([LINKTYPE_NULL, LINKTYPE_ETHERNET, LINKTYPE_RAW, LINKTYPE_LOOP, LINKTYPE_LINUX_SLL, LINKTYPE_IPV4, LINKTYPE_IPV6, LINKTYPE_LINUX_SLL2]).toEqual([
      0, 1, 101, 108, 113, 228, 229, 276,
    ]);
  });

  it('maps the old DLT_RAW values 12 and 14 to LINKTYPE_RAW and leaves the rest', () => {
    expect([12, 14, 0, 1, 101, 105].map(normalizeLinkType)).toEqual([101, 101, 0, 1, 101, 105]);
  });

  it('supports what the link dissectors read, and nothing else', () => {
    expect([0, 1, 12, 14, 101, 108, 113, 228, 229, 276].every(isSupportedLinkType)).toBe(true);
    expect([2, 6, 105, 127, 147, 192, 0xffff].some(isSupportedLinkType)).toBe(false);
  });
});
