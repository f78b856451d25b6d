'use strict';
const assert = require('node:assert/strict');
const request = require('supertest');
const lib = require('../../dist/lib');
const W = require('../helpers/wechat');
const { helper, httpIn, ours, httpNodeApp, everythingSaid, nodeRedVersion } = require('../helpers/node-red');
const { sleep } = require('../helpers/wait');

const NODES = [httpIn, ours('wechat-config'), ours('wechat-in'), ours('wechat-reply')];
const CREDS = { acc: { token: W.ACCOUNT.token, encodingAESKey: W.ACCOUNT.encodingAESKey, previousEncodingAESKey: W.ACCOUNT.previousEncodingAESKey, appSecret: 'top-secret-app-secret' } };

function flow({ ackTimeout = 4500, dedupeWindow = 60, reply = { replyType: 'text', content: '欢迎 Welcome ]]> 😀', contentType: 'str' }, skipBodyParsing = false, messageMode } = {}) {
  return [
    { id: 'acc', type: 'wechat-config', appId: W.ACCOUNT.appId, apiBase: 'http://127.0.0.1:1', tokenMode: 'stable', replayWindow: 300, ...(messageMode === undefined ? {} : { messageMode }) },
    { id: 'f1', type: 'tab' },
    { id: 'hget', z: 'f1', type: 'http in', url: '/wechat', method: 'get', wires: [['in']] },
    { id: 'hpost', z: 'f1', type: 'http in', url: '/wechat', method: 'post', skipBodyParsing, wires: [['in']] },
    { id: 'in', z: 'f1', type: 'wechat-in', account: 'acc', ackTimeout, dedupeWindow, wires: [reply ? ['reply', 'out'] : ['out']] },
    ...(reply ? [{ id: 'reply', z: 'f1', type: 'wechat-reply', account: 'acc', ...reply, wires: [['res']] }] : []),
    { id: 'res', z: 'f1', type: 'http response', wires: [] },
    { id: 'out', z: 'f1', type: 'helper', wires: [] },
  ];
}

async function load(opts) {
  await helper.load(NODES, flow(opts), CREDS);
  return request(httpNodeApp());
}

const postXml = (agent, req) => agent.post(`/wechat?${W.toQueryString(req.query)}`).set('Content-Type', 'text/xml').send(req.body);

function collect(id) {
  const got = [];
  helper.getNode(id).on('input', (msg) => got.push(msg));
  return got;
}

