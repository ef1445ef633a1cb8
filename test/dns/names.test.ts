// Names on the wire: compression, every way a pointer or a label can be wrong, the text form,
// and comparing names as DNS does.
import { describe, expect, it } from 'vitest';
import { MAX_POINTERS, newNameRead, readName, type NameRead } from '../../dissectors/dns/names.ts';
import { inZone, sameName } from '../../dissectors/dns/name-compare.ts';
import { name, pointer } from './build.ts';

const HEADER = Buffer.alloc(12);

/** Reads the name at `off` of header + `body` (offsets count from the header's first byte). */
function read(body: Buffer, off = 12, limit?: number): NameRead {
  const b = Buffer.concat([HEADER, body]);
  const into = newNameRead();
  readName(b, off, limit ?? b.length, into);
  return into;
}

const label = (n: number, c = 'a'): string => c.repeat(n);

describe('readName', () => {
  it('reads labels to the root, and says where the name ends and how long it is', () => {
    expect(read(name('www.example.com'))).toMatchObject({ text: 'www.example.com', end: 12 + 17, length: 17, compressed: false, problem: null });
    expect(read(Buffer.from([0]))).toMatchObject({ text: '.', end: 13, length: 1 });
  });

  it('follows a pointer back to an earlier name, and ends at the pointer', () => {
    // example.com at 12; www + pointer to it at 25.
    const r = read(Buffer.concat([name('example.com'), Buffer.from([3]), Buffer.from('www'), pointer(12)]), 25);
    expect(r).toMatchObject({ text: 'www.example.com', end: 31, length: 17, compressed: true, problem: null });
  });

  it('follows a chain of pointers that each go back', () => {
    // com at 12, example + ptr(12) at 17, www + ptr(17) at 27.
    const body = Buffer.concat([name('com'), Buffer.from([7]), Buffer.from('example'), pointer(12), Buffer.from([3]), Buffer.from('www'), pointer(17)]);
    expect(read(body, 27).text).toBe('www.example.com');
  });

  it('keeps case as sent (0x20)', () => {
    expect(read(name('WwW.ExAmPlE.cOm')).text).toBe('WwW.ExAmPlE.cOm');
  });

  it('escapes a dot and a backslash inside a label, and every byte outside printable ASCII as \\DDD', () => {
    const odd = Buffer.from([7, 0x61, 0x2e, 0x62, 0x5c, 0x20, 0x00, 0xff, 3, 0x63, 0x6f, 0x6d, 0]);
    expect(read(odd).text).toBe('a\\.b\\\\\\032\\000\\255.com');
    // 0x21 and 0x7e are printable and stay; 0x7f does not.
    expect(read(Buffer.from([3, 0x21, 0x7e, 0x7f, 0])).text).toBe('!~\\127');
  });

  it('reads a label of 63 and a name of 255 octets', () => {
    expect(read(name(label(63))).text).toBe(label(63));
    const longest = [label(63), label(63), label(63), label(61)].join('.');
    expect(read(name(longest))).toMatchObject({ text: longest, length: 255, problem: null });
  });

  it('refuses a label of 64 (an extended label type, RFC 6891 §5)', () => {
    expect(read(name(label(64)))).toMatchObject({ text: '', problem: 'label-too-long' });
    expect(read(Buffer.from([0x80, 1, 0])).problem).toBe('label-too-long');
  });

  it('refuses a name of 256 octets, written out or made by pointers', () => {
    expect(read(name([label(63), label(63), label(63), label(62)].join('.'))).problem).toBe('name-too-long');
    // Four names of 63-byte labels, each pointing to the one before: 4 * 64 + 1 octets.
    const parts: Buffer[] = [name(label(63))];
    let at = 12;
    for (let i = 0; i < 3; i++) {
      const here = 12 + Buffer.concat(parts).length;
      parts.push(Buffer.concat([Buffer.from([63]), Buffer.from(label(63)), pointer(at)]));
      at = here;
    }
    expect(read(Buffer.concat(parts), at)).toMatchObject({ problem: 'name-too-long', detail: expect.stringContaining('255') as string });
  });

  it('stops a pointer to itself: a loop', () => {
    expect(read(pointer(12))).toMatchObject({ text: '', problem: 'pointer-loop' });
  });

  it('stops a pointer back into its own labels: a loop', () => {
    // a at 12, then a pointer to 12.
    expect(read(Buffer.concat([Buffer.from([1, 0x61]), pointer(12)])).problem).toBe('pointer-loop');
  });

  it('stops a two-pointer cycle entered backwards as a loop, and one entered forwards as a forward pointer', () => {
    // At 12 a pointer to 14, at 14 one to 12.
    const cycle = Buffer.concat([pointer(14), pointer(12)]);
    expect(read(cycle, 14).problem).toBe('pointer-loop');
    expect(read(cycle, 12).problem).toBe('pointer-forward');
  });

  it('refuses a forward pointer even to a well-formed name (RFC 1035 §4.1.4: a prior occurrence)', () => {
    expect(read(Buffer.concat([pointer(14), name('later')])).problem).toBe('pointer-forward');
  });

  it('refuses a pointer past the end of the message or into the header', () => {
    expect(read(pointer(0x3fff))).toMatchObject({ problem: 'pointer-out-of-range', detail: expect.stringContaining('16383') as string });
    expect(read(pointer(14))).toMatchObject({ problem: 'pointer-out-of-range' });
    expect(read(pointer(5)).problem).toBe('pointer-out-of-range');
    expect(read(pointer(0)).problem).toBe('pointer-out-of-range');
  });

  it('refuses a pointer to a name that runs past the end', () => {
    // At 12 a label of 9 with 2 bytes of it, then at 15 a pointer back to it.
    const back = Buffer.concat([Buffer.from([9, 0x61, 0x62]), pointer(12)]);
    expect(read(back, 15)).toMatchObject({ problem: 'pointer-out-of-range', detail: expect.stringContaining('runs past the end') as string });
  });

  it(`follows ${MAX_POINTERS} pointers and stops at one more`, () => {
    // The root at 12, then pointers each to the one before.
    const chain = (n: number): Buffer => Buffer.concat([Buffer.from([0]), ...Array.from({ length: n }, (_, k) => pointer(k === 0 ? 12 : 13 + 2 * (k - 1)))]);
    expect(read(chain(MAX_POINTERS), 13 + 2 * (MAX_POINTERS - 1))).toMatchObject({ text: '.', problem: null });
    expect(read(chain(MAX_POINTERS + 1), 13 + 2 * MAX_POINTERS)).toMatchObject({ problem: 'too-many-pointers' });
  });

  it('says a name cut by its limit is truncated, before or inside a label or a pointer', () => {
    expect(read(Buffer.from([3, 0x61, 0x62])).problem).toBe('truncated');
    expect(read(Buffer.from([3, 0x61, 0x62, 0x63])).problem).toBe('truncated');
    expect(read(Buffer.from([0xc0])).problem).toBe('truncated');
    // The limit (an RDATA's end) cuts a name the message would complete.
    expect(read(name('abc.def'), 12, 16).problem).toBe('truncated');
  });

  it('refuses a pointer where compression is not allowed', () => {
    const b = Buffer.concat([HEADER, name('x'), pointer(12)]);
    const into = newNameRead();
    expect(readName(b, 15, b.length, into, false)).toBe(false);
    expect(into.problem).toBe('truncated');
  });
});

describe('sameName and inZone', () => {
  it('compare ASCII without case and ignore a final dot', () => {
    expect(sameName('WwW.Example.COM', 'www.example.com.')).toBe(true);
    expect(sameName('www.example.com', 'www.example.org')).toBe(false);
    expect(sameName('.', '')).toBe(true);
    // A \DDD escape is not a letter: case folding leaves it.
    expect(sameName('a\\255.com', 'A\\255.COM')).toBe(true);
  });

  it('do not take an escaped dot for a label boundary', () => {
    expect(sameName('a\\.', 'a')).toBe(false);
    expect(inZone('www.Example.com', 'example.COM')).toBe(true);
    expect(inZone('example.com', 'example.com.')).toBe(true);
    expect(inZone('badexample.com', 'example.com')).toBe(false);
    expect(inZone('a\\.example.com', 'example.com')).toBe(false);
    expect(inZone('a\\\\.example.com', 'example.com')).toBe(true);
    expect(inZone('com', 'example.com')).toBe(false);
    expect(inZone('anything.at.all', '.')).toBe(true);
  });
});
