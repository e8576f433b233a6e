'use strict';

// The real socket.io-client 4.8 (Engine.IO 4, Socket.IO 5) and 2.5 (Engine.IO 3, Socket.IO
// 4) against `ferrio --app chat`, in each way they connect: HTTP long-polling only, WebSocket
// only, and polling upgraded to a WebSocket (their default). Each client and way runs the same
// tests, and each way a chat of the three generations: a 2.5 client, a 4.8 client and the real
// socket.io-client 0.9.17 forced onto xhr-polling, modern clients at /socket.io/ (their
// default path), 0.9 clients at /socket.io/1/, one hub.
//
// MODERN_SERVER picks the server under test:
// - `ferrio` (the default): the ferrio binary (tests/shared/gateway.js finds it);
// - `reference`: socket.io 4.8 running the same chat (fixtures/chat4.js, with `allowEIO3` for
//   the 2.5 clients), which shows the tests themselves are right. socket.io 4.8 cannot talk to
//   a 0.9.17 client, so there the shared chat has the modern clients only, and its name says
//   so.

const assert = require('node:assert/strict');
const path = require('node:path');
const { after, before, describe, test } = require('node:test');

const { closeAllClients, emitWithAck, openClient, startServer, waitForEvent } = require('./harness');
const { CLIENTS, MODES, assertModernTransport, closeAllModernClients, modernClient, openModern } = require('./modern_clients');
const { assertTransport } = require('./scenarios');
const { TIMEOUT, delay, withTimeout } = require('../shared/timing');

/** Per-test backstop; every wait inside has its own, shorter timeout. */
const TEST_TIMEOUT = 30_000;

/** Text whose UTF-8, UTF-16 and code point lengths all differ (exercises payload framing). */
const TEXT = 'é€😀';

/** Lines each chat participant says. */
const LINES = 5;

/** How long a test waits after the last expected event for a duplicate to show up. */
const SETTLE_MS = 500;

/** socket.io 4.8 running the chat, for MODERN_SERVER=reference. */
const REFERENCE_FIXTURE = path.join(__dirname, 'fixtures', 'chat4.js');

/** The servers this file can run against. */
const SERVERS = {
  ferrio: {
    name: 'ferrio --app chat',
    speaksLegacy: true,
    start: () => startServer({ app: 'chat' }),
    startEcho: () => startServer({ app: 'conformance' }),
    startRecovering: () => startServer({ app: 'chat', args: ['--engine-recovery-window', '60'] }),
  },
  reference: {
    name: 'socket.io 4.8 (fixtures/chat4.js)',
    speaksLegacy: false,
    start: () => startServer({ program: { bin: process.execPath, args: [REFERENCE_FIXTURE, '--port', '0'] } }),
    startEcho: () => startServer({ program: { bin: process.execPath, args: [REFERENCE_FIXTURE, '--port', '0'] } }),
    startRecovering: () =>
      startServer({ program: { bin: process.execPath, args: [REFERENCE_FIXTURE, '--port', '0', '--recovery', '60'] } }),
  },
};

const SERVER_KIND = process.env.MODERN_SERVER || 'ferrio';
const SERVER = SERVERS[SERVER_KIND];
if (!SERVER) {
  throw new Error(`MODERN_SERVER=${SERVER_KIND}: expected one of ${Object.keys(SERVERS).join(', ')}`);
}

/** The URLs of the server under test: the one place both client generations take them from. */
function urls(server) {
  return {
    /** A namespace for the 4.8 client (`/` is the default namespace). */
    modern: (namespace = '/') => (namespace === '/' ? server.url : `${server.url}${namespace}`),
    /** The 0.9.17 client's URL: it adds /socket.io/1/ itself. */
    legacy: server.url,
  };
}

