'use strict';

// The real socket.io-client@0.9.17, and the real 4.8 beside it, against three ferrio nodes on
// one Redis behind nginx balancing round-robin per request (tests/shared/cluster.js): no
// sticky sessions, so a client's handshake, its WebSocket upgrade or its polls and POSTs land
// on different nodes. A chat of numbered lines over websocket, over xhr-polling, both at
// once, and with 4.8 clients on each of their ways: every line reaches every client exactly
// once and in its sender's order (a ledger: nothing lost silently).

const assert = require('node:assert/strict');
const { after, before, describe, test } = require('node:test');

const { closeAllClients, openClient } = require('./harness');
const { assertModernTransport, closeAllModernClients, openModern } = require('./modern_clients');
const { assertTransport } = require('./scenarios');
const { startCluster } = require('../shared/cluster');
const { delay } = require('../shared/timing');

/** Per-test backstop. */
const TEST_TIMEOUT = 60_000;

/** Lines each client says. */
const LINES = 20;

/** The 4.8 client's way of connecting, for a `transports` entry such as `4.8:upgrade`. */
const MODERN_PREFIX = '4.8:';

/** A client through `url`: 0.9.17 on a 0.9 `transport`, or 4.8 on `4.8:<mode>`. */
async function openAny(url, transport) {
  if (transport.startsWith(MODERN_PREFIX)) {
    const mode = transport.slice(MODERN_PREFIX.length);
    const socket = await openModern(url, mode);
    assertModernTransport(socket, mode);
    return socket;
  }
  const client = await openClient(url, { transport });
  assertTransport(client.socket, transport);
  return client.socket;
}

/**
 * Opens one client per entry of `transports` through `url`, has each say LINES numbered lines
 * (`toServer`, which the chat app sends back to the sender and to everyone else as
 * `toClient` "<nome>:<msg>"), and checks the ledger once every client has every line.
 */
async function chat(url, transports) {
  const clients = [];
  for (const [index, transport] of transports.entries()) {
    const socket = await openAny(url, transport);
    const heard = [];
    socket.on('toClient', (line) => heard.push(line));
    clients.push({ name: `c${index}`, socket, heard });
  }
  for (let line = 1; line <= LINES; line += 1) {
    for (const client of clients) {
      client.socket.emit('toServer', { nome: client.name, msg: String(line) });
    }
    await delay(10);
  }
  await assertLedger(clients, LINES);
}

/**
 * Waits (20 s at most) until every client has heard `lines` lines of every client, then
 * checks each heard every line of every sender exactly once and in the sender's order.
 */
async function assertLedger(clients, lines) {
  const everything = clients.length * lines;
  const deadline = Date.now() + 20_000;
  while (clients.some((client) => client.heard.length < everything) && Date.now() < deadline) {
    await delay(50);
  }
  await delay(300);
  for (const client of clients) {
    const next = new Map(clients.map((sender) => [sender.name, 1]));
    for (const line of client.heard) {
      const [from, number] = line.split(':');
      assert.equal(Number(number), next.get(from), `${client.name} heard ${line} out of order or twice: ${JSON.stringify(client.heard)}`);
      next.set(from, next.get(from) + 1);
    }
    for (const sender of clients) {
      assert.equal(next.get(sender.name), lines + 1, `${client.name} is missing lines of ${sender.name}: ${JSON.stringify(client.heard)}`);
    }
  }
}

describe('socket.io-client 0.9.17 through a round-robin balancer over three nodes', () => {
  let cluster;

  before(async () => {
    cluster = await startCluster({ nodes: 3 });
  });

  after(async () => {
    closeAllModernClients();
    closeAllClients();
    if (cluster) {
      await cluster.stop();
    }
  });

  for (const transports of [
    ['websocket', 'websocket', 'websocket', 'websocket'],
    ['xhr-polling', 'xhr-polling', 'xhr-polling', 'xhr-polling'],
    ['websocket', 'xhr-polling', 'websocket', 'xhr-polling'],
    ['websocket', 'xhr-polling', '4.8:upgrade', '4.8:websocket', '4.8:polling'],
  ]) {
    test(`a chat over ${[...new Set(transports)].join(' and ')}: every line to everyone, once, in order`, { timeout: TEST_TIMEOUT }, async () => {
      try {
        await chat(cluster.url, transports);
      } finally {
        closeAllModernClients();
        closeAllClients();
      }
    });
  }

  test('kill -9 of a node: its clients reconnect through the balancer to live nodes and the chat goes on', { timeout: TEST_TIMEOUT }, async () => {
    try {
      const clients = [];
      for (const [index, transport] of ['websocket', 'xhr-polling', 'websocket', 'xhr-polling', 'websocket', 'xhr-polling'].entries()) {
        const client = await openClient(cluster.url, { transport, options: { 'reconnection delay': 100 } });
        const heard = [];
        let disconnects = 0;
        let reconnects = 0;
        client.socket.on('toClient', (line) => heard.push(line));
        client.socket.on('disconnect', () => {
          disconnects += 1;
        });
        client.socket.on('reconnect', () => {
          reconnects += 1;
        });
        clients.push({
          name: `k${index}`,
          socket: client.socket,
          heard,
          down: () => disconnects > reconnects,
          disconnects: () => disconnects,
        });
      }
      // The last node dies without a word; the first two stay.
      const victim = cluster.nodes[cluster.nodes.length - 1];
      victim.child.kill('SIGKILL');
      await victim.exited;
      // Every client whose session was there notices and reconnects; the others stay.
      const deadline = Date.now() + 30_000;
      await delay(500);
      while (clients.some((client) => client.down()) && Date.now() < deadline) {
        await delay(100);
      }
      assert.ok(!clients.some((client) => client.down()), 'every client is connected again');
      assert.ok(clients.some((client) => client.disconnects() > 0), 'some sessions were on the killed node');
      // The chat goes on: every line said now reaches everyone, once, in order.
      for (const client of clients) client.heard.length = 0;
      for (let line = 1; line <= 10; line += 1) {
        for (const client of clients) client.socket.emit('toServer', { nome: client.name, msg: String(line) });
        await delay(10);
      }
      await assertLedger(clients, 10);
    } finally {
      closeAllClients();
    }
  });

  test('the requests crossed nodes: sessions were taken over and requests forwarded', { timeout: TEST_TIMEOUT }, async () => {
    let taken = 0;
    let forwarded = 0;
    for (const node of cluster.nodes.filter((node) => node.child.exitCode === null && node.child.signalCode === null)) {
      const metrics = await (await fetch(`${node.adminUrl}/metrics`)).text();
      const value = (name) => Number((new RegExp(`^${name} (\\d+)`, 'm').exec(metrics) || [])[1] || 0);
      taken += value('ferrio_cluster_taken_total');
      forwarded += value('ferrio_cluster_forwarded_out_total');
    }
    assert.ok(taken > 0, 'no session was taken over by another node than its handshake\'s');
    assert.ok(forwarded > 0, 'no request was forwarded');
  });
});
