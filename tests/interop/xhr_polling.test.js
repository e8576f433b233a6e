'use strict';

// The real socket.io-client@0.9.17 forced onto XHR polling against ferrio (docs/protocol.md §9 C53, C54),
// and C53's second half: a server announcing only xhr-polling, a client with its default list.

const assert = require('node:assert/strict');
const { after, before, describe, test } = require('node:test');

const { closeAllClients, connectClient, DEFAULT_TRANSPORTS, emitWithAck, startServer } = require('./harness');
const { assertTransport, defineScenarios } = require('./scenarios');

defineScenarios('xhr-polling');

describe('server announcing only xhr-polling', () => {
  let server;

  before(async () => {
    server = await startServer({ args: ['--transports', 'xhr-polling'] });
  });

  after(async () => {
    closeAllClients();
    if (server) {
      await server.stop();
    }
  });

  test('C53: a client with the default transports connects over xhr-polling', { timeout: 30_000 }, async () => {
    try {
      assert.equal(DEFAULT_TRANSPORTS[0], 'websocket', 'the client would prefer websocket on its own');
      const client = connectClient(server.url); // no forced transport: the client's own list
      const { socket, events } = client;
      await client.connected;
      assert.deepEqual(events.list(), [['connecting', 'xhr-polling'], ['connect']]);
      assertTransport(socket, 'xhr-polling');
      assert.deepEqual(socket.socket.transports, ['xhr-polling'], 'the handshake list intersected with the client\'s');
      const args = await emitWithAck(socket, 'echo', ['x', { a: [1, 2] }]);
      assert.deepEqual(args, ['x', { a: [1, 2] }]);
    } finally {
      closeAllClients();
    }
  });
});
