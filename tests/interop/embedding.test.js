'use strict';

// The embedding examples of ferrio-server with the real socket.io-client@0.9.17:
// - axum.rs and hyper.rs: the gateway mounted in another program's HTTP server runs the chat of
//   the `ferrio` binary over websocket and xhr-polling, next to the program's own route and the
//   chat page;
// - embed.rs: ferrio's server with the program's own typed, async handlers: a handshake hook
//   that waits on a lookup, a chat line read into a struct and acked, a reply awaited with a
//   deadline, and arguments that do not fit answered through the ack.

const assert = require('node:assert/strict');
const { after, before, describe, test } = require('node:test');

const { closeAllClients, emitWithAck, ferrioExample, openClient, startServer, waitForEvent } = require('./harness');
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

describe('the embed example', () => {
  let server;

  before(async () => {
    server = await startServer({ program: { bin: ferrioExample('embed'), args: ['0'] } });
  });

  after(async () => {
    closeAllClients();
    if (server) {
      await server.stop();
    }
  });

  test('the handshake waits on the lookup: a known name is admitted, none refused, a banned one fails', { timeout: TEST_TIMEOUT }, async () => {
    const admitted = await fetch(`${server.url}/socket.io/1/?name=ana`);
    assert.equal(admitted.status, 200);
    assert.match(await admitted.text(), /^[0-9a-f]+:60:60:websocket,/);
    const nameless = await fetch(`${server.url}/socket.io/1/`);
    assert.equal(nameless.status, 403);
    await nameless.arrayBuffer();
    const banned = await fetch(`${server.url}/socket.io/1/?name=mallory`);
    assert.equal(banned.status, 500);
    await banned.arrayBuffer();
  });

  for (const transport of ['websocket', 'xhr-polling']) {
    test(`over ${transport}: a chat line read into a struct comes back to everyone, acked with how many others got it`, { timeout: TEST_TIMEOUT }, async () => {
      try {
        const ana = await openClient(`${server.url}?name=ana`, { transport });
        const bia = await openClient(`${server.url}?name=bia`, { transport });
        const toSender = waitForEvent(ana.socket, 'toClient');
        const toOther = waitForEvent(bia.socket, 'toClient');
        const acked = emitWithAck(ana.socket, 'toServer', [{ nome: 'ana', msg: 'olá é€😀' }]);
        assert.deepEqual(await toSender, ['ana:olá é€😀']);
        assert.deepEqual(await toOther, ['ana:olá é€😀']);
        assert.deepEqual(await acked, [1]);
      } finally {
        closeAllClients();
      }
    });
  }

  test('a line that does not fit is answered through its ack with the documented error, and reaches nobody', { timeout: TEST_TIMEOUT }, async () => {
    try {
      const ana = await openClient(`${server.url}?name=ana`, { transport: 'websocket' });
      const bia = await openClient(`${server.url}?name=bia`, { transport: 'websocket' });
      let leaked = null;
      bia.socket.on('toClient', (...args) => {
        leaked = args;
      });
      const [error] = await emitWithAck(ana.socket, 'toServer', [{ nome: 'ana' }]);
      assert.deepEqual(error, { error: 'invalid arguments', event: 'toServer', reason: 'missing field `msg`' });
      // A line that fits, sent after, is the first bia sees.
      const next = waitForEvent(bia.socket, 'toClient');
      ana.socket.emit('toServer', { nome: 'ana', msg: 'fits' });
      assert.deepEqual(await next, ['ana:fits']);
      assert.deepEqual(leaked, ['ana:fits']);
      assert.equal(ana.socket.socket.connected, true, 'the session goes on');
    } finally {
      closeAllClients();
    }
  });

  test('hello awaits the typed profile the client acks, or gives up at the deadline', { timeout: TEST_TIMEOUT }, async () => {
    try {
      const ana = await openClient(`${server.url}?name=ana`, { transport: 'websocket' });
      const bia = await openClient(`${server.url}?name=bia`, { transport: 'xhr-polling' });
      const asked = [];
      ana.socket.on('profile', (question, answer) => {
        asked.push(question);
        answer({ color: 'teal' });
      });
      const told = waitForEvent(bia.socket, 'joined');
      ana.socket.emit('hello');
      assert.deepEqual(await told, [{ name: 'ana', color: 'teal' }]);
      assert.deepEqual(asked, [null], 'the question carries `()`, which is null');

      // bia never answers its profile question: after two seconds the default color.
      bia.socket.on('profile', () => {});
      const started = Date.now();
      const toldAna = waitForEvent(ana.socket, 'joined', { timeout: 10_000 });
      bia.socket.emit('hello');
      assert.deepEqual(await toldAna, [{ name: 'bia', color: 'gray' }]);
      assert.ok(Date.now() - started >= 1_900, `told after ${Date.now() - started} ms`);
    } finally {
      closeAllClients();
    }
  });
});
