/**
 * `replay -o FILE`: the output capture, pcapng when FILE is named .pcapng (any number of link
 * types, 64-bit times), else pcap (one link type, the first packet's; times up to 2106).
 */
import { outputError } from '../errors.ts';
import { PcapWriter } from './pcap-writer.ts';
import { PcapngWriter } from './pcapng-writer.ts';

export interface OutputCapture {
  /** A forwarded packet. */
  write(data: Uint8Array, secs: number, nsecs: number, linkType: number): void;
  /** A crafted packet (a RST): in a pcap of another link type it has no place and is left out. */
  inject(data: Uint8Array, secs: number, nsecs: number, linkType: number): void;
  /** Flushes and closes; an empty run still leaves a valid capture. */
  close(): void;
}

export function openOutputCapture(path: string): OutputCapture {
  if (path.toLowerCase().endsWith('.pcapng')) {
    const w = new PcapngWriter(path);
    return {
      write: (data, secs, nsecs, linkType) => {
        w.write(data, secs, nsecs, linkType);
      },
      inject: (data, secs, nsecs, linkType) => {
        w.write(data, secs, nsecs, linkType);
      },
      close: () => {
        w.close();
      },
    };
  }
  // Opened with the first packet, whose link type the file takes.
  let w: PcapWriter | undefined;
  let fileLinkType = -1;
  const open = (linkType: number): PcapWriter => {
    fileLinkType = linkType;
    return new PcapWriter(path, { linkType });
  };
  return {
    write: (data, secs, nsecs, linkType) => {
      w ??= open(linkType);
      if (linkType !== fileLinkType) {
        throw outputError(path, `packets of link types ${fileLinkType} and ${linkType} cannot share one pcap file (name the output .pcapng to write pcapng)`);
      }
      w.write(data, secs, nsecs);
    },
    inject: (data, secs, nsecs, linkType) => {
      w ??= open(linkType);
      if (linkType === fileLinkType) w.write(data, secs, nsecs);
    },
    close: () => {
      (w ??= open(1)).close();
    },
  };
}
