  // static/client/transports/flashsocket.js, a fragment: crates/server/build.rs joins it into
  // the client inside the closure that head.js opens, in the order of static/client/parts.txt.

  // =========================================================================================
  // Transport 'flashsocket' (a Flash WebSocket shim on the page, its movie from the server)
  // =========================================================================================

  function Flashsocket(socket, sessid) {
    WS.call(this, socket, sessid);
  }

  util.inherit(Flashsocket, WS);

  Flashsocket.prototype.name = 'flashsocket';

  Flashsocket.prototype.constructorFn = function () {
    return global.WebSocket; // the shim
  };

  /** Waits for document.body, then initialises the shim once. */
  Flashsocket.prototype.ready = function (socket, fn) {
    var self = this;
    var doc = global.document;
    function init() {
      var options = socket.options;
      var W = global.WebSocket;
      if (!Flashsocket.loaded) {
        if (typeof global.WEB_SOCKET_SWF_LOCATION !== 'string') {
          global.WEB_SOCKET_SWF_LOCATION = (options.secure ? 'https' : 'http') + '://' + options.host + ':' +
            options.port + '/' + options.resource + '/static/flashsocket/WebSocketMain' +
            (socket.isXDomain() ? 'Insecure' : '') + '.swf';
        }
        if (W.loadFlashPolicyFile && Number(options['flash policy port']) !== 843) {
          W.loadFlashPolicyFile('xmlsocket://' + options.host + ':' + options['flash policy port']);
        }
        W.__initialize();
        Flashsocket.loaded = true;
      }
      fn.call(self);
    }
    if (doc && doc.body) {
      return init();
    }
    util.load(init);
  };

  Flashsocket.check = function () {
    var W = global.WebSocket;
    if (!W || !W.__initialize) {
      return false;
    }
    var so = global.swfobject;
    if (so && so.getFlashPlayerVersion) {
      return so.getFlashPlayerVersion().major >= 10;
    }
    return true;
  };

  Flashsocket.xdomainCheck = function () {
    return true;
  };

  io.Transport.flashsocket = Flashsocket;

