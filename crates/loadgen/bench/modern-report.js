'use strict';

// Turns the runs of one bench/modern.sh invocation into a Markdown table:
//
//   node modern-report.js RESULTS_DIR        (reads RESULTS_DIR/runs.jsonl and meta.json)
//
// For every case and every metric of the loadgen's `metrics` object: the median over the
// successful repetitions for ferrio, socketioxide and socket.io 4.8, and ferrio's ratio to each
// peer. Metrics named `*_per_s` are better when higher, all others (latency, CPU time, memory)
// when lower. A case only ferrio can serve (the mixed room) has no peer columns.

const { fmt, median, readResults } = require('./results');

const { meta, runs } = readResults('modern-report.js');

const servers = ['ferrio', 'socketioxide', 'node4'];

const cases = [];
const byCase = new Map();
for (const run of runs) {
  if (!byCase.has(run.case)) {
    const entry = { metrics: [], failed: 0, ran: new Set() };
    for (const server of servers) entry[server] = [];
    byCase.set(run.case, entry);
    cases.push(run.case);
  }
  const entry = byCase.get(run.case);
  entry.ran.add(run.server);
  if (run.exit === 0 && run.result && run.result.ok) {
    entry[run.server].push(run.result);
    for (const key of Object.keys(run.result.metrics || {})) {
      if (!entry.metrics.includes(key)) entry.metrics.push(key);
    }
  } else {
    entry.failed += 1;
  }
}

const ratio = (ours, theirs) =>
  ours !== null && theirs !== null && ours !== 0 && theirs !== 0 ? `${fmt(ours / theirs)}×` : '–';

const out = [];
out.push(
  `# ferrio vs socketioxide ${meta.peers.socketioxide} and ${meta.peers.node4}, Socket.IO 5 clients`,
);
out.push('');
if (meta.quick) {
  out.push('**QUICK=1: tiny sizes and short timers, a smoke test. These numbers mean nothing.**');
  out.push('');
}
out.push(
  `${meta.date}, commit ${meta.commit}, ${meta.cpus} CPU(s) (${meta.cpu}), ${meta.reps} ` +
    'repetition(s) per server, each server going first in turn. Every server: ping interval ' +
    `${meta.ping.interval_s} s, ping timeout ${meta.ping.timeout_s} s, no logging, no ` +
    'compression, no connection state recovery. Medians of the successful repetitions; server ' +
    'CPU time is utime+stime of the server process from /proc.',
);
out.push('');
out.push(
  '| case | metric | better | ferrio | socketioxide | socket.io 4.8 | ferrio/socketioxide | ' +
    'ferrio/socket.io 4.8 | ok runs (ferrio, socketioxide, socket.io) |',
);
out.push('|---|---|---|---:|---:|---:|---:|---:|---|');
for (const name of cases) {
  const entry = byCase.get(name);
  const okRuns = servers
    .map((server) => (entry.ran.has(server) ? String(entry[server].length) : '–'))
    .join(', ');
  const okCell = entry.failed ? `${okRuns} (**${entry.failed} failed**)` : okRuns;
  if (entry.metrics.length === 0) {
    out.push(`| ${name} | – | – | – | – | – | – | – | ${okCell} |`);
    continue;
  }
  for (const metric of entry.metrics) {
    const value = (server) =>
      median(
        entry[server]
          .map((result) => result.metrics[metric])
          .filter((figure) => typeof figure === 'number'),
      );
    const [ours, sioxide, node4] = servers.map(value);
    const better = metric.endsWith('_per_s') ? 'higher' : 'lower';
    out.push(
      `| ${name} | ${metric} | ${better} | ${fmt(ours)} | ${fmt(sioxide)} | ${fmt(node4)} | ` +
        `${ratio(ours, sioxide)} | ${ratio(ours, node4)} | ${okCell} |`,
    );
  }
}
out.push('');
process.stdout.write(out.join('\n'));
