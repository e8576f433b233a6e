'use strict';

// The interop scenarios, run once per transport by websocket.test.js and xhr_polling.test.js:
// the real socket.io-client@0.9.17, forced onto one transport, against `ferrio --app
// conformance` (docs/protocol.md §9: C53, C54 and the conformance app's echo / bcast / kick events).

const assert = require('node:assert/strict');
const { after, before, describe, test } = require('node:test');

const {
  TIMEOUT,
  closeAllClients,
  connectClient,
  delay,
  emitWithAck,
  expectNoEvent,
  openClient,
  restartServer,
  startServer,
  waitForEvent,
  withTimeout,
} = require('./harness');

/** Per-test backstop; every wait inside has its own, shorter timeout. */
const TEST_TIMEOUT = 30_000;

/** Text whose UTF-8, UTF-16 and code point lengths all differ (exercises payload framing). */
const TEXT = 'é€😀';

function assertTransport(socket, transport) {
  assert.ok(socket.socket.transport, 'the client has no transport');
  assert.equal(socket.socket.transport.name, transport, 'transport actually used by the client');
}

/**
 * Defines the scenarios for one forced transport (`'websocket'` or `'xhr-polling'`) inside a
 * `describe` block with its own server.
 */
function defineScenarios(transport) {
  describe(`socket.io-client 0.9.17 over ${transport}`, () => {
    let server;

    before(async () => {
      server = await startServer();
    });

    after(async () => {
      closeAllClients();
      if (server) {
        await server.stop();
      }
    });

    /** A test that closes the clients it opened, even when it fails. */
    function clientTest(name, body) {
      test(name, { timeout: TEST_TIMEOUT }, async () => {
        try {
          await body();
        } finally {
          closeAllClients();
        }
      });
    }

    const open = (opts = {}) => openClient(server.url, { transport, ...opts });

    clientTest('C53: fires connecting(<transport>) then connect', async () => {
      const client = connectClient(server.url, { transport });
      await client.connected;
      assert.deepEqual(client.events.list(), [['connecting', transport], ['connect']]);
      assertTransport(client.socket, transport);
      assert.equal(client.socket.socket.connected, true);
    });

    clientTest('C53: emit with ack gets the same arguments back', async () => {
      const { socket } = await open();
      assertTransport(socket, transport);
      const args = await emitWithAck(socket, 'echo', ['x', { a: [1, 2] }]);
      assert.deepEqual(args, ['x', { a: [1, 2] }]);
    });

    clientTest('bcast reaches the other client and not the sender', async () => {
      const a = await open();
      const b = await open();
      assertTransport(a.socket, transport);
      assertTransport(b.socket, transport);
      const value = { n: 42, text: TEXT };
      const senderQuiet = expectNoEvent(a.socket, 'bmsg', 1000);
      const received = waitForEvent(b.socket, 'bmsg');
      a.socket.emit('bcast', value);
      assert.deepEqual(await received, [value]);
      await senderQuiet;
    });

    clientTest('200 echoes without ack arrive in order, none lost or duplicated', async () => {
      const { socket } = await open();
      assertTransport(socket, transport);
      const count = 200;
      const seen = [];
      const all = new Promise((resolve) => {
        socket.on('echo', (...args) => {
          seen.push(args);
          if (seen.length === count) resolve();
        });
      });
      for (let i = 0; i < count; i++) {
        socket.emit('echo', i, TEXT);
      }
      await withTimeout(all, TIMEOUT, `${count} echoes (got ${seen.length})`);
      await delay(300); // anything extra (a duplicate) would arrive now
      assert.deepEqual(
        seen.map(([index]) => index),
        Array.from({ length: count }, (_, i) => i),
      );
      assert.deepEqual(seen, Array.from({ length: count }, (_, i) => [i, TEXT]));
    });

    clientTest('200 echoes with ack are acked in order, each once', async () => {
      const { socket } = await open();
      assertTransport(socket, transport);
      const count = 200;
      const acked = []; // [index emitted, ack arguments], in ack order
      const all = new Promise((resolve) => {
        for (let i = 0; i < count; i++) {
          socket.emit('echo', i, TEXT, (...args) => {
            acked.push([i, args]);
            if (acked.length === count) resolve();
          });
        }
      });
      await withTimeout(all, TIMEOUT, `${count} acks (got ${acked.length})`);
      await delay(300); // a duplicate ack would show up now
      assert.deepEqual(
        acked.map(([index]) => index),
        Array.from({ length: count }, (_, i) => i),
      );
      assert.deepEqual(acked, Array.from({ length: count }, (_, i) => [i, [i, TEXT]]));
    });

    clientTest('C54: a server-side kick fires disconnect(booted) and no reconnection', async () => {
      const client = await open();
      const { socket, events } = client;
      assertTransport(socket, transport);
      const mark = events.entries.length;
      socket.emit('kick');
      const disconnect = await events.waitFor('disconnect', { from: mark });
      assert.deepEqual(disconnect.args, ['booted']);
      await delay(3000);
      assert.deepEqual(events.list(mark), [['disconnect', 'booted']], 'no reconnecting within 3 s');
      assert.equal(socket.socket.connected, false);
      assert.ok(!socket.socket.reconnecting, 'the client is not reconnecting');
    });

    clientTest('C54: reconnects after the server restarts on the same port', async () => {
      // Its own server: this test kills it.
      let own = await startServer();
      try {
        const client = await openClient(own.url, { transport });
        const { socket, events } = client;
        assertTransport(socket, transport);
        const firstSid = socket.socket.sessionid;
        const mark = events.entries.length;

        // SIGTERM: the server ends every session and exits; ~2 s later it is back on the
        // same port, while the client is between reconnection attempts (at 0.5, 1.5, 3.5 s…).
        const stopped = Date.now();
        await own.stop();
        const disconnect = await events.waitFor('disconnect', { from: mark });
        assert.equal(disconnect.args[0], undefined, 'a lost server is not a kick (no reason, docs/protocol.md §6.6)');
        await delay(Math.max(0, 2000 - (Date.now() - stopped)));
        own = await restartServer(own);

        await events.waitFor('reconnect', { from: mark });
        await events.waitFor('connect', { from: mark });

        // disconnect(undefined), reconnecting(1000,1), reconnecting(2000,2), …, then — once a
        // handshake succeeds — connecting(<transport>), reconnect(<transport>, n), connect.
        // Nothing else: no `error`, no `booted`.
        const seen = events.list(mark);
        const attempts = seen.filter(([name]) => name === 'reconnecting').length;
        assert.ok(attempts >= 1, `at least one reconnecting: ${JSON.stringify(seen)}`);
        const expected = [
          ['disconnect', undefined],
          ...Array.from({ length: attempts }, (_, i) => ['reconnecting', 1000 * 2 ** i, i + 1]),
          ['connecting', transport],
          ['reconnect', transport, attempts],
          ['connect'],
        ];
        assert.deepEqual(seen, expected);
        assert.deepEqual(seen[1], ['reconnecting', 1000, 1], 'first attempt with the default 500 ms delay');

        assertTransport(socket, transport);
        assert.notEqual(socket.socket.sessionid, firstSid, 'a reconnection is a new session (docs/protocol.md §4.9)');
        const args = await emitWithAck(socket, 'echo', ['after restart', 2]);
        assert.deepEqual(args, ['after restart', 2]);
      } finally {
        closeAllClients();
        await own.stop();
      }
    });
  });
}

module.exports = { assertTransport, defineScenarios };
