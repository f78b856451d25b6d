'use strict';
// Start the pipeline as `npm start` does, on free ports and a temporary user directory.
const fs = require('node:fs');
const { freePort } = require('./ports');
const os = require('node:os');
const path = require('node:path');
const { startDemo } = require('../../scripts/demo');

async function demo(opts = {}) {
  const userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'wechat-c4c-e2e-'));
  const d = await startDemo({ nrPort: await freePort(), sandboxPort: await freePort(), userDir, ...opts });
  return d;
}

async function waitFor(fn, { timeoutMs = 20000, intervalMs = 100, what = 'condition' } = {}) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

module.exports = { demo, waitFor, freePort };
