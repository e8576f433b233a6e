  // static/client/namespace.js, a fragment: crates/server/build.rs joins it into the client
  // inside the closure that head.js opens, in the order of static/client/parts.txt.

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

