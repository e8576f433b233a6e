'use strict';

// The real browser builds of the modern clients in headless Chromium, from pages of another
// origin than ferrio's (`ferrio --app chat`):
// - socket.io-client 2.5's bundle with `forceJSONP` (Engine.IO 3 JSONP polling: script tags
//   in, hidden form posts out, no CORS at all);
// - socket.io-client 4.8's bundle with `withCredentials`, polling upgraded to a WebSocket
//   (CORS with credentials: the origin echoed, `Access-Control-Allow-Credentials`);
// - the real socket.io-client 0.9.17 build;
// all three pages in one chat: every line reaches every page once, in its sender's order.

const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { after, before, describe, test } = require('node:test');

const { REAL_CLIENT_PATH, TEXT, TIMEOUT, launchBrowser, startChatServer, startPageServer, until } = require('./harness');

const TEST_TIMEOUT = 45_000;

/** Lines each page says in the shared chat. */
const LINES = 5;

const MODULES = path.join(__dirname, '..', 'node_modules');

/** The client builds the pages load, served by the page server (the other origin). */
const BUNDLES = {
  '/socket.io-2.js': path.join(MODULES, 'socket.io-client-2', 'dist', 'socket.io.js'),
  '/socket.io-4.js': path.join(MODULES, 'socket.io-client-4', 'dist', 'socket.io.js'),
  '/socket.io-0.9.js': REAL_CLIENT_PATH,
};

/** A page that loads `bundle` and records what its socket hears in `window.heard`. */
function pageHtml(bundle) {
  return [
    '<!DOCTYPE html><html><head><meta charset="utf-8"><title>modern client</title></head><body>',
    `<script src="${bundle}"></script>`,
    '<script>window.heard = []; window.errors = [];</script>',
    '</body></html>',
  ].join('\n');
}

describe('the modern clients\' browser builds in Chromium, cross-origin', () => {
  let browser;
  let server;
  let pages;
  const contexts = [];

  before(async () => {
    server = await startChatServer();
    const served = {};
    for (const [bundle, file] of Object.entries(BUNDLES)) {
      served[bundle] = { type: 'application/javascript', body: fs.readFileSync(file) };
      served[`${bundle}.html`] = { type: 'text/html; charset=utf-8', body: pageHtml(bundle) };
    }
    pages = await startPageServer(served);
    browser = await launchBrowser();
  });

  after(async () => {
    for (const context of contexts) await context.close().catch(() => {});
    if (browser) await browser.close();
    if (pages) await pages.close();
    if (server) await server.stop();
  });

  /** A fresh page of the page server's origin with `bundle` loaded. */
  async function openPage(bundle) {
    const context = await browser.newContext();
    contexts.push(context);
    const page = await context.newPage();
    page.setDefaultTimeout(TIMEOUT);
    page.errors = [];
    page.on('pageerror', (error) => page.errors.push(String(error)));
    await page.goto(`${pages.url}${bundle}.html`);
    assert.notEqual(new URL(pages.url).origin, new URL(server.url).origin, 'the page is of another origin');
    return page;
  }

  /**
   * Connects the page's client to ferrio with `options` (a modern client) and waits for its
   * `connect`; records `toClient` lines. Returns the transport it ended on.
   */
  async function connectModern(page, options, { upgraded = false } = {}) {
    return page.evaluate(
      ({ url, options, upgraded, timeout }) =>
        new Promise((resolve, reject) => {
          const socket = window.io(url, options);
          window.socket = socket;
          socket.on('toClient', (line) => window.heard.push(line));
          const timer = setTimeout(() => reject(new Error('no connect')), timeout);
          socket.on('connect_error', (error) => window.errors.push(String(error && error.message)));
          socket.on('connect', () => {
            const engine = socket.io.engine;
            const done = () => {
              clearTimeout(timer);
              resolve({
                transport: engine.transport.name,
                jsonp: Boolean(engine.transport.query && engine.transport.query.j !== undefined),
              });
            };
            if (upgraded && engine.transport.name !== 'websocket') engine.once('upgrade', done);
            else done();
          });
        }),
      { url: server.url, options, upgraded, timeout: TIMEOUT },
    );
  }

  /** Connects the page's real 0.9.17 client and waits for its `connect`. */
  async function connectLegacy(page) {
    return page.evaluate(
      ({ url, timeout }) =>
        new Promise((resolve, reject) => {
          const socket = window.io.connect(url, { 'force new connection': true });
          window.socket = socket;
          socket.on('toClient', (line) => window.heard.push(line));
          const timer = setTimeout(() => reject(new Error('no connect')), timeout);
          socket.on('connect', () => {
            clearTimeout(timer);
            resolve({ transport: socket.socket.transport.name });
          });
        }),
      { url: server.url, timeout: TIMEOUT },
    );
  }

  function say(page, name, line) {
    return page.evaluate(({ name, line }) => window.socket.emit('toServer', { nome: name, msg: line }), { name, line });
  }

  function heard(page) {
    return page.evaluate(() => window.heard.slice());
  }

  test('2.5 with forceJSONP, 4.8 with credentials over an upgraded WebSocket, and 0.9.17 chat in one room', { timeout: TEST_TIMEOUT }, async () => {
    const jsonp = await openPage('/socket.io-2.js');
    const modern = await openPage('/socket.io-4.js');
    const legacy = await openPage('/socket.io-0.9.js');
    const jsonpState = await connectModern(jsonp, {
      forceJSONP: true,
      transports: ['polling'],
      upgrade: false,
      forceNew: true,
      reconnection: false,
    });
    assert.deepEqual(jsonpState, { transport: 'polling', jsonp: true }, 'the 2.5 page polls over JSONP');
    const modernState = await connectModern(
      modern,
      { withCredentials: true, forceNew: true, reconnection: false },
      { upgraded: true },
    );
    assert.equal(modernState.transport, 'websocket', 'the 4.8 page upgraded to a WebSocket');
    const legacyState = await connectLegacy(legacy);
    assert.equal(typeof legacyState.transport, 'string');
    const participants = [
      { name: 'jsonp', page: jsonp },
      { name: 'modern', page: modern },
      { name: 'legacy', page: legacy },
    ];
    for (let line = 1; line <= LINES; line += 1) {
      for (const participant of participants) await say(participant.page, participant.name, `${line} ${TEXT}`);
    }
    const everything = participants.length * LINES;
    await until(async () => {
      for (const participant of participants) {
        if ((await heard(participant.page)).length < everything) return false;
      }
      return true;
    }, 'every page to hear every line');
    for (const listener of participants) {
      const lines = await heard(listener.page);
      assert.equal(lines.length, everything, `${listener.name} heard ${JSON.stringify(lines)}`);
      for (const sender of participants) {
        const expected = Array.from({ length: LINES }, (_, i) => `${sender.name}:${i + 1} ${TEXT}`);
        assert.deepEqual(lines.filter((line) => line.startsWith(`${sender.name}:`)), expected, `${listener.name} heard ${sender.name}`);
      }
      assert.deepEqual(listener.page.errors, [], `${listener.name}: page errors`);
      assert.deepEqual(await listener.page.evaluate(() => window.errors), [], `${listener.name}: connect errors`);
    }
  });
});
