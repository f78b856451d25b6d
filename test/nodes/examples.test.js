'use strict';
// The shipped example flows, loaded as a user imports them, with real HTTP through http in.
const assert = require('node:assert/strict');
const request = require('supertest');
const lib = require('../../dist/lib');
const W = require('../helpers/wechat');
const { helper, httpIn, ours, httpNodeApp, fromNodeRed, nodeRedVersion } = require('../helpers/node-red');

describe(`the wechat-echo example (Node-RED ${nodeRedVersion})`, function () {
  this.timeout(10000);
  afterEach(() => helper.unload());

  it('echoes a text message (safe mode) and answers success to an event', async () => {
    const flow = require('../../examples/wechat-echo.json').map((n) => (n.type === 'wechat-config' ? { ...n, appId: W.ACCOUNT.appId, apiBase: '' } : n));
    const sw = fromNodeRed('@node-red/nodes/core/function/10-switch.js');
    const comment = fromNodeRed('@node-red/nodes/core/common/90-comment.js');
    await helper.load([httpIn, sw, comment, ours('wechat-config'), ours('wechat-in'), ours('wechat-reply')], flow, { 'echo.account': { token: W.ACCOUNT.token, encodingAESKey: W.ACCOUNT.encodingAESKey } });
    const agent = request(httpNodeApp());
    const text = W.safeRequest(W.text('oEcho', '  回声 echo 007 '));
    const res = await agent.post(`/wechat?${W.toQueryString(text.query)}`).set('Content-Type', 'text/xml').send(text.body);
    assert.equal(res.status, 200);
    const reply = lib.parseMessageXml(W.openReply(res.text).inner);
    assert.equal(reply.Content, '  回声 echo 007 ');
    assert.equal(reply.ToUserName, 'oEcho');
    const ev = W.safeRequest(W.subscribe('oEcho'));
    const res2 = await agent.post(`/wechat?${W.toQueryString(ev.query)}`).set('Content-Type', 'text/xml').send(ev.body);
    assert.equal(res2.text, 'success');
    // WECHAT_MESSAGE_MODE unset: the account is in safe mode, and a plaintext request is refused.
    const plain = W.plainRequest(W.subscribe('oEcho2'));
    const res3 = await agent.post(`/wechat?${W.toQueryString(plain.query)}`).set('Content-Type', 'text/xml').send(plain.body);
    assert.equal(res3.status, 403);
  });
});
