#!/usr/bin/env node
'use strict';
// The README's pictures (docs/images/*.png): the bundled flow in the editor after a follow, and
// the sandbox page at phone width. Debian's Chromium ($CHROMIUM_BIN) through playwright-core.
//   npm run build && node scripts/screenshots.js
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { startDemo } = require('./demo');
const { freePort } = require('../test/helpers/ports');
const { launch } = require('../test/helpers/browser');
const { skipLine } = require('../test/helpers/programs');

(async () => {
  const skipped = skipLine('npm run screenshots', ['chromium']);
  if (skipped) return console.log(skipped);
  const out = path.join(__dirname, '..', 'docs', 'images');
  fs.mkdirSync(out, { recursive: true });
  const d = await startDemo({ nrPort: await freePort(), sandboxPort: await freePort(), userDir: fs.mkdtempSync(path.join(os.tmpdir(), 'wechat-c4c-shots-')) });
  const browser = await launch();
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
    // The status texts the picture shows, for test/unit/screenshots.test.js: each must still be one
    // the catalogs produce (a picture of statuses the nodes no longer use is out of date).
    const statuses = await editor.evaluate(() => [...document.querySelectorAll('.red-ui-flow-node-group')].map((g) => {
      const label = g.querySelector('.red-ui-flow-node-status-label');
      const node = RED.nodes.node(g.id);
      return label && label.textContent && node ? { id: g.id, type: node.type, text: label.textContent } : null;
    }).filter(Boolean));
    fs.writeFileSync(path.join(out, 'flow.statuses.json'), `${JSON.stringify({ lang: 'en-US', statuses }, null, 2)}\n`);
    console.log(`written: ${path.join(out, 'phone.png')}, ${path.join(out, 'flow.png')}, ${path.join(out, 'flow.statuses.json')}`);
  } finally {
    await browser.close();
    await d.stop();
  }
})().catch((err) => { console.error(err); process.exit(1); });