describe(`wechat-in + wechat-reply over HTTP (Node-RED ${nodeRedVersion})`, function () {
  this.timeout(10000);
  afterEach(async () => {
    await helper.unload();
  });

  it('GET URL check: echostr back as text/plain; bad signature 403', async () => {
    const agent = await load();
    const timestamp = W.now();
    const q = { signature: W.sign(W.ACCOUNT.token, timestamp, '42'), timestamp, nonce: '42', echostr: '4375120948345356249' };
    const ok = await agent.get(`/wechat?${W.toQueryString(q)}`);
    assert.equal(ok.status, 200);
    assert.equal(ok.text, '4375120948345356249');
    assert.match(ok.headers['content-type'], /^text\/plain/);
    const bad = await agent.get(`/wechat?${W.toQueryString({ ...q, signature: '0'.repeat(40) })}`);
    assert.equal(bad.status, 403);
    assert.equal(bad.text, 'signature mismatch');
  });

  it('plaintext subscribe: the welcome reply, swapped addresses, CreateTime in seconds, msg contract', async () => {
    const agent = await load();
    const out = collect('out');
    const before = Math.floor(Date.now() / 1000);
    const res = await postXml(agent, W.plainRequest(W.subscribe('oPlain1', { EventKey: 'qrscene_123', Ticket: 'TICKET' })));
    assert.equal(res.status, 200);
    assert.match(res.headers['content-type'], /^application\/xml/);
    const reply = lib.parseMessageXml(res.text);
    assert.equal(reply.ToUserName, 'oPlain1');
    assert.equal(reply.FromUserName, W.ACCOUNT.ghId);
    assert.equal(reply.MsgType, 'text');
    assert.equal(reply.Content, '欢迎 Welcome ]]> 😀');
    assert.ok(Number(reply.CreateTime) >= before && Number(reply.CreateTime) <= before + 5, `CreateTime ${reply.CreateTime} is seconds`);
    assert.equal(out.length, 1);
    const msg = out[0];
    assert.equal(msg.topic, 'event.subscribe');
    assert.equal(msg.payload.EventKey, 'qrscene_123');
    assert.equal(msg.payload.Ticket, 'TICKET');
    assert.deepEqual(Object.keys(msg.wechat).sort(), ['appId', 'encrypted', 'key', 'nonce', 'openid', 'timestamp']);
    assert.equal(msg.wechat.openid, 'oPlain1');
    assert.equal(msg.wechat.encrypted, false);
    assert.equal(msg.wechat.appId, W.ACCOUNT.appId);
    assert.ok(msg.req && msg.res, 'req/res kept');
  });

  it('safe mode subscribe: the reply is an envelope that verifies and decrypts to the welcome', async () => {
    const agent = await load();
    const res = await postXml(agent, W.safeRequest(W.subscribe('oSafe1')));
    assert.equal(res.status, 200);
    const { outer, inner } = W.openReply(res.text);
    assert.deepEqual(Object.keys(outer), ['Encrypt', 'MsgSignature', 'TimeStamp', 'Nonce']);
    const reply = lib.parseMessageXml(inner);
    assert.equal(reply.ToUserName, 'oSafe1');
    assert.equal(reply.FromUserName, W.ACCOUNT.ghId);
    assert.equal(reply.Content, '欢迎 Welcome ]]> 😀');
  });

  it('key rotation: a message under the previous key is answered under the previous key', async () => {
    const agent = await load();
    const res = await postXml(agent, W.safeRequest(W.subscribe('oRotate'), { encodingAESKey: W.ACCOUNT.previousEncodingAESKey }));
    assert.equal(res.status, 200);
    const { inner } = W.openReply(res.text, { encodingAESKey: W.ACCOUNT.previousEncodingAESKey });
    assert.equal(lib.parseMessageXml(inner).ToUserName, 'oRotate');
  });

  it('"do not parse body": the Buffer body is accepted, with a warning at deploy that it defeats the body limit', async () => {
    const agent = await load({ skipBodyParsing: true });
    const out = collect('out');
    const res = await postXml(agent, W.safeRequest(W.text('oBuf', '零 0 😀', '9007199254740993')));
    assert.equal(res.status, 200);
    assert.equal(out[0].payload.Content, '零 0 😀');
    assert.equal(out[0].payload.MsgId, '9007199254740993');
    const warns = helper._NodePrototype.warn.getCalls().filter((c) => c.thisValue.id === 'in').map((c) => String(c.args[0]));
    assert.equal(warns.filter((w) => /skip-body-parsing/.test(w)).length, 1, warns.join('\n'));
  });

  it('the liveness probe: GET /wechat-c4c/health answers from a turn of the event loop, nothing configured in it', async () => {
    const agent = await load();
    const res = await agent.get('/wechat-c4c/health');
    assert.equal(res.status, 200);
    assert.equal(res.body.ok, true);
    assert.equal(typeof res.body.lagMs, 'number');
    assert.equal(res.headers['cache-control'], 'no-store');
    assert.doesNotMatch(res.text, new RegExp(`${W.ACCOUNT.token}|${W.ACCOUNT.appId}`));
  });

  it('no warning about "do not parse body" when it is off; one warning (once) when requests come without the body-limit middleware', async () => {
    const agent = await load();
    for (let i = 0; i < 3; i++) await postXml(agent, W.plainRequest(W.subscribe(`oNoLimit${i}`)));
    const warns = helper._NodePrototype.warn.getCalls().filter((c) => c.thisValue.id === 'in').map((c) => String(c.args[0]));
    assert.equal(warns.filter((w) => /skip-body-parsing/.test(w)).length, 0);
    assert.equal(warns.filter((w) => /no-body-limit/.test(w)).length, 1);
  });

  const types = {
    text: W.text('oT', '  00123  \n 你好 😀 ', '9223372036854775807'),
    image: { ToUserName: W.ACCOUNT.ghId, FromUserName: 'oT', CreateTime: W.now(), MsgType: 'image', PicUrl: 'http://p/1.jpg', MediaId: 'media_1', MsgId: '1000000000000000001' },
    voice: { ToUserName: W.ACCOUNT.ghId, FromUserName: 'oT', CreateTime: W.now(), MsgType: 'voice', MediaId: 'm', Format: 'amr', Recognition: '语音', MsgId: '1000000000000000002' },
    video: { ToUserName: W.ACCOUNT.ghId, FromUserName: 'oT', CreateTime: W.now(), MsgType: 'video', MediaId: 'm', ThumbMediaId: 't', MsgId: '1000000000000000003' },
    shortvideo: { ToUserName: W.ACCOUNT.ghId, FromUserName: 'oT', CreateTime: W.now(), MsgType: 'shortvideo', MediaId: 'm', ThumbMediaId: 't', MsgId: '1000000000000000004' },
    location: { ToUserName: W.ACCOUNT.ghId, FromUserName: 'oT', CreateTime: W.now(), MsgType: 'location', Location_X: '23.134521', Location_Y: '113.358803', Scale: '20', Label: '广州', MsgId: '1000000000000000005' },
    link: { ToUserName: W.ACCOUNT.ghId, FromUserName: 'oT', CreateTime: W.now(), MsgType: 'link', Title: 't', Description: 'd', Url: 'http://x/?a=1&b=2', MsgId: '1000000000000000006' },
    'event.subscribe': W.subscribe('oT'),
    'event.unsubscribe': { ...W.subscribe('oT'), Event: 'unsubscribe' },
    'event.SCAN': { ...W.subscribe('oT'), Event: 'SCAN', EventKey: '123', Ticket: 'tk' },
    'event.LOCATION': { ...W.subscribe('oT'), Event: 'LOCATION', Latitude: '23.137466', Longitude: '113.352425', Precision: '119.385040' },
    'event.CLICK': { ...W.subscribe('oT'), Event: 'CLICK', EventKey: 'MENU_1' },
    'event.VIEW': { ...W.subscribe('oT'), Event: 'VIEW', EventKey: 'http://x/', MenuId: '1' },
    'event.TEMPLATESENDJOBFINISH': { ...W.subscribe('oT'), Event: 'TEMPLATESENDJOBFINISH', MsgID: '18446744073709551615', Status: 'success' },
    'event.scancode_push': { ...W.subscribe('oT'), Event: 'scancode_push', EventKey: 'k', ScanCodeInfo: { raw: '<ScanType><![CDATA[qrcode]]></ScanType><ScanResult><![CDATA[1]]></ScanResult>' } },
  };
  for (const [topic, fields] of Object.entries(types)) {
    it(`parses ${topic} with every value a string as sent (plaintext and safe mode)`, async () => {
      const agent = await load({ reply: null, ackTimeout: 20 });
      const out = collect('out');
      await postXml(agent, W.plainRequest(fields)).expect(200);
      const second = { ...fields, CreateTime: String(Number(fields.CreateTime) + 1) };
      for (const id of ['MsgId', 'MsgID']) if (fields[id]) second[id] = fields[id].slice(0, -1) + '0';
      await postXml(agent, W.safeRequest(second)).expect(200);
      assert.equal(out.length, 2);
      for (const msg of out) {
        assert.equal(msg.topic, topic);
        for (const [k, v] of Object.entries(fields)) {
          if (k === 'CreateTime' || k === 'MsgId' || k === 'MsgID') continue;
          if (v && typeof v === 'object') assert.equal(typeof msg.payload[k], 'object');
          else assert.equal(msg.payload[k], v, k);
        }
        for (const v of Object.values(msg.payload)) assert.ok(typeof v === 'string' || typeof v === 'object');
      }
      if (topic === 'event.scancode_push') assert.deepEqual(out[0].payload.ScanCodeInfo, { ScanType: 'qrcode', ScanResult: '1' });
    });
  }

  for (const mode of ['plain', 'safe']) {
    it(`${mode}: WeChat's triple retry emits once and is answered three times identically`, async () => {
      const agent = await load();
      const out = collect('out');
      const req = (mode === 'plain' ? W.plainRequest : W.safeRequest)(W.text('oRetry', 'hello', '5000000000000000001'));
      const first = await postXml(agent, req);
      const rest = await Promise.all([postXml(agent, req), postXml(agent, req)]);
      assert.equal(out.length, 1, 'emitted once');
      for (const r of rest) {
        assert.equal(r.status, 200);
        assert.equal(r.text, first.text);
      }
      if (mode === 'safe') assert.equal(lib.parseMessageXml(W.openReply(first.text).inner).Content, '欢迎 Welcome ]]> 😀');
      const status = helper._NodePrototype.status.getCalls().filter((c) => c.thisValue.id === 'in').pop();
      assert.equal(status.args[0].fill, 'green');
    });
  }

  it('retries that arrive while the first delivery is still in the flow wait for its reply', async () => {
    // The flow answers only after 300 ms; three deliveries at once get the same reply, one output.
    const agent = await load({ reply: null });
    const out = collect('out');
    const req = W.plainRequest(W.subscribe('oSlow'));
    const sent = [postXml(agent, req), postXml(agent, req), postXml(agent, req)].map((t) => t.then((r) => r));
    // answer the first delivery by hand after a short while, as a slow flow would
    await sleep(150);
    assert.equal(out.length, 1);
    out[0].res._res.status(200).type('text/plain').send('success');
    const results = await Promise.all(sent);
    for (const r of results) assert.equal(r.text, 'success');
  });

  it('ack timeout: nobody answers, the node answers success and warns', async () => {
    const agent = await load({ reply: null, ackTimeout: 200 });
    const out = collect('out');
    const res = await postXml(agent, W.plainRequest(W.subscribe('oNoReply')));
    assert.equal(res.status, 200);
    assert.equal(res.text, 'success');
    assert.equal(out.length, 1);
    assert.match(everythingSaid(), /wechat-in\.warn\.ack-timeout/);
  });

  it('a reply that comes after the ack timeout is not sent again and warns', async () => {
    await helper.load(NODES, flow({ reply: null, ackTimeout: 100 }).concat([{ id: 'r2', z: 'f1', type: 'wechat-reply', account: 'acc', replyType: 'text', content: 'late', contentType: 'str', wires: [['res']] }]), CREDS);
    const agent = request(httpNodeApp());
    const out = collect('out');
    const res = await postXml(agent, W.plainRequest(W.subscribe('oLate')));
    assert.equal(res.text, 'success');
    helper.getNode('r2').receive(out[0]);
    await sleep(50);
    assert.match(everythingSaid(), /wechat-reply\.warn\.late/);
  });

  const rejections = [
    ['bad signature', () => W.plainRequest(W.subscribe('o'), { token: 'nope' }), 403],
    ['bad msg_signature', () => W.safeRequest(W.subscribe('o'), { token: 'nope' }), 403],
    ['wrong appid', () => W.safeRequest(W.subscribe('o'), { appId: 'wx0000000000000000' }), 403],
    ['stale timestamp', () => W.plainRequest(W.subscribe('o'), { timestamp: '1400000000' }), 403],
    ['missing nonce', () => { const r = W.plainRequest(W.subscribe('o')); delete r.query.nonce; return r; }, 400],
    ['DOCTYPE', () => W.plainRequest('<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]><xml><Content>&lol2;</Content></xml>'), 400],
    ['broken XML', () => W.plainRequest('<xml><ToUserName>gh'), 400],
    ['oversize body', () => W.plainRequest(W.text('o', 'x'.repeat(400 * 1024))), 413],
    ['undecryptable', () => { const r = W.safeRequest(W.subscribe('o')); const bad = (r.encrypt[0] === 'A' ? 'B' : 'A') + r.encrypt.slice(1); r.body = r.body.replace(r.encrypt, bad); r.query.msg_signature = W.sign(W.ACCOUNT.token, r.query.timestamp, r.query.nonce, bad); return r; }, 400],
  ];
  for (const [name, make, status] of rejections) {
    it(`rejects ${name} with ${status}, a short reason, no output, and a warning`, async () => {
      const agent = await load();
      const out = collect('out');
      const res = await postXml(agent, make());
      assert.equal(res.status, status);
      assert.ok(res.text.length > 0 && res.text.length < 200, res.text);
      assert.doesNotMatch(res.text, /\bat .*\.js:\d+/);
      assert.equal(out.length, 0);
      assert.match(everythingSaid(), /wechat-in\.warn\.rejected/);
      const status2 = helper._NodePrototype.status.getCalls().filter((c) => c.thisValue.id === 'in').pop();
      assert.equal(status2.args[0].fill, 'yellow');
    });
  }

  it('wechat-reply without msg.wechat fails through done(err) so a Catch node sees it', async () => {
    await helper.load(NODES, [
      { id: 'f1', type: 'tab' },
      { id: 'acc', type: 'wechat-config', appId: W.ACCOUNT.appId },
      { id: 'reply', type: 'wechat-reply', account: 'acc', z: 'f1', wires: [[]] },
      { id: 'ncatch', type: 'catch', z: 'f1', scope: null, uncaught: false, wires: [['out']] },
      { id: 'out', type: 'helper', z: 'f1', wires: [] },
    ], CREDS);
    const caught = new Promise((resolve) => helper.getNode('out').on('input', resolve));
    helper.getNode('reply').receive({ payload: 'hi' });
    const msg = await caught;
    assert.match(msg.error.message, /wechat-reply\.errors\.no-wechat/);
  });

  it('a wrong EncodingAESKey is a configuration error at deploy, not a crash; requests get 500', async () => {
    await helper.load(NODES, flow(), { acc: { token: 't', encodingAESKey: 'too-short-key' } });
    const agent = request(httpNodeApp());
    const status = helper._NodePrototype.status.getCalls().filter((c) => c.thisValue.id === 'in').pop();
    assert.equal(status.args[0].fill, 'red');
    assert.doesNotMatch(status.args[0].text, /encodingAESKey/, 'short in the status');
    assert.ok(status.args[0].text.length <= 32);
    assert.match(everythingSaid(), /encodingAESKey-invalid/, "long in the log");
    const res = await postXml(agent, W.plainRequest(W.subscribe('o')));
    assert.equal(res.status, 500);
    assert.doesNotMatch(everythingSaid(), /too-short-key/);
  });

  it('rejections: one warning per reason per 10 s with a count; the status keeps counting in 32 characters', async () => {
    const agent = await load();
    const r = W.plainRequest(W.subscribe('oX'));
    for (let i = 0; i < 20; i++) {
      const res = await postXml(agent, { query: { ...r.query, signature: '0'.repeat(40) }, body: r.body });
      assert.equal(res.status, 403);
    }
    await postXml(agent, { query: { ...r.query, timestamp: 'abc' }, body: r.body });
    // (besides the one-time warning that these requests came without the body-limit middleware)
    const warns = helper._NodePrototype.warn.getCalls().filter((c) => c.thisValue.id === 'in' && !/no-body-limit/.test(c.args[0]));
    assert.equal(warns.length, 2, 'one for bad signatures, one for the bad timestamp');
    await sleep(700); // the throttled status lands
    const statuses = helper._NodePrototype.status.getCalls().filter((c) => c.thisValue.id === 'in').map((c) => c.args[0]);
    const last = statuses.pop();
    assert.equal(last.text, 'wechat-in.status.counts', 'the counts (catalog key: the helper does not translate)');
    assert.equal(last.fill, 'yellow');
    assert.match(warns[0].args[0], /wechat-in.warn.rejected/);
  });

  it('the plaintext forgery: a captured signature with another body is 403 and never reaches the flow', async () => {
    const agent = await load();
    const out = collect('out');
    const r = W.plainRequest(W.subscribe('oGenuine'));
    const forged = await postXml(agent, { query: r.query, body: r.body.replace('oGenuine', 'oSOMEONE_ELSE') });
    assert.equal(forged.status, 200, 'the forgery came first: it is the first use of the signature');
    const genuine = await postXml(agent, r);
    assert.equal(genuine.status, 403, 'the same signature with another body is refused, whichever came first');
    assert.equal(out.length, 1);
  });

  it('nothing logged, warned or shown in a status carries the token, AES keys or secret', async () => {
    const agent = await load();
    await postXml(agent, W.safeRequest(W.subscribe('oS')));
    await postXml(agent, W.safeRequest(W.subscribe('oS2'), { token: 'nope' }));
    await postXml(agent, W.safeRequest(W.subscribe('oS3'), { appId: 'wx0000000000000000' }));
    await postXml(agent, W.plainRequest('<xml><a>'));
    const said = everythingSaid();
    assert.ok(said.length > 0);
    for (const secret of [W.ACCOUNT.encodingAESKey, W.ACCOUNT.previousEncodingAESKey, 'top-secret-app-secret', `"${W.ACCOUNT.token}"`]) {
      assert.ok(!said.includes(secret), `found a secret in: ${said.slice(0, 200)}`);
    }
  });

  describe('the account decides the message mode (wechat-config messageMode)', () => {
    const modeOf = () => helper.getNode('acc').account.inbound.messageMode;
    it('a flow saved without it takes the mode from each request (any); empty (an unset ${VAR}) is safe', async () => {
      await load();
      assert.equal(modeOf(), 'any');
      await helper.unload();
      await load({ messageMode: '${WECHAT_MESSAGE_MODE_UNSET_IN_TESTS}' });
      assert.equal(modeOf(), 'safe');
    });
    for (const mode of ['safe', 'compatible']) {
      it(`${mode}: a downgraded request is refused (encrypt_type dropped, raw, repeated, an array; msg_signature dropped)`, async () => {
        const agent = await load({ messageMode: mode });
        const out = collect('out');
        const genuine = W.safeRequest(W.subscribe('oVictim'), { compatible: mode === 'compatible' });
        const forged = W.plainRequest(W.subscribe('oAttacker'), { timestamp: genuine.query.timestamp, nonce: genuine.query.nonce });
        const { encrypt_type: _e, msg_signature: _m, ...plainQuery } = genuine.query;
        const cases = [
          ['encrypt_type and msg_signature dropped, a plaintext body', plainQuery, forged.body, 403],
          ['encrypt_type=raw, no msg_signature', { ...plainQuery, encrypt_type: 'raw' }, forged.body, 403],
          ['encrypt_type=raw beside a genuine msg_signature, a plaintext body', { ...genuine.query, encrypt_type: 'raw' }, forged.body, 400],
        ];
        for (const [what, query, body, status] of cases) {
          const res = await postXml(agent, { query, body });
          assert.equal(res.status, status, what);
        }
        const repeated = await agent.post(`/wechat?${W.toQueryString(genuine.query)}&encrypt_type=raw`).set('Content-Type', 'text/xml').send(forged.body);
        assert.equal(repeated.status, 400, 'a repeated encrypt_type');
        const array = await agent.post(`/wechat?${W.toQueryString(plainQuery)}&encrypt_type[]=aes`).set('Content-Type', 'text/xml').send(forged.body);
        assert.equal(array.status, 400, 'encrypt_type[]');
        assert.equal(out.length, 0, 'the flow never ran');
        // the genuine request with encrypt_type dropped is still the encrypted follower's
        const { encrypt_type: _d, ...noType } = genuine.query;
        const ok = await postXml(agent, { query: noType, body: genuine.body });
        assert.equal(ok.status, 200);
        assert.equal(out.length, 1);
        assert.equal(out[0].payload.FromUserName, 'oVictim');
        assert.equal(out[0].wechat.encrypted, true);
      });
    }
    it('compatible: the encrypted content is the message, never the plaintext fields beside it', async () => {
      const agent = await load({ messageMode: 'compatible' });
      const out = collect('out');
      const genuine = W.safeRequest(W.subscribe('oRealFollower'), { compatible: true });
      const body = genuine.body.replace(/oRealFollower/g, 'oForgedFollower').replace('<Event><![CDATA[subscribe]]>', '<Event><![CDATA[unsubscribe]]>');
      assert.ok(body.includes('oForgedFollower'));
      const res = await postXml(agent, { query: genuine.query, body });
      assert.equal(res.status, 200);
      assert.equal(out[0].payload.FromUserName, 'oRealFollower');
      assert.equal(out[0].topic, 'event.subscribe');
    });
    it('plain: an encrypted request is refused with the reason; the URL check works in every mode', async () => {
      const agent = await load({ messageMode: 'plain' });
      const res = await postXml(agent, W.safeRequest(W.subscribe('oX')));
      assert.equal(res.status, 400);
      assert.match(res.text, /message mode is plain/);
      assert.equal((await postXml(agent, W.plainRequest(W.subscribe('oX')))).status, 200);
      for (const mode of ['safe', 'compatible']) {
        await helper.unload();
        const a = await load({ messageMode: mode });
        const timestamp = W.now();
        const q = { signature: W.sign(W.ACCOUNT.token, timestamp, '7'), timestamp, nonce: '7', echostr: 'e' + mode };
        assert.equal((await a.get(`/wechat?${W.toQueryString(q)}`)).text, 'e' + mode);
      }
    });
    it('an unknown mode is a configuration error at deploy', async () => {
      await load({ messageMode: 'aes' });
      assert.match(everythingSaid(), /message-mode-invalid/);
    });
    it('an <Encrypt> over the account\'s limit is refused before it is hashed (413)', async () => {
      const agent = await load({ messageMode: 'safe' });
      const genuine = W.safeRequest(W.subscribe('oX'));
      const res = await postXml(agent, { query: genuine.query, body: `<xml><Encrypt><![CDATA[${'A'.repeat(70000)}]]></Encrypt></xml>` });
      assert.equal(res.status, 413);
      assert.match(res.text, /Encrypt/);
    });
  });
});
