  // static/client/tail.js, the last part of the browser client (joined by
  // crates/server/build.rs in the order of static/client/parts.txt): it exports io and ends the
  // function that head.js opens.

  // =========================================================================================
  // Export
  // =========================================================================================

  global.io = io;

  if (typeof global.define === 'function' && global.define.amd) {
    global.define([], function () {
      return io;
    });
  }

}(typeof window !== 'undefined' ? window : this));
