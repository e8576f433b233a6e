'use strict';

// The real socket.io-client 4.8 (Engine.IO 4, Socket.IO 5) against `ferrio --app chat`, in
// each way it can connect: HTTP long-polling only, WebSocket only, and polling upgraded to a
// WebSocket (its default). Each way runs the same tests, among them a chat it shares with the
// real socket.io-client 0.9.17 forced onto xhr-polling: modern clients at /socket.io/ (the
// client's default path), 0.9 clients at /socket.io/1/, one hub.
//
// MODERN_SERVER picks the server under test:
// - `ferrio` (the default): the ferrio binary (tests/shared/gateway.js finds it);
// - `reference`: socket.io 4.8 running the same chat (fixtures/chat4.js), which shows the
//   tests themselves are right. socket.io 4.8 cannot talk to a 0.9.17 client, so there the
//   shared chat has the 4.8 clients only, and its name says so.

const assert = require('node:assert/strict');
const path = require('node:path');
const { after, before, describe, test } = require('node:test');

const { closeAllClients, emitWithAck, openClient, startServer, waitForEvent } = require('./harness');
const { MODES, assertModernTransport, closeAllModernClients, modernClient, openModern } = require('./modern_clients');
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
  },
  reference: {
    name: 'socket.io 4.8 (fixtures/chat4.js)',
    speaksLegacy: false,
    start: () => startServer({ program: { bin: process.execPath, args: [REFERENCE_FIXTURE, '--port', '0'] } }),
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
 * own included), each exactly once and in its sender's order. Waits until everyone has heard
 * everything, then SETTLE_MS more for anything extra.
 */
async function assertLedger(participants, lines) {
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
      const [from, number] = line.split(':');
      assert.ok(next.has(from), `${listener.name} heard ${line}, from nobody in the chat`);
      assert.equal(
        Number(number),
        next.get(from),
        `${listener.name} heard ${line} out of order or twice: ${JSON.stringify(listener.heard)}`,
      );
      next.set(from, next.get(from) + 1);
    }
    for (const sender of participants) {
      assert.equal(next.get(sender.name), lines + 1, `${listener.name} misses lines of ${sender.name}`);
    }
  }
}

for (const mode of Object.keys(MODES)) {
  describe(`socket.io-client 4.8 (${mode}) against ${SERVER.name}`, () => {
    let server;
    let url;

    before(async () => {
      server = await SERVER.start();
      url = urls(server);
    });

    after(async () => {
      closeAllModernClients();
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
          closeAllModernClients();
          closeAllClients();
        }
      });
    }

    clientTest(`connects to the default namespace (${mode}), with a socket id apart from the Engine.IO sid`, async () => {
      const socket = await openModern(url.modern(), mode);
      assert.equal(socket.connected, true);
      assert.equal(typeof socket.id, 'string');
      assert.ok(socket.id.length > 0, 'socket.id is empty');
      const sid = socket.io.engine.id;
      assert.equal(typeof sid, 'string');
      assert.ok(sid.length > 0, 'the Engine.IO sid is empty');
      assert.notEqual(sid, socket.id, 'Socket.IO 5 gives the namespace socket an id of its own');
      assertModernTransport(socket, mode);
    });

    const chatters = SERVER.speaksLegacy
      ? `one 0.9.17 client (xhr-polling) and two 4.8 clients (${mode})`
      : `two 4.8 clients (${mode}) only, no 0.9.17 client (socket.io 4.8 cannot speak 0.9)`;
    clientTest(`a chat of ${chatters}: ${LINES} lines each, to everyone, once, in order`, async () => {
      const participants = [];
      if (SERVER.speaksLegacy) {
        const { socket } = await openClient(url.legacy, { transport: 'xhr-polling' });
        assertTransport(socket, 'xhr-polling');
        participants.push({ name: 'a', generation: '0.9', socket, heard: [] });
      }
      for (const name of ['b', 'c']) {
        const socket = await openModern(url.modern(), mode);
        assertModernTransport(socket, mode);
        participants.push({ name, generation: '4.8', socket, heard: [] });
      }
      assert.deepEqual(
        participants.map((p) => p.generation),
        SERVER.speaksLegacy ? ['0.9', '4.8', '4.8'] : ['4.8', '4.8'],
      );
      for (const participant of participants) {
        participant.socket.on('toClient', (line) => participant.heard.push(line));
      }
      for (let line = 1; line <= LINES; line += 1) {
        for (const participant of participants) {
          participant.socket.emit('toServer', { nome: participant.name, msg: String(line) });
        }
        await delay(10);
      }
      await assertLedger(participants, LINES);
      for (const participant of participants) {
        if (participant.generation === '4.8') {
          assertModernTransport(participant.socket, mode);
        } else {
          assertTransport(participant.socket, 'xhr-polling');
        }
      }
    });

    clientTest("an unknown namespace gets connect_error 'Invalid namespace'", async () => {
      const socket = modernClient(url.modern('/nope'), mode);
      const [error] = await waitForEvent(socket, 'connect_error');
      assert.ok(error instanceof Error, `connect_error with ${JSON.stringify(error)}`);
      assert.equal(error.message, 'Invalid namespace');
      assert.equal(socket.connected, false);
    });

    clientTest('toServer from one 4.8 client reaches another 4.8 client once, and its sender once', async () => {
      const sender = await openModern(url.modern(), mode);
      const listener = await openModern(url.modern(), mode);
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

    clientTest('a message sent with an ack is acked with its text', async () => {
      const socket = await openModern(url.modern(), mode);
      assertModernTransport(socket, mode);
      assert.deepEqual(await emitWithAck(socket, 'message', [`hello ${TEXT}`]), [`hello ${TEXT}`]);
    });
  });
}
