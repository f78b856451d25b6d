'use strict';
// Debian's Chromium (or $CHROMIUM_BIN: test/helpers/programs.js) driven by playwright-core (never a
// downloaded browser). Suites call needPrograms(this, 'chromium') first.
const fs = require('node:fs');
const path = require('node:path');
const { programPath } = require('./programs');

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

module.exports = { launch, screenshot, ARTIFACTS };
