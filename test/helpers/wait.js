'use strict';
/**
 * Waiting in tests and benches: `sleep(ms)`, and `waitFor(fn)` — polls `fn` (sync or async) until
 * it returns something truthy and resolves that; throws `timed out waiting for <what>` after
 * `timeoutMs`. Every wait is bounded: a test that waits fails, never hangs. A bound on waiting,
 * never a verdict on timing.
 */
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function waitFor(fn, { timeoutMs = 20000, intervalMs = 100, what = 'condition' } = {}) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(intervalMs);
  }
}

module.exports = { sleep, waitFor };
