'use strict';

// What the bench reports share: reading one invocation's results directory (meta.json and
// runs.jsonl, one JSON line a run), the median, and how a figure is written in a table.

const fs = require('node:fs');
const path = require('node:path');

/**
 * The results directory named on the command line, read: `{ meta, runs }`. Exits with a
 * usage line naming `script` when none is given.
 */
function readResults(script) {
  const dir = process.argv[2];
  if (!dir) {
    process.stderr.write(`usage: node ${script} RESULTS_DIR\n`);
    process.exit(2);
  }
  const meta = JSON.parse(fs.readFileSync(path.join(dir, 'meta.json'), 'utf8'));
  const runs = fs
    .readFileSync(path.join(dir, 'runs.jsonl'), 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line));
  return { meta, runs };
}

/** The median of `values`, `null` when there are none. */
function median(values) {
  if (values.length === 0) return null;
  const sorted = values.slice().sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** A figure as a table shows it: small integers bare, three significant digits or so else. */
function fmt(value) {
  if (value === null || value === undefined || Number.isNaN(value)) return '–';
  if (Number.isInteger(value) && Math.abs(value) < 1000) return String(value);
  const abs = Math.abs(value);
  if (abs >= 1000) return Math.round(value).toLocaleString('en-US');
  if (abs >= 100) return value.toFixed(0);
  if (abs >= 10) return value.toFixed(1);
  if (abs >= 1) return value.toFixed(2);
  if (abs === 0) return '0';
  return value.toPrecision(2);
}

module.exports = { fmt, median, readResults };
