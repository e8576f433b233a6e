  // static/client/util.js, a fragment: crates/server/build.rs joins it into the client inside
  // the closure that head.js opens, in the order of static/client/parts.txt.

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

