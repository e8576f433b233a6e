'use strict';

// The origins list in headless Chromium (docs/protocol.md §2.6, §1.5): ferrio runs with
// `--origins 127.0.0.1:<port of one page server>`, so one page origin is allowed and every other
// one, ferrio's own included, is not.
// - from the allowed page: our client over websocket, xhr-polling, xhr-multipart and
//   jsonp-polling (the shared flow; CORS with credentials, script GETs that carry only a
//   Referer, form POSTs) and the real 0.9.17 client over xhr-polling and jsonp-polling;
// - from another origin: the handshake fails, and with a session id learnt elsewhere every
//   request (fetch with credentials, a JSONP script, a preflighted POST) is refused, none
//   readable and none delivered, while the session's owner chats on;
// - preflights grant `Content-Type` and nothing more, even to the allowed page.

const assert = require('node:assert/strict');
const fs = require('node:fs');
const { after, before, describe, test } = require('node:test');

const {
  REAL_CLIENT_PATH,
  TEXT,
  delay,
  emit,
  emitAck,
  entries,
  launchBrowser,
  openTestPage,
  startFerrio,
  startPageServer,
  testPageHtml,
  waitForEntries,
  waitForEntry,
} = require('./harness');
const { connectOver, runFlow } = require('./flows');

const TEST_TIMEOUT = 30_000;

/** What a foreign page tries to make a session broadcast. */
const EVIL = 'evil';

