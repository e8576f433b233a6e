'use strict';

// The legacy transports in headless Chromium (docs/protocol.md §5.3 htmlfile, §5.5 jsonp-polling, §5.6
// xhr-multipart, §6.4 selection, §9 C56, C59, C60):
// - our client (the parts of static/client, as joined into ferrio) with each one forced: the shared
//   flow (two pages, acked emit, broadcast, 100 messages in order) and C59's awkward text both
//   ways, plus what is particular to each transport (cross-origin without CORS for JSONP;
//   several htmlfile connections on one page, script removal, cleanup; a multipart stream
//   ended normally, multipart across origins);
// - the real socket.io-client 0.9.17 over jsonp-polling from another origin (C56);
// - C60: the raw htmlfile stream in an iframe whose parent defines `s._`;
// - the whole fallback chain: websocket → xhr-polling → xhr-multipart → htmlfile →
//   jsonp-polling, once with every step failing in the page and once at a filtering proxy;
// - our client over jsonp-polling and htmlfile against the reference server (socket.io 0.9.19).
//
// ferrio runs with short heartbeats (interval 1 s, timeout 3 s), so a streaming transport
// that failed to answer them would lose its session during the tests.

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
  lifecycle,
  openTestPage,
  recordSentPackets,
  removeWebSocketScript,
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
} = require('./harness');
const { connectOver, runFlow } = require('./flows');
const { clientUrl, servedClient } = require('./served-client');

const TEST_TIMEOUT = 30_000;

const LEGACY = ['jsonp-polling', 'htmlfile', 'xhr-multipart'];

/**
 * C59: line and paragraph separators (end a string literal in old engines), `</script>` and
 * `<!--` (end or confuse a script element), a real backslash-slash (the reference htmlfile
 * client turned it into `/`, §8 #19), quotes, a line break, U+FFFD and an emoji.
 */
const TRICKY = `a\u2028b\u2029c </script><script>x()</script> <!-- <script> \\/ "dq" 'sq' \\" \n\ufffd5\ufffd 😀 é€`;

/** The session id in a transport URL, e.g. …/socket.io/1/jsonp-polling/SID?t=1&i=0. */
function sidOf(url, transport) {
  const match = new RegExp(`/socket\\.io/1/${transport}/([^/?]+)`).exec(url);
  return match ? match[1] : null;
}

/**
 * Init script: XMLHttpRequest is there and looks like XHR level 2 (so the checks of
 * xhr-polling, xhr-multipart and htmlfile pass), but every open() and send() throws, as when
 * a browser extension or policy blocks it. No ActiveX, no WebSocket.
 */
function brokenXhrScript() {
  function Blocked() {
    this.readyState = 0;
    this.withCredentials = false;
    this.onprogress = null;
    this.onreadystatechange = null;
  }
  Blocked.prototype.open = function () {
    window.__xhrRefused = (window.__xhrRefused || 0) + 1;
    throw new Error('XMLHttpRequest blocked');
  };
  Blocked.prototype.send = function () {
    throw new Error('XMLHttpRequest blocked');
  };
  Blocked.prototype.abort = function () {};
  Blocked.prototype.setRequestHeader = function () {};
  window.XMLHttpRequest = Blocked;
  delete window.ActiveXObject;
}

