'use strict';

// Liveness (docs/protocol.md §4.3, §4.5): with short server timers an idle connection stays up — the
// client answers every `2::` on websocket at once, and keeps polling on xhr-polling — and a
// half-open WebSocket (a proxy that stops moving data while both TCP connections stay open)
// is noticed through the heartbeat timeout and replaced by a new session.

const assert = require('node:assert/strict');
const { after, before, describe, test } = require('node:test');

const {
  delay,
  emitAck,
  entries,
  launchBrowser,
  lifecycle,
  openTestPage,
  recordSentPackets,
  startFerrio,
  startProxy,
  state,
  waitForEntry,
} = require('./harness');
const { connectOver } = require('./flows');

const TEST_TIMEOUT = 30_000;

describe('heartbeats and timeouts', () => {
  let browser;
  let server;
  const closers = [];

  before(async () => {
    server = await startFerrio({
      args: ['--heartbeat-interval', '1', '--heartbeat-timeout', '2', '--close-timeout', '2', '--polling-duration', '1'],
    });
    browser = await launchBrowser();
  });

  after(async () => {
    for (const close of closers.reverse()) await close();
    if (browser) await browser.close();
    if (server) await server.stop();
  });

  async function open(origin) {
    const p = await openTestPage(browser, origin);
    closers.push(p.close);
    return p.page;
  }

  test('websocket: every 2:: is answered and an idle connection stays up', { timeout: TEST_TIMEOUT }, async () => {
    const page = await open(server.url);
    const received = [];
    page.on('websocket', (ws) => ws.on('framereceived', (f) => received.push(String(f.payload))));
    const sent = recordSentPackets(page);
    const { sessionid } = await connectOver(page, 'A', server.url, 'websocket');
    await delay(3500);
    const beats = received.filter((p) => p === '2::').length;
    assert.ok(beats >= 2, `heartbeats received: ${beats}`);
    assert.ok(sent.filter((p) => p === '2::').length >= beats - 1, `answered: ${JSON.stringify(sent)}`);
    assert.deepEqual(await lifecycle(page, 'A'), [['connecting', 'websocket'], ['connect']], 'no disconnect');
    assert.equal((await state(page, 'A')).sessionid, sessionid);
    assert.deepEqual(await emitAck(page, 'A', 'echo', ['still here']), ['still here']);
  });

  test('xhr-polling: the poll loop keeps an idle session past the close timeout', { timeout: TEST_TIMEOUT }, async () => {
    const page = await open(server.url);
    const polls = [];
    page.on('requestfinished', (r) => {
      if (r.method() === 'GET' && r.url().includes('/xhr-polling/')) polls.push(r.url());
    });
    const { sessionid } = await connectOver(page, 'A', server.url, 'xhr-polling');
    await delay(3500);
    assert.ok(polls.length >= 3, `polls answered: ${polls.length}`);
    assert.deepEqual(await lifecycle(page, 'A'), [['connecting', 'xhr-polling'], ['connect']], 'no disconnect');
    assert.equal((await state(page, 'A')).sessionid, sessionid);
    assert.deepEqual(await emitAck(page, 'A', 'echo', ['still here']), ['still here']);
  });

  test('a half-open WebSocket is dropped after the heartbeat timeout and the client reconnects', { timeout: TEST_TIMEOUT }, async () => {
    // Its own server with a long close timeout, so only the heartbeat timeout can notice.
    const own = await startFerrio({ args: ['--heartbeat-interval', '1', '--heartbeat-timeout', '2', '--close-timeout', '8'] });
    closers.push(() => own.stop());
    const front = await startProxy(own.port);
    closers.push(front.close);
    const page = await open(front.url);
    const first = await connectOver(page, 'A', front.url, 'websocket', { options: { 'reconnection delay': 100 } });
    front.freeze();
    const frozenAt = Date.now();
    const lost = await waitForEntry(page, 'A', 'disconnect', { timeout: 5000 });
    const silence = Date.now() - frozenAt;
    // The handshake announced a 2 s heartbeat timeout (and an 8 s close timeout); the last
    // heartbeat came about 1 s or less before the freeze.
    assert.ok(silence >= 500 && silence < 3500, `noticed after ${silence} ms`);
    assert.deepEqual(lost.args, ['[undefined]']);
    await waitForEntry(page, 'A', 'reconnect', { timeout: 5000 });
    const now = await state(page, 'A');
    assert.equal(now.connected, true);
    assert.notEqual(now.sessionid, first.sessionid);
    assert.deepEqual(await emitAck(page, 'A', 'echo', ['back']), ['back']);
    const names = (await entries(page, 'A')).map((e) => e.name);
    assert.deepEqual(names.slice(0, 3), ['connecting', 'connect', 'disconnect']);
  });
});
