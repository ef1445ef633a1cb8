/**
 * Leak stop: a server that starts sending a Unix password file (the classic result of a path
 * traversal) has its side of the connection cut.
 *
 * `halfreset()` drops the segment carrying the leak and sends a RST to the server only. The
 * server is the side to stop: it must not send the rest of the file, and its socket is freed at
 * once. The client, probably the attacker, gets no RST: its connection just stalls, which tells a
 * scanner less than an immediate reset would, and ties up its socket rather than the server's.
 */
import { defineRules, flowState, tcpConnection } from 'palisade';

// The first line of every Linux password file, whatever the password field holds ('x', '*', a
// hash of up to a few dozen characters on old systems).
const passwdLine = /root:[^:\r\n]{0,128}:0:0:/;
// A match can straddle two segments: the end of the previous data is searched again with the
// next. It only has to be as long as the longest match, less one byte.
const CARRY = 'root:'.length + 128 + ':0:0:'.length - 1;

/** The last bytes the server sent, as latin1 text (one character per byte). */
const previous = flowState(() => ({ tail: '' }));

export default defineRules(({ rule, alert }) => {
  rule({
    name: 'passwd-leak',
    on: tcpConnection.events.receiveData,
    eval: (flow, data, direction) => {
      if (direction !== 'down') return;
      const p = previous(flow);
      const text = p.tail + data.toString('latin1');
      if (passwdLine.test(text)) {
        alert({
          description: 'server is sending a password file',
          severity: 'high',
          completion: 'failed',
          sources: [{ address: flow.server.ip, service: `tcp/${flow.server.port}` }],
          targets: [flow.client.ip],
          flow,
        });
        flow.halfreset();
        return;
      }
      p.tail = text.slice(-CARRY);
    },
  });
});
