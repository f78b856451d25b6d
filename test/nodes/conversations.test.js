'use strict';
// Issue 22: c4c-social-message and c4c-agent-reply against the C4C and WeChat API simulators;
// the agent's reply arrives through a real http in node, posted by the C4C simulator as C4C does.
const assert = require('node:assert/strict');
const http = require('node:http');
const { C4CSimulator } = require('../../dist/sandbox/c4c');
const { WeChatApiSimulator } = require('../../dist/sandbox/wechat-api');
const { helper, httpIn, ours, httpNodeApp, everythingSaid, nodeRedVersion } = require('../helpers/node-red');
const { useSimulator } = require('../helpers/sims');
const { waitFor, sleep } = require('../helpers/wait');

const USER = 'SANDBOX_USER';
const PASSWORD = 'sandbox-password-42';
const APPID = 'wx5ba5fad812f8e6fb';
const SECRET = 'sandbox-app-secret-0123456789';
const MASHUP = { username: 'C4C_MASHUP', password: 'mashup-pass-7' };
const NODES = [httpIn, ours('c4c-config'), ours('wechat-config'), ours('c4c-social-message'), ours('c4c-agent-reply'), ours('wechat-push')];
const NOW = Math.floor(Date.now() / 1000);
let seq = 24681357924681357900n;

function wechatMsg(openid, type, fields = {}, createTime = NOW) {
  seq += 1n;
  return { payload: { ToUserName: 'gh_5ba5fad812f8', FromUserName: openid, CreateTime: String(createTime), MsgType: type, ...fields, MsgId: seq.toString() }, topic: type, wechat: { openid } };
}

