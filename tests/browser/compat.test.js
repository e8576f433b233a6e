'use strict';

// Cross-compatibility, both ways:
// - our client (as ferrio serves it) on pages of the reference server, socket.io 0.9.19
//   (reference-server.js), in the same per-transport flow as against ferrio;
// - the real socket.io-client 0.9.17 browser build against ferrio: docs/protocol.md §9 C55 (websocket emit +
//   ack), C56 (io.transports = ['xhr-polling'] before io.connect, same origin and from a page on
//   another port), C57 (WebSocket upgrades refused → connecting('websocket'), then after the
//   connect timeout connecting('xhr-polling') with the same sid, then connect).
// C58 (sync disconnect on unload) is in unload.test.js.

const assert = require('node:assert/strict');
const fs = require('node:fs');
const { after, before, describe, test } = require('node:test');

const {
  REAL_CLIENT_PATH,
  TEXT,
  emit,
  emitAck,
  entries,
  launchBrowser,
  lifecycle,
  openTestPage,
  startFerrio,
  startPageServer,
  startProxy,
  startReferenceServer,
  state,
  testPageHtml,
  waitForEntries,
  waitForEntry,
} = require('./harness');
const { connectOver, runFlow } = require('./flows');
const { clientUrl, servedClient } = require('./served-client');

const TEST_TIMEOUT = 30_000;

let browser;
const closers = [];

before(async () => {
  browser = await launchBrowser();
});

after(async () => {
  for (const close of closers.reverse()) await close();
  if (browser) await browser.close();
});

async function open(origin, opts) {
  const p = await openTestPage(browser, origin, opts);
  closers.push(p.close);
  return p.page;
}

describe('our client against the reference server (socket.io 0.9.19)', () => {
  let reference;
  let scriptHost; // a ferrio serving our client to the reference server's pages

  before(async () => {
    reference = await startReferenceServer();
    closers.push(() => reference.stop());
    scriptHost = await startFerrio();
    closers.push(() => scriptHost.stop());
    await servedClient(scriptHost);
  });

  /** A page of the reference server with our client on it. */
  function openOnReference() {
    return open(reference.url, { clientSrc: clientUrl(scriptHost) });
  }

  for (const transport of ['websocket', 'xhr-polling']) {
    test(`over ${transport}: connect, emit with ack, broadcast, 100 messages in order`, { timeout: TEST_TIMEOUT }, async () => {
      const a = await openOnReference();
      const b = await openOnReference();
      assert.equal(await a.evaluate(() => io.client), 'ferrio 0.1.0', 'our client is on the page');
      await runFlow({ a, b, url: reference.url, transport });
    });

    test(`over ${transport}: namespace, send with ack, several packets at once`, { timeout: TEST_TIMEOUT }, async () => {
      const page = await openOnReference();
      await connectOver(page, 'A', reference.url, transport);
      await page.evaluate(() => T.of('A', '/chat', 'AC'));
      const [hi] = await waitForEntries(page, 'AC', 'hi');
      assert.deepEqual(hi.args, ['chat']);
      assert.deepEqual(await emitAck(page, 'AC', 'echo', ['z', TEXT]), ['z', TEXT]);
      assert.deepEqual(await page.evaluate(() => T.sendAck('A', 'hi')), []);
      await emit(page, 'A', 'multi', []);
      const [b] = await waitForEntries(page, 'A', 'b');
      assert.deepEqual(b.args, [TEXT]);
      const messages = await waitForEntries(page, 'A', 'message', { count: 2 });
      assert.deepEqual(messages.map((m) => m.args), [['hi'], ['x']]);
    });
  }

  test('server kick: disconnect("booted"), no reconnection', { timeout: TEST_TIMEOUT }, async () => {
    const page = await openOnReference();
    await connectOver(page, 'A', reference.url, 'websocket');
    await emit(page, 'A', 'kick', []);
    const disconnect = await waitForEntry(page, 'A', 'disconnect');
    assert.deepEqual(disconnect.args, ['booted']);
    await new Promise((resolve) => setTimeout(resolve, 800));
    assert.equal((await entries(page, 'A', 'reconnecting')).length, 0);
  });
});

