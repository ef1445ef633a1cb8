// telnet-guard-spec.ts
import { describe, expect, it } from 'vitest';
import { replay, tcpSession } from 'palisade/testing';
import telnetGuard from './telnet-guard.ts';

const login = (user: string, segments = 1) =>
  tcpSession({ server: '192.168.20.80:23' })
    .handshake()
    .send('down', 'login: ')
    .send('up', `${user}\r\n`, { segments })
    .send('down', 'Password: ');

describe('telnet-guard', () => {
  it('cuts a root login: the line never reaches the server, both ends get a RST', async () => {
    const result = await replay({ rules: telnetGuard, packets: login('root').frames() });
    expect(result.alerts).toMatchObject([{ rule: 'no-root-telnet', severity: 'high' }]);
    expect(result.dropped).toEqual([6, 7, 8, 9]);
    expect(result.injected.map((p) => p.after)).toEqual([6, 6]);
    expect(result.flows).toMatchObject([{ end_reason: 'rst' }]);
  });

  it('sees the name typed a few bytes at a time', async () => {
    const result = await replay({ rules: telnetGuard, packets: login('root', 3).frames() });
    // 'ro' and 'ot' pass; the segment with the end of the line is dropped.
    expect(result.dropped[0]).toBe(8);
    expect(result.alerts).toHaveLength(1);
  });

  it('lets anyone else log in', async () => {
    const result = await replay({ rules: telnetGuard, packets: login('alice').frames() });
    expect(result.alerts).toEqual([]);
    expect(result.dropped).toEqual([]);
  });
});
