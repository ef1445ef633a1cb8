/** docs/library.md's examples, run: embedding the engine, and replay() in process. */
import { describe, expect, it } from 'vitest';
import { tcpSession } from 'palisade/testing';
import { inspect } from '../docs/examples/library-engine.ts';
import { firewallReport } from '../docs/examples/library-replay.ts';

describe('docs/library.md', () => {
  it('inspect(): frames through createEngine, with verdicts, alerts, JSON lines and crafted RSTs', () => {
    const s = tcpSession({ client: '10.0.0.1:40000', server: '10.0.0.2:23' });
    s.handshake().send('down', 'Debian GNU/Linux 12\r\nlogin: ').send('up', 'root\r\n').close();
    const frames = s.frames();
    const r = inspect(frames);
    expect(r.alerts.map((a) => a.description)).toEqual(['telnet login prompt']);
    expect(r.alerts[0]?.flow?.server).toEqual({ ip: '10.0.0.2', port: 23 });
    expect(r.lines).toHaveLength(1);
    expect(JSON.parse(r.lines[0] ?? '{}')).toMatchObject({ type: 'alert', rule: 'no-telnet', description: 'telnet login prompt' });
    // The handshake passes; the prompt's segment and everything after it are dropped; RSTs go both ways.
    expect(r.verdicts.slice(0, 3)).toEqual(['accept', 'accept', 'accept']);
    expect(r.verdicts[3]).toBe('drop');
    expect(r.verdicts.slice(4).every((v) => v === 'drop')).toBe(true);
    expect(r.injected).toHaveLength(2);
    expect(r.verdicts).toHaveLength(frames.length);
  });

  it('firewallReport(): replay() of the firewall sample', async () => {
    const r = await firewallReport();
    expect(r.refused).toEqual(['192.168.20.80:22', '192.168.20.80:23', '192.168.20.80:80']);
    expect(r.dropped).toHaveLength(29);
    expect(r.forwarded).toBe(14);
  });
});
