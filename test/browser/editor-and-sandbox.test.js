'use strict';
// What a person sees: the Node-RED editor with the package, and the sandbox page.
const assert = require('node:assert/strict');
const { sleep, waitFor } = require('../helpers/wait');
const { screenshot, useBrowserDemo } = require('../helpers/browser');

const FLOW_TYPES = ['wechat-in', 'wechat-reply', 'token-refresh', 'wechat-push', 'c4c-create-customer'];
const CONFIG_TYPES = ['wechat-config', 'c4c-config'];

describe('browser: the editor and the sandbox page (Debian Chromium)', function () {
  this.timeout(180000);
  let d;
  let browser;
  useBrowserDemo((dd, bb) => { d = dd; browser = bb; });

  async function openEditor() {
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    const problems = [];
    page.on('pageerror', (err) => problems.push(err.message));
    await page.goto(d.editorUrl);
    await page.waitForSelector('.red-ui-palette-node[data-palette-type="wechat-in"]', { timeout: 60000 });
    return { page, problems };
  }

  it('the editor shows the five flow nodes under one palette category, and both config nodes are registered', async () => {
    const { page, problems } = await openEditor();
    const palette = await page.evaluate((types) => types.map((t) => {
      const el = document.querySelector(`.red-ui-palette-node[data-palette-type="${t}"]`);
      return { type: t, category: el && el.closest('.red-ui-palette-category') ? el.closest('.red-ui-palette-category').id : null, label: el ? el.textContent.trim() : null };
    }), FLOW_TYPES);
    assert.deepEqual(palette.map((p) => p.category), FLOW_TYPES.map(() => 'red-ui-palette-container-WeChat_C4C'), JSON.stringify(palette));
    const configs = await page.evaluate((types) => types.map((t) => RED.nodes.getType(t) && RED.nodes.getType(t).category), CONFIG_TYPES);
    assert.deepEqual(configs, ['config', 'config']);
    const unknown = await page.evaluate(() => RED.nodes.filterNodes({ type: 'unknown' }).length);
    assert.equal(unknown, 0);
    // Every node of the deployed bundled flow passes its editor validation (no red triangle).
    const invalid = await page.evaluate(() => RED.nodes.filterNodes({ z: 'wc.tab' }).filter((n) => n.valid === false).map((n) => `${n.type} ${n.name}`));
    assert.deepEqual(invalid, []);
    await screenshot(page, 'editor-palette');
    assert.deepEqual(problems, []);
    await page.close();
  });

  it('the bundled flow imports from Import > Examples with no unknown-type warning', async () => {
    const { page } = await openEditor();
    await page.evaluate(() => RED.actions.invoke('core:show-examples-import-dialog'));
    const dialog = page.locator('#red-ui-clipboard-dialog');
    await dialog.locator('.red-ui-treeList-label', { hasText: /^node-red-contrib-wechat-c4c$/ }).click();
    const entry = dialog.locator('.red-ui-treeList-label', { hasText: /^wechat-c4c$/ });
    await entry.waitFor();
    const names = (await dialog.locator('.red-ui-treeList-label').allTextContents()).map((n) => n.trim());
    assert.ok(names.includes('wechat-echo'), `examples listed: ${names.join(', ')}`);
    await entry.click();
    await page.locator('#red-ui-clipboard-dialog-import-opt-new').click();
    await screenshot(page, 'editor-import-dialog');
    await page.locator('#red-ui-clipboard-dialog-ok').click();
    // The ids exist already (the same flow runs): Node-RED offers to import a copy.
    const copy = page.locator('.red-ui-notification button', { hasText: /Import copy/i });
    await copy.first().waitFor({ timeout: 10000 });
    await copy.first().click();
    await waitFor(() => page.evaluate(() => RED.nodes.filterNodes({ type: 'wechat-in' }).length >= 2), { what: 'the imported copy' });
    await page.waitForTimeout(300);
    const notes = await page.locator('.red-ui-notification').allTextContents();
    assert.ok(!notes.some((n) => /unknown|unrecognised|not installed|unrecognized/i.test(n)), `notifications: ${notes.join(' | ')}`);
    assert.equal(await page.evaluate(() => RED.nodes.filterNodes({ type: 'unknown' }).length), 0);
    const counts = await page.evaluate(() => ({
      wechatIn: RED.nodes.filterNodes({ type: 'wechat-in' }).length,
      customers: RED.nodes.filterNodes({ type: 'c4c-create-customer' }).length,
      invalid: RED.nodes.filterNodes({}).filter((n) => n.valid === false).map((n) => n.type),
    }));
    assert.deepEqual(counts, { wechatIn: 2, customers: 2, invalid: [] });
    await screenshot(page, 'editor-imported');
    await page.close();
  });

  it('the Chinese example (wechat-c4c-zh-CN) imports with Chinese node names on the canvas', async () => {
    const { page } = await openEditor();
    await page.evaluate(() => RED.actions.invoke('core:show-examples-import-dialog'));
    const dialog = page.locator('#red-ui-clipboard-dialog');
    await dialog.locator('.red-ui-treeList-label', { hasText: /^node-red-contrib-wechat-c4c$/ }).click();
    const entry = dialog.locator('.red-ui-treeList-label', { hasText: /^wechat-c4c-zh-CN$/ });
    await entry.waitFor();
    await entry.click();
    await page.locator('#red-ui-clipboard-dialog-import-opt-new').click();
    await page.locator('#red-ui-clipboard-dialog-ok').click();
    const copy = page.locator('.red-ui-notification button', { hasText: /Import copy/i });
    await copy.first().waitFor({ timeout: 10000 });
    await copy.first().click();
    await waitFor(() => page.evaluate(() => RED.nodes.filterNodes({ type: 'inject' }).some((n) => n.name === '重放死信')), { what: 'the Chinese copy' });
    const tab = await page.evaluate(() => { const t = RED.nodes.filterNodes({ type: 'inject' }).find((n) => n.name === '重放死信').z; RED.workspaces.show(t); return RED.nodes.workspace(t).label; });
    assert.equal(tab, '微信 → C4C');
    await page.waitForTimeout(500);
    const labels = await page.locator('.red-ui-flow-node-label').allTextContents();
    for (const name of ['关注？', '欢迎语', 'C4C 客户', '推送客户编号', '重放死信']) assert.ok(labels.some((l) => l.includes(name)), `${name} on the canvas: ${labels.join(' | ')}`);
    await screenshot(page, 'editor-imported-zh');
    await page.close();
  });

  it('double-clicking wechat-in opens its edit dialog with its fields, and its help shows', async () => {
    const { page } = await openEditor();
    await page.locator('g[id="wc.in"] .red-ui-flow-node').dblclick();
    await page.waitForSelector('#node-input-dedupeWindow', { state: 'visible' });
    for (const id of ['#node-input-account', '#node-input-dedupeWindow', '#node-input-ackTimeout', '#node-input-name']) {
      assert.equal(await page.locator(id).count(), 1, id);
    }
    assert.equal(await page.inputValue('#node-input-ackTimeout'), '4500');
    const labels = await page.locator('.red-ui-tray label').allTextContents();
    assert.ok(labels.some((l) => /Retry window|重试去重/.test(l)), `labels: ${labels.join(', ')}`);
    await page.evaluate(() => RED.sidebar.help.show('wechat-in'));
    await page.waitForFunction(() => /Receives the messages|接收公众号/.test(document.querySelector('#red-ui-sidebar-content').innerText));
    const help = await page.locator('#red-ui-sidebar-content').innerText();
    assert.match(help, /Receives the messages|接收公众号/);
    assert.match(help, /ack timeout|应答超时/i);
    await screenshot(page, 'editor-wechat-in-dialog');
    await page.close();
  });

  it('the sandbox page: Follow shows the welcome bubble, then the push with the CustomerID; the customer appears in the C4C list', async () => {
    const page = await browser.newPage({ viewport: { width: 1300, height: 850 } });
    await page.goto(d.sandboxUrl);
    const openid = (await page.locator('#openid').innerText()).trim();
    assert.match(openid, /^o[\w-]{27}$/);
    await page.click('#follow');
    const reply = page.locator('.bubble.from-account:not(.push)');
    await reply.first().waitFor({ timeout: 15000 });
    assert.match(await reply.first().innerText(), /Welcome|欢迎/);
    const push = page.locator('.bubble.push');
    await push.first().waitFor({ timeout: 20000 });
    const customer = d.sandbox.c4c.customers.find((c) => c.LastName === openid);
    assert.ok(customer, 'the customer exists in C4C');
    assert.match(await push.first().innerText(), new RegExp(customer.CustomerID));
    // the phone in arrival order: the welcome (answered first) above the push
    const kinds = await page.locator('#chat .bubble').evaluateAll((els) => els.map((e) => (e.classList.contains('push') ? 'push' : e.classList.contains('from-account') ? 'reply' : 'other')));
    assert.ok(kinds.indexOf('reply') >= 0 && kinds.indexOf('reply') < kinds.indexOf('push'), kinds.join(' '));
    const row = page.locator(`#customers tr[data-customer-id="${customer.CustomerID}"]`);
    await row.waitFor();
    assert.match(await row.innerText(), new RegExp(openid));
    assert.match(await row.innerText(), /Wechat/);
    await screenshot(page, 'sandbox-follow');
    // The page hears the reply late (its request held back) after the push: the phone still shows
    // the welcome first, as it reached WeChat first.
    await page.route('**/api/follow', async (route) => {
      const response = await route.fetch();
      await sleep(2500);
      await route.fulfill({ response });
    });
    await page.click('#unfollow');
    await page.locator('.bubble.system').nth(1).waitFor();
    const pushesBefore = await push.count();
    await page.waitForTimeout(1100); // a new CreateTime second: a new follow, not WeChat's retry of the first
    await page.click('#follow');
    await page.waitForFunction((n) => document.querySelectorAll('.bubble.push').length > n, pushesBefore, { timeout: 20000 });
    await page.waitForFunction(() => !document.querySelector('#follow').disabled, null, { timeout: 20000 });
    const order = await page.locator('#chat .bubble').evaluateAll((els) => els.map((e) => (e.classList.contains('push') ? 'push' : e.classList.contains('from-account') ? 'reply' : 'other')));
    assert.deepEqual(order.slice(-2), ['reply', 'push'], order.join(' '));
    await page.unroute('**/api/follow');
    // The labels switch between Chinese and English.
    const before = await page.locator('#follow').innerText();
    await page.click('#lang');
    const after = await page.locator('#follow').innerText();
    assert.notEqual(before, after);
    assert.ok([before, after].includes('关注') && [before, after].includes('Follow'));
    await page.close();
  });
});
