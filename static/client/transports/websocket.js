  // static/client/transports/websocket.js, a fragment: crates/server/build.rs joins it into the
  // client inside the closure that head.js opens, in the order of static/client/parts.txt.

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
      return this.refuseLater(); // e.g. a blocked port
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

