  // static/client/json.js, a fragment: crates/server/build.rs joins it into the client inside
  // the closure that head.js opens, in the order of static/client/parts.txt.

  // =========================================================================================
  // JSON (native when the browser has it, else the fallback below)
  // =========================================================================================

  // BEGIN JSON GUARD: the only place where the native JSON object is touched.
  (function () {
    var escapeRe = /[\\"\x00-\x1f]/g;
    var meta = { '\b': '\\b', '\t': '\\t', '\n': '\\n', '\f': '\\f', '\r': '\\r', '"': '\\"', '\\': '\\\\' };

    function quote(text) {
      return '"' + text.replace(escapeRe, function (c) {
        var m = meta[c];
        if (m) {
          return m;
        }
        var hex = c.charCodeAt(0).toString(16);
        return '\\u' + '0000'.substring(hex.length) + hex;
      }) + '"';
    }

    function pad(n, width) {
      var s = String(n);
      while (s.length < width) {
        s = '0' + s;
      }
      return s;
    }

    function isoDate(d) {
      if (!isFinite(d.getTime())) {
        return null;
      }
      return d.getUTCFullYear() + '-' + pad(d.getUTCMonth() + 1, 2) + '-' + pad(d.getUTCDate(), 2) +
        'T' + pad(d.getUTCHours(), 2) + ':' + pad(d.getUTCMinutes(), 2) + ':' + pad(d.getUTCSeconds(), 2) +
        '.' + pad(d.getUTCMilliseconds(), 3) + 'Z';
    }

    // Serialises `value`; undefined for values JSON has no text for (undefined, functions).
    function str(value, stack) {
      if (value && typeof value === 'object') {
        if (value instanceof Date) {
          value = isoDate(value);
        } else if (typeof value.toJSON === 'function') {
          value = value.toJSON();
        }
      }
      if (value instanceof Number || value instanceof String || value instanceof Boolean) {
        value = value.valueOf();
      }
      switch (typeof value) {
        case 'string':
          return quote(value);
        case 'number':
          return isFinite(value) ? String(value) : 'null';
        case 'boolean':
          return String(value);
        case 'object':
          if (value === null) {
            return 'null';
          }
          for (var s = 0; s < stack.length; s++) {
            if (stack[s] === value) {
              throw new TypeError('Converting circular structure to JSON');
            }
          }
          stack.push(value);
          var parts = [];
          var i;
          var text;
          if (util.isArray(value)) {
            for (i = 0; i < value.length; i++) {
              text = str(value[i], stack);
              parts.push(text === undefined ? 'null' : text);
            }
            stack.pop();
            return '[' + parts.join(',') + ']';
          }
          for (i in value) {
            if (hasOwn(value, i)) {
              text = str(value[i], stack);
              if (text !== undefined) {
                parts.push(quote(i) + ':' + text);
              }
            }
          }
          stack.pop();
          return '{' + parts.join(',') + '}';
        default:
          return undefined;
      }
    }

    function stringify(value) {
      return str(value, []);
    }

    // A strict recursive-descent parser (no eval).
    function parse(source) {
      var text = String(source);
      var at = 0;
      var numberRe = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+\-]?\d+)?/g;
      var escapes = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };

      function fail(what) {
        throw new SyntaxError('JSON.parse: ' + what + ' at position ' + at);
      }

      function white() {
        var c = text.charAt(at);
        while (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
          at++;
          c = text.charAt(at);
        }
      }

      function string() {
        var out = '';
        var start;
        at++; // opening quote
        for (;;) {
          start = at;
          var c = text.charAt(at);
          while (c !== '"' && c !== '\\' && c !== '') {
            if (c < ' ') {
              fail('control character in string');
            }
            at++;
            c = text.charAt(at);
          }
          out += text.substring(start, at);
          if (c === '"') {
            at++;
            return out;
          }
          if (c === '') {
            fail('unterminated string');
          }
          // backslash
          c = text.charAt(at + 1);
          if (c === 'u') {
            var hex = text.substring(at + 2, at + 6);
            if (!/^[0-9a-fA-F]{4}$/.test(hex)) {
              fail('bad \\u escape');
            }
            out += String.fromCharCode(parseInt(hex, 16));
            at += 6;
          } else if (hasOwn(escapes, c)) {
            out += escapes[c];
            at += 2;
          } else {
            fail('bad escape');
          }
        }
      }

      function number() {
        numberRe.lastIndex = at;
        var m = numberRe.exec(text);
        if (!m || m.index !== at) {
          fail('bad number');
        }
        at += m[0].length;
        return Number(m[0]);
      }

      function word(w, value) {
        if (text.substring(at, at + w.length) !== w) {
          fail('unexpected token');
        }
        at += w.length;
        return value;
      }

      function value() {
        white();
        var c = text.charAt(at);
        var result;
        if (c === '{') {
          result = {};
          at++;
          white();
          if (text.charAt(at) === '}') {
            at++;
            return result;
          }
          for (;;) {
            white();
            if (text.charAt(at) !== '"') {
              fail('expected a key');
            }
            var key = string();
            white();
            if (text.charAt(at) !== ':') {
              fail('expected :');
            }
            at++;
            result[key] = value();
            white();
            c = text.charAt(at);
            at++;
            if (c === '}') {
              return result;
            }
            if (c !== ',') {
              fail('expected , or }');
            }
          }
        }
        if (c === '[') {
          result = [];
          at++;
          white();
          if (text.charAt(at) === ']') {
            at++;
            return result;
          }
          for (;;) {
            result.push(value());
            white();
            c = text.charAt(at);
            at++;
            if (c === ']') {
              return result;
            }
            if (c !== ',') {
              fail('expected , or ]');
            }
          }
        }
        if (c === '"') {
          return string();
        }
        if (c === 't') {
          return word('true', true);
        }
        if (c === 'f') {
          return word('false', false);
        }
        if (c === 'n') {
          return word('null', null);
        }
        return number();
      }

      var result = value();
      white();
      if (at !== text.length) {
        fail('unexpected text after the value');
      }
      return result;
    }

    /** The fallback, always available (tests compare it with the native object). */
    util.json = { stringify: stringify, parse: parse };

    var nativeJSON = global.JSON;
    io.JSON = nativeJSON && typeof nativeJSON.stringify === 'function' && typeof nativeJSON.parse === 'function'
      ? nativeJSON
      : util.json;
  }());
  // END JSON GUARD

