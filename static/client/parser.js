  // static/client/parser.js, a fragment: crates/server/build.rs joins it into the client inside
  // the closure that head.js opens, in the order of static/client/parts.txt.

  // =========================================================================================
  // Packet and payload codec (docs/protocol.md section 3)
  // =========================================================================================

  var parser = io.parser = {};

  var packetTypes = parser.packets = ['disconnect', 'connect', 'heartbeat', 'message', 'json', 'event', 'ack', 'error', 'noop'];
  var reasons = parser.reasons = ['transport not supported', 'client not handshaken', 'unauthorized'];
  var advices = parser.advice = ['reconnect'];

  /** Encodes a packet object ({ type, id, ack, endpoint, ... }) as text. */
  parser.encodePacket = function (packet) {
    var type = util.indexOf(packetTypes, packet.type);
    var id = packet.id || '';
    var endpoint = packet.endpoint || '';
    var data = null;

    switch (packet.type) {
      case 'error':
        var reason = packet.reason ? util.indexOf(reasons, packet.reason) : '';
        var adv = packet.advice ? util.indexOf(advices, packet.advice) : '';
        if (reason !== '' || adv !== '') {
          data = reason + (adv !== '' ? '+' + adv : '');
        }
        break;
      case 'message':
        if (packet.data !== '' && packet.data !== undefined && packet.data !== null) {
          data = String(packet.data);
        }
        break;
      case 'event':
        var ev = { name: packet.name };
        if (packet.args && packet.args.length) {
          ev.args = packet.args;
        }
        data = io.JSON.stringify(ev);
        break;
      case 'json':
        data = io.JSON.stringify(packet.data);
        break;
      case 'connect':
        if (packet.qs) {
          data = packet.qs;
        }
        break;
      case 'ack':
        data = packet.ackId + (packet.args && packet.args.length ? '+' + io.JSON.stringify(packet.args) : '');
        break;
    }

    var encoded = [type, id + (packet.ack === 'data' ? '+' : ''), endpoint];
    if (data !== null && data !== undefined) {
      encoded.push(data);
    }
    return encoded.join(':');
  };

  /**
   * Frames encoded packets into one payload: a single packet is sent bare, several as
   * U+FFFD length U+FFFD packet... with lengths in UTF-16 code units (String.length).
   */
  parser.encodePayload = function (packets) {
    if (packets.length === 1) {
      return packets[0];
    }
    var out = '';
    for (var i = 0; i < packets.length; i++) {
      out += '\ufffd' + packets[i].length + '\ufffd' + packets[i];
    }
    return out;
  };

  var packetRe = /([^:]+):([0-9]+)?(\+)?:([^:]+)?:?([\s\S]*)?/;

  /** Decodes one packet; an object without `type` when the text is not a packet. */
  parser.decodePacket = function (text) {
    var pieces = String(text).match(packetRe);
    if (!pieces || !/^[0-8]$/.test(pieces[1])) {
      return {};
    }
    var id = pieces[2] || '';
    var data = pieces[5] || '';
    var packet = {
      type: packetTypes[Number(pieces[1])],
      endpoint: pieces[4] || ''
    };

    if (id) {
      packet.id = id;
      packet.ack = pieces[3] ? 'data' : true;
    }

    switch (packet.type) {
      case 'error':
        var parts = data.split('+');
        packet.reason = reasons[parts[0]] || '';
        packet.advice = advices[parts[1]] || '';
        break;
      case 'message':
        packet.data = data;
        break;
      case 'event':
        try {
          var ev = io.JSON.parse(data);
          if (ev && typeof ev.name === 'string') {
            packet.name = ev.name;
            packet.args = ev.args;
          }
        } catch (e) {
          // no name: ignored by the namespace
        }
        if (!util.isArray(packet.args)) {
          packet.args = [];
        }
        break;
      case 'json':
        try {
          packet.data = io.JSON.parse(data);
        } catch (e2) {
          packet.invalid = true;
        }
        break;
      case 'connect':
        packet.qs = data;
        break;
      case 'ack':
        var m = data.match(/^([0-9]+)(\+)?([\s\S]*)/);
        if (m) {
          packet.ackId = m[1];
          packet.args = [];
          if (m[2] && m[3]) {
            try {
              var args = io.JSON.parse(m[3]);
              if (util.isArray(args)) {
                packet.args = args;
              }
            } catch (e3) {
              // acknowledged without arguments
            }
          }
        }
        break;
    }
    return packet;
  };

  /**
   * Decodes a body that holds one bare packet or a framed payload. A framed payload whose
   * framing does not add up exactly is dropped whole (returns []).
   */
  parser.decodePayload = function (data) {
    data = String(data);
    if (data.charAt(0) !== '\ufffd') {
      return [parser.decodePacket(data)];
    }
    var packets = [];
    var i = 0;
    var l = data.length;
    while (i < l) {
      if (data.charAt(i) !== '\ufffd') {
        return [];
      }
      var j = i + 1;
      var digits = '';
      while (j < l && data.charAt(j) !== '\ufffd') {
        digits += data.charAt(j);
        j++;
      }
      if (j >= l || !/^[0-9]+$/.test(digits)) {
        return [];
      }
      var length = Number(digits);
      var start = j + 1;
      if (start + length > l) {
        return [];
      }
      packets.push(parser.decodePacket(data.substr(start, length)));
      i = start + length;
    }
    return packets;
  };

