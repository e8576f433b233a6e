'use strict';

// The Flash movie of flashsocket (docs/protocol.md §1.6, §6.5) as the real socket.io-client
// 0.9.17 asks for it, in headless Chromium against ferrio with --flashsocket.
//
// Chromium has no Flash player, so each page stands in for IE 6–9 with Flash Player 11.2: no
// native WebSocket, and the player listed in navigator.plugins, where the swfobject bundled in
// the real build reads its version. The build then installs web-socket-js (its Flash
// WebSocket polyfill), flashsocket passes check(), and the transport's own ready() computes
// the movie's location (WEB_SOCKET_SWF_LOCATION: WebSocketMain.swf for a page of ferrio's
// domain, WebSocketMainInsecure.swf for a page of another) and embeds it with swfobject as an
// <object>. That is where a player would load it; the test fetches that URL from a page of
// ferrio's origin instead and compares the bytes with the package's own dist/ files.

const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { after, before, describe, test } = require('node:test');

const { REAL_CLIENT_PATH, launchBrowser, lifecycle, openTestPage, startFerrio, startPageServer, testPageHtml, waitForEntry } = require('./harness');

const TEST_TIMEOUT = 30_000;

/** The package's own files, beside the real build: `npm ci` in tests/ installs them. */
const PACKAGE_DIST = path.dirname(REAL_CLIENT_PATH);

/** The media type of a Flash movie. */
const SWF_TYPE = 'application/x-shockwave-flash';

/**
 * Init script: a browser of IE 6–9's kind with Flash Player 11.2 — no WebSocket, and the
 * player's entry in navigator.plugins, whose description swfobject parses for the version.
 */
function flashPlayerWithoutWebSocketScript() {
  delete window.WebSocket;
  delete window.MozWebSocket;
  window.WebSocket = undefined;
  const player = { name: 'Shockwave Flash', description: 'Shockwave Flash 11.2 r202', filename: 'libflashplayer.so', length: 0 };
  const plugins = { 'Shockwave Flash': player, 0: player, length: 1 };
  Object.defineProperty(Navigator.prototype, 'plugins', { get: () => plugins, configurable: true });
}

const INIT_SCRIPT = `(${flashPlayerWithoutWebSocketScript})();`;

/**
 * Connects the real client in `page` to `url` over flashsocket alone; resolves with what its
 * transport did: the movie's location, the <object> swfobject embedded, and whether the
 * client saw the page as cross-domain.
 */
async function connectOverFlashsocket(page, url) {
  assert.deepEqual(
    await page.evaluate(() => [io.version, typeof WebSocket.__initialize, io.Transport.flashsocket.check()]),
    ['0.9.17', 'function', true],
    'the real build, its Flash polyfill installed, flashsocket usable',
  );
  await page.evaluate((u) => T.connect('A', u, { 'force new connection': true }, { globalTransports: ['flashsocket'] }), url);
  // The client publishes `connecting` from the callback of the transport's ready(), which has
  // set the location and embedded the movie by then. Without a player nothing connects.
  await waitForEntry(page, 'A', 'connecting');
  assert.deepEqual(await lifecycle(page, 'A'), [['connecting', 'flashsocket']]);
  return page.evaluate(() => {
    const movie = document.querySelector('#webSocketContainer object');
    return {
      location: window.WEB_SOCKET_SWF_LOCATION,
      movie: movie && { type: movie.type, data: movie.data },
      crossDomain: T.sockets.A.socket.isXDomain(),
    };
  });
}

/** GETs `url` with fetch() in `page`: the status, two headers and the body's bytes. */
async function fetchInPage(page, url) {
  const answer = await page.evaluate(async (u) => {
    const response = await fetch(u);
    const bytes = new Uint8Array(await response.arrayBuffer());
    let binary = '';
    for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
    return {
      status: response.status,
      type: response.headers.get('content-type'),
      cacheControl: response.headers.get('cache-control'),
      base64: btoa(binary),
    };
  }, url);
  return { status: answer.status, type: answer.type, cacheControl: answer.cacheControl, body: Buffer.from(answer.base64, 'base64') };
}

/** Checks that `fetched` is the package's `file`, served as a movie with a week's caching. */
function assertIsThePackagesMovie(fetched, file) {
  const expected = fs.readFileSync(path.join(PACKAGE_DIST, file));
  assert.equal(fetched.status, 200, `${file}: ${fetched.body.toString('utf8', 0, 200)}`);
  assert.equal(fetched.type, SWF_TYPE);
  assert.equal(fetched.cacheControl, 'public, max-age=604800');
  assert.equal(fetched.body.length, expected.length, `${file}: length`);
  assert.ok(fetched.body.equals(expected), `${file}: the bytes of socket.io-client 0.9.17's dist/${file}`);
}

describe('the real 0.9.17 client finds its Flash movie on ferrio with --flashsocket', () => {
  let browser;
  let server;
  const closers = [];

  before(async () => {
    server = await startFerrio({ args: ['--flashsocket', '--flash-policy-port', '0'] });
    browser = await launchBrowser();
  });

  after(async () => {
    for (const close of closers.reverse()) await close();
    if (browser) await browser.close();
    if (server) await server.stop();
  });

  async function open(origin, opts) {
    const p = await openTestPage(browser, origin, { initScript: INIT_SCRIPT, ...opts });
    closers.push(p.close);
    return p.page;
  }

  test('a page of ferrio\'s domain: WebSocketMain.swf, fetched from the page', { timeout: TEST_TIMEOUT }, async () => {
    const page = await open(server.url, { realClient: true });
    const flash = await connectOverFlashsocket(page, server.url);
    const expected = `${server.url}/socket.io/static/flashsocket/WebSocketMain.swf`;
    assert.deepEqual(flash, { location: expected, movie: { type: SWF_TYPE, data: expected }, crossDomain: false });
    assertIsThePackagesMovie(await fetchInPage(page, flash.location), 'WebSocketMain.swf');
    assert.deepEqual(page.errors, []);
  });

  test('a page of another domain: WebSocketMainInsecure.swf', { timeout: TEST_TIMEOUT }, async () => {
    const site = await startPageServer({
      '/page.html': { type: 'text/html; charset=utf-8', body: testPageHtml('/socket.io.js') },
      '/socket.io.js': { type: 'application/javascript', body: fs.readFileSync(REAL_CLIENT_PATH) },
    });
    closers.push(site.close);
    const page = await open(site.url, { pagePath: '/page.html' });
    const flash = await connectOverFlashsocket(page, server.url);
    const expected = `${server.url}/socket.io/static/flashsocket/WebSocketMainInsecure.swf`;
    assert.deepEqual(flash, { location: expected, movie: { type: SWF_TYPE, data: expected }, crossDomain: true });
    // A player loads a movie without CORS, which a page's fetch() needs and ferrio does not
    // send for it: the URL the client computed is fetched from a page of ferrio's origin.
    const ferrioPage = await open(server.url);
    assertIsThePackagesMovie(await fetchInPage(ferrioPage, flash.location), 'WebSocketMainInsecure.swf');
    assert.deepEqual(page.errors, []);
  });
});
