/*!
 * ferrio browser client: the Socket.IO 0.9 wire protocol ("protocol 1") with the API of
 * socket.io-client 0.9.17 (io.connect, namespaces, emit/ack, reconnection).
 *
 * Written in ECMAScript 3 so that IE6-era engines parse it: no ES5 built-ins (a JSON fallback
 * is included), no trailing commas, no reserved words as property names, ASCII source only.
 *
 * DESIGN NOTES (where this client deliberately differs from socket.io-client 0.9.17)
 *
 * 1. Transport order and selection. io.transports is
 *      websocket, flashsocket, xhr-polling, xhr-multipart, htmlfile, jsonp-polling
 *    and is intersected with the handshake's list keeping THIS order; names the client does
 *    not know, and transports whose check fails in this browser (design note 6), are
 *    skipped. The `transports` option REPLACES the list (the reference merged it into the
 *    global array, docs/protocol.md section 8 #17).
 *
 * 2. Fallback on refusal. A transport that fails before the session is connected (WebSocket
 *    error/close before `1::`, an XHR poll or multipart stream that errors or answers non-200
 *    before `1::`, a JSONP script that fails to load, an htmlfile iframe that finishes
 *    loading without a single `_()` call, an htmlfile that cannot open a POST, a WebSocket
 *    constructor or XHR open() that throws) moves on to the next transport AT ONCE instead of
 *    waiting out `connect timeout`. The next transport reuses the SAME session id when
 *      - the failed transport never reached the server (no WebSocket `open`, no poll
 *        answered), so the server never attached it to the session, and
 *      - the handshake is younger than 15 s (half the server's 30 s expiry of unused ids);
 *    otherwise the client makes a NEW handshake and goes on with the remaining transports.
 *    `connect timeout` still covers transports that hang (same rules for the session id);
 *    the transport that timed out is closed instead of being left open.
 *    Each fallback drops the failed transport from the stored list (like the reference), so
 *    reconnections start with the transport that worked; the final all-transports try of
 *    the reconnection algorithm starts over with the full list.
 *
 * 3. Reconnection with jitter. The algorithm is the reference's (docs/protocol.md section 6.7): the nominal
 *    delay starts at `reconnection delay`, doubles per attempt and is capped at
 *    `reconnection limit`; after `max reconnection attempts` one final try with all
 *    transports, then `reconnect_failed`. Every WAIT is the nominal delay multiplied by a
 *    random factor in [1 - j, 1], where j is the option `reconnection jitter` (default
 *    0.5, so the factor is in [0.5, 1.0]; 0 turns jitter off). Waits are therefore never
 *    longer than the reference's, and many clients dropped at once by a server restart come
 *    back spread over half of each window instead of all together.
 *    `reconnecting(delay, attempt)` reports the real wait in ms (an integer) that this
 *    attempt gets before the next check, i.e. what a countdown in the page should show;
 *    the nominal, un-jittered value is `socket.socket.reconnectionDelay`.
 *    Unlike the reference, the final try also ends in `reconnect_failed` when its handshake
 *    fails (server gone), and a handshake that hangs is abandoned after `connect timeout`.
 *
 * 4. Other fixes: a 403 handshake resets the state and fires `error` (no stuck
 *    "connecting", section 8 #20); incoming packets with an id but no `+` are acknowledged
 *    automatically for types 3, 4 AND 5 before dispatch (section 8 #18); emits made while
 *    not connected are buffered and flushed in order after (re)connect, after the `1::/ns`
 *    re-joins; a POST is never overtaken by the next one (one data POST in flight, heartbeat
 *    replies go out at once); packets still queued in a dying transport go back to the
 *    buffer; `disconnect()` also stops a running reconnection; `io.connect()` on a cached
 *    connection that was disconnected connects it again; a payload whose framing does not
 *    add up is dropped whole; a namespace left with `disconnect()` is not re-joined.
 *
 * 5. `sync disconnect on unload` sends GET /{resource}/1//{sid}/?disconnect=1 on
 *    beforeunload, and again on pagehide (unload where pagehide does not exist) if the first
 *    did not happen. Browsers that have `fetch` refuse synchronous XHR while a page
 *    is being dismissed (Chromium since version 80), so there the same GET goes out as a
 *    `fetch` with `keepalive: true`; older browsers get the synchronous XHR. An open
 *    WebSocket also gets `0::` first, so the server ends the session as `booted` whichever
 *    arrives first.
 *
 * 6. Legacy transports (docs/protocol.md sections 5.3, 5.5, 5.6), each a section below sharing the Polling base:
 *    - jsonp-polling: <script> GETs calling io.j[k], form POSTs into hidden iframes. Needs
 *      nothing but a document and works across origins without CORS.
 *    - htmlfile: the server's document calls `parent.s._(p, document)`, a name fixed by the
 *      server's prelude. The streaming iframe is therefore never a child of the page itself:
 *      it lives inside a private container (IE: the ActiveX `htmlfile` document, as in the
 *      reference; elsewhere a hidden same-origin blank iframe), and `s` is set on THAT
 *      container's window only. Each connection has its own container, so several htmlfile
 *      connections on one page never share `s`, and the page's own global `s` is untouched.
 *      `\/` in the data is kept as it is (the reference turned it into `/`, section 8 #19).
 *      A streaming transport that cannot POST could never answer a heartbeat, so htmlfile
 *      refuses at once (and the next transport is tried) when no XHR POST can be opened.
 *    - xhr-multipart (ferrio's extension): one XHR GET read while it loads (readyState 3 /
 *      progress), split on the boundary of its Content-Type header; offered only where the
 *      browser has an XMLHttpRequest with progress events (XHR level 2), never through
 *      XDomainRequest or ActiveX, which cannot read a response before it ends. A stream that
 *      ends with its closing delimiter is followed by a new GET on the same session.
 *    The handshake uses JSONP (docs/protocol.md section 2.4) not only across origins without CORS but also when
 *    no XHR can be opened at all (IE with ActiveX disabled), so jsonp-polling is reachable.
 */

