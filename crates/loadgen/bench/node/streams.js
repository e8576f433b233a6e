'use strict';

// Idle streaming sessions (htmlfile, xhr-multipart) held open against a running server: the
// server's memory per session, as `ferrio-loadgen idle` measures it for websocket and
// xhr-polling. The loadgen's HTTP client reads whole responses only, so the streams are held
// here, with Node's own sockets. Every heartbeat that arrives in a stream is answered by a POST.
//
//   node streams.js --server HOST:PORT --server-pid PID --transport htmlfile|xhr-multipart
//                   [--sessions N] [--hold S] [--admin HOST:PORT]
//
// prints one JSON line: RSS bytes per session (from /proc/PID/status, after minus before),
// and with --admin (ferrio) the heap per session from `ferrio_allocator_bytes{kind="allocated"}`.

const fs = require('node:fs');
const http = require('node:http');
const net = require('node:net');

function arg(name, fallback) {
  const at = process.argv.indexOf('--' + name);
  return at >= 0 ? process.argv[at + 1] : fallback;
}

const [host, port] = arg('server', '127.0.0.1:3000').split(':');
const pid = Number(arg('server-pid', 0));
const transport = arg('transport', 'htmlfile');
const sessions = Number(arg('sessions', 1000));
const holdSeconds = Number(arg('hold', 10));
const admin = arg('admin', null);
const CONCURRENCY = 32;

if (!['htmlfile', 'xhr-multipart'].includes(transport)) fail(`unknown transport ${transport}`);
if (!pid) fail('--server-pid is required');

function fail(message) {
  process.stdout.write(JSON.stringify({ scenario: 'idle', transport, ok: false, error: message }) + '\n');
  process.exit(1);
}

function rss() {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /VmRSS:\s+(\d+) kB/.exec(status);
  if (!match) fail('no VmRSS for the server');
  return Number(match[1]) * 1024;
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

function request(method, path, body, to) {
  const [toHost, toPort] = (to || `${host}:${port}`).split(':');
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: toHost, port: Number(toPort), method, path, agent, headers: { 'Content-Type': 'text/plain' } },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk) => { text += chunk; });
        res.on('end', () => resolve({ status: res.statusCode, body: text }));
      },
    );
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

async function heap() {
  if (!admin) return null;
  const answer = await request('GET', '/metrics', undefined, admin);
  const match = /ferrio_allocator_bytes\{kind="allocated"\} (\d+)/.exec(answer.body);
  if (!match) fail('no ferrio_allocator_bytes on --admin');
  return Number(match[1]);
}

let heartbeats = 0;

// Opens one session and holds its stream; resolves once the stream's first packet (`1::`)
// has arrived.
async function open(number) {
  const handshake = await request('GET', `/socket.io/1/?t=${number}`);
  if (handshake.status !== 200) fail(`handshake answered ${handshake.status}: ${handshake.body}`);
  const sid = handshake.body.split(':')[0];
  const path = `/socket.io/1/${transport}/${sid}`;
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), host, () => {
      socket.write(`GET ${path}?t=${number} HTTP/1.1\r\nHost: ${host}\r\n\r\n`);
    });
    let seen = '';
    let connected = false;
    socket.setEncoding('utf8');
    socket.on('data', (chunk) => {
      seen += chunk;
      if (!connected && seen.includes('1::')) {
        connected = true;
        resolve(socket);
      }
      // A heartbeat is `2::` in either framing; what was read is dropped once looked at.
      const beats = seen.split('2::').length - 1;
      if (connected && beats > 0) {
        heartbeats += beats;
        for (let i = 0; i < beats; i += 1) {
          request('POST', `${path}?t=p${Date.now()}`, '2::').catch(() => {});
        }
      }
      if (connected) seen = seen.slice(-2);
    });
    socket.on('error', reject);
    socket.on('close', () => { if (!connected) reject(new Error(`stream ${sid} closed before 1::`)); });
  });
}

async function main() {
  const rssBefore = rss();
  const heapBefore = await heap();
  const streams = [];
  let next = 0;
  async function worker() {
    while (next < sessions) {
      const number = next;
      next += 1;
      streams.push(await open(number));
    }
  }
  const started = Date.now();
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const openSeconds = (Date.now() - started) / 1000;
  await new Promise((resolve) => setTimeout(resolve, holdSeconds * 1000));
  const rssHeld = rss();
  const heapHeld = await heap();
  for (const socket of streams) socket.destroy();
  agent.destroy();
  const perSession = (after, before) => (before === null ? null : Math.round((after - before) / sessions));
  process.stdout.write(JSON.stringify({
    scenario: 'idle',
    transport,
    ok: true,
    params: { sessions, hold_s: holdSeconds },
    metrics: {
      rss_bytes_per_session: perSession(rssHeld, rssBefore),
      heap_bytes_per_session: perSession(heapHeld, heapBefore),
      sessions_opened_per_s: Math.round(sessions / openSeconds),
    },
    heartbeats_answered: heartbeats,
  }) + '\n');
}

main().catch((error) => fail(String(error && error.stack || error)));
