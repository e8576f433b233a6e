'use strict';

// Sorts the samples of a `perf report --no-children --sort dso,sym` listing into buckets
// and prints each bucket's share and its microseconds per unit of the load's work:
//
//   node profile-report.js NAME LOADGEN_JSON SYMBOLS_TXT
//
// Kernel symbols are bucketed by what they do; user-space ones by the crate or library
// their name carries. The first matching rule wins.

const fs = require('node:fs');

const [name, jsonPath, symbolsPath] = process.argv.slice(2);
if (!symbolsPath) {
  process.stderr.write('usage: node profile-report.js NAME LOADGEN_JSON SYMBOLS_TXT\n');
  process.exit(2);
}

const KERNEL = [
  ['kernel: copying bytes to or from user space', /copy_(to|from)_(user|iter)|_copy_/],
  ['kernel: TCP/IP and loopback', /tcp_|ip_|skb|__dev|net_rx|loopback|nf_|sock_|__netif|napi|dst_|inet_|tcp4|__sk|sk_|ipv4|bbr_|process_backlog/],
  ['kernel: epoll, wakeups and scheduling', /epoll|ep_|poll|wake|futex|schedule|__switch|finish_task|pick_next|ttwu|enqueue|dequeue|update_|sched|select_task/],
  ['kernel: system call entry and exit', /entry_SYSCALL|syscall|__x64|exit_to_user|fget|fput|ksys_|vfs_|rw_verify|security_|apparmor/],
  ['kernel: locks, interrupts and the rest', /./],
];
const USER = [
  ['user: allocator', /jemalloc|_rjem|je_|malloc|free|rallocx|sdallocx/],
  ['user: tokio (scheduler, I/O driver, timers)', /tokio/],
  ['user: HTTP heads, parsing and writing', /ferrio_http1|httparse|hyper|http::|httpdate/],
  ['user: WebSocket framing', /tungstenite|ferrio_websocket|sha1/],
  ['user: packet codec and transports', /ferrio_protocol|serde_json|ferrio_transport|ferrio_xhr|ferrio_eio|ferrio_sio/],
  ['user: hub (sessions, dispatch, broadcast)', /ferrio_hub|dashmap|parking_lot/],
  ['user: gateway routing and handshake', /ferrio_server/],
  ['user: memcpy, memset, memcmp', /memcpy|memmove|memset|memcmp/],
  ['user: the rest (futures glue, libc, vdso)', /./],
];

const buckets = new Map();
for (const line of fs.readFileSync(symbolsPath, 'utf8').split('\n')) {
  const match = /^\s+([\d.]+)%\s+(\S+)\s+\[(.)\]\s+(.*)$/.exec(line);
  if (!match) continue;
  const [, share, dso, kind, symbol] = match;
  const rules = kind === 'k' || dso.startsWith('[kernel') ? KERNEL : USER;
  const [bucket] = rules.find(([, pattern]) => pattern.test(symbol));
  buckets.set(bucket, (buckets.get(bucket) || 0) + Number(share));
}

const result = JSON.parse(fs.readFileSync(jsonPath, 'utf8'));
const cpuKey = Object.keys(result.metrics || {}).find((key) => key.startsWith('cpu_us_per_'));
const perUnit = cpuKey ? result.metrics[cpuKey] : null;
const total = [...buckets.values()].reduce((a, b) => a + b, 0);
const lines = [`## ${name}: ${cpuKey || 'cpu'} = ${perUnit}`, '', '| where | share | µs |', '|---|---:|---:|'];
for (const [bucket, share] of [...buckets].sort((a, b) => b[1] - a[1])) {
  const micros = perUnit === null ? '–' : ((perUnit * share) / total).toFixed(2);
  lines.push(`| ${bucket} | ${share.toFixed(1)} % | ${micros} |`);
}
process.stdout.write(lines.join('\n') + '\n\n');
