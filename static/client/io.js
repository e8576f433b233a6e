  // static/client/io.js, a fragment: crates/server/build.rs joins it into the client inside the
  // closure that head.js opens, in the order of static/client/parts.txt.

  // =========================================================================================
  // The io object
  // =========================================================================================

  var io = {};

  /** API version this client is compatible with (socket.io-client 0.9.17). */
  io.version = '0.9.17';

  /** Name and version of this implementation. */
  io.client = 'ferrio 0.1.0';

  /** Protocol number, the `1` in /socket.io/1/. */
  io.protocol = 1;

  /** Transport names in the order they are tried (design note 1). */
  io.transports = ['websocket', 'flashsocket', 'xhr-polling', 'xhr-multipart', 'htmlfile', 'jsonp-polling'];

  /** JSONP callbacks: the server calls io.j[k](data) (handshake `&jsonp=k`, jsonp-polling). */
  io.j = [];

  /** Connections shared by io.connect, keyed by scheme://host:port. */
  io.sockets = {};

