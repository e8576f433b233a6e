'use strict';

// Both browser clients in headless Chromium against three ferrio nodes on one Redis behind
// nginx balancing round-robin per request (tests/shared/cluster.js), every transport forced in
// turn: our client over websocket, xhr-polling and each legacy transport (jsonp-polling,
// htmlfile, xhr-multipart), the real socket.io-client 0.9.17 build over websocket,
// xhr-polling and jsonp-polling. Each runs the shared flow (two pages, an acked emit, a
// broadcast that reaches the other page only, 100 emits back in order) while its handshake,
// upgrade, polls, POSTs and streams land on whichever node nginx picks.

const assert = require('node:assert/strict');
const { after, before, describe, test } = require('node:test');

const { launchBrowser, openTestPage } = require('./harness');
const { runFlow } = require('./flows');
const { startCluster } = require('../shared/cluster');

const TEST_TIMEOUT = 30_000;

describe('a round-robin balancer over three nodes', () => {
  let browser;
  let cluster;
  const pages = [];

  before(async () => {
    cluster = await startCluster({
      nodes: 3,
      app: 'conformance',
      args: ['--heartbeat-interval', '3', '--heartbeat-timeout', '8', '--close-timeout', '8', '--polling-duration', '2'],
    });
    browser = await launchBrowser();
  });

  after(async () => {
    for (const p of pages) await p.close();
    if (browser) await browser.close();
    if (cluster) await cluster.stop();
  });

  async function open(opts = {}) {
    const p = await openTestPage(browser, cluster.url, opts);
    pages.push(p);
    return p.page;
  }

  const cases = [
    ...['websocket', 'xhr-polling', 'jsonp-polling', 'htmlfile', 'xhr-multipart'].map((transport) => ({ transport, realClient: false })),
    ...['websocket', 'xhr-polling', 'jsonp-polling'].map((transport) => ({ transport, realClient: true })),
  ];
  for (const { transport, realClient } of cases) {
    const who = realClient ? 'the real 0.9.17 client' : 'our client';
    test(`${who} over ${transport}`, { timeout: TEST_TIMEOUT }, async () => {
      const a = await open({ realClient });
      const b = await open({ realClient });
      await runFlow({ a, b, url: cluster.url, transport, realClient });
      assert.deepEqual(a.errors, []);
      assert.deepEqual(b.errors, []);
    });
  }
});
