'use strict';
// End to end, real processes: the sandbox and a Node-RED process with the bundled flow, started
// as `npm start` starts them. WeChat's simulated server calls the webhook like WeChat does.
const assert = require('node:assert/strict');
const fs = require('node:fs');
const { demo } = require('../helpers/demo');
const { sleep, waitFor } = require('../helpers/wait');

describe('the bundled flow end to end (sandbox + real Node-RED process)', function () {
  this.timeout(120000);
  let d;
  before(async () => {
    d = await demo({ mode: 'safe' });
    const settings = await fetch(`${d.nr.url}/settings`).then((r) => r.json());
    console.log(`      (Node-RED ${settings.version} on ${process.env.NODE_RED_NODE ? 'NODE_RED_NODE' : `Node ${process.version}`})`);
  });
  after(async () => {
    if (d) await d.stop();
  });
  afterEach(() => {
    d.sandbox.c4c.faults.latencyMs = 0;
    d.sandbox.c4c.faults.outageUntil = 0;
    d.sandbox.setMode('safe');
  });

  const customersOf = (openid) => d.sandbox.c4c.customers.filter((c) => c.LastName === openid);
  const pushesTo = (openid) => d.sandbox.wechatApi.messages.filter((m) => m.touser === openid);

  it('Node-RED runs with the heap limit npm start gives it (README checklist step 2), unless NODE_OPTIONS sets one', function () {
    if (/--max[-_]old[-_]space[-_]size/.test(process.env.NODE_OPTIONS || '')) this.skip();
    const args = d.nr.child.spawnargs; // what the Node-RED process was started with
    assert.ok(args.includes('--max-old-space-size=512'), args.join(' '));
    assert.ok(args.indexOf('--max-old-space-size=512') < args.findIndex((a) => /node-red/.test(a)), 'a Node flag, before the Node-RED script');
  });

  // The account decides the mode (WECHAT_MESSAGE_MODE, as npm start sets it from --plain): a
  // plaintext run is a Node-RED of its own, as `npm start -- --plain` starts it.
  for (const mode of ['plain', 'compatible', 'safe']) {
    it(`${mode} mode: a follow gets the welcome reply at once, one customer, one push with its CustomerID`, async () => {
      const own = mode === 'safe' ? undefined : await demo({ mode });
      const d0 = d;
      if (own) d = own;
      try {
        await followOnce(mode);
      } finally {
        d = d0;
        if (own) await own.stop();
      }
    });
  }

  it('the sandbox switched to plaintext while the account is in safe mode: refused (403), nothing created', async () => {
    d.sandbox.setMode('plain');
    const openid = 'oE2EModeMismatch000000000000';
    const report = await d.sandbox.act('follow', { openid });
    assert.equal(report.failed, true);
    assert.deepEqual(report.tries.map((t) => t.status), [403, 403, 403]);
    await sleep(300);
    assert.equal(customersOf(openid).length, 0);
  });

  async function followOnce(mode) {
    {
      const openid = `oE2E${mode}Follower000000000000`.slice(0, 28);
      const report = await d.sandbox.act('follow', { openid });
      assert.equal(report.failed, false);
      assert.equal(report.tries.length, 1, 'answered on the first try, within WeChat\'s 5 s');
      assert.ok(report.ok, JSON.stringify(report.checks));
      assert.match(report.shown, /欢迎关注/);
      assert.match(report.shown, /Welcome/);
      if (mode !== 'plain') assert.ok(report.checks.find((c) => c.name === 'MsgSignature valid' && c.ok), 'an encrypted reply');
      const [push] = await waitFor(() => pushesTo(openid).length && pushesTo(openid), { what: 'the push' });
      const customers = customersOf(openid);
      assert.equal(customers.length, 1);
      assert.equal(customers[0].FirstName, 'Wechat');
      assert.equal(customers[0].LastName, openid);
      assert.match(push.body.text.content, new RegExp(customers[0].CustomerID));
      await sleep(300);
      assert.equal(pushesTo(openid).length, 1, 'exactly one push');
    }
  }

  it('C4C slowed to 3 s per request: the reply still comes at once, the push still arrives in the follow window', async () => {
    d.sandbox.c4c.faults.latencyMs = 3000;
    const openid = 'oE2ESlowC4C0000000000000000a';
    const report = await d.sandbox.act('follow', { openid });
    assert.equal(report.tries.length, 1);
    assert.ok(report.ok, JSON.stringify(report.checks));
    assert.equal(customersOf(openid).length, 0, 'C4C had not answered yet when the reply came');
    const [push] = await waitFor(() => pushesTo(openid).length && pushesTo(openid), { timeoutMs: 30000, what: 'the slow push' });
    assert.match(push.body.text.content, new RegExp(customersOf(openid)[0].CustomerID));
  });

  it('unfollow and follow again: no second customer; the push names the existing customer', async () => {
    const openid = 'oE2EComeBack000000000000000b';
    await d.sandbox.act('follow', { openid });
    await waitFor(() => pushesTo(openid).length === 1, { what: 'the first push' });
    const first = customersOf(openid)[0];
    const bye = await d.sandbox.act('unfollow', { openid });
    assert.equal(bye.body, 'success');
    await sleep(1100); // a new CreateTime second: a new event, not a retry
    const again = await d.sandbox.act('follow', { openid });
    // the welcome reply promises nothing a returning follower would find wrong
    assert.doesNotMatch(again.shown, /creating|正在为您建立/);
    const pushes = await waitFor(() => pushesTo(openid).length === 2 && pushesTo(openid), { what: 'the second push' });
    assert.equal(customersOf(openid).length, 1);
    assert.match(pushes[0].body.text.content, /has been created/);
    assert.match(pushes[1].body.text.content, new RegExp(`${first.CustomerID}`));
    assert.match(pushes[1].body.text.content, /found your existing customer record/);
    assert.match(pushes[1].body.text.content, /找到了您已有的客户档案/);
  });

  it('a text message is answered success and creates nothing', async () => {
    const openid = 'oE2EText00000000000000000000';
    const report = await d.sandbox.act('text', { openid, content: '你好' });
    assert.equal(report.body, 'success');
    assert.equal(customersOf(openid).length, 0);
  });

  it('C4C down for the whole test: the follower lands in the dead-letter file with the reason', async () => {
    d.sandbox.c4c.faults.outageUntil = Date.now() + 120000;
    const openid = 'oE2EDeadLetter00000000000000';
    const report = await d.sandbox.act('follow', { openid });
    assert.ok(report.ok, 'the follower still got the welcome reply');
    const line = await waitFor(() => {
      if (!fs.existsSync(d.deadLetterFile)) return undefined;
      return fs.readFileSync(d.deadLetterFile, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)).find((r) => r.openid === openid);
    }, { timeoutMs: 60000, what: 'the dead-letter line' });
    assert.equal(line.node, 'C4C customer');
    assert.match(line.reason, /C4C .*failed/);
    assert.ok(line.code, 'a code');
    assert.ok(!fs.readFileSync(d.deadLetterFile, 'utf8').includes(d.secrets.c4cPassword), 'no password in the dead letter');
    assert.equal(pushesTo(openid).length, 0);
  });
});
