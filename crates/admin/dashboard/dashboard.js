/* ferrio's live dashboard. The page holds no data: it asks GET /api/dashboard every two
   seconds with the API token as a Bearer header and draws what comes back. The token comes
   from the URL fragment (#token=...), which browsers never send to the server, or from the
   form; it is kept nowhere else. The server samples its counters every second, so the charts
   show the last two minutes as soon as the page opens.

   ES5 and DOM calls only: no build step, no inline script or style (the page's
   Content-Security-Policy allows neither), text from the server set as text, never as markup
   (room names are chosen by clients). */
(function () {
  'use strict';

  var ENDPOINT = '/api/dashboard';
  var POLL_EVERY_MS = 2000;
  var REQUEST_TIMEOUT_MS = 5000;
  var SVG = 'http://www.w3.org/2000/svg';
  var CHART_WIDTH = 300;
  var CHART_HEIGHT = 100;
  /* Rates the server keeps: the chart's width stands for this many points. */
  var CHART_POINTS = 120;

  var GENERATION_NAMES = {
    '0.9': 'Socket.IO 0.9',
    eio3: 'Engine.IO 3 (socket.io 1\u20132)',
    eio4: 'Engine.IO 4 (socket.io 3\u20134)'
  };
  var TRANSPORT_NAMES = { none: 'not connected yet' };

  var token = null;
  var timer = null;
  var pending = null;

  function byId(id) {
    return document.getElementById(id);
  }

  /* An element with attributes and children (strings become text nodes). */
  function el(tag, attributes, children) {
    var node = document.createElement(tag);
    var name;
    for (name in attributes || {}) {
      if (Object.prototype.hasOwnProperty.call(attributes, name)) node.setAttribute(name, attributes[name]);
    }
    (children || []).forEach(function (child) {
      node.appendChild(typeof child === 'string' ? document.createTextNode(child) : child);
    });
    return node;
  }

  function svgEl(tag, attributes) {
    var node = document.createElementNS(SVG, tag);
    Object.keys(attributes).forEach(function (name) {
      node.setAttribute(name, attributes[name]);
    });
    return node;
  }

  function replaceChildren(node, children) {
    while (node.firstChild) node.removeChild(node.firstChild);
    children.forEach(function (child) {
      node.appendChild(child);
    });
  }

  function setText(id, text) {
    byId(id).textContent = text;
  }

  function formatNumber(value) {
    if (value >= 100 || value === Math.round(value)) return String(Math.round(value));
    return value.toFixed(value >= 10 ? 1 : 2);
  }

  function formatSeconds(seconds) {
    if (seconds < 60) return seconds + ' s';
    var minutes = Math.floor(seconds / 60);
    var rest = seconds % 60;
    return minutes + ' min' + (rest ? ' ' + rest + ' s' : '');
  }

  function last(list) {
    return list.length ? list[list.length - 1] : 0;
  }

  /* ---- token ---------------------------------------------------------------------------- */

  function tokenFromFragment() {
    var parts = window.location.hash.replace(/^#/, '').split('&');
    for (var i = 0; i < parts.length; i += 1) {
      if (parts[i].indexOf('token=') === 0) {
        try {
          return decodeURIComponent(parts[i].slice('token='.length)) || null;
        } catch (malformed) {
          return null;
        }
      }
    }
    return null;
  }

  function setState(state, statusText, statusClass) {
    document.body.setAttribute('data-state', state);
    var status = byId('status');
    status.textContent = statusText;
    status.className = 'status ' + (statusClass || '');
  }

  /* The form, with why it is shown; the board is hidden, so no stale figure stays on screen. */
  function requireToken(state, title, reason) {
    stop();
    byId('board').hidden = true;
    byId('token-required').hidden = false;
    setText('token-title', title);
    setText('token-reason', reason);
    setState(state, title, 'off');
  }

  function stop() {
    if (timer !== null) window.clearTimeout(timer);
    timer = null;
    if (pending) pending.abort();
    pending = null;
  }

  function start() {
    stop();
    token = tokenFromFragment();
    if (!token) {
      requireToken(
        'token-required',
        'Token required',
        'This dashboard reads the admin API, which needs its bearer token (--api-token, FERRIO_API_TOKEN).'
      );
      return;
    }
    poll();
  }

  byId('token-form').addEventListener('submit', function (event) {
    event.preventDefault();
    var input = byId('token-input');
    if (!input.value) return;
    /* Replaced, not pushed: the token does not pile up in the history. */
    window.history.replaceState(null, '', '#token=' + encodeURIComponent(input.value));
    input.value = '';
    start();
  });

  window.addEventListener('hashchange', start);

  /* ---- polling -------------------------------------------------------------------------- */

  function poll() {
    var request = new XMLHttpRequest();
    pending = request;
    request.open('GET', ENDPOINT, true);
    request.setRequestHeader('Authorization', 'Bearer ' + token);
    request.setRequestHeader('Accept', 'application/json');
    request.timeout = REQUEST_TIMEOUT_MS;
    request.onload = function () {
      if (pending !== request) return;
      pending = null;
      answered(request);
    };
    request.onerror = request.ontimeout = function () {
      if (pending !== request) return;
      pending = null;
      unreachable('no answer from the admin listener');
    };
    request.send();
  }

  function answered(request) {
    if (request.status === 401) {
      requireToken('token-refused', 'Token required', 'The admin API refused that token: check --api-token (FERRIO_API_TOKEN).');
      return;
    }
    if (request.status === 404) {
      requireToken(
        'api-off',
        'The admin API is off',
        'This server has no API token configured, so the API the dashboard reads is off. ' +
          'Start ferrio with --api-token (or FERRIO_API_TOKEN) and open this page again.'
      );
      return;
    }
    if (request.status !== 200) {
      unreachable('the admin API answered ' + request.status);
      return;
    }
    var data;
    try {
      data = JSON.parse(request.responseText);
    } catch (malformed) {
      unreachable('the admin API answered something that is not JSON');
      return;
    }
    render(data);
    schedule();
  }

  /* The last figures stay on screen, marked stale, while the page keeps asking. */
  function unreachable(why) {
    if (byId('board').hidden) {
      setState('unreachable', 'Cannot read the dashboard: ' + why + '; retrying', 'off');
    } else {
      setState('stale', 'Figures are stale: ' + why + '; retrying', 'warn');
    }
    schedule();
  }

  function schedule() {
    timer = window.setTimeout(function () {
      timer = null;
      poll();
    }, POLL_EVERY_MS);
  }

  /* ---- drawing -------------------------------------------------------------------------- */

  function render(data) {
    var node = data.node;
    byId('token-required').hidden = true;
    byId('board').hidden = false;
    var where = data.cluster ? 'node ' + data.cluster.node + ' \u00b7 ' : '';
    setState(
      'live',
      (node.ready ? 'Ready' : 'Draining') + ' \u00b7 ' + where + 'updated ' + new Date().toLocaleTimeString(),
      node.ready ? 'ok' : 'warn'
    );
    setText('sessions-total', String(node.sessions));
    drawCounts(byId('by-transport'), node.transports, TRANSPORT_NAMES, false);
    drawCounts(byId('by-generation'), node.generations, GENERATION_NAMES, false);
    drawRates(
      'handshakes',
      node.rates,
      ['handshakes_accepted', 'accepted'],
      ['handshakes_refused', 'refused'],
      node.totals.handshakes_accepted + ' accepted, ' + node.totals.handshakes_refused + ' refused since start.'
    );
    drawRates(
      'messages',
      node.rates,
      ['messages_in', 'in'],
      ['messages_out', 'out'],
      node.totals.messages_in + ' in, ' + node.totals.messages_out + ' out since start (messages, events and acks).'
    );
    drawDisconnects(node.disconnects);
    drawNamespaces(data.namespaces, !!data.cluster);
    drawCluster(data.cluster);
  }

  function meter(value, max) {
    var fill = el('span');
    fill.style.width = (max > 0 ? Math.round((value / max) * 100) : 0) + '%';
    return el('div', { class: 'meter' }, [fill]);
  }

  /* Rows of label, bar and count; `names` gives labels a reader's name. */
  function drawCounts(table, counts, names, skipZero) {
    var labels = Object.keys(counts);
    var max = 0;
    labels.forEach(function (label) {
      max = Math.max(max, counts[label]);
    });
    var rows = [];
    labels.forEach(function (label) {
      var count = counts[label];
      if (skipZero && !count) return;
      rows.push(
        el('tr', { class: count ? '' : 'zero', 'data-label': label }, [
          el('td', {}, [(names && names[label]) || label]),
          el('td', { class: 'bar' }, [meter(count, max)]),
          el('td', { class: 'count' }, [String(count)])
        ])
      );
    });
    replaceChildren(table, rows);
    return rows.length;
  }

  /* Chart `name` of two series, each given as [key in rates, label], with its legend (the
     latest rates), its scale and `totals`. */
  function drawRates(name, rates, firstSeries, secondSeries, totals) {
    var first = rates[firstSeries[0]];
    var second = rates[secondSeries[0]];
    var top = niceCeiling(Math.max.apply(null, [1].concat(first, second)));
    var span = formatSeconds(CHART_POINTS * rates.interval_seconds);
    replaceChildren(byId(name + '-legend'), [
      el('span', { class: 'item' }, [el('span', { class: 'key first' }), firstSeries[1] + ' ' + formatNumber(last(first)) + '/s']),
      el('span', { class: 'item' }, [el('span', { class: 'key second' }), secondSeries[1] + ' ' + formatNumber(last(second)) + '/s'])
    ]);
    replaceChildren(byId(name + '-chart'), [chart(first, second, top, span)]);
    setText(name + '-scale', 'Scale 0\u2013' + top + '/s over the last ' + span + '.');
    setText(name + '-totals', totals);
  }

  /* Two series as polylines, newest at the right edge, 0 to `top` bottom to top. */
  function chart(first, second, top, span) {
    var svg = svgEl('svg', {
      viewBox: '0 0 ' + CHART_WIDTH + ' ' + CHART_HEIGHT,
      preserveAspectRatio: 'none',
      role: 'img',
      'aria-label': 'the last ' + span + ', 0 to ' + top + ' per second'
    });
    [0.25, 0.5, 0.75].forEach(function (fraction) {
      var y = CHART_HEIGHT * fraction;
      svg.appendChild(svgEl('line', { class: 'grid', x1: 0, y1: y, x2: CHART_WIDTH, y2: y, 'stroke-width': 1, 'vector-effect': 'non-scaling-stroke' }));
    });
    svg.appendChild(polyline(second, top, 'line-second'));
    svg.appendChild(polyline(first, top, 'line-first'));
    return svg;
  }

  function polyline(values, top, className) {
    var step = CHART_WIDTH / (CHART_POINTS - 1);
    var offset = CHART_WIDTH - (values.length - 1) * step;
    var points = values.map(function (value, index) {
      var x = offset + index * step;
      var y = CHART_HEIGHT - (value / top) * (CHART_HEIGHT - 2) - 1;
      return x.toFixed(1) + ',' + y.toFixed(1);
    });
    return svgEl('polyline', {
      class: className,
      points: points.join(' '),
      fill: 'none',
      'stroke-width': 2,
      'vector-effect': 'non-scaling-stroke',
      'stroke-linejoin': 'round'
    });
  }

  /* 1, 2, 5 times a power of ten: a scale a reader takes in at a glance. */
  function niceCeiling(value) {
    var power = Math.pow(10, Math.floor(Math.log(value) / Math.LN10));
    var steps = [1, 2, 5, 10];
    for (var i = 0; i < steps.length; i += 1) {
      if (steps[i] * power >= value) return steps[i] * power;
    }
    return 10 * power;
  }

  function drawDisconnects(disconnects) {
    var total = 0;
    Object.keys(disconnects.total).forEach(function (reason) {
      total += disconnects.total[reason];
    });
    var window_ = formatSeconds(disconnects.recent_seconds);
    var shown = drawCounts(byId('disconnects-recent'), disconnects.recent, null, true);
    var heading;
    if (shown) heading = 'By reason, in the last ' + window_ + ':';
    else if (total) heading = 'None in the last ' + window_ + '.';
    else heading = 'None since start.';
    setText('disconnects-window', heading);
    setText('disconnects-total', total ? total + ' since start (sessions and namespace sockets).' : '');
  }

  function drawNamespaces(namespaces, clustered) {
    setText('namespaces-scope', clustered ? 'whole cluster' : 'this node');
    replaceChildren(
      byId('namespaces'),
      namespaces.map(function (namespace) {
        var rooms = namespace.rooms;
        var max = rooms.length ? rooms[0].size : 0;
        var children = [
          el('h3', {}, [
            namespace.name + ' \u00b7 ' + namespace.sockets + (namespace.sockets === 1 ? ' socket' : ' sockets') +
              ' \u00b7 ' + namespace.room_count + (namespace.room_count === 1 ? ' room' : ' rooms')
          ])
        ];
        if (rooms.length) {
          children.push(
            el(
              'table',
              { class: 'bars rooms' },
              [el('tr', {}, [el('th', {}, ['room']), el('th', { class: 'bar' }), el('th', { class: 'count' }, ['size'])])].concat(
                rooms.map(function (room) {
                  return el('tr', { 'data-room': room.name }, [
                    el('td', {}, [room.name]),
                    el('td', { class: 'bar' }, [meter(room.size, max)]),
                    el('td', { class: 'count' }, [String(room.size)])
                  ]);
                })
              )
            )
          );
          if (namespace.room_count > rooms.length) {
            children.push(el('p', { class: 'note' }, ['and ' + (namespace.room_count - rooms.length) + ' smaller rooms']));
          }
        }
        return el('div', { class: 'namespace', 'data-namespace': namespace.name }, children);
      })
    );
  }

  function drawCluster(cluster) {
    byId('cluster-card').hidden = !cluster;
    if (!cluster) return;
    var header = el('tr', {}, [el('th', {}, ['node']), el('th', { class: 'count' }, ['sessions']), el('th', { class: 'count' }, ['state'])]);
    replaceChildren(
      byId('cluster-nodes'),
      [header].concat(
        cluster.nodes.map(function (node) {
          var own = node.node === cluster.node;
          return el('tr', { 'data-node': node.node }, [
            el('td', {}, own ? [node.node + ' ', el('span', { class: 'self' }, ['(this node)'])] : [node.node]),
            el('td', { class: 'count' }, [String(node.sessions)]),
            el('td', { class: 'count ' + (node.ready ? 'ready' : 'draining') }, [node.ready ? 'ready' : 'draining'])
          ]);
        })
      )
    );
    setText(
      'cluster-missing',
      cluster.missing.length
        ? 'Not answering: ' + cluster.missing.join(', ') + ' (their rooms and sessions are not counted).'
        : cluster.nodes.length + ' nodes, ' + cluster.sessions + ' sessions in all.'
    );
  }

  start();
})();
