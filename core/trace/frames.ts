/** `--trace FRAMES`: a list of frame numbers and ranges (`12`, `3,7-9`, `100-`), or `all`. */
import { usageError } from '../errors.ts';

export type FrameSelection = (frame: number) => boolean;

export function parseFrames(text: string, flag = '--trace'): FrameSelection {
  const t = text.trim();
  if (t === 'all') return () => true;
  const ranges: [number, number][] = [];
  for (const part of t.split(',')) {
    const m = /^(\d+)(?:(-)(\d*))?$/.exec(part.trim());
    if (m === null) throw usageError(`${flag} takes frame numbers and ranges (12, 3,7-9, 100-) or all, not '${part}'`);
    const from = Number(m[1]);
    const to = m[2] === undefined ? from : m[3] === '' ? Infinity : Number(m[3]);
    if (from < 1 || to < from) throw usageError(`${flag}: '${part}' is not a range of frame numbers (frames count from 1)`);
    ranges.push([from, to]);
  }
  return (frame) => {
    for (const [from, to] of ranges) if (frame >= from && frame <= to) return true;
    return false;
  };
}
