'use strict';
// MemoryDeliveryStore (bounded in bytes, key + sealed reply only) and WeChatAccount's inbound
// lifecycle over it: receive -> sealReply -> settle, retries answered with the same bytes.
const assert = require('node:assert/strict');
const lib = require('../../dist/lib');
const W = require('../helpers/wechat');

const reply = (body) => ({ statusCode: 200, contentType: 'application/xml; charset=utf-8', body });

describe('MemoryDeliveryStore', () => {
  it('claim: first, then a retry; complete: first write wins and wakes waiting retries', async () => {
    const s = new lib.MemoryDeliveryStore();
    assert.deepEqual(await s.claim('k', 60000), { first: true });
    assert.deepEqual(await s.claim('k', 60000), { first: false });
    const waiting = s.waitFor('k', 5000);
    assert.equal((await s.complete('k', reply('A'))).body, 'A');
    assert.equal((await s.complete('k', null)).body, 'A', 'the first reply wins');
    assert.equal((await waiting).body, 'A');
    assert.deepEqual(await s.claim('k', 60000), { first: false, reply: reply('A') });
    await s.close();
  });
  it('waitFor: null on timeout and on abort; close wakes everyone', async () => {
    const s = new lib.MemoryDeliveryStore();
    await s.claim('k', 60000);
    assert.equal(await s.waitFor('k', 10), null);
    const ac = new AbortController();
    const p = s.waitFor('k', 60000, ac.signal);
    ac.abort();
    assert.equal(await p, null);
    const q = s.waitFor('k', 60000);
    await s.close();
    assert.equal(await q, null);
  });
  it('is bounded in bytes: a burst past the bound forgets the oldest claims first', async () => {
    const s = new lib.MemoryDeliveryStore({ maxBytes: 100 * 1024 });
    for (let i = 0; i < 1000; i++) {
      await s.claim(`m:o${i}:${i}`, 60000);
      await s.complete(`m:o${i}:${i}`, reply('x'.repeat(600)));
    }
    assert.ok(s.bytes <= 100 * 1024, `${s.bytes} bytes`);
    assert.ok(s.size > 10 && s.size < 1000);
    assert.deepEqual(await s.claim('m:o0:0', 60000), { first: true }, 'the oldest was evicted');
    assert.equal((await s.claim('m:o999:999', 60000)).first, false, 'the newest is kept');
    assert.equal(lib.DEFAULT_DELIVERY_BYTES, 15 * 3000 * 1024, 'default: 15 s of retries at 3,000 messages/s');
  });
  it('expires by TTL', async () => {
    let now = 1000;
    const s = new lib.MemoryDeliveryStore({ now: () => now });
    await s.claim('k', 100);
    now += 101;
    assert.deepEqual(await s.claim('k', 100), { first: true });
  });
});

describe('WeChatAccount inbound lifecycle', () => {
  const make = (deliveries) => new lib.WeChatAccount({ appId: W.ACCOUNT.appId, token: W.ACCOUNT.token, encodingAESKey: W.ACCOUNT.encodingAESKey, previousEncodingAESKey: W.ACCOUNT.previousEncodingAESKey }, { deliveries });
  it('receive claims; sealReply encrypts with the key that decrypted; settle shares the reply and forgets the request', async () => {
    const account = make();
    const r = W.safeRequest(W.subscribe('oLife'), { encodingAESKey: W.ACCOUNT.previousEncodingAESKey });
    const got = await account.receive({ method: 'POST', query: r.query, body: r.body }, { windowMs: 60000, holdMs: 9500 });
    assert.equal(got.kind, 'message');
    assert.equal(got.claim.first, true);
    assert.equal(account.inFlightCount, 1);
    const { reply: sealed } = account.sealReply(got.dedupeKey, 'text', 'welcome', { encrypted: true });
    const opened = W.openReply(sealed.body, { encodingAESKey: W.ACCOUNT.previousEncodingAESKey });
    assert.match(opened.inner, /<ToUserName><!\[CDATA\[oLife\]\]><\/ToUserName>/);
    await account.settle(got.dedupeKey, sealed);
    assert.equal(account.inFlightCount, 0, 'nothing of the request is kept after settle');
    const retry = await account.receive({ method: 'POST', query: r.query, body: r.body }, { windowMs: 60000, holdMs: 9500 });
    assert.equal(retry.claim.first, false);
    assert.equal((await account.replyForRetry(retry.dedupeKey, retry.claim, 1000)).body, sealed.body, 'the same bytes');
  });
  it('takes an injected DeliveryStore', async () => {
    const calls = [];
    const inner = new lib.MemoryDeliveryStore();
    const store = {
      claim: (k, t) => { calls.push('claim'); return inner.claim(k, t); },
      complete: (k, r) => { calls.push('complete'); return inner.complete(k, r); },
      waitFor: (k, t, s) => inner.waitFor(k, t, s),
      close: () => inner.close(),
    };
    const account = make(store);
    const r = W.plainRequest(W.subscribe('oInj'));
    const got = await account.receive({ method: 'POST', query: r.query, body: r.body }, { windowMs: 60000, holdMs: 9500 });
    await account.settle(got.dedupeKey, null);
    assert.deepEqual(calls, ['claim', 'complete']);
  });
  it('RejectionLog: first at once, then at most every interval with the count', () => {
    const log = new lib.RejectionLog(10000);
    assert.equal(log.note('403 bad-signature', 0), 1);
    for (let i = 1; i < 20; i++) assert.equal(log.note('403 bad-signature', i), 0);
    assert.equal(log.note('400 bad-xml', 25), 1, 'another reason is reported on its own');
    assert.equal(log.note('403 bad-signature', 10001), 20);
  });
});
