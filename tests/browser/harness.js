'use strict';

// Helpers of the browser suite (tests/browser/*.test.js): headless Chromium through
// playwright-core, test pages that load a client (ours from ferrio, or the real
// socket.io-client 0.9.17 build), an HTTP proxy that can refuse WebSocket upgrades, a static
// server for cross-origin pages, and the reference socket.io 0.9.19 server.
//
// Every server process (ferrio with the conformance app through tests/interop/harness.js,
// ferrio with the chat app, the reference server) is started by tests/shared/gateway.js, the one
// spawner of the JS suites.
//
// Everything that waits has a timeout; everything started is stopped by the `close` functions,
// and server processes are also killed when the test process exits.

const fs = require('node:fs');
const http = require('node:http');
const net = require('node:net');
const path = require('node:path');

const interop = require('../interop/harness');
const { ferrioArgs, spawnGateway } = require('../shared/gateway');
const { TIMEOUT, delay, withTimeout } = require('../shared/timing');

const { startServer, restartServer } = interop;

const TESTS_DIR = path.resolve(__dirname, '..');
const ROOT_DIR = path.resolve(TESTS_DIR, '..');
const REAL_CLIENT_PATH = path.join(TESTS_DIR, 'node_modules', 'socket.io-client', 'dist', 'socket.io.js');
const OUTPUT_DIR = path.join(TESTS_DIR, 'output');
const PAGE_HELPERS = fs.readFileSync(path.join(__dirname, 'page-helpers.js'), 'utf8');

/** Text whose UTF-8, UTF-16 and code point lengths all differ (exercises payload framing). */
const TEXT = 'é€😀';

// ---------------------------------------------------------------------------------------------
// Server processes

/** `ferrio --app chat` (the chat page's application) on a free port. */
function startChatServer({ args = [] } = {}) {
  return spawnGateway({ args: ferrioArgs('chat', args), what: 'ferrio --app chat' });
}

/**
 * ferrio with the conformance app, through the interop harness. `log` sets FERRIO_LOG for that
 * process (e.g. to see "session ended … reason=booted" at debug level).
 */
function startFerrio({ args = [], port = 0, log = null } = {}) {
  return startServer({ args, port, env: log ? { FERRIO_LOG: log } : {} });
}

/**
 * The reference socket.io 0.9.19 server (reference-server.js) on a free port; `transports`
 * replaces its enabled list (default websocket, xhr-polling).
 */
function startReferenceServer({ transports = null } = {}) {
  return spawnGateway({
    bin: process.execPath,
    args: (port) => [
      path.join(__dirname, 'reference-server.js'),
      '--port',
      String(port),
      ...(transports ? ['--transports', transports.join(',')] : []),
    ],
    listening: /^reference listening on http:\/\/[^\s]*:(\d+)$/,
    what: 'socket.io 0.9.19 reference server',
  });
}

// ---------------------------------------------------------------------------------------------
// Small servers in this process

/** Closes an http.Server and every connection it holds. */
function closeHttpServer(server, sockets) {
  for (const socket of sockets) socket.destroy();
  if (typeof server.closeAllConnections === 'function') server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

function listen(server) {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(server.address().port));
  });
}

/**
 * An HTTP proxy on a free port in front of `targetPort`. Plain requests are forwarded and
 * recorded in `requests` ("GET /socket.io/1/?t=…"); those for which `block(line)` is true are
 * answered `403 blocked` by the proxy itself (a filtering proxy). WebSocket upgrades are
 * recorded in `upgrades` and handled per `mode`: 'pass' (tunnelled), 'destroy' (TCP closed at
 * once), '403' (HTTP 403, then close) or 'hang' (held open, never answered).
 */
