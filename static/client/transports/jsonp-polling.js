  // static/client/transports/jsonp-polling.js, a fragment: crates/server/build.rs joins it into
  // the client inside the closure that head.js opens, in the order of static/client/parts.txt.

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
  JSONPPolling.prototype.ready = Transport.prototype.readyAfterLoad;

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

