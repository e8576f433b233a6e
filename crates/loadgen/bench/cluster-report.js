'use strict';

// Turns the runs of one bench/cluster.sh invocation into a Markdown table:
//
//   node cluster-report.js RESULTS_DIR        (reads RESULTS_DIR/runs.jsonl and meta.json)
//
// For every fanout case and configuration (single node without cluster flags, one clustered
// node, three clustered nodes): the median over the successful repetitions of deliveries/s,
// latency p50/p99 and server CPU per delivery (summed over every ferrio process and, when
// clustered, redis-server), with the range of the CPU figure; then the ratios 3-nodes/single
// and 1-node/single of the CPU figure. For bus-burst: the catch-up time after SIGCONT and
// what the stopped node's receivers were sent meanwhile. For the forwarding cases (each
// session's requests on its owner, 3-nodes, against spread by --route rotate, 3-rotate): the
// medians of throughput, latency and CPU per unit, and what rotating adds (the difference of
// the medians, with the range of the differences paired by repetition) against its target,
// with the sessions the nodes took over and the requests they forwarded (from their /metrics).
// For the fanout through nginx (every client through one nginx balancing round-robin per
// request, over one node or three clustered ones): the same medians, nginx's own CPU per
// delivery beside the servers', the sessions taken over, and the ratio 3 nodes / single of
// the servers' CPU per delivery against its target.

const { fmt, median, readResults } = require('./results');

const { meta, runs } = readResults('cluster-report.js');

function range(values) {
  if (values.length < 2) return '';
  return ` (${fmt(Math.min(...values))}–${fmt(Math.max(...values))})`;
}

const CONFIGS = {
  single: 'single node, no cluster flags',
  '1-node': '1 node on Redis',
  '3-nodes': '3 nodes on Redis',
};

const cases = [];
const byCase = new Map();
for (const run of runs) {
  if (!byCase.has(run.case)) {
    byCase.set(run.case, new Map());
    cases.push(run.case);
  }
  const configs = byCase.get(run.case);
  if (!configs.has(run.config)) configs.set(run.config, { ok: [], runs: 0 });
  const entry = configs.get(run.config);
  entry.runs += 1;
  if (run.exit === 0 && run.result && run.result.ok) entry.ok.push(run.result);
}

const metric = (results, key) =>
  results.map((r) => r.metrics && r.metrics[key]).filter((v) => typeof v === 'number');

/** The cluster counter `key` (from the nodes' /metrics) of every successful run of `name` on `config`. */
const counted = (name, config, key) =>
  runs
    .filter((run) => run.case === name && run.config === config && run.exit === 0 && run.cluster)
    .map((run) => run.cluster[key])
    .filter((v) => typeof v === 'number');

/** " (N transport receivers, M messages)" for a fanout entry, from its first successful run. */
function fanoutSize(entry) {
  const p = entry.ok[0] && entry.ok[0].params;
  return p ? ` (${p.receivers} ${entry.ok[0].transport} receivers, ${p.messages} messages)` : '';
}

/** The deliveries/s and latency p50 / p99 cells of a fanout entry. */
function fanoutCells(entry) {
  return (
    `${fmt(median(metric(entry.ok, 'deliveries_per_s')))} | ` +
    `${fmt(median(metric(entry.ok, 'latency_p50_us')))} / ${fmt(median(metric(entry.ok, 'latency_p99_us')))}`
  );
}

/** `figures[a] / figures[b]`, or null when either is missing. */
const ratioOf = (figures, a, b) =>
  typeof figures[a] === 'number' && typeof figures[b] === 'number' && figures[b] > 0 ? figures[a] / figures[b] : null;

/** A ratio as "1.23×", or "–". */
const times = (v) => (v === null ? '–' : `${fmt(v)}×`);

const out = [];
out.push('# ferrio cluster benchmark');
out.push('');
if (meta.quick) {
  out.push('**QUICK=1: tiny sizes and short timers, a smoke test. These numbers mean nothing.**');
  out.push('');
}
out.push(
  `${meta.date}, commit ${meta.commit}, ${meta.cpus} CPU(s) (${meta.cpu}), redis-server ` +
    `${meta.redis}${meta.nginx ? `, nginx ${meta.nginx}` : ''}, ${meta.reps} repetition(s), alternating the order of the configurations. ` +
    'Medians of the successful repetitions (CPU: with the range). Server CPU is utime+stime ' +
    'from /proc summed over every ferrio process and, when clustered, redis-server.',
);
out.push('');