describe('legacy transports against ferrio', () => {
  let browser;
  let server;
  const closers = [];

  before(async () => {
    server = await startFerrio({ args: ['--heartbeat-interval', '1', '--heartbeat-timeout', '3', '--polling-duration', '2'] });
    browser = await launchBrowser();
  });

  after(async () => {
    for (const close of closers.reverse()) await close();
    if (browser) await browser.close();
    if (server) await server.stop();
  });

  async function open(origin = server.url, opts = {}) {
    const p = await openTestPage(browser, origin, opts);
    closers.push(p.close);
    return p.page;
  }

  /** A page on another origin (a static server on another port) loading `clientSrc`. */
  async function openElsewhere(clientSrc, extraPages = {}) {
    const site = await startPageServer({
      '/page.html': { type: 'text/html; charset=utf-8', body: testPageHtml(clientSrc) },
      ...extraPages,
    });
    closers.push(site.close);
    const page = await open(site.url, { pagePath: '/page.html' });
    return { page, site };
  }

  test('ferrio serves the client joined from the current static/client and announces the legacy transports', async () => {
    await servedClient(server);
    const handshake = await (await fetch(`${server.url}/socket.io/1/?t=1`)).text();
    assert.match(handshake, /:websocket,xhr-polling,xhr-multipart,htmlfile,jsonp-polling$/);
  });

  for (const transport of LEGACY) {
    describe(`our client over ${transport}`, () => {
      test('connect, emit with ack, broadcast between two pages, 100 messages in order', { timeout: TEST_TIMEOUT }, async () => {
        const a = await open();
        const b = await open();
        await runFlow({ a, b, url: server.url, transport });
        assert.deepEqual(a.errors, []);
        assert.deepEqual(b.errors, []);
      });

      test('C59: U+2028, </script>, <!--, \\/, quotes and an emoji arrive unchanged both ways', { timeout: TEST_TIMEOUT }, async () => {
        const a = await open();
        const b = await open();
        const sent = recordSentPackets(a);
        await connectOver(a, 'A', server.url, transport);
        await connectOver(b, 'B', server.url, 'websocket');
        // Up and down on the transport.
        assert.deepEqual(await emitAck(a, 'A', 'echo', [TRICKY, { [TRICKY]: TRICKY }]), [TRICKY, { [TRICKY]: TRICKY }]);
        await a.evaluate((t) => T.sockets.A.send(t), TRICKY);
        assert.deepEqual((await waitForEntry(a, 'A', 'message')).args, [TRICKY]);
        // Up on the transport, down on websocket; then the other way.
        await emit(a, 'A', 'bcast', [TRICKY]);
        assert.deepEqual((await waitForEntry(b, 'B', 'bmsg')).args, [TRICKY]);
        await emit(b, 'B', 'bcast', [TRICKY]);
        assert.deepEqual((await waitForEntry(a, 'A', 'bmsg')).args, [TRICKY]);
        assert.ok(sent.some((p) => p.includes(TRICKY)), 'the text went out as it is');
        if (transport !== 'jsonp-polling') {
          // Streaming: heartbeats (every second) are answered with POSTs of 2:: and the
          // session outlives the 3 s heartbeat timeout.
          await until(() => sent.filter((p) => p === '2::').length >= 3, 'three heartbeat answers', { timeout: 6000 });
        }
        assert.deepEqual(await lifecycle(a, 'A'), [['connecting', transport], ['connect']], 'no disconnect');
        assert.deepEqual(a.errors, []);
      });
    });
  }

  test('jsonp-polling from another origin: no CORS, GETs are scripts, POSTs are forms; cleaned up', { timeout: TEST_TIMEOUT }, async () => {
    const { page, site } = await openElsewhere(`${server.url}/socket.io/socket.io.js`);
    const requests = [];
    page.on('requestfinished', (r) => {
      if (r.url().startsWith(server.url)) requests.push(r);
    });
    const sent = recordSentPackets(page);
    const { sessionid } = await connectOver(page, 'A', server.url, 'jsonp-polling');
    assert.equal(await page.evaluate(() => T.sockets.A.socket.isXDomain()), true);
    assert.deepEqual(await emitAck(page, 'A', 'echo', [TEXT]), [TEXT]);
    await page.evaluate(() => {
      for (let i = 0; i < 30; i++) T.emit('A', 'echo', [i]);
    });
    const echoes = await waitForEntries(page, 'A', 'echo', { count: 30 });
    assert.deepEqual(echoes.map((e) => e.args[0]), Array.from({ length: 30 }, (_, i) => i));

    const transportRequests = requests.filter((r) => r.url().includes('/jsonp-polling/'));
    const gets = transportRequests.filter((r) => r.method() === 'GET');
    const posts = transportRequests.filter((r) => r.method() === 'POST');
    assert.ok(gets.length >= 2 && posts.length >= 1, `${gets.length} GETs, ${posts.length} POSTs`);
    const index = await page.evaluate(() => T.sockets.A.socket.transport.index);
    for (const r of transportRequests) {
      assert.equal(sidOf(r.url(), 'jsonp-polling'), sessionid);
      assert.match(r.url(), new RegExp(`[?&]t=\\d+&i=${index}$`));
      assert.equal(r.method() === 'GET' ? 'script' : 'document', r.resourceType(), r.url());
    }
    for (const r of posts) {
      const headers = await r.allHeaders();
      assert.match(headers['content-type'], /^application\/x-www-form-urlencoded/);
      assert.equal(headers.origin, site.url, 'a cross-origin form post');
      const d = new URLSearchParams(r.postData()).get('d');
      assert.match(d, /^".*"$/s, 'd is a JSON string literal');
    }
    assert.ok(!requests.some((r) => r.method() === 'OPTIONS'), 'no preflight');
    // Old scripts and the iframes of finished posts are gone.
    await until(
      () => page.evaluate(() => document.querySelectorAll('script[src*="jsonp-polling"]').length <= 1 && document.querySelectorAll('form iframe').length <= 1),
      'scripts and iframes cleaned up',
    );
    await page.evaluate(() => T.sockets.A.disconnect());
    await until(() => sent.includes('0::'), '0:: posted');
    await until(
      () => page.evaluate(() => document.querySelectorAll('script[src*="jsonp-polling"], form, iframe').length === 0),
      'script, form and iframes removed after disconnect',
    );
    assert.deepEqual(page.errors, []);
  });

  test('htmlfile: two connections on one page, the page\'s own `s` untouched, consumed scripts removed, iframes removed', { timeout: TEST_TIMEOUT }, async () => {
    const page = await open(server.url, {
      initScript: () => {
        window.s = 'the page keeps its own s';
      },
    });
    await connectOver(page, 'A', server.url, 'htmlfile');
    await connectOver(page, 'B', server.url, 'htmlfile');
    assert.equal(await page.evaluate(() => window.s), 'the page keeps its own s');
    // Each transport is the `s` of its own container window, nowhere else.
    assert.deepEqual(
      await page.evaluate(() => {
        const a = T.sockets.A.socket.transport;
        const b = T.sockets.B.socket.transport;
        return [a.container.win.s === a, b.container.win.s === b, a.container.win !== b.container.win, a.frame.contentWindow.parent === a.container.win];
      }),
      [true, true, true, true],
    );
    const [ra, rb] = await Promise.all([emitAck(page, 'A', 'echo', ['to A']), emitAck(page, 'B', 'echo', ['to B'])]);
    assert.deepEqual([ra, rb], [['to A'], ['to B']]);
    await page.evaluate(() => {
      for (let i = 0; i < 100; i++) T.emit('A', 'echo', [i]);
    });
    await waitForEntries(page, 'A', 'echo', { count: 100 });
    assert.equal((await entries(page, 'B', 'echo')).length, 0, 'nothing crossed over to B');
    // The streaming document keeps at most two script elements however much it carried.
    const scripts = await page.evaluate(() => T.sockets.A.socket.transport.frame.contentDocument.getElementsByTagName('script').length);
    assert.ok(scripts <= 2, `${scripts} script elements left in the stream document`);
    assert.equal(await page.evaluate(() => document.querySelectorAll('iframe').length), 2, 'one container per connection');
    // disconnect() removes B's container; the end of the page removes A's.
    await page.evaluate(() => T.sockets.B.disconnect());
    assert.equal(await page.evaluate(() => document.querySelectorAll('iframe').length), 1);
    assert.deepEqual(await emitAck(page, 'A', 'echo', ['A still up']), ['A still up']);
    await page.evaluate(() => window.dispatchEvent(new Event(io.util.pageEnd())));
    assert.equal(await page.evaluate(() => document.querySelectorAll('iframe').length), 0);
    assert.deepEqual(page.errors, []);
  });

  test('htmlfile answered with an error page (a filtering proxy): jsonp-polling next, same session id', { timeout: TEST_TIMEOUT }, async () => {
    const front = await startProxy(server.port, { block: (line) => line.includes('/htmlfile/') });
    closers.push(front.close);
    const page = await open(front.url);
    const started = Date.now();
    await page.evaluate((url) => T.connect('A', url, { 'force new connection': true, transports: ['htmlfile', 'jsonp-polling'] }), front.url);
    await waitForEntry(page, 'A', 'connect', { timeout: 5000 });
    assert.ok(Date.now() - started < 5000, 'no connect timeout (10 s) was needed');
    assert.deepEqual(await lifecycle(page, 'A'), [['connecting', 'htmlfile'], ['connecting', 'jsonp-polling'], ['connect']]);
    const { sessionid } = await state(page, 'A');
    const handshakes = front.requests.filter((r) => /^GET \/socket\.io\/1\/\?/.test(r));
    assert.equal(handshakes.length, 1, JSON.stringify(front.all));
    assert.equal(sidOf(front.requests.find((r) => r.includes('/htmlfile/')), 'htmlfile'), sessionid);
    assert.deepEqual(await emitAck(page, 'A', 'echo', ['after htmlfile']), ['after htmlfile']);
    assert.equal(await page.evaluate(() => document.querySelectorAll('iframe[src*="htmlfile"], iframe:not(form iframe)').length), 0, 'the refused iframe is gone');
  });

  test('xhr-multipart: a stream that ends with its closing delimiter is followed by a new GET, same session', { timeout: TEST_TIMEOUT }, async () => {
    const page = await open();
    const gets = [];
    page.on('request', (r) => {
      if (r.method() === 'GET' && r.url().includes('/xhr-multipart/')) gets.push(r.url());
    });
    const { sessionid } = await connectOver(page, 'A', server.url, 'xhr-multipart');
    assert.equal(gets.length, 1);
    // A second GET for the session makes ferrio complete the page's stream with the closing
    // delimiter (docs/protocol.md §5.6); the page's next GET then completes this one in turn.
    const intruder = await withTimeout(fetch(`${server.url}/socket.io/1/xhr-multipart/${sessionid}?t=1`), 5000, 'the second GET');
    const boundary = /boundary="([^"]+)"/.exec(intruder.headers.get('content-type'))[1];
    const body = await withTimeout(intruder.text(), 5000, 'the page to take its stream back');
    assert.ok(body.startsWith(`--${boundary}\r\n`) && body.endsWith(`--${boundary}--\r\n`), JSON.stringify(body));
    await until(() => gets.length === 2, 'the page to open a new stream', { timeout: 2000 });
    assert.equal(sidOf(gets[1], 'xhr-multipart'), sessionid);
    assert.deepEqual(await emitAck(page, 'A', 'echo', ['on the new stream', TEXT]), ['on the new stream', TEXT]);
    await emit(page, 'A', 'multi', []);
    await waitForEntries(page, 'A', 'message');
    assert.deepEqual(await lifecycle(page, 'A'), [['connecting', 'xhr-multipart'], ['connect']], 'no disconnect');
    assert.equal((await state(page, 'A')).sessionid, sessionid);
  });

  test('xhr-multipart from another origin: CORS with credentials', { timeout: TEST_TIMEOUT }, async () => {
    const { page, site } = await openElsewhere(`${server.url}/socket.io/socket.io.js`);
    await page.context().addCookies([{ name: 'probe', value: 'yes', url: server.url }]);
    const requests = [];
    page.on('request', (r) => {
      if (r.url().includes('/xhr-multipart/')) requests.push(r);
    });
    await connectOver(page, 'A', server.url, 'xhr-multipart');
    assert.deepEqual(await emitAck(page, 'A', 'echo', ['cross', TEXT]), ['cross', TEXT]);
    const get = requests.find((r) => r.method() === 'GET');
    const post = requests.find((r) => r.method() === 'POST');
    assert.ok(get && post, 'a GET and a POST');
    for (const r of [get, post]) {
      const headers = await r.allHeaders();
      assert.equal(headers.origin, site.url);
      assert.match(headers.cookie || '', /probe=yes/, `${r.method()} withCredentials`);
    }
  });

  test('C56: the real socket.io-client 0.9.17 over jsonp-polling from another origin', { timeout: TEST_TIMEOUT }, async () => {
    const { page } = await openElsewhere('/socket.io.js', {
      '/socket.io.js': { type: 'application/javascript', body: fs.readFileSync(REAL_CLIENT_PATH) },
    });
    assert.equal(await page.evaluate(() => io.version), '0.9.17');
    const requests = [];
    page.on('requestfinished', (r) => {
      if (r.url().includes('/jsonp-polling/')) requests.push(r);
    });
    // connectOver assigns io.transports = ['jsonp-polling'] before io.connect for the real client.
    const { sessionid } = await connectOver(page, 'A', server.url, 'jsonp-polling', { realClient: true });
    assert.deepEqual(await emitAck(page, 'A', 'echo', ['real', TEXT]), ['real', TEXT]);
    await emit(page, 'A', 'multi', []);
    const [b] = await waitForEntries(page, 'A', 'b');
    assert.deepEqual(b.args, [TEXT]);
    assert.ok(requests.some((r) => r.method() === 'GET' && r.resourceType() === 'script'), 'script GETs');
    assert.ok(requests.some((r) => r.method() === 'POST' && /^d=/.test(r.postData() || '')), 'form POSTs');
    assert.ok(requests.every((r) => sidOf(r.url(), 'jsonp-polling') === sessionid));
  });

  test('C60: the htmlfile stream in an iframe whose parent defines s._ delivers 1::, 2:: and app packets in order', { timeout: TEST_TIMEOUT }, async () => {
    const page = await open();
    const sid = (await (await fetch(`${server.url}/socket.io/1/?t=1`)).text()).split(':')[0];
    await page.evaluate((id) => {
      window.calls = [];
      window.s = {
        _(p, doc) {
          window.calls.push({ p, fromFrame: doc === window.frame.contentDocument });
          // Answer heartbeats as a client would (the server's timeout is 3 s).
          if (p === '2::') fetch(`/socket.io/1/htmlfile/${id}`, { method: 'POST', body: '2::' });
        },
      };
      window.frame = document.createElement('iframe');
      window.frame.src = `/socket.io/1/htmlfile/${id}?t=2`;
      document.body.appendChild(window.frame);
    }, sid);
    const calls = () => page.evaluate(() => window.calls);
    await until(async () => (await calls()).some((c) => c.p === '2::'), 'a heartbeat', { timeout: 5000 });
    const post = (body) => fetch(`${server.url}/socket.io/1/htmlfile/${sid}?t=3`, { method: 'POST', body });
    await post('5:::{"name":"multi"}');
    await post(`5:::${JSON.stringify({ name: 'echo', args: [TRICKY] })}`);
    const framed = (p) => {
      if (p[0] !== '\ufffd') return [p];
      const out = [];
      for (let i = 0; i < p.length; ) {
        const end = p.indexOf('\ufffd', i + 1);
        const n = Number(p.slice(i + 1, end));
        out.push(p.substr(end + 1, n));
        i = end + 1 + n;
      }
      return out;
    };
    const packets = async () => (await calls()).flatMap((c) => framed(c.p));
    await until(async () => (await packets()).some((p) => p.startsWith('5:::{"name":"echo"')), 'the echo', { timeout: 5000 });
    await until(async () => (await packets()).filter((p) => p === '2::').length >= 2, 'a second heartbeat', { timeout: 5000 });
    const all = await packets();
    assert.equal(all[0], '1::', 'first 1::');
    assert.deepEqual(
      all.filter((p) => p !== '2::'),
      ['1::', '5:::{"name":"a","args":[1]}', `5:::{"name":"b","args":["${TEXT}"]}`, '3:::x', `5:::${JSON.stringify({ name: 'echo', args: [TRICKY] })}`],
      'app packets in order, text unchanged',
    );
    assert.ok((await calls()).every((c) => c.fromFrame), 's._ gets the iframe document');
    await page.evaluate(() => window.frame.remove());
  });

  describe('the whole fallback chain down to jsonp-polling', () => {
    /**
     * Checks one walk: the events, one handshake for all steps (nothing reached the server
     * before jsonp-polling, so the session id is reused), and that the session works.
     */
    async function walk(page, url, expected) {
      const started = Date.now();
      await page.evaluate((u) => T.connect('A', u, { 'force new connection': true }), url);
      await waitForEntry(page, 'A', 'connect', { timeout: 8000 });
      assert.ok(Date.now() - started < 8000, 'every step failed at once (connect timeout: 10 s)');
      assert.deepEqual(await lifecycle(page, 'A'), [...expected.map((t) => ['connecting', t]), ['connect']]);
      const s = await state(page, 'A');
      assert.equal(s.transport, 'jsonp-polling');
      assert.deepEqual(await emitAck(page, 'A', 'echo', ['at the end of the chain', TRICKY]), ['at the end of the chain', TRICKY]);
      return s;
    }

    // Step by step, with XMLHttpRequest blocked in the page (brokenXhrScript):
    // - handshake: the XHR cannot be opened, so it goes through JSONP (io.j);
    // - websocket: check() false (no window.WebSocket): skipped, no `connecting`;
    // - flashsocket: check() false (no Flash shim), not announced anyway: skipped;
    // - xhr-polling: check() true (an XMLHttpRequest exists); its first GET throws in open();
    // - xhr-multipart: check() true (the object has onprogress); its GET throws in open();
    // - htmlfile: check() true (a document, an XMLHttpRequest); open() finds that no POST
    //   can be opened and refuses before making its iframe;
    // - jsonp-polling: check() true (a document): connects.
    test('in the page: no WebSocket, XMLHttpRequest blocked, no ActiveX', { timeout: TEST_TIMEOUT }, async () => {
      const page = await open(server.url, { initScript: `(${removeWebSocketScript})();\n(${brokenXhrScript})();` });
      const scripts = [];
      page.on('request', (r) => {
        if (r.resourceType() === 'script') scripts.push(r.url());
      });
      assert.deepEqual(
        await page.evaluate(() => ['websocket', 'xhr-polling', 'xhr-multipart', 'htmlfile', 'jsonp-polling'].map((n) => io.Transport[n].check(T))),
        [false, true, true, true, true],
      );
      const s = await walk(page, server.url, ['xhr-polling', 'xhr-multipart', 'htmlfile', 'jsonp-polling']);
      assert.ok(scripts.some((u) => /\/socket\.io\/1\/\?t=\d+&jsonp=\d+$/.test(u)), `JSONP handshake among ${JSON.stringify(scripts)}`);
      assert.ok(scripts.some((u) => sidOf(u, 'jsonp-polling') === s.sessionid));
      assert.ok((await page.evaluate(() => window.__xhrRefused)) >= 3, 'each XHR step was tried');
      assert.equal(await page.evaluate(() => document.querySelectorAll('iframe:not(form iframe)').length), 0, 'htmlfile made no iframe');
    });

    // At a filtering proxy, with a normal browser: the WebSocket upgrade is refused (TCP
    // closed), the GETs of xhr-polling and xhr-multipart are answered 403 (a non-200 answer
    // before `1::`), htmlfile's iframe loads the proxy's 403 page without a single `_()` call,
    // and jsonp-polling gets through.
    test('at a proxy: WebSocket upgrade refused, xhr-polling, xhr-multipart and htmlfile GETs answered 403', { timeout: TEST_TIMEOUT }, async () => {
      const front = await startProxy(server.port, {
        mode: 'destroy',
        block: (line) => /^GET \/socket\.io\/1\/(xhr-polling|xhr-multipart|htmlfile)\//.test(line),
      });
      closers.push(front.close);
      const page = await open(front.url);
      const s = await walk(page, front.url, ['websocket', 'xhr-polling', 'xhr-multipart', 'htmlfile', 'jsonp-polling']);
      const handshakes = front.requests.filter((r) => /^GET \/socket\.io\/1\/\?/.test(r));
      assert.equal(handshakes.length, 1, JSON.stringify(front.all));
      assert.equal(front.upgrades.length, 1);
      for (const t of ['xhr-polling', 'xhr-multipart', 'htmlfile']) {
        const line = front.requests.find((r) => r.includes(`/${t}/`));
        assert.equal(sidOf(line || '', t), s.sessionid, `${t} tried with the handshake's session id`);
      }
    });
  });
});

