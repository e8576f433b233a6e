'use strict';

// Test harness for the interop suite: runs the real `ferrio` binary and drives it with the real
// `socket.io-client@0.9.17` (docs/protocol.md §6, §9 C53/C54).
//
// - Servers: `startServer()` spawns `ferrio --bind 127.0.0.1 --port 0 --app conformance …`
//   (or another built-in app) through tests/shared/gateway.js, which reads the port from the
//   listening line; `server.stop()` sends SIGTERM and requires a clean exit. `restartServer()`
//   starts a new process on the same port.
// - Clients: `connectClient()` forces a transport the only way that works with the real client
//   (a new global `io.transports` array assigned before `io.connect`, docs/protocol.md §6.4) and records the
//   socket-level events; `closeClient()` tears one down without leaving timers behind.
// - Waiting: everything that waits has a timeout, so a hang becomes a failure.

const path = require('node:path');

const io = require('socket.io-client');

const { ferrioArgs, ferrioBinary, ferrioExample, spawnGateway } = require('../shared/gateway');
const { TIMEOUT, delay, withTimeout } = require('../shared/timing');

/** The client's own transport list, captured before any test replaces it (docs/protocol.md §6.4). */
const DEFAULT_TRANSPORTS = io.transports.slice();

// ---------------------------------------------------------------------------------------------
// The server

/**
 * Starts `ferrio --bind 127.0.0.1 --port <port> --app <app> <args…>` and resolves with its
 * GatewayProcess (`url`, `port`, `stderr`, `stop()`) once it prints its port. `app` is the
 * built-in application (`conformance` unless told). `port` 0 (the default) lets the system
 * pick one; binding a fixed port is retried for a while (the previous process may still hold
 * it). `env` adds variables to the process's environment. `program` (`{ bin, args }`) runs
 * another executable instead, with exactly those arguments; it must print the same
 * `ferrio listening on http://ADDR` line and exit cleanly on SIGTERM.
 */
async function startServer({ app = 'conformance', args = [], port = 0, env = {}, program = null } = {}) {
  return spawnGateway({
    bin: program ? program.bin : ferrioBinary(),
    args: program ? () => program.args : ferrioArgs(app, args),
    port,
    env: { ...process.env, ...env },
    cleanExit: true,
    what: program ? path.basename(program.bin) : 'ferrio',
  });
}

/** Stops `server` (if still running) and starts a new one with the same flags on the same port. */
function restartServer(server) {
  return server.restart();
}

// ---------------------------------------------------------------------------------------------
// Events

/** The socket-level events of the client (docs/protocol.md §6.6). */
const LIFECYCLE_EVENTS = [
  'connecting',
  'connect',
  'connect_failed',
  'disconnect',
  'error',
  'reconnecting',
  'reconnect',
  'reconnect_failed',
];

/** Records events of an emitter in order, with a way to wait for a matching one. */
class EventLog {
  constructor(emitter, names) {
    this.entries = [];
    this.waiters = [];
    this.start = Date.now();
    for (const name of names) {
      emitter.on(name, (...args) => this.push(name, args));
    }
  }

  push(name, args) {
    const entry = { name, args, at: Date.now() - this.start };
    this.entries.push(entry);
    for (const waiter of [...this.waiters]) {
      if (waiter.match(entry, this.entries.length - 1)) {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        waiter.resolve(entry);
      }
    }
  }

  /** The recorded events after index `from`, as [name, ...args] arrays. */
  list(from = 0) {
    return this.entries.slice(from).map((entry) => [entry.name, ...entry.args]);
  }

  /** Resolves with the first entry named `name` at index ≥ `from` (already recorded or coming). */
  waitFor(name, { from = 0, timeout = TIMEOUT } = {}) {
    const match = (entry, index) => entry.name === name && index >= from;
    const index = this.entries.findIndex(match);
    if (index >= 0) {
      return Promise.resolve(this.entries[index]);
    }
    let waiter;
    const found = new Promise((resolve) => {
      waiter = { match, resolve };
      this.waiters.push(waiter);
    });
    return withTimeout(found, timeout, `client event '${name}' (seen so far: ${JSON.stringify(this.list())})`).finally(
      () => {
        const at = this.waiters.indexOf(waiter);
        if (at >= 0) this.waiters.splice(at, 1);
      },
    );
  }
}

