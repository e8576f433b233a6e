'use strict';

// Transport fallback of our client (docs/protocol.md §6.4, §6.5 and the client's design note 2):
// no WebSocket in the browser; WebSocket upgrades refused by a proxy (TCP destroyed, 403) or
// left hanging (connect timeout); the `transports` option replacing the list (§8 #17); a 403
// handshake resetting the state (§8 #20); a refused namespace (§3.5).

const assert = require('node:assert/strict');
const { after, before, describe, test } = require('node:test');

const {
  TEXT,
  connectAndWait,
  delay,
  emitAck,
  entries,
  launchBrowser,
  lifecycle,
  openTestPage,
  removeWebSocketScript,
  startFerrio,
  startPageServer,
  startProxy,
  testPageHtml,
  state,
  waitForEntries,
  waitForEntry,
} = require('./harness');

const TEST_TIMEOUT = 30_000;

/** The session id in a transport URL or upgrade path, e.g. /socket.io/1/xhr-polling/SID?t=1. */
function sidOf(path, transport) {
  const match = new RegExp(`/socket\\.io/1/${transport}/([^/?]+)`).exec(path);
  return match ? match[1] : null;
}

/**
 * Init script: an XDomainRequest (IE 8/9) made of a credential-less XMLHttpRequest: no status,
 * onload/onerror only. Records "METHOD url" of every request in window.__xdr.
 */
function xdomainRequestShim() {
  window.__xdr = [];
  function XDR() {
    this.responseText = '';
  }
  XDR.prototype.open = function (method, url) {
    this.method = method;
    this.url = url;
    window.__xdr.push(`${method} ${url}`);
  };
  XDR.prototype.send = function (body) {
    const self = this;
    const xhr = new XMLHttpRequest();
    this.xhr = xhr;
    xhr.open(this.method, this.url, true);
    xhr.onload = function () {
      if (xhr.status !== 200) {
        if (self.onerror) self.onerror();
        return;
      }
      self.responseText = xhr.responseText;
      if (self.onload) self.onload();
    };
    xhr.onerror = function () {
      if (self.onerror) self.onerror();
    };
    xhr.send(body === undefined ? null : body);
  };
  XDR.prototype.abort = function () {
    if (this.xhr) this.xhr.abort();
  };
  window.XDomainRequest = XDR;
}

/** Init script: IE 6 — no XMLHttpRequest or WebSocket, an ActiveX XMLHTTP object instead. */
function activeXShim() {
  const Native = window.XMLHttpRequest;
  window.__activeX = [];
  window.ActiveXObject = function (name) {
    if (name !== 'Msxml2.XMLHTTP' && name !== 'Microsoft.XMLHTTP') throw new Error(`cannot create ${name}`);
    window.__activeX.push(name);
    return new Native();
  };
  delete window.XMLHttpRequest;
  delete window.WebSocket;
  window.XMLHttpRequest = undefined;
  window.WebSocket = undefined;
}

