// The real endpoints of the inline end-to-end test, run with plain `node` inside the test's
// network namespaces (ip netns exec NS node endpoints.js …). Each prints JSON lines on stdout.
//
//   node endpoints.js server
//       HTTP on 8080: GET /small, GET /big (10 MiB of seeded bytes), GET /repeat/N (N bytes of
//       /big over and over), GET /bulk/N (N zero bytes),
//       POST /upload (answers the body's SHA-256); plain TCP on 9000, 9100, 9200 and 9999,
//       reporting accept/data/error/close.
//       Prints {"event":"listening","bigSha256"} when ready.
//   node endpoints.js keyword HOST PORT WORD
//       Connects, sends "hello\n", then "x WORD y\n", and reports when the socket closes, or
//       2 s after the keyword if it does not: {"localPort","connected","error","closed","ms"}.
//   node endpoints.js connect HOST PORT MS
//       Tries to connect for MS ms: {"connected": true|false}.
//   node endpoints.js garbage SRC DST
//       Sends malformed IPv4/TCP datagrams from SRC to DST through a raw socket (a TCP header
//       cut short, a data offset past the end, no flags, a bad checksum) and prints {"sent": N}.
//   node endpoints.js send-ip DST HEX...
//       Sends each HEX (a whole IPv4 packet, checksums its own) to DST through a raw socket, in
//       order, and prints {"sent": N}: crafted segments of a connection no socket has.
//   node endpoints.js udp-burst HOST PORT N
//       Sends N small UDP datagrams to HOST:PORT and prints {"sent": N}.
//   node endpoints.js hold HOST PORT
//       Connects and keeps the connection; reads commands on stdin: "send TEXT" (a line),
//       "write TEXT" (no line end), "end".
//
// (A .js file, ESM through package.json "type": "module": eslint.config.js ignores **/*.js.)
import { createHash } from 'node:crypto';
import dgram from 'node:dgram';
import http from 'node:http';
import net from 'node:net';
import { createRequire } from 'node:module';
import { createInterface } from 'node:readline';
import { seededBytes } from '../seeded-bytes.js';

const out = (record) => process.stdout.write(`${JSON.stringify(record)}\n`);

const BIG_SEED = 6;
const BIG_SIZE = 10 * 1024 * 1024;

/** Answers `size` bytes of `chunk` over and over, one write per chunk, minding back-pressure. */
function repeat(res, chunk, size) {
  let left = size;
  res.setHeader('content-length', left);
  const more = () => {
    while (left > 0) {
      const n = Math.min(left, chunk.length);
      left -= n;
      if (!res.write(n === chunk.length ? chunk : chunk.subarray(0, n))) {
        res.once('drain', more);
        return;
      }
    }
    res.end();
  };
  more();
}

function server() {
  const big = seededBytes(BIG_SEED, BIG_SIZE);
  const zeros = Buffer.alloc(1024 * 1024);
  const web = http.createServer((req, res) => {
    if (req.method === 'GET' && req.url === '/small') {
      res.end('hello through palisade\n');
    } else if (req.method === 'GET' && req.url === '/big') {
      res.setHeader('content-length', big.length);
      res.end(big);
    } else if (req.method === 'GET' && req.url?.startsWith('/repeat/')) {
      // N bytes: the /big bytes over and over, in 10 MiB writes.
      repeat(res, big, Number(req.url.slice('/repeat/'.length)));
    } else if (req.method === 'GET' && req.url?.startsWith('/bulk/')) {
      // N bytes of zeros, in 1 MiB writes (bench/inline.ts).
      repeat(res, zeros, Number(req.url.slice('/bulk/'.length)));
    } else if (req.method === 'POST' && req.url === '/upload') {
      const hash = createHash('sha256');
      let bytes = 0;
      req.on('data', (d) => {
        hash.update(d);
        bytes += d.length;
      });
      req.on('end', () => res.end(JSON.stringify({ bytes, sha256: hash.digest('hex') })));
    } else {
      res.statusCode = 404;
      res.end();
    }
  });
  const listening = [new Promise((resolve) => web.listen(8080, resolve))];
  for (const port of [9000, 9100, 9200, 9999]) {
    const s = net.createServer((sock) => {
      const remotePort = sock.remotePort;
      out({ event: 'accept', port, remotePort });
      sock.on('data', (d) => out({ event: 'data', port, remotePort, text: d.toString('latin1') }));
      sock.on('error', (err) => out({ event: 'error', port, remotePort, code: err.code }));
      sock.on('close', () => out({ event: 'close', port, remotePort }));
    });
    listening.push(new Promise((resolve) => s.listen(port, resolve)));
  }
  void Promise.all(listening).then(() => out({ event: 'listening', bigSha256: createHash('sha256').update(big).digest('hex') }));
}

function keyword(host, port, word) {
  const result = { localPort: 0, connected: false, error: null, closed: false, ms: -1 };
  let t0 = 0;
  const report = () => {
    out(result);
    process.exit(0);
  };
  const sock = net.connect(Number(port), host, () => {
    result.connected = true;
    result.localPort = sock.localPort;
    sock.write('hello\n');
    setTimeout(() => {
      t0 = performance.now();
      sock.write(`x ${word} y\n`);
      // A socket still open then was left alone.
      setTimeout(report, 2000);
    }, 300);
  });
  sock.on('error', (err) => {
    result.error = err.code;
  });
  sock.on('close', () => {
    result.closed = true;
    if (t0 > 0) result.ms = Math.round(performance.now() - t0);
    report();
  });
}

