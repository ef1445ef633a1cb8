// One endpoint of a real-traffic scenario, run with plain `node` inside a network namespace by
// make-captures.sh:
//
//   node endpoint.js server SCENARIO HOST PORT OUT.json
//   node endpoint.js client SCENARIO HOST PORT OUT.json
//
// Each side writes OUT.json: one record per connection with the 4-tuple as this socket sees it,
// and the byte count and SHA-256 of everything its application received and sent. merge.js
// joins the two sides by 4-tuple. The server prints "listening" once it accepts connections
// and exits by itself once the scenario's connections have all closed.
//
// (A .js file, ESM through package.json "type": "module": eslint.config.js ignores **/*.js,
// while a .mjs file would be linted with type information and fail as outside the tsconfig.)
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import net from 'node:net';
import { seededBytes } from '../seeded-bytes.js';

const KiB = 1024;
const MiB = 1024 * KiB;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const fmt = (addr, port) => (net.isIPv6(addr) ? `[${addr}]:${port}` : `${addr}:${port}`);

/**
 * Wraps a socket: counts and hashes what the application reads and writes, remembers how the
 * connection ended. Its 'data' listener is attached first, so handlers see updated counts.
 */
function track(sock, role, order) {
  const recvHash = createHash('sha256');
  const sentHash = createHash('sha256');
  const conn = {
    sock,
    order,
    recvBytes: 0,
    sentBytes: 0,
    gotFin: false, // the peer's FIN reached the application ('end')
    reset: false, // ECONNRESET, or this side reset
    error: null,
    waiters: [],
    record: null,
    send(buf) {
      sentHash.update(buf);
      conn.sentBytes += buf.length;
      return sock.write(buf);
    },
    /** Resolves once the application has received at least n bytes in total. */
    received(n) {
      if (conn.recvBytes >= n) return Promise.resolve();
      return new Promise((resolve, reject) => conn.waiters.push({ n, resolve, reject }));
    },
    /** Resolves once the peer's FIN reached the application. */
    ended: null,
    closed: null,
  };
  const tuple = () =>
    role === 'client'
      ? { client: fmt(sock.localAddress, sock.localPort), server: fmt(sock.remoteAddress, sock.remotePort) }
      : { client: fmt(sock.remoteAddress, sock.remotePort), server: fmt(sock.localAddress, sock.localPort) };
  let addr = null;
  const remember = () => {
    if (!addr && sock.remotePort) addr = tuple();
  };
  if (role === 'server') remember();
  else sock.once('connect', remember);
  const fail = (err) => {
    for (const w of conn.waiters.splice(0)) w.reject(err);
  };
  sock.on('data', (d) => {
    recvHash.update(d);
    conn.recvBytes += d.length;
    conn.waiters = conn.waiters.filter((w) => (conn.recvBytes >= w.n ? (w.resolve(), false) : true));
  });
  conn.ended = new Promise((resolve) => sock.once('end', () => ((conn.gotFin = true), resolve())));
  sock.on('end', () => fail(new Error(`FIN after ${conn.recvBytes} bytes`)));
  sock.on('error', (err) => {
    conn.error = err;
    if (err.code === 'ECONNRESET') conn.reset = true;
    fail(err);
  });
  conn.closed = new Promise((resolve) =>
    sock.once('close', () => {
      remember();
      conn.record = {
        order,
        ...addr,
        role,
        received: { bytes: conn.recvBytes, sha256: recvHash.digest('hex') },
        sent: { bytes: conn.sentBytes, sha256: sentHash.digest('hex') },
        end: conn.reset ? 'rst' : 'fin',
        gotFin: conn.gotFin,
        error: conn.error && !conn.reset ? String(conn.error.code ?? conn.error.message) : null,
      };
      resolve(conn.record);
    }),
  );
  return conn;
}

// ---------------------------------------------------------------------------------------------
// Scenarios. Each has the number of connections, a server handler (per accepted connection) and
// a client driver (the whole client side). Servers are allowHalfOpen: they close their side
// explicitly. The amounts keep every capture a few MB at most.

const bulk = (up, down, seed) => ({
  connections: 1,
  // Client sends `up` bytes; the server answers with `down` bytes once it has them all, then
  // FINs; the client FINs on the server's FIN (allowHalfOpen false).
  async server(c) {
    await c.received(up);
    c.send(seededBytes(seed + 1, down));
    c.sock.end();
    await c.ended;
  },
  async client(connect) {
    const c = await connect();
    c.send(seededBytes(seed, up));
    await c.closed;
  },
});

// short: request line, response, close. Even i: the server closes first; odd i: the client
// closes first, once it has the whole response. The first 40 run one after another, the other
// 160 with up to 16 at a time.
const SHORT_N = 200;
const shortLen = (i) => 40 + ((i * 397) % 2900);
const shortResponse = (i) => {
  const head = Buffer.from(`200 item ${i} `);
  const body = Buffer.alloc(shortLen(i) - head.length - 1, 'abcdefghijklmnopqrstuvwxyz0123456789'.charAt(i % 36));
  return Buffer.concat([head, body, Buffer.from('\n')]);
};

