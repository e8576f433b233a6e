'use strict';

// Our client (the parts of static/client, as joined into ferrio) in headless Chromium against
// `ferrio --app conformance`, once per transport (docs/protocol.md §9 C53/C59 for our own client):
// connect, acked emit, broadcast between two pages, 100 messages in order; then the wire-level
// details of acks (§3.3, §6.8), namespaces (§3.6), a server kick (§4.8) and a cross-origin page
// (CORS with credentials, §2.3).

const assert = require('node:assert/strict');
const { after, before, describe, test } = require('node:test');

const {
  TEXT,
  connectAndWait,
  delay,
  emit,
  emitAck,
  entries,
  launchBrowser,
  lifecycle,
  openTestPage,
  recordSentPackets,
  sendAck,
  startFerrio,
  startPageServer,
  state,
  testPageHtml,
  until,
  waitForEntries,
  waitForEntry,
} = require('./harness');
const { connectOver, runFlow } = require('./flows');
const { servedClient } = require('./served-client');

const TEST_TIMEOUT = 30_000;

describe('our client against ferrio', () => {
  let browser;
  let server;
  const pages = [];

  before(async () => {
    server = await startFerrio({ args: ['--heartbeat-interval', '3', '--heartbeat-timeout', '5', '--close-timeout', '4', '--polling-duration', '2'] });
    browser = await launchBrowser();
  });

  after(async () => {
    for (const p of pages) await p.close();
    if (browser) await browser.close();
    if (server) await server.stop();
  });

  async function open(origin = server.url, opts = {}) {
    const p = await openTestPage(browser, origin, opts);
    pages.push(p);
    return p.page;
  }

  test('ferrio serves the client joined from the current static/client (rebuild with `cargo build -p ferrio-server` if not)', async () => {
    await servedClient(server);
  });

  for (const transport of ['websocket', 'xhr-polling']) {
    describe(`over ${transport}`, () => {
      test('connect, emit with ack, broadcast between two pages, 100 messages in order', { timeout: TEST_TIMEOUT }, async () => {
        const a = await open();
        const b = await open();
        await runFlow({ a, b, url: server.url, transport });
        assert.deepEqual(a.errors, []);
      });

      test('acks on the wire: send with fn, auto-ack before dispatch, ack function for id+', { timeout: TEST_TIMEOUT }, async () => {
        const page = await open();
        const sent = recordSentPackets(page);
        await connectOver(page, 'A', server.url, transport);

        // send(text, fn) → 3:N::text (no '+'); the server acks automatically and echoes it.
        assert.deepEqual(await sendAck(page, 'A', 'hi there'), []);
        const [echoed] = await waitForEntries(page, 'A', 'message');
        assert.deepEqual(echoed.args, ['hi there']);
        assert.ok(sent.some((p) => /^3:\d+::hi there$/.test(p)), `3:N::hi there among ${JSON.stringify(sent)}`);

        // askack: the server emits q(1) with an ack (5:N+) and sends 'hello' with an id
        // without '+' (3:M::hello). The handler of q acks with data; 'hello' is acked by the
        // library before the message handler runs — the handler emits 'seen-hello', which must
        // go out after 6:::M.
        await page.evaluate(() => {
          const s = T.sockets.A;
          s.on('q', (n, ack) => ack('A', { b: n }));
          s.on('message', (text) => {
            if (text === 'hello') s.emit('seen-hello');
          });
        });
        await emit(page, 'A', 'askack', []);
        await waitForEntries(page, 'A', 'q');
        await until(() => sent.some((p) => p === '5:::{"name":"seen-hello"}'), "the page's seen-hello");
        const ackQ = sent.findIndex((p) => /^6:::\d+\+\["A",\{"b":1\}\]$/.test(p));
        assert.ok(ackQ >= 0, `6:::N+["A",{"b":1}] among ${JSON.stringify(sent)}`);
        const autoAck = sent.findIndex((p) => /^6:::\d+$/.test(p));
        const seen = sent.indexOf('5:::{"name":"seen-hello"}');
        assert.ok(autoAck >= 0 && autoAck < seen, `auto-ack 6:::M before seen-hello in ${JSON.stringify(sent)}`);
        const [q] = await entries(page, 'A', 'q');
        assert.deepEqual(q.args, [1, '[function]']);
      });

      test('namespace /chat multiplexed on the same connection', { timeout: TEST_TIMEOUT }, async () => {
        const page = await open();
        const sent = recordSentPackets(page);
        await connectOver(page, 'A', server.url, transport);
        // io.connect on the same host with a path: same connection, new namespace.
        await page.evaluate((url) => T.connect('C', `${url}/chat`, {}), server.url);
        const [hi] = await waitForEntries(page, 'C', 'hi');
        assert.deepEqual(hi.args, ['chat']);
        await waitForEntry(page, 'C', 'connect');
        assert.equal(await page.evaluate(() => T.sockets.C.socket === T.sockets.A.socket), false, 'A was forced new, C is not');
        // A namespace of A's own connection.
        await page.evaluate(() => T.of('A', '/chat', 'AC'));
        await waitForEntries(page, 'AC', 'hi');
        assert.deepEqual(await emitAck(page, 'AC', 'echo', ['z', TEXT]), ['z', TEXT]);
        assert.ok(sent.includes('1::/chat'), `1::/chat among ${JSON.stringify(sent)}`);
        assert.ok(sent.some((p) => /^5:\d+\+:\/chat:\{"name":"echo","args":\["z","é€😀"\]\}$/.test(p)), JSON.stringify(sent));
        // Default namespace still works beside it.
        assert.deepEqual(await emitAck(page, 'A', 'echo', [1]), [1]);
        // Leaving the namespace: 0::/chat and a local disconnect; the session lives on.
        await page.evaluate(() => T.sockets.AC.disconnect());
        await waitForEntry(page, 'AC', 'disconnect');
        await until(() => sent.includes('0::/chat'), '0::/chat');
        assert.deepEqual(await emitAck(page, 'A', 'echo', [2]), [2]);
      });

      test('multi: several packets in one poll, lengths in UTF-16 units', { timeout: TEST_TIMEOUT }, async () => {
        const page = await open();
        await connectOver(page, 'A', server.url, transport);
        await emit(page, 'A', 'multi', []);
        const [a] = await waitForEntries(page, 'A', 'a');
        const [b] = await waitForEntries(page, 'A', 'b');
        const [x] = await waitForEntries(page, 'A', 'message');
        assert.deepEqual([a.args, b.args, x.args], [[1], ['é€😀'], ['x']]);
        assert.ok(a.at <= b.at && b.at <= x.at, 'in order');
      });

      test('large messages round-trip (65 535 to 300 000 characters)', { timeout: TEST_TIMEOUT }, async () => {
        const page = await open();
        await connectOver(page, 'A', server.url, transport);
        for (const size of [65_535, 65_536, 70_000, 300_000]) {
          const result = await page.evaluate(
            ([n, text]) =>
              T.emitAck('A', 'echo', [text.repeat(Math.ceil(n / text.length)).slice(0, n)]).then(([back]) => ({
                length: back.length,
                same: back === text.repeat(Math.ceil(n / text.length)).slice(0, n),
              })),
            [size, `ab/é€\u2028"${TEXT}`],
          );
          assert.deepEqual(result, { length: size, same: true }, `${size} characters`);
        }
      });

      test('server kick: disconnect("booted") and no reconnection', { timeout: TEST_TIMEOUT }, async () => {
        const page = await open();
        await connectOver(page, 'A', server.url, transport);
        await emit(page, 'A', 'kick', []);
        const disconnect = await waitForEntry(page, 'A', 'disconnect');
        assert.deepEqual(disconnect.args, ['booted']);
        await delay(1500);
        assert.deepEqual(await lifecycle(page, 'A'), [['connecting', transport], ['connect'], ['disconnect', 'booted']]);
        const s = await state(page, 'A');
        assert.deepEqual([s.connected, s.connecting, s.reconnecting], [false, false, false]);
      });

      test('client disconnect() sends 0:: and stays down; connect() starts a new session', { timeout: TEST_TIMEOUT }, async () => {
        const page = await open();
        const sent = recordSentPackets(page);
        const first = await connectOver(page, 'A', server.url, transport);
        await page.evaluate(() => T.sockets.A.disconnect());
        await waitForEntry(page, 'A', 'disconnect');
        await until(() => sent.includes('0::'), '0:: sent');
        // Emits while disconnected are buffered and go out on the next session.
        await page.evaluate(() => T.emit('A', 'echo', ['buffered']));
        await page.evaluate(() => T.sockets.A.socket.connect());
        const [echo] = await waitForEntries(page, 'A', 'echo');
        assert.deepEqual(echo.args, ['buffered']);
        const second = await state(page, 'A');
        assert.notEqual(second.sessionid, first.sessionid);
        assert.equal(second.transport, transport);
      });

      test('a page without native JSON uses the fallback on the wire', { timeout: TEST_TIMEOUT }, async () => {
        const page = await open(server.url, {
          initScript: () => {
            window.__nativeJSON = window.JSON;
            delete window.JSON;
          },
        });
        assert.equal(await page.evaluate(() => typeof window.JSON === 'undefined' && io.JSON === io.util.json), true);
        await connectOver(page, 'A', server.url, transport);
        const args = [TEXT, { nested: [1, 2.5, null, true, 'q"uote\\'], e: {} }, [], 'line\nbreak\u2028'];
        assert.deepEqual(await emitAck(page, 'A', 'echo', args), args);
        await emit(page, 'A', 'multi', []);
        const [b] = await waitForEntries(page, 'A', 'b');
        assert.deepEqual(b.args, [TEXT]);
      });

      test('a page on another origin connects with CORS and credentials', { timeout: TEST_TIMEOUT }, async () => {
        const site = await startPageServer({
          '/page.html': { type: 'text/html; charset=utf-8', body: testPageHtml(`${server.url}/socket.io/socket.io.js`) },
        });
        try {
          const { page, context, close } = await openTestPage(browser, site.url, { pagePath: '/page.html' });
          pages.push({ close });
          // A cookie of ferrio's host: sent on cross-origin requests only with credentials.
          await context.addCookies([{ name: 'probe', value: 'yes', url: server.url }]);
          const requests = [];
          page.on('request', (r) => requests.push(r));
          await connectOver(page, 'A', server.url, transport);
          assert.deepEqual(await emitAck(page, 'A', 'echo', [TEXT]), [TEXT]);
          await emit(page, 'A', 'multi', []);
          await waitForEntries(page, 'A', 'message');
          const handshake = requests.find((r) => /\/socket\.io\/1\/\?/.test(r.url()));
          assert.ok(handshake, 'handshake request seen');
          assert.equal((await handshake.allHeaders()).origin, site.url, 'cross-origin handshake');
          assert.match((await handshake.allHeaders()).cookie || '', /probe=yes/, 'handshake XHR withCredentials');
          const answer = await (await handshake.response()).allHeaders();
          assert.equal(answer['access-control-allow-origin'], site.url);
          assert.equal(answer['access-control-allow-credentials'], 'true');
          if (transport === 'xhr-polling') {
            const poll = requests.find((r) => /\/xhr-polling\//.test(r.url()) && r.method() === 'GET');
            assert.equal((await poll.allHeaders()).origin, site.url, 'cross-origin poll');
            assert.match((await poll.allHeaders()).cookie || '', /probe=yes/, 'poll XHR withCredentials');
          }
          assert.equal(await page.evaluate(() => T.sockets.A.socket.isXDomain()), true);
        } finally {
          await site.close();
        }
      });
    });
  }

  test('connect via a default io.connect() on the ferrio origin picks websocket', { timeout: TEST_TIMEOUT }, async () => {
    const page = await open();
    await connectAndWait(page, 'A', null, {});
    assert.deepEqual(await lifecycle(page, 'A'), [['connecting', 'websocket'], ['connect']]);
    assert.deepEqual(await emitAck(page, 'A', 'echo', ['d']), ['d']);
    // io.connect() again returns the cached connection's default namespace.
    assert.equal(await page.evaluate(() => io.connect() === T.sockets.A), true);
  });
});
