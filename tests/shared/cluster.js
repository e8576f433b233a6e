'use strict';

// A ferrio cluster for the JS suites: a real `redis-server` on a free port (no persistence, a
// temp dir), `ferrio` nodes on it (through gateway.js), and a real nginx balancing round-robin
// per request over them (no ip_hash, unbuffered, WebSocket upgrades passed), as
// docker/nginx.conf does. `startCluster()` resolves once every part listens;
// `cluster.stop()` stops them all. A missing redis-server or nginx throws: the suite fails,
// never skips (tests/run.sh installs both).

const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');

const { ferrioArgs, freePort, spawnGateway } = require('./gateway');
const { TIMEOUT, delay, withTimeout } = require('./timing');

/** The secret every node of a test cluster shares. */
const SECRET = 'a cluster secret for the js suites';

/** A program on PATH or at one of `fallbacks`; throws naming tests/run.sh when missing. */
function program(name, fallbacks) {
  const dirs = (process.env.PATH || '').split(path.delimiter).filter(Boolean);
  const found = [...dirs.map((dir) => path.join(dir, name)), ...fallbacks].find((file) => fs.existsSync(file));
  if (!found) {
    throw new Error(`${name} is not installed (tests/run.sh installs it)`);
  }
  return found;
}

/** Resolves once something accepts connections on `port` of 127.0.0.1. */
async function listening(port, what) {
  const deadline = Date.now() + TIMEOUT;
  for (;;) {
    const open = await new Promise((resolve) => {
      const socket = net.connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) {
      return;
    }
    if (Date.now() > deadline) {
      throw new Error(`${what} never listened on port ${port}`);
    }
    await delay(20);
  }
}

/** Starts a child that must keep running; killed when node exits. */
function keep(bin, args, what) {
  const child = spawn(bin, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk) => {
    stderr = (stderr + chunk).slice(-16384);
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  process.on('exit', () => child.kill('SIGKILL'));
  return {
    child,
    what,
    stderr: () => stderr,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await withTimeout(exited, TIMEOUT, `${what} to exit`).catch(() => child.kill('SIGKILL'));
      }
    },
  };
}

/** nginx's configuration: round-robin per request over `upstreams` (ports), on `port`. */
function nginxConfig(dir, port, upstreams) {
  const servers = upstreams.map((upstream) => `    server 127.0.0.1:${upstream};`).join('\n');
  return `daemon off;
master_process off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log;
events {}
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  map $http_upgrade $connection_upgrade {
    default upgrade;
    ''      close;
  }
  upstream ferrio {
${servers}
  }
  server {
    listen 127.0.0.1:${port};
    client_max_body_size 0;
    location / {
      proxy_pass http://ferrio;
      proxy_http_version 1.1;
      proxy_set_header Host $host;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection $connection_upgrade;
      proxy_buffering off;
      proxy_request_buffering off;
      proxy_read_timeout 3600s;
      proxy_send_timeout 3600s;
    }
  }
}
`;
}

/**
 * Starts Redis, `nodes` ferrio nodes (`--app <app>`, clustered on that Redis, each with its
 * admin listener at `node.adminUrl`) and nginx in front of them. Resolves with
 * `{ url, nodes, redis, nginx, stop() }`; `url` is nginx's.
 */
async function startCluster({ nodes = 3, app = 'chat', args = [] } = {}) {
  const redisBin = program('redis-server', ['/usr/bin/redis-server']);
  const nginxBin = program('nginx', ['/usr/sbin/nginx']);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ferrio-cluster-'));
  const parts = [];
  const stop = async () => {
    for (const part of parts.reverse()) {
      await part.stop();
    }
    // $FERRIO_CLUSTER_LOGS keeps each node's log there, for a failure to be read afterwards.
    if (process.env.FERRIO_CLUSTER_LOGS) {
      for (const part of parts) {
        if (part.port) {
          fs.writeFileSync(path.join(process.env.FERRIO_CLUSTER_LOGS, `node-${part.port}.log`), part.stderr);
        }
      }
    }
    fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    const redisPort = await freePort();
    const redis = keep(
      redisBin,
      ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir],
      'redis-server',
    );
    parts.push(redis);
    await listening(redisPort, 'redis-server');
    const name = `js${process.pid}${Date.now()}`;
    const clusterArgs = ['--cluster-redis', `redis://127.0.0.1:${redisPort}/`, '--cluster-secret', SECRET, '--cluster-name', name];
    const gateways = [];
    for (let index = 0; index < nodes; index += 1) {
      const adminPort = await freePort();
      const nodeArgs = ferrioArgs(app, [...clusterArgs, ...args], { adminPort });
      const gateway = await spawnGateway({ args: nodeArgs, what: `ferrio node ${index + 1}` });
      gateway.adminUrl = `http://127.0.0.1:${adminPort}`;
      parts.push(gateway);
      gateways.push(gateway);
    }
    const nginxPort = await freePort();
    fs.writeFileSync(path.join(dir, 'nginx.conf'), nginxConfig(dir, nginxPort, gateways.map((g) => g.port)));
    const check = spawnSync(nginxBin, ['-t', '-p', dir, '-c', path.join(dir, 'nginx.conf'), '-e', path.join(dir, 'error.log')], { encoding: 'utf8' });
    if (check.status !== 0) {
      throw new Error(`nginx refuses its configuration: ${check.stderr}`);
    }
    const nginx = keep(nginxBin, ['-p', dir, '-c', path.join(dir, 'nginx.conf'), '-e', path.join(dir, 'error.log')], 'nginx');
    parts.push(nginx);
    await listening(nginxPort, 'nginx');
    return { url: `http://127.0.0.1:${nginxPort}`, nodes: gateways, redis, nginx, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

module.exports = { SECRET, startCluster };