describe('the origins list in a browser', () => {
  let server;
  let browser;
  let allowed;
  let foreign;
  const closers = [];

  /** The pages of a page server: our client from ferrio, and the real 0.9.17 build. */
  function pages() {
    const html = { type: 'text/html; charset=utf-8' };
    return {
      '/ours.html': { ...html, body: () => testPageHtml(`${server.url}/socket.io/socket.io.js`) },
      '/real.html': { ...html, body: testPageHtml('/socket.io.js') },
      '/socket.io.js': { type: 'application/javascript', body: fs.readFileSync(REAL_CLIENT_PATH) },
    };
  }

  before(async () => {
    allowed = await startPageServer(pages());
    foreign = await startPageServer(pages());
    server = await startFerrio({ args: ['--origins', `127.0.0.1:${allowed.port}`, '--polling-duration', '2'] });
    browser = await launchBrowser();
  });

  after(async () => {
    for (const close of closers.reverse()) await close();
    if (browser) await browser.close();
    if (server) await server.stop();
    if (allowed) await allowed.close();
    if (foreign) await foreign.close();
  });

  async function open(site, pagePath = '/ours.html') {
    const p = await openTestPage(browser, site.url, { pagePath });
    closers.push(p.close);
    return p.page;
  }

  for (const transport of ['websocket', 'xhr-polling', 'xhr-multipart', 'jsonp-polling']) {
    test(`our client from the allowed page over ${transport}`, { timeout: TEST_TIMEOUT }, async () => {
      const a = await open(allowed);
      const b = await open(allowed);
      await runFlow({ a, b, url: server.url, transport });
      assert.deepEqual(a.errors, []);
      assert.deepEqual(b.errors, []);
    });
  }

  for (const transport of ['xhr-polling', 'jsonp-polling']) {
    test(`the real 0.9.17 client from the allowed page over ${transport}`, { timeout: TEST_TIMEOUT }, async () => {
      const page = await open(allowed, '/real.html');
      assert.equal(await page.evaluate(() => io.version), '0.9.17');
      await connectOver(page, 'A', server.url, transport, { realClient: true });
      assert.deepEqual(await emitAck(page, 'A', 'echo', ['allowed', TEXT]), ['allowed', TEXT]);
    });
  }

  test('a foreign page cannot handshake, nor use a session it knows the id of; the owner chats on', { timeout: TEST_TIMEOUT }, async () => {
    const owner = await open(allowed);
    const peer = await open(allowed);
    const { sessionid } = await connectOver(owner, 'A', server.url, 'xhr-polling');
    await connectOver(peer, 'B', server.url, 'websocket');

    const page = await open(foreign);
    await page.evaluate((url) => T.connect('X', url, { 'force new connection': true, transports: ['xhr-polling'] }), server.url);
    await waitForEntry(page, 'X', 'error');
    assert.ok(!(await entries(page, 'X')).some((e) => e.name === 'connect'), 'no connect from a foreign page');

    const outcomes = await page.evaluate(
      async ([url, sid, packet]) => {
        const base = `${url}/socket.io/1/xhr-polling/${sid}?t=1`;
        const attempt = (promise) =>
          promise.then(
            async (r) => `read ${r.status} ${await r.text()}`,
            (e) => `refused (${e.name})`,
          );
        const script = (src) =>
          new Promise((resolve) => {
            const s = document.createElement('script');
            s.onload = () => resolve('loaded');
            s.onerror = () => resolve('refused (script error)');
            s.src = src;
            document.body.appendChild(s);
          });
        return {
          poll: await attempt(fetch(base, { credentials: 'include' })),
          post: await attempt(
            fetch(base, {
              method: 'POST',
              credentials: 'include',
              headers: { 'Content-Type': 'text/plain;charset=UTF-8' },
              body: packet,
            }),
          ),
          preflighted: await attempt(
            fetch(base, {
              method: 'POST',
              credentials: 'include',
              headers: { 'Content-Type': 'application/json' },
              body: packet,
            }),
          ),
          jsonp: await script(`${url}/socket.io/1/jsonp-polling/${sid}?t=1&i=0`),
        };
      },
      [server.url, sessionid, `5:::{"name":"bcast","args":["${EVIL}"]}`],
    );
    assert.deepEqual(outcomes, {
      poll: 'refused (TypeError)',
      post: 'refused (TypeError)',
      preflighted: 'refused (TypeError)',
      jsonp: 'refused (script error)',
    });

    // The owner goes on: its own broadcast reaches the peer, and nothing of the foreign page's.
    assert.deepEqual(await emitAck(owner, 'A', 'echo', ['still here']), ['still here']);
    await emit(owner, 'A', 'bcast', [TEXT]);
    const [got] = await waitForEntries(peer, 'B', 'bmsg');
    assert.deepEqual(got.args, [TEXT]);
    await delay(300);
    const bmsgs = (await entries(peer, 'B')).filter((e) => e.name === 'bmsg').map((e) => e.args[0]);
    assert.deepEqual(bmsgs, [TEXT], 'no broadcast from the foreign page');
    assert.ok(!(await entries(owner, 'A')).some((e) => e.name === 'disconnect'), 'the owner stays connected');
    assert.deepEqual(owner.errors, []);
  });

  test('preflights grant Content-Type and nothing more, even to the allowed page', { timeout: TEST_TIMEOUT }, async () => {
    const page = await open(allowed);
    const { sessionid } = await connectOver(page, 'A', server.url, 'xhr-polling');
    const outcomes = await page.evaluate(
      async ([url, sid]) => {
        const base = `${url}/socket.io/1/xhr-polling/${sid}?t=1`;
        const attempt = (headers) =>
          fetch(base, { method: 'POST', credentials: 'include', headers, body: '2::' }).then(
            async (r) => `read ${r.status} ${await r.text()}`,
            (e) => `refused (${e.name})`,
          );
        return {
          json: await attempt({ 'Content-Type': 'application/json' }),
          custom: await attempt({ 'Content-Type': 'text/plain', 'X-Custom': '1' }),
        };
      },
      [server.url, sessionid],
    );
    assert.deepEqual(outcomes, { json: 'read 200 1', custom: 'refused (TypeError)' });
    assert.deepEqual(await emitAck(page, 'A', 'echo', ['after']), ['after']);
  });
});