describe('transport fallback of our client', () => {
  let browser;
  let server;
  const closers = [];

  before(async () => {
    server = await startFerrio();
    browser = await launchBrowser();
  });

  after(async () => {
    for (const close of closers.reverse()) await close();
    if (browser) await browser.close();
    if (server) await server.stop();
  });

  async function open(origin, opts) {
    const p = await openTestPage(browser, origin, opts);
    closers.push(p.close);
    return p.page;
  }

  async function proxy(mode) {
    const p = await startProxy(server.port, { mode });
    closers.push(p.close);
    return p;
  }

  test('without window.WebSocket the default list connects over xhr-polling', { timeout: TEST_TIMEOUT }, async () => {
    const page = await open(server.url, { initScript: removeWebSocketScript });
    assert.equal(await page.evaluate(() => typeof window.WebSocket), 'undefined');
    assert.deepEqual(await page.evaluate(() => [io.Transport.websocket.check(), io.Transport['xhr-polling'].check()]), [false, true]);
    await connectAndWait(page, 'A', server.url, { 'force new connection': true });
    assert.deepEqual(await lifecycle(page, 'A'), [['connecting', 'xhr-polling'], ['connect']]);
    assert.equal((await state(page, 'A')).transport, 'xhr-polling');
    assert.deepEqual(await emitAck(page, 'A', 'echo', [TEXT]), [TEXT]);
  });

  for (const mode of ['destroy', '403']) {
    test(`WebSocket upgrades refused by a proxy (${mode}): xhr-polling within 2 s, same session id`, { timeout: TEST_TIMEOUT }, async () => {
      const front = await proxy(mode);
      const page = await open(front.url);
      const started = Date.now();
      // Default connect timeout (10 s): only the immediate fallback can make it in 2 s.
      await page.evaluate((url) => T.connect('A', url, { 'force new connection': true }), front.url);
      await waitForEntry(page, 'A', 'connect', { timeout: 2000 });
      const took = Date.now() - started;
      assert.ok(took < 2000, `connected after ${took} ms`);
      assert.deepEqual(await lifecycle(page, 'A'), [['connecting', 'websocket'], ['connecting', 'xhr-polling'], ['connect']]);
      const s = await state(page, 'A');
      assert.equal(s.transport, 'xhr-polling');
      // One handshake; the refused upgrade and the polls carry its session id.
      const handshakes = front.requests.filter((r) => /^GET \/socket\.io\/1\/\?/.test(r));
      assert.equal(handshakes.length, 1, `handshakes: ${JSON.stringify(front.all)}`);
      assert.equal(front.upgrades.length, 1, `upgrades: ${JSON.stringify(front.all)}`);
      assert.equal(sidOf(front.upgrades[0], 'websocket'), s.sessionid);
      const poll = front.requests.find((r) => r.includes('/xhr-polling/'));
      assert.equal(sidOf(poll, 'xhr-polling'), s.sessionid);
      assert.deepEqual(await emitAck(page, 'A', 'echo', ['via proxy']), ['via proxy']);
    });
  }

  test('a hanging WebSocket upgrade falls back after the connect timeout, same session id', { timeout: TEST_TIMEOUT }, async () => {
    const front = await proxy('hang');
    const page = await open(front.url);
    const started = Date.now();
    await page.evaluate((url) => T.connect('A', url, { 'force new connection': true, 'connect timeout': 1000 }), front.url);
    await waitForEntry(page, 'A', 'connect', { timeout: 5000 });
    const took = Date.now() - started;
    assert.ok(took >= 1000 && took < 4000, `connected after ${took} ms`);
    const log = await entries(page, 'A');
    assert.deepEqual(
      log.map((e) => [e.name, ...e.args]),
      [['connecting', 'websocket'], ['connecting', 'xhr-polling'], ['connect']],
    );
    assert.ok(log[1].at - log[0].at >= 950, `xhr-polling tried ${log[1].at - log[0].at} ms after websocket`);
    const s = await state(page, 'A');
    assert.equal(sidOf(front.upgrades[0], 'websocket'), s.sessionid);
    assert.equal(front.requests.filter((r) => /^GET \/socket\.io\/1\/\?/.test(r)).length, 1);
  });

  test('every transport refused: connect_failed, not stuck connecting', { timeout: TEST_TIMEOUT }, async () => {
    const front = await proxy('destroy');
    const page = await open(front.url);
    await page.evaluate((url) => T.connect('A', url, { 'force new connection': true, transports: ['websocket'] }), front.url);
    await waitForEntry(page, 'A', 'connect_failed', { timeout: 3000 });
    assert.deepEqual(await lifecycle(page, 'A'), [['connecting', 'websocket'], ['connect_failed']]);
    const s = await state(page, 'A');
    assert.deepEqual([s.connected, s.connecting], [false, false]);
  });

  test('the transports option replaces the list and leaves io.transports alone', { timeout: TEST_TIMEOUT }, async () => {
    const page = await open(server.url);
    const before_ = await page.evaluate(() => io.transports.slice());
    assert.deepEqual(before_, ['websocket', 'flashsocket', 'xhr-polling', 'xhr-multipart', 'htmlfile', 'jsonp-polling']);
    await connectAndWait(page, 'A', server.url, { 'force new connection': true, transports: ['xhr-polling'] });
    assert.deepEqual(await page.evaluate(() => io.transports.slice()), before_, 'global list untouched');
    assert.deepEqual(await page.evaluate(() => T.sockets.A.socket.transports), ['xhr-polling']);
    // The next connection with default options still prefers websocket.
    await connectAndWait(page, 'B', server.url, { 'force new connection': true });
    assert.equal((await state(page, 'B')).transport, 'websocket');
    // Assigning io.transports before io.connect also works (as for the real client).
    await connectAndWait(page, 'C', server.url, { 'force new connection': true }, { globalTransports: ['xhr-polling'] });
    assert.equal((await state(page, 'C')).transport, 'xhr-polling');
    // The server's order does not matter: the client's order is kept, unknown names skipped.
    assert.deepEqual(
      await page.evaluate(() => {
        const s = T.sockets.B.socket;
        return s.intersect(['xhr-polling', 'bogus', 'websocket']);
      }),
      ['websocket', 'xhr-polling'],
    );
  });

  test('a 403 handshake fires error and resets the state (no stuck "connecting")', { timeout: TEST_TIMEOUT }, async () => {
    const page = await open(server.url);
    await page.evaluate((url) => T.connect('A', `${url}/?auth=deny`, { 'force new connection': true }), server.url);
    const error = await waitForEntry(page, 'A', 'error');
    assert.deepEqual(error.args, ['handshake unauthorized']);
    let s = await state(page, 'A');
    assert.deepEqual([s.connected, s.connecting, s.reconnecting], [false, false, false]);
    await delay(300);
    assert.deepEqual(await lifecycle(page, 'A'), [['error', 'handshake unauthorized']], 'no connecting, no reconnection');
    // Not stuck: connect() makes a new handshake (refused again).
    await page.evaluate(() => T.sockets.A.socket.connect());
    await waitForEntry(page, 'A', 'error', { from: 1 });
    s = await state(page, 'A');
    assert.equal(s.connecting, false);
  });

  test('cross-domain without CORS XHR: JSONP handshake (io.j), success and refusal', { timeout: TEST_TIMEOUT }, async () => {
    const site = await startPageServer({
      '/page.html': { type: 'text/html; charset=utf-8', body: testPageHtml(`${server.url}/socket.io/socket.io.js`) },
    });
    closers.push(site.close);
    const page = await open(site.url, { pagePath: '/page.html' });
    const scripts = [];
    page.on('request', (r) => {
      if (r.resourceType() === 'script') scripts.push(r.url());
    });
    // What an old browser without withCredentials looks like to the client.
    await page.evaluate(() => {
      io.util.ua.hasCORS = false;
    });
    await connectAndWait(page, 'A', server.url, { 'force new connection': true, transports: ['websocket'] });
    const handshake = scripts.find((u) => u.includes('/socket.io/1/?'));
    assert.match(handshake || '', /[?&]t=\d+&jsonp=0$/, JSON.stringify(scripts));
    assert.equal(await page.evaluate(() => io.j.length), 1);
    assert.deepEqual(await emitAck(page, 'A', 'echo', [TEXT]), [TEXT]);
    // A refusal arrives as io.j[k](new Error(...)).
    await page.evaluate((url) => T.connect('B', `${url}/?auth=deny`, { 'force new connection': true, transports: ['websocket'] }), server.url);
    const error = await waitForEntry(page, 'B', 'error');
    assert.deepEqual(error.args, ['handshake unauthorized']);
    assert.ok(scripts.some((u) => /auth=deny&t=\d+&jsonp=1$/.test(u)), JSON.stringify(scripts));
    assert.equal((await state(page, 'B')).connecting, false);
    assert.equal(await page.evaluate(() => document.querySelectorAll('script[src*="jsonp="]').length), 0, 'script tags removed');
  });

  test('IE 8/9 path: JSONP handshake, then xhr-polling through XDomainRequest (shimmed)', { timeout: TEST_TIMEOUT }, async () => {
    const site = await startPageServer({
      '/page.html': { type: 'text/html; charset=utf-8', body: testPageHtml(`${server.url}/socket.io/socket.io.js`) },
    });
    closers.push(site.close);
    const page = await open(site.url, { pagePath: '/page.html', initScript: xdomainRequestShim });
    await page.evaluate(() => {
      io.util.ua.hasCORS = false; // IE 8/9: XMLHttpRequest without withCredentials
    });
    assert.equal(await page.evaluate(() => io.Transport['xhr-polling'].xdomainCheck(null)), true);
    await connectAndWait(page, 'A', server.url, { 'force new connection': true, transports: ['xhr-polling'] });
    assert.equal((await state(page, 'A')).transport, 'xhr-polling');
    assert.deepEqual(await emitAck(page, 'A', 'echo', [TEXT, { k: [1] }]), [TEXT, { k: [1] }]);
    await page.evaluate(() => {
      for (let i = 0; i < 20; i++) T.emit('A', 'echo', [i]);
    });
    const echoes = await waitForEntries(page, 'A', 'echo', { count: 20 });
    assert.deepEqual(echoes.map((e) => e.args[0]), Array.from({ length: 20 }, (_, i) => i));
    const used = await page.evaluate(() => window.__xdr);
    assert.ok(used.some((u) => /^GET .*\/xhr-polling\//.test(u)) && used.some((u) => /^POST .*\/xhr-polling\//.test(u)), JSON.stringify(used));
    assert.equal(await page.evaluate(() => T.sockets.A.socket.transport.usesXDR), true);
    assert.equal(await page.evaluate(() => io.j.length), 1, 'the handshake went through JSONP');
  });

  test('IE 6 path: no XMLHttpRequest, no WebSocket: ActiveX XMLHTTP (shimmed) for handshake and polling', { timeout: TEST_TIMEOUT }, async () => {
    const page = await open(server.url, { initScript: activeXShim });
    assert.equal(await page.evaluate(() => [typeof XMLHttpRequest, typeof WebSocket, io.util.ua.hasCORS].join()), 'undefined,undefined,false');
    await connectAndWait(page, 'A', server.url, { 'force new connection': true });
    assert.deepEqual(await lifecycle(page, 'A'), [['connecting', 'xhr-polling'], ['connect']]);
    assert.deepEqual(await emitAck(page, 'A', 'echo', [TEXT]), [TEXT]);
    const made = await page.evaluate(() => window.__activeX);
    assert.ok(made.length >= 3 && made.every((n) => n === 'Msxml2.XMLHTTP'), JSON.stringify(made));
  });

  test('a namespace refused by its authorization fires connect_failed("unauthorized")', { timeout: TEST_TIMEOUT }, async () => {
    const page = await open(server.url);
    await connectAndWait(page, 'A', `${server.url}/?chat_auth=deny`, { 'force new connection': true });
    await page.evaluate(() => T.of('A', '/chat', 'AC'));
    const failed = await waitForEntry(page, 'AC', 'connect_failed');
    assert.deepEqual(failed.args, ['unauthorized']);
    // The default namespace keeps working.
    assert.deepEqual(await emitAck(page, 'A', 'echo', [1]), [1]);
    assert.equal((await entries(page, 'AC', 'connect')).length, 0);
  });
});
