'use strict';

// Waiting in the JS suites: every wait has a timeout, so a hang becomes a failure.

/** The default timeout of every wait, in milliseconds. */
const TIMEOUT = 10_000;

function delay(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Rejects after `ms` with `what` in the message unless `promise` settles first. */
function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

module.exports = { TIMEOUT, delay, withTimeout };
