'use strict';
// Debian's Chromium (or $CHROMIUM_BIN: test/helpers/programs.js) driven by playwright-core (never a
// downloaded browser). Suites call needPrograms(this, 'chromium') first.
const fs = require('node:fs');
const path = require('node:path');
const { needPrograms, programPath } = require('./programs');

const ARTIFACTS = path.join(__dirname, '..', 'artifacts');

async function launch() {
  const { chromium } = require('playwright-core');
  return chromium.launch({
    executablePath: programPath('chromium'),
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
  });
}

async function screenshot(page, name) {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`) });
}

/**
 * The set-up every browser suite shares: Chromium (skipped, or failed under CI=true, where it is
 * missing: programs.js) and the pipeline as `npm start` runs it. `set(d, browser)` hands them over.
 */
function useBrowserDemo(set, opts = { mode: 'safe' }) {
  const { demo } = require('./demo');
  let d;
  let browser;
  before(async function () {
    needPrograms(this, 'chromium');
    d = await demo(opts);
    browser = await launch();
    set(d, browser);
  });
  after(async () => {
    if (browser) await browser.close();
    if (d) await d.stop();
  });
}

module.exports = { launch, screenshot, useBrowserDemo, ARTIFACTS };
