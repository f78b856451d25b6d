'use strict';
// Issue 22: the sandbox page's agent console beside the phone: the follower's messages become a
// ticket with its thread (media shown), the agent's reply reaches the phone, a private note does
// not, and the console speaks both languages.
const assert = require('node:assert/strict');
const { screenshot, useBrowserDemo } = require('../helpers/browser');

describe('browser: the sandbox agent console (Debian Chromium)', function () {
  this.timeout(180000);
  let d;
  let browser;
  useBrowserDemo((dd, bb) => { d = dd; browser = bb; });

  it('a message and an image make one ticket with its thread; the reply reaches the phone; a private note stays in C4C; 中文/EN', async () => {
    const context = await browser.newContext({ viewport: { width: 1300, height: 900 }, locale: 'en-US' });
    const page = await context.newPage();
    const problems = [];
    page.on('pageerror', (err) => problems.push(err.message));
    await page.goto(d.sandboxUrl);
    await page.evaluate(() => localStorage.setItem('sandbox-lang', 'en'));
    await page.reload();
    const openid = (await page.locator('#openid').innerText()).trim();
    await page.fill('#text', 'Where is my parcel?');
    await page.click('#send button[type=submit]');
    const ticket = page.locator('#agentConsole .ticket').filter({ hasText: openid });
    await ticket.waitFor({ timeout: 20000 });
    await page.click('[data-media=image]');
    await ticket.locator('.thread img.media').waitFor({ timeout: 20000 });
    const thread = await ticket.locator('.thread li').allInnerTexts();
    assert.equal(thread.length, 2);
    assert.match(thread[0], /Where is my parcel\?/);
    assert.match(thread[1], /^\[image\] http/);
    const id = await ticket.getAttribute('data-ticket');
    assert.equal(d.sandbox.c4c.social.tickets.filter((t) => t.ID === id).length, 1);

    await ticket.locator('textarea').fill('It arrives tomorrow.');
    await ticket.locator('button[type=submit]').click();
    const push = page.locator('.bubble.push', { hasText: 'It arrives tomorrow.' });
    await push.waitFor({ timeout: 20000 });
    await page.locator('#agentConsole .ticket', { hasText: 'It arrives tomorrow.' }).locator('li.agent').first().waitFor();

    const again = page.locator(`#agentConsole .ticket[data-ticket="${id}"]`);
    await again.locator('textarea').fill('internal: check the depot');
    await again.locator('.private-toggle input').check();
    await again.locator('button[type=submit]').click();
    await again.locator('li.agent.private').waitFor({ timeout: 20000 });
    await page.waitForTimeout(1000);
    assert.equal(await page.locator('.bubble.push').count(), 1, 'the note never reached the phone');
    assert.equal(d.sandbox.wechatApi.messages.filter((m) => m.touser === openid).length, 1);
    await screenshot(page, 'sandbox-agent-console');

    const en = await page.locator('#agentConsole').innerText();
    assert.match(en, /C4C agent console/);
    await page.click('#lang');
    // the console re-renders on the next tick after the page switched its language
    await page.locator('#agentConsole', { hasText: 'C4C 坐席控制台' }).waitFor({ timeout: 10000 });
    const zh = await page.locator('#agentConsole').innerText();
    assert.match(zh, /C4C 坐席控制台/);
    assert.match(zh, /内部备注/);
    assert.doesNotMatch(zh, /agent console|private note/);
    assert.equal(await page.locator('[data-media=image]').innerText(), '图片');
    // the log in Chinese too: the social requests and C4C's mashup call
    const log = await page.locator('#log').innerText();
    assert.match(log, /C4C：创建社交媒体活动/);
    assert.match(log, /C4C → mashup：回复工单 \d+（内部备注），应答 HTTP 200/);
    assert.doesNotMatch(log, /social (read|create)|reply to ticket/);
    assert.deepEqual(problems, []);
    await context.close();
  });
});