// The forwarding cases: the unit of work, and the target rotating is held to.
const ROUTE_CASES = {
  'echo-xhr-cross': {
    unit: 'round trip',
    rate: 'round_trips_per_s',
    cpu: 'cpu_us_per_round_trip',
    size: (r) => `${r.params.clients} xhr-polling clients × ${r.params.round_trips} round trips`,
    target: 'forwarding adds ≤ 100 µs p50 per round trip',
    met: (d) => (d.p50 === null ? null : d.p50 <= 100),
  },
  'echo-ws-take': {
    unit: 'round trip',
    rate: 'round_trips_per_s',
    cpu: 'cpu_us_per_round_trip',
    size: (r) => `${r.params.clients} websocket clients × ${r.params.round_trips} round trips`,
    target: 'CPU per round trip ≤ 1.05× the owner’s',
    met: (d) => (d.ratio === null ? null : d.ratio <= 1.05),
  },
  'handshake-take': {
    unit: 'session',
    rate: 'handshakes_per_s',
    cpu: 'cpu_us_per_handshake',
    size: (r) => `${r.params.count} sessions, ${r.params.workers} workers: handshake, first GET, 0:: POST`,
    target: null,
    met: null,
  },
};
ROUTE_CASES['echo-xhr-cross-1'] = ROUTE_CASES['echo-xhr-cross'];
ROUTE_CASES['handshake-take-1'] = ROUTE_CASES['handshake-take'];
const ROUTES = {
  '3-nodes': 'on its owner (--route owner)',
  '3-rotate': 'taken over and forwarded (--route rotate)',
};

// The fanout through nginx: the two configurations, and the target for the servers' CPU.
const NGINX_CASES = {
  'fanout-nginx': {
    target: 'CPU per delivery through nginx on 3 nodes ≤ 1.05× the single node’s',
    limit: 1.05,
  },
};
const NGINX_CONFIGS = {
  single: 'nginx over 1 node, no cluster flags',
  '3-nodes': 'nginx over 3 nodes on Redis',
};

const fanoutCases = cases.filter((name) => name !== 'bus-burst' && !ROUTE_CASES[name] && !NGINX_CASES[name]);
if (fanoutCases.length > 0) {
  out.push(
    '| case | configuration | deliveries/s | latency p50 / p99 µs | server CPU µs per delivery | ok runs |',
  );
  out.push('|---|---|---:|---:|---:|---|');
  const ratios = [];
  for (const name of fanoutCases) {
    const configs = byCase.get(name);
    const cpu = {};
    for (const config of Object.keys(CONFIGS)) {
      const entry = configs.get(config);
      if (!entry) continue;
      const cpus = metric(entry.ok, 'cpu_us_per_delivery');
      cpu[config] = median(cpus);
      out.push(
        `| ${name}${fanoutSize(entry)} | ${CONFIGS[config]} | ${fanoutCells(entry)} | ` +
          `${fmt(cpu[config])}${range(cpus)} | ${entry.ok.length}/${entry.runs} |`,
      );
    }
    ratios.push([name, ratioOf(cpu, '3-nodes', 'single'), ratioOf(cpu, '1-node', 'single')]);
  }
  out.push('');
  out.push('| case | CPU per delivery, 3 nodes / single node (target ≤ 1.2×) | CPU per delivery, 1 clustered node / single node |');
  out.push('|---|---:|---:|');
  for (const [name, three, one] of ratios) {
    out.push(`| ${name} | ${times(three)} | ${times(one)} |`);
  }
  out.push('');
}

