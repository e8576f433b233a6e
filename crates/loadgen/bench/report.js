'use strict';

// Turns the runs of one bench/run.sh invocation into a Markdown table:
//
//   node report.js RESULTS_DIR        (reads RESULTS_DIR/runs.jsonl and meta.json)
//
// For every case and every metric of the loadgen's `metrics` object: the median over the
// successful repetitions for ferrio and for Node, and the ratio ferrio/Node. Metrics named
// `*_per_s` are better when higher, all others (latency, CPU time, memory) when lower.

const fs = require('node:fs');
const path = require('node:path');

const dir = process.argv[2];
if (!dir) {
  process.stderr.write('usage: node report.js RESULTS_DIR\n');
  process.exit(2);
}

const meta = JSON.parse(fs.readFileSync(path.join(dir, 'meta.json'), 'utf8'));
const runs = fs
  .readFileSync(path.join(dir, 'runs.jsonl'), 'utf8')
  .split('\n')
  .filter((line) => line.trim() !== '')
  .map((line) => JSON.parse(line));

function median(values) {
  if (values.length === 0) return null;
  const sorted = values.slice().sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function fmt(value) {
  if (value === null || value === undefined || Number.isNaN(value)) return '–';
  const abs = Math.abs(value);
  if (abs >= 1000) return Math.round(value).toLocaleString('en-US');
  if (abs >= 100) return value.toFixed(0);
  if (abs >= 10) return value.toFixed(1);
  if (abs >= 1) return value.toFixed(2);
  if (abs === 0) return '0';
  return value.toPrecision(2);
}

const cases = [];
const byCase = new Map();
for (const run of runs) {
  if (!byCase.has(run.case)) {
    byCase.set(run.case, { ferrio: [], node: [], failed: { ferrio: 0, node: 0 }, metrics: [] });
    cases.push(run.case);
  }
  const entry = byCase.get(run.case);
  if (run.exit === 0 && run.result && run.result.ok) {
    entry[run.server].push(run.result);
    for (const key of Object.keys(run.result.metrics || {})) {
      if (!entry.metrics.includes(key)) entry.metrics.push(key);
    }
  } else {
    entry.failed[run.server] += 1;
  }
}

const out = [];
out.push(`# ferrio vs socket.io 0.9.19 (Node ${meta.node})`);
out.push('');
if (meta.quick) {
  out.push('**QUICK=1: tiny sizes and short timers, a smoke test. These numbers mean nothing.**');
  out.push('');
}
out.push(
  `${meta.date}, commit ${meta.commit}, ${meta.cpus} CPU(s) (${meta.cpu}), ${meta.reps} ` +
    `repetition(s) per server, alternating which server goes first. Timers for both servers: ` +
    `heartbeat ${meta.timers.heartbeat_interval} s / timeout ${meta.timers.heartbeat_timeout} s, ` +
    `close timeout ${meta.timers.close_timeout} s, polling duration ` +
    `${meta.timers.polling_duration} s. Medians of the successful repetitions; server CPU ` +
    'time is utime+stime of the server process from /proc.',
);
out.push('');
out.push('| case | metric | better | ferrio | Node | ferrio/Node | ok runs (ferrio, Node) |');
out.push('|---|---|---|---:|---:|---:|---|');
for (const name of cases) {
  const entry = byCase.get(name);
  const okRuns = `${entry.ferrio.length}, ${entry.node.length}`;
  const failed = entry.failed.ferrio + entry.failed.node;
  const okCell = failed ? `${okRuns} (**${failed} failed**)` : okRuns;
  if (entry.metrics.length === 0) {
    out.push(`| ${name} | – | – | – | – | – | ${okCell} |`);
    continue;
  }
  for (const metric of entry.metrics) {
    const values = (server) =>
      entry[server]
        .map((result) => result.metrics[metric])
        .filter((value) => typeof value === 'number');
    const ferrio = median(values('ferrio'));
    const node = median(values('node'));
    // A zero on either side (a CPU time below one clock tick, no sessions left) makes no ratio.
    const ratio = ferrio !== null && node !== null && ferrio !== 0 && node !== 0 ? ferrio / node : null;
    const better = metric.endsWith('_per_s') ? 'higher' : 'lower';
    const ratioCell = ratio === null ? '–' : `${fmt(ratio)}×`;
    out.push(
      `| ${name} | ${metric} | ${better} | ${fmt(ferrio)} | ${fmt(node)} | ${ratioCell} | ${okCell} |`,
    );
  }
}
out.push('');
process.stdout.write(out.join('\n'));
