'use strict';

// The real modern clients as the interop tests open them — socket.io-client 4.8 (Engine.IO
// 4, Socket.IO 5) and 2.5 (Engine.IO 3, Socket.IO 4) — in each way they can connect, each
// client with a Manager of its own and no reconnection, every one closed by
// closeAllModernClients().

const assert = require('node:assert/strict');

/** The client packages by version: the npm aliases tests/package.json installs. */
const CLIENTS = {
  '4.8': require('socket.io-client-4').io,
  '2.5': require('socket.io-client-2'),
};

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

function modernOptions(mode, extra = {}) {
  return {
    path: ENGINE_IO_PATH,
    ...MODES[mode].options,
    reconnection: false,
    forceNew: true,
    timeout: TIMEOUT,
    ...extra,
  };
}

const liveModernClients = new Set();

/**
 * A client of `version` (`4.8` or `2.5`) on `url` connecting the `mode` way (with `extra`
 * options), not yet awaited; closeAllModernClients() closes it.
 */
function modernClient(url, mode, version = '4.8', extra = {}) {
  const socket = CLIENTS[version](url, modernOptions(mode, extra));
  liveModernClients.add(socket);
  return socket;
}

/**
 * A client of `version` on `url` once it is connected and, when `mode` upgrades, once it is
 * on its WebSocket; rejects on `connect_error` or after TIMEOUT.
 */
async function openModern(url, mode, version = '4.8') {
  const socket = modernClient(url, mode, version);
  const connected = new Promise((resolve, reject) => {
    socket.once('connect', () => resolve(socket));
    socket.once('connect_error', (error) => reject(new Error(`connect_error from ${url}: ${error.message}`)));
  });
  await withTimeout(connected, TIMEOUT, `'connect' of a ${version} client on ${url} (${mode})`);
  if (mode === 'upgrade' && socket.io.engine.transport.name !== 'websocket') {
    const upgraded = new Promise((resolve) => socket.io.engine.once('upgrade', resolve));
    await withTimeout(upgraded, TIMEOUT, `the upgrade to a websocket of a ${version} client on ${url}`);
  }
  return socket;
}

/** Asserts the transport a modern client actually uses is the one `mode` ends on. */
function assertModernTransport(socket, mode) {
  assert.ok(socket.io.engine, 'the client has no Engine.IO socket');
  assert.equal(socket.io.engine.transport.name, MODES[mode].transport, `transport actually used by the client (${mode})`);
}

/** Disconnects every modern client opened here; with forceNew that closes each one's Engine.IO socket. */
function closeAllModernClients() {
  for (const socket of liveModernClients) {
    socket.disconnect();
  }
  liveModernClients.clear();
}

module.exports = { CLIENTS, MODES, assertModernTransport, closeAllModernClients, modernClient, openModern };
