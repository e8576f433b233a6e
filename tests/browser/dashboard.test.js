'use strict';

// The live dashboard at /dashboard on the admin listener, in Chromium (its script checked to
// be ECMAScript 5 first): the token-required states (no token, a refused one, the API off),
// the form, the board rendering with the figures moving as real clients — socket.io-client
// 0.9.17 and 4.8 in Node — connect, join a room, talk and leave; nothing loaded from
// elsewhere, no CSP violation, no horizontal scroll on a phone; a two-node cluster (Redis,
// nginx) listed node by node. Writes tests/output/dashboard.png, dashboard-phone.png and
// dashboard-cluster.png.

const assert = require('node:assert/strict');
const acorn = require('acorn');
const fs = require('node:fs');
const path = require('node:path');
const { after, before, describe, test } = require('node:test');

const { OUTPUT_DIR, TIMEOUT, launchBrowser } = require('./harness');
const { closeAllClients, closeClient, emitWithAck, openClient } = require('../interop/harness');
const { closeAllModernClients, openModern } = require('../interop/modern_clients');
const { startCluster } = require('../shared/cluster');
const { ferrioArgs, freePort, spawnGateway } = require('../shared/gateway');

const TEST_TIMEOUT = 45_000;
const TOKEN = 'dashboard-test-token';
/** A room name no phone screen is wide enough for, unless the page wraps it. */
const LONG_ROOM = `a-room-whose-name-goes-on-${'and-on-'.repeat(12)}end`;

/** ferrio with the conformance app and its admin listener on a free port; `args` added. */
async function startWithAdmin(args) {
  const adminPort = await freePort();
  const server = await spawnGateway({
    args: ferrioArgs('conformance', args, { adminPort }),
    cleanExit: true,
    what: 'ferrio with its admin listener',
  });
  server.adminUrl = `http://127.0.0.1:${adminPort}`;
  return server;
}

let browser;
/** Every browser context opened, closed at the end. */
const contexts = [];

before(async () => {
  browser = await launchBrowser();
});

after(async () => {
  closeAllClients();
  closeAllModernClients();
  for (const context of contexts) await context.close().catch(() => {});
  if (browser) await browser.close();
});

/**
 * The dashboard of `base` (with `fragment`) in a fresh context of `viewport`. Collects page
 * errors, console messages and every URL the page requested.
 */
async function openDashboard(base, fragment = '', viewport = { width: 1100, height: 900 }) {
  const context = await browser.newContext({ viewport });
  contexts.push(context);
  const page = await context.newPage();
  page.setDefaultTimeout(TIMEOUT);
  page.errors = [];
  page.consoleMessages = [];
  page.requested = [];
  page.on('pageerror', (error) => page.errors.push(String(error)));
  page.on('console', (message) => page.consoleMessages.push(message.text()));
  page.on('request', (request) => page.requested.push(request.url()));
  page.response = await page.goto(`${base}/dashboard${fragment}`);
  return page;
}

const withToken = `#token=${encodeURIComponent(TOKEN)}`;

function waitForState(page, state) {
  return page.waitForFunction((s) => document.body.getAttribute('data-state') === s, state);
}

/** Nothing but the admin listener's own files and API was asked for, and nothing broke. */
function assertClean(page, base) {
  assert.deepEqual(page.errors, [], 'page errors');
  const foreign = page.requested.filter((url) => !url.startsWith(`${base}/`));
  assert.deepEqual(foreign, [], 'requests outside the admin listener');
  const violations = page.consoleMessages.filter((message) => /Content Security Policy/i.test(message));
  assert.deepEqual(violations, [], 'CSP violations');
}

async function text(page, selector) {
  return (await page.locator(selector).innerText()).trim();
}

/** In the page: whether the first line of the chart at `selector` has a point above zero. */
function chartRisen(selector) {
  const line = document.querySelector(selector);
  if (!line) return false;
  // A zero is drawn one unit above the bottom edge.
  const zero = line.ownerSVGElement.viewBox.baseVal.height - 1;
  return line
    .getAttribute('points')
    .split(' ')
    .some((point) => Number(point.split(',')[1]) < zero);
}

const chartLine = (name) => `#${name}-chart polyline.line-first`;

/** The size cell of room `name` of namespace `/`. */
const roomSize = (name) => `#namespaces [data-namespace="/"] tr[data-room="${name}"] td.count`;

