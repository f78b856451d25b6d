'use strict';
// Check before parse, plaintext replay, field limits, exact XML on both parser paths.
const assert = require('node:assert/strict');
const lib = require('../../dist/lib');
const W = require('../helpers/wechat');

const fresh = () => new lib.WeChatAccount({ appId: W.ACCOUNT.appId, token: W.ACCOUNT.token, encodingAESKey: W.ACCOUNT.encodingAESKey }).inbound;
const post = (r, acc = fresh()) => lib.handleInbound({ method: 'POST', query: r.query, body: r.body }, acc);

function both(xml) {
  const out = [];
  for (const fn of [lib.parseMessageXml, lib.parseMessageXmlFull]) {
    try { out.push({ ok: fn(xml) }); } catch (e) { out.push({ error: e.code }); }
  }
  assert.deepEqual(out[0], out[1], `both parser paths agree on ${JSON.stringify(xml)}`);
  return out[0];
}

describe('inbound hardening', () => {
  it('an unsigned plaintext request is 403 before the body is parsed (no parser message)', () => {
    const r = W.plainRequest('<xml>' + '<a>1</a>'.repeat(30000) + '</xml>');
    const bad = post({ query: { ...r.query, signature: '0'.repeat(40) }, body: r.body });
    assert.equal(bad.status, 403);
    assert.equal(bad.reason, 'signature mismatch');
    const broken = post({ query: { ...r.query, signature: '0'.repeat(40) }, body: '<xml><oops' });
    assert.equal(broken.status, 403, 'malformed XML with a bad signature: still 403, nothing about the parser');
  });
  it('safe mode: msg_signature is checked on the scanned <Encrypt> before any parse', () => {
    const r = W.safeRequest(W.subscribe('oSafe'));
    const bad = post({ query: { ...r.query, msg_signature: '0'.repeat(40) }, body: r.body + '<oops' });
    assert.equal(bad.status, 403);
    assert.equal(post({ query: r.query, body: r.body.replace('</xml>', `<Encrypt><![CDATA[${r.encrypt}]]></Encrypt></xml>`) }).code, 'no-encrypt', 'two <Encrypt> refused');
    assert.equal(post(r).kind, 'message');
    assert.equal(lib.findEncrypt('<xml><Encrypt>abc=</Encrypt></xml>'), 'abc=');
    assert.equal(lib.findEncrypt('<xml><Encrypt><x/></Encrypt></xml>'), undefined);
  });
  it('plaintext replay: the same signature with another body is 403; the same body is a retry', () => {
    const acc = fresh();
    const r = W.plainRequest(W.subscribe('oGenuine'));
    assert.equal(post(r, acc).kind, 'message');
    assert.equal(post(r, acc).kind, 'message', "WeChat's retry (same body) passes, to be deduped");
    const forged = post({ query: r.query, body: r.body.replace('oGenuine', 'oSOMEONE_ELSE') }, acc);
    assert.equal(forged.status, 403);
    assert.equal(forged.code, 'replayed');
  });
  it('fields over WeChat limits are refused before anything is cached', () => {
    const long = post(W.plainRequest(W.subscribe('o'.repeat(200000))));
    assert.equal(long.status, 400);
    assert.equal(long.code, 'field-too-long');
    assert.equal(post(W.plainRequest({ ...W.subscribe('oX'), ToUserName: 'g'.repeat(65) })).code, 'field-too-long');
    assert.equal(post(W.plainRequest(W.text('oX', 'hi', '12ab'))).code, 'bad-field');
  });
  it('character references decoded as XML 1.0 says, forbidden characters and undefined entities refused', () => {
    assert.equal(both('<xml><A>a&#43;b&#x41;&#x1F600;&amp;&lt;&gt;&apos;&quot;</A></xml>').ok.A, 'a+bA😀&<>\'"');
    assert.equal(both('<xml><A><![CDATA[&foo; &#1;]]></A></xml>').ok.A, '&foo; &#1;', 'CDATA is characters');
    for (const xml of ['<xml><A>&#1;</A></xml>', '<xml><A>&#xD800;</A></xml>', '<xml><A>&foo;</A></xml>', '<xml><A>&nbsp;</A></xml>',
      '<xml><A>a & b</A></xml>', '<xml><A>\u0000</A></xml>', '<xml><A><![CDATA[\u0000]]></A></xml>', '<xml><A>&#xFFFE;</A></xml>']) {
      assert.equal(both(xml).error, '-40002', xml);
    }
  });
  it('a duplicate MsgId is refused; nested elements in text fields are refused; list fields always arrays', () => {
    assert.equal(both('<xml><FromUserName>o</FromUserName><MsgId>1</MsgId><MsgId>2</MsgId></xml>').error, '-40002');
    assert.equal(both('<xml><ToUserName><a>gh</a></ToUserName><FromUserName>o</FromUserName></xml>').error, '-40002');
    const one = both('<xml><MsgType>event</MsgType><SubscribeMsgPopupEvent><List><TemplateId>t1</TemplateId></List></SubscribeMsgPopupEvent></xml>').ok;
    assert.ok(Array.isArray(one.SubscribeMsgPopupEvent.List));
    assert.equal(one.SubscribeMsgPopupEvent.List.length, 1);
    const two = both('<xml><SubscribeMsgPopupEvent><List><TemplateId>t1</TemplateId></List><List><TemplateId>t2</TemplateId></List></SubscribeMsgPopupEvent></xml>').ok;
    assert.equal(two.SubscribeMsgPopupEvent.List.length, 2);
    const r = post(W.plainRequest('<xml><ToUserName>gh</ToUserName><FromUserName>o</FromUserName><MsgType>text</MsgType><MsgId>1</MsgId><MsgId>2</MsgId></xml>'));
    assert.equal(r.status, 400);
  });
  it('safe mode: a message whose own CreateTime lies outside the replay window is refused, even freshly signed', () => {
    const old = String(Math.floor(Date.now() / 1000) - 3600);
    const r = post(W.safeRequest(W.subscribe('oOld', { CreateTime: old })));
    assert.equal(r.status, 403);
    assert.equal(r.code, 'stale-message');
    assert.equal(post(W.safeRequest(W.subscribe('oNew'))).kind, 'message');
  });
  it('the cheap refusals come first: a stale or unsigned safe-mode request is refused before its body is looked at', () => {
    const acc = { ...fresh(), messageMode: 'safe' };
    const body = Buffer.from(`<xml><Encrypt>${'A'.repeat(250000)}</Encrypt></xml>`);
    const r = W.safeRequest(W.subscribe('o'));
    const stale = post({ query: { ...r.query, timestamp: String(Math.floor(Date.now() / 1000) - 3600) }, body }, acc);
    assert.equal(stale.code, 'stale');
    const { msg_signature: _m, ...unsigned } = r.query;
    assert.equal(post({ query: unsigned, body }, acc).code, 'unsigned');
    assert.equal(post({ query: r.query, body }, acc).code, 'encrypt-too-long', 'over maxEncryptBytes: 413 before any hashing');
    assert.equal(post({ query: r.query, body: `<xml><Encrypt>${'A'.repeat(250000)}</Encrypt></xml>` }, acc).code, 'encrypt-too-long', 'the same for a string body');
  });
  it('a delivery\'s claim lives as long as its timestamp is accepted (the replay window)', () => {
    const account = new lib.WeChatAccount({ appId: W.ACCOUNT.appId, token: W.ACCOUNT.token, replayWindow: 300 });
    assert.equal(account.claimTtlMs(60000, 9500), 300000);
    assert.equal(new lib.WeChatAccount({ token: 't', replayWindow: 0 }).claimTtlMs(60000, 9500), 60000, 'no window: WeChat\'s retries');
    assert.equal(new lib.WeChatAccount({ token: 't', replayWindow: 10 }).claimTtlMs(0, 9500), 10000);
  });
  it('the last second of the window: a replay at T+300.6 s is still a retry, and a forged body beside a captured signature still refused', async () => {
    // T is a whole second; the first delivery arrives at T+0.02 s, the replay at T+300.6 s: still
    // inside the window (floor(now) - T = 300), so it must still be remembered
    const T = Math.floor(Date.now() / 1000);
    let now = T * 1000 + 20;
    const account = new lib.WeChatAccount({ appId: W.ACCOUNT.appId, token: W.ACCOUNT.token, encodingAESKey: W.ACCOUNT.encodingAESKey, replayWindow: 300, messageMode: 'any' },
      { deliveries: new lib.MemoryDeliveryStore({ now: () => now }) });
    const safe = W.safeRequest(W.subscribe('oLastSecond', { CreateTime: String(T) }), { timestamp: String(T) });
    const first = await account.receive({ method: 'POST', ...safe }, { windowMs: 60000, holdMs: 9500 }, now);
    assert.equal(first.claim.first, true);
    now = T * 1000 + 300600;
    const replay = await account.receive({ method: 'POST', ...safe }, { windowMs: 60000, holdMs: 9500 }, now);
    assert.equal(replay.kind, 'message', 'still accepted by the window');
    assert.equal(replay.claim.first, false, 'and answered as a retry');
    // plaintext: the captured query with another body, at T+300.6 s
    now = T * 1000 + 20;
    const plain = W.plainRequest(W.subscribe('oGenuine2', { CreateTime: String(T) }), { timestamp: String(T) });
    assert.equal(account.inbound.replayGuard.check(plain.query.signature, plain.body, 300, now, String(T)), true);
    now = T * 1000 + 300600;
    const forged = lib.handleInbound({ method: 'POST', query: plain.query, body: plain.body.replace('oGenuine2', 'oForged22') }, account.inbound, now);
    assert.equal(forged.code, 'replayed');
    await account.close();
  });
});
