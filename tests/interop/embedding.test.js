'use strict';

// The embedding examples of ferrio-server (crates/server/examples/axum.rs and hyper.rs) with the
// real socket.io-client@0.9.17: the gateway mounted in another program's HTTP server runs the
// chat of the `ferrio` binary over websocket and xhr-polling, next to the program's own route
// and the chat page.

const assert = require('node:assert/strict');
const { after, before, describe, test } = require('node:test');

const { closeAllClients, ferrioExample, openClient, startServer, waitForEvent } = require('./harness');
const { assertTransport } = require('./scenarios');

/** Per-test backstop; every wait inside has its own, shorter timeout. */
const TEST_TIMEOUT = 30_000;

const EXAMPLES = [
  { name: 'axum', hello: 'hello from axum' },
  { name: 'hyper', hello: 'hello from hyper' },
];

for (const example of EXAMPLES) {
  describe(`the ${example.name} example`, () => {
    let server;

    before(async () => {
      server = await startServer({ program: { bin: ferrioExample(example.name), args: ['0'] } });
    });

    after(async () => {
      closeAllClients();
      if (server) {
        await server.stop();
      }
    });

    test('the program\'s own route answers', { timeout: TEST_TIMEOUT }, async () => {
      const response = await fetch(`${server.url}/api/hello`);
      assert.equal(response.status, 200);
      assert.equal(await response.text(), example.hello);
    });

    test('the chat page is at /, the client script under /socket.io, other paths are 404', { timeout: TEST_TIMEOUT }, async () => {
      const page = await fetch(`${server.url}/`);
      assert.equal(page.status, 200);
      assert.match(page.headers.get('content-type'), /^text\/html/);
      assert.match(await page.text(), /<script src="\/socket\.io\/socket\.io\.js">/);
      const script = await fetch(`${server.url}/socket.io/socket.io.js`);
      assert.equal(script.status, 200);
      assert.equal(script.headers.get('content-type'), 'application/javascript');
      await script.arrayBuffer();
      const welcome = await fetch(`${server.url}/socket.io/`);
      assert.equal(await welcome.text(), 'Welcome to socket.io.');
      const missing = await fetch(`${server.url}/nothing/here`);
      assert.equal(missing.status, 404);
      await missing.arrayBuffer();
    });

    for (const transport of ['websocket', 'xhr-polling']) {
      test(`chat over ${transport}: toServer comes back as toClient to the sender and to another client`, { timeout: TEST_TIMEOUT }, async () => {
        try {
          const ana = await openClient(server.url, { transport });
          const bia = await openClient(server.url, { transport });
          assertTransport(ana.socket, transport);
          assertTransport(bia.socket, transport);
          for (const [from, to, name] of [
            [ana, bia, 'ana'],
            [bia, ana, 'bia'],
          ]) {
            const toSender = waitForEvent(from.socket, 'toClient');
            const toOther = waitForEvent(to.socket, 'toClient');
            from.socket.emit('toServer', { nome: name, msg: 'olá é€😀' });
            assert.deepEqual(await toSender, [`${name}:olá é€😀`]);
            assert.deepEqual(await toOther, [`${name}:olá é€😀`]);
          }
        } finally {
          closeAllClients();
        }
      });
    }
  });
}