(function (global) {

  // =========================================================================================
  // The io object
  // =========================================================================================

  var io = {};

  /** API version this client is compatible with (socket.io-client 0.9.17). */
  io.version = '0.9.17';

  /** Name and version of this implementation. */
  io.client = 'ferrio 0.1.0';

  /** Protocol number, the `1` in /socket.io/1/. */
  io.protocol = 1;

  /** Transport names in the order they are tried (design note 1). */
  io.transports = ['websocket', 'flashsocket', 'xhr-polling', 'xhr-multipart', 'htmlfile', 'jsonp-polling'];

  /** JSONP callbacks: the server calls io.j[k](data) (handshake `&jsonp=k`, jsonp-polling). */
  io.j = [];

  /** Connections shared by io.connect, keyed by scheme://host:port. */
  io.sockets = {};

  // =========================================================================================
  // Utilities
  // =========================================================================================

  var util = io.util = {};

  function noop() {}

  function hasOwn(obj, key) {
    return Object.prototype.hasOwnProperty.call(obj, key);
  }

  util.noop = noop;
  util.hasOwn = hasOwn;

  /** Milliseconds since the epoch (Date.now is ES5). */
  util.now = function () {
    return new Date().getTime();
  };

  util.isArray = function (obj) {
    return Object.prototype.toString.call(obj) === '[object Array]';
  };

  /** Position of `item` in an array, or -1 (Array.prototype.indexOf is ES5). */
  util.indexOf = function (arr, item) {
    for (var i = 0, l = arr.length; i < l; i++) {
      if (arr[i] === item) {
        return i;
      }
    }
    return -1;
  };

  var stringIndexOf = String.prototype.indexOf;

  /**
   * Position of `what` in the string `text` from `from`, or -1 (String.prototype.indexOf is
   * ES3; the call goes through here so that the ES3 checker can ban indexOf on arrays).
   */
  util.find = function (text, what, from) {
    return stringIndexOf.call(text, what, from || 0);
  };

  /** A real array from an array-like (arguments), starting at `from`. */
  util.toArray = function (list, from) {
    var out = [];
    for (var i = from || 0, l = list.length; i < l; i++) {
      out.push(list[i]);
    }
    return out;
  };

  /** Shallow copy of the own properties of `additional` onto `target`. */
  util.merge = function (target, additional) {
    if (additional) {
      for (var key in additional) {
        if (hasOwn(additional, key)) {
          target[key] = additional[key];
        }
      }
    }
    return target;
  };

  /** Prototype inheritance without calling the parent constructor. */
  util.inherit = function (Child, Parent) {
    function Proto() {}
    Proto.prototype = Parent.prototype;
    Child.prototype = new Proto();
    Child.prototype.constructor = Child;
  };

  /** Copies the methods of Mixin.prototype onto Ctor.prototype. */
  util.mixin = function (Ctor, Mixin) {
    util.merge(Ctor.prototype, Mixin.prototype);
  };

  /** addEventListener, or attachEvent for old IE. */
  util.on = function (element, event, fn, capture) {
    if (element.addEventListener) {
      element.addEventListener(event, fn, !!capture);
    } else if (element.attachEvent) {
      element.attachEvent('on' + event, fn);
    }
  };

  util.off = function (element, event, fn, capture) {
    if (element.removeEventListener) {
      element.removeEventListener(event, fn, !!capture);
    } else if (element.detachEvent) {
      element.detachEvent('on' + event, fn);
    }
  };

  // parseUri (Steven Levithan, MIT), as in socket.io-client.
  var uriRe = /^(?:(?![^:@]+:[^:@\/]*@)([^:\/?#.]+):)?(?:\/\/)?((?:(([^:@]*)(?::([^:@]*))?)?@)?([^:\/?#]*)(?::(\d*))?)(((\/(?:[^?#](?![^?#\/]*\.[^?#\/.]+(?:[?#]|$)))*\/?)?([^?#\/]*))(?:\?([^#]*))?(?:#(.*))?)/;
  var uriParts = ['source', 'protocol', 'authority', 'userInfo', 'user', 'password', 'host',
    'port', 'relative', 'path', 'directory', 'file', 'query', 'anchor'];

  /** Splits a URL into the parts named in uriParts (missing parts are ''). */
  util.parseUri = function (str) {
    var m = uriRe.exec(str || '') || [];
    var uri = {};
    for (var i = 0; i < uriParts.length; i++) {
      uri[uriParts[i]] = m[i] || '';
    }
    return uri;
  };

  /** The io.sockets cache key of a parsed URI: scheme://host:port. */
  util.uniqueUri = function (uri) {
    return (uri.protocol || 'http') + '://' + uri.host + ':' + (uri.port || (uri.protocol === 'https' ? 443 : 80));
  };

  /** Splits 'a=1&b' into { a: '1', b: undefined }, keeping raw (still encoded) text. */
  util.chunkQuery = function (qs) {
    var query = {};
    var params = String(qs || '').split('&');
    for (var i = 0; i < params.length; i++) {
      var param = params[i];
      if (param) {
        var eq = param.search(/=/);
        if (eq < 0) {
          query[param] = undefined;
        } else if (eq > 0) {
          query[param.substring(0, eq)] = param.substring(eq + 1);
        }
      }
    }
    return query;
  };

  /**
   * '?' + the query `base` with the keys of `addition` added or replaced, or '' when both are
   * empty. A key without value stays without value (the reference wrote 'key=undefined').
   */
  util.query = function (base, addition) {
    var query = util.merge(util.chunkQuery(base), util.chunkQuery(addition));
    var components = [];
    for (var key in query) {
      if (hasOwn(query, key)) {
        components.push(query[key] === undefined ? key : key + '=' + query[key]);
      }
    }
    return components.length ? '?' + components.join('&') : '';
  };

  /** A query string from an object (option `query` given as { k: v }). */
  util.encodeQuery = function (obj) {
    if (obj === null || obj === undefined) {
      return '';
    }
    if (typeof obj !== 'object') {
      return String(obj).replace(/^\?/, '');
    }
    var parts = [];
    for (var key in obj) {
      if (hasOwn(obj, key)) {
        parts.push(encodeURIComponent(key) + '=' + encodeURIComponent(obj[key] === null || obj[key] === undefined ? '' : obj[key]));
      }
    }
    return parts.join('&');
  };

  var pageLoaded = false;

  /** Runs fn once the page has loaded (at once when it already has). */
  util.load = function (fn) {
    var doc = global.document;
    if (pageLoaded || (doc && doc.readyState === 'complete')) {
      return fn();
    }
    var done = false;
    function once() {
      if (!done) {
        done = true;
        fn();
      }
    }
    util.on(global, 'load', once, false);
  };

  if (global.document) {
    util.on(global, 'load', function () {
      pageLoaded = true;
    }, false);
  }

  // Feature and browser detection.
  var nav = global.navigator;
  var userAgent = nav && nav.userAgent ? nav.userAgent : '';

  util.ua = {};

  /** A native XMLHttpRequest that can do CORS (it has withCredentials). */
  util.ua.hasCORS = (function () {
    if (typeof global.XMLHttpRequest === 'undefined') {
      return false;
    }
    try {
      var probe = new global.XMLHttpRequest();
      return probe.withCredentials !== undefined;
    } catch (e) {
      return false;
    }
  }());

  util.ua.webkit = /webkit/i.test(userAgent);
  util.ua.iDevice = /iPad|iPhone|iPod/i.test(userAgent);

  /**
   * In WebKit a request started before the page's load event keeps the loading indicator
   * spinning, so the first poll waits for load + 100 ms there (as the reference does, but
   * without the wait once the page has already loaded).
   */
  util.defer = function (fn) {
    var doc = global.document;
    if (!util.ua.webkit || !doc || pageLoaded || doc.readyState === 'complete') {
      return fn();
    }
    util.load(function () {
      setTimeout(fn, 100);
    });
  };

  /**
   * A request object: XMLHttpRequest (with CORS when `xdomain`), else XDomainRequest for a
   * cross-domain request on IE 8/9, else the ActiveX object of IE 6 (same-domain only).
   * null when none is available.
   */
  util.request = function (xdomain) {
    if (xdomain && typeof global.XDomainRequest !== 'undefined' && !util.ua.hasCORS) {
      return new global.XDomainRequest();
    }
    if (typeof global.XMLHttpRequest !== 'undefined' && (!xdomain || util.ua.hasCORS)) {
      return new global.XMLHttpRequest();
    }
    if (!xdomain && typeof global.ActiveXObject !== 'undefined') {
      var names = ['Msxml2.XMLHTTP', 'Microsoft.XMLHTTP'];
      for (var i = 0; i < names.length; i++) {
        try {
          return new global.ActiveXObject(names[i]);
        } catch (e) {
          // try the next one
        }
      }
    }
    return null;
  };

  /** True for an IE 8/9 XDomainRequest (no status, no headers, no credentials). */
  util.isXDR = function (req) {
    return typeof global.XDomainRequest !== 'undefined' && req instanceof global.XDomainRequest;
  };

  /**
   * Watches a request until it completes; calls done(null, text) for a 200 answer, else
   * done(reason). With XDomainRequest there is no status: load counts as success.
   */
  util.watch = function (req, done) {
    var finished = false;
    function finish(err, text, status) {
      if (!finished) {
        finished = true;
        done(err, text, status);
      }
    }
    if (util.isXDR(req)) {
      req.onload = function () {
        finish(null, req.responseText);
      };
      req.onerror = req.ontimeout = function () {
        finish('error');
      };
      req.onprogress = noop; // IE9 aborts requests without this handler
      return;
    }
    req.onreadystatechange = function () {
      if (req.readyState !== 4) {
        return;
      }
      req.onreadystatechange = noop;
      var status = 0;
      try {
        status = req.status;
      } catch (e) {
        status = 0;
      }
      if (status === 200) {
        finish(null, req.responseText);
      } else {
        var text = '';
        try {
          text = req.responseText;
        } catch (e2) {
          text = '';
        }
        finish(status ? 'status ' + status : 'network error', text, status);
      }
    };
  };

  /** Aborts a request without firing its handlers. */
  util.abort = function (req) {
    if (!req) {
      return;
    }
    try {
      req.onreadystatechange = noop;
      req.onload = req.onerror = req.ontimeout = noop;
    } catch (e) {
      // old IE refuses some of these
    }
    try {
      req.abort();
    } catch (e2) {
      // already finished
    }
  };

  /** Removes a DOM node from its parent, if it has one. */
  util.removeNode = function (node) {
    if (node && node.parentNode) {
      node.parentNode.removeChild(node);
    }
  };

  /** Inserts a script element before the first script of `doc` (else into head or root). */
  util.insertScript = function (doc, script) {
    var first = doc.getElementsByTagName('script')[0];
    if (first && first.parentNode) {
      first.parentNode.insertBefore(script, first);
    } else {
      (doc.getElementsByTagName('head')[0] || doc.documentElement).appendChild(script);
    }
  };

  /** Keeps an element out of sight (and out of the layout) without display:none. */
  util.hide = function (element) {
    var style = element.style;
    style.position = 'absolute';
    style.top = style.left = '-10000px';
    style.width = style.height = '1px';
    style.visibility = 'hidden';
  };

  /** An element named `name` (old IE ignores `name` set after creation on iframes). */
  util.namedElement = function (doc, tag, name) {
    var element;
    try {
      element = doc.createElement('<' + tag + ' name="' + name + '">');
    } catch (e) {
      element = null;
    }
    if (!element || String(element.nodeName).toLowerCase() !== tag) {
      element = doc.createElement(tag);
      element.name = name;
    }
    return element;
  };

  /** The name of the event that ends a page: pagehide where it exists, else unload. */
  util.pageEnd = function () {
    return 'onpagehide' in global ? 'pagehide' : 'unload';
  };

  // =========================================================================================
  // JSON (native when the browser has it, else the fallback below)
  // =========================================================================================

  // BEGIN JSON GUARD: the only place where the native JSON object is touched.
  (function () {
    var escapeRe = /[\\"\x00-\x1f]/g;
    var meta = { '\b': '\\b', '\t': '\\t', '\n': '\\n', '\f': '\\f', '\r': '\\r', '"': '\\"', '\\': '\\\\' };

    function quote(text) {
      return '"' + text.replace(escapeRe, function (c) {
        var m = meta[c];
        if (m) {
          return m;
        }
        var hex = c.charCodeAt(0).toString(16);
        return '\\u' + '0000'.substring(hex.length) + hex;
      }) + '"';
    }

    function pad(n, width) {
      var s = String(n);
      while (s.length < width) {
        s = '0' + s;
      }
      return s;
    }

    function isoDate(d) {
      if (!isFinite(d.getTime())) {
        return null;
      }
      return d.getUTCFullYear() + '-' + pad(d.getUTCMonth() + 1, 2) + '-' + pad(d.getUTCDate(), 2) +
        'T' + pad(d.getUTCHours(), 2) + ':' + pad(d.getUTCMinutes(), 2) + ':' + pad(d.getUTCSeconds(), 2) +
        '.' + pad(d.getUTCMilliseconds(), 3) + 'Z';
    }

    // Serialises `value`; undefined for values JSON has no text for (undefined, functions).
    function str(value, stack) {
      if (value && typeof value === 'object') {
        if (value instanceof Date) {
          value = isoDate(value);
        } else if (typeof value.toJSON === 'function') {
          value = value.toJSON();
        }
      }
      if (value instanceof Number || value instanceof String || value instanceof Boolean) {
        value = value.valueOf();
      }
      switch (typeof value) {
        case 'string':
          return quote(value);
        case 'number':
          return isFinite(value) ? String(value) : 'null';
        case 'boolean':
          return String(value);
        case 'object':
          if (value === null) {
            return 'null';
          }
          for (var s = 0; s < stack.length; s++) {
            if (stack[s] === value) {
              throw new TypeError('Converting circular structure to JSON');
            }
          }
          stack.push(value);
          var parts = [];
          var i;
          var text;
          if (util.isArray(value)) {
            for (i = 0; i < value.length; i++) {
              text = str(value[i], stack);
              parts.push(text === undefined ? 'null' : text);
            }
            stack.pop();
            return '[' + parts.join(',') + ']';
          }
          for (i in value) {
            if (hasOwn(value, i)) {
              text = str(value[i], stack);
              if (text !== undefined) {
                parts.push(quote(i) + ':' + text);
              }
            }
          }
          stack.pop();
          return '{' + parts.join(',') + '}';
        default:
          return undefined;
      }
    }

    function stringify(value) {
      return str(value, []);
    }

    // A strict recursive-descent parser (no eval).
    function parse(source) {
      var text = String(source);
      var at = 0;
      var numberRe = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+\-]?\d+)?/g;
      var escapes = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };

      function fail(what) {
        throw new SyntaxError('JSON.parse: ' + what + ' at position ' + at);
      }

      function white() {
        var c = text.charAt(at);
        while (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
          at++;
          c = text.charAt(at);
        }
      }

      function string() {
        var out = '';
        var start;
        at++; // opening quote
        for (;;) {
          start = at;
          var c = text.charAt(at);
          while (c !== '"' && c !== '\\' && c !== '') {
            if (c < ' ') {
              fail('control character in string');
            }
            at++;
            c = text.charAt(at);
          }
          out += text.substring(start, at);
          if (c === '"') {
            at++;
            return out;
          }
          if (c === '') {
            fail('unterminated string');
          }
          // backslash
          c = text.charAt(at + 1);
          if (c === 'u') {
            var hex = text.substring(at + 2, at + 6);
            if (!/^[0-9a-fA-F]{4}$/.test(hex)) {
              fail('bad \\u escape');
            }
            out += String.fromCharCode(parseInt(hex, 16));
            at += 6;
          } else if (hasOwn(escapes, c)) {
            out += escapes[c];
            at += 2;
          } else {
            fail('bad escape');
          }
        }
      }

      function number() {
        numberRe.lastIndex = at;
        var m = numberRe.exec(text);
        if (!m || m.index !== at) {
          fail('bad number');
        }
        at += m[0].length;
        return Number(m[0]);
      }

      function word(w, value) {
        if (text.substring(at, at + w.length) !== w) {
          fail('unexpected token');
        }
        at += w.length;
        return value;
      }

      function value() {
        white();
        var c = text.charAt(at);
        var result;
        if (c === '{') {
          result = {};
          at++;
          white();
          if (text.charAt(at) === '}') {
            at++;
            return result;
          }
          for (;;) {
            white();
            if (text.charAt(at) !== '"') {
              fail('expected a key');
            }
            var key = string();
            white();
            if (text.charAt(at) !== ':') {
              fail('expected :');
            }
            at++;
            result[key] = value();
            white();
            c = text.charAt(at);
            at++;
            if (c === '}') {
              return result;
            }
            if (c !== ',') {
              fail('expected , or }');
            }
          }
        }
        if (c === '[') {
          result = [];
          at++;
          white();
          if (text.charAt(at) === ']') {
            at++;
            return result;
          }
          for (;;) {
            result.push(value());
            white();
            c = text.charAt(at);
            at++;
            if (c === ']') {
              return result;
            }
            if (c !== ',') {
              fail('expected , or ]');
            }
          }
        }
        if (c === '"') {
          return string();
        }
        if (c === 't') {
          return word('true', true);
        }
        if (c === 'f') {
          return word('false', false);
        }
        if (c === 'n') {
          return word('null', null);
        }
        return number();
      }

      var result = value();
      white();
      if (at !== text.length) {
        fail('unexpected text after the value');
      }
      return result;
    }

    /** The fallback, always available (tests compare it with the native object). */
    util.json = { stringify: stringify, parse: parse };

    var nativeJSON = global.JSON;
    io.JSON = nativeJSON && typeof nativeJSON.stringify === 'function' && typeof nativeJSON.parse === 'function'
      ? nativeJSON
      : util.json;
  }());
  // END JSON GUARD

  // =========================================================================================
  // EventEmitter
  // =========================================================================================

  function EventEmitter() {}

  io.EventEmitter = EventEmitter;

  EventEmitter.prototype.on = function (name, fn) {
    if (!this.$events) {
      this.$events = {};
    }
    if (!hasOwn(this.$events, name)) {
      this.$events[name] = [];
    }
    this.$events[name].push(fn);
    return this;
  };

  EventEmitter.prototype.addListener = EventEmitter.prototype.on;

  /** Like on(), but the listener is removed before its first call. */
  EventEmitter.prototype.once = function (name, fn) {
    var self = this;
    function on() {
      self.removeListener(name, on);
      fn.apply(this, arguments);
    }
    on.listener = fn;
    return this.on(name, on);
  };

  EventEmitter.prototype.removeListener = function (name, fn) {
    if (this.$events && hasOwn(this.$events, name)) {
      var list = this.$events[name];
      for (var i = 0; i < list.length; i++) {
        if (list[i] === fn || (list[i] && list[i].listener === fn)) {
          list.splice(i, 1);
          break;
        }
      }
      if (!list.length) {
        delete this.$events[name];
      }
    }
    return this;
  };

  EventEmitter.prototype.removeAllListeners = function (name) {
    if (name === undefined) {
      this.$events = {};
    } else if (this.$events && hasOwn(this.$events, name)) {
      delete this.$events[name];
    }
    return this;
  };

  /** The live listener array of `name`. */
  EventEmitter.prototype.listeners = function (name) {
    if (!this.$events) {
      this.$events = {};
    }
    if (!hasOwn(this.$events, name)) {
      this.$events[name] = [];
    }
    return this.$events[name];
  };

  /** Calls the listeners of `name` with the remaining arguments; false if there were none. */
  EventEmitter.prototype.emit = function (name) {
    if (!this.$events || !hasOwn(this.$events, name)) {
      return false;
    }
    var list = this.$events[name].slice(0); // listeners may remove themselves
    var args = util.toArray(arguments, 1);
    for (var i = 0; i < list.length; i++) {
      list[i].apply(this, args);
    }
    return true;
  };

  // =========================================================================================
  // Packet and payload codec (docs/protocol.md section 3)
  // =========================================================================================

  var parser = io.parser = {};

  var packetTypes = parser.packets = ['disconnect', 'connect', 'heartbeat', 'message', 'json', 'event', 'ack', 'error', 'noop'];
  var reasons = parser.reasons = ['transport not supported', 'client not handshaken', 'unauthorized'];
  var advices = parser.advice = ['reconnect'];

  /** Encodes a packet object ({ type, id, ack, endpoint, ... }) as text. */
  parser.encodePacket = function (packet) {
    var type = util.indexOf(packetTypes, packet.type);
    var id = packet.id || '';
    var endpoint = packet.endpoint || '';
    var data = null;

    switch (packet.type) {
      case 'error':
        var reason = packet.reason ? util.indexOf(reasons, packet.reason) : '';
        var adv = packet.advice ? util.indexOf(advices, packet.advice) : '';
        if (reason !== '' || adv !== '') {
          data = reason + (adv !== '' ? '+' + adv : '');
        }
        break;
      case 'message':
        if (packet.data !== '' && packet.data !== undefined && packet.data !== null) {
          data = String(packet.data);
        }
        break;
      case 'event':
        var ev = { name: packet.name };
        if (packet.args && packet.args.length) {
          ev.args = packet.args;
        }
        data = io.JSON.stringify(ev);
        break;
      case 'json':
        data = io.JSON.stringify(packet.data);
        break;
      case 'connect':
        if (packet.qs) {
          data = packet.qs;
        }
        break;
      case 'ack':
        data = packet.ackId + (packet.args && packet.args.length ? '+' + io.JSON.stringify(packet.args) : '');
        break;
    }

    var encoded = [type, id + (packet.ack === 'data' ? '+' : ''), endpoint];
    if (data !== null && data !== undefined) {
      encoded.push(data);
    }
    return encoded.join(':');
  };

  /**
   * Frames encoded packets into one payload: a single packet is sent bare, several as
   * U+FFFD length U+FFFD packet... with lengths in UTF-16 code units (String.length).
   */
  parser.encodePayload = function (packets) {
    if (packets.length === 1) {
      return packets[0];
    }
    var out = '';
    for (var i = 0; i < packets.length; i++) {
      out += '\ufffd' + packets[i].length + '\ufffd' + packets[i];
    }
    return out;
  };

  var packetRe = /([^:]+):([0-9]+)?(\+)?:([^:]+)?:?([\s\S]*)?/;

  /** Decodes one packet; an object without `type` when the text is not a packet. */
  parser.decodePacket = function (text) {
    var pieces = String(text).match(packetRe);
    if (!pieces || !/^[0-8]$/.test(pieces[1])) {
      return {};
    }
    var id = pieces[2] || '';
    var data = pieces[5] || '';
    var packet = {
      type: packetTypes[Number(pieces[1])],
      endpoint: pieces[4] || ''
    };

    if (id) {
      packet.id = id;
      packet.ack = pieces[3] ? 'data' : true;
    }

    switch (packet.type) {
      case 'error':
        var parts = data.split('+');
        packet.reason = reasons[parts[0]] || '';
        packet.advice = advices[parts[1]] || '';
        break;
      case 'message':
        packet.data = data;
        break;
      case 'event':
        try {
          var ev = io.JSON.parse(data);
          if (ev && typeof ev.name === 'string') {
            packet.name = ev.name;
            packet.args = ev.args;
          }
        } catch (e) {
          // no name: ignored by the namespace
        }
        if (!util.isArray(packet.args)) {
          packet.args = [];
        }
        break;
      case 'json':
        try {
          packet.data = io.JSON.parse(data);
        } catch (e2) {
          packet.invalid = true;
        }
        break;
      case 'connect':
        packet.qs = data;
        break;
      case 'ack':
        var m = data.match(/^([0-9]+)(\+)?([\s\S]*)/);
        if (m) {
          packet.ackId = m[1];
          packet.args = [];
          if (m[2] && m[3]) {
            try {
              var args = io.JSON.parse(m[3]);
              if (util.isArray(args)) {
                packet.args = args;
              }
            } catch (e3) {
              // acknowledged without arguments
            }
          }
        }
        break;
    }
    return packet;
  };

  /**
   * Decodes a body that holds one bare packet or a framed payload. A framed payload whose
   * framing does not add up exactly is dropped whole (returns []).
   */
  parser.decodePayload = function (data) {
    data = String(data);
    if (data.charAt(0) !== '\ufffd') {
      return [parser.decodePacket(data)];
    }
    var packets = [];
    var i = 0;
    var l = data.length;
    while (i < l) {
      if (data.charAt(i) !== '\ufffd') {
        return [];
      }
      var j = i + 1;
      var digits = '';
      while (j < l && data.charAt(j) !== '\ufffd') {
        digits += data.charAt(j);
        j++;
      }
      if (j >= l || !/^[0-9]+$/.test(digits)) {
        return [];
      }
      var length = Number(digits);
      var start = j + 1;
      if (start + length > l) {
        return [];
      }
      packets.push(parser.decodePacket(data.substr(start, length)));
      i = start + length;
    }
    return packets;
  };

  // =========================================================================================
  // Namespaces: the object io.connect returns (one per endpoint, all on one connection)
  // =========================================================================================

  function SocketNamespace(socket, name) {
    this.socket = socket;
    this.name = name || '';
    this.flags = {};
    this.json = new Flag(this, 'json');
    this.ackPackets = 0;
    this.acks = {};
    this.left = false;
  }

  io.SocketNamespace = SocketNamespace;

  util.mixin(SocketNamespace, EventEmitter);

  /** Fires a local event (emit() sends to the server instead). */
  SocketNamespace.prototype.$emit = EventEmitter.prototype.emit;

  /** Another namespace on the same connection. */
  SocketNamespace.prototype.of = function () {
    return this.socket.of.apply(this.socket, arguments);
  };

  /** Sends a packet on this namespace's endpoint (buffered while not connected). */
  SocketNamespace.prototype.packet = function (packet) {
    packet.endpoint = this.name;
    this.socket.packet(packet);
    this.flags = {};
    return this;
  };

  /** send(text[, fn]): a message packet (json.send: a JSON packet); fn runs on the ack. */
  SocketNamespace.prototype.send = function (data, fn) {
    var packet = {
      type: this.flags.json ? 'json' : 'message',
      data: data
    };
    if (typeof fn === 'function') {
      packet.id = ++this.ackPackets;
      packet.ack = true;
      this.acks[packet.id] = fn;
    }
    return this.packet(packet);
  };

  /** emit(name, args..., [fn]): an event; a trailing function asks for an ack with data. */
  SocketNamespace.prototype.emit = function (name) {
    var args = util.toArray(arguments, 1);
    var packet = { type: 'event', name: name };
    if (args.length && typeof args[args.length - 1] === 'function') {
      packet.id = ++this.ackPackets;
      packet.ack = 'data';
      this.acks[packet.id] = args.pop();
    }
    packet.args = args;
    return this.packet(packet);
  };

  /** Leaves this namespace (`0::/ns`); on the default namespace, closes the connection. */
  SocketNamespace.prototype.disconnect = function () {
    if (this.name === '') {
      this.socket.disconnect();
    } else {
      this.packet({ type: 'disconnect' });
      this.left = true;
      this.$emit('disconnect');
    }
    return this;
  };

  /** Handles a packet for this endpoint. */
  SocketNamespace.prototype.onPacket = function (packet) {
    var self = this;
    var acked = false;

    // The function handed to handlers of a packet with `id+`: sends 6::ep:id[+args] once.
    function ack() {
      if (acked) {
        return;
      }
      acked = true;
      self.packet({ type: 'ack', args: util.toArray(arguments), ackId: packet.id });
    }

    var params;
    switch (packet.type) {
      case 'connect':
        this.left = false;
        this.$emit('connect');
        break;

      case 'disconnect':
        if (this.name === '') {
          this.socket.onDisconnect(packet.reason || 'booted');
        } else {
          this.$emit('disconnect', packet.reason);
        }
        break;

      case 'message':
      case 'json':
      case 'event':
        if (packet.ack === true) {
          // An id without '+': the library acknowledges it, before dispatch (also for events).
          this.packet({ type: 'ack', ackId: packet.id });
        }
        if (packet.type === 'event') {
          if (typeof packet.name !== 'string') {
            break;
          }
          params = [packet.name].concat(packet.args);
        } else {
          if (packet.invalid) {
            break;
          }
          params = ['message', packet.data];
        }
        if (packet.ack === 'data') {
          params.push(ack);
        }
        this.$emit.apply(this, params);
        break;

      case 'ack':
        if (packet.ackId !== undefined && hasOwn(this.acks, packet.ackId)) {
          var fn = this.acks[packet.ackId];
          delete this.acks[packet.ackId];
          fn.apply(this, packet.args || []);
        }
        break;

      case 'error':
        if (packet.advice) {
          this.socket.onError(packet);
        } else if (packet.reason === 'unauthorized') {
          this.$emit('connect_failed', packet.reason);
        } else {
          this.$emit('error', packet.reason);
        }
        break;
    }
  };

  /** socket.json.send(obj) / socket.json.emit(...): sets a flag for the next packet. */
  function Flag(nsp, name) {
    this.namespace = nsp;
    this.name = name;
  }

  Flag.prototype.send = function () {
    this.namespace.flags[this.name] = true;
    return this.namespace.send.apply(this.namespace, arguments);
  };

  Flag.prototype.emit = function () {
    this.namespace.flags[this.name] = true;
    return this.namespace.emit.apply(this.namespace, arguments);
  };

  // =========================================================================================
  // Socket: one connection (one session id at a time), shared by its namespaces
  // =========================================================================================

  /** How long a handshake's session id may be reused by a fallback transport (note 2). */
  var REUSE_SID_MS = 15000;

  function Socket(options) {
    this.options = {
      port: 80,
      secure: false,
      document: global.document || false,
      resource: 'socket.io',
      transports: io.transports,
      'connect timeout': 10000,
      'try multiple transports': true,
      'reconnect': true,
      'reconnection delay': 500,
      'reconnection limit': Infinity,
      'reconnection jitter': 0.5,
      'reopen delay': 3000,
      'max reconnection attempts': 10,
      'sync disconnect on unload': false,
      'auto connect': true,
      'flash policy port': 10843,
      'manualFlush': false
    };
    util.merge(this.options, options);

    // Replace, never share, the transport list (fix of section 8 #17).
    var transports = this.options.transports || [];
    this.options.transports = typeof transports === 'string' ? transports.split(',') : util.toArray(transports);
    this.options.query = util.encodeQuery(this.options.query);
    this.options.resource = String(this.options.resource).replace(/^\/+|\/+$/g, '');

    this.connected = false;
    this.open = false;
    this.connecting = false;
    this.reconnecting = false;
    this.sessionid = null;
    this.transport = null;
    this.transports = null;      // the handshake-intersected list, shortened by fallbacks
    this.origTransports = null;  // the full intersected list
    this.namespaces = {};
    this.buffer = [];
    this.doBuffer = false;
    this.attempt = 0;            // incremented to abandon a connect attempt in progress

    this.of('');

    var self = this;
    if (this.options['sync disconnect on unload'] && global.document &&
        (!this.isXDomain() || util.ua.hasCORS || typeof global.fetch === 'function')) {
      var onUnload = function () {
        self.disconnectSync();
      };
      util.on(global, 'beforeunload', onUnload, false);
      // A second chance as the page goes: pagehide where it exists (browsers are phasing
      // out unload listeners), else unload.
      util.on(global, 'onpagehide' in global ? 'pagehide' : 'unload', onUnload, false);
    }

    if (this.options['auto connect']) {
      this.connect();
    }
  }

  io.Socket = Socket;

  util.mixin(Socket, EventEmitter);

  /** The namespace object for `name` ('' is the default); joining sends 1::name. */
  Socket.prototype.of = function (name) {
    name = name || '';
    var nsp = this.namespaces[name];
    if (!nsp || !hasOwn(this.namespaces, name)) {
      nsp = this.namespaces[name] = new SocketNamespace(this, name);
      if (name !== '') {
        nsp.packet({ type: 'connect' });
      }
    } else if (nsp.left) {
      nsp.left = false;
      nsp.packet({ type: 'connect' });
    }
    return nsp;
  };

  /** Fires a socket-level event on the socket and on every namespace. */
  Socket.prototype.publish = function () {
    this.emit.apply(this, arguments);
    for (var name in this.namespaces) {
      if (hasOwn(this.namespaces, name)) {
        var nsp = this.namespaces[name];
        nsp.$emit.apply(nsp, arguments);
      }
    }
  };

  /** scheme://host:port/resource/1 */
  Socket.prototype.baseUrl = function (scheme) {
    var o = this.options;
    return (scheme || (o.secure ? 'https' : 'http')) + '://' + o.host + ':' + o.port + '/' + o.resource + '/' + io.protocol;
  };

  /** True when host, port or scheme differ from the page's. */
  Socket.prototype.isXDomain = function () {
    var loc = global.location;
    if (!loc || !loc.protocol || !/^https?:$/.test(loc.protocol)) {
      return !!loc;
    }
    var port = loc.port || (loc.protocol === 'https:' ? 443 : 80);
    return this.options.host !== loc.hostname ||
      String(this.options.port) !== String(port) ||
      (this.options.secure ? 'https:' : 'http:') !== loc.protocol;
  };

  /**
   * Asks the server for a session: done(null, body) or done(message). XHR GET (with
   * credentials across domains), or a JSONP <script> when the page is cross-domain and the
   * browser has no CORS XHR. Abandoned after `connect timeout`.
   */
  Socket.prototype.handshake = function (done) {
    var self = this;
    var url = this.baseUrl() + '/' + util.query(this.options.query, 't=' + util.now());
    var limit = this.options['connect timeout'];
    var finished = false;
    var timer = null;
    var cancel = null;

    function finish(err, body) {
      if (finished) {
        return;
      }
      finished = true;
      clearTimeout(timer);
      self.cancelHandshake = noop;
      done(err, body);
    }

    if (!this.isXDomain() || util.ua.hasCORS) {
      cancel = this.xhrHandshake(url, finish);
    }
    if (!cancel && !finished) {
      // Cross-domain without CORS, or no XHR can be opened here (design note 6).
      cancel = this.jsonpHandshake(url, finish);
    }

    this.cancelHandshake = function () {
      finished = true;
      clearTimeout(timer);
      cancel();
    };
    if (limit && !finished) {
      timer = setTimeout(function () {
        cancel();
        finish({ message: 'handshake timed out' });
      }, limit);
    }
  };

  /**
   * The XHR handshake; returns a function that cancels it, or null when no request could be
   * opened or sent here (then nothing was sent and `finish` was not called).
   */
  Socket.prototype.xhrHandshake = function (url, finish) {
    var xdomain = this.isXDomain();
    var xhr = null;
    try {
      xhr = util.request(xdomain);
      if (!xhr) {
        return null;
      }
      xhr.open('GET', url, true);
      if (xdomain && !util.isXDR(xhr)) {
        xhr.withCredentials = true;
      }
      util.watch(xhr, function (err, text, status) {
        if (!err) {
          finish(null, text);
        } else {
          finish({ message: text || 'handshake failed (' + err + ')', status: status || 0 });
        }
      });
      xhr.send(null);
    } catch (e) {
      util.abort(xhr);
      return null;
    }
    return function () {
      util.abort(xhr);
    };
  };

  Socket.prototype.cancelHandshake = noop;

  /** The JSONP handshake (docs/protocol.md section 2.4); returns a function that cancels it. */
  Socket.prototype.jsonpHandshake = function (url, finish) {
    var doc = global.document;
    if (!doc) {
      finish({ message: 'no document for a JSONP handshake' });
      return noop;
    }
    var index = io.j.length;
    var script = doc.createElement('script');
    function cleanup() {
      io.j[index] = noop;
      script.onerror = script.onload = script.onreadystatechange = null;
      util.removeNode(script);
    }
    io.j.push(function (data) {
      cleanup();
      if (data instanceof Error || (data && typeof data === 'object' && data.message)) {
        finish({ message: data.message, status: 403 });
      } else {
        finish(null, String(data));
      }
    });
    script.onerror = function () {
      cleanup();
      finish({ message: 'handshake failed (script error)' });
    };
    script.async = true;
    script.src = url + '&jsonp=' + index;
    util.insertScript(doc, script);
    return cleanup;
  };

  /**
   * Connects: handshake, then the first usable transport. Does nothing while connected or
   * connecting. `fn` runs on the next `connect`.
   */
  Socket.prototype.connect = function (fn) {
    if (typeof fn === 'function') {
      this.once('connect', fn);
    }
    if (this.connecting || this.connected) {
      return this;
    }
    var self = this;
    var attempt = ++this.attempt;
    this.connecting = true;

    this.handshake(function (err, body) {
      if (attempt !== self.attempt) {
        return;
      }
      var fields = err ? null : /^([^:]+):([0-9]*):([0-9]*):(.*)$/.exec(String(body).replace(/\s+$/, ''));
      if (!fields) {
        self.connecting = false;
        var message = err ? err.message : 'bad handshake reply';
        // A refusal (403) is always reported; other failures only outside reconnection,
        // where the next attempt follows anyway.
        if (!self.reconnecting || (err && err.status === 403)) {
          self.publish('error', message);
        }
        self.attemptFailed();
        return;
      }
      self.sessionid = fields[1];
      self.handshakeTime = util.now();
      self.heartbeatTimeout = Number(fields[2]) * 1000;
      self.closeTimeout = Number(fields[3]) * 1000;
      if (!self.transports) {
        self.origTransports = self.intersect(fields[4] ? fields[4].split(',') : []);
        self.transports = util.toArray(self.origTransports);
      }
      self.startTransport(attempt);
    });
    return this;
  };

  /** The client's transport list (its order) restricted to what the server offers. */
  Socket.prototype.intersect = function (serverList) {
    var mine = this.options.transports;
    if (!serverList.length) {
      return util.toArray(mine);
    }
    var out = [];
    for (var i = 0; i < mine.length; i++) {
      if (util.indexOf(serverList, mine[i]) >= 0 && util.indexOf(out, mine[i]) < 0) {
        out.push(mine[i]);
      }
    }
    return out;
  };

  /** The first transport of `list` this browser can use here, or null. */
  Socket.prototype.getTransport = function (list) {
    list = list || this.transports || [];
    var xdomain = this.isXDomain();
    for (var i = 0; i < list.length; i++) {
      var Ctor = io.Transport[list[i]];
      if (Ctor && hasOwn(io.Transport, list[i]) && Ctor.check(this) && (!xdomain || Ctor.xdomainCheck(this))) {
        return new Ctor(this, this.sessionid);
      }
    }
    return null;
  };

  /** Opens the first usable transport of the stored list for `attempt`. */
  Socket.prototype.startTransport = function (attempt) {
    var self = this;
    var transport = this.getTransport();
    if (!transport) {
      this.connecting = false;
      if (!this.reconnecting) {
        this.publish('connect_failed');
      }
      this.attemptFailed();
      return;
    }
    this.transport = transport;
    transport.ready(this, function () {
      if (attempt !== self.attempt || self.transport !== transport || !self.connecting) {
        return;
      }
      self.publish('connecting', transport.name);
      clearTimeout(self.connectTimeoutTimer);
      if (self.options['connect timeout']) {
        self.connectTimeoutTimer = setTimeout(function () {
          if (attempt === self.attempt && self.transport === transport && !self.connected) {
            self.transportFailed(transport, 'timeout');
          }
        }, self.options['connect timeout']);
      }
      transport.open();
    });
  };

  /**
   * A transport failed before the session was connected (design note 2): try the next one at
   * once, with the same session id when that is safe, else with a new handshake.
   */
  Socket.prototype.transportFailed = function (transport, why) {
    if (transport !== this.transport || this.connected || !this.connecting) {
      return;
    }
    clearTimeout(this.connectTimeoutTimer);
    clearTimeout(this.heartbeatTimeoutTimer);
    this.takeBack(transport);
    transport.close();
    this.open = false;

    // While reconnecting, a connect timeout does not fall back (as in the reference); a
    // refusal does, and the final all-transports try falls back on both.
    var fallback = this.options['try multiple transports'] &&
      (!this.reconnecting || this.redoTransports || why !== 'timeout');
    var list = this.transports || [];
    var at = util.indexOf(list, transport.name);
    var remaining = at >= 0 ? list.slice(at + 1) : [];
    var next = fallback ? this.getTransport(remaining) : null;

    if (next) {
      this.transports = remaining;
      var fresh = util.now() - this.handshakeTime < REUSE_SID_MS;
      if (fresh && !transport.reached) {
        this.startTransport(this.attempt); // same session id
      } else {
        this.connecting = false;
        this.connect(); // new handshake, remaining transports
      }
      return;
    }

    this.connecting = false;
    this.attempt++;
    if (!this.reconnecting) {
      this.publish('connect_failed');
    }
    this.attemptFailed();
  };

  /** A connect attempt ended without success. */
  Socket.prototype.attemptFailed = function () {
    if (this.reconnecting && this.redoTransports) {
      // The final all-transports try failed: let the loop conclude now.
      clearTimeout(this.reconnectionTimer);
      var self = this;
      this.reconnectionTimer = setTimeout(function () {
        self.maybeReconnect();
      }, 0);
    }
  };

  /** (Re)arms the heartbeat timer: silence for the announced timeout closes the transport. */
  Socket.prototype.setHeartbeatTimeout = function () {
    clearTimeout(this.heartbeatTimeoutTimer);
    var transport = this.transport;
    if (!transport || !transport.heartbeats() || !(this.heartbeatTimeout > 0)) {
      return;
    }
    var self = this;
    this.heartbeatTimeoutTimer = setTimeout(function () {
      self.onTransportClose(transport, 'heartbeat timeout');
    }, this.heartbeatTimeout);
  };

  /** Queues or sends a packet. */
  Socket.prototype.packet = function (packet) {
    if (this.connected && !this.doBuffer && this.transport) {
      this.transport.packet(packet);
    } else {
      this.buffer.push(packet);
    }
    return this;
  };

  /** Buffer mode on (v true) or off; turning it off while connected flushes the buffer. */
  Socket.prototype.setBuffer = function (v) {
    this.doBuffer = v;
    if (!v && this.connected && this.buffer.length && !this.options.manualFlush) {
      this.flushBuffer();
    }
  };

  /** Sends everything buffered (call it yourself with the `manualFlush` option). */
  Socket.prototype.flushBuffer = function () {
    if (!this.connected || !this.transport || !this.buffer.length) {
      return;
    }
    var packets = this.buffer;
    this.buffer = [];
    this.transport.payload(packets);
  };

  /** Puts packets a dying transport never sent back at the front of the buffer. */
  Socket.prototype.takeBack = function (transport) {
    var unsent = transport.unsent ? transport.unsent() : [];
    if (unsent.length) {
      this.buffer = unsent.concat(this.buffer);
    }
  };

  /** Closes the session: `0::` when a transport is open; local `disconnect('booted')`. */
  Socket.prototype.disconnect = function () {
    this.stopReconnecting();
    if (this.connected || this.connecting) {
      if (this.open && this.transport) {
        this.transport.priority({ type: 'disconnect', endpoint: '' });
      }
      this.onDisconnect('booted');
    }
    return this;
  };

  /** The page is going away: tell the server synchronously-ish (design note 5). */
  Socket.prototype.disconnectSync = function () {
    if (!this.sessionid || !(this.connected || this.connecting)) {
      return;
    }
    if (this.open && this.transport && this.transport.websocket) {
      this.transport.priority({ type: 'disconnect', endpoint: '' });
    }
    var url = this.baseUrl() + '//' + this.sessionid + '/?disconnect=1';
    var sent = false;
    if (typeof global.fetch === 'function') {
      try {
        global.fetch(url, { method: 'GET', keepalive: true, mode: 'no-cors', cache: 'no-store' });
        sent = true;
      } catch (e) {
        sent = false;
      }
    }
    if (!sent) {
      try {
        var xhr = util.request(this.isXDomain());
        if (xhr) {
          xhr.open('GET', url, false);
          xhr.send(null);
        }
      } catch (e2) {
        // nothing more can be done while the page unloads
      }
    }
    this.stopReconnecting();
    this.onDisconnect('booted');
  };

  /** The session is up (`1::` on the default endpoint arrived). */
  Socket.prototype.onConnect = function () {
    if (this.connected) {
      return;
    }
    this.connected = true;
    this.connecting = false;
    this.open = true;
    clearTimeout(this.connectTimeoutTimer);

    if (this.reconnecting) {
      // Re-join every namespace before what was buffered for it.
      var joins = [];
      for (var name in this.namespaces) {
        if (hasOwn(this.namespaces, name) && name !== '' && !this.namespaces[name].left &&
            !this.bufferHasConnect(name)) {
          joins.push({ type: 'connect', endpoint: name });
        }
      }
      this.buffer = joins.concat(this.buffer);
      var attempts = this.reconnectionAttempts;
      this.resetReconnecting();
      this.publish('reconnect', this.transport.name, attempts);
    }
    if (!this.doBuffer && !this.options.manualFlush) {
      this.flushBuffer();
    }
    this.emit('connect');
  };

  Socket.prototype.bufferHasConnect = function (name) {
    for (var i = 0; i < this.buffer.length; i++) {
      if (this.buffer[i].type === 'connect' && this.buffer[i].endpoint === name) {
        return true;
      }
    }
    return false;
  };

  /** The transport reached the server (WebSocket open, first poll answered). */
  Socket.prototype.onOpen = function (transport) {
    if (transport === this.transport) {
      this.open = true;
    }
  };

  /** Text from the current transport. */
  Socket.prototype.onTransportData = function (transport, data) {
    if (transport !== this.transport || !transport.isOpen) {
      return;
    }
    var packets = parser.decodePayload(data);
    for (var i = 0; i < packets.length; i++) {
      if (transport !== this.transport || !transport.isOpen) {
        return; // the packets before closed it
      }
      this.onPacket(packets[i]);
    }
  };

  /** One packet from the server. */
  Socket.prototype.onPacket = function (packet) {
    if (!packet.type) {
      return;
    }
    this.setHeartbeatTimeout();
    if (packet.type === 'heartbeat') {
      this.transport.priority({ type: 'heartbeat' }); // at once, bypassing the queue
      return;
    }
    if (packet.type === 'noop') {
      return;
    }
    if (packet.type === 'connect' && packet.endpoint === '') {
      if (this.connected) {
        return;
      }
      this.onConnect();
    }
    if (packet.type === 'error' && packet.advice) {
      this.onError(packet);
      return;
    }
    var nsp = this.namespaces[packet.endpoint];
    if (nsp && hasOwn(this.namespaces, packet.endpoint)) {
      nsp.onPacket(packet);
    }
  };

  /**
   * An error: an error packet with advice `reconnect` drops the session (disconnect
   * 'booted') and reconnects; then `error` fires with the reason.
   */
  Socket.prototype.onError = function (err) {
    if (err && err.advice === 'reconnect' && (this.connected || this.connecting)) {
      var wasConnected = this.connected;
      this.onDisconnect('booted');
      if (this.options.reconnect) {
        if (!this.reconnecting) {
          this.reconnect();
        } else if (!wasConnected) {
          this.attemptFailed();
        }
      }
    }
    this.publish('error', err && err.reason ? err.reason : err);
  };

  /** The current transport closed or failed. */
  Socket.prototype.onTransportClose = function (transport, why) {
    if (transport !== this.transport) {
      return;
    }
    if (this.connected) {
      this.onDisconnect();
    } else if (this.connecting) {
      this.transportFailed(transport, why || 'closed');
    }
  };

  /** The session is gone, for `reason` (undefined: the transport was lost). */
  Socket.prototype.onDisconnect = function (reason) {
    var wasConnected = this.connected;
    var wasConnecting = this.connecting;
    this.connected = false;
    this.connecting = false;
    this.open = false;
    this.attempt++;
    clearTimeout(this.connectTimeoutTimer);
    clearTimeout(this.heartbeatTimeoutTimer);
    this.cancelHandshake();

    if ((wasConnected || wasConnecting) && this.transport) {
      this.takeBack(this.transport);
      this.transport.close();
    }
    if (wasConnected) {
      this.publish('disconnect', reason);
      if (reason !== 'booted' && this.options.reconnect && !this.reconnecting) {
        this.reconnect();
      }
    }
  };

  /** A random wait for a nominal delay (design note 3). */
  Socket.prototype.jitter = function (delay) {
    var j = Number(this.options['reconnection jitter']);
    if (!(j > 0)) {
      return Math.round(delay);
    }
    if (j > 1) {
      j = 1;
    }
    return Math.round(delay * (1 - j * Math.random()));
  };

  /** Starts the reconnection loop (docs/protocol.md section 6.7, with jitter). */
  Socket.prototype.reconnect = function () {
    var self = this;
    this.reconnecting = true;
    this.reconnectionAttempts = 0;
    this.reconnectionDelay = this.options['reconnection delay'];
    this.redoTransports = false;
    clearTimeout(this.reconnectionTimer);
    this.reconnectionTimer = setTimeout(function () {
      self.maybeReconnect();
    }, this.jitter(this.reconnectionDelay));
  };

  /** One check of the reconnection loop. */
  Socket.prototype.maybeReconnect = function () {
    var self = this;
    if (!this.reconnecting || this.connected) {
      return;
    }
    function later(ms) {
      clearTimeout(self.reconnectionTimer);
      self.reconnectionTimer = setTimeout(function () {
        self.maybeReconnect();
      }, ms);
    }
    if (this.connecting) {
      later(1000);
      return;
    }
    if (this.reconnectionAttempts >= this.options['max reconnection attempts']) {
      if (!this.redoTransports) {
        // One last try with every transport, falling back on timeouts too.
        this.redoTransports = true;
        this.transports = util.toArray(this.origTransports || this.options.transports);
        this.connect();
        later(1000);
      } else {
        this.resetReconnecting();
        this.publish('reconnect_failed');
      }
      return;
    }
    this.reconnectionAttempts++;
    var limit = this.options['reconnection limit'];
    if (this.reconnectionDelay < limit) {
      this.reconnectionDelay = Math.min(this.reconnectionDelay * 2, limit);
    }
    this.connect();
    var wait = this.jitter(this.reconnectionDelay);
    this.publish('reconnecting', wait, this.reconnectionAttempts);
    if (this.reconnecting && !this.connected) {
      later(wait);
    }
  };

  Socket.prototype.resetReconnecting = function () {
    clearTimeout(this.reconnectionTimer);
    this.reconnecting = false;
    this.redoTransports = false;
    this.reconnectionTimer = null;
  };

  /** Stops a running reconnection without events. */
  Socket.prototype.stopReconnecting = function () {
    if (this.reconnecting) {
      this.resetReconnecting();
    }
  };

  // =========================================================================================
  // Transport: the base of every transport
  // =========================================================================================

  /**
   * A transport carries one session (sessid) for one Socket. Subclasses implement open(),
   * send(text), close() and, as constructor properties, check(socket) and
   * xdomainCheck(socket). They report to the socket with onOpen/onData/onClose.
   */
  function Transport(socket, sessid) {
    this.socket = socket;
    this.sessid = sessid;
    this.isOpen = false;
    this.reached = false; // the server saw this transport (so its session id is in use)
    this.closeTimer = null;
  }

  io.Transport = Transport;

  util.mixin(Transport, EventEmitter);

  /** Whether the server sends heartbeats on this transport. */
  Transport.prototype.heartbeats = function () {
    return true;
  };

  /** Calls fn when the transport may start (some wait for the page to load). */
  Transport.prototype.ready = function (socket, fn) {
    fn.call(this);
  };

  /** scheme://host:port/resource/1/name/sid */
  Transport.prototype.prepareUrl = function () {
    return this.socket.baseUrl(this.scheme()) + '/' + this.name + '/' + this.sessid;
  };

  Transport.prototype.packet = function (packet) {
    this.send(parser.encodePacket(packet));
  };

  /** Sends at once, ahead of any queue (heartbeat replies, 0::). */
  Transport.prototype.priority = function (packet) {
    this.packet(packet);
  };

  /** Sends several packets (the flushed buffer). */
  Transport.prototype.payload = function (packets) {
    for (var i = 0; i < packets.length; i++) {
      this.packet(packets[i]);
    }
  };

  /** Packets accepted but never sent (given back to the socket when the transport dies). */
  Transport.prototype.unsent = function () {
    return [];
  };

  /** Data arrived: re-arms the close timeout and hands it to the socket. */
  Transport.prototype.onData = function (data) {
    this.clearCloseTimeout();
    var socket = this.socket;
    if (socket.connected || socket.connecting || socket.reconnecting) {
      this.setCloseTimeout();
    }
    if (data !== '' && data !== undefined && data !== null) {
      socket.onTransportData(this, data);
    }
  };

  /** The connection reached the server. */
  Transport.prototype.onOpen = function () {
    this.isOpen = true;
    this.reached = true;
    this.socket.onOpen(this);
  };

  /** The connection ended on its own (or failed). */
  Transport.prototype.onClose = function (why) {
    if (this.closed) {
      return;
    }
    this.close();
    this.socket.onTransportClose(this, why);
  };

  /** Closes the transport (idempotent); never calls back into the socket. */
  Transport.prototype.close = function () {
    this.closed = true;
    this.isOpen = false;
    this.clearTimeouts();
    this.shutdown();
  };

  /** Subclasses release their connections here. */
  Transport.prototype.shutdown = noop;

  /** Close timeout: no data for this long ends the transport. */
  Transport.prototype.setCloseTimeout = function () {
    var ms = this.socket.closeTimeout;
    if (!this.closeTimer && ms > 0) {
      var self = this;
      this.closeTimer = setTimeout(function () {
        self.closeTimer = null;
        self.onClose('close timeout');
      }, ms);
    }
  };

  Transport.prototype.clearCloseTimeout = function () {
    if (this.closeTimer) {
      clearTimeout(this.closeTimer);
      this.closeTimer = null;
    }
  };

  Transport.prototype.clearTimeouts = function () {
    this.clearCloseTimeout();
  };

  Transport.check = function () {
    return false;
  };

  Transport.xdomainCheck = function () {
    return false;
  };

  // =========================================================================================
  // Transport 'websocket'
  // =========================================================================================

  function WS(socket, sessid) {
    Transport.call(this, socket, sessid);
  }

  util.inherit(WS, Transport);

  WS.prototype.name = 'websocket';

  WS.prototype.scheme = function () {
    return this.socket.options.secure ? 'wss' : 'ws';
  };

  /** The WebSocket constructor to use. */
  WS.prototype.constructorFn = function () {
    return global.MozWebSocket || global.WebSocket;
  };

  WS.prototype.open = function () {
    var self = this;
    var Ctor = this.constructorFn();
    var ws;
    try {
      ws = new Ctor(this.prepareUrl() + util.query(this.socket.options.query));
    } catch (e) {
      // e.g. a blocked port: fail like a refused connection, but asynchronously
      setTimeout(function () {
        self.onClose('refused');
      }, 0);
      return this;
    }
    this.websocket = ws;
    ws.onopen = function () {
      self.onOpen();
      self.setCloseTimeout();
    };
    ws.onmessage = function (ev) {
      self.onData(ev.data);
    };
    ws.onclose = function () {
      self.onClose('closed');
    };
    ws.onerror = function (e) {
      if (self.socket.connected && self.socket.transport === self) {
        self.socket.publish('error', e);
      }
      self.onClose('error');
    };
    return this;
  };

  WS.prototype.send = function (data) {
    var ws = this.websocket;
    if (!ws) {
      return this;
    }
    if (util.ua.iDevice) {
      // iOS crashes when sending on a socket that died during sleep; defer.
      setTimeout(function () {
        try {
          ws.send(data);
        } catch (e) {
          // the close event follows
        }
      }, 0);
    } else {
      try {
        ws.send(data);
      } catch (e2) {
        // the close event follows
      }
    }
    return this;
  };

  WS.prototype.shutdown = function () {
    var ws = this.websocket;
    if (ws) {
      ws.onopen = ws.onmessage = ws.onclose = ws.onerror = noop;
      try {
        ws.close();
      } catch (e) {
        // already closed
      }
    }
  };

  /** A native WebSocket that is not the Flash shim, or MozWebSocket. */
  WS.check = function () {
    var W = global.WebSocket;
    return !!((W && !W.__addTask && !W.__initialize) || global.MozWebSocket);
  };

  WS.xdomainCheck = function () {
    return true;
  };

  io.Transport.websocket = WS;

  // =========================================================================================
  // Transport 'flashsocket' (only with a Flash WebSocket shim on the page; no SWF shipped)
  // =========================================================================================

  function Flashsocket(socket, sessid) {
    WS.call(this, socket, sessid);
  }

  util.inherit(Flashsocket, WS);

  Flashsocket.prototype.name = 'flashsocket';

  Flashsocket.prototype.constructorFn = function () {
    return global.WebSocket; // the shim
  };

  /** Waits for document.body, then initialises the shim once. */
  Flashsocket.prototype.ready = function (socket, fn) {
    var self = this;
    var doc = global.document;
    function init() {
      var options = socket.options;
      var W = global.WebSocket;
      if (!Flashsocket.loaded) {
        if (typeof global.WEB_SOCKET_SWF_LOCATION !== 'string') {
          global.WEB_SOCKET_SWF_LOCATION = (options.secure ? 'https' : 'http') + '://' + options.host + ':' +
            options.port + '/' + options.resource + '/static/flashsocket/WebSocketMain' +
            (socket.isXDomain() ? 'Insecure' : '') + '.swf';
        }
        if (W.loadFlashPolicyFile && Number(options['flash policy port']) !== 843) {
          W.loadFlashPolicyFile('xmlsocket://' + options.host + ':' + options['flash policy port']);
        }
        W.__initialize();
        Flashsocket.loaded = true;
      }
      fn.call(self);
    }
    if (doc && doc.body) {
      return init();
    }
    util.load(init);
  };

  Flashsocket.check = function () {
    var W = global.WebSocket;
    if (!W || !W.__initialize) {
      return false;
    }
    var so = global.swfobject;
    if (so && so.getFlashPlayerVersion) {
      return so.getFlashPlayerVersion().major >= 10;
    }
    return true;
  };

  Flashsocket.xdomainCheck = function () {
    return true;
  };

  io.Transport.flashsocket = Flashsocket;

  // =========================================================================================
  // Polling base: GETs for server data, POSTs for client data (getRequest/postRequest
  // below). xhr-polling implements the two requests with XHR, jsonp-polling with <script>
  // and a form post. The streaming transports (xhr-multipart, htmlfile) extend xhr-polling:
  // their GET is one long stream that hands each batch to onData as it arrives and only
  // completes when the stream ends; their POSTs are xhr-polling's.
  // =========================================================================================

  function Polling(socket, sessid) {
    Transport.call(this, socket, sessid);
    this.sendQueue = [];   // packets waiting for the POST in flight to finish
    this.inFlight = null;  // packets of the data POST in flight
    this.getHandle = null;
    this.polls = 0;        // polls answered
    this.failures = 0;     // failed polls in a row
  }

  util.inherit(Polling, Transport);

  io.Transport.Polling = Polling;

  Polling.prototype.heartbeats = function () {
    return false;
  };

  /** The first request waits for the page to load in WebKit (see util.defer). */
  Polling.prototype.ready = function (socket, fn) {
    var self = this;
    util.defer(function () {
      fn.call(self);
    });
  };

  Polling.prototype.scheme = function () {
    return this.socket.options.secure ? 'https' : 'http';
  };

  /** The transport URL with the user query and a cache buster. */
  Polling.prototype.url = function () {
    return this.prepareUrl() + util.query(this.socket.options.query, 't=' + util.now());
  };

  Polling.prototype.open = function () {
    this.isOpen = true;
    this.socket.onOpen(this);
    this.get();
    // Nothing says whether the first request will ever be answered: the close timeout does.
    this.setCloseTimeout();
    return this;
  };

  /** The next long poll. */
  Polling.prototype.get = function () {
    if (!this.isOpen) {
      return;
    }
    var self = this;
    this.getHandle = this.getRequest(function (err, text) {
      self.getHandle = null;
      if (!self.isOpen) {
        return;
      }
      if (err) {
        self.onPollError(err);
        return;
      }
      self.polls++;
      self.failures = 0;
      self.reached = true;
      self.onData(text);
      self.get();
    });
  };

  /** A poll failed: the transport is lost (subclasses may retry). */
  Polling.prototype.onPollError = function (err) {
    this.onClose(err);
  };

  /** Queues a packet; one data POST at a time, the rest batched into the next one. */
  Polling.prototype.packet = function (packet) {
    this.sendQueue.push(packet);
    this.flushQueue();
  };

  Polling.prototype.payload = function (packets) {
    for (var i = 0; i < packets.length; i++) {
      this.sendQueue.push(packets[i]);
    }
    this.flushQueue();
  };

  Polling.prototype.encode = function (packets) {
    var encoded = [];
    for (var i = 0; i < packets.length; i++) {
      encoded.push(parser.encodePacket(packets[i]));
    }
    return parser.encodePayload(encoded);
  };

  Polling.prototype.flushQueue = function () {
    if (this.inFlight || !this.sendQueue.length || this.closed) {
      return;
    }
    var self = this;
    var batch = this.sendQueue;
    this.sendQueue = [];
    this.inFlight = batch;
    this.postRequest(this.encode(batch), function (err) {
      self.inFlight = null;
      if (self.closed) {
        return;
      }
      if (err) {
        self.onClose(err);
        return;
      }
      self.flushQueue();
    });
  };

  /** Heartbeat replies and 0:: go out at once, beside a data POST that may be in flight. */
  Polling.prototype.priority = function (packet) {
    this.postRequest(parser.encodePacket(packet), noop);
  };

  Polling.prototype.unsent = function () {
    var out = this.sendQueue;
    this.sendQueue = [];
    return out;
  };

  Polling.prototype.shutdown = function () {
    if (this.getHandle) {
      this.getHandle.abort();
      this.getHandle = null;
    }
  };

  /**
   * getRequest(done) starts one poll and returns { abort: fn }; done(null, text) on success,
   * done(reason) on failure. postRequest(data, done) sends a payload; done(null) or
   * done(reason). Both are implemented by each polling transport.
   */
  Polling.prototype.getRequest = function (done) {
    done('not implemented');
    return { abort: noop };
  };

  Polling.prototype.postRequest = function (data, done) {
    done('not implemented');
  };

  // =========================================================================================
  // Transport 'xhr-polling'
  // =========================================================================================

  function XHRPolling(socket, sessid) {
    Polling.call(this, socket, sessid);
  }

  util.inherit(XHRPolling, Polling);

  XHRPolling.prototype.name = 'xhr-polling';

  /** An opened request: CORS with credentials across domains; XDomainRequest on IE 8/9. */
  XHRPolling.prototype.request = function (method) {
    var xdomain = this.socket.isXDomain();
    var req = util.request(xdomain);
    req.open(method, this.url(), true);
    if (util.isXDR(req)) {
      this.usesXDR = true;
      if (method === 'POST') {
        try {
          req.contentType = 'text/plain'; // read-only in some IE versions
        } catch (e) {
          // XDomainRequest sends text/plain anyway
        }
      }
      return req;
    }
    if (xdomain) {
      req.withCredentials = true;
    }
    if (method === 'POST') {
      try {
        req.setRequestHeader('Content-type', 'text/plain;charset=UTF-8');
      } catch (e) {
        // not fatal
      }
    }
    return req;
  };

  XHRPolling.prototype.getRequest = function (done) {
    var req;
    try {
      req = this.request('GET');
      util.watch(req, done);
      req.send(null);
    } catch (e) {
      util.abort(req);
      var failed = { abort: noop };
      setTimeout(function () {
        done('request failed');
      }, 0);
      return failed;
    }
    return {
      abort: function () {
        util.abort(req);
      }
    };
  };

  XHRPolling.prototype.postRequest = function (data, done) {
    var req;
    try {
      req = this.request('POST');
      util.watch(req, function (err) {
        done(err || null);
      });
      req.send(data);
    } catch (e) {
      util.abort(req);
      setTimeout(function () {
        done('request failed');
      }, 0);
    }
  };

  /** XDomainRequest has no status: after a success, retry up to two failed polls in a row. */
  XHRPolling.prototype.onPollError = function (err) {
    if (this.usesXDR && this.polls > 0 && ++this.failures <= 2) {
      this.get();
      return;
    }
    this.onClose(err);
  };

  /** A request object for this page that is not an XDomainRequest across schemes. */
  XHRPolling.check = function (socket, xdomain) {
    try {
      var req = util.request(xdomain);
      if (!req) {
        return false;
      }
      var loc = global.location;
      var scheme = socket && socket.options && socket.options.secure ? 'https:' : 'http:';
      return !(util.isXDR(req) && loc && loc.protocol !== scheme);
    } catch (e) {
      return false;
    }
  };

  XHRPolling.xdomainCheck = function (socket) {
    return XHRPolling.check(socket, true);
  };

  io.Transport['xhr-polling'] = XHRPolling;

  // =========================================================================================
  // Transport 'xhr-multipart' (ferrio's extension of protocol 1, docs/protocol.md section 5.6): one XHR GET
  // answered with multipart/x-mixed-replace, read while it loads; POSTs as xhr-polling.
  // =========================================================================================

  // What MultipartReader.lineEnd finds after a delimiter.
  var PART_CLOSE = -1;   // the closing delimiter `--boundary--`
  var PART_MORE = -2;    // not enough text yet to tell
  var PART_NOT = -3;     // not a delimiter line (the text merely contains the boundary)

  /**
   * Reads the parts of a multipart body as it grows. feed(text) takes the whole response
   * text received so far and returns the bodies of the parts completed since the last call
   * (what follows the blank line after a part's headers). Delimiter lines end in CRLF or bare
   * LF; once the closing delimiter was read, `closed` is true and nothing more is read.
   */
  function MultipartReader(boundary) {
    this.delimiter = '--' + boundary;
    this.pos = 0;         // start of the unread text (a part's headers, once started)
    this.scanned = 0;     // no delimiter starts between pos and this index
    this.started = false; // the opening delimiter was read
    this.closed = false;
  }

  /** What follows a delimiter that ends at index `at`: the index after its line end, or a PART_ code. */
  MultipartReader.prototype.lineEnd = function (text, at) {
    var l = text.length;
    if (text.charAt(at) === '-') {
      if (at + 1 >= l) {
        return PART_MORE;
      }
      return text.charAt(at + 1) === '-' ? PART_CLOSE : PART_NOT;
    }
    while (at < l && (text.charAt(at) === ' ' || text.charAt(at) === '\t')) {
      at++; // transport padding (RFC 2046)
    }
    if (at >= l) {
      return PART_MORE;
    }
    if (text.charAt(at) === '\n') {
      return at + 1;
    }
    if (text.charAt(at) === '\r') {
      if (at + 1 >= l) {
        return PART_MORE;
      }
      return text.charAt(at + 1) === '\n' ? at + 2 : PART_NOT;
    }
    return PART_NOT;
  };

  /** The body of a part (its text between two delimiter lines): what follows the headers. */
  MultipartReader.body = function (part) {
    var blank = /^\r?\n|\r?\n\r?\n/.exec(part);
    return blank ? part.substring(blank.index + blank[0].length) : '';
  };

  MultipartReader.prototype.feed = function (text) {
    var bodies = [];
    var d = this.delimiter;
    text = String(text || '');
    while (!this.closed) {
      var at = util.find(text, d, this.pos > this.scanned ? this.pos : this.scanned);
      if (at < 0) {
        this.scanned = Math.max(this.pos, text.length - d.length + 1);
        break;
      }
      if (at > 0 && text.charAt(at - 1) !== '\n') {
        this.scanned = at + 1; // not at the start of a line
        continue;
      }
      var next = this.lineEnd(text, at + d.length);
      if (next === PART_MORE) {
        this.scanned = at;
        break;
      }
      if (next === PART_NOT) {
        this.scanned = at + 1;
        continue;
      }
      if (this.started) {
        // The part ends before the line break that precedes the delimiter (CRLF or LF).
        var end = at - 1;
        if (end > this.pos && text.charAt(end - 1) === '\r') {
          end--;
        }
        bodies.push(MultipartReader.body(end > this.pos ? text.substring(this.pos, end) : ''));
      }
      this.started = true;
      if (next === PART_CLOSE) {
        this.closed = true;
        break;
      }
      this.pos = this.scanned = next;
    }
    return bodies;
  };

  /** The boundary parameter of a multipart Content-Type header value, or ''. */
  MultipartReader.boundary = function (contentType) {
    var value = String(contentType || '');
    if (!/^\s*multipart\//i.test(value)) {
      return '';
    }
    var m = /;\s*boundary=(?:"([^"]+)"|([^\s;"]+))/i.exec(value);
    return m ? m[1] || m[2] : '';
  };

  function XHRMultipart(socket, sessid) {
    XHRPolling.call(this, socket, sessid);
    this.emptyStreams = 0; // streams in a row that ended normally without a single part
  }

  util.inherit(XHRMultipart, XHRPolling);

  XHRMultipart.Reader = MultipartReader;

  XHRMultipart.prototype.name = 'xhr-multipart';

  /** A streaming transport: the server sends heartbeats, the client answers them. */
  XHRMultipart.prototype.heartbeats = function () {
    return true;
  };

  /**
   * One stream: every part is handed to onData as it completes; done(null) when the stream
   * ends with its closing delimiter (Polling.get then opens the next one on the same
   * session), done(reason) for anything else (the transport is lost).
   */
  XHRMultipart.prototype.getRequest = function (done) {
    var self = this;
    var req = null;
    var reader = null;
    var parts = 0;
    var finished = false;

    function finish(err) {
      if (!finished) {
        finished = true;
        done(err, '');
      }
    }

    function status() {
      try {
        return req.status;
      } catch (e) {
        return 0;
      }
    }

    function read() {
      if (finished || status() !== 200) {
        return;
      }
      if (!reader) {
        var boundary = MultipartReader.boundary(req.getResponseHeader('Content-Type'));
        if (!boundary) {
          return;
        }
        reader = new MultipartReader(boundary);
      }
      var text;
      try {
        text = req.responseText;
      } catch (e) {
        return; // not readable while loading here
      }
      var bodies = reader.feed(text);
      for (var i = 0; i < bodies.length; i++) {
        if (finished || self.closed) {
          return; // a packet before closed the transport
        }
        parts++;
        self.reached = true;
        self.onData(bodies[i]);
      }
    }

    function end() {
      var code = status();
      if (code !== 200) {
        finish(code ? 'status ' + code : 'network error');
      } else if (!reader) {
        finish('not a multipart stream');
      } else if (!reader.closed) {
        finish('stream cut');
      } else if (parts === 0 && ++self.emptyStreams > 2) {
        finish('empty streams');
      } else {
        if (parts) {
          self.emptyStreams = 0;
        }
        finish(null);
      }
    }

    try {
      req = this.request('GET');
      if (req.overrideMimeType) {
        try {
          req.overrideMimeType('text/plain; charset=UTF-8'); // text, whatever the engine thinks of multipart
        } catch (e) {
          // keep the server's type
        }
      }
      req.onreadystatechange = function () {
        if (req.readyState === 3) {
          read();
        } else if (req.readyState === 4) {
          req.onreadystatechange = noop;
          read();
          end();
        }
      };
      req.onprogress = read;
      req.send(null);
    } catch (e2) {
      util.abort(req);
      setTimeout(function () {
        finish('request failed');
      }, 0);
    }
    return {
      abort: function () {
        finished = true;
        if (req) {
          req.onprogress = noop;
        }
        util.abort(req);
      }
    };
  };

  /**
   * A native XMLHttpRequest with progress events (XHR level 2: its responseText can be read
   * while the response loads); across domains it must do CORS. Never XDomainRequest or
   * ActiveX (IE 6-9 cannot read a response before it ends), never old Opera (Presto).
   */
  XHRMultipart.check = function (socket, xdomain) {
    var X = global.XMLHttpRequest;
    if (!X || /opera/i.test(userAgent) || (xdomain && !util.ua.hasCORS)) {
      return false;
    }
    try {
      return 'onprogress' in new X();
    } catch (e) {
      return false;
    }
  };

  XHRMultipart.xdomainCheck = function (socket) {
    return XHRMultipart.check(socket, true);
  };

  io.Transport['xhr-multipart'] = XHRMultipart;

  // =========================================================================================
  // Transport 'htmlfile' (forever iframe, docs/protocol.md section 5.3): the server streams a document of
  // <script>_("...")</script> calls into an iframe; POSTs as xhr-polling.
  // =========================================================================================

  function HTMLFile(socket, sessid) {
    XHRPolling.call(this, socket, sessid);
    this.container = null; // { holder, activeX, win, doc }: where the streaming iframe lives
    this.frame = null;
    this.frameLoad = null;
    this.onPageEnd = null;
  }

  util.inherit(HTMLFile, XHRPolling);

  HTMLFile.prototype.name = 'htmlfile';

  HTMLFile.prototype.heartbeats = function () {
    return true;
  };

  /** Starts after the page's load event (a streaming iframe would hold it back forever). */
  HTMLFile.prototype.ready = function (socket, fn) {
    var self = this;
    util.load(function () {
      fn.call(self);
    });
  };

  /** Whether an XHR POST can be opened here (nothing is sent). */
  HTMLFile.prototype.canPost = function () {
    var req = null;
    try {
      req = this.request('POST');
    } catch (e) {
      util.abort(req);
      return false;
    }
    util.abort(req);
    return !!req;
  };

  /** Refuses at once when it could never answer a heartbeat (design note 6). */
  HTMLFile.prototype.open = function () {
    if (!this.canPost()) {
      var self = this;
      setTimeout(function () {
        self.onClose('refused');
      }, 0);
      return this;
    }
    return Polling.prototype.open.call(this);
  };

  /**
   * The stream. It never ends while the session lives (the server ends the session when the
   * connection closes), so its end is the end of the transport: 'refused' when the iframe
   * loaded without delivering anything (an error answer), else 'stream ended'.
   */
  HTMLFile.prototype.getRequest = function (done) {
    var self = this;
    var finished = false;
    function finish(err) {
      if (!finished) {
        finished = true;
        self.destroy();
        done(err, '');
      }
    }
    try {
      this.create(this.url(), function () {
        finish(self.reached ? 'stream ended' : 'refused');
      });
    } catch (e) {
      setTimeout(function () {
        finish('iframe failed');
      }, 0);
    }
    return {
      abort: function () {
        finished = true;
        self.destroy();
      }
    };
  };

  /** Whether the ActiveX `htmlfile` document exists here (IE up to 10); checked once. */
  var activeXHtmlfile = null;

  HTMLFile.activeX = function () {
    if (activeXHtmlfile === null) {
      activeXHtmlfile = false;
      try {
        if ('ActiveXObject' in global) {
          activeXHtmlfile = !!new global.ActiveXObject('htmlfile');
        }
      } catch (e) {
        activeXHtmlfile = false;
      }
    }
    return activeXHtmlfile;
  };

  /**
   * Makes the container and the streaming iframe in it. The container's window gets
   * `s = this`, so the server's `parent.s._(p, document)` reaches this transport and no
   * other (design note 6): IE's ActiveX `htmlfile` document as in the reference (no loading
   * indicator, no click sounds), elsewhere a hidden blank iframe of the page's origin.
   * `onEnd` runs when the streaming document finishes loading.
   */
  HTMLFile.prototype.create = function (url, onEnd) {
    var self = this;
    var c = { holder: null, activeX: null, win: null, doc: null };
    this.container = c;
    if (HTMLFile.activeX()) {
      c.activeX = new global.ActiveXObject('htmlfile');
      c.activeX.open();
      c.activeX.write('<html><body></body></html>');
      c.activeX.close();
      c.doc = c.activeX;
      c.win = c.doc.parentWindow;
    } else {
      var page = global.document;
      c.holder = page.createElement('iframe');
      util.hide(c.holder);
      page.body.appendChild(c.holder);
      var blank = c.holder.contentWindow.document;
      blank.open();
      blank.write('<html><body></body></html>');
      blank.close();
      c.win = c.holder.contentWindow; // after open(): old engines made a new window there
      c.doc = c.win.document;
    }
    c.win.s = this;

    var box = c.doc.createElement('div');
    var frame = c.doc.createElement('iframe');
    this.frame = frame;
    this.frameLoad = function () {
      var href = '';
      try {
        href = frame.contentWindow.location.href;
      } catch (e) {
        href = ''; // an error page of another origin
      }
      if (self.frame === frame && href !== 'about:blank') {
        onEnd();
      }
    };
    util.on(frame, 'load', this.frameLoad);
    frame.src = url;
    box.appendChild(frame);
    c.doc.body.appendChild(box);

    // As the reference: the iframe goes when the page goes. (A page kept in the back-forward
    // cache and shown again finds its stream gone; the heartbeat timeout then reconnects.)
    this.onPageEnd = function () {
      self.destroy();
    };
    util.on(global, util.pageEnd(), this.onPageEnd);
  };

  /**
   * Called by the streaming document for each batch: the text goes to the decoder as it is
   * (`\/` stays `\/`, section 8 #19), then the oldest script element of that document is
   * removed, so a long-lived stream keeps two at most.
   */
  HTMLFile.prototype._ = function (data, doc) {
    if (this.closed || !this.frame) {
      return;
    }
    this.reached = true;
    this.onData(data);
    try {
      util.removeNode(doc.getElementsByTagName('script')[0]);
    } catch (e) {
      // the document went away meanwhile
    }
  };

  /** Removes the streaming iframe and its container (closing the connection). */
  HTMLFile.prototype.destroy = function () {
    var c = this.container;
    var frame = this.frame;
    this.container = null;
    this.frame = null;
    if (this.onPageEnd) {
      util.off(global, util.pageEnd(), this.onPageEnd);
      this.onPageEnd = null;
    }
    if (frame) {
      util.off(frame, 'load', this.frameLoad);
      try {
        frame.src = 'about:blank';
      } catch (e) {
        // already gone
      }
      util.removeNode(frame.parentNode);
      util.removeNode(frame);
    }
    if (c) {
      try {
        c.win.s = null;
      } catch (e2) {
        // the window went with its frame
      }
      util.removeNode(c.holder);
      if (c.activeX) {
        c.activeX = c.doc = c.win = null;
        if (typeof global.CollectGarbage === 'function') {
          global.CollectGarbage();
        }
      }
    }
    this.frameLoad = null;
  };

  /** A document to make iframes in, and the POST request of xhr-polling (same origin only). */
  HTMLFile.check = function (socket) {
    var doc = global.document;
    return !!(doc && doc.createElement) && XHRPolling.check(socket);
  };

  HTMLFile.xdomainCheck = function () {
    return false;
  };

  io.Transport.htmlfile = HTMLFile;

  // =========================================================================================
  // Transport 'jsonp-polling' (docs/protocol.md section 5.5): <script> GETs that call io.j[k](data), POSTs as
  // forms into hidden iframes. Needs no XHR and no CORS.
  // =========================================================================================

  function JSONPPolling(socket, sessid) {
    Polling.call(this, socket, sessid);
    var self = this;
    this.index = io.j.length;   // this transport's callback: io.j[index]
    this.script = null;         // the script element of the last GET
    this.pendingGet = null;     // done() of the GET waiting for its callback
    this.form = null;
    this.area = null;
    this.posts = 0;             // POSTs made (names their iframes)
    this.postsInFlight = 0;
    io.j.push(function (data) {
      self.onCallback(data);
    });
  }

  util.inherit(JSONPPolling, Polling);

  JSONPPolling.prototype.name = 'jsonp-polling';

  /** Starts after the page's load event (a pending script would hold it back). */
  JSONPPolling.prototype.ready = function (socket, fn) {
    var self = this;
    util.load(function () {
      fn.call(self);
    });
  };

  /** io.j[index](data), called by the script of a GET. */
  JSONPPolling.prototype.onCallback = function (data) {
    if (this.pendingGet) {
      this.pendingGet(null, String(data)); // clears pendingGet
    }
  };

  JSONPPolling.prototype.removeScript = function () {
    var script = this.script;
    this.script = null;
    if (script) {
      script.onerror = null;
      util.removeNode(script);
    }
  };

  /** A GET: removes the previous script, inserts ?t=...&i=k before the page's first script. */
  JSONPPolling.prototype.getRequest = function (done) {
    var self = this;
    var finish = function (err, text) {
      if (self.pendingGet === finish) {
        self.pendingGet = null;
        done(err, text);
      }
    };
    this.pendingGet = finish;
    this.removeScript();
    var doc = global.document;
    try {
      var script = doc.createElement('script');
      script.async = true;
      script.src = this.prepareUrl() + util.query(this.socket.options.query, 't=' + util.now() + '&i=' + this.index);
      script.onerror = function () {
        finish('script error');
      };
      this.script = script;
      util.insertScript(doc, script);
    } catch (e) {
      setTimeout(function () {
        finish('script failed');
      }, 0);
    }
    return {
      abort: function () {
        if (self.pendingGet === finish) {
          self.pendingGet = null;
        }
        self.removeScript();
      }
    };
  };

  /**
   * A POST: the hidden form (made once, accept-charset utf-8, one textarea `d`) is submitted
   * into a fresh hidden iframe with `d` = the payload as a JSON string literal (browsers turn
   * line breaks in form fields into CRLF, docs/protocol.md section 5.5); done(null) when that iframe has loaded.
   * Each iframe is removed once loaded; the form goes with the transport.
   */
  JSONPPolling.prototype.postRequest = function (data, done) {
    var self = this;
    var doc = global.document;
    var iframe = null;
    var finished = false;

    function complete(err) {
      if (finished) {
        return;
      }
      finished = true;
      self.postsInFlight--;
      if (iframe) {
        iframe.onload = iframe.onreadystatechange = null;
        setTimeout(function () {
          util.removeNode(iframe); // not inside its own load event
        }, 0);
      }
      if (self.closed && !self.postsInFlight) {
        self.removeForm();
      }
      done(err || null);
    }

    this.postsInFlight++;
    try {
      if (!this.form) {
        var form = doc.createElement('form');
        var area = doc.createElement('textarea');
        util.hide(form);
        form.method = 'POST';
        form.setAttribute('accept-charset', 'utf-8');
        area.name = 'd';
        form.appendChild(area);
        doc.body.appendChild(form);
        this.form = form;
        this.area = area;
      }
      var id = 'socketio_iframe_' + this.index + '_' + (++this.posts);
      iframe = util.namedElement(doc, 'iframe', id);
      iframe.id = id;
      this.form.appendChild(iframe);
      this.form.target = id;
      this.form.action = this.prepareUrl() + util.query(this.socket.options.query, 't=' + util.now() + '&i=' + this.index);
      this.area.value = io.JSON.stringify(data);
      this.form.submit();
      // After submit: the blank document an iframe may load on insertion is not the answer.
      if (iframe.attachEvent && !iframe.addEventListener) {
        iframe.onreadystatechange = function () {
          if (iframe.readyState === 'complete') {
            complete(null);
          }
        };
      } else {
        iframe.onload = function () {
          complete(null);
        };
      }
    } catch (e) {
      setTimeout(function () {
        complete('post failed');
      }, 0);
    }
  };

  JSONPPolling.prototype.removeForm = function () {
    util.removeNode(this.form);
    this.form = this.area = null;
  };

  /** Ends the GET; the form stays until POSTs in flight (e.g. a last `0::`) have landed. */
  JSONPPolling.prototype.shutdown = function () {
    Polling.prototype.shutdown.call(this);
    this.removeScript();
    io.j[this.index] = noop;
    if (!this.postsInFlight) {
      this.removeForm();
    }
  };

  /** Only a document is needed, on any origin. */
  JSONPPolling.check = function () {
    return !!(global.document && global.document.createElement);
  };

  JSONPPolling.xdomainCheck = function () {
    return true;
  };

  io.Transport['jsonp-polling'] = JSONPPolling;

  // =========================================================================================
  // io.connect
  // =========================================================================================

  /**
   * io.connect([url], [options]): the namespace object for the URL's path on a connection
   * shared by every call for the same scheme://host:port (unless 'force new connection').
   */
  io.connect = function (host, details) {
    var uri = util.parseUri(host);
    var loc = global.location;
    var explicitHost = !!uri.host;

    if (loc && /^https?:$/.test(loc.protocol)) {
      uri.protocol = uri.protocol || loc.protocol.slice(0, -1);
      uri.host = uri.host || loc.hostname;
      if (!uri.port) {
        // The page's port only for the page's own host and scheme.
        var samePlace = (!explicitHost || uri.host === loc.hostname) && uri.protocol + ':' === loc.protocol;
        uri.port = samePlace ? loc.port : '';
      }
    }
    uri.protocol = uri.protocol || 'http';
    uri.host = uri.host || 'localhost';
    var secure = uri.protocol === 'https';
    uri.port = uri.port || (secure ? 443 : 80);

    var key = util.uniqueUri(uri);
    var options = {
      host: uri.host,
      secure: secure,
      port: uri.port,
      query: uri.query || ''
    };
    util.merge(options, details);

    var socket;
    if (options['force new connection'] || !hasOwn(io.sockets, key)) {
      socket = new Socket(options);
      if (!options['force new connection']) {
        io.sockets[key] = socket;
      }
    } else {
      socket = io.sockets[key];
      if (!socket.connected && !socket.connecting && !socket.reconnecting) {
        socket.connect();
      }
    }
    return socket.of(uri.path.length > 1 ? uri.path : '');
  };

  // =========================================================================================
  // Export
  // =========================================================================================

  global.io = io;

  if (typeof global.define === 'function' && global.define.amd) {
    global.define([], function () {
      return io;
    });
  }

}(typeof window !== 'undefined' ? window : this));
