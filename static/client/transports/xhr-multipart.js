  // static/client/transports/xhr-multipart.js, a fragment: crates/server/build.rs joins it into
  // the client inside the closure that head.js opens, in the order of static/client/parts.txt.

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
  XHRMultipart.prototype.heartbeats = Transport.prototype.heartbeats;

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

