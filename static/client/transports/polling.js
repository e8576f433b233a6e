  // static/client/transports/polling.js, a fragment: crates/server/build.rs joins it into the
  // client inside the closure that head.js opens, in the order of static/client/parts.txt.

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