function connect(host, port, ms) {
  const sock = net.connect(Number(port), host, () => {
    out({ connected: true });
    sock.destroy();
    process.exit(0);
  });
  sock.on('error', (err) => {
    out({ connected: false, error: err.code });
    process.exit(0);
  });
  setTimeout(() => {
    out({ connected: false, error: 'timeout' });
    process.exit(0);
  }, Number(ms));
}

function hold(host, port) {
  const sock = net.connect(Number(port), host, () => {
    out({ event: 'connected', localPort: sock.localPort });
  });
  // No Nagle: a line's second half must not wait for the ACK of its first, which palisade holds.
  sock.setNoDelay(true);
  sock.on('data', (d) => out({ event: 'data', text: d.toString('latin1') }));
  sock.on('error', (err) => out({ event: 'error', code: err.code }));
  sock.on('close', () => {
    out({ event: 'close' });
    process.exit(0);
  });
  createInterface({ input: process.stdin }).on('line', (line) => {
    if (line.startsWith('send ')) sock.write(`${line.slice(5)}\n`, () => out({ event: 'sent' }));
    else if (line.startsWith('write ')) sock.write(line.slice(6), () => out({ event: 'sent' }));
    else if (line === 'end') sock.end();
  });
}

function garbage(src, dst) {
  const raw = createRequire(import.meta.url)('raw-socket');
  const sock = raw.createSocket({ addressFamily: raw.AddressFamily.IPv4, protocol: 255 });
  const ip = (payload, proto = 6) => {
    const b = Buffer.alloc(20 + payload.length);
    b[0] = 0x45;
    b.writeUInt16BE(b.length, 2);
    b[8] = 64;
    b[9] = proto;
    src.split('.').forEach((x, i) => (b[12 + i] = Number(x)));
    dst.split('.').forEach((x, i) => (b[16 + i] = Number(x)));
    payload.copy(b, 20);
    return b;
  };
  const tcp = (flags, dataOffsetWords, extra = 0) => {
    const t = Buffer.alloc(20 + extra);
    t.writeUInt16BE(40000, 0);
    t.writeUInt16BE(9000, 2);
    t.writeUInt32BE(12345, 4);
    t[12] = dataOffsetWords << 4;
    t[13] = flags;
    t.writeUInt16BE(0xbeef, 16); // wrong on purpose
    return t;
  };
  const datagrams = [
    ip(Buffer.from([1, 2, 3])), // TCP header cut short
    ip(tcp(0x18, 15)), // data offset 60 bytes, only 20 there
    ip(tcp(0x00, 5, 4)), // no flags
    ip(tcp(0x03, 5)), // SYN+FIN
    ip(tcp(0x10, 5, 100)), // bad checksum, no connection
    ip(Buffer.from([0x45, 0, 0, 8]), 17), // UDP header cut short
  ];
  sendInOrder(sock, dst, datagrams);
}

// Whole IPv4 packets, as given, one at a time (the kernel fills in nothing but the IP checksum
// and length it would anyway).
function sendIp(dst, hexes) {
  const raw = createRequire(import.meta.url)('raw-socket');
  const sock = raw.createSocket({ addressFamily: raw.AddressFamily.IPv4, protocol: 255 });
  sendInOrder(sock, dst, hexes.map((h) => Buffer.from(h, 'hex')));
}

// One at a time, and a timer to hold the event loop open: raw-socket's poll handle alone does
// not keep the process alive until its queued sends are done. Prints {"sent": N} and exits.
function sendInOrder(sock, dst, packets) {
  const guard = setTimeout(() => {
    out({ sent, error: 'timeout' });
    process.exit(1);
  }, 5000);
  let sent = 0;
  const next = () => {
    const d = packets[sent];
    if (d === undefined) {
      clearTimeout(guard);
      out({ sent });
      process.exit(0);
    }
    sock.send(d, 0, d.length, dst, (err) => {
      if (err) process.stderr.write(`${err.message}\n`);
      sent++;
      next();
    });
  };
  next();
}

// N UDP datagrams to HOST:PORT as fast as they go (nobody need listen): fills a stopped
// palisade's queue.
function udpBurst(host, port, n) {
  const sock = dgram.createSocket('udp4');
  const payload = Buffer.alloc(64, 0x55);
  let sent = 0;
  const next = () => {
    if (sent === Number(n)) {
      sock.close();
      out({ sent });
      return;
    }
    sock.send(payload, Number(port), host, (err) => {
      if (err) process.stderr.write(`${err.message}\n`);
      sent++;
      next();
    });
  };
  next();
}

const [mode, ...args] = process.argv.slice(2);
if (mode === 'server') server();
else if (mode === 'keyword') keyword(args[0], args[1], args[2]);
else if (mode === 'connect') connect(args[0], args[1], args[2]);
else if (mode === 'hold') hold(args[0], args[1]);
else if (mode === 'garbage') garbage(args[0], args[1]);
else if (mode === 'send-ip') sendIp(args[0], args.slice(1));
else if (mode === 'udp-burst') udpBurst(args[0], args[1], args[2]);
else if (mode !== undefined) {
  process.stderr.write(`unknown mode ${mode}\n`);
  process.exit(2);
}
