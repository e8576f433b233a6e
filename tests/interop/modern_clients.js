'use strict';

// The real socket.io-client 4.8 (Engine.IO 4, Socket.IO 5) as the interop tests open it: in
// each way it can connect, each client with a Manager of its own and no reconnection, every
// one closed by closeAllModernClients().

const assert = require('node:assert/strict');

const { io: connectModern } = require('socket.io-client-4');

const { TIMEOUT, withTimeout } = require('../shared/timing');

/** Where Engine.IO is served: the 4.8 client's default path, given explicitly. */
const ENGINE_IO_PATH = '/socket.io/';

/**
 * The ways a 4.8 client connects: its transports option, and the transport it must end up on.
 * Every way: no reconnection, a Manager of its own per client.
 */
const MODES = {
  polling: { options: { transports: ['polling'], upgrade: false }, transport: 'polling' },
  websocket: { options: { transports: ['websocket'] }, transport: 'websocket' },
  upgrade: { options: { transports: ['polling', 'websocket'], upgrade: true }, transport: 'websocket' },
};

function modernOptions(mode) {
  return {
    path: ENGINE_IO_PATH,
    ...MODES[mode].options,
    reconnection: false,
    forceNew: true,
    timeout: TIMEOUT,
  };
}

const liveModernClients = new Set();

/** A 4.8 client on `url` connecting the `mode` way, not yet awaited; closeAllModernClients() closes it. */
function modernClient(url, mode) {
  const socket = connectModern(url, modernOptions(mode));
  liveModernClients.add(socket);
  return socket;
}

/**
 * A 4.8 client on `url` once it is connected and, when `mode` upgrades, once it is on its
 * WebSocket; rejects on `connect_error` or after TIMEOUT.
 */
async function openModern(url, mode) {
  const socket = modernClient(url, mode);
  const connected = new Promise((resolve, reject) => {
    socket.once('connect', () => resolve(socket));
    socket.once('connect_error', (error) => reject(new Error(`connect_error from ${url}: ${error.message}`)));
  });
  await withTimeout(connected, TIMEOUT, `'connect' of a 4.8 client on ${url} (${mode})`);
  if (mode === 'upgrade' && socket.io.engine.transport.name !== 'websocket') {
    const upgraded = new Promise((resolve) => socket.io.engine.once('upgrade', resolve));
    await withTimeout(upgraded, TIMEOUT, `the upgrade to a websocket of a 4.8 client on ${url}`);
  }
  return socket;
}

/** Asserts the transport the 4.8 client actually uses is the one `mode` ends on. */
function assertModernTransport(socket, mode) {
  assert.ok(socket.io.engine, 'the 4.8 client has no Engine.IO socket');
  assert.equal(socket.io.engine.transport.name, MODES[mode].transport, `transport actually used by the 4.8 client (${mode})`);
}

/** Disconnects every 4.8 client opened here; with forceNew that closes each one's Engine.IO socket. */
function closeAllModernClients() {
  for (const socket of liveModernClients) {
    socket.disconnect();
  }
  liveModernClients.clear();
}

module.exports = { MODES, assertModernTransport, closeAllModernClients, modernClient, openModern };