function screenshot(page, name) {
  fs.mkdirSync(OUTPUT_DIR, { recursive: true });
  return page.screenshot({ path: path.join(OUTPUT_DIR, name), fullPage: true });
}

describe('the dashboard', () => {
  let server;
  let apiOff;

  before(async () => {
    server = await startWithAdmin(['--api-token', TOKEN]);
    apiOff = await startWithAdmin([]);
  });

  after(async () => {
    if (server) await server.stop();
    if (apiOff) await apiOff.stop();
  });

  test('without a token the page asks for one and shows no figures', { timeout: TEST_TIMEOUT }, async () => {
    const page = await openDashboard(server.adminUrl);
    assert.equal(page.response.status(), 200);
    const headers = page.response.headers();
    assert.match(headers['content-security-policy'], /default-src 'self'/);
    assert.equal(headers['cache-control'], 'no-cache');
    await waitForState(page, 'token-required');
    assert.equal(await page.isVisible('#token-required'), true);
    assert.equal(await page.isVisible('#board'), false);
    assert.equal(await text(page, '#token-title'), 'Token required');
    assert.match(await text(page, '#token-reason'), /--api-token/);
    assert.ok(
      page.requested.every((url) => !url.includes('/api/')),
      `no API call without a token: ${page.requested.join(', ')}`,
    );
    assertClean(page, server.adminUrl);
  });

  test('the served script is ECMAScript 5', async () => {
    const response = await fetch(`${server.adminUrl}/dashboard/dashboard.js`);
    assert.equal(response.status, 200);
    // Throws, naming the line, on anything newer.
    acorn.parse(await response.text(), { ecmaVersion: 5 });
  });

  test('a wrong token is refused; the right one typed into the form opens the board', { timeout: TEST_TIMEOUT }, async () => {
    const page = await openDashboard(server.adminUrl, '#token=not-the-token');
    await waitForState(page, 'token-refused');
    assert.equal(await page.isVisible('#token-required'), true);
    assert.match(await text(page, '#token-reason'), /refused/);
    await page.fill('#token-input', TOKEN);
    await page.click('#token-required button[type=submit]');
    await waitForState(page, 'live');
    assert.equal(await page.isVisible('#board'), true);
    assert.equal(await page.isVisible('#token-required'), false);
    assert.equal(await page.evaluate(() => window.location.hash), `#token=${TOKEN}`, 'kept for a reload');
    assert.equal(await page.inputValue('#token-input'), '', 'the field does not keep the token');
    assertClean(page, server.adminUrl);
  });

  test('with the API off the page says so', { timeout: TEST_TIMEOUT }, async () => {
    const page = await openDashboard(apiOff.adminUrl, '#token=anything');
    await waitForState(page, 'api-off');
    assert.equal(await page.isVisible('#token-required'), true);
    assert.equal(await text(page, '#token-title'), 'The admin API is off');
    assert.match(await text(page, '#token-reason'), /no API token configured/);
    assertClean(page, apiOff.adminUrl);
  });

  test('the figures move as real clients connect, join, talk and leave', { timeout: TEST_TIMEOUT }, async () => {
    const page = await openDashboard(server.adminUrl, withToken);
    await waitForState(page, 'live');
    assert.equal(await text(page, '#sessions-total'), '0');
    assert.equal(await page.evaluate(chartRisen, chartLine('handshakes')), false, 'no handshake yet');

    // Three 0.9 clients over websocket and xhr-polling, two 4.8 clients.
    const legacy = [];
    for (const transport of ['websocket', 'websocket', 'xhr-polling']) {
      legacy.push((await openClient(server.url, { transport })).socket);
    }
    const modern = [await openModern(server.url, 'websocket'), await openModern(server.url, 'polling')];

    await page.waitForFunction(() => document.getElementById('sessions-total').textContent === '5');
    const generation = (label) => text(page, `#by-generation tr[data-label="${label}"] td.count`);
    assert.equal(await generation('0.9'), '3');
    assert.equal(await generation('eio4'), '2');
    assert.equal(await generation('eio3'), '0');
    await page.waitForFunction(
      () => document.querySelector('#by-transport tr[data-label="websocket"] td.count').textContent === '3',
    );
    await page.waitForFunction(chartRisen, chartLine('handshakes'));

    // Rooms: every client joins `lobby`, the first also a room with a very long name.
    for (const socket of legacy) socket.emit('join', 'lobby');
    for (const socket of modern) socket.emit('join', 'lobby');
    legacy[0].emit('join', LONG_ROOM);
    await page.waitForFunction((selector) => {
      const cell = document.querySelector(selector);
      return cell !== null && cell.textContent === '5';
    }, roomSize('lobby'));
    await page.locator(roomSize(LONG_ROOM)).waitFor();
    assert.equal(await text(page, roomSize(LONG_ROOM)), '1');

    // Messages: the joins and acked echoes move the messages chart and its totals.
    for (let i = 0; i < 10; i += 1) {
      await emitWithAck(legacy[i % legacy.length], 'echo', [i]);
    }
    await page.waitForFunction(chartRisen, chartLine('messages'));
    // 6 joins and 10 echoes in, 10 acks out (and what the 4.8 clients' namespace connects add).
    await page.waitForFunction(() => {
      const [received, written] = document.getElementById('messages-totals').textContent.match(/\d+/g).map(Number);
      return received >= 16 && written >= 10;
    });
    // One 0.9 client says goodbye (booted), one 4.8 client closes: both reasons show.
    closeClient(legacy[2]);
    modern[1].disconnect();
    await page.waitForFunction(() => document.getElementById('sessions-total').textContent === '3');
    await page.locator('#disconnects-recent tr[data-label="booted"]').waitFor();
    assert.match(await text(page, '#disconnects-window'), /^By reason, in the last /);

    assert.equal(await page.isVisible('#cluster-card'), false, 'no cluster card on a single node');
    await screenshot(page, 'dashboard.png');
    assertClean(page, server.adminUrl);

    // On a phone: one column, nothing wider than the screen, long room name included.
    const phone = await openDashboard(server.adminUrl, withToken, { width: 375, height: 740 });
    await waitForState(phone, 'live');
    await phone.locator(roomSize(LONG_ROOM)).waitFor();
    const widths = await phone.evaluate(() => ({
      page: document.documentElement.scrollWidth,
      viewport: window.innerWidth,
      viewportMeta: !!document.querySelector('meta[name=viewport]'),
    }));
    assert.ok(widths.viewportMeta, 'a viewport meta tag');
    assert.ok(widths.page <= widths.viewport, `no horizontal scrolling: ${widths.page} > ${widths.viewport}`);
    await screenshot(phone, 'dashboard-phone.png');
    assertClean(phone, server.adminUrl);
  });
});

