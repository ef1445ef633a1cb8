/** Where the checked-in captures are, and a reader that keeps copies of every record. */
import { fileURLToPath } from 'node:url';
import { openCapture, type CaptureReader, type OpenCaptureOptions } from '../../core/io/capture.ts';

export const fixture = (name: string): string => fileURLToPath(new URL(name, import.meta.url));

export interface RecordCopy {
  data: Buffer;
  secs: number;
  nsecs: number;
  origLen: number;
  linkType: number;
  record: number;
  offset: number;
}

/**
 * Reads a capture to its end, copying each record (the reader's view is only valid until the
 * next call). A reader error ends the list and is returned, not thrown.
 */
export function readRecords(path: string, options?: OpenCaptureOptions): { records: RecordCopy[]; error: unknown; reader: CaptureReader } {
  const reader = openCapture(path, options);
  const records: RecordCopy[] = [];
  let error: unknown = undefined;
  try {
    for (let rec = reader.next(); rec !== null; rec = reader.next()) records.push({ ...rec, data: Buffer.from(rec.data) });
  } catch (err) {
    error = err;
  } finally {
    reader.close();
  }
  return { records, error, reader };
}

/** One line per record: cheap to compare by the thousand, and readable in a diff. */
export const describeRecord = (r: RecordCopy): string =>
  `#${r.record} @${r.offset} ${r.secs}.${String(r.nsecs).padStart(9, '0')} lt=${r.linkType} ${r.data.length}/${r.origLen} ${r.data.toString('hex')}`;