describe('the real socket.io-client 0.9.17 build against ferrio', () => {
  let server;

  before(async () => {
    server = await startFerrio();
    closers.push(() => server.stop());
  });

  async function openReal(origin = server.url, opts = {}) {
    const page = await open(origin, { realClient: true, ...opts });
    assert.equal(await page.evaluate(() => io.version), '0.9.17', 'the real client is on the page');
    return page;
  }

  test('C55: connects over websocket; emit with ack, broadcast, 100 messages in order', { timeout: TEST_TIMEOUT }, async () => {
    const a = await openReal();
    const b = await openReal();
    await runFlow({ a, b, url: server.url, transport: 'websocket', realClient: true });
  });

  test('C56: io.transports = ["xhr-polling"] before io.connect (same origin)', { timeout: TEST_TIMEOUT }, async () => {
    const a = await openReal();
    const b = await openReal();
    await runFlow({ a, b, url: server.url, transport: 'xhr-polling', realClient: true });
  });

  test('C56: the same from a page on another origin (CORS with credentials)', { timeout: TEST_TIMEOUT }, async () => {
    const site = await startPageServer({
      '/page.html': { type: 'text/html; charset=utf-8', body: testPageHtml('/socket.io.js') },
      '/socket.io.js': { type: 'application/javascript', body: fs.readFileSync(REAL_CLIENT_PATH) },
    });
    closers.push(site.close);
    const page = await open(site.url, { pagePath: '/page.html' });
    assert.equal(await page.evaluate(() => io.version), '0.9.17');
    const requests = [];
    page.on('requestfinished', (r) => {
      if (r.url().startsWith(server.url)) requests.push(r);
    });
    await connectOver(page, 'A', server.url, 'xhr-polling', { realClient: true });
    assert.deepEqual(await emitAck(page, 'A', 'echo', ['cross', TEXT]), ['cross', TEXT]);
    await emit(page, 'A', 'multi', []);
    await waitForEntries(page, 'A', 'message');
    const origins = await Promise.all(requests.map(async (r) => (await r.allHeaders()).origin));
    assert.ok(origins.length >= 3 && origins.every((o) => o === site.url), JSON.stringify(origins));
  });

  test('C57: WebSocket upgrades refused → after the connect timeout, xhr-polling with the same sid', { timeout: TEST_TIMEOUT }, async () => {
    const front = await startProxy(server.port, { mode: 'destroy' });
    closers.push(front.close);
    const page = await openReal(front.url);
    const started = Date.now();
    await page.evaluate((url) => T.connect('A', url, { 'force new connection': true, 'connect timeout': 1500 }), front.url);
    await waitForEntry(page, 'A', 'connect', { timeout: 8000 });
    const took = Date.now() - started;
    const events = (await lifecycle(page, 'A')).filter((e) => e[0] !== 'error'); // an error may come in between
    assert.deepEqual(events, [['connecting', 'websocket'], ['connecting', 'xhr-polling'], ['connect']]);
    assert.ok(took >= 1500, `fallback after ${took} ms (the connect timeout is 1500 ms)`);
    const s = await state(page, 'A');
    assert.equal(s.transport, 'xhr-polling');
    assert.equal(front.upgrades.length, 1);
    assert.ok(front.upgrades[0].includes(`/websocket/${s.sessionid}`), `${front.upgrades[0]} vs ${s.sessionid}`);
    assert.ok(front.requests.some((r) => r.includes(`/xhr-polling/${s.sessionid}`)), JSON.stringify(front.all));
    assert.equal(new Set(front.requests.filter((r) => /^GET \/socket\.io\/1\/\?/.test(r))).size, 1, 'one handshake');
    assert.deepEqual(await emitAck(page, 'A', 'echo', ['after fallback']), ['after fallback']);
  });
});
