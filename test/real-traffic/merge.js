// Joins what the two endpoints of a scenario recorded into captures/<scenario>.json and checks
// the capture that went with it. Run with plain `node` by make-captures.sh:
//
//   node merge.js SCENARIO SERVER.json CLIENT.json CAPTURE.pcap SNAPLEN OUT.json
//
// Output: { scenario, capture, snaplen, connections: [ { client, server, up, down, end } ] },
// connections in the order the client opened them; `up` is what the server application
// received, `down` what the client application received. Fails (exit 1) when
//  - the sides do not pair up one to one by 4-tuple, or their counts differ;
//  - a direction's bytes received differ from the bytes the other application wrote (each
//    scenario is built so that they are equal, RSTs included);
//  - the two sides disagree on how the connection ended;
//  - the capture does not have one SYN (without ACK) per connection, has frames longer than
//    1514 bytes (offload super-frames), or, when not snaplen-limited, a truncated frame or a bad
//    IPv4 header / TCP checksum.
import { readFileSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';

const [scenario, serverFile, clientFile, pcapFile, snaplenText, out] = process.argv.slice(2);
if (!out) {
  console.error('usage: node merge.js SCENARIO SERVER.json CLIENT.json CAPTURE.pcap SNAPLEN OUT.json');
  process.exit(2);
}
const snaplen = Number(snaplenText);
const problems = [];
const server = JSON.parse(readFileSync(serverFile, 'utf8')).connections;
const client = JSON.parse(readFileSync(clientFile, 'utf8')).connections;

const key = (r) => `${r.client} ${r.server}`;
const byKey = new Map();
for (const r of server) {
  if (byKey.has(key(r))) problems.push(`two server connections with the 4-tuple ${key(r)}`);
  byKey.set(key(r), r);
}
if (server.length !== client.length) problems.push(`server saw ${server.length} connections, client ${client.length}`);

const connections = [];
const seen = new Set();
for (const c of client) {
  const k = key(c);
  const s = byKey.get(k);
  if (!s) {
    problems.push(`client connection ${k} has no server side`);
    continue;
  }
  if (seen.has(k)) problems.push(`two client connections with the 4-tuple ${k}`);
  seen.add(k);
  if (c.sent.sha256 !== s.received.sha256 || c.sent.bytes !== s.received.bytes)
    problems.push(`${k}: client wrote ${c.sent.bytes} bytes, server application received ${s.received.bytes}`);
  if (s.sent.sha256 !== c.received.sha256 || s.sent.bytes !== c.received.bytes)
    problems.push(`${k}: server wrote ${s.sent.bytes} bytes, client application received ${c.received.bytes}`);
  if (c.end !== s.end) problems.push(`${k}: client saw ${c.end}, server ${s.end}`);
  if (c.end === 'fin' && !(c.gotFin && s.gotFin)) problems.push(`${k}: no FIN both ways`);
  for (const r of [c, s]) if (r.error) problems.push(`${k}: ${r.role} error ${r.error}`);
  connections.push({ client: c.client, server: c.server, up: s.received, down: c.received, end: c.end });
}

// --- the capture ------------------------------------------------------------------------------

function sum16(buf, start, end, acc = 0) {
  for (let i = start; i + 1 < end; i += 2) acc += buf.readUInt16BE(i);
  if ((end - start) % 2) acc += buf[end - 1] << 8;
  return acc;
}
const fold = (acc) => {
  while (acc > 0xffff) acc = (acc & 0xffff) + Math.floor(acc / 0x10000);
  return acc;
};

const pcap = readFileSync(pcapFile);
const magic = pcap.readUInt32LE(0);
const le = magic === 0xa1b2c3d4 || magic === 0xa1b23c4d;
if (!le && pcap.readUInt32BE(0) !== 0xa1b2c3d4 && pcap.readUInt32BE(0) !== 0xa1b23c4d)
  throw new Error(`${pcapFile}: not a pcap file`);
const u32 = (off) => (le ? pcap.readUInt32LE(off) : pcap.readUInt32BE(off));
const linktype = u32(20) & 0x0fffffff;
if (linktype !== 1) throw new Error(`${pcapFile}: link type ${linktype}, expected Ethernet (1)`);
const stats = { packets: 0, truncated: 0, maxFrame: 0, syns: 0, rsts: 0, fins: 0, badChecksums: 0, payloadBytes: 0 };
for (let off = 24; off + 16 <= pcap.length; ) {
  const incl = u32(off + 8);
  const orig = u32(off + 12);
  const frame = pcap.subarray(off + 16, off + 16 + incl);
  off += 16 + incl;
  stats.packets++;
  stats.maxFrame = Math.max(stats.maxFrame, orig);
  if (incl < orig) stats.truncated++;
  const type = frame.readUInt16BE(12);
  let l4;
  let pseudo;
  let l4len;
  if (type === 0x0800) {
    const ihl = (frame[14] & 0x0f) * 4;
    const total = frame.readUInt16BE(16);
    if (frame[23] !== 6) continue;
    if (incl >= 14 + ihl && fold(sum16(frame, 14, 14 + ihl)) !== 0xffff) stats.badChecksums++;
    l4 = 14 + ihl;
    l4len = total - ihl;
    pseudo = sum16(frame, 26, 34) + 6 + l4len;
  } else if (type === 0x86dd) {
    if (frame[20] !== 6) continue; // no extension headers in these captures
    l4 = 54;
    l4len = frame.readUInt16BE(18);
    pseudo = sum16(frame, 22, 54) + 6 + l4len;
  } else continue;
  const flags = frame[l4 + 13];
  if (flags & 0x02 && !(flags & 0x10)) stats.syns++;
  if (flags & 0x04) stats.rsts++;
  if (flags & 0x01) stats.fins++;
  stats.payloadBytes += l4len - (frame[l4 + 12] >> 4) * 4;
  if (incl === orig && fold(sum16(frame, l4, l4 + l4len, pseudo)) !== 0xffff) stats.badChecksums++;
}
if (stats.syns !== connections.length) problems.push(`capture has ${stats.syns} SYNs for ${connections.length} connections`);
if (stats.maxFrame > 1514) problems.push(`capture has a ${stats.maxFrame}-byte frame: offload still on`);
if (stats.badChecksums) problems.push(`capture has ${stats.badChecksums} bad checksums`);
if (!snaplen && stats.truncated) problems.push(`capture has ${stats.truncated} truncated frames`);
if (snaplen && !stats.truncated) problems.push(`snaplen ${snaplen} cut no frame`);

if (problems.length) {
  for (const p of problems) console.error(`${scenario}: ${p}`);
  process.exit(1);
}
writeFileSync(
  out,
  `${JSON.stringify({ scenario, capture: basename(pcapFile), snaplen: snaplen || null, connections }, null, 2)}\n`,
);
const up = connections.reduce((n, c) => n + c.up.bytes, 0);
const down = connections.reduce((n, c) => n + c.down.bytes, 0);
const ends = connections.reduce((m, c) => ((m[c.end] = (m[c.end] ?? 0) + 1), m), {});
console.log(
  `  ${scenario}: ${connections.length} connection(s), up ${up} B, down ${down} B, ` +
    `end ${Object.entries(ends).map(([e, n]) => `${e}×${n}`).join(' ')}; capture ${stats.packets} packets, ` +
    `${pcap.length} B, max frame ${stats.maxFrame}, ${stats.truncated} truncated, SYN ${stats.syns} FIN ${stats.fins} RST ${stats.rsts}`,
);
