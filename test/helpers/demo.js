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

/**
 * The set-up most end-to-end suites share: one pipeline for the whole describe, started before its
 * tests and stopped after them; `set(d)` hands it to the suite.
 */
function useDemo(opts, set) {
  let d;
  before(async () => { d = await demo(opts); set(d); });
  after(async () => { if (d) await d.stop(); });
}

module.exports = { demo, useDemo };