const scenarios = {
  bulk: bulk(2 * MiB, 1 * MiB, 0x5eed0001),
  snaplen: bulk(2 * MiB, 1 * MiB, 0x5eed0006),

  short: {
    connections: SHORT_N,
    async server(c) {
      let line = '';
      await new Promise((resolve) => {
        const onData = (d) => {
          line += d.toString('latin1');
          if (line.includes('\n')) {
            c.sock.off('data', onData);
            resolve();
          }
        };
        c.sock.on('data', onData);
      });
      const i = Number(/^GET \/item\/(\d+) /.exec(line)?.[1]);
      c.send(shortResponse(i));
      if (i % 2 === 0) c.sock.end();
      await c.ended;
      c.sock.end();
    },
    async client(connect) {
      const one = async (i) => {
        const c = await connect();
        c.send(Buffer.from(`GET /item/${i} HTTP/1.0\r\n`));
        await c.received(shortLen(i));
        if (i % 2 === 1) c.sock.end();
        await c.closed;
      };
      for (let i = 0; i < 40; i++) await one(i);
      let next = 40;
      const worker = async () => {
        while (next < SHORT_N) await one(next++);
      };
      await Promise.all(Array.from({ length: 16 }, worker));
    },
  },

  // half-close: the client sends 64 KiB and FINs at once; after that FIN the server sends
  // 200 KiB in four bursts 20 ms apart, then FINs.
  'half-close': {
    connections: 1,
    async server(c) {
      await c.ended;
      const data = seededBytes(0x5eed0013, 200 * KiB);
      for (let off = 0; off < data.length; off += 50 * KiB) {
        c.send(data.subarray(off, off + 50 * KiB));
        await sleep(20);
      }
      c.sock.end();
    },
    async client(connect) {
      const c = await connect();
      c.send(seededBytes(0x5eed0003, 64 * KiB));
      c.sock.end();
      await c.closed;
    },
  },

  // linger-rst: the server resets (SO_LINGER 0) in the middle of an exchange, at a point where
  // every byte on the wire has been read by the applications, so what each application
  // received is exactly what went over the wire in each direction before the RST.
  //  #0: client sends 100 KiB; server answers 30 KiB; client sends 50 KiB more and waits for an
  //      answer; the server reads those 50 KiB and resets.
  //  #1: client sends 20 KiB and waits; the server reads them and resets without a byte sent.
  'linger-rst': {
    connections: 2,
    async server(c) {
      if (c.order === 0) {
        await c.received(100 * KiB);
        c.send(seededBytes(0x5eed0024, 30 * KiB));
        await c.received(150 * KiB);
      } else {
        await c.received(20 * KiB);
      }
      c.reset = true;
      c.sock.resetAndDestroy();
    },
    async client(connect) {
      {
        const c = await connect();
        c.send(seededBytes(0x5eed0004, 100 * KiB));
        await c.received(30 * KiB);
        c.send(seededBytes(0x5eed0014, 50 * KiB));
        await c.closed;
      }
      {
        const c = await connect();
        c.send(seededBytes(0x5eed0034, 20 * KiB));
        await c.closed;
      }
    },
  },

  // ipv6: 500 KiB each way at the same time (the server starts sending as soon as it accepts);
  // the server FINs once it has received everything, the client FINs back.
  ipv6: {
    connections: 1,
    async server(c) {
      c.send(seededBytes(0x5eed0015, 500 * KiB));
      await c.received(500 * KiB);
      c.sock.end();
      await c.ended;
    },
    async client(connect) {
      const c = await connect();
      c.send(seededBytes(0x5eed0005, 500 * KiB));
      await c.closed;
    },
  },
};

// ---------------------------------------------------------------------------------------------

const [role, name, host, portText, out] = process.argv.slice(2);
const scenario = scenarios[name];
if (!['server', 'client'].includes(role) || !scenario || !host || !portText || !out) {
  console.error('usage: node endpoint.js server|client SCENARIO HOST PORT OUT.json');
  console.error(`scenarios: ${Object.keys(scenarios).join(', ')}`);
  process.exit(2);
}
const port = Number(portText);
const finish = (records, code) => {
  records.sort((a, b) => a.order - b.order);
  writeFileSync(out, `${JSON.stringify({ role, scenario: name, connections: records }, null, 2)}\n`);
  process.exit(code);
};
const watchdog = (records) =>
  setTimeout(() => {
    console.error(`${role} ${name}: timed out with ${records.length}/${scenario.connections} connections done`);
    finish(records, 1);
  }, 30_000);

if (role === 'server') {
  const records = [];
  let accepted = 0;
  const server = net.createServer({ allowHalfOpen: true }, (sock) => {
    const c = track(sock, 'server', accepted++);
    scenario.server(c).catch((err) => {
      if (!c.reset) console.error(`server ${name} #${c.order}: ${err.message}`);
    });
    c.closed.then((rec) => {
      records.push(rec);
      if (records.length === scenario.connections) {
        server.close();
        finish(records, 0);
      }
    });
  });
  server.listen({ host, port, backlog: 256 }, () => console.log('listening'));
  watchdog(records);
} else {
  const records = [];
  let opened = 0;
  const connect = () =>
    new Promise((resolve, reject) => {
      const sock = net.connect({ host, port });
      const c = track(sock, 'client', opened++);
      c.closed.then((rec) => records.push(rec));
      sock.once('connect', () => resolve(c));
      sock.once('error', reject);
    });
  watchdog(records);
  scenario
    .client(connect)
    .then(() => finish(records, 0))
    .catch((err) => {
      console.error(`client ${name}: ${err.stack ?? err}`);
      finish(records, 1);
    });
}