/** Resolves with the arguments of the next `name` event on `emitter`; rejects after `timeout`. */
function waitForEvent(emitter, name, { timeout = TIMEOUT } = {}) {
  let listener;
  const fired = new Promise((resolve) => {
    listener = (...args) => resolve(args);
    emitter.on(name, listener);
  });
  return withTimeout(fired, timeout, `event '${name}'`).finally(() => emitter.removeListener(name, listener));
}

/** Resolves after `ms` if no `name` event fired on `emitter` meanwhile; rejects as soon as one does. */
function expectNoEvent(emitter, name, ms) {
  return new Promise((resolve, reject) => {
    const listener = (...args) => {
      clearTimeout(timer);
      emitter.removeListener(name, listener);
      reject(new Error(`unexpected event '${name}' with ${JSON.stringify(args)}`));
    };
    const timer = setTimeout(() => {
      emitter.removeListener(name, listener);
      resolve();
    }, ms);
    emitter.on(name, listener);
  });
}

/** `socket.emit(name, ...args, fn)`; resolves with the arguments `fn` gets. */
function emitWithAck(socket, name, args, { timeout = TIMEOUT } = {}) {
  const acked = new Promise((resolve) => socket.emit(name, ...args, (...ackArgs) => resolve(ackArgs)));
  return withTimeout(acked, timeout, `the ack of '${name}'`);
}

// ---------------------------------------------------------------------------------------------
// Clients

const liveClients = new Set();

/**
 * Opens a real 0.9.17 client on `url` (always with 'force new connection'). `transport` forces
 * one transport by assigning a new global `io.transports` before `io.connect` (the `transports`
 * option would merge into the global list instead, docs/protocol.md §6.4); `null` uses the client's default
 * list. Returns `{ socket, events, connected }`: the namespace object `io.connect` returns, an
 * EventLog of the lifecycle events, and a promise for the first `connect` (rejected on
 * `connect_failed` or after the timeout).
 */
function connectClient(url, { transport = null, options = {}, timeout = TIMEOUT } = {}) {
  io.transports = transport ? [transport] : DEFAULT_TRANSPORTS.slice();
  const socket = io.connect(url, { 'force new connection': true, ...options });
  liveClients.add(socket);
  const events = new EventLog(socket, LIFECYCLE_EVENTS);
  const connected = withTimeout(
    new Promise((resolve, reject) => {
      socket.on('connect', () => resolve(socket));
      socket.on('connect_failed', (...args) => reject(new Error(`connect_failed ${JSON.stringify(args)}`)));
    }),
    timeout,
    `'connect' from ${url} (events: ${JSON.stringify(events.list())})`,
  );
  // Avoid an unhandled rejection when a test never awaits `connected`.
  connected.catch(() => {});
  return { socket, events, connected };
}

/** Opens a client and waits for `connect`. */
async function openClient(url, opts) {
  const client = connectClient(url, opts);
  await client.connected;
  return client;
}

/** Disconnects a client and clears every timer it may still hold (reconnection included). */
function closeClient(socket) {
  liveClients.delete(socket);
  const base = socket.socket;
  base.options.reconnect = false;
  clearTimeout(base.reconnectionTimer);
  clearTimeout(base.connectTimeoutTimer);
  base.reconnecting = false;
  try {
    base.disconnect();
  } catch {
    // no transport yet
  }
  clearTimeout(base.heartbeatTimeoutTimer);
  // (No extra `terminate()` on a WebSocket: `disconnect()` already closed it, and a second
  // call in ws 0.4 orphans a 30 s cleanup timer that keeps node alive.)
  if (base.transport) {
    base.transport.clearTimeouts();
  }
}

/** Closes every client opened through this module that is still open. */
function closeAllClients() {
  for (const socket of [...liveClients]) {
    closeClient(socket);
  }
}

module.exports = {
  DEFAULT_TRANSPORTS,
  EventLog,
  TIMEOUT,
  closeAllClients,
  closeClient,
  connectClient,
  delay,
  emitWithAck,
  expectNoEvent,
  ferrioBinary,
  ferrioExample,
  io,
  openClient,
  restartServer,
  startServer,
  waitForEvent,
  withTimeout,
};