if (byCase.has('bus-burst')) {
  const entry = byCase.get('bus-burst').get('3-nodes') || { ok: [], runs: 0 };
  const p = entry.ok[0] && entry.ok[0].params;
  const size = p ? `${p.receivers} websocket receivers over 3 nodes, ${p.messages} messages, ${p.window} in flight` : '';
  const pause = (key) => entry.ok.map((r) => r.pause && r.pause[key]).filter((v) => typeof v === 'number');
  const stoppedNode = (key) =>
    entry.ok
      .map((r) => r.nodes && r.pause && r.nodes.find((n) => n.server === r.pause.server))
      .map((n) => n && n[key])
      .filter((v) => typeof v === 'number');
  out.push(`bus-burst: ${size}; the third node stopped (SIGSTOP) for ${meta.pause_ms} ms, then resumed.`);
  out.push('');
  out.push('| figure | median | range |');
  out.push('|---|---:|---:|');
  const row = (label, values) => out.push(`| ${label} | ${fmt(median(values))} | ${range(values).replace(/[()]/g, '').trim() || '–'} |`);
  row('messages sent before the stop', pause('sent_before_stop'));
  row('messages sent while stopped', pause('sent_while_stopped'));
  row('stopped for (ms)', pause('stopped_ms'));
  row('catch-up after SIGCONT (ms)', pause('catch_up_ms'));
  row("stopped node's receivers: latency p99 µs", stoppedNode('latency_p99_us'));
  row('deliveries/s over the whole burst', metric(entry.ok, 'deliveries_per_s'));
  row('server CPU µs per delivery', metric(entry.ok, 'cpu_us_per_delivery'));
  out.push(
    `| runs where every receiver got every message once, in order | ${entry.ok.length}/${entry.runs} | |`,
  );
  out.push('');
}

const nginxCases = cases.filter((name) => NGINX_CASES[name]);
if (nginxCases.length > 0) {
  out.push(
    '| case | configuration | deliveries/s | latency p50 / p99 µs | server CPU µs per delivery | nginx CPU µs per delivery | sessions taken over / requests forwarded | ok runs |',
  );
  out.push('|---|---|---:|---:|---:|---:|---:|---|');
  const ratios = [];
  for (const name of nginxCases) {
    const configs = byCase.get(name);
    const cpu = {};
    const proxy = {};
    for (const config of Object.keys(NGINX_CONFIGS)) {
      const entry = configs.get(config);
      if (!entry) continue;
      const cpus = metric(entry.ok, 'cpu_us_per_delivery');
      const proxies = metric(entry.ok, 'proxy_cpu_us_per_delivery');
      cpu[config] = median(cpus);
      proxy[config] = median(proxies);
      const count = (key) => fmt(median(counted(name, config, key)));
      out.push(
        `| ${name}${fanoutSize(entry)} | ${NGINX_CONFIGS[config]} | ${fanoutCells(entry)} | ` +
          `${fmt(cpu[config])}${range(cpus)} | ${fmt(proxy[config])}${range(proxies)} | ` +
          `${count('taken')} / ${count('forwarded_out')} | ${entry.ok.length}/${entry.runs} |`,
      );
    }
    ratios.push([name, NGINX_CASES[name], ratioOf(cpu, '3-nodes', 'single'), ratioOf(proxy, '3-nodes', 'single')]);
  }
  out.push('');
  out.push('| case | server CPU per delivery, 3 nodes / single node | target | nginx CPU per delivery, 3 nodes / single node |');
  out.push('|---|---:|---|---:|');
  for (const [name, spec, servers, nginx] of ratios) {
    const verdict = servers === null ? 'not measured' : servers <= spec.limit ? 'met' : 'missed';
    out.push(`| ${name} | ${times(servers)} | ${spec.target}: **${verdict}** | ${times(nginx)} |`);
  }
  out.push('');
}

