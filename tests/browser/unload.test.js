'use strict';

// Spec §9 C58 / C59: 'sync disconnect on unload': true and a page navigation → the server
// receives GET /socket.io/1//{sid}/?disconnect=1 (seen by a proxy in front of ferrio) and ends
// the session as `booted` (seen in ferrio's debug log: "session ended sid=… reason=booted").
//
// Chromium (since version 80) refuses synchronous XHR while a page is being dismissed, which
// is what the real 0.9.17 client sends. Our client sends the same GET with fetch(keepalive)
// where fetch exists. For the real client, the test page gets a shim that stands in for an
// older browser: a synchronous GET that Chromium refuses goes out as fetch(keepalive) instead,
// so what is checked is the request the real client makes and ferrio's handling of it.

const assert = require('node:assert/strict');
const { after, before, describe, test } = require('node:test');

const { launchBrowser, openTestPage, startFerrio, startProxy, until, WELCOME_PATH } = require('./harness');
const { connectOver } = require('./flows');

const TEST_TIMEOUT = 30_000;

/** Init script: a synchronous GET refused by Chromium during page dismissal is sent with fetch. */
function syncXhrShim() {
  const open = XMLHttpRequest.prototype.open;
  const send = XMLHttpRequest.prototype.send;
  XMLHttpRequest.prototype.open = function (method, url, async) {
    this.__syncGet = method === 'GET' && async === false ? String(url) : null;
    return open.apply(this, arguments);
  };
  XMLHttpRequest.prototype.send = function () {
    try {
      return send.apply(this, arguments);
    } catch (error) {
      if (!this.__syncGet) throw error;
      fetch(this.__syncGet, { keepalive: true });
      return undefined;
    }
  };
}

describe('sync disconnect on unload (C58)', () => {
  let browser;
  let server;
  let front;
  const closers = [];

  before(async () => {
    server = await startFerrio({ log: 'info,ferrio_hub=debug,ferrio_server=debug' });
    front = await startProxy(server.port);
    browser = await launchBrowser();
  });

  after(async () => {
    for (const close of closers.reverse()) await close();
    if (browser) await browser.close();
    if (front) await front.close();
    if (server) await server.stop();
  });

  /** ferrio's log without colours. */
  function serverLog() {
    return server.stderr.replace(/\x1b\[[0-9;]*m/g, '');
  }

  // `reasons`: how ferrio may end the session. The real client over websocket closes its
  // WebSocket right after the (here asynchronous) disconnect request, so the close frame can
  // win the race ("socket close"); in a browser where its synchronous XHR is allowed the request
  // completes first. Our client sends `0::` on the WebSocket first, so it is always booted.
  const cases = [
    { who: 'our client', transport: 'websocket', realClient: false, reasons: ['booted'] },
    { who: 'our client', transport: 'xhr-polling', realClient: false, reasons: ['booted'] },
    { who: 'the real 0.9.17 client', transport: 'xhr-polling', realClient: true, reasons: ['booted'] },
    { who: 'the real 0.9.17 client', transport: 'websocket', realClient: true, reasons: ['booted', 'socket close'] },
  ];

  for (const { who, transport, realClient, reasons } of cases) {
    test(`${who} over ${transport}: navigation sends ?disconnect=1, the session ends (${reasons.join(' or ')})`, { timeout: TEST_TIMEOUT }, async () => {
      const p = await openTestPage(browser, front.url, { realClient, initScript: realClient ? syncXhrShim : null });
      closers.push(p.close);
      const { page } = p;
      const { sessionid: sid } = await connectOver(page, 'A', front.url, transport, {
        realClient,
        options: { 'sync disconnect on unload': true },
      });
      const path = `/socket.io/1//${sid}/?disconnect=1`;
      assert.ok(!front.requests.includes(`GET ${path}`));
      assert.ok(!serverLog().includes(`session ended sid=${sid}`), 'session still up');

      await page.goto(`${front.url}${WELCOME_PATH}?next`);

      await until(() => front.requests.includes(`GET ${path}`), `GET ${path} at the proxy (seen: ${JSON.stringify(front.all.slice(-8))})`, {
        timeout: 5000,
      });
      const ended = new RegExp(`session ended sid=${sid} reason=([a-z ]+)`);
      await until(() => ended.test(serverLog()), `the end of session ${sid} in ferrio's log`, { timeout: 5000 });
      const reason = ended.exec(serverLog())[1].trim();
      assert.ok(reasons.includes(reason), `ferrio's disconnect reason: ${reason}`);
    });
  }
});
