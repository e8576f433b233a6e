  // static/client/transports/transport.js, a fragment: crates/server/build.rs joins it into the
  // client inside the closure that head.js opens, in the order of static/client/parts.txt.

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

  /** A `ready` that waits for the page's load event, which a pending request would hold back. */
  Transport.prototype.readyAfterLoad = function (socket, fn) {
    var self = this;
    util.load(function () {
      fn.call(self);
    });
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

  /**
   * Ends like a refused connection, but only after open() has returned: the socket must not
   * hear of the failure before it knows the transport. Returns the transport, as open() does.
   */
  Transport.prototype.refuseLater = function () {
    var self = this;
    setTimeout(function () {
      self.onClose('refused');
    }, 0);
    return this;
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