const routeCases = cases.filter((name) => ROUTE_CASES[name]);
if (routeCases.length > 0) {
  out.push(
    '| case | each session’s requests | per second | latency p50 / p99 µs | server CPU µs per unit | sessions taken over / requests forwarded | ok runs |',
  );
  out.push('|---|---|---:|---:|---:|---:|---|');
  const added = [];
  for (const name of routeCases) {
    const spec = ROUTE_CASES[name];
    const configs = byCase.get(name);
    const med = {};
    const byRep = {};
    for (const config of Object.keys(ROUTES)) {
      const entry = configs.get(config);
      if (!entry) continue;
      const size = entry.ok[0] ? ` (${spec.size(entry.ok[0])})` : '';
      const cpus = metric(entry.ok, spec.cpu);
      med[config] = {
        p50: median(metric(entry.ok, 'latency_p50_us')),
        p99: median(metric(entry.ok, 'latency_p99_us')),
        cpu: median(cpus),
      };
      byRep[config] = new Map(
        runs
          .filter((run) => run.case === name && run.config === config && run.exit === 0 && run.result && run.result.ok)
          .map((run) => [run.rep, run.result.metrics]),
      );
      const count = (key) => fmt(median(counted(name, config, key)));
      out.push(
        `| ${name}${size} | ${ROUTES[config]} | ${fmt(median(metric(entry.ok, spec.rate)))} | ` +
          `${fmt(med[config].p50)} / ${fmt(med[config].p99)} | ${fmt(med[config].cpu)}${range(cpus)} per ${spec.unit} | ` +
          `${count('taken')} / ${count('forwarded_out')} | ` +
          `${entry.ok.length}/${entry.runs} |`,
      );
    }
    const diff = (key) =>
      med['3-rotate'] && med['3-nodes'] && typeof med['3-rotate'][key] === 'number' && typeof med['3-nodes'][key] === 'number'
        ? med['3-rotate'][key] - med['3-nodes'][key]
        : null;
    const paired = (key) => {
      const out = [];
      for (const [rep, rotated] of byRep['3-rotate'] || new Map()) {
        const owned = (byRep['3-nodes'] || new Map()).get(rep);
        if (owned && typeof rotated[key] === 'number' && typeof owned[key] === 'number') out.push(rotated[key] - owned[key]);
      }
      return out;
    };
    const d = {
      p50: diff('p50'),
      p99: diff('p99'),
      cpu: diff('cpu'),
      ratio: med['3-rotate'] && med['3-nodes'] && med['3-nodes'].cpu > 0 ? med['3-rotate'].cpu / med['3-nodes'].cpu : null,
    };
    added.push([name, spec, d, paired('latency_p50_us'), paired(spec.cpu)]);
  }
  out.push('');
  out.push(
    '| case | rotating adds: latency p50 µs (paired by repetition) | p99 µs | server CPU µs per unit (paired) | CPU ratio rotate / owner | target |',
  );
  out.push('|---|---:|---:|---:|---:|---|');
  const signed = (v) => (v === null ? '–' : `${v > 0 ? '+' : ''}${fmt(v)}`);
  const spanned = (values) =>
    values.length < 2 ? '' : ` (${signed(Math.min(...values))} to ${signed(Math.max(...values))})`;
  for (const [name, spec, d, p50s, cpus] of added) {
    const met = spec.target === null ? null : spec.met(d);
    const verdict =
      spec.target === null ? '–' : `${spec.target}: **${met === null ? 'not measured' : met ? 'met' : 'missed'}**`;
    out.push(
      `| ${name} | ${signed(d.p50)}${spanned(p50s)} | ${signed(d.p99)} | ${signed(d.cpu)}${spanned(cpus)} per ${spec.unit} | ` +
        `${d.ratio === null ? '–' : `${fmt(d.ratio)}×`} | ${verdict} |`,
    );
  }
  out.push('');
}

const loads = runs.map((run) => run.loadavg).filter((v) => typeof v === 'number');
if (loads.length > 0) {
  out.push(
    `Load average (1 min) just before each run: median ${fmt(median(loads))}, highest ` +
      `${fmt(Math.max(...loads))} (the run's own processes count in the runs after it).`,
  );
  out.push('');
}

const failed = runs.filter((run) => !(run.exit === 0 && run.result && run.result.ok));
if (failed.length > 0) {
  out.push('Failed runs:');
  out.push('');
  for (const run of failed) {
    const error = run.result && run.result.error;
    out.push(`- ${run.case} on ${run.config}, rep ${run.rep}: exit ${run.exit}` +
      (error ? `, ${error.kind}: ${error.message}` : ''));
  }
  out.push('');
}

process.stdout.write(out.join('\n'));