describe(`conversations: c4c-social-message and c4c-agent-reply (Node-RED ${nodeRedVersion})`, function () {
  this.timeout(30000);
  let c4c;
  let c4cBase;
  let wx;
  let wxBase;
  let server;
  let replyUrl;
  useSimulator(() => new C4CSimulator({ users: { [USER]: PASSWORD } }), (s, b) => { c4c = s; c4cBase = b; });
  useSimulator(() => new WeChatApiSimulator({ accounts: [{ appId: APPID, secret: SECRET }] }), (s, b) => { wx = s; wxBase = b; }, { reset: false });
  before(async () => {
    server = http.createServer((req, res) => httpNodeApp()(req, res));
    await new Promise((r) => server.listen(0, '127.0.0.1', r));
    replyUrl = `http://127.0.0.1:${server.address().port}/c4c/agent-reply`;
  });
  after(() => new Promise((r) => server.close(r)));
  beforeEach(() => {
    wx.reset();
    wx.registerTemplate({ id: 'TPL_REPLY', kind: 'template' });
  });
  afterEach(() => helper.unload());

  function flow(social = {}, reply = {}) {
    return [
      { id: 'f1', type: 'tab' },
      { id: 'sys', type: 'c4c-config', baseUrl: c4cBase, maxConcurrency: 4, timeout: 5000, retries: 2, backoffBase: 20 },
      { id: 'acc', type: 'wechat-config', appId: APPID, apiBase: wxBase, tokenMode: 'stable' },
      { id: 'social', z: 'f1', type: 'c4c-social-message', system: 'sys', account: 'acc', channelCode: '905', providerId: 'WECHAT_SANDBOX', threadWindow: 24, attachMedia: true, maxMediaBytes: 100000, wires: [['stored']], ...social },
      { id: 'in', z: 'f1', type: 'http in', url: '/c4c/agent-reply', method: 'post', wires: [['reply']] },
      { id: 'reply', z: 'f1', type: 'c4c-agent-reply', system: 'sys', channelCode: '905', dedupeWindow: 86400, wires: [['replied', 'push']], ...reply },
      { id: 'push', z: 'f1', type: 'wechat-push', account: 'acc', msgtype: 'text', touser: 'wechat.openid', touserType: 'msg', content: 'payload', contentType: 'msg', fallback: 'template', fallbackTemplateId: 'TPL_REPLY', fallbackData: '{"thing1": "客服已回复"}', fallbackDataType: 'json', wires: [['pushed']] },
      { id: 'ncatch', z: 'f1', type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
      { id: 'stored', z: 'f1', type: 'helper', wires: [] },
      { id: 'replied', z: 'f1', type: 'helper', wires: [] },
      { id: 'pushed', z: 'f1', type: 'helper', wires: [] },
      { id: 'caught', z: 'f1', type: 'helper', wires: [] },
    ];
  }
  const CREDS = { sys: { username: USER, password: PASSWORD }, acc: { appSecret: SECRET, token: 'TokenToken', encodingAESKey: 'kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR' }, reply: MASHUP };
  const load = (social, reply, creds = CREDS) => helper.load(NODES, flow(social, reply), creds);
  function collect(id) {
    const got = [];
    helper.getNode(id).on('input', (m) => got.push(m));
    return got;
  }
  const lastStatus = (id) => helper._NodePrototype.status.getCalls().filter((c) => c.thisValue.id === id).pop().args[0];
  async function store(msgs) {
    const out = collect('stored');
    for (const m of msgs) helper.getNode('social').receive(m);
    await waitFor(() => out.length === msgs.length, { what: 'stored messages' });
    return out;
  }

  it('text, image (the bytes media/get served), voice with Recognition, location and link: one activity each, with the right fields', async () => {
    await load();
    const png = Buffer.from(Array.from({ length: 2048 }, (_, i) => (i * 7) % 256));
    const mediaId = wx.addMedia(APPID, 'image', png, 'image/png', 'photo.png');
    const voiceId = wx.addMedia(APPID, 'voice', Buffer.from('#!AMR\n....'), 'audio/amr', 'v.amr');
    const msgs = [
      wechatMsg('oConv1', 'text', { Content: '我的订单还没到' }),
      wechatMsg('oConv1', 'image', { PicUrl: 'http://mmbiz.qpic.cn/pic1', MediaId: mediaId }),
      wechatMsg('oConv1', 'voice', { MediaId: voiceId, Format: 'amr', Recognition: '请尽快处理' }),
      wechatMsg('oConv1', 'location', { Location_X: '31.190', Location_Y: '121.430', Scale: '15', Label: '上海市徐汇区' }),
      wechatMsg('oConv1', 'link', { Title: '订单详情', Description: '订单 4711', Url: 'https://shop.example.com/o/4711' }),
    ];
    const out = await store(msgs);
    const acts = c4c.social.activities;
    assert.equal(acts.length, 5);
    assert.deepEqual(acts.map((a) => a.SocialMediaMessageID), msgs.map((m) => m.payload.MsgId));
    assert.equal(acts[0].Text, '我的订单还没到');
    assert.deepEqual(Buffer.from(acts[1].attachments[0].Binary, 'base64'), png);
    assert.deepEqual({ ...acts[1].attachments[0], Binary: undefined }, { Binary: undefined, MimeType: 'image/png', Name: 'photo.png', CategoryCode: '2', TypeCode: '10001' });
    assert.equal(acts[2].Text, '请尽快处理');
    assert.equal(acts[2].attachments[0].MimeType, 'audio/amr');
    assert.equal(acts[3].Text, '[location] 上海市徐汇区 (31.190, 121.430)');
    assert.equal(acts[4].Text, '[link] 订单详情\n订单 4711\nhttps://shop.example.com/o/4711');
    for (const a of acts) {
      assert.equal(a.InitiatorCode, '2');
      assert.equal(a.SocialMediaChannelCode, '905');
      assert.equal(a.SocialMediaActivityProviderID, 'WECHAT_SANDBOX');
    }
    assert.equal(c4c.social.profiles.length, 1);
    assert.equal(c4c.social.tickets.length, 1, 'one conversation: the four later messages joined the first');
    const root = out[0].c4c.rootActivityUUID;
    assert.deepEqual(Object.keys(out[0].c4c).sort(), ['activityId', 'activityUUID', 'created', 'profileId', 'rootActivityUUID']);
    assert.equal(out[0].c4c.activityUUID, root);
    assert.ok(out.slice(1).every((m) => m.c4c.rootActivityUUID === root && m.c4c.created === true));
    assert.equal(lastStatus('social').fill, 'green');
  });

  it('the input settles when its message is stored, as c4c-create-customer\'s (a complete node hears it after the activity exists)', async () => {
    const nodes = flow({ attachMedia: false });
    nodes.push({ id: 'ncomplete', z: 'f1', type: 'complete', scope: ['social'], uncaught: false, wires: [['completed']] }, { id: 'completed', z: 'f1', type: 'helper', wires: [] });
    await helper.load(NODES, nodes, CREDS);
    const activitiesAtCompletion = [];
    helper.getNode('completed').on('input', () => activitiesAtCompletion.push(c4c.social.activities.length));
    c4c.faults.latencyMs = 100;
    await store([wechatMsg('oSettle', 'text', { Content: 'q' })]);
    await waitFor(() => activitiesAtCompletion.length === 1, { what: 'the completion' });
    assert.deepEqual(activitiesAtCompletion, [1]);
  });

  it('a message after the thread window starts a new ticket; events are not stored', async () => {
    await load({ threadWindow: 1 });
    const [a, b] = await store([wechatMsg('oWindow', 'text', { Content: 'one' }, NOW - 2 * 3600), wechatMsg('oWindow', 'text', { Content: 'two' }, NOW)]);
    assert.notEqual(b.c4c.rootActivityUUID, a.c4c.rootActivityUUID);
    assert.equal(c4c.social.tickets.length, 2);
    helper.getNode('social').receive({ payload: { MsgType: 'event', Event: 'subscribe', FromUserName: 'oWindow' }, topic: 'event.subscribe', wechat: { openid: 'oWindow' } });
    await sleep(200);
    assert.equal(c4c.social.activities.length, 2);
  });

  it('expired media: the message is still stored, with the reason in Text, and a warning', async () => {
    await load();
    const id = wx.addMedia(APPID, 'image', Buffer.from('x'), 'image/jpeg', 'gone.jpg');
    wx.expireMedia(id);
    const [m] = await store([wechatMsg('oExpired', 'image', { PicUrl: 'http://pic/2', MediaId: id })]);
    assert.equal(m.c4c.created, true);
    assert.equal(c4c.social.activities[0].attachments.length, 0);
    // (the test helper's runtime has no catalogs: texts are their i18n keys)
    assert.match(c4c.social.activities[0].Text, /^\[image\] http:\/\/pic\/2\n\[(media expired \(WeChat 40007\)|c4c-social-message\.note\.gone)/);
    assert.match(everythingSaid(), /warn social: .*(40007|c4c-social-message\.warn\.media)/);
    assert.equal(lastStatus('social').fill, 'yellow');
  });

  it('without a channel code: nothing sent, Catch gets C4C_CONFIG', async () => {
    await load({ channelCode: '' });
    const caught = collect('caught');
    helper.getNode('social').receive(wechatMsg('oNoChannel', 'text', { Content: 'x' }));
    await waitFor(() => caught.length === 1);
    assert.equal(caught[0].error.code, 'C4C_CONFIG');
    assert.equal(c4c.stats().requests, 0);
  });

  it('the agent reply reaches the follower; posted twice → sent once; the http answer is 200 {"success":"ok"}', async () => {
    await load();
    await store([wechatMsg('oAgent', 'text', { Content: 'hello?' })]);
    wx.interact(APPID, 'oAgent', 'message');
    const replied = collect('replied');
    const pushed = collect('pushed');
    const ticketId = c4c.social.tickets[0].ID;
    const r = await c4c.social.agentReply({ ticketId, text: '您好，我们马上处理', to: { url: replyUrl, ...MASHUP } });
    assert.equal(r.status, 200);
    assert.deepEqual(JSON.parse(r.body), { success: 'ok' });
    await waitFor(() => pushed.length === 1);
    assert.equal(replied[0].payload, '您好，我们马上处理');
    assert.equal(replied[0].topic, 'c4c.reply');
    assert.deepEqual(replied[0].wechat, { openid: 'oAgent' });
    assert.deepEqual(replied[0].c4c, { ticketId, activityId: r.sent.sma_id, originalId: c4c.social.activities[0].SocialMediaMessageID, author: 'Sandbox Agent' });
    assert.equal(wx.messages.length, 1);
    assert.equal(wx.messages[0].touser, 'oAgent');
    assert.equal(wx.messages[0].body.text.content, '您好，我们马上处理');
    // C4C calls again with the same body
    const again = await c4c.social.postForm({ url: replyUrl, ...MASHUP }, `content=${encodeURIComponent(JSON.stringify(r.sent))}`);
    assert.equal(again.status, 200);
    await sleep(300);
    assert.equal(wx.messages.length, 1, 'the same sma_id is not sent twice');
    assert.match(lastStatus('reply').text, /repeated/);
  });

  /**
   * A follower's message stored; the agent's reply sent while WeChat is unreachable (Catch gets the
   * failed send, nothing reaches the phone); C4C's repeat of the call sent. Returns the repeat's form.
   */
  async function failedThenRepeated(openid, text) {
    await store([wechatMsg(openid, 'text', { Content: 'q' })]);
    wx.interact(APPID, openid, 'message');
    const caught = collect('caught');
    const pushed = collect('pushed');
    wx.faults.outageUntil = Date.now() + 60000;
    const r = await c4c.social.agentReply({ ticketId: c4c.social.tickets[0].ID, text, to: { url: replyUrl, ...MASHUP } });
    assert.equal(r.status, 200);
    await waitFor(() => caught.some((m) => m.error.source.id === 'push'), { what: 'the failed send in Catch' });
    assert.equal(wx.messages.length, 0);
    wx.faults.outageUntil = 0;
    const form = `content=${encodeURIComponent(JSON.stringify(r.sent))}`;
    assert.equal((await c4c.social.postForm({ url: replyUrl, ...MASHUP }, form)).status, 200);
    await waitFor(() => pushed.length === 1, { what: 'the repeat sent' });
    return form;
  }

  it('a reply whose send failed (WeChat unreachable) reaches the phone when C4C repeats the call, once', async () => {
    await load();
    const form = await failedThenRepeated('oResend', 'second try');
    assert.equal((await c4c.social.postForm({ url: replyUrl, ...MASHUP }, form)).status, 200);
    await sleep(300);
    assert.equal(wx.messages.length, 1, 'sent once');
    assert.equal(wx.messages[0].body.text.content, 'second try');
    assert.match(lastStatus('reply').text, /repeated/);
  });

  it('node ids with dots (the bundled flow\'s wc.reply): two c4c-agent-reply nodes both start, and a failed send is released for C4C\'s repeat', async () => {
    const dotted = flow().filter((n) => !['in', 'reply'].includes(n.id));
    for (const [id, url] of [['wc.reply', '/c4c/agent-reply'], ['wc.reply2', '/c4c/agent-reply-2']]) {
      dotted.push({ id: `${id}.in`, z: 'f1', type: 'http in', url, method: 'post', wires: [[id]] });
      dotted.push({ id, z: 'f1', type: 'c4c-agent-reply', system: 'sys', channelCode: '905', dedupeWindow: 86400, wires: [['push']] });
    }
    await helper.load(NODES, dotted, { ...CREDS, 'wc.reply': MASHUP, 'wc.reply2': MASHUP });
    assert.ok(helper.getNode('wc.reply'), 'the first agent reply node started');
    assert.ok(helper.getNode('wc.reply2'), 'the second agent reply node started');
    await failedThenRepeated('oDotted', 'dotted');
    assert.equal(wx.messages[0].body.text.content, 'dotted');
  });

  it('original_id empty: the ticket (document reference 1607) leads to the follower', async () => {
    await load();
    await store([wechatMsg('oTicket', 'text', { Content: 'ticket path' })]);
    wx.interact(APPID, 'oTicket', 'message');
    const replied = collect('replied');
    await c4c.social.agentReply({ ticketId: c4c.social.tickets[0].ID, text: 'via ticket', originalId: false, to: { url: replyUrl, ...MASHUP } });
    await waitFor(() => replied.length === 1);
    assert.equal(replied[0].wechat.openid, 'oTicket');
    assert.equal(replied[0].c4c.originalId, '');
  });

  it('a private note is not sent; outside the 48-hour window the template goes', async () => {
    await load();
    await store([wechatMsg('oNote', 'text', { Content: 'q' })]);
    const f = wx.interact(APPID, 'oNote', 'message');
    const pushed = collect('pushed');
    const ticketId = c4c.social.tickets[0].ID;
    const note = await c4c.social.agentReply({ ticketId, text: 'internal: check stock', private: true, to: { url: replyUrl, ...MASHUP } });
    assert.equal(note.status, 200);
    await sleep(300);
    assert.equal(wx.messages.length, 0);
    assert.match(lastStatus('reply').text, /internal note|status\.private/);
    f.windowStart = Date.now() - 49 * 3600 * 1000;
    await c4c.social.agentReply({ ticketId, text: 'answer after two days', to: { url: replyUrl, ...MASHUP } });
    await waitFor(() => pushed.length === 1);
    assert.equal(pushed[0].wechatPush.channel, 'template');
    assert.equal(wx.messages[0].api, 'template');
  });

  it('wrong or missing credentials → 401 and nothing read or sent; a body that is no reply → 400', async () => {
    await load();
    await store([wechatMsg('oAuth', 'text', { Content: 'q' })]);
    wx.interact(APPID, 'oAuth', 'message');
    const replied = collect('replied');
    const ticketId = c4c.social.tickets[0].ID;
    const before = c4c.stats().requests;
    const wrong = await c4c.social.agentReply({ ticketId, text: 'x', to: { url: replyUrl, username: MASHUP.username, password: 'nope' } });
    assert.equal(wrong.status, 401);
    const none = await c4c.social.agentReply({ ticketId, text: 'x', to: { url: replyUrl, username: '', password: '' } });
    assert.equal(none.status, 401);
    assert.equal(c4c.stats().requests, before, 'nothing was looked up');
    const bad = await c4c.social.postForm({ url: replyUrl, ...MASHUP }, 'content=not-json');
    assert.equal(bad.status, 400);
    const noText = await c4c.social.postForm({ url: replyUrl, ...MASHUP }, `content=${encodeURIComponent(JSON.stringify({ original_id: '1', sma_id: '2', service_req_no: '3', text: '' }))}`);
    assert.equal(noText.status, 400);
    await sleep(200);
    assert.equal(replied.length, 0);
    assert.equal(wx.messages.length, 0);
    assert.ok(!everythingSaid().includes(MASHUP.password));
  });

  it('a reply for a follower C4C does not know: 200 to the mashup, Catch gets SOCIAL_UNKNOWN_FOLLOWER, nothing sent', async () => {
    await load();
    const caught = collect('caught');
    const content = { original_id: '1111', sma_id: '80001', service_req_no: '999', author_name: 'A', author_email: '', sma_create_datetime: '', private_ind: 'FALSE', text: 'lost' };
    const r = await c4c.social.postForm({ url: replyUrl, ...MASHUP }, `content=${encodeURIComponent(JSON.stringify(content))}`);
    assert.equal(r.status, 200);
    await waitFor(() => caught.length === 1, { what: 'the Catch' });
    assert.equal(caught[0].error.code, 'SOCIAL_UNKNOWN_FOLLOWER');
    assert.equal(caught[0].payload, 'lost');
    assert.equal(wx.messages.length, 0);
  });

  it('credentials left empty read C4C_REPLY_USER / C4C_REPLY_PASSWORD; given as an unset ${VAR}: every call is refused', async () => {
    const saved = [process.env.C4C_REPLY_USER, process.env.C4C_REPLY_PASSWORD];
    process.env.C4C_REPLY_USER = MASHUP.username;
    process.env.C4C_REPLY_PASSWORD = MASHUP.password;
    try {
      await load({}, {}, { ...CREDS, reply: {} });
      await store([wechatMsg('oEnvCreds', 'text', { Content: 'q' })]);
      const ticketId = c4c.social.tickets[0].ID;
      assert.equal((await c4c.social.agentReply({ ticketId, text: 'env', to: { url: replyUrl, ...MASHUP } })).status, 200);
      assert.equal((await c4c.social.agentReply({ ticketId, text: 'env', to: { url: replyUrl, username: MASHUP.username, password: 'x' } })).status, 401);
      await helper.unload();
      await load({}, {}, { ...CREDS, reply: { username: '${C4C_REPLY_NOT_SET_1}', password: '${C4C_REPLY_NOT_SET_2}' } });
      assert.match(everythingSaid(), /warn reply: (C4C_REPLY_NOT_SET_1|c4c-agent-reply\.warn\.env-missing)/);
      assert.equal((await c4c.social.agentReply({ ticketId, text: 'x', to: { url: replyUrl, username: '', password: '' } })).status, 401);
    } finally {
      for (const [k, v] of [['C4C_REPLY_USER', saved[0]], ['C4C_REPLY_PASSWORD', saved[1]]]) if (v === undefined) delete process.env[k]; else process.env[k] = v;
    }
  });

  it('no credentials configured: a warning at deploy, and the reply is taken without a check', async () => {
    const saved = [process.env.C4C_REPLY_USER, process.env.C4C_REPLY_PASSWORD];
    delete process.env.C4C_REPLY_USER;
    delete process.env.C4C_REPLY_PASSWORD;
    try {
      await load({}, {}, { ...CREDS, reply: {} });
      assert.match(everythingSaid(), /warn reply: (no user and password|c4c-agent-reply\.warn\.no-credentials)/);
      await store([wechatMsg('oOpen', 'text', { Content: 'q' })]);
      const replied = collect('replied');
      const r = await c4c.social.agentReply({ ticketId: c4c.social.tickets[0].ID, text: 'open', to: { url: replyUrl, username: '', password: '' } });
      assert.equal(r.status, 200);
      await waitFor(() => replied.length === 1);
    } finally {
      if (saved[0] !== undefined) process.env.C4C_REPLY_USER = saved[0];
      if (saved[1] !== undefined) process.env.C4C_REPLY_PASSWORD = saved[1];
    }
  });
});
