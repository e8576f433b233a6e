// static/client/head.js, the first part of the browser client: crates/server/build.rs joins the
// parts listed in static/client/parts.txt into /socket.io/socket.io.js. This one opens the
// function that every other part runs in, so that they share its names; tail.js ends it.
/*!
 * ferrio browser client: the Socket.IO 0.9 wire protocol ("protocol 1") with the API of
 * socket.io-client 0.9.17 (io.connect, namespaces, emit/ack, reconnection).
 *
 * Written in ECMAScript 3 so that IE6-era engines parse it: no ES5 built-ins (a JSON fallback
 * is included), no trailing commas, no reserved words as property names, ASCII source only.
 *
 * DESIGN NOTES (where this client deliberately differs from socket.io-client 0.9.17)
 *
 * 1. Transport order and selection. io.transports is
 *      websocket, flashsocket, xhr-polling, xhr-multipart, htmlfile, jsonp-polling
 *    and is intersected with the handshake's list keeping THIS order; names the client does
 *    not know, and transports whose check fails in this browser (design note 6), are
 *    skipped. The `transports` option REPLACES the list (the reference merged it into the
 *    global array, docs/protocol.md section 8 #17).
 *
 * 2. Fallback on refusal. A transport that fails before the session is connected (WebSocket
 *    error/close before `1::`, an XHR poll or multipart stream that errors or answers non-200
 *    before `1::`, a JSONP script that fails to load, an htmlfile iframe that finishes
 *    loading without a single `_()` call, an htmlfile that cannot open a POST, a WebSocket
 *    constructor or XHR open() that throws) moves on to the next transport AT ONCE instead of
 *    waiting out `connect timeout`. The next transport reuses the SAME session id when
 *      - the failed transport never reached the server (no WebSocket `open`, no poll
 *        answered), so the server never attached it to the session, and
 *      - the handshake is younger than 15 s (half the server's 30 s expiry of unused ids);
 *    otherwise the client makes a NEW handshake and goes on with the remaining transports.
 *    `connect timeout` still covers transports that hang (same rules for the session id);
 *    the transport that timed out is closed instead of being left open.
 *    Each fallback drops the failed transport from the stored list (like the reference), so
 *    reconnections start with the transport that worked; the final all-transports try of
 *    the reconnection algorithm starts over with the full list.
 *
 * 3. Reconnection with jitter. The algorithm is the reference's (docs/protocol.md section 6.7): the nominal
 *    delay starts at `reconnection delay`, doubles per attempt and is capped at
 *    `reconnection limit`; after `max reconnection attempts` one final try with all
 *    transports, then `reconnect_failed`. Every WAIT is the nominal delay multiplied by a
 *    random factor in [1 - j, 1], where j is the option `reconnection jitter` (default
 *    0.5, so the factor is in [0.5, 1.0]; 0 turns jitter off). Waits are therefore never
 *    longer than the reference's, and many clients dropped at once by a server restart come
 *    back spread over half of each window instead of all together.
 *    `reconnecting(delay, attempt)` reports the real wait in ms (an integer) that this
 *    attempt gets before the next check, i.e. what a countdown in the page should show;
 *    the nominal, un-jittered value is `socket.socket.reconnectionDelay`.
 *    Unlike the reference, the final try also ends in `reconnect_failed` when its handshake
 *    fails (server gone), and a handshake that hangs is abandoned after `connect timeout`.
 *
 * 4. Other fixes: a 403 handshake resets the state and fires `error` (no stuck
 *    "connecting", section 8 #20); incoming packets with an id but no `+` are acknowledged
 *    automatically for types 3, 4 AND 5 before dispatch (section 8 #18); emits made while
 *    not connected are buffered and flushed in order after (re)connect, after the `1::/ns`
 *    re-joins; a POST is never overtaken by the next one (one data POST in flight, heartbeat
 *    replies go out at once); packets still queued in a dying transport go back to the
 *    buffer; `disconnect()` also stops a running reconnection; `io.connect()` on a cached
 *    connection that was disconnected connects it again; a payload whose framing does not
 *    add up is dropped whole; a namespace left with `disconnect()` is not re-joined.
 *
 * 5. `sync disconnect on unload` sends GET /{resource}/1//{sid}/?disconnect=1 on
 *    beforeunload, and again on pagehide (unload where pagehide does not exist) if the first
 *    did not happen. Browsers that have `fetch` refuse synchronous XHR while a page
 *    is being dismissed (Chromium since version 80), so there the same GET goes out as a
 *    `fetch` with `keepalive: true`; older browsers get the synchronous XHR. An open
 *    WebSocket also gets `0::` first, so the server ends the session as `booted` whichever
 *    arrives first.
 *
 * 6. Legacy transports (docs/protocol.md sections 5.3, 5.5, 5.6), each in a file of its own
 *    under static/client/transports, sharing the Polling base (transports/polling.js):
 *    - jsonp-polling: <script> GETs calling io.j[k], form POSTs into hidden iframes. Needs
 *      nothing but a document and works across origins without CORS.
 *    - htmlfile: the server's document calls `parent.s._(p, document)`, a name fixed by the
 *      server's prelude. The streaming iframe is therefore never a child of the page itself:
 *      it lives inside a private container (IE: the ActiveX `htmlfile` document, as in the
 *      reference; elsewhere a hidden same-origin blank iframe), and `s` is set on THAT
 *      container's window only. Each connection has its own container, so several htmlfile
 *      connections on one page never share `s`, and the page's own global `s` is untouched.
 *      `\/` in the data is kept as it is (the reference turned it into `/`, section 8 #19).
 *      A streaming transport that cannot POST could never answer a heartbeat, so htmlfile
 *      refuses at once (and the next transport is tried) when no XHR POST can be opened.
 *    - xhr-multipart (ferrio's extension): one XHR GET read while it loads (readyState 3 /
 *      progress), split on the boundary of its Content-Type header; offered only where the
 *      browser has an XMLHttpRequest with progress events (XHR level 2), never through
 *      XDomainRequest or ActiveX, which cannot read a response before it ends. A stream that
 *      ends with its closing delimiter is followed by a new GET on the same session.
 *    The handshake uses JSONP (docs/protocol.md section 2.4) not only across origins without
 *    CORS but also when no XHR can be opened at all (IE with ActiveX disabled), so
 *    jsonp-polling is reachable.
 *
 * SOURCE LAYOUT. This script is joined at build time from the files of static/client, in the
 * order of static/client/parts.txt (one file per transport under static/client/transports);
 * each part names its file in a comment at its start.
 */

(function (global) {

