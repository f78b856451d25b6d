'use strict';
// wechat-push's fallback: 45015/45047 on a customer-service send → template message or
// subscription notice to the same follower, against the WeChat API simulator.
const assert = require('node:assert/strict');
const { WeChatApiSimulator } = require('../../dist/sandbox/wechat-api');
const { helper, ours } = require('../helpers/node-red');
const { useSimulator } = require('../helpers/sims');

const APPID = 'wx5ba5fad812f8e6fb';
const SECRET = 'sandbox-app-secret-0123456789';
const NODES = [ours('wechat-config'), ours('wechat-push')];
const CREDS = { acc: { appSecret: SECRET, token: 'TokenToken', encodingAESKey: 'kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR' } };

describe('wechat-push fallback when the push window is gone', function () {
  this.timeout(20000);
  let sim;
  let base;
  useSimulator(() => new WeChatApiSimulator({ accounts: [{ appId: APPID, secret: SECRET }] }), (s, b) => { sim = s; base = b; }, { reset: false });
  beforeEach(() => {
    sim.reset();
    sim.registerTemplate({ id: 'TPL_CUSTOMER', kind: 'template' });
    sim.registerTemplate({ id: 'SUB_CUSTOMER', kind: 'subscribe' });
  });
  afterEach(() => helper.unload());

  const DATA = '{"character_string1": c4c.customerId, "thing2": "客户档案已建立"}';
  function flow(push = {}) {
    return [
      { id: 'f1', type: 'tab' },
      { id: 'acc', type: 'wechat-config', appId: APPID, apiBase: base, tokenMode: 'stable' },
      {
        id: 'push', z: 'f1', type: 'wechat-push', account: 'acc', msgtype: 'text', touser: 'wechat.openid', touserType: 'msg',
        content: 'payload', contentType: 'msg', fallback: 'template', fallbackTemplateId: 'TPL_CUSTOMER',
        fallbackData: DATA, fallbackDataType: 'jsonata', fallbackUrl: 'https://example.com/me', wires: [['out']], ...push,
      },
      { id: 'ncatch', z: 'f1', type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
      { id: 'out', z: 'f1', type: 'helper', wires: [] },
      { id: 'caught', z: 'f1', type: 'helper', wires: [] },
    ];
  }
  const once = (id) => new Promise((resolve) => helper.getNode(id).once('input', resolve));
  const input = (openid, customerId = '1000441') => ({ payload: `客户编号 ${customerId}`, wechat: { openid }, c4c: { customerId } });
  /** A follower whose 1-minute follow window ended. */
  const late = (openid) => { const f = sim.interact(APPID, openid, 'subscribe'); f.windowStart = Date.now() - 61000; return f; };

  it('within the window: the customer-service message, channel custom, no template', async () => {
    await helper.load(NODES, flow(), CREDS);
    sim.interact(APPID, 'oIn', 'subscribe');
    const out = once('out');
    helper.getNode('push').receive(input('oIn'));
    const m = await out;
    assert.deepEqual(m.wechatPush, { channel: 'custom' });
    assert.equal(sim.stats().templateCalls, 0);
    assert.equal(sim.messages[0].api, 'custom');
  });

  it('45015 after the follow window: the same follower gets the template message, channel template, msgid exact', async () => {
    await helper.load(NODES, flow(), CREDS);
    late('oLate');
    const out = once('out');
    helper.getNode('push').receive(input('oLate', '1000777'));
    const m = await out;
    assert.equal(sim.stats().errors['45015'], 1);
    assert.equal(m.wechatPush.channel, 'template');
    assert.equal(typeof m.wechatPush.msgid, 'string');
    assert.equal(m.wechatPush.msgid, sim.messages[0].msgid);
    assert.ok(BigInt(m.wechatPush.msgid) > 2n ** 53n);
    assert.deepEqual(sim.messages[0].body, { touser: 'oLate', template_id: 'TPL_CUSTOMER', data: { character_string1: { value: '1000777' }, thing2: { value: '客户档案已建立' } }, url: 'https://example.com/me' });
  });

  it('45047 (a 4th message inside the window): template message too', async () => {
    await helper.load(NODES, flow(), CREDS);
    sim.interact(APPID, 'oBusy', 'subscribe').used = 3;
    const out = once('out');
    helper.getNode('push').receive(input('oBusy'));
    const m = await out;
    assert.equal(sim.stats().errors['45047'], 1);
    assert.equal(m.wechatPush.channel, 'template');
  });

  it('fallback subscribe: the subscription notice through bizsend, link as page, channel subscribe', async () => {
    await helper.load(NODES, flow({ fallback: 'subscribe', fallbackTemplateId: 'SUB_CUSTOMER' }), CREDS);
    late('oSub');
    const out = once('out');
    helper.getNode('push').receive(input('oSub'));
    const m = await out;
    assert.deepEqual(m.wechatPush, { channel: 'subscribe' });
    assert.equal(sim.stats().subscribeCalls, 1);
    assert.equal(sim.messages[0].api, 'subscribe');
    assert.equal(sim.messages[0].body.page, 'https://example.com/me');
  });

  it('both failing (45015, then 40037 wrong template ID): Catch with both codes, nothing delivered', async () => {
    await helper.load(NODES, flow({ fallbackTemplateId: 'NO_SUCH_TEMPLATE' }), CREDS);
    late('oBoth');
    const caught = once('caught');
    helper.getNode('push').receive(input('oBoth'));
    const m = await caught;
    assert.equal(m.error.code, '40037');
    assert.deepEqual(m.wechatPush, { channel: 'template', failed: true, firstCode: '45015', codes: ['45015', '40037'] });
    assert.match(m.error.message, /45015.*40037/s);
    assert.equal(sim.messages.length, 0);
  });

  it('the follower unsubscribed: 45015, then the template is refused with 43004 → Catch with [45015, 43004]', async () => {
    await helper.load(NODES, flow(), CREDS);
    sim.interact(APPID, 'oGone', 'subscribe');
    sim.interact(APPID, 'oGone', 'unsubscribe');
    const caught = once('caught');
    helper.getNode('push').receive(input('oGone'));
    const m = await caught;
    assert.equal(m.error.code, '43004');
    assert.deepEqual(m.wechatPush.codes, ['45015', '43004']);
  });

  it('template data that breaks the rules is refused before any request (thing over 20 characters, with a colour)', async () => {
    await helper.load(NODES, flow({ fallbackData: '{"thing1": {"value": "这是一段超过二十个字符的很长很长很长的说明文字", "color": "#ff0000"}}', fallbackDataType: 'json' }), CREDS);
    late('oBad');
    const caught = once('caught');
    helper.getNode('push').receive(input('oBad'));
    const m = await caught;
    assert.equal(m.error.code, 'TEMPLATE_DATA');
    assert.match(m.error.message, /thing1/);
    assert.match(m.error.message, /at most 20 characters/);
    const s = sim.stats();
    assert.equal(s.sendCalls + s.templateCalls + s.subscribeCalls, 0, 'no request made');
  });

  it('fallback none: 45015 goes to Catch as before (dead letter), no template', async () => {
    await helper.load(NODES, flow({ fallback: 'none' }), CREDS);
    late('oNone');
    const caught = once('caught');
    helper.getNode('push').receive(input('oNone'));
    const m = await caught;
    assert.equal(m.error.code, '45015');
    assert.equal(sim.stats().templateCalls, 0);
  });

  it('an unset ${WECHAT_TEMPLATE_ID} means no fallback', async () => {
    delete process.env.WECHAT_TEMPLATE_ID_UNSET_FOR_TEST;
    await helper.load(NODES, flow({ fallbackTemplateId: '${WECHAT_TEMPLATE_ID_UNSET_FOR_TEST}' }), CREDS);
    late('oEnv');
    const caught = once('caught');
    helper.getNode('push').receive(input('oEnv'));
    const m = await caught;
    assert.equal(m.error.code, '45015');
    assert.equal(sim.stats().templateCalls, 0);
  });

  describe('the bundled flow\'s push node', () => {
    const bundled = require('../../flows/wechat-c4c.json').find((n) => n.id === 'wc.push');
    const bundledFlow = () => flow({ ...Object.fromEntries(Object.entries(bundled).filter(([k]) => k.startsWith('fallback'))) });
    // the bundled flow reads WECHAT_TEMPLATE_ID: whatever the developer's shell has is put back
    const saved = process.env.WECHAT_TEMPLATE_ID;
    afterEach(() => { if (saved === undefined) delete process.env.WECHAT_TEMPLATE_ID; else process.env.WECHAT_TEMPLATE_ID = saved; });

    it('WECHAT_TEMPLATE_ID set: 45015 → template message with the CustomerID', async () => {
      process.env.WECHAT_TEMPLATE_ID = 'TPL_CUSTOMER';
      await helper.load(NODES, bundledFlow(), CREDS);
      late('oFlow');
      const out = once('out');
      helper.getNode('push').receive(input('oFlow', '1000123'));
      const m = await out;
      assert.equal(m.wechatPush.channel, 'template');
      assert.deepEqual(sim.messages[0].body.data, { character_string1: { value: '1000123' } });
    });

    it('WECHAT_TEMPLATE_ID unset: 45015 → Catch (dead letter), no template', async () => {
      await helper.load(NODES, bundledFlow(), CREDS);
      late('oFlow2');
      const caught = once('caught');
      helper.getNode('push').receive(input('oFlow2'));
      assert.equal((await caught).error.code, '45015');
      assert.equal(sim.stats().templateCalls, 0);
    });
  });
});