describe('the dashboard of a cluster', () => {
  let cluster;

  before(async () => {
    cluster = await startCluster({ nodes: 2, app: 'conformance', args: ['--api-token', TOKEN] });
  });

  after(async () => {
    closeAllClients();
    if (cluster) await cluster.stop();
  });

  test('lists every node with its sessions and counts rooms across them', { timeout: TEST_TIMEOUT }, async () => {
    // One 0.9 client on each node, both in `lobby`.
    const clients = [];
    for (const node of cluster.nodes) {
      const { socket } = await openClient(node.url, { transport: 'websocket' });
      socket.emit('join', 'lobby');
      clients.push(socket);
    }
    const [here] = cluster.nodes;
    const page = await openDashboard(here.adminUrl, withToken);
    await waitForState(page, 'live');
    assert.equal(await page.isVisible('#cluster-card'), true);
    await page.waitForFunction(() => document.querySelectorAll('#cluster-nodes tr[data-node]').length === 2);
    const rows = await page.locator('#cluster-nodes tr[data-node]').evaluateAll((trs) =>
      trs.map((tr) => Array.from(tr.cells, (cell) => cell.textContent.trim())),
    );
    assert.deepEqual(
      rows.map(([, sessions, state]) => [sessions, state]),
      [
        ['1', 'ready'],
        ['1', 'ready'],
      ],
    );
    assert.equal(rows.filter(([id]) => id.endsWith('(this node)')).length, 1, JSON.stringify(rows));
    assert.match(await text(page, '#status'), /node [0-9a-f]{6}/);
    assert.equal(await text(page, '#namespaces-scope'), 'whole cluster');
    assert.equal(await text(page, '#sessions-total'), '1', 'sessions of this node');
    await page.waitForFunction((selector) => {
      const cell = document.querySelector(selector);
      return cell !== null && cell.textContent === '2';
    }, roomSize('lobby'));
    assert.match(await text(page, '#cluster-missing'), /^2 nodes, 2 sessions in all/);
    await screenshot(page, 'dashboard-cluster.png');
    assertClean(page, here.adminUrl);
  });
});
