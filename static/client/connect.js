  // static/client/connect.js, a fragment: crates/server/build.rs joins it into the client
  // inside the closure that head.js opens, in the order of static/client/parts.txt.

  // =========================================================================================
  // io.connect
  // =========================================================================================

  /**
   * io.connect([url], [options]): the namespace object for the URL's path on a connection
   * shared by every call for the same scheme://host:port (unless 'force new connection').
   */
  io.connect = function (host, details) {
    var uri = util.parseUri(host);
    var loc = global.location;
    var explicitHost = !!uri.host;

    if (loc && /^https?:$/.test(loc.protocol)) {
      uri.protocol = uri.protocol || loc.protocol.slice(0, -1);
      uri.host = uri.host || loc.hostname;
      if (!uri.port) {
        // The page's port only for the page's own host and scheme.
        var samePlace = (!explicitHost || uri.host === loc.hostname) && uri.protocol + ':' === loc.protocol;
        uri.port = samePlace ? loc.port : '';
      }
    }
    uri.protocol = uri.protocol || 'http';
    uri.host = uri.host || 'localhost';
    var secure = uri.protocol === 'https';
    uri.port = uri.port || (secure ? 443 : 80);

    var key = util.uniqueUri(uri);
    var options = {
      host: uri.host,
      secure: secure,
      port: uri.port,
      query: uri.query || ''
    };
    util.merge(options, details);

    var socket;
    if (options['force new connection'] || !hasOwn(io.sockets, key)) {
      socket = new Socket(options);
      if (!options['force new connection']) {
        io.sockets[key] = socket;
      }
    } else {
      socket = io.sockets[key];
      if (!socket.connected && !socket.connecting && !socket.reconnecting) {
        socket.connect();
      }
    }
    return socket.of(uri.path.length > 1 ? uri.path : '');
  };

