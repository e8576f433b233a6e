'use strict';

// The chat page served at / by `ferrio --app chat`, end to end through its real UI: two
// browser pages (one with WebSocket, one without it, so over xhr-polling) type into Nome and
// Mensagem, click Enviar, and see each other's lines. Writes tests/output/chat.png.

const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { after, before, describe, test } = require('node:test');

const { OUTPUT_DIR, TIMEOUT, launchBrowser, removeWebSocketScript, startChatServer } = require('./harness');

const TEST_TIMEOUT = 30_000;

describe('the chat page', () => {
  let browser;
  let server;
  const contexts = [];

  before(async () => {
    server = await startChatServer();
    browser = await launchBrowser();
  });

  after(async () => {
    for (const context of contexts) await context.close().catch(() => {});
    if (browser) await browser.close();
    if (server) await server.stop();
  });

  async function openChat({ withoutWebSocket = false } = {}) {
    const context = await browser.newContext({ viewport: { width: 720, height: 560 } });
    contexts.push(context);
    const page = await context.newPage();
    page.setDefaultTimeout(TIMEOUT);
    page.errors = [];
    page.on('pageerror', (error) => page.errors.push(String(error)));
    if (withoutWebSocket) await page.addInitScript(removeWebSocketScript);
    await page.goto(`${server.url}/`);
    return page;
  }

  /** The history lines, newest first, as shown. */
  function lines(page) {
    return page.locator('#history li').allInnerTexts();
  }

  async function say(page, nome, mensagem) {
    await page.fill('#nome', nome);
    await page.fill('#mensagem', mensagem);
    await page.click('#enviar');
  }

  test('two pages exchange messages through the UI', { timeout: TEST_TIMEOUT }, async () => {
    const ana = await openChat();
    const bruno = await openChat({ withoutWebSocket: true });
    await ana.waitForFunction(() => document.getElementById('status').textContent === 'Conectado (websocket)');
    await bruno.waitForFunction(() => document.getElementById('status').textContent === 'Conectado (xhr-polling)');
    assert.equal(await ana.isEnabled('#enviar'), true);

    await say(ana, 'Ana', 'Olá, Bruno! 😀');
    await bruno.locator('#history li', { hasText: 'Olá, Bruno!' }).waitFor();
    assert.deepEqual(await lines(bruno), ['Ana: Olá, Bruno! 😀']);
    // The sender sees its own line too (toClient to the sender and broadcast to the others).
    await ana.locator('#history li', { hasText: 'Olá, Bruno!' }).waitFor();
    assert.equal(await ana.inputValue('#mensagem'), '', 'the message field is cleared');

    await say(bruno, 'Bruno', 'Oi, Ana: tudo bem? <b>sem HTML</b>');
    await ana.locator('#history li', { hasText: 'tudo bem?' }).waitFor();
    await bruno.locator('#history li', { hasText: 'tudo bem?' }).waitFor();
    assert.deepEqual(await lines(ana), ['Bruno: Oi, Ana: tudo bem? <b>sem HTML</b>', 'Ana: Olá, Bruno! 😀']);
    assert.deepEqual(await lines(bruno), await lines(ana));
    assert.equal(await ana.locator('#history b').count(), 0, 'text, not markup');
    assert.equal(await ana.locator('#history .who').first().innerText(), 'Bruno');

    // An empty message is not sent.
    await say(ana, 'Ana', '');
    await say(ana, 'Ana', 'última');
    await bruno.locator('#history li', { hasText: 'última' }).waitFor();
    assert.equal((await lines(bruno)).length, 3);

    fs.mkdirSync(OUTPUT_DIR, { recursive: true });
    const file = path.join(OUTPUT_DIR, 'chat.png');
    await ana.screenshot({ path: file, fullPage: true });
    assert.ok(fs.statSync(file).size > 1000, 'screenshot written');
    assert.deepEqual([ana.errors, bruno.errors], [[], []]);
  });

  test('the page shows the connection going away and coming back', { timeout: TEST_TIMEOUT }, async () => {
    const page = await openChat();
    await page.waitForFunction(() => document.getElementById('status').textContent === 'Conectado (websocket)');
    // Drop the connection from the client side without 'booted': the transport closes.
    await page.evaluate(() => {
      const base = io.sockets[Object.keys(io.sockets)[0]];
      base.transport.websocket.close();
    });
    await page.waitForFunction(() => /^(Desconectado|Reconectando)/.test(document.getElementById('status').textContent));
    await page.waitForFunction(() => document.getElementById('status').textContent === 'Conectado (websocket)', null, {
      timeout: 10_000,
    });
    assert.equal(await page.isEnabled('#enviar'), true);
  });
});
