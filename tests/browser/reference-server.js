'use strict';

// The reference server for the cross-compatibility tests: socket.io 0.9.19 running the parts
// of the docs/protocol.md §9 conformance app the browser flows use (echo, bcast, message, multi, kick,
// namespace /chat). Test pages are its /socket.io/ welcome document with the content replaced
// (harness.js openTestPage) that load our client from a ferrio: the script browsers get.
//
//   node reference-server.js [--port N] [--transports a,b,...]
//
// prints `reference listening on http://127.0.0.1:PORT` once it accepts connections.
// Short timers as in docs/protocol.md §9 (heartbeat 3 s / 5 s, close timeout 4 s, polling 2 s).

const http = require('node:http');

const sio = require('socket.io');

const portArg = process.argv.indexOf('--port');
const port = portArg >= 0 ? Number(process.argv[portArg + 1]) : 0;
const transportsArg = process.argv.indexOf('--transports');
const transports = transportsArg >= 0 ? process.argv[transportsArg + 1].split(',') : ['websocket', 'xhr-polling'];

// socket.io answers everything under /socket.io/; nothing else is served.
const server = http.createServer((req, res) => {
  res.writeHead(404, { 'Content-Type': 'text/plain' });
  res.end('not found');
});

const io = sio.listen(server, { log: false });
io.set('transports', transports);
io.set('heartbeat interval', 3);
io.set('heartbeat timeout', 5);
io.set('close timeout', 4);
io.set('polling duration', 2);

/** Calls the ack with `args` when one was asked for, else runs `otherwise(args)`. */
function withAck(args, otherwise) {
  const list = Array.prototype.slice.call(args);
  if (list.length && typeof list[list.length - 1] === 'function') {
    const fn = list.pop();
    fn.apply(null, list);
  } else {
    otherwise(list);
  }
}

io.sockets.on('connection', (socket) => {
  socket.on('echo', function () {
    withAck(arguments, (list) => socket.emit.apply(socket, ['echo'].concat(list)));
  });
  socket.on('message', (text, fn) => {
    socket.send(text);
    if (typeof fn === 'function') fn('x', 2);
  });
  socket.on('bcast', (arg) => socket.broadcast.emit('bmsg', arg));
  socket.on('multi', () => {
    socket.emit('a', 1);
    socket.emit('b', 'é€😀');
    socket.send('x');
  });
  socket.on('kick', () => socket.disconnect());
});

io.of('/chat').on('connection', (socket) => {
  socket.emit('hi', 'chat');
  socket.on('echo', function () {
    withAck(arguments, (list) => socket.emit.apply(socket, ['echo'].concat(list)));
  });
});

server.listen(port, '127.0.0.1', () => {
  process.stdout.write(`reference listening on http://127.0.0.1:${server.address().port}\n`);
});

process.on('SIGTERM', () => process.exit(0));
process.on('SIGINT', () => process.exit(0));
