'use strict';
// As an admin sees it in the browser (Debian Chromium): the config dialogs' checks and
// Test connection, a red status that goes away after the fix and a deploy (read from the
// editor), Chinese statuses in the Chinese editor, and the sandbox page at phone width.
const assert = require('node:assert/strict');
const { demo } = require('../helpers/demo');
const { waitFor } = require('../helpers/wait');
const { screenshot, useBrowserDemo } = require('../helpers/browser');

describe('browser: the admin experience', function () {
  this.timeout(240000);
  let d;
  let browser;
  useBrowserDemo((dd, bb) => { d = dd; browser = bb; });

  async function openEditor(url, locale = 'en-US') {
    const context = await browser.newContext({ viewport: { width: 1600, height: 900 }, locale });
    const page = await context.newPage();
    const problems = [];
    page.on('pageerror', (err) => problems.push(err.message));
    await page.goto(url);
    await page.waitForSelector('.red-ui-palette-node[data-palette-type="wechat-in"]', { timeout: 60000 });
    await page.waitForFunction(() => RED.nodes.node('wc.account'));
    return { page, problems, context };
  }
  const editConfig = async (page, type, id) => {
    await page.evaluate(([t, i]) => RED.editor.editConfig('', t, i), [type, id]);
    await page.waitForSelector(`#node-config-input-${type === 'wechat-config' ? 'appId' : 'baseUrl'}`, { state: 'visible' });
    await page.waitForTimeout(300); // the tray's opening animation
  };
  /** The status texts the editor shows for the nodes of the bundled flow, once those of `types` are there. */
  const statusTexts = (page, types) => waitFor(async () => {
    const all = await page.evaluate((t) => RED.nodes.filterNodes({ z: 'wc.tab' }).filter((n) => t.includes(n.type) && n.status && n.status.text).map((n) => ({ type: n.type, text: n.status.text })), types);
    return types.every((t) => all.some((s) => s.type === t)) && all;
  }, { timeoutMs: 30000, what: `statuses of ${types.join(', ')}` });
  // Fixed statuses go out as catalog keys; the editor translates them into its own language.
  const FIXED = ['wechat-in', 'wechat-reply', 'c4c-create-customer'];
  const statusOf = (page, id) => page.evaluate((i) => {
    const n = RED.nodes.node(i);
    return n && n.status ? { fill: n.status.fill, text: n.status.text } : null;
  }, id);
  async function deploy(page) {
    await page.locator('#red-ui-header-button-deploy').click();
    const confirm = page.locator('#red-ui-header-button-deploy-confirm, .red-ui-notification button', { hasText: /Confirm deploy|确认部署/ });
    if (await confirm.count()) await confirm.first().click().catch(() => undefined);
    await waitFor(() => page.evaluate(() => !RED.nodes.dirty()), { what: 'the deploy' });
  }

  it('a bad EncodingAESKey and a bad AppID show their messages in the dialog; ${VAR} is accepted', async () => {
    const { page, problems, context } = await openEditor(d.editorUrl);
    await editConfig(page, 'wechat-config', 'wc.account');
    const key = page.locator('#node-config-input-encodingAESKey');
    await key.fill('a'.repeat(42));
    await key.dispatchEvent('change');
    await page.locator('#node-config-input-name').click();
    await key.hover();
    const tip = page.locator('.red-ui-popover', { hasText: /EncodingAESKey/ });
    await tip.first().waitFor({ timeout: 10000 });
    assert.match(await tip.first().textContent(), /exactly 43 characters/);
    assert.ok(await key.evaluate((el) => el.classList.contains('input-error')));
    await screenshot(page, 'dialog-bad-aes-key');

    const appId = page.locator('#node-config-input-appId');
    await appId.fill('hello');
    await appId.dispatchEvent('change');
    await appId.hover();
    await page.locator('.red-ui-popover', { hasText: /"wx" followed by 16 hex/ }).first().waitFor({ timeout: 10000 });
    await appId.fill('${WECHAT_APPID}');
    await appId.dispatchEvent('change');
    assert.equal(await appId.evaluate((el) => el.classList.contains('input-error')), false);
    // the shared store: a select of wechat-c4c-redis nodes, the bundled flow's REDIS_URL one chosen
    const store = page.locator('#node-config-input-store');
    await store.waitFor({ state: 'visible' });
    assert.equal(await store.evaluate((el) => el.tagName), 'SELECT');
    assert.equal(await store.inputValue(), 'wc.redis');
    assert.match(await page.locator('label[for="node-config-input-store"]').textContent(), /Shared store/);
    // the message mode: the bundled flow's ${WECHAT_MESSAGE_MODE} shown as it is, the 公众平台's modes offered
    const mode = page.locator('#node-config-input-messageMode');
    assert.equal(await mode.inputValue(), '${WECHAT_MESSAGE_MODE}');
    const options = await mode.locator('option').evaluateAll((os) => os.map((o) => `${o.value}=${o.textContent}`));
    for (const want of [/^safe=Safe mode \(安全模式/, /^compatible=Compatible mode \(兼容模式\)/, /^plain=Plaintext mode \(明文模式\)/, /^any=/]) {
      assert.ok(options.some((o) => want.test(o)), `${want} in ${options.join(', ')}`);
    }
    await page.locator('#node-config-dialog-cancel').click();
    assert.deepEqual(problems, []);
    await context.close();
  });

  it('a Tenant URL with the service path in it says where the path belongs', async () => {
    const { page, context } = await openEditor(d.editorUrl);
    await editConfig(page, 'c4c-config', 'wc.c4c');
    assert.equal(await page.locator('#node-config-input-auth').inputValue(), 'basic', 'the authentication select is never blank');
    const url = page.locator('#node-config-input-baseUrl');
    await url.fill('https://my000000.crm.ondemand.com/sap/c4c/odata/v1/c4codataapi');
    await url.dispatchEvent('change');
    await url.hover();
    const tip = page.locator('.red-ui-popover', { hasText: /Service path/ });
    await tip.first().waitFor({ timeout: 10000 });
    await screenshot(page, 'dialog-tenant-url-path');
    await page.locator('#node-config-dialog-cancel').click();
    await context.close();
  });

  it('Test connection against the sandbox: success with the stored secret, the hint with a wrong one', async () => {
    const { page, context } = await openEditor(d.editorUrl);
    await editConfig(page, 'wechat-config', 'wc.account');
    const result = page.locator('#wechat-c4c-check-wechat-result');
    await page.locator('#wechat-c4c-check-wechat').click();
    await waitFor(async () => /Connected|Failed|could not/.test(await result.textContent()), { what: 'the check result' });
    assert.match(await result.textContent(), /Connected: got an access token/);
    assert.ok(await result.evaluate((el) => el.classList.contains('wechat-c4c-check-ok')));
    await screenshot(page, 'dialog-test-connection-ok');

    await page.locator('#node-config-input-appSecret').fill('not-the-secret');
    await page.locator('#wechat-c4c-check-wechat').click();
    await waitFor(async () => /Failed/.test(await result.textContent()), { what: 'the failure' });
    const text = await result.textContent();
    assert.match(text, /40125/);
    assert.match(text, /AppSecret is wrong: reset it in 基本配置/);
    assert.doesNotMatch(text, /not-the-secret/);
    await screenshot(page, 'dialog-test-connection-wrong-secret');
    await page.locator('#node-config-dialog-cancel').click();

    await editConfig(page, 'c4c-config', 'wc.c4c');
    const c4c = page.locator('#wechat-c4c-check-c4c-result');
    await page.locator('#wechat-c4c-check-c4c').click();
    await waitFor(async () => /Connected|Failed|could not/.test(await c4c.textContent()), { what: 'the C4C check' });
    assert.match(await c4c.textContent(), /Connected: service document, \$metadata and CSRF token OK/);
    await page.locator('#node-config-dialog-cancel').click();
    await context.close();
  });

  it('Test connection in a Chinese editor answers in Chinese only: a bad AppID, a wrong AppSecret, a wrong C4C password', async () => {
    const { page, context } = await openEditor(d.editorUrl, 'zh-CN');
    // Chinese only: no English word but codes and the names of products, fields and variables
    const NAMES = /\b(AppID|AppSecret|C4C|OData|Token|IP|wechat-config|c4c-config|Node-RED|CSRF|EncodingAESKey|[A-Z0-9_]{4,})\b/g;
    const english = (text) => (text.replace(NAMES, '').match(/[A-Za-z]{3,}/g) || []);
    await editConfig(page, 'wechat-config', 'wc.account');
    const result = page.locator('#wechat-c4c-check-wechat-result');
    const check = async (button, out) => {
      await page.locator(button).click();
      await waitFor(async () => /失败|成功|无法/.test(await out.textContent()), { what: 'the check result' });
      const text = await out.textContent();
      await page.waitForTimeout(100);
      return text;
    };
    await page.locator('#node-config-input-appId').fill('wx123');
    const badId = await check('#wechat-c4c-check-wechat', result);
    assert.match(badId, /失败：40013/);
    assert.match(badId, /AppID 错误/);
    assert.deepEqual(english(badId), [], badId);
    await page.locator('#node-config-input-appId').fill('${WECHAT_APPID}');
    await page.locator('#node-config-input-appSecret').fill('not-the-secret');
    const wrong = await check('#wechat-c4c-check-wechat', result);
    assert.match(wrong, /40125/);
    assert.match(wrong, /AppSecret 错误/);
    assert.deepEqual(english(wrong), [], wrong);
    await screenshot(page, 'dialog-test-connection-zh');
    await page.locator('#node-config-dialog-cancel').click();
    await editConfig(page, 'c4c-config', 'wc.c4c');
    await page.locator('#node-config-input-password').fill('not-the-password');
    const c4c = await check('#wechat-c4c-check-c4c', page.locator('#wechat-c4c-check-c4c-result'));
    assert.match(c4c, /C4C_401/);
    assert.match(c4c, /用户或密码/);
    assert.deepEqual(english(c4c), [], c4c);
    assert.doesNotMatch(c4c, /not-the-password/);
    await page.locator('#node-config-dialog-cancel').click();
    await context.close();
  });

  it('a node in error shows a short red status; after the fix and a deploy the error is gone (read in the editor)', async () => {
    const { page, context } = await openEditor(d.editorUrl);
    await editConfig(page, 'wechat-config', 'wc.account');
    await page.locator('#node-config-input-appSecret').fill('wrong-secret-for-status');
    await page.locator('#node-config-dialog-ok').click();
    await deploy(page);
    const red = await waitFor(async () => {
      const s = await statusOf(page, 'wc.token');
      return s && s.fill === 'red' && s;
    }, { timeoutMs: 30000, what: 'the red token-refresh status' });
    assert.ok([...red.text].length <= 32, `status "${red.text}" is ${[...red.text].length} characters`);
    assert.match(red.text, /40125/);
    assert.match(red.text, /^40125: AppSecret wrong$/, 'the code and the short hint of the one hint table, as the runtime finds it');
    await screenshot(page, 'status-red');

    await editConfig(page, 'wechat-config', 'wc.account');
    await page.locator('#node-config-input-appSecret').fill('${WECHAT_APP_SECRET}');
    await page.locator('#node-config-dialog-ok').click();
    await deploy(page);
    const healthy = await waitFor(async () => {
      const s = await statusOf(page, 'wc.token');
      return s && s.fill === 'green' && s;
    }, { timeoutMs: 30000, what: 'the healthy status after the fix' });
    assert.doesNotMatch(healthy.text, /40125|AppSecret/, 'the healthy status still names the old error');
    // and after a reload of the editor, still no red status anywhere in the flow
    await page.reload();
    await page.waitForFunction(() => RED.nodes.node('wc.token'));
    await page.waitForTimeout(1000);
    const reds = await page.evaluate(() => RED.nodes.filterNodes({ z: 'wc.tab' }).filter((n) => n.status && n.status.fill === 'red').map((n) => `${n.type}: ${n.status.text}`));
    assert.deepEqual(reds, []);
    await screenshot(page, 'status-fixed');
    await context.close();
  });

  it('help code wraps inside the sidebar (no code runs off its edge)', async () => {
    const { page, context } = await openEditor(d.editorUrl);
    for (const type of ['c4c-config', 'wechat-config', 'wechat-in', 'c4c-create-customer', 'wechat-push']) {
      await page.evaluate((t) => RED.sidebar.help.show(t), type);
      await page.waitForFunction(() => document.querySelectorAll('#red-ui-sidebar-content .red-ui-help code').length > 0);
      const over = await page.evaluate(() => {
        const box = document.querySelector('#red-ui-sidebar-content').getBoundingClientRect();
        return [...document.querySelectorAll('#red-ui-sidebar-content .red-ui-help code, #red-ui-sidebar-content .red-ui-help pre')]
          .filter((el) => el.getBoundingClientRect().right > box.right + 1).map((el) => el.textContent.slice(0, 40));
      });
      assert.deepEqual(over, [], `${type}: code beyond the sidebar`);
    }
    await screenshot(page, 'help-code-wraps');
    await context.close();
  });

  it('a Chinese editor on an English runtime shows the fixed statuses in Chinese', async () => {
    const { page, context } = await openEditor(d.editorUrl, 'zh-CN');
    const statuses = await statusTexts(page, FIXED);
    await screenshot(page, 'editor-zh-on-en-runtime');
    assert.ok(statuses.some((s) => s.text === '就绪'), JSON.stringify(statuses));
    for (const s of statuses) {
      assert.doesNotMatch(s.text, /^ready$|\.status\./, `${s.type}: "${s.text}" is not in the editor's language`);
    }
    await context.close();
  });

  it('the sandbox page at 375 px has no horizontal scroll and re-renders bubbles and log on 中文/EN', async () => {
    const context = await browser.newContext({ viewport: { width: 375, height: 800 }, locale: 'zh-CN' });
    const page = await context.newPage();
    await page.goto(d.sandboxUrl);
    await page.evaluate(() => localStorage.setItem('sandbox-lang', 'zh'));
    await page.reload();
    await page.locator('#follow').click();
    await page.locator('.bubble.push').first().waitFor({ timeout: 30000 });
    await page.waitForTimeout(300);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    const wide = await page.evaluate(() => [...document.querySelectorAll('body *')].filter((e) => e.getBoundingClientRect().right > window.innerWidth + 1).map((e) => `${e.tagName}.${e.className}#${e.id}`).slice(0, 8));
    assert.ok(overflow <= 0, `the page scrolls ${overflow} px sideways at 375 px (${wide.join(', ')})`);
    await screenshot(page, 'sandbox-375-zh');
    const zh = await page.evaluate(() => ({ chat: document.getElementById('chat').innerText, log: document.getElementById('log').innerText }));
    assert.match(zh.chat, /你关注了公众号/);
    assert.match(zh.log, /回复检查通过/);
    // Chinese all the way: every log line has Chinese in it (C4C's requests, the WeChat API's, the checks)
    const lines = await page.evaluate(() => [...document.querySelectorAll('#log li')].map((li) => li.textContent.replace(/^\S+\s+/, '')));
    const untranslated = lines.filter((l) => !/[\u4e00-\u9fff]/.test(l));
    assert.deepEqual(untranslated, [], `log lines in English in a Chinese page:\n${untranslated.join('\n')}`);
    assert.ok(lines.some((l) => /C4C：创建个人客户|C4C：查询个人客户/.test(l)), lines.join('\n'));
    const times = await page.evaluate(() => [...document.querySelectorAll('#log time')].map((t) => t.dateTime));

    await page.locator('#lang').click();
    const en = await page.evaluate(() => ({ chat: document.getElementById('chat').innerText, log: document.getElementById('log').innerText }));
    assert.match(en.chat, /You followed the account/);
    assert.doesNotMatch(en.chat, /你关注了公众号/);
    assert.match(en.log, /reply checks passed/);
    assert.doesNotMatch(en.log, /回复检查通过/);
    assert.match(en.log, /push →/);
    await screenshot(page, 'sandbox-375-en');

    // a reload keeps each log line's real time
    await page.waitForTimeout(1100);
    await page.reload();
    await page.waitForFunction(() => document.querySelectorAll('#log time').length > 0);
    const after = await page.evaluate(() => [...document.querySelectorAll('#log time')].map((t) => t.dateTime));
    const serverLines = times.filter((t) => after.includes(t));
    assert.ok(serverLines.length > 0, `log times changed on reload: ${times} → ${after}`);
    await context.close();
  });

  describe('a Chinese runtime and editor', () => {
    let zh;
    before(async () => {
      zh = await demo({ mode: 'safe', settings: { lang: 'zh-CN' } });
    });
    after(async () => { if (zh) await zh.stop(); });

    it('an English editor on a Chinese runtime shows the fixed statuses in English', async () => {
      const { page, context } = await openEditor(zh.editorUrl, 'en-US');
      const statuses = await statusTexts(page, FIXED);
      assert.ok(statuses.some((s) => s.text === 'ready'), JSON.stringify(statuses));
      for (const s of statuses) {
        assert.doesNotMatch(s.text, /就绪|\.status\./, `${s.type}: "${s.text}" is not in the editor's language`);
      }
      await context.close();
    });

    it('shows Chinese statuses', async () => {
      const { page, context } = await openEditor(zh.editorUrl, 'zh-CN');
      await zh.sandbox.act('follow', { openid: 'oBrowserZh000000000000000000' });
      const statuses = await waitFor(async () => {
        const all = await page.evaluate(() => RED.nodes.filterNodes({ z: 'wc.tab' }).filter((n) => n.status && n.status.text).map((n) => ({ type: n.type, text: n.status.text })));
        return all.some((s) => s.type === 'wechat-push') && all.some((s) => s.type === 'token-refresh') && all;
      }, { timeoutMs: 30000, what: 'statuses after a follow' });
      await screenshot(page, 'editor-zh-statuses');
      const ours = statuses.filter((s) => ['token-refresh', 'wechat-push', 'c4c-create-customer'].includes(s.type));
      for (const s of ours) {
        assert.match(s.text, /[\u4e00-\u9fff]/, `${s.type} status in Chinese: "${s.text}"`);
        assert.ok([...s.text].length <= 32, `${s.type}: "${s.text}"`);
      }
      await context.close();
    });
  });
});
