'use strict';

// Reconnection of our client (docs/protocol.md §6.7 plus jitter, design note 3 in static/client/head.js):
// the server restarts on the same port → disconnect, reconnecting(delay, attempt) with jittered
// delays, reconnect(transport, attempts) before connect, buffered emits flushed in order,
// namespaces re-joined; the server gone for good → the configured attempts, one final
// all-transports try, then reconnect_failed.

const assert = require('node:assert/strict');
const { after, describe, test } = require('node:test');

const {
  delay,
  emit,
  entries,
  launchBrowser,
  lifecycle,
  openTestPage,
  restartServer,
  startFerrio,
  startProxy,
  state,
  waitForEntries,
  waitForEntry,
  withTimeout,
} = require('./harness');
const { connectOver } = require('./flows');

const TEST_TIMEOUT = 40_000;

describe('reconnection of our client', () => {
  let browser;
  const closers = [];

  after(async () => {
    for (const close of closers.reverse()) await close();
    if (browser) await browser.close();
  });

  async function setup() {
    if (!browser) browser = await launchBrowser();
  }

  for (const transport of ['websocket', 'xhr-polling']) {
    test(`server restart over ${transport}: reconnect, buffered emits in order, namespaces re-joined`, { timeout: TEST_TIMEOUT }, async () => {
      await setup();
      let server = await startFerrio({ args: ['--close-timeout', '4', '--polling-duration', '2'] });
      closers.push(() => server.stop());
      const p = await openTestPage(browser, server.url);
      closers.push(p.close);
      const { page } = p;

      const first = await connectOver(page, 'A', server.url, transport, { options: { 'reconnection delay': 200 } });
      await page.evaluate(() => T.of('A', '/chat', 'AC'));
      await waitForEntries(page, 'AC', 'hi');
      const mark = (await entries(page, 'A')).length;

      await server.stop();
      const lost = await waitForEntry(page, 'A', 'disconnect', { from: mark });
      assert.deepEqual(lost.args, ['[undefined]'], 'transport lost: disconnect without reason');

      // Emits while disconnected are buffered.
      await emit(page, 'A', 'echo', ['buffered', 1]);
      const acked = page.evaluate(() => T.emitAck('A', 'echo', ['buffered-ack']));
      await emit(page, 'A', 'echo', ['buffered', 2]);

      await waitForEntries(page, 'A', 'reconnecting', { from: mark, count: 2 });
      server = await restartServer(server);
      await waitForEntry(page, 'A', 'connect', { from: mark + 1 });

      const after_ = (await lifecycle(page, 'A')).slice(mark);
      const names = after_.map((e) => e[0]);
      assert.equal(names[0], 'disconnect');
      assert.deepEqual(names.slice(-3), ['connecting', 'reconnect', 'connect'], JSON.stringify(after_));
      assert.ok(names.slice(1, -3).every((n) => n === 'reconnecting'), JSON.stringify(after_));
      const reconnecting = after_.filter((e) => e[0] === 'reconnecting');
      reconnecting.forEach(([, wait, attempt], i) => {
        assert.equal(attempt, i + 1, 'attempts count up');
        const nominal = 200 * 2 ** (i + 1);
        assert.ok(Number.isInteger(wait) && wait >= nominal / 2 && wait <= nominal, `wait ${wait} for nominal ${nominal}`);
      });
      const reconnect = after_[after_.length - 2];
      assert.deepEqual(reconnect, ['reconnect', transport, reconnecting.length]);
      assert.deepEqual(after_[after_.length - 3], ['connecting', transport]);

      // The buffered emits went out on the new session, in order.
      assert.deepEqual(await withTimeout(acked, 5000, 'the buffered ack'), ['buffered-ack']);
      const echoes = await waitForEntries(page, 'A', 'echo', { count: 2 });
      assert.deepEqual(echoes.map((e) => e.args), [['buffered', 1], ['buffered', 2]]);
      // /chat re-joined on the new session.
      await waitForEntries(page, 'AC', 'hi', { count: 2 });
      const now = await state(page, 'A');
      assert.notEqual(now.sessionid, first.sessionid, 'a new session');
      assert.deepEqual([now.connected, now.reconnecting, now.transport], [true, false, transport]);
      await server.stop();
    });
  }

  test('error packet with advice reconnect (7:::1+0): disconnect("booted"), error, then a new session', { timeout: TEST_TIMEOUT }, async () => {
    await setup();
    const server = await startFerrio({ args: ['--polling-duration', '1'] });
    closers.push(() => server.stop());
    const p = await openTestPage(browser, server.url);
    closers.push(p.close);
    const { page } = p;
    const first = await connectOver(page, 'A', server.url, 'xhr-polling', { options: { 'reconnection delay': 100 } });
    // The next poll names a session ferrio does not know: it answers 7:::1+0.
    await page.evaluate(() => {
      T.sockets.A.socket.transport.sessid = 'no-such-session';
    });
    await waitForEntry(page, 'A', 'reconnect', { timeout: 8000 });
    await waitForEntry(page, 'A', 'connect', { from: 2 });
    const events = (await lifecycle(page, 'A')).slice(2);
    assert.deepEqual(events.slice(0, 2), [['disconnect', 'booted'], ['error', 'client not handshaken']], JSON.stringify(events));
    assert.deepEqual(events.slice(-3), [['connecting', 'xhr-polling'], ['reconnect', 'xhr-polling', 1], ['connect']], JSON.stringify(events));
    const now = await state(page, 'A');
    assert.notEqual(now.sessionid, first.sessionid);
    assert.equal(now.connected, true);
  });

  test('server gone: the configured attempts, a final try, then reconnect_failed', { timeout: TEST_TIMEOUT }, async () => {
    await setup();
    const server = await startFerrio();
    closers.push(() => server.stop());
    const front = await startProxy(server.port);
    closers.push(front.close);
    const p = await openTestPage(browser, front.url);
    closers.push(p.close);
    const { page } = p;
    const options = {
      'reconnection delay': 100,
      'reconnection limit': 300,
      'max reconnection attempts': 3,
      'reconnection jitter': 0,
    };
    await connectOver(page, 'A', front.url, 'websocket', { options });
    const handshakes = () => new Set(front.requests.filter((r) => /^GET \/socket\.io\/1\/\?/.test(r))).size;
    const handshakesBefore = handshakes();
    await server.stop();
    const lostAt = (await waitForEntry(page, 'A', 'disconnect')).at;
    const failed = await waitForEntry(page, 'A', 'reconnect_failed', { timeout: 10_000 });
    assert.deepEqual((await lifecycle(page, 'A')).slice(2), [
      ['disconnect', '[undefined]'],
      ['reconnecting', 200, 1],
      ['reconnecting', 300, 2],
      ['reconnecting', 300, 3],
      ['reconnect_failed'],
    ]);
    // 100 ms, then the three waits of 200, 300 and 300 ms (no jitter), then the final try.
    const took = failed.at - lostAt;
    assert.ok(took >= 850 && took < 5000, `reconnect_failed ${took} ms after the loss`);
    // Three attempts plus the final all-transports try, each with its own handshake.
    assert.equal(handshakes() - handshakesBefore, 4, JSON.stringify(front.all));
    await delay(700);
    assert.equal((await lifecycle(page, 'A')).length, 7, 'nothing after reconnect_failed');
    const s = await state(page, 'A');
    assert.deepEqual([s.connected, s.connecting, s.reconnecting], [false, false, false]);
  });
});
