/**
 * An SMTP dissector (RFC 5321) built on defineFlowDissector, after Haka's smtp_dissector sample.
 * It reads both directions of a connection line by line and raises typed events: the client's
 * commands, the server's replies (multi-line ones joined), the mail data line by line, and
 * anomalies a rule may want to refuse.
 *
 * The two directions run as two async functions that share one Session per connection: the
 * client side needs the server's answer to DATA (and STARTTLS) to know what the next bytes are.
 * It never awaits the other side: a client must wait for those answers before it sends on
 * (RFC 5321 §4.1.1.4, RFC 2920 §3.1, RFC 3207 §4), so by the time its next bytes arrive the
 * server side has already read the answer. A client that does not wait is an anomaly.
 *
 * Reading a line at a time is also what lets a rule stop a line before any of it leaves: the
 * packets carrying a line are held until the dissector has read the whole line and asked for
 * the next one, and its events (and the rules on them) run in between.
 */
import { defineFlowDissector, flowEvent, type Direction, type FlowDissectorEmit, type TcpFlow, type TcpStream } from 'palisade';

export interface SmtpCommand {
  /** The verb, upper-cased: verbs are case-insensitive (RFC 5321 §2.4). */
  verb: string;
  /** What follows the verb and its space, as sent (`FROM:<alice@example.org> SIZE=706`). */
  args: string;
}

export interface SmtpReply {
  code: number;
  /** The text of each line of the reply, after the code and its separator (RFC 5321 §4.2.1). */
  lines: string[];
  /** The command it answers: its verb, '.' for the end of the mail data, null for the greeting. */
  command: string | null;
}

/** The mail transaction (RFC 5321 §3.3): from MAIL to the end of its data. */
export interface SmtpEnvelope {
  /** The reverse-path of MAIL FROM, without its angle brackets; '' for the null path `<>`. */
  from: string;
  /** The forward-path of each RCPT TO. */
  recipients: string[];
  /** Octets of mail data so far, unstuffed, line endings included. */
  size: number;
}

export type SmtpAnomalyKind =
  /** A mail data line ended by LF alone (RFC 5321 §2.3.8 wants CRLF); reported once per message. */
  | 'bare-lf'
  /** A lone "." that is not <CRLF>.<CRLF>: servers disagree on whether it ends the data (SMTP smuggling). Read as data. */
  | 'ambiguous-end'
  /** A command line over 512 octets or a text line over 1000, CRLF included (RFC 5321 §4.5.3.1). */
  | 'long-line'
  /** The client sent on before the server answered its DATA (RFC 2920 §3.1): read as mail data. */
  | 'early-data'
  /** A server line that is no reply (RFC 5321 §4.2: three digits, then a space, a hyphen or nothing). */
  | 'bad-reply';

export interface SmtpAnomaly {
  kind: SmtpAnomalyKind;
  direction: Direction;
  /** The offending line, as received (latin1). */
  line: string;
}

const events = {
  command: flowEvent<[flow: TcpFlow, command: SmtpCommand]>(),
  response: flowEvent<[flow: TcpFlow, reply: SmtpReply]>(),
  /** One line of the mail data, dot-unstuffed, without its line ending. */
  mailContent: flowEvent<[flow: TcpFlow, line: string, envelope: SmtpEnvelope]>(),
  /** The client ended the mail data (<CRLF>.<CRLF>); the server's verdict is the next response. */
  mailEnd: flowEvent<[flow: TcpFlow, envelope: SmtpEnvelope]>(),
  anomaly: flowEvent<[flow: TcpFlow, anomaly: SmtpAnomaly]>(),
};
type Emit = FlowDissectorEmit<typeof events>;

/** What the two directions of one connection share. */
class Session {
  /** Verbs sent and not answered yet, oldest first: replies come in command order (RFC 2920 §3.1). */
  readonly pending: string[] = [];
  /** The server's greeting has come: every later reply answers a command. */
  greeted = false;
  /** The last DATA or STARTTLS, and the code the server answered it with once it has. */
  gate: { verb: string; code: number | undefined } | null = null;
  envelope: SmtpEnvelope | null = null;
}

const sessions = new WeakMap<TcpFlow, Session>();

function sessionOf(flow: TcpFlow): Session {
  let s = sessions.get(flow);
  if (s === undefined) sessions.set(flow, (s = new Session()));
  return s;
}

/** A line and how it ended: 2 for CRLF, 1 for a bare LF, 0 when the stream ended first. */
interface Line {
  text: string;
  ending: number;
}

async function readLine(stream: TcpStream): Promise<Line | null> {
  const start = stream.position;
  const text = await stream.readLine();
  return text === null ? null : { text, ending: stream.position - start - text.length };
}

const MAX_COMMAND_LINE = 512 - 2; // RFC 5321 §4.5.3.1.4, CRLF excluded
const MAX_TEXT_LINE = 1000 - 2; // §4.5.3.1.6
const TLS_HANDSHAKE = 0x16; // the first byte of a ClientHello record (RFC 8446 §5.1)
const REPLY = /^([2-5]\d\d)(?:([ -])(.*))?$/s;
const PATH = /^(?:FROM|TO):\s*<([^>]*)>/i;

function parseCommand(text: string): SmtpCommand {
  const sp = text.indexOf(' ');
  return sp < 0 ? { verb: text.toUpperCase(), args: '' } : { verb: text.slice(0, sp).toUpperCase(), args: text.slice(sp + 1) };
}

