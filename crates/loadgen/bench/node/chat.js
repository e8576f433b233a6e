'use strict';

// ferrio's built-in chat app (crates/server/src/apps/chat.rs) on socket.io 0.9.19: the
// reference server of the benchmark (crates/loadgen/bench/run.sh).
//
//   node chat.js [--port N] [--bind ADDR] [--heartbeat-interval S] [--heartbeat-timeout S]
//                [--close-timeout S] [--polling-duration S]
//
// prints `node listening on http://ADDR:PORT` once it accepts connections. Transports:
// websocket, xhr-polling and htmlfile; logging off (`log: false`: the logger returns before it formats
// anything), as an operator who cares about speed runs it.

const http = require('node:http');

const sio = require('socket.io');

function arg(name, fallback) {
  const at = process.argv.indexOf('--' + name);
  return at >= 0 ? process.argv[at + 1] : fallback;
}

const port = Number(arg('port', 0));
const bind = arg('bind', '127.0.0.1');

const server = http.createServer((req, res) => {
  res.writeHead(404, { 'Content-Type': 'text/plain' });
  res.end('not found');
});

const io = sio.listen(server, { log: false });
io.set('transports', ['websocket', 'xhr-polling', 'htmlfile']);
io.set('heartbeat interval', Number(arg('heartbeat-interval', 25)));
io.set('heartbeat timeout', Number(arg('heartbeat-timeout', 60)));
io.set('close timeout', Number(arg('close-timeout', 60)));
io.set('polling duration', Number(arg('polling-duration', 20)));

io.sockets.on('connection', (s) => {
  s.on('toServer', (d) => {
    const m = d.nome + ':' + d.msg;
    s.emit('toClient', m);
    s.broadcast.emit('toClient', m);
  });
  s.on('message', (m, fn) => {
    if (typeof fn === 'function') fn(m);
  });
});

server.listen(port, bind, () => {
  const address = server.address();
  process.stdout.write(`node listening on http://${address.address}:${address.port}\n`);
});

process.on('SIGTERM', () => process.exit(0));
process.on('SIGINT', () => process.exit(0));