async function startProxy(targetPort, { mode = 'pass', block = null } = {}) {
  const sockets = new Set();
  const proxy = {
    mode,
    block,
    requests: [],
    upgrades: [],
    port: 0,
    url: '',
    close: null,
    /** Paths of the recorded requests (and upgrades, marked "UPGRADE"), in order. */
    all: [],
    /** Tunnelled upgrades as [browser side, server side] socket pairs. */
    tunnels: [],
    /**
     * Stops every open tunnel from moving data either way while both TCP connections stay
     * open: a half-open connection as a dead NAT or a sleeping laptop leaves it.
     */
    freeze() {
      for (const [client, upstream] of proxy.tunnels) {
        client.unpipe(upstream);
        upstream.unpipe(client);
        client.pause();
        upstream.pause();
      }
    },
  };
  const server = http.createServer((req, res) => {
    const line = `${req.method} ${req.url}`;
    proxy.requests.push(line);
    proxy.all.push(line);
    if (proxy.block && proxy.block(line)) {
      req.resume();
      res.writeHead(403, { 'Content-Type': 'text/plain', 'Content-Length': 7 });
      res.end('blocked');
      return;
    }
    const upstream = http.request(
      { host: '127.0.0.1', port: targetPort, method: req.method, path: req.url, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', () => {
      // Upstream gone: a proxy's usual 502 (a bare close would make Chromium retry the GET).
      if (res.headersSent) {
        res.destroy();
      } else {
        res.writeHead(502, { 'Content-Type': 'text/plain', Connection: 'close' });
        res.end('bad gateway');
      }
    });
    res.on('close', () => upstream.destroy());
    req.pipe(upstream);
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.on('upgrade', (req, socket, head) => {
    const line = `UPGRADE ${req.url}`;
    proxy.upgrades.push(req.url);
    proxy.all.push(line);
    socket.on('error', () => {});
    switch (proxy.mode) {
      case 'destroy':
        socket.destroy();
        return;
      case '403':
        socket.end('HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nContent-Length: 9\r\nConnection: close\r\n\r\nForbidden');
        return;
      case 'hang':
        return; // held in `sockets` until close()
      default: {
        const upstream = net.connect(targetPort, '127.0.0.1', () => {
          let head_ = `${req.method} ${req.url} HTTP/${req.httpVersion}\r\n`;
          for (let i = 0; i < req.rawHeaders.length; i += 2) {
            head_ += `${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}\r\n`;
          }
          upstream.write(`${head_}\r\n`);
          if (head && head.length) upstream.write(head);
          socket.pipe(upstream).pipe(socket);
          proxy.tunnels.push([socket, upstream]);
        });
        sockets.add(upstream);
        upstream.on('close', () => sockets.delete(upstream));
        upstream.on('error', () => socket.destroy());
        socket.on('close', () => upstream.destroy());
      }
    }
  });
  proxy.port = await listen(server);
  proxy.url = `http://127.0.0.1:${proxy.port}`;
  proxy.close = () => closeHttpServer(server, sockets);
  return proxy;
}

/** A static server on a free port: `pages` maps a path to { type, body }. */
async function startPageServer(pages) {
  const sockets = new Set();
  const server = http.createServer((req, res) => {
    const page = pages[req.url.split('?')[0]];
    if (!page) {
      res.writeHead(404, { 'Content-Type': 'text/plain' });
      res.end('not found');
      return;
    }
    res.writeHead(200, { 'Content-Type': page.type, 'Cache-Control': 'no-store' });
    res.end(typeof page.body === 'function' ? page.body() : page.body);
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  const port = await listen(server);
  return { port, url: `http://127.0.0.1:${port}`, pages, close: () => closeHttpServer(server, sockets) };
}

// ---------------------------------------------------------------------------------------------
// The browser

const CHROMIUM = process.env.CHROMIUM_BIN || '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Launches headless Chromium; a missing browser is an error (the test fails, never skips). */
async function launchBrowser() {
  if (!fs.existsSync(CHROMIUM)) {
    throw new Error(`Chromium not found at ${CHROMIUM} (install the Debian package \`chromium\` or set CHROMIUM_BIN)`);
  }
  const { chromium } = require('playwright-core');
  return withTimeout(
    chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, timeout: TIMEOUT }),
    TIMEOUT + 1000,
    'Chromium to start',
  );
}

/** The HTML of a test page that loads `clientSrc`, then the helpers (window.T). */
function testPageHtml(clientSrc) {
  return [
    '<!DOCTYPE html><html><head><meta charset="utf-8"><title>ferrio browser test</title></head><body>',
    `<script src="${clientSrc}"></script>`,
    `<script>${PAGE_HELPERS}</script>`,
    '</body></html>',
  ].join('\n');
}

/** A real page of every Socket.IO server (docs/protocol.md §1.2: "Welcome to socket.io."). */
const WELCOME_PATH = '/socket.io/';

/**
 * Opens a test page on `origin` in a fresh browser context. By default the page is a real
 * document of that origin — the server's welcome text at /socket.io/ — whose content is then
 * replaced with a test page (page.setContent keeps the URL, so the origin and Chromium's
 * local-network address space are the server's own); with `pagePath` it is that real page of
 * the origin as served. The page loads `clientSrc` (default: the server's
 * /socket.io/socket.io.js); `realClient` serves the real 0.9.17 build at that path instead;
 * `initScript` runs before any page script. Page errors are collected in `page.errors`.
 * Returns { page, context, close }.
 */
async function openTestPage(
  browser,
  origin,
  { clientSrc = '/socket.io/socket.io.js', realClient = false, initScript = null, pagePath = null } = {},
) {
  const context = await browser.newContext();
  const page = await context.newPage();
  page.setDefaultTimeout(TIMEOUT);
  page.errors = [];
  page.on('pageerror', (error) => page.errors.push(String(error)));
  if (initScript) await page.addInitScript(initScript);
  if (realClient) {
    const body = fs.readFileSync(REAL_CLIENT_PATH);
    await page.route(`${origin}/socket.io/socket.io.js`, (route) =>
      route.fulfill({ status: 200, contentType: 'application/javascript', body }),
    );
  }
  if (pagePath) {
    await page.goto(`${origin}${pagePath}`);
  } else {
    await page.goto(`${origin}${WELCOME_PATH}`);
    await page.setContent(testPageHtml(clientSrc), { waitUntil: 'load' });
  }
  const loaded = await page.evaluate(() => typeof window.io === 'object' && typeof window.T === 'object');
  if (!loaded) throw new Error(`the client did not load on ${origin} (page errors: ${page.errors.join('; ')})`);
  return { page, context, close: () => context.close().catch(() => {}) };
}

/** Removes WebSocket from the page before any script runs (for page.addInitScript). */
function removeWebSocketScript() {
  delete window.WebSocket;
  delete window.MozWebSocket;
  window.WebSocket = undefined;
}

// ---------------------------------------------------------------------------------------------
// Reading the page's log (window.T)

/** The log entries of socket `id` (all sockets when null), optionally one event name only. */
function entries(page, id = null, name = null) {
  return page.evaluate(([i, n]) => T.entries(i, n), [id, name]);
}

/** [name, ...args] lists of the lifecycle events of socket `id`. */
async function lifecycle(page, id) {
  const names = new Set(['connecting', 'connect', 'connect_failed', 'disconnect', 'error', 'reconnecting', 'reconnect', 'reconnect_failed']);
  return (await entries(page, id)).filter((e) => names.has(e.name)).map((e) => [e.name, ...e.args]);
}

/**
 * Waits until socket `id` has logged `count` events named `name` (at or after index `from`
 * of its own entries); resolves with them. On timeout the error shows the socket's log.
 */
async function waitForEntries(page, id, name, { count = 1, from = 0, timeout = TIMEOUT } = {}) {
  try {
    await page.waitForFunction(
      ([i, n, c, f]) => T.entries(i).slice(f).filter((e) => e.name === n).length >= c,
      [id, name, count, from],
      { timeout, polling: 20 },
    );
  } catch (error) {
    const log = await entries(page, id).catch(() => []);
    throw new Error(
      `timed out after ${timeout} ms waiting for ${count}× '${name}' on socket '${id}'; its log: ` +
        JSON.stringify(log.map((e) => [e.at, e.name, ...e.args])) +
        (page.errors && page.errors.length ? `; page errors: ${page.errors.join('; ')}` : ''),
    );
  }
  return (await entries(page, id)).slice(from).filter((e) => e.name === name);
}

/** Resolves with the first entry named `name` of socket `id`. */
async function waitForEntry(page, id, name, opts) {
  return (await waitForEntries(page, id, name, opts))[0];
}

/** Connects socket `id` in the page and waits for its `connect`. */
async function connectAndWait(page, id, url, options = {}, extra = {}) {
  await page.evaluate(([i, u, o, e]) => T.connect(i, u, o, e), [id, url, options, extra]);
  return waitForEntry(page, id, 'connect');
}

/** emit(name, ...args, fn) in the page; resolves with the ack's arguments. */
function emitAck(page, id, name, args, { timeout = TIMEOUT } = {}) {
  return withTimeout(page.evaluate(([i, n, a]) => T.emitAck(i, n, a), [id, name, args]), timeout, `the ack of '${name}'`);
}

/** send(text, fn) in the page; resolves with the ack's arguments. */
function sendAck(page, id, text, { timeout = TIMEOUT } = {}) {
  return withTimeout(page.evaluate(([i, t]) => T.sendAck(i, t), [id, text]), timeout, 'the ack of a send');
}

function emit(page, id, name, args) {
  return page.evaluate(([i, n, a]) => T.emit(i, n, a), [id, name, args]);
}

function state(page, id) {
  return page.evaluate((i) => T.state(i), id);
}

/**
 * Packets the page sent, decoded from WebSocket frames and POST bodies (raw, or the form field
 * `d` holding a JSON string literal for jsonp-polling), in order.
 */
function recordSentPackets(page) {
  const sent = [];
  const split = (body) => {
    if (body.charAt(0) !== '\ufffd') return [body];
    const out = [];
    let i = 0;
    while (i < body.length) {
      const end = body.indexOf('\ufffd', i + 1);
      const length = Number(body.slice(i + 1, end));
      out.push(body.substr(end + 1, length));
      i = end + 1 + length;
    }
    return out;
  };
  page.on('websocket', (ws) => ws.on('framesent', (frame) => sent.push(...split(String(frame.payload)))));
  page.on('request', (request) => {
    if (request.method() === 'POST' && /\/socket\.io\/1\/[a-z-]+\//.test(request.url())) {
      let body = request.postData() || '';
      if (/\/jsonp-polling\//.test(request.url())) body = JSON.parse(new URLSearchParams(body).get('d') || '""');
      sent.push(...split(body));
    }
  });
  return sent;
}

/** Waits until `predicate()` is true (polled), or fails with `what`. */
async function until(predicate, what, { timeout = TIMEOUT, interval = 20 } = {}) {
  const deadline = Date.now() + timeout;
  for (;;) {
    if (await predicate()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeout} ms waiting for ${what}`);
    await delay(interval);
  }
}

module.exports = {
  OUTPUT_DIR,
  REAL_CLIENT_PATH,
  WELCOME_PATH,
  TEXT,
  TIMEOUT,
  connectAndWait,
  delay,
  emit,
  emitAck,
  entries,
  interop,
  launchBrowser,
  lifecycle,
  openTestPage,
  recordSentPackets,
  removeWebSocketScript,
  restartServer,
  sendAck,
  startChatServer,
  startFerrio,
  startPageServer,
  startProxy,
  startReferenceServer,
  state,
  testPageHtml,
  until,
  waitForEntries,
  waitForEntry,
  withTimeout,
};