/** The client side: commands, each updating the transaction, and the mail data after an accepted DATA. */
async function client(flow: TcpFlow, stream: TcpStream, emit: Emit): Promise<void> {
  const s = sessionOf(flow);
  let line = await readLine(stream);
  while (line !== null && !flow.dropped) {
    if (line.text.length > MAX_COMMAND_LINE) emit.anomaly(flow, { kind: 'long-line', direction: 'up', line: line.text });
    const command = parseCommand(line.text);
    s.pending.push(command.verb);
    track(s, command);
    emit.command(flow, command);
    if (command.verb === 'DATA' || command.verb === 'STARTTLS') s.gate = { verb: command.verb, code: undefined };

    if (command.verb === 'STARTTLS') {
      // One byte, not a line: a ClientHello has no line end to wait for.
      const first = await stream.read(1);
      if (first === null || s.gate?.code === 220 || first[0] === TLS_HANDSHAKE) return; // TLS from here on
      line = await lineAfter(first.toString('latin1'), stream);
      continue;
    }
    line = await readLine(stream);
    if (command.verb === 'DATA' && line !== null) {
      const code = s.gate?.code;
      if (code === undefined) emit.anomaly(flow, { kind: 'early-data', direction: 'up', line: line.text });
      // 354: the data follows (RFC 5321 §4.1.1.4); any other answer, and the client goes on with commands.
      if (code === undefined || code === 354) line = await mailData(flow, stream, emit, s, line);
    }
  }
}

/** The transaction a command starts, extends or clears (RFC 5321 §4.1.1.2, .3, .5, §4.1.4). */
function track(s: Session, command: SmtpCommand): void {
  switch (command.verb) {
    case 'MAIL':
      s.envelope = { from: PATH.exec(command.args)?.[1] ?? '', recipients: [], size: 0 };
      break;
    case 'RCPT': {
      const to = PATH.exec(command.args)?.[1];
      if (to !== undefined) s.envelope?.recipients.push(to);
      break;
    }
    case 'RSET':
    case 'EHLO':
    case 'HELO':
      s.envelope = null;
  }
}

/** The line that starts with `head`, the bytes read ahead after STARTTLS was refused. */
async function lineAfter(head: string, stream: TcpStream): Promise<Line | null> {
  if (head === '\n') return { text: '', ending: 1 };
  const rest = await readLine(stream);
  if (rest === null) return { text: head, ending: 0 };
  if (head === '\r' && rest.text === '' && rest.ending === 1) return { text: '', ending: 2 };
  return { text: head + rest.text, ending: rest.ending };
}

/**
 * The mail data, from its first line until <CRLF>.<CRLF> (RFC 5321 §4.1.1.4), dot-unstuffed
 * (§4.5.2). Only a "." between two CRLFs ends it, as a strict server reads it. Returns the
 * first line after it.
 */
async function mailData(flow: TcpFlow, stream: TcpStream, emit: Emit, s: Session, first: Line): Promise<Line | null> {
  const envelope = s.envelope ?? { from: '', recipients: [], size: 0 };
  // The CRLF that ended the DATA command opens the first <CRLF>.<CRLF>.
  let afterCrlf = true;
  let bareLf = false;
  for (let line: Line | null = first; line !== null && !flow.dropped; line = await readLine(stream)) {
    const crlf = line.ending === 2;
    if (line.text === '.') {
      if (crlf && afterCrlf) {
        s.pending.push('.');
        s.envelope = null;
        emit.mailEnd(flow, envelope);
        return readLine(stream);
      }
      emit.anomaly(flow, { kind: 'ambiguous-end', direction: 'up', line: line.text });
    }
    if (line.ending === 1 && !bareLf) {
      bareLf = true;
      emit.anomaly(flow, { kind: 'bare-lf', direction: 'up', line: line.text });
    }
    if (line.text.length > MAX_TEXT_LINE) emit.anomaly(flow, { kind: 'long-line', direction: 'up', line: line.text });
    // A leading period was doubled by the client; a lone one (not an end here) stays.
    const text = line.text.length > 1 && line.text.startsWith('.') ? line.text.slice(1) : line.text;
    envelope.size += text.length + line.ending;
    emit.mailContent(flow, text, envelope);
    afterCrlf = crlf;
  }
  return null;
}

/** The server side: replies, multi-line ones joined, each paired with the command it answers. */
async function server(flow: TcpFlow, stream: TcpStream, emit: Emit): Promise<void> {
  const s = sessionOf(flow);
  let lines: string[] = [];
  for (let text = await stream.readLine(); text !== null && !flow.dropped; text = await stream.readLine()) {
    const m = REPLY.exec(text);
    if (m === null) {
      emit.anomaly(flow, { kind: 'bad-reply', direction: 'down', line: text });
      continue;
    }
    lines.push(m[3] ?? '');
    // "250-…" lines continue the reply; "250 …" (or a bare "250") ends it (RFC 5321 §4.2.1).
    if (m[2] === '-') continue;
    const code = Number(m[1]);
    const command = s.greeted ? (s.pending.shift() ?? null) : null;
    s.greeted = true;
    if (s.gate !== null && s.gate.verb === command && s.gate.code === undefined) s.gate.code = code;
    emit.response(flow, { code, lines, command });
    lines = [];
    if (command === 'STARTTLS' && code === 220) return; // TLS from the next byte (RFC 3207 §4)
  }
}

export const smtp = defineFlowDissector({
  name: 'smtp',
  events,
  receiveStreamed: (flow, stream, direction, emit) => (direction === 'up' ? client(flow, stream, emit) : server(flow, stream, emit)),
});
