  // static/client/events.js, a fragment: crates/server/build.rs joins it into the client inside
  // the closure that head.js opens, in the order of static/client/parts.txt.

  // =========================================================================================
  // EventEmitter
  // =========================================================================================

  function EventEmitter() {}

  io.EventEmitter = EventEmitter;

  EventEmitter.prototype.on = function (name, fn) {
    if (!this.$events) {
      this.$events = {};
    }
    if (!hasOwn(this.$events, name)) {
      this.$events[name] = [];
    }
    this.$events[name].push(fn);
    return this;
  };

  EventEmitter.prototype.addListener = EventEmitter.prototype.on;

  /** Like on(), but the listener is removed before its first call. */
  EventEmitter.prototype.once = function (name, fn) {
    var self = this;
    function on() {
      self.removeListener(name, on);
      fn.apply(this, arguments);
    }
    on.listener = fn;
    return this.on(name, on);
  };

  EventEmitter.prototype.removeListener = function (name, fn) {
    if (this.$events && hasOwn(this.$events, name)) {
      var list = this.$events[name];
      for (var i = 0; i < list.length; i++) {
        if (list[i] === fn || (list[i] && list[i].listener === fn)) {
          list.splice(i, 1);
          break;
        }
      }
      if (!list.length) {
        delete this.$events[name];
      }
    }
    return this;
  };

  EventEmitter.prototype.removeAllListeners = function (name) {
    if (name === undefined) {
      this.$events = {};
    } else if (this.$events && hasOwn(this.$events, name)) {
      delete this.$events[name];
    }
    return this;
  };

  /** The live listener array of `name`. */
  EventEmitter.prototype.listeners = function (name) {
    if (!this.$events) {
      this.$events = {};
    }
    if (!hasOwn(this.$events, name)) {
      this.$events[name] = [];
    }
    return this.$events[name];
  };

  /** Calls the listeners of `name` with the remaining arguments; false if there were none. */
  EventEmitter.prototype.emit = function (name) {
    if (!this.$events || !hasOwn(this.$events, name)) {
      return false;
    }
    var list = this.$events[name].slice(0); // listeners may remove themselves
    var args = util.toArray(arguments, 1);
    for (var i = 0; i < list.length; i++) {
      list[i].apply(this, args);
    }
    return true;
  };

