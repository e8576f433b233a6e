'use strict';

// python-socketio's AsyncClient (from PyPI, installed by tests/run.sh into tests/.venv), a
// real Socket.IO 5 client nobody here wrote, against `ferrio --app chat` over polling and
// over WebSocket, in a chat with the real socket.io-client 0.9.17 and 4.8: its line reaches
// both once, it hears its own line back, and its message with an ack is acked with its text
// (tests/interop/python_client.py).

const assert = require('node:assert/strict');
const { execFile } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { after, before, describe, test } = require('node:test');

const { closeAllClients, openClient, startServer } = require('./harness');
const { assertTransport } = require('./scenarios');
const { closeAllModernClients, openModern } = require('./modern_clients');
const { TIMEOUT, delay } = require('../shared/timing');

const TEST_TIMEOUT = 60_000;
const TEXT = 'é€😀';

/** The virtual environment tests/run.sh installs python-socketio into. */
const PYTHON = process.env.PYTHON_SOCKETIO || path.join(__dirname, '..', '.venv', 'bin', 'python');
const SCRIPT = path.join(__dirname, 'python_client.py');

/** Runs the Python client; its JSON report. A missing interpreter is a failure, never a skip. */
function runPython(url, transport, name) {
  if (!fs.existsSync(PYTHON)) {
    throw new Error(`python-socketio's interpreter not found at ${PYTHON}: run tests/run.sh, which installs it`);
  }
  return new Promise((resolve, reject) => {
    execFile(PYTHON, [SCRIPT, url, transport, name, TEXT], { timeout: TIMEOUT * 3 }, (error, stdout, stderr) => {
      if (error) {
        reject(new Error(`python-socketio failed (${error.message}): ${stderr}`));
        return;
      }
      resolve(JSON.parse(stdout.trim().split('\n').pop()));
    });
  });
}

describe('python-socketio AsyncClient against ferrio --app chat', () => {
  let server;

  before(async () => {
    server = await startServer({ app: 'chat' });
  });

  after(async () => {
    closeAllModernClients();
    closeAllClients();
    if (server) await server.stop();
  });

  for (const transport of ['polling', 'websocket']) {
    test(`over ${transport}: chats with 0.9.17 and 4.8 clients and gets its ack`, { timeout: TEST_TIMEOUT }, async () => {
      try {
        const { socket: legacy } = await openClient(server.url, { transport: 'xhr-polling' });
        assertTransport(legacy, 'xhr-polling');
        const modern = await openModern(server.url, 'websocket');
        const heardByLegacy = [];
        const heardByModern = [];
        legacy.on('toClient', (line) => heardByLegacy.push(line));
        modern.on('toClient', (line) => heardByModern.push(line));
        const name = `py-${transport}`;
        const report = await runPython(server.url, transport, name);
        assert.equal(report.transport, transport, 'the transport python-socketio used');
        assert.equal(typeof report.sid, 'string');
        assert.deepEqual(report.heard, [`${name}:${TEXT}`], 'it hears its own line once');
        assert.equal(report.ack, `hello ${TEXT}`);
        await delay(300);
        assert.deepEqual(heardByLegacy, [`${name}:${TEXT}`], 'the 0.9.17 client hears it once');
        assert.deepEqual(heardByModern, [`${name}:${TEXT}`], 'the 4.8 client hears it once');
      } finally {
        closeAllModernClients();
        closeAllClients();
      }
    });
  }
});