/** Resolves once `done()` holds (checked every 20 ms); rejects naming `what` after TIMEOUT. */
async function until(done, what) {
  const deadline = Date.now() + TIMEOUT;
  while (!done()) {
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${TIMEOUT} ms waiting for ${what()}`);
    }
    await delay(20);
  }
}

/**
 * Checks the chat's ledger: every participant heard `lines` lines of every participant (its
 * own included), each exactly once, in its sender's order and intact: `<sender>:<n> <text>`.
 * Waits until everyone has heard everything, then SETTLE_MS more for anything extra.
 */
async function assertLedger(participants, lines, text) {
  const everything = participants.length * lines;
  await until(
    () => participants.every((p) => p.heard.length >= everything),
    () => `every participant to hear ${everything} lines: ${JSON.stringify(participants.map((p) => [p.name, p.heard]))}`,
  );
  await delay(SETTLE_MS);
  for (const listener of participants) {
    assert.equal(listener.heard.length, everything, `${listener.name} heard ${JSON.stringify(listener.heard)}`);
    const next = new Map(participants.map((sender) => [sender.name, 1]));
    for (const line of listener.heard) {
      const from = line.slice(0, line.indexOf(':'));
      assert.ok(next.has(from), `${listener.name} heard ${line}, from nobody in the chat`);
      assert.equal(
        line,
        `${from}:${next.get(from)} ${text}`,
        `${listener.name} heard ${line} out of order, twice or garbled: ${JSON.stringify(listener.heard)}`,
      );
      next.set(from, next.get(from) + 1);
    }
    for (const sender of participants) {
      assert.equal(next.get(sender.name), lines + 1, `${listener.name} misses lines of ${sender.name}`);
    }
  }
}

for (const mode of Object.keys(MODES)) {
  describe(`socket.io-client 4.8 and 2.5 (${mode}) against ${SERVER.name}`, () => {
    let server;
    let url;
    /** A server whose `echo` acks with its arguments (ferrio's conformance app). */
    let echoServer;
    /** The chat with connection state recovery on (a window of 60 s). */
    let recoveringServer;

    before(async () => {
      server = await SERVER.start();
      url = urls(server);
      echoServer = await SERVER.startEcho();
      recoveringServer = await SERVER.startRecovering();
    });

    after(async () => {
      closeAllModernClients();
      closeAllClients();
      if (server) {
        await server.stop();
      }
      if (echoServer) {
        await echoServer.stop();
      }
      if (recoveringServer) {
        await recoveringServer.stop();
      }
    });

    /** A test that closes the clients it opened, even when it fails. */
    function clientTest(name, body) {
      test(name, { timeout: TEST_TIMEOUT }, async () => {
        try {
          await body();
        } finally {
          closeAllModernClients();
          closeAllClients();
        }
      });
    }

    const chatters = SERVER.speaksLegacy
      ? `one 0.9.17 client (xhr-polling), one 2.5 and one 4.8 client (${mode})`
      : `one 2.5 and one 4.8 client (${mode}) only, no 0.9.17 client (socket.io 4.8 cannot speak 0.9)`;
    clientTest(`a chat of ${chatters}: ${LINES} lines each, to everyone, once, in order`, async () => {
      const participants = [];
      if (SERVER.speaksLegacy) {
        const { socket } = await openClient(url.legacy, { transport: 'xhr-polling' });
        assertTransport(socket, 'xhr-polling');
        participants.push({ name: 'a', generation: '0.9', socket, heard: [] });
      }
      for (const [name, version] of [['b', '2.5'], ['c', '4.8']]) {
        const socket = await openModern(url.modern(), mode, version);
        assertModernTransport(socket, mode);
        participants.push({ name, generation: version, socket, heard: [] });
      }
      assert.deepEqual(
        participants.map((p) => p.generation),
        SERVER.speaksLegacy ? ['0.9', '2.5', '4.8'] : ['2.5', '4.8'],
      );
      for (const participant of participants) {
        participant.socket.on('toClient', (line) => participant.heard.push(line));
      }
      for (let line = 1; line <= LINES; line += 1) {
        for (const participant of participants) {
          participant.socket.emit('toServer', { nome: participant.name, msg: `${line} ${TEXT}` });
        }
        await delay(10);
      }
      await assertLedger(participants, LINES, TEXT);
      for (const participant of participants) {
        if (participant.generation === '0.9') {
          assertTransport(participant.socket, 'xhr-polling');
        } else {
          assertModernTransport(participant.socket, mode);
        }
      }
    });

    const speaker = SERVER.speaksLegacy ? 'a 0.9.17 client' : 'another 4.8 client';
    clientTest(`4.8: a dropped connection comes back with its socket id and the lines ${speaker} said meanwhile`, async () => {
      const recovering = urls(recoveringServer);
      const socket = modernClient(recovering.modern(), mode, '4.8', {
        reconnection: true,
        reconnectionDelay: 1000,
        randomizationFactor: 0,
      });
      await waitForEvent(socket, 'connect');
      if (mode === 'upgrade' && socket.io.engine.transport.name !== 'websocket') {
        await waitForEvent(socket.io.engine, 'upgrade');
      }
      assertModernTransport(socket, mode);
      assert.equal(socket.recovered, false, 'a first connection recovers nothing');
      const heard = [];
      socket.on('toClient', (line) => heard.push(line));
      let say;
      if (SERVER.speaksLegacy) {
        const { socket: legacy } = await openClient(recovering.legacy, { transport: 'xhr-polling' });
        say = (line) => legacy.emit('toServer', { nome: 'a', msg: line });
      } else {
        const other = await openModern(recovering.modern(), 'websocket');
        say = (line) => other.emit('toServer', { nome: 'a', msg: line });
      }
      say(`1 ${TEXT}`);
      await until(() => heard.length >= 1, () => `the first line, heard ${JSON.stringify(heard)}`);
      const id = socket.id;
      // The connection drops (the client is not leaving): it reconnects a second later.
      const dropped = waitForEvent(socket, 'disconnect');
      socket.io.engine.close();
      await dropped;
      await delay(200);
      say(`2 ${TEXT}`);
      say(`3 ${TEXT}`);
      await waitForEvent(socket, 'connect');
      assert.equal(socket.recovered, true, 'the connection state is recovered');
      assert.equal(socket.id, id, 'with its socket id');
      await until(() => heard.length >= 3, () => `the missed lines, heard ${JSON.stringify(heard)}`);
      await delay(SETTLE_MS);
      assert.deepEqual(heard, [1, 2, 3].map((n) => `a:${n} ${TEXT}`));
    });

    clientTest(`4.8: a namespace's authorization sees the auth payload and refuses with data`, async () => {
      const refused = modernClient(`${echoServer.url}/private`, mode, '4.8', { auth: { token: 'wrong' } });
      const [error] = await waitForEvent(refused, 'connect_error');
      assert.ok(error instanceof Error, `connect_error with ${JSON.stringify(error)}`);
      assert.equal(error.message, 'not allowed');
      assert.deepEqual(error.data, { reason: 'token' });
      assert.equal(refused.connected, false);
      const admitted = modernClient(`${echoServer.url}/private`, mode, '4.8', { auth: { token: 'secret' } });
      await waitForEvent(admitted, 'connect');
      assert.deepEqual(await emitWithAck(admitted, 'echo', [TEXT]), [TEXT]);
    });

    for (const version of Object.keys(CLIENTS)) {
      clientTest(`${version}: connects to the default namespace (${mode}) with the socket id its revision gives`, async () => {
        const socket = await openModern(url.modern(), mode, version);
        assert.equal(socket.connected, true);
        assert.equal(typeof socket.id, 'string');
        assert.ok(socket.id.length > 0, 'socket.id is empty');
        const sid = socket.io.engine.id;
        assert.equal(typeof sid, 'string');
        assert.ok(sid.length > 0, 'the Engine.IO sid is empty');
        if (version === '4.8') {
          assert.notEqual(sid, socket.id, 'Socket.IO 5 gives the namespace socket an id of its own');
        } else {
          assert.equal(socket.id, sid, 'a Socket.IO 4 client calls its default namespace socket by the Engine.IO sid');
        }
        assertModernTransport(socket, mode);
      });

      clientTest(`${version}: an unknown namespace is refused as 'Invalid namespace'`, async () => {
        const socket = modernClient(url.modern('/nope'), mode, version);
        // Socket.IO 5 refuses with CONNECT_ERROR, which 4.8 reports as `connect_error`;
        // Socket.IO 4 with ERROR, which 2.5 reports as `error` with its data: the bare
        // message from socket.io 2 and ferrio, `{message}` from socket.io 4's `allowEIO3`.
        const [error] = await waitForEvent(socket, version === '4.8' ? 'connect_error' : 'error');
        const message = typeof error === 'string' ? error : error && error.message;
        assert.equal(message, 'Invalid namespace');
        assert.equal(socket.connected, false);
      });

      clientTest(`${version}: toServer from one client reaches another once, and its sender once`, async () => {
        const sender = await openModern(url.modern(), mode, version);
        const listener = await openModern(url.modern(), mode, version);
        assertModernTransport(sender, mode);
        assertModernTransport(listener, mode);
        const heardBySender = [];
        const heardByListener = [];
        sender.on('toClient', (line) => heardBySender.push(line));
        listener.on('toClient', (line) => heardByListener.push(line));
        sender.emit('toServer', { nome: 'b', msg: TEXT });
        await until(
          () => heardByListener.length >= 1 && heardBySender.length >= 1,
          () => `the line at both clients (sender ${JSON.stringify(heardBySender)}, listener ${JSON.stringify(heardByListener)})`,
        );
        await delay(SETTLE_MS);
        assert.deepEqual(heardByListener, [`b:${TEXT}`]);
        assert.deepEqual(heardBySender, [`b:${TEXT}`]);
      });

      clientTest(`${version}: binary arguments go both ways: echo acks with the same buffers`, async () => {
        const socket = await openModern(echoServer.url, mode, version);
        assertModernTransport(socket, mode);
        const top = Buffer.from([0, 1, 2, 254, 255]);
        const nested = Buffer.from(TEXT);
        const back = await emitWithAck(socket, 'echo', [top, { nested, text: TEXT }, 'plain']);
        assert.equal(back.length, 3, JSON.stringify(back));
        assert.ok(Buffer.isBuffer(back[0]), `a buffer comes back, not ${JSON.stringify(back[0])}`);
        assert.deepEqual([...back[0]], [...top]);
        assert.ok(Buffer.isBuffer(back[1].nested), 'the nested buffer comes back a buffer');
        assert.equal(back[1].nested.toString(), TEXT);
        assert.equal(back[1].text, TEXT);
        assert.equal(back[2], 'plain');
      });

      clientTest(`${version}: a message sent with an ack is acked with its text`, async () => {
        const socket = await openModern(url.modern(), mode, version);
        assertModernTransport(socket, mode);
        assert.deepEqual(await emitWithAck(socket, 'message', [`hello ${TEXT}`]), [`hello ${TEXT}`]);
      });
    }
  });
}
