'use strict';
// The ack deadline counts from the request's arrival (stamped by the body-limit middleware that
// `npm start` installs), not from the moment wechat-in gets the message. A real Node-RED process;
// the request is held 1 s before wechat-in (a delay node standing in for a busy event loop), the
// reply comes 1 s after wechat-in, and ackTimeout is 1.5 s: counted from arrival, the 1.5 s pass
// before the reply (WeChat gets `success`); counted from wechat-in, the welcome would still fit.
const assert = require('node:assert/strict');
const { startNodeRed } = require('../../scripts/nr-process');
const { freePort } = require('../helpers/ports');
const W = require('../helpers/wechat');

function flow(path) {
  return [
    { id: 't', type: 'tab', label: 'ack' },
    { id: 'acc', type: 'wechat-config', appId: W.ACCOUNT.appId, apiBase: 'http://127.0.0.1:1', tokenMode: 'stable', replayWindow: 300 },
    { id: 'hin', z: 't', type: 'http in', url: path, method: 'post', wires: [['hold']] },
    { id: 'hold', z: 't', type: 'delay', pauseType: 'delay', timeout: '1', timeoutUnits: 'seconds', wires: [['in']] },
    { id: 'in', z: 't', type: 'wechat-in', account: 'acc', ackTimeout: 1500, dedupeWindow: 60, wires: [['slow']] },
    { id: 'slow', z: 't', type: 'delay', pauseType: 'delay', timeout: '1', timeoutUnits: 'seconds', wires: [['reply']] },
    { id: 'reply', z: 't', type: 'wechat-reply', account: 'acc', replyType: 'text', content: 'welcome', contentType: 'str', wires: [['res']] },
    { id: 'res', z: 't', type: 'http response', wires: [] },
  ];
}

describe('ack deadline from arrival (real Node-RED processes)', function () {
  this.timeout(120000);
  let stamped;
  let plain;
  before(async () => {
    const start = async (settings) => startNodeRed({ port: await freePort(), flows: flow('/wechat'), credentials: { acc: { token: W.ACCOUNT.token } }, settings });
    // as `npm start`: the body-limit middleware stamps each request's arrival
    [stamped, plain] = await Promise.all([start({ bodyLimit: { limit: 262144, paths: ['/wechat'] } }), start({})]);
  });
  after(async () => { await Promise.all([stamped && stamped.stop(), plain && plain.stop()]); });

  const post = (nr, who) => {
    const req = W.plainRequest(W.subscribe(`oArrival${who}`));
    return fetch(`${nr.url}/wechat?${W.toQueryString(req.query)}`, { method: 'POST', headers: { 'content-type': 'text/xml' }, body: req.body }).then(async (r) => ({ status: r.status, text: await r.text() }));
  };

  it('with the middleware: the deadline passed while the request waited before wechat-in, so WeChat gets `success`', async () => {
    const r = await post(stamped, 'Stamped');
    assert.equal(r.status, 200);
    assert.equal(r.text, 'success');
  });

  it('without it (no arrival stamp): counted from wechat-in, the welcome fits', async () => {
    const r = await post(plain, 'Plain');
    assert.equal(r.status, 200);
    assert.match(r.text, /welcome/);
  });
});
