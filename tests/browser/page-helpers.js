// Injected into every test page after the client script (ours or the real 0.9.17 build).
// Runs in Chromium, so modern JavaScript is fine here; only our client (static/client) must be ES3.
//
// window.T keeps a log of everything the page's sockets saw, so the Node side can wait for
// entries and read them (see harness.js).
(function () {
  'use strict';

  const LIFECYCLE = [
    'connecting',
    'connect',
    'connect_failed',
    'disconnect',
    'error',
    'reconnecting',
    'reconnect',
    'reconnect_failed',
  ];
  const CUSTOM = ['echo', 'bmsg', 'hi', 'q', 'message', 'a', 'b', 'roommsg', 'nonvol', 'toClient'];

  // A page may hide window.JSON to exercise the client's fallback; the helpers keep theirs.
  const json = window.__nativeJSON || window.JSON;

  /** A JSON-safe copy of one event argument. */
  function safe(value) {
    if (typeof value === 'function') return '[function]';
    if (value === undefined) return '[undefined]';
    if (value instanceof Event) return `[event ${value.type}]`;
    try {
      return json.parse(json.stringify(value));
    } catch {
      return String(value);
    }
  }

  const T = {
    log: [],
    sockets: {},
    start: Date.now(),

    record(id, name, args) {
      T.log.push({ s: id, name, args: Array.from(args, safe), at: Date.now() - T.start });
    },

    /**
     * io.connect(url, options) as socket `id`, recording its lifecycle and custom events.
     * `globalTransports` assigns io.transports first (the only way to force a transport on
     * the real 0.9.17 client, docs/protocol.md §6.4). `handlers` names custom events whose last argument,
     * if a function, is called with `ackWith` (the ack with data of a `5:N+` packet).
     */
    connect(id, url, options, { globalTransports = null, ackWith = null } = {}) {
      if (globalTransports) io.transports = globalTransports.slice();
      const socket = url === null ? io.connect(undefined, options) : io.connect(url, options);
      T.sockets[id] = socket;
      T.watch(id, socket, ackWith);
      return socket.socket && socket.socket.sessionid;
    },

    /** Records the events of an already made namespace object as `id`. */
    watch(id, socket, ackWith) {
      for (const name of LIFECYCLE.concat(CUSTOM)) {
        socket.on(name, function (...args) {
          T.record(id, name, args);
          const last = args[args.length - 1];
          if (ackWith && typeof last === 'function' && Object.prototype.hasOwnProperty.call(ackWith, name)) {
            last(...ackWith[name]);
          }
        });
      }
    },

    /** socket.of(ns) of socket `id`, recorded as `newId`. */
    of(id, ns, newId) {
      const nsp = T.sockets[id].of(ns);
      T.sockets[newId] = nsp;
      T.watch(newId, nsp, null);
    },

    /** emit(name, ...args, fn); resolves with the ack's arguments. */
    emitAck(id, name, args) {
      return new Promise((resolve) => {
        T.sockets[id].emit(name, ...args, (...ackArgs) => resolve(ackArgs.map(safe)));
      });
    },

    /** send(text, fn); resolves with the ack's arguments. */
    sendAck(id, text) {
      return new Promise((resolve) => {
        T.sockets[id].send(text, (...ackArgs) => resolve(ackArgs.map(safe)));
      });
    },

    emit(id, name, args) {
      T.sockets[id].emit(name, ...args);
    },

    /** The state of the underlying connection. */
    state(id) {
      const base = T.sockets[id].socket;
      return {
        connected: base.connected,
        connecting: base.connecting,
        reconnecting: !!base.reconnecting,
        open: base.open,
        sessionid: base.sessionid,
        transport: base.transport ? base.transport.name : null,
      };
    },

    entries(id, name) {
      return T.log.filter((e) => (id == null || e.s === id) && (name == null || e.name === name));
    },
  };

  window.T = T;
})();
