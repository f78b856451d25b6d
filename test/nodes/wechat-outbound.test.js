'use strict';
const assert = require('node:assert/strict');
const { WeChatApiSimulator } = require('../../dist/sandbox/wechat-api');
const { helper, ours, everythingSaid, nodeRedVersion } = require('../helpers/node-red');
const { useSimulator } = require('../helpers/sims');
const { sleep } = require('../helpers/wait');

const APPID = 'wx5ba5fad812f8e6fb';
const SECRET = 'sandbox-app-secret-0123456789';
const AES = 'kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR';
const NODES = [ours('wechat-config'), ours('wechat-push'), ours('token-refresh')];
const CREDS = { acc: { appSecret: SECRET, token: 'TokenToken', encodingAESKey: AES } };

describe(`wechat-push and token-refresh against the simulator (Node-RED ${nodeRedVersion})`, function () {
  this.timeout(20000);
  let sim;
  let base;
  useSimulator(() => new WeChatApiSimulator({ accounts: [{ appId: APPID, secret: SECRET }] }), (s, b) => { sim = s; base = b; });
  afterEach(() => helper.unload());

  const account = (extra = {}) => ({ id: 'acc', type: 'wechat-config', appId: APPID, apiBase: base, tokenMode: 'stable', ...extra });

  function pushFlow(push = {}, extra = []) {
    return [
      { id: 'f1', type: 'tab' },
      account(),
      { id: 'push', z: 'f1', type: 'wechat-push', account: 'acc', msgtype: 'text', touser: 'wechat.openid', touserType: 'msg', content: 'payload', contentType: 'msg', wires: [['out']], ...push },
      { id: 'ncatch', z: 'f1', type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
      { id: 'out', z: 'f1', type: 'helper', wires: [] },
      { id: 'caught', z: 'f1', type: 'helper', wires: [] },
      ...extra,
    ];
  }

  function gather(id, n) {
    const got = [];
    return { got, done: new Promise((resolve) => helper.getNode(id).on('input', (m) => { got.push(m); if (got.length >= n) resolve(got); })) };
  }

  it('200 concurrent pushes with no token cached: one token request, 200 deliveries', async () => {
    await helper.load(NODES, pushFlow(), CREDS);
    for (let i = 0; i < 200; i++) sim.interact(APPID, `o${i}`, 'message');
    const out = gather('out', 200);
    for (let i = 0; i < 200; i++) helper.getNode('push').receive({ payload: `你好 ${i}`, wechat: { openid: `o${i}` } });
    const msgs = await out.done;
    assert.equal(msgs.every((m) => m.payload.errcode === 0), true);
    assert.equal(sim.stats().stableTokenRequests, 1);
    assert.equal(sim.stats().delivered, 200);
    assert.equal(sim.messages[0].body.text.content.startsWith('你好'), true);
  });

  it('token revoked mid-run: every push still succeeds with one extra token request', async () => {
    await helper.load(NODES, pushFlow(), CREDS);
    for (let i = 0; i < 100; i++) sim.interact(APPID, `o${i}`, 'message');
    const out = gather('out', 100);
    for (let i = 0; i < 100; i++) {
      if (i === 50) { await sleep(50); sim.revokeTokens(); }
      helper.getNode('push').receive({ payload: `n${i}`, wechat: { openid: `o${i}` } });
    }
    await out.done;
    assert.equal(sim.stats().stableTokenRequests, 2);
    assert.equal(sim.stats().delivered, 100);
    assert.equal(sim.stats().sendCalls - 100, sim.stats().errors['40001']);
  });

  for (const [code, prepare, push = {}] of [
    [45015, (f) => { f.windowStart = Date.now() - 49 * 3600 * 1000; }],
    [45047, (f) => { f.used = 5; }],
    [43004, () => sim.interact(APPID, 'oE', 'unsubscribe'), { msgtype: 'template', templateId: 'TPL' }],
    [40003, () => 'oNobody'],
  ]) {
    it(`errcode ${code} reaches a Catch node with msg.error.code = ${code}${push.msgtype ? ` (${push.msgtype})` : ''}`, async () => {
      await helper.load(NODES, pushFlow(push), CREDS);
      const f = sim.interact(APPID, 'oE', 'message');
      const to = prepare(f) || 'oE';
      const caught = gather('caught', 1);
      helper.getNode('push').receive({ payload: push.msgtype === 'template' ? { thing1: 'hello' } : 'hello', wechat: { openid: typeof to === 'string' ? to : 'oE' } });
      const [m] = await caught.done;
      assert.equal(m.error.code, String(code), 'the errcode as text');
      assert.match(m.error.message, new RegExp(String(code)));
    });
  }

  it('-1 busy answers are retried and the push goes through', async () => {
    await helper.load(NODES, pushFlow(), CREDS);
    sim.interact(APPID, 'oBusy', 'message');
    sim.faults.busy = 2;
    const out = gather('out', 1);
    helper.getNode('push').receive({ payload: 'x', wechat: { openid: 'oBusy' } });
    const [m] = await out.done;
    assert.equal(m.payload.errcode, 0);
    assert.equal(sim.stats().errors['-1'], 2);
  });

  it('template push: data wrapped as {value}, the 64-bit msgid exact in msg.payload', async () => {
    await helper.load(NODES, pushFlow({ msgtype: 'template', templateId: 'TPL_1' }), CREDS);
    sim.registerTemplate({ id: 'TPL_1' });
    sim.interact(APPID, 'oTpl', 'subscribe');
    const out = gather('out', 1);
    helper.getNode('push').receive({ payload: { thing1: '欢迎', character_string2: { value: '1000123' }, url: 'https://example.com' }, wechat: { openid: 'oTpl' } });
    const [m] = await out.done;
    assert.equal(m.payload.msgid, sim.messages[0].msgid);
    assert.deepEqual(m.wechatPush, { channel: 'template', msgid: sim.messages[0].msgid });
    assert.deepEqual(sim.messages[0].body, { touser: 'oTpl', template_id: 'TPL_1', data: { thing1: { value: '欢迎' }, character_string2: { value: '1000123' } }, url: 'https://example.com' });
  });

  it('template push with first, remark and colours: delivered without them, one warning per node', async () => {
    await helper.load(NODES, pushFlow({ msgtype: 'template', templateId: 'TPL_1' }), CREDS);
    sim.registerTemplate({ id: 'TPL_1' });
    sim.interact(APPID, 'oOld', 'subscribe');
    const out = gather('out', 2);
    // a template as written before 2023-05: flat, and as WeChat's API body ({data, topcolor})
    const data = { first: '您好', thing1: { value: '欢迎', color: '#173177' }, remark: '感谢关注' };
    helper.getNode('push').receive({ payload: { ...data, topcolor: '#FF0000' }, wechat: { openid: 'oOld' } });
    helper.getNode('push').receive({ payload: { data, topcolor: '#FF0000' }, wechat: { openid: 'oOld' } });
    const got = await out.done;
    assert.deepEqual(got.map((m) => m.wechatPush.channel), ['template', 'template']);
    assert.deepEqual(sim.messages.map((m) => m.body), [0, 1].map(() => ({ touser: 'oOld', template_id: 'TPL_1', data: { thing1: { value: '欢迎' } } })));
    const warned = helper._NodePrototype.warn.getCalls().filter((c) => c.thisValue.id === 'push').map((c) => String(c.args[0]));
    assert.equal(warned.length, 1, warned.join('\n'));
    // the helper runtime has no catalogs: RED._ gives the key; the catalogs name the dropped fields
    assert.equal(warned[0], 'wechat-push.warn.dropped');
    for (const lang of ['en-US', 'zh-CN']) assert.match(require(`../../nodes/wechat-push/locales/${lang}/wechat-push.json`)['wechat-push'].warn.dropped, /__fields__/);
  });

  it('a push with nothing to send is an input error through done(err), and sends nothing', async () => {
    await helper.load(NODES, pushFlow(), CREDS);
    const caught = gather('caught', 1);
    helper.getNode('push').receive({ payload: '', wechat: { openid: 'o1' } });
    const [m] = await caught.done;
    assert.match(m.error.message, /empty content/);
    assert.equal(sim.stats().sendCalls, 0);
  });

  it('token-refresh gets a token at deploy without any input, and outputs info without the token', async () => {
    await helper.load(NODES, [{ id: 'f1', type: 'tab' }, account(), { id: 'tr', z: 'f1', type: 'token-refresh', account: 'acc', refreshAhead: 300, wires: [['out']] }, { id: 'out', z: 'f1', type: 'helper', wires: [] }], CREDS);
    const out = gather('out', 1);
    const [m] = await out.done;
    assert.deepEqual(Object.keys(m.payload).sort(), ['expiresAt', 'expiresIn', 'mode', 'refreshedAt']);
    assert.equal(m.payload.mode, 'stable');
    assert.equal(m.accessToken, undefined);
    assert.equal(sim.stats().stableTokenRequests, 1);
    assert.ok(!JSON.stringify(m).includes('S_'), 'no token in the message');
  });

  it('two token-refresh nodes on one account share one timer and one token; short TTL renews ahead; close stops it', async () => {
    sim.opts.tokenTtl = 4;
    sim.opts.stableRenewBefore = 3;
    await helper.load(NODES, [
      { id: 'f1', type: 'tab' }, account(),
      { id: 'tr1', z: 'f1', type: 'token-refresh', account: 'acc', refreshAhead: 300, emitToken: true, wires: [['out']] },
      { id: 'tr2', z: 'f1', type: 'token-refresh', account: 'acc', refreshAhead: 300, wires: [['out2']] },
      { id: 'out', z: 'f1', type: 'helper', wires: [] }, { id: 'out2', z: 'f1', type: 'helper', wires: [] },
    ], CREDS);
    const out = gather('out', 2);
    const msgs = await out.done;
    assert.equal(sim.stats().stableTokenRequests, 2, 'one request per refresh, not per node');
    assert.ok(msgs[1].payload.refreshedAt < msgs[0].payload.expiresAt, 'renewed before expiry');
    assert.equal(typeof msgs[0].accessToken, 'string', 'emitToken puts the token in msg.accessToken');
    await helper.unload();
    const before = sim.stats().stableTokenRequests;
    await sleep(3000);
    assert.equal(sim.stats().stableTokenRequests, before, 'no refresh after the flow stopped');
  });

  it('an input forces a refresh; msg.forceRefresh asks stable_token for a new token', async () => {
    await helper.load(NODES, [{ id: 'f1', type: 'tab' }, account(), { id: 'tr', z: 'f1', type: 'token-refresh', account: 'acc', wires: [['out']] }, { id: 'out', z: 'f1', type: 'helper', wires: [] }], CREDS);
    const first = gather('out', 1);
    await first.done;
    const next = gather('out', 1);
    helper.getNode('tr').receive({ forceRefresh: true });
    const [m] = await next.done;
    assert.equal(sim.stats().forceRefreshes, 1);
    assert.equal(m.topic, 'wechat/token');
  });

  it('a wrong AppSecret shows errcode 40125 in the status and reaches a Catch node', async () => {
    await helper.load(NODES, [{ id: 'f1', type: 'tab' }, account(), { id: 'tr', z: 'f1', type: 'token-refresh', account: 'acc', wires: [[]] },
      { id: 'ncatch', z: 'f1', type: 'catch', scope: null, uncaught: false, wires: [['caught']] }, { id: 'caught', z: 'f1', type: 'helper', wires: [] }],
    { acc: { ...CREDS.acc, appSecret: 'not-the-secret-xyz' } });
    const caught = gather('caught', 1);
    const [m] = await caught.done;
    assert.equal(m.payload.code, '40125', 'err.code is the errcode, as text');
    // The outage goes on: further tries (inputs here) update the status but report nothing new.
    const inputsDone = [];
    for (let i = 0; i < 2; i++) inputsDone.push(new Promise((resolve) => { helper.getNode('tr').receive({ payload: i }); setTimeout(resolve, 300); }));
    await Promise.all(inputsDone);
    assert.equal(caught.got.length, 1, 'one report per outage');
    assert.ok(helper._NodePrototype.status.getCalls().filter((c) => c.thisValue.id === 'tr').every((c) => !c.args[0].text || c.args[0].text.length <= 32));
    const status = helper._NodePrototype.status.getCalls().filter((c) => c.thisValue.id === 'tr').pop();
    assert.equal(status.args[0].fill, 'red');
    assert.doesNotMatch(everythingSaid(), /not-the-secret-xyz/);
  });

  it('nothing logged, warned, errored or shown carries the access token, the AppSecret or the AES key', async () => {
    await helper.load(NODES, pushFlow({}, [{ id: 'tr', z: 'f1', type: 'token-refresh', account: 'acc', wires: [[]] }]), CREDS);
    sim.interact(APPID, 'oOk', 'message');
    const out = gather('out', 1);
    helper.getNode('push').receive({ payload: 'ok', wechat: { openid: 'oOk' } });
    await out.done;
    const caught = gather('caught', 3);
    helper.getNode('push').receive({ payload: 'x', wechat: { openid: 'oNobody' } });
    sim.revokeTokens();
    sim.faults.outageUntil = Date.now() + 60000;
    helper.getNode('push').receive({ payload: 'x', wechat: { openid: 'oOk' } });
    helper.getNode('push').receive({ payload: '', wechat: { openid: 'oOk' } });
    await caught.done;
    sim.faults.outageUntil = 0;
    const said = everythingSaid();
    const issued = [...sim['tokens'].keys()];
    assert.ok(issued.length > 0);
    for (const secret of [...issued, SECRET, AES]) assert.ok(!said.includes(secret), `a secret leaked: ${secret.slice(0, 6)}…`);
  });
});