describe('our client over the legacy transports against the reference server (socket.io 0.9.19)', () => {
  let browser;
  let reference;
  let scriptHost; // a ferrio serving our client to the reference server's pages
  const closers = [];

  before(async () => {
    reference = await startReferenceServer({ transports: ['websocket', 'htmlfile', 'xhr-polling', 'jsonp-polling'] });
    scriptHost = await startFerrio();
    await servedClient(scriptHost);
    browser = await launchBrowser();
  });

  after(async () => {
    for (const close of closers.reverse()) await close();
    if (browser) await browser.close();
    if (scriptHost) await scriptHost.stop();
    if (reference) await reference.stop();
  });

  for (const transport of ['jsonp-polling', 'htmlfile']) {
    test(`over ${transport}: emit with ack, several packets at once, awkward text`, { timeout: TEST_TIMEOUT }, async () => {
      const p = await openTestPage(browser, reference.url, { clientSrc: clientUrl(scriptHost) });
      closers.push(p.close);
      const { page } = p;
      assert.equal(await page.evaluate(() => io.client), 'ferrio 0.1.0');
      await connectOver(page, 'A', reference.url, transport);
      // The reference writes U+2028 raw (§5.5 #2), which Chromium's engine accepts. Its
      // htmlfile chunks do not escape `<!--`, and `<!--` followed by `<script` puts the HTML
      // tokenizer into the "double escaped" state where the chunk's `</script>` no longer ends
      // the element, so that stream would be stuck for good (§5.3): not sent there.
      const text = transport === 'htmlfile' ? TRICKY.replace('<!-- <script> ', '') : TRICKY;
      assert.ok(transport !== 'htmlfile' || !text.includes('<!--'));
      assert.deepEqual(await emitAck(page, 'A', 'echo', [text, TEXT]), [text, TEXT]);
      await emit(page, 'A', 'multi', []);
      const [b] = await waitForEntries(page, 'A', 'b');
      assert.deepEqual(b.args, [TEXT]);
      await delay(50);
      assert.deepEqual(page.errors, []);
    });
  }
});
