/** A frame's trace as text for people (`--trace` at a terminal); `--json` prints the object itself. */
import { describeReason } from '../../dissectors/verdict.ts';
import type { FrameTrace, TraceStep } from '../../dissectors/trace.ts';

function line(s: TraceStep): string {
  switch (s.step) {
    case 'layer':
      return `layer    ${s.layer} ${s.summary}`;
    case 'fragment':
      return `fragment ${s.status}${s.frames !== undefined ? ` (frames ${s.frames.join(', ')})` : ''}${s.anomaly !== undefined ? ` ${s.anomaly}` : ''}`;
    case 'flow':
      return `flow     ${s.proto} ${s.flow} ${s.client} > ${s.server}${s.new ? ' (new)' : s.state !== undefined ? ` (${s.state})` : ''}`;
    case 'flow-after':
      return `flow     ${s.flow} now ${s.state}${s.ended !== undefined ? `, ended: ${s.ended}` : ''}`;
    case 'event':
      return `event    ${s.event}${s.args !== '' ? ` (${s.args})` : ''}`;
    case 'rule':
      return `rule     ${s.rule} -> ${s.threw !== undefined ? `threw: ${s.threw}` : s.result}, ${s.micros} us${s.dropped === true ? ', dropped the packet' : ''}`;
    case 'anomaly':
      return `anomaly  ${s.anomaly}`;
    case 'stream':
      return `stream   ${s.direction} bytes ${s.offset}-${s.offset + s.length} to stream readers`;
    case 'held':
      return 'held     for streamed rules';
    case 'released':
      return `released ${s.during > 0 ? `while frame ${s.during} was judged` : 'between packets'}${s.rule !== undefined ? `, by ${s.rule}` : ''}`;
    case 'injected':
      return `injected a crafted frame (${s.length} bytes)`;
    default:
      return `settled  frame ${s.frame}: ${s.verdict}`;
  }
}

/** Capture time as ISO 8601 with microseconds: 2026-11-23T19:36:28.443210Z. */
function time(seconds: number): string {
  const whole = Math.floor(seconds);
  const micros = Math.min(999_999, Math.round((seconds - whole) * 1e6));
  return `${new Date(whole * 1000).toISOString().slice(0, 19)}.${String(micros).padStart(6, '0')}Z`;
}

export function renderTrace(t: FrameTrace): string {
  const head = `frame ${t.frame} at ${time(t.time)}: ${t.verdict}${t.reason !== undefined ? ` (${describeReason(t.reason)})` : ''}`;
  return [head, ...t.steps.map((s) => `  ${line(s)}`)].join('\n') + '\n';
}
