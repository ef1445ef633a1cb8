// streams-no-gzip.ts
import { defineRules, tcpConnection } from 'palisade';
import type { TcpStream } from 'palisade';

/** The next line, LF included, without reading it; without its LF only at the end of the stream, null there. */
async function peekLine(stream: TcpStream): Promise<Buffer | null> {
  // What has come first; one byte more only when no LF is in it (a line that has come whole waits for nothing).
  for (let n = Math.max(1, stream.available); ; n = stream.available + 1) {
    const bytes = await stream.peek(n);
    if (bytes === null) return null;
    const lf = bytes.indexOf(0x0a);
    if (lf >= 0) return bytes.subarray(0, lf + 1);
    if (bytes.length < n) return bytes;
  }
}

export default defineRules(({ rule }) => {
  // The server must answer in clear, so that the rules reading its answers can: a request's
  // Accept-Encoding field never reaches it (the workshop's "blurring the web" does the same).
  rule({
    name: 'no-gzip',
    on: tcpConnection.events.receiveData,
    options: { streamed: true },
    eval: async (_flow, stream, direction) => {
      if (direction !== 'up') return;
      for (;;) {
        const line = await peekLine(stream);
        if (line === null || line.length === 0) return;
        if (/^accept-encoding:/i.test(line.toString('latin1'))) stream.erase(line.length);
        else await stream.read(line.length);
        // The blank line ends the request's head: its body, and what follows, pass as they are.
        if (line.length <= 2 && line[line.length - 1] === 0x0a) return;
      }
    },
  });
});
