#!/usr/bin/env node
'use strict';
// The README's pictures (docs/images/*.png): the bundled flow in the editor after a follow, and
// the sandbox page at phone width. Debian's Chromium through playwright-core.
//   npm run build && node scripts/screenshots.js
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { chromium } = require('playwright-core');
const { startDemo } = require('./demo');
const { freePort } = require('../test/helpers/demo');

(async () => {
  const out = path.join(__dirname, '..', 'docs', 'images');
  fs.mkdirSync(out, { recursive: true });
  const d = await startDemo({ nrPort: await freePort(), sandboxPort: await freePort(), userDir: fs.mkdtempSync(path.join(os.tmpdir(), 'wechat-c4c-shots-')) });
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu'] });
  try {
    const phone = await browser.newPage({ viewport: { width: 375, height: 760 }, deviceScaleFactor: 2, locale: 'zh-CN' });
    await phone.goto(d.sandboxUrl);
    await phone.evaluate(() => localStorage.setItem('sandbox-lang', 'zh'));
    await phone.reload();
    await phone.click('#follow');
    await phone.locator('.bubble.push').first().waitFor({ timeout: 30000 });
    await phone.waitForTimeout(500);
    await phone.locator('.phone').screenshot({ path: path.join(out, 'phone.png') });

    const editor = await browser.newPage({ viewport: { width: 1600, height: 900 } });
    await editor.goto(d.editorUrl);
    await editor.waitForSelector('.red-ui-palette-node[data-palette-type="wechat-in"]', { timeout: 60000 });
    await editor.waitForTimeout(1500);
    await editor.screenshot({ path: path.join(out, 'flow.png') });
    console.log(`written: ${path.join(out, 'phone.png')}, ${path.join(out, 'flow.png')}`);
  } finally {
    await browser.close();
    await d.stop();
  }
})().catch((err) => { console.error(err); process.exit(1); });
