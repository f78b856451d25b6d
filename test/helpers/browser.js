'use strict';
// Debian's Chromium driven by playwright-core (never a downloaded browser).
const fs = require('node:fs');
const path = require('node:path');

const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const ARTIFACTS = path.join(__dirname, '..', 'artifacts');

function chromiumAvailable() {
  return fs.existsSync(CHROMIUM);
}

async function launch() {
  const { chromium } = require('playwright-core');
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
  });
}

async function screenshot(page, name) {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`) });
}

/**
 * Browser tests need Debian's Chromium (.ci/run installs it). In CI a missing browser is a
 * failure; on a developer machine without it the suite says so and is skipped.
 */
function requireBrowser(ctx) {
  if (chromiumAvailable()) return;
  if (process.env.CI) throw new Error(`Chromium not found at ${CHROMIUM}: .ci/run installs it with apt-get install chromium`);
  console.warn(`    (browser tests skipped: no Chromium at ${CHROMIUM}; apt-get install chromium)`);
  ctx.skip();
}

module.exports = { launch, screenshot, requireBrowser, ARTIFACTS };
