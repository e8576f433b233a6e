  // static/client/transports/htmlfile.js, a fragment: crates/server/build.rs joins it into the
  // client inside the closure that head.js opens, in the order of static/client/parts.txt.

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

  /** A streaming transport: the server sends heartbeats, the client answers them. */
  HTMLFile.prototype.heartbeats = Transport.prototype.heartbeats;

  /** Starts after the page's load event (a streaming iframe would hold it back forever). */
  HTMLFile.prototype.ready = Transport.prototype.readyAfterLoad;

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
      return this.refuseLater();
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

