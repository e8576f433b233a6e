  // static/client/transports/xhr-polling.js, a fragment: crates/server/build.rs joins it into
  // the client inside the closure that head.js opens, in the order of static/client/parts.txt.

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

