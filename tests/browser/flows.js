'use strict';

// The per-transport browser flow, shared by transports.test.js (our client against ferrio) and
// compat.test.js (our client against socket.io 0.9.19; the real 0.9.17 build against ferrio):
// two pages connect with one forced transport, an acked emit round-trips, a broadcast goes from
// one page to the other only, and 100 emits come back in order.

const assert = require('node:assert/strict');

const { TEXT, connectAndWait, delay, emit, emitAck, entries, lifecycle, state, waitForEntries } = require('./harness');

/**
 * Options that force `transport` for the client kind: our client takes the `transports`
 * option (it replaces the list); the real 0.9.17 client needs io.transports assigned before
 * io.connect (its option merges into the global list, docs/protocol.md §6.4 / §8 #17).
 */
function forceTransport(transport, { realClient = false, options = {} } = {}) {
  const base = { 'force new connection': true, ...options };
  if (realClient) return { options: base, extra: { globalTransports: [transport] } };
  return { options: { ...base, transports: [transport] }, extra: {} };
}

/** Connects socket `id` of `page` to `url` over `transport` and checks the events. */
async function connectOver(page, id, url, transport, opts = {}) {
  const { options, extra } = forceTransport(transport, opts);
  await connectAndWait(page, id, url, options, extra);
  assert.deepEqual(await lifecycle(page, id), [['connecting', transport], ['connect']], 'lifecycle events of a first connect');
  const s = await state(page, id);
  assert.equal(s.transport, transport, 'transport actually used');
  assert.equal(s.connected, true);
  assert.match(String(s.sessionid), /^[A-Za-z0-9_-]{8,}$/, 'session id');
  return s;
}

/**
 * The flow on two already open pages `a` and `b` (a page may host both when `b` is `a`), with
 * `url` the server to connect to.
 */
async function runFlow({ a, b, url, transport, realClient = false }) {
  const sa = await connectOver(a, 'A', url, transport, { realClient });
  const sb = await connectOver(b, 'B', url, transport, { realClient });
  assert.notEqual(sa.sessionid, sb.sessionid, 'two connections, two sessions');

  // Emit with ack: the server acks with the same arguments (payload framing with UTF-16
  // lengths is exercised by TEXT on polling).
  const args = ['x', { a: [1, 2], b: null, c: true }, TEXT, 3.5];
  assert.deepEqual(await emitAck(a, 'A', 'echo', args), args, 'ack arguments');

  // Broadcast: B gets it, A does not.
  await emit(a, 'A', 'bcast', [TEXT]);
  const [got] = await waitForEntries(b, 'B', 'bmsg');
  assert.deepEqual(got.args, [TEXT]);
  // A round trip on A after the broadcast proves A had time to receive one if it were sent.
  assert.deepEqual(await emitAck(a, 'A', 'echo', ['after']), ['after']);
  assert.equal((await entries(a, 'A', 'bmsg')).length, 0, 'the sender gets no broadcast');

  // 100 emits without ack come back as 100 echo events, in order.
  await a.evaluate(() => {
    for (let i = 0; i < 100; i++) T.emit('A', 'echo', [i, `m${i}`]);
  });
  const echoes = await waitForEntries(a, 'A', 'echo', { count: 100 });
  assert.deepEqual(
    echoes.map((e) => e.args),
    Array.from({ length: 100 }, (_, i) => [i, `m${i}`]),
    'echoes in order',
  );
  // Nothing extra arrives.
  await delay(100);
  assert.equal((await entries(a, 'A', 'echo')).length, 100);
  return { sa, sb };
}

module.exports = { connectOver, forceTransport, runFlow };
