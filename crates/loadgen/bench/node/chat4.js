'use strict';

// ferrio's built-in chat app (crates/server/src/apps/chat.rs) on socket.io 4.8 (the npm alias
// socket.io-4 of package.json, Engine.IO protocol 4 only): the second reference server of the
// benchmark, next to chat.js on socket.io 0.9.19.
//
//   node chat4.js [--port N] [--bind ADDR] [--ping-interval MS] [--ping-timeout MS]
//
// defaults: port 0 (any free one), bind 127.0.0.1, ping interval 25000, ping timeout 20000 (the
// socket.io 4 defaults). Prints `node listening on http://ADDR:PORT` once it accepts connections.
// Path /socket.io/, transports polling and websocket (upgrade allowed). `GET /stats` answers in
// text/plain the number of connected Engine.IO clients; every other path outside /socket.io/
// is a 404. Configured as the fastest production setup: no logging (socket.io 4 logs only
// through the `debug` module, which stays off unless DEBUG is set in the environment; this
// script never enables it), no client bundle, no compression of either transport, no
// connection state recovery, no CORS.

const http = require('node:http');

const { Server } = require('socket.io-4');

function arg(name, fallback) {
  const at = process.argv.indexOf('--' + name);
  return at >= 0 ? process.argv[at + 1] : fallback;
}

const port = Number(arg('port', 0));
const bind = arg('bind', '127.0.0.1');

let io = null;

// socket.io takes the requests under /socket.io/ and hands every other one to this listener.
const server = http.createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/stats') {
    res.writeHead(200, { 'Content-Type': 'text/plain' });
    res.end(String(io.engine.clientsCount));
    return;
  }
  res.writeHead(404, { 'Content-Type': 'text/plain' });
  res.end('not found');
});

io = new Server(server, {
  path: '/socket.io/',
  serveClient: false,
  transports: ['polling', 'websocket'],
  allowEIO3: false,
  pingInterval: Number(arg('ping-interval', 25000)),
  pingTimeout: Number(arg('ping-timeout', 20000)),
  maxHttpBufferSize: 1e6,
  // WebSocket permessage-deflate off (already the default of engine.io 6 / socket.io 4).
  perMessageDeflate: false,
  // The default ({ threshold: 1024 }) gzips/deflates every polling response of 1 KiB or more
  // when the request accepts it (the batched broadcasts, the base64 binary payloads). On the
  // loopback of the benchmark that only spends CPU, and neither ferrio nor socket.io 0.9.19
  // compresses; bodies below the threshold are sent as is either way.
  httpCompression: false,
  // connectionStateRecovery and cors are left out: both off by default.
});

io.on('connection', (socket) => {
  socket.on('toServer', (d) => {
    const m = d.nome + ':' + d.msg;
    if (d.data !== undefined) {
      socket.emit('toClient', m, d.data);
      socket.broadcast.emit('toClient', m, d.data);
    } else {
      socket.emit('toClient', m);
      socket.broadcast.emit('toClient', m);
    }
  });
  socket.on('message', (m, fn) => {
    if (typeof fn === 'function') fn(m);
  });
});

server.listen(port, bind, () => {
  const address = server.address();
  process.stdout.write(`node listening on http://${address.address}:${address.port}\n`);
});

process.on('SIGTERM', () => process.exit(0));
process.on('SIGINT', () => process.exit(0));
