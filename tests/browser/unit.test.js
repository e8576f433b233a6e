'use strict';

// Parts of our client that need no browser, run in a Node `vm` context: the io object, the
// packet and payload codec against the examples of docs/protocol.md (§3, §6.8), the JSON
// fallback (used when window.JSON is missing) against the native JSON, namespace ack rules
// (§3.3 and the fix of §8 #18), io.connect's URL handling (§6.2) and the reconnection jitter.
// The script is the one ferrio serves (the parts of static/client joined by build.rs).

const assert = require('node:assert/strict');
const vm = require('node:vm');
const { describe, test } = require('node:test');

const { fetchServedClient } = require('./served-client');

/** The served script, fetched once before the suites below are built. */
let SOURCE = null;

/** Runs the client in a fresh context; `globals` become the page's globals. */
function load(globals = {}) {
  const context = vm.createContext({ setTimeout, clearTimeout, ...globals });
  if (globals.window === true) context.window = context;
  vm.runInContext(SOURCE, context, { filename: 'socket.io.js' });
  return context;
}

/** Copies a value out of the vm context (so deepEqual sees plain objects and arrays). */
const plain = (value) => JSON.parse(JSON.stringify(value));

describe('the client ferrio serves, in a vm', async () => {
  SOURCE = await fetchServedClient();

  describe('the io object', () => {
    const { io } = load();

    test('version, protocol, transports, j, sockets', () => {
      assert.equal(io.version, '0.9.17');
      assert.equal(io.protocol, 1);
      assert.deepEqual(plain(io.transports), ['websocket', 'flashsocket', 'xhr-polling', 'xhr-multipart', 'htmlfile', 'jsonp-polling']);
      assert.ok(Array.isArray(plain(io.j)) && io.j.length === 0);
      assert.deepEqual(plain(io.sockets), {});
      assert.equal(typeof io.connect, 'function');
    });

    test('transports table: each with check() and xdomainCheck()', () => {
      for (const name of plain(io.transports)) {
        const T = io.Transport[name];
        assert.equal(typeof T, 'function', name);
        assert.equal(typeof T.check, 'function', `${name}.check`);
        assert.equal(typeof T.xdomainCheck, 'function', `${name}.xdomainCheck`);
        assert.equal(T.prototype.name, name);
      }
      // Every HTTP transport shares the polling base (GET/POST mechanics); the streaming ones
      // share xhr-polling's POSTs.
      const { Polling } = io.Transport;
      for (const name of ['xhr-polling', 'jsonp-polling']) assert.ok(io.Transport[name].prototype instanceof Polling, name);
      for (const name of ['xhr-multipart', 'htmlfile']) assert.ok(io.Transport[name].prototype instanceof io.Transport['xhr-polling'], name);
      // Streaming transports answer heartbeats; polling ones get none.
      const beats = (name) => io.Transport[name].prototype.heartbeats();
      assert.deepEqual(['xhr-polling', 'jsonp-polling', 'xhr-multipart', 'htmlfile'].map(beats), [false, false, true, true]);
      // Nothing available in a bare context (no document, no XMLHttpRequest).
      for (const name of plain(io.transports)) assert.equal(io.Transport[name].check(), false, `${name}.check()`);
      // Across origins: htmlfile never (as the reference), jsonp-polling always.
      assert.equal(io.Transport.htmlfile.xdomainCheck(), false);
      assert.equal(io.Transport['jsonp-polling'].xdomainCheck(), true);
    });

    test('xhr-multipart only with an XMLHttpRequest that has progress events (XHR level 2)', () => {
      function XHR2() {
        this.onprogress = null;
        this.withCredentials = false;
      }
      function XHR1() {} // IE 7-9: no progress events, responseText unreadable while loading
      const modern = load({ window: true, XMLHttpRequest: XHR2, navigator: { userAgent: 'Chrome' } }).io;
      assert.deepEqual([modern.Transport['xhr-multipart'].check(), modern.Transport['xhr-multipart'].xdomainCheck()], [true, true]);
      const old = load({ window: true, XMLHttpRequest: XHR1, navigator: { userAgent: 'MSIE 8.0' } }).io;
      assert.equal(old.Transport['xhr-multipart'].check(), false);
      assert.equal(old.Transport['xhr-multipart'].xdomainCheck(), false, 'never through XDomainRequest');
      const activeX = load({ window: true, ActiveXObject: function () {}, navigator: { userAgent: 'MSIE 6.0' } }).io;
      assert.equal(activeX.Transport['xhr-multipart'].check(), false, 'never through ActiveX');
      const presto = load({ window: true, XMLHttpRequest: XHR2, navigator: { userAgent: 'Opera/9.80 Presto/2.12' } }).io;
      assert.equal(presto.Transport['xhr-multipart'].check(), false);
    });

    test('flashsocket only with a Flash WebSocket shim on the page', () => {
      const shim = function () {};
      shim.__initialize = () => {};
      shim.__addTask = () => {};
      const ctx = load({ window: true, WebSocket: shim });
      assert.equal(ctx.io.Transport.flashsocket.check(), true);
      assert.equal(ctx.io.Transport.websocket.check(), false, 'the shim is not a native WebSocket');
      const native = load({ window: true, WebSocket: function () {} });
      assert.equal(native.io.Transport.websocket.check(), true);
      assert.equal(native.io.Transport.flashsocket.check(), false);
    });
  });

  describe('packet codec (docs/protocol.md §3)', () => {
    const { io } = load();
    const { encodePacket, decodePacket, encodePayload, decodePayload } = io.parser;

    test('encodes as docs/protocol.md writes it', () => {
      const cases = [
        [{ type: 'disconnect', endpoint: '' }, '0::'],
        [{ type: 'disconnect', endpoint: '/chat' }, '0::/chat'],
        [{ type: 'connect', endpoint: '/chat' }, '1::/chat'],
        [{ type: 'connect', endpoint: '/chat', qs: '?a=b' }, '1::/chat:?a=b'],
        [{ type: 'heartbeat' }, '2::'],
        [{ type: 'message', data: 'hi' }, '3:::hi'],
        [{ type: 'message', data: 'hi', id: 1, ack: true }, '3:1::hi'],
        [{ type: 'json', data: { a: 1 } }, '4:::{"a":1}'],
        [{ type: 'event', name: 'ev', args: [] }, '5:::{"name":"ev"}'],
        [{ type: 'event', name: 'ev', args: [1, 'x'] }, '5:::{"name":"ev","args":[1,"x"]}'],
        [{ type: 'event', name: 'ev', args: [1], id: 2, ack: 'data' }, '5:2+::{"name":"ev","args":[1]}'],
        [{ type: 'event', name: 'q', args: [1, { x: [true, null] }], id: 2, ack: 'data', endpoint: '/chat' }, '5:2+:/chat:{"name":"q","args":[1,{"x":[true,null]}]}'],
        [{ type: 'ack', ackId: 4 }, '6:::4'],
        [{ type: 'ack', ackId: 4, args: ['A', { b: 1 }] }, '6:::4+["A",{"b":1}]'],
        [{ type: 'ack', ackId: 3, args: ['z'], endpoint: '/chat' }, '6::/chat:3+["z"]'],
        [{ type: 'error', reason: 'client not handshaken', advice: 'reconnect' }, '7:::1+0'],
        [{ type: 'error', reason: 'unauthorized', endpoint: '/chat' }, '7::/chat:2'],
        [{ type: 'noop' }, '8::'],
      ];
      for (const [packet, text] of cases) assert.equal(encodePacket(packet), text, JSON.stringify(packet));
    });

    test('decodes the examples of docs/protocol.md', () => {
      const d = (text) => plain(decodePacket(text));
      assert.deepEqual(d('3::'), { type: 'message', endpoint: '', data: '' });
      assert.deepEqual(d('3:::'), { type: 'message', endpoint: '', data: '' });
      assert.deepEqual(d('3:::a:b\nc'), { type: 'message', endpoint: '', data: 'a:b\nc' });
      assert.deepEqual(d('3:5::x'), { type: 'message', endpoint: '', id: '5', ack: true, data: 'x' });
      assert.deepEqual(d('3:2+:/chat:hi'), { type: 'message', endpoint: '/chat', id: '2', ack: 'data', data: 'hi' });
      assert.deepEqual(d('4:::{"a":1}'), { type: 'json', endpoint: '', data: { a: 1 } });
      assert.deepEqual(d('5:::{"name":"ping"}'), { type: 'event', endpoint: '', name: 'ping', args: [] });
      assert.deepEqual(d('5:7+::{"name":"q","args":[1]}'), { type: 'event', endpoint: '', id: '7', ack: 'data', name: 'q', args: [1] });
      assert.deepEqual(d('5:::{bad json'), { type: 'event', endpoint: '', args: [] });
      assert.deepEqual(d('6:::4'), { type: 'ack', endpoint: '', ackId: '4', args: [] });
      assert.deepEqual(d('6:::1+["é😀"]'), { type: 'ack', endpoint: '', ackId: '1', args: ['é😀'] });
      assert.deepEqual(d('6::/chat:3+["z"]'), { type: 'ack', endpoint: '/chat', ackId: '3', args: ['z'] });
      assert.deepEqual(d('7:::1+0'), { type: 'error', endpoint: '', reason: 'client not handshaken', advice: 'reconnect' });
      assert.deepEqual(d('7::/chat:2'), { type: 'error', endpoint: '/chat', reason: 'unauthorized', advice: '' });
      assert.deepEqual(d('1::/test:?my=param'), { type: 'connect', endpoint: '/test', qs: '?my=param' });
      assert.deepEqual(d('2::'), { type: 'heartbeat', endpoint: '' });
      assert.deepEqual(d('8::'), { type: 'noop', endpoint: '' });
      for (const junk of ['10::', ' 5::', 'hello', '9:::x', '0', '', 'constructor::']) assert.deepEqual(d(junk), {}, junk);
    });

    test('payload framing with lengths in UTF-16 code units', () => {
      const packets = ['5:::{"name":"a","args":[1]}', '5:::{"name":"b","args":["é€😀"]}', '3:::x'];
      const framed = '\ufffd27\ufffd5:::{"name":"a","args":[1]}\ufffd32\ufffd5:::{"name":"b","args":["é€😀"]}\ufffd5\ufffd3:::x';
      assert.equal(encodePayload(packets), framed, 'the verified example of §3.9');
      assert.equal(encodePayload(['3:::x']), '3:::x', 'one packet is sent bare');
      const decoded = plain(decodePayload(framed));
      assert.deepEqual(decoded.map((p) => p.name || p.data), ['a', 'b', 'x']);
      assert.deepEqual(decoded[1].args, ['é€😀']);
      // U+FFFD inside a packet is skipped over by its length.
      assert.deepEqual(plain(decodePayload(encodePayload(['3:::a\ufffdb', '3:::c']))).map((p) => p.data), ['a\ufffdb', 'c']);
      // Broken framing: nothing is delivered.
      for (const bad of ['\ufffd5\ufffd3:::hi there', '\ufffd99\ufffd3:::x', '\ufffdx\ufffd3:::x', '\ufffd5\ufffd3:::x\ufffd', '\ufffd5']) {
        assert.deepEqual(plain(decodePayload(bad)), [], JSON.stringify(bad));
      }
    });
  });

  describe('JSON fallback (no window.JSON)', () => {
    const ctx = load({ JSON: undefined });

    test('is used when JSON is missing', () => {
      assert.equal(ctx.io.JSON, ctx.io.util.json);
      const native = load();
      assert.equal(native.io.JSON, vm.runInContext('JSON', native), 'the native object otherwise');
    });

    const { stringify, parse } = ctx.io.util.json;

    test('stringify matches the native JSON', () => {
      const values = [
        null,
        true,
        0,
        -1.5e-7,
        1e21,
        'plain',
        'quote " backslash \\ slash / newline \n tab \t nul \u0000 \u001f del \u007f',
        'é€😀 \u2028\u2029',
        [],
        [1, 'two', null, [3, { four: 4 }]],
        {},
        { a: 1, b: [true, false], c: { d: 'e' }, 'key "q"': 'v' },
        { skip: undefined, fn() {}, keep: 1 },
        [undefined, () => {}],
        new Date(Date.UTC(2020, 1, 3, 4, 5, 6, 7)),
        NaN,
        Infinity,
        { toJSON: () => 'custom' },
      ];
      for (const value of values) {
        assert.equal(stringify(value), JSON.stringify(value), `${String(value)}`);
      }
      assert.equal(stringify(undefined), undefined);
      const cyclic = {};
      cyclic.self = cyclic;
      assert.throws(() => stringify(cyclic), /circular/);
    });

    test('parse matches the native JSON and refuses what it refuses', () => {
      const texts = [
        'null',
        ' true ',
        '[1,-2.5e3,0.5,"a\\"b\\\\c\\/d\\u00e9\\ud83d\\ude00",{"x":[]}]',
        '{"name":"b","args":["é€😀"]}',
        '{"a":{"b":{"c":[null,false]}},"":1}',
        '"\\b\\f\\n\\r\\t"',
        '  {"k" : [ 1 , 2 ] }  ',
      ];
      for (const text of texts) assert.deepEqual(plain(parse(text)), JSON.parse(text), text);
      for (const text of ['', '{a:1}', '[1,]', '{"a":1,}', '01', '1.', '"\u0001"', '"abc', 'tru', 'nul', '[1] 2', "'x'", '"\\x41"', '{"a" 1}']) {
        assert.throws(() => JSON.parse(text), SyntaxError, `native refuses ${JSON.stringify(text)}`);
        assert.throws(() => parse(text), /JSON\.parse/, `fallback refuses ${JSON.stringify(text)}`);
      }
    });

    test('the codec works through the fallback', () => {
      const { encodePacket, decodePacket } = ctx.io.parser;
      assert.equal(encodePacket({ type: 'event', name: 'ev', args: [1, 'é'] }), '5:::{"name":"ev","args":[1,"é"]}');
      assert.deepEqual(plain(decodePacket('5:1+::{"name":"q","args":[{"a":[1]}]}').args), [{ a: [1] }]);
    });
  });

  describe('xhr-multipart stream reader (docs/protocol.md §5.6)', () => {
    const { io } = load();
    const Reader = io.Transport['xhr-multipart'].Reader;
    const B = 'socketio-0123456789abcdef';
    const part = (body, eol = '\r\n') => `Content-Type: text/plain; charset=UTF-8${eol}${eol}${body}${eol}--${B}${eol}`;

    /** Feeds `text` to a reader in pieces of `step` characters; the bodies in order, and closed. */
    function readAll(text, step) {
      const reader = new Reader(B);
      const bodies = [];
      for (let i = step; ; i += step) {
        bodies.push(...plain(reader.feed(text.slice(0, Math.min(i, text.length)))));
        if (i >= text.length) break;
      }
      return { bodies, closed: reader.closed };
    }

    test('the boundary comes from the Content-Type header', () => {
      assert.equal(Reader.boundary(`multipart/x-mixed-replace;boundary="${B}"`), B);
      assert.equal(Reader.boundary('multipart/x-mixed-replace; charset=x; boundary=abc'), 'abc');
      assert.equal(Reader.boundary('text/plain; boundary=abc'), '');
      assert.equal(Reader.boundary(null), '');
    });

    test('CRLF parts as ferrio writes them, fed whole or a character at a time', () => {
      const bodies = ['1::', '\ufffd3\ufffd2::\ufffd7\ufffd3:::a\r\nb', '3:::line\n--not the boundary\n--', '', '3:::x'];
      const text = `--${B}\r\n${bodies.map((b) => part(b)).join('')}`;
      for (const step of [text.length, 1, 2, 7, 50]) {
        const got = readAll(text, step);
        assert.deepEqual(got.bodies, bodies, `in pieces of ${step}`);
        assert.equal(got.closed, false);
      }
    });

    test('bare LF delimiters (the 0.6 layout) and the closing delimiter', () => {
      const text = `--${B}\n${part('1::', '\n')}${part('2::', '\n')}Content-Type: text/plain\n\nincomplete`;
      const reader = new Reader(B);
      assert.deepEqual(plain(reader.feed(text)), ['1::', '2::']);
      const closing = `--${B}\r\n${part('1::').slice(0, -2)}--\r\nafter`;
      const r2 = new Reader(B);
      assert.deepEqual(plain(r2.feed(closing)), ['1::']);
      assert.equal(r2.closed, true);
      assert.deepEqual(plain(r2.feed(`${closing}${part('3:::late')}`)), [], 'nothing after the closing delimiter');
      // An unknown session: one part, then the end.
      const r3 = new Reader(B);
      assert.deepEqual(plain(r3.feed(`--${B}\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\n7:::1+0\r\n--${B}--\r\n`)), ['7:::1+0']);
      assert.equal(r3.closed, true);
    });

    test('the boundary inside a line, or followed by other text, is not a delimiter', () => {
      const body = `3:::see --${B} here\r\n--${B}x and --${B}`;
      const reader = new Reader(B);
      assert.deepEqual(plain(reader.feed(`--${B}\r\n${part(body)}`)), [body]);
      // A delimiter split at its end waits for the line end before it counts.
      const r2 = new Reader(B);
      const text = `--${B}\r\n${part('1::')}Content-Type: text/plain\r\n\r\n2::\r\n--${B}`;
      assert.deepEqual(plain(r2.feed(text)), ['1::']);
      assert.deepEqual(plain(r2.feed(`${text}-`)), []);
      assert.deepEqual(plain(r2.feed(`${text}--`)), ['2::']);
      assert.equal(r2.closed, true);
    });
  });

  describe('namespaces', () => {
    /** A namespace on a fake socket that records the packets it is given. */
    function namespace(name = '') {
      const { io } = load();
      const sent = [];
      const socket = { packet: (p) => sent.push(io.parser.encodePacket(p)), onError() {}, onDisconnect() {} };
      const nsp = new io.SocketNamespace(socket, name);
      return { io, nsp, sent };
    }

    test('emit and send: ids per namespace, + only for emit', () => {
      const { nsp, sent } = namespace('/chat');
      nsp.emit('a');
      nsp.emit('b', 1, () => {});
      nsp.send('hi', () => {});
      nsp.json.send({ x: 1 });
      nsp.send('plain');
      assert.deepEqual(sent, ['5::/chat:{"name":"a"}', '5:1+:/chat:{"name":"b","args":[1]}', '3:2:/chat:hi', '4::/chat:{"x":1}', '3::/chat:plain']);
    });

    test('acks: the callback runs once with the ack arguments', () => {
      const { io, nsp } = namespace();
      const calls = [];
      nsp.emit('q', (...args) => calls.push(args));
      nsp.onPacket(io.parser.decodePacket('6:::1+["r",2]'));
      nsp.onPacket(io.parser.decodePacket('6:::1+["again"]'));
      nsp.onPacket(io.parser.decodePacket('6:::99'));
      assert.deepEqual(plain(calls), [['r', 2]]);
    });

    test('incoming ids without + are acked before dispatch, for messages, JSON and events', () => {
      const { io, nsp, sent } = namespace('/n');
      const seen = [];
      nsp.on('message', (data) => seen.push(['message', plain(data), sent.length]));
      nsp.on('ev', (...args) => seen.push(['ev', plain(args), sent.length]));
      nsp.onPacket(io.parser.decodePacket('3:4:/n:x'));
      nsp.onPacket(io.parser.decodePacket('4:5:/n:{"a":1}'));
      nsp.onPacket(io.parser.decodePacket('5:6:/n:{"name":"ev","args":[1]}'));
      assert.deepEqual(sent, ['6::/n:4', '6::/n:5', '6::/n:6']);
      // Each handler ran after its ack had been sent, and got no ack function.
      assert.deepEqual(seen, [
        ['message', 'x', 1],
        ['message', { a: 1 }, 2],
        ['ev', [1], 3],
      ]);
    });

    test('incoming id+ gives the handler an ack function, used once', () => {
      const { io, nsp, sent } = namespace();
      nsp.on('q', (n, ack) => {
        ack('A', { b: n });
        ack('twice');
      });
      nsp.on('message', (text, ack) => ack());
      nsp.onPacket(io.parser.decodePacket('5:7+::{"name":"q","args":[1]}'));
      nsp.onPacket(io.parser.decodePacket('3:8+::hello'));
      nsp.onPacket(io.parser.decodePacket('5:9+::{"name":"nobody"}'));
      assert.deepEqual(sent, ['6:::7+["A",{"b":1}]', '6:::8']);
    });

    test('error packets: unauthorized → connect_failed, others → error, advice → the socket', () => {
      const { io, nsp } = namespace('/chat');
      const events = [];
      nsp.on('connect_failed', (r) => events.push(['connect_failed', r]));
      nsp.on('error', (r) => events.push(['error', r]));
      let toSocket = null;
      nsp.socket.onError = (p) => {
        toSocket = plain(p);
      };
      nsp.onPacket(io.parser.decodePacket('7::/chat:2'));
      nsp.onPacket(io.parser.decodePacket('7::/chat:0'));
      nsp.onPacket(io.parser.decodePacket('7::/chat:1+0'));
      assert.deepEqual(events, [['connect_failed', 'unauthorized'], ['error', 'transport not supported']]);
      assert.equal(toSocket.advice, 'reconnect');
    });

    test('once and removeListener', () => {
      const { nsp } = namespace();
      const calls = [];
      const f = (x) => calls.push(['f', x]);
      nsp.once('e', f);
      nsp.on('e', (x) => calls.push(['g', x]));
      nsp.$emit('e', 1);
      nsp.$emit('e', 2);
      const h = () => calls.push(['h']);
      nsp.once('k', h);
      nsp.removeListener('k', h);
      nsp.$emit('k');
      nsp.$emit('toString');
      assert.deepEqual(calls, [['f', 1], ['g', 1], ['g', 2]]);
    });
  });

  describe('io.connect in a page', () => {
    const page = () =>
      load({
        window: true,
        location: { protocol: 'http:', hostname: 'example.com', port: '8080', href: 'http://example.com:8080/app' },
      });

    test('host, port and scheme come from the page when the URL lacks them', () => {
      const { io } = page();
      const nsp = io.connect('/chat', { 'auto connect': false });
      const o = nsp.socket.options;
      assert.deepEqual([o.host, o.port, o.secure, o.resource, nsp.name], ['example.com', '8080', false, 'socket.io', '/chat']);
      assert.equal(nsp.socket.isXDomain(), false);
      assert.equal(nsp.socket.baseUrl(), 'http://example.com:8080/socket.io/1');
      // Same host: the same connection, another namespace (1::/news queued at creation).
      const news = io.connect('http://example.com:8080/news', { 'auto connect': false });
      assert.equal(news.socket, nsp.socket);
      assert.deepEqual(plain(nsp.socket.buffer).map((p) => `${p.type} ${p.endpoint}`), ['connect /chat', 'connect /news']);
      assert.deepEqual(Object.keys(io.sockets), ['http://example.com:8080']);
    });

    test('another host: its own port default, query, options, force new connection', () => {
      const { io } = page();
      const a = io.connect('https://other.org/?token=abc', { 'auto connect': false, resource: '/custom/', transports: ['xhr-polling'] });
      const o = a.socket.options;
      assert.deepEqual([o.host, o.port, o.secure, o.query, o.resource], ['other.org', 443, true, 'token=abc', 'custom']);
      assert.deepEqual(plain(o.transports), ['xhr-polling']);
      assert.deepEqual(plain(io.transports).length, 6, 'the global list is untouched');
      assert.equal(a.socket.isXDomain(), true);
      const b = io.connect('http://other.org', { 'auto connect': false });
      assert.equal(b.socket.options.port, 80);
      const c = io.connect('http://other.org', { 'auto connect': false, 'force new connection': true });
      assert.notEqual(c.socket, b.socket);
      assert.deepEqual(Object.keys(io.sockets).sort(), ['http://other.org:80', 'https://other.org:443']);
      assert.equal(io.util.query('token=abc&flag', 't=1'), '?token=abc&flag&t=1');
      assert.equal(io.util.query('', ''), '');
    });

    test('the intersection keeps the client order and skips unknown names', () => {
      const { io } = page();
      const s = io.connect('/', { 'auto connect': false }).socket;
      assert.deepEqual(plain(s.intersect(['jsonp-polling', 'xhr-polling', 'websocket', 'bogus'])), ['websocket', 'xhr-polling', 'jsonp-polling']);
      assert.deepEqual(plain(s.intersect([])), plain(io.transports));
    });
  });

  describe('reconnection jitter', () => {
    const { io } = load();

    test('each wait is the nominal delay times a factor in [0.5, 1.0]', () => {
      const s = new io.Socket({ 'auto connect': false });
      const waits = Array.from({ length: 500 }, () => s.jitter(1000));
      assert.ok(waits.every((w) => Number.isInteger(w) && w >= 500 && w <= 1000), 'within bounds');
      assert.ok(Math.min(...waits) < 600 && Math.max(...waits) > 900, 'spread over the range');
      const none = new io.Socket({ 'auto connect': false, 'reconnection jitter': 0 });
      assert.equal(none.jitter(1000), 1000);
    });
  });
});
