'use strict';

// Our browser client as the browser suite checks it: the script ferrio serves at
// /socket.io/socket.io.js, which crates/server/build.rs joins from the parts in static/client
// in the order of static/client/parts.txt. Every check of the client (ES3 syntax, the unit
// tests in a vm, the pages) runs on those served bytes, so it sees what browsers get.
//
// The served bytes are also compared with the parts as they are on disk, joined the same way
// (concatenated in the listed order, nothing in between): a binary built before the last edit
// of a part would otherwise test old code without a word.

const fs = require('node:fs');
const path = require('node:path');

const { startFerrio } = require('./harness');

const CLIENT_DIR = path.resolve(__dirname, '..', '..', 'static', 'client');
const PARTS_LIST = path.join(CLIENT_DIR, 'parts.txt');
const CLIENT_URL_PATH = '/socket.io/socket.io.js';

/** The parts' paths in the declared order (blank lines and `#` comments skipped, as build.rs). */
function partPaths() {
  return fs
    .readFileSync(PARTS_LIST, 'utf8')
    .split('\n')
    .map((line) => line.split('#')[0].trim())
    .filter((part) => part !== '')
    .map((part) => path.join(CLIENT_DIR, part));
}

/** The parts on disk joined as build.rs joins them. */
function joinedParts() {
  return Buffer.concat(partPaths().map((part) => fs.readFileSync(part)));
}

/** The URL of the client script on `server` (anything with a `url`). */
function clientUrl(server) {
  return `${server.url}${CLIENT_URL_PATH}`;
}

/**
 * The client script `server` serves, as text; rejects when it is not the join of the current
 * parts (a binary older than the sources).
 */
async function servedClient(server) {
  const response = await fetch(clientUrl(server));
  if (response.status !== 200) throw new Error(`GET ${CLIENT_URL_PATH}: status ${response.status}`);
  const served = Buffer.from(await response.arrayBuffer());
  if (!served.equals(joinedParts())) {
    throw new Error(
      `the client served by ferrio is not the join of static/client (parts.txt order): ` +
        'rebuild with `cargo build -p ferrio-server`',
    );
  }
  return served.toString('utf8');
}

/** The served client from a ferrio started for the purpose (for suites that need no server). */
async function fetchServedClient() {
  const server = await startFerrio();
  try {
    return await servedClient(server);
  } finally {
    await server.stop();
  }
}

module.exports = { clientUrl, fetchServedClient, servedClient };
