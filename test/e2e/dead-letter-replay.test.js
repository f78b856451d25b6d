'use strict';
// A way back for dead letters, on the bundled flow as npm start runs it: a follower dead-lettered
// during a C4C outage gets their CustomerID once the inject "replay dead letters" is pressed after
// C4C is back; a second press sends nothing twice, and nothing is ever created twice.
const assert = require('node:assert/strict');
const fs = require('node:fs');
const { useDemo } = require('../helpers/demo');
const { waitFor, sleep } = require('../helpers/wait');

describe('replay dead letters (the bundled flow\'s inject)', function () {
  this.timeout(120000);
  let d;
  useDemo({ mode: 'safe' }, (x) => { d = x; });

  const customersOf = (openid) => d.sandbox.c4c.customers.filter((c) => c.LastName === openid);
  const pushesTo = (openid) => d.sandbox.wechatApi.messages.filter((m) => m.touser === openid);
  const records = () => (fs.existsSync(d.deadLetterFile) ? fs.readFileSync(d.deadLetterFile, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)) : []);
  const press = () => fetch(`${d.nr.url}/inject/wc.replay`, { method: 'POST' }).then((r) => r.status);

  it('pressed with no dead-letter file: nothing happens, nothing is dead-lettered', async () => {
    assert.equal(await press(), 200);
    await sleep(1000);
    assert.deepEqual(records(), []);
  });

  it('a follower dead-lettered in a C4C outage gets the ID after the replay; a second press changes nothing', async () => {
    const openid = 'oReplayAfterOutage0000000000';
    const other = 'oReplayAfterOutage0000000001';
    d.sandbox.c4c.faults.outageUntil = Date.now() + 600000;
    for (const o of [openid, other]) {
      const report = await d.sandbox.act('follow', { openid: o });
      assert.ok(report.ok, 'the welcome still came');
    }
    const dead = await waitFor(() => records().filter((r) => r.openid === openid || r.openid === other).length >= 2 && records(), { timeoutMs: 60000, what: 'two dead letters' });
    const mine = dead.find((r) => r.openid === openid);
    assert.equal(mine.topic, 'event.subscribe');
    assert.ok(mine.appId, 'the record carries the account');
    assert.equal(pushesTo(openid).length, 0);
    // C4C is back: one press
    d.sandbox.c4c.faults.outageUntil = 0;
    assert.equal(await press(), 200);
    await waitFor(() => pushesTo(openid).length === 1 && pushesTo(other).length === 1, { timeoutMs: 30000, what: 'the replayed pushes' });
    const [customer] = customersOf(openid);
    assert.ok(customer);
    assert.match(JSON.stringify(pushesTo(openid)[0].body), new RegExp(customer.CustomerID));
    await waitFor(() => records().filter((r) => r.replayed).length === 2, { what: 'the replayed marks' });
    // a second press: nothing sent twice, nothing created twice
    assert.equal(await press(), 200);
    await sleep(2000);
    assert.equal(pushesTo(openid).length, 1);
    assert.equal(pushesTo(other).length, 1);
    assert.equal(customersOf(openid).length, 1);
    assert.equal(customersOf(other).length, 1);
  });
});

describe('dead letters in the runtime\'s language (a Node-RED run with lang: \'zh-CN\' in settings.js)', function () {
  this.timeout(120000);
  let d;
  useDemo({ mode: 'safe', settings: { lang: 'zh-CN' } }, (x) => { d = x; });

  it('the reason a Catch node and the dead-letter file get is Chinese; the English detail is kept beside it', async () => {
    const openid = 'oZhRuntimeDeadLetter00000000';
    d.sandbox.c4c.faults.outageUntil = Date.now() + 600000;
    await d.sandbox.act('follow', { openid });
    const read = () => (fs.existsSync(d.deadLetterFile) ? fs.readFileSync(d.deadLetterFile, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)) : []);
    const record = await waitFor(() => read().find((r) => r.openid === openid), { timeoutMs: 60000, what: 'the dead letter' });
    d.sandbox.c4c.faults.outageUntil = 0;
    assert.match(record.reason, /^失败（/, record.reason);
    // Chinese but for the code and the names of products and fields
    const english = record.reason.replace(/\b(C4C|Node-RED|OData|Redis|https?|[A-Z0-9_/]{3,})\b/g, '').match(/[A-Za-z]{3,}/g) || [];
    assert.deepEqual(english, [], record.reason);
    assert.ok(record.detail && /[A-Za-z]/.test(record.detail), 'the English detail is kept for support');
  });
});
