'use strict';

// Turns the runs of one bench/run.sh invocation into a Markdown table:
//
//   node report.js RESULTS_DIR        (reads RESULTS_DIR/runs.jsonl and meta.json)
//
// For every case and every metric of the loadgen's `metrics` object: the median over the
// successful repetitions for ferrio and for its peer (Node, or with BASELINE an earlier build
// of ferrio), and the ratio ferrio/peer. Metrics named `*_per_s` are better when higher, all
// others (latency, CPU time, memory) when lower.

const { fmt, median, readResults } = require('./results');

const { meta, runs } = readResults('report.js');

// The peer's key in the runs and its name in the table.
const peer = meta.peer || 'node';
const peerName = peer === 'baseline' ? 'baseline' : 'Node';

const cases = [];
const byCase = new Map();
for (const run of runs) {
  if (!byCase.has(run.case)) {
    byCase.set(run.case, { ferrio: [], [peer]: [], failed: { ferrio: 0, [peer]: 0 }, metrics: [] });
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
out.push(
  peer === 'baseline'
    ? `# ferrio vs an earlier build of ferrio (${meta.node})`
    : `# ferrio vs socket.io 0.9.19 (Node ${meta.node})`,
);
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
out.push(
  `| case | metric | better | ferrio | ${peerName} | ferrio/${peerName} | ok runs (ferrio, ${peerName}) |`,
);
out.push('|---|---|---|---:|---:|---:|---|');
for (const name of cases) {
  const entry = byCase.get(name);
  const okRuns = `${entry.ferrio.length}, ${entry[peer].length}`;
  const failed = entry.failed.ferrio + entry.failed[peer];
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
    const other = median(values(peer));
    // A zero on either side (a CPU time below one clock tick, no sessions left) makes no ratio.
    const ratio = ferrio !== null && other !== null && ferrio !== 0 && other !== 0 ? ferrio / other : null;
    const better = metric.endsWith('_per_s') ? 'higher' : 'lower';
    const ratioCell = ratio === null ? '–' : `${fmt(ratio)}×`;
    out.push(
      `| ${name} | ${metric} | ${better} | ${fmt(ferrio)} | ${fmt(other)} | ${ratioCell} | ${okCell} |`,
    );
  }
}
out.push('');
process.stdout.write(out.join('\n'));
