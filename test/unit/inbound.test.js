'use strict';
const assert = require('node:assert/strict');
const lib = require('../../dist/lib');
const W = require('../helpers/wechat');

const account = new lib.WeChatAccount({
  appId: W.ACCOUNT.appId, token: W.ACCOUNT.token,
  encodingAESKey: W.ACCOUNT.encodingAESKey, previousEncodingAESKey: W.ACCOUNT.previousEncodingAESKey,
}).inbound;

const post = (r) => lib.handleInbound({ method: 'POST', query: r.query, body: r.body }, account);

describe('handleInbound', () => {
  it('GET URL check answers echostr; a bad signature is 403', () => {
    const v = require('../fixtures/wechat-crypto-vectors.json').vectors[0];
    const acc = { ...account, token: v.token, replayWindow: 0 };
    const q = { signature: v.expected_signature, timestamp: v.timestamp, nonce: v.nonce, echostr: v.echostr };
    assert.deepEqual(lib.handleInbound({ method: 'GET', query: q }, acc), { kind: 'echo', echostr: v.echostr });
    const bad = lib.handleInbound({ method: 'GET', query: { ...q, signature: 'f'.repeat(40) } }, acc);
    assert.equal(bad.kind, 'reject');
    assert.equal(bad.status, 403);
  });
  it('GET with the public vector is refused as stale when the replay window is on', () => {
    const v = require('../fixtures/wechat-crypto-vectors.json').vectors[0];
    const r = lib.handleInbound({ method: 'GET', query: { signature: v.expected_signature, timestamp: v.timestamp, nonce: v.nonce, echostr: v.echostr } }, { ...account, token: v.token });
    assert.equal(r.status, 403);
    assert.match(r.reason, /window/);
  });
  it('plaintext POST: message, topic, dedupe key, openid', () => {
    const r = post(W.plainRequest(W.subscribe('oUser1')));
    assert.equal(r.kind, 'message');
    assert.equal(r.topic, 'event.subscribe');
    assert.equal(r.openid, 'oUser1');
    assert.equal(r.encrypted, false);
    assert.equal(r.message.Event, 'subscribe');
    assert.match(r.dedupeKey, /^e:oUser1:\d+:subscribe:$/);
  });
  it('plaintext POST body as a Buffer is accepted', () => {
    const req = W.plainRequest(W.text('oUser1', 'hi'));
    const r = lib.handleInbound({ method: 'POST', query: req.query, body: Buffer.from(req.body) }, account);
    assert.equal(r.kind, 'message');
    assert.equal(r.message.Content, 'hi');
  });
  it('safe mode: verifies msg_signature, decrypts, checks appid', () => {
    const r = post(W.safeRequest(W.text('oUser2', ' 00 你好 😀 ', '18446744073709551615')));
    assert.equal(r.kind, 'message');
    assert.equal(r.encrypted, true);
    assert.equal(r.keyIndex, 0);
    assert.equal(r.message.Content, ' 00 你好 😀 ');
    assert.equal(r.message.MsgId, '18446744073709551615');
  });
  it('compatible mode: the encrypted part is authoritative', () => {
    const req = W.safeRequest(W.text('oUser2', 'real'), { compatible: true });
    req.body = req.body.replace('<![CDATA[real]]>', '<![CDATA[forged]]>');
    const r = post(req);
    assert.equal(r.kind, 'message');
    assert.equal(r.message.Content, 'real');
  });
  it('key rotation: a message under the previous key is accepted with keyIndex 1', () => {
    const r = post(W.safeRequest(W.subscribe('oUser3'), { encodingAESKey: W.ACCOUNT.previousEncodingAESKey }));
    assert.equal(r.kind, 'message');
    assert.equal(r.keyIndex, 1);
  });
  const rejects = [
    ['missing signature', () => { const r = W.plainRequest(W.subscribe('o')); delete r.query.signature; return r; }, 400, /signature/],
    ['missing timestamp', () => { const r = W.plainRequest(W.subscribe('o')); delete r.query.timestamp; return r; }, 400, /timestamp/],
    ['missing msg_signature in safe mode', () => { const r = W.safeRequest(W.subscribe('o')); delete r.query.msg_signature; return r; }, 400, /msg_signature/],
    ['non-numeric timestamp', () => { const r = W.plainRequest(W.subscribe('o')); r.query.timestamp = 'abc'; return r; }, 400, /timestamp/],
    ['bad signature', () => W.plainRequest(W.subscribe('o'), { token: 'wrong' }), 403, /signature/],
    ['bad msg_signature', () => W.safeRequest(W.subscribe('o'), { token: 'wrong' }), 403, /msg_signature/],
    ['plaintext signature used in safe mode', () => { const r = W.safeRequest(W.subscribe('o')); r.query.msg_signature = r.query.signature; return r; }, 403, /msg_signature/],
    ['stale timestamp', () => W.plainRequest(W.subscribe('o'), { timestamp: String(Math.floor(Date.now() / 1000) - 3600) }), 403, /window/],
    ['future timestamp', () => W.plainRequest(W.subscribe('o'), { timestamp: String(Math.floor(Date.now() / 1000) + 3600) }), 403, /window/],
    ['wrong appid', () => W.safeRequest(W.subscribe('o'), { appId: 'wx0000000000000000' }), 403, /AppID/],
    ['unknown key', () => W.safeRequest(W.subscribe('o'), { encodingAESKey: 'B'.repeat(43) }), 400, /decrypt/],
    ['DOCTYPE', () => W.plainRequest('<!DOCTYPE x [<!ENTITY a "b">]><xml><MsgType>&a;</MsgType></xml>'), 400, /DOCTYPE/],
    ['broken XML', () => W.plainRequest('<xml><MsgType>text</xml>'), 400, /malformed/],
    ['empty body', () => W.plainRequest(''), 400, /empty/],
    ['not a message', () => W.plainRequest('<xml><Foo>1</Foo></xml>'), 400, /not a WeChat message/],
    ['too large', () => W.plainRequest(W.text('o', 'x'.repeat(300 * 1024))), 413, /larger/],
    ['no Encrypt in safe mode', () => { const r = W.safeRequest(W.subscribe('o')); r.body = '<xml><ToUserName>gh</ToUserName></xml>'; return r; }, 400, /Encrypt/],
    ['repeated query parameter', () => { const r = W.plainRequest(W.subscribe('o')); r.query.nonce = ['1', '2']; return r; }, 400, /nonce/],
  ];
  for (const [name, make, status, reason] of rejects) {
    it(`rejects: ${name} -> ${status}`, () => {
      const r = post(make());
      assert.equal(r.kind, 'reject', JSON.stringify(r));
      assert.equal(r.status, status);
      assert.match(r.reason, reason);
      assert.ok(!/\n\s+at /.test(r.reason), 'no stack trace');
    });
  }
  it('rejects a JSON-parsed body with 415 and other methods with 405', () => {
    const req = W.plainRequest(W.subscribe('o'));
    assert.equal(lib.handleInbound({ method: 'POST', query: req.query, body: { xml: {} } }, account).status, 415);
    assert.equal(lib.handleInbound({ method: 'PUT', query: req.query, body: req.body }, account).status, 405);
  });
  it('safe mode with no AES key configured is a 500 configuration error', () => {
    const r = lib.handleInbound({ method: 'POST', ...W.safeRequest(W.subscribe('o')) }, { ...account, keys: [] });
    assert.equal(r.status, 500);
  });
});

describe('WeChatAccount', () => {
  it('reports invalid keys as problems without the key text', () => {
    const a = new lib.WeChatAccount({ appId: 'wx1', token: 't', encodingAESKey: 'secretsecret' });
    assert.deepEqual(a.problems, ['encodingAESKey-invalid']);
    assert.ok(!JSON.stringify(a.problems).includes('secretsecret'));
  });
  it('needs a token; needs an AppID when a key is set', () => {
    assert.deepEqual(new lib.WeChatAccount({ encodingAESKey: W.ACCOUNT.encodingAESKey }).problems, ['token-missing', 'appid-missing']);
  });
});

describe('TtlCache', () => {
  it('expires entries and bounds its size', () => {
    let t = 0;
    const c = new lib.TtlCache(3, () => t);
    c.set('a', 1, 10);
    assert.equal(c.get('a'), 1);
    t = 11;
    assert.equal(c.get('a'), undefined);
    for (const k of ['b', 'c', 'd', 'e']) c.set(k, k, 1000);
    assert.equal(c.size, 3);
    assert.equal(c.get('b'), undefined);
    assert.equal(c.get('e'), 'e');
  });
});
