'use strict';

// The one way the JS suites (tests/interop, tests/browser) run a server process: the `ferrio`
// binary, or any other program that prints the same kind of "listening" line (the reference
// socket.io server, an example program built by cargo).
//
// - `cargoBinary()` / `ferrioBinary()` / `ferrioExample()` find an executable: an environment
//   variable, else target/debug/… of this workspace (examples beside the binary). A missing
//   binary throws: the suite fails, never skips.
// - `spawnGateway()` starts it with the arguments for a port (0 lets the system pick one),
//   waits for the stdout line that names the port, keeps the tail of stderr for failure
//   messages, and retries while a fixed port is still taken. `gateway.stop()` sends SIGTERM
//   and waits for the exit; `gateway.restart()` starts the same command on the same port.
// - Every process still running when node exits is killed.

const { spawn } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');
const readline = require('node:readline');

const { TIMEOUT, delay, withTimeout } = require('./timing');

/** The workspace root (tests/ is one of its folders). */
const ROOT_DIR = path.resolve(__dirname, '..', '..');

/** The line ferrio prints on stdout once it listens; the first group is the port. */
const FERRIO_LISTENING = /^ferrio listening on http:\/\/[^\s]*:(\d+)$/;

/** What ferrio writes to stderr when it cannot bind its port. */
const FERRIO_PORT_CLASH = /cannot listen/;

/** How much of a process's stderr is kept for failure messages and log checks. */
const STDERR_TAIL = 256 * 1024;

/**
 * An executable built by cargo: `$<envVar>` when set, else target/debug/<relative> of this
 * workspace (`.exe` added on Windows). Throws, saying how to build it, when it does not exist.
 */
function cargoBinary({ envVar, relative, build }) {
  const fromEnv = process.env[envVar];
  const exe = process.platform === 'win32' ? `${relative}.exe` : relative;
  const bin = fromEnv ? path.resolve(fromEnv) : path.join(ROOT_DIR, 'target', 'debug', exe);
  if (!fs.existsSync(bin)) {
    throw new Error(
      `${path.basename(bin)} not found at ${bin} ` +
        (fromEnv ? `(from $${envVar})` : `(set ${envVar} to use another one)`) +
        `; build it first with \`${build}\``,
    );
  }
  return bin;
}

/** The ferrio binary under test: $FERRIO_BIN, else target/debug/ferrio. Throws if missing. */
function ferrioBinary() {
  return cargoBinary({ envVar: 'FERRIO_BIN', relative: 'ferrio', build: 'cargo build -p ferrio-server' });
}

/**
 * An example program of ferrio-server, built beside the binary under test by
 * `cargo build -p ferrio-server --examples` (…/examples/<name> next to ferrioBinary()). Throws
 * if missing.
 */
function ferrioExample(name) {
  const exe = process.platform === 'win32' ? `${name}.exe` : name;
  const bin = path.join(path.dirname(ferrioBinary()), 'examples', exe);
  if (!fs.existsSync(bin)) {
    throw new Error(`example \`${name}\` not found at ${bin}; build it with \`cargo build -p ferrio-server --examples\``);
  }
  return bin;
}

/**
 * The arguments of ferrio for spawnGateway: the public listener on 127.0.0.1 at the port, the
 * admin listener off (`adminPort` 0) or on 127.0.0.1 at `adminPort` (see freePort), `--app
 * <app>`, then `extraArgs`.
 */
function ferrioArgs(app, extraArgs = [], { adminPort = 0 } = {}) {
  return (port) => [
    '--bind', '127.0.0.1', '--port', String(port),
    '--admin-bind', '127.0.0.1', '--admin-port', String(adminPort),
    '--app', app, ...extraArgs,
  ];
}

