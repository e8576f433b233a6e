  // static/client/socket.js, a fragment: crates/server/build.rs joins it into the client inside
  // the closure that head.js opens, in the order of static/client/parts.txt.

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