/** A port free a moment ago on 127.0.0.1 (for a listener whose port a process does not print). */
function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Every process started and not yet seen exiting; killed if node exits first. */
const liveProcesses = new Set();
process.on('exit', () => {
  for (const child of liveProcesses) {
    try {
      child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
});

/** A process that said it listens. */
class GatewayProcess {
  constructor(child, exited, port, options, output) {
    this.child = child;
    this.exited = exited;
    this.port = port;
    this.url = `http://127.0.0.1:${port}`;
    this.options = options;
    this.output = output;
  }

  /** What the process wrote to stderr (the last 256 KiB). */
  get stderr() {
    return this.output.stderr;
  }

  /** The last part of what the process logged, for failure messages. */
  logTail(chars = 4000) {
    return this.stderr.slice(-chars);
  }

  /**
   * SIGTERM, then waits for the exit (SIGKILL and an error if it takes longer than
   * `timeout`). With `cleanExit` (see spawnGateway) the exit must be code 0 after the SIGTERM;
   * a process that had already exited by itself is an error too. Calling it again returns the
   * first call's outcome.
   */
  stop({ timeout = TIMEOUT } = {}) {
    if (!this.stopping) {
      this.stopping = this.terminate(timeout);
    }
    return this.stopping;
  }

  async terminate(timeout) {
    const { what, cleanExit } = this.options;
    const alreadyExited = this.child.exitCode !== null || this.child.signalCode !== null;
    if (!alreadyExited) {
      this.child.kill('SIGTERM');
    }
    let status;
    try {
      status = await withTimeout(this.exited, timeout, `${what} (pid ${this.child.pid}) to exit after SIGTERM`);
    } catch (error) {
      this.child.kill('SIGKILL');
      await this.exited;
      throw error;
    }
    if (cleanExit && (alreadyExited || status.code !== 0)) {
      throw new Error(
        `${what} on port ${this.port} ${alreadyExited ? 'had exited by itself' : 'did not exit cleanly on SIGTERM'} ` +
          `(code ${status.code}, signal ${status.signal}); its log ends with:\n${this.logTail()}`,
      );
    }
    return status;
  }

  /** Stops the process (if still running) and starts the same command on the same port. */
  async restart() {
    await this.stop();
    return spawnGateway({ ...this.options, port: this.port });
  }
}

/** One attempt of spawnGateway: resolves once the listening line came, rejects otherwise. */
function spawnOnce(options) {
  const { bin, args, port, env, listening, what } = options;
  const argv = args(port);
  const child = spawn(bin, argv, { stdio: ['ignore', 'pipe', 'pipe'], env });
  liveProcesses.add(child);
  const exited = new Promise((resolve) => {
    child.once('exit', (code, signal) => {
      liveProcesses.delete(child);
      resolve({ code, signal });
    });
  });
  const output = { stderr: '' };
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk) => {
    // Keep reading so the pipe never fills up; keep only a bounded tail.
    output.stderr = (output.stderr + chunk).slice(-STDERR_TAIL);
  });
  const lines = readline.createInterface({ input: child.stdout });
  const started = new Promise((resolve, reject) => {
    child.once('error', (error) => reject(new Error(`cannot run ${bin}: ${error.message}`)));
    exited.then(({ code, signal }) =>
      reject(new Error(`${what} exited before listening (code ${code}, signal ${signal}): ${output.stderr.trim()}`)),
    );
    let gateway = null;
    lines.on('line', (line) => {
      const match = listening.exec(line.trim());
      if (match && !gateway) {
        gateway = new GatewayProcess(child, exited, Number(match[1]), options, output);
        resolve(gateway);
      }
    });
  });
  return withTimeout(started, TIMEOUT, `\`${path.basename(bin)} ${argv.join(' ')}\` to print its port`).catch((error) => {
    child.kill('SIGKILL');
    throw error;
  });
}

/**
 * Starts `bin` with `args(port)` and resolves with a GatewayProcess once a stdout line matches
 * `listening` (its first group is the port the process listens on). `port` 0 (the default)
 * lets the system pick one; a fixed port still taken (stderr matching `portClash`, e.g. the
 * previous process on it not gone yet) is retried for a while. `env` is the whole environment
 * of the process. `cleanExit` makes `stop()` require exit code 0. `what` names the process in
 * messages.
 */
async function spawnGateway({
  bin = ferrioBinary(),
  args,
  port = 0,
  env = process.env,
  listening = FERRIO_LISTENING,
  portClash = FERRIO_PORT_CLASH,
  cleanExit = false,
  what = path.basename(bin),
}) {
  const options = { bin, args, port, env, listening, portClash, cleanExit, what };
  const deadline = Date.now() + TIMEOUT;
  for (;;) {
    try {
      return await spawnOnce(options);
    } catch (error) {
      if (port === 0 || !portClash.test(error.message) || Date.now() > deadline) {
        throw error;
      }
      await delay(100);
    }
  }
}

module.exports = {
  FERRIO_LISTENING,
  GatewayProcess,
  ROOT_DIR,
  cargoBinary,
  ferrioArgs,
  ferrioBinary,
  ferrioExample,
  freePort,
  spawnGateway,
};
